package slack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
	"github.com/debrief/debrief/workflows/outbox"
	slackgo "github.com/slack-go/slack"
)

var (
	_ workflows.Chat         = (*Slack)(nil)
	_ workflows.FilePoster   = (*Slack)(nil)
	_ workflows.DirectPoster = (*Slack)(nil)
)

// Slack's limits. https://docs.slack.dev/reference/methods/conversations.create
// and conversations.setTopic.
const (
	maxChannelName = 80
	maxTopic       = 250
	// maxNameTries bounds the name-2, name-3... search when a name is taken.
	maxNameTries = 20
)

// CreateChannel creates the public channel name, or name-2, name-3... when
// the name is taken. The channel's purpose carries the effect's key, so
// that a retry after a lost answer or a crash (the channel exists, the
// outbox does not know) finds and reuses the channel it created instead of
// making a second one. A channel of that name created by the bot with no
// purpose yet is reused too: creating and setting the purpose are two
// calls, and the first may be all that happened.
func (s *Slack) CreateChannel(ctx context.Context, key, name string) (string, error) {
	self, err := s.identity(ctx)
	if err != nil {
		return "", classify("auth.test", err)
	}
	purpose := outbox.Marker(name, key)
	for i := 1; i <= maxNameTries; i++ {
		n := candidateName(name, i)
		ch, err := s.api.CreateConversationContext(ctx, slackgo.CreateConversationParams{ChannelName: n})
		if err == nil {
			return ch.ID, s.setPurpose(ctx, ch.ID, purpose)
		}
		if slackError(err) != "name_taken" {
			return "", classify("conversations.create "+n, err)
		}
		found, err := s.findChannel(ctx, n)
		if err != nil {
			return "", err
		}
		if found != nil && found.Creator == self.userID && !found.IsArchived {
			switch p := found.Purpose.Value; {
			case outbox.HasMarker(p, key):
				return found.ID, nil
			case p == "":
				return found.ID, s.setPurpose(ctx, found.ID, purpose)
			}
		}
		// Someone else's channel, or another incident's: try the next name.
	}
	return "", &workflows.PermanentError{Err: fmt.Errorf("slack: no free channel name like %s after %d tries", name, maxNameTries)}
}

// candidateName is name for try 1, then name-2, name-3..., cut so that the
// suffix fits in Slack's 80 characters.
func candidateName(name string, try int) string {
	if len(name) > maxChannelName {
		name = name[:maxChannelName]
	}
	if try <= 1 {
		return name
	}
	suffix := "-" + strconv.Itoa(try)
	if len(name)+len(suffix) > maxChannelName {
		name = strings.TrimRight(name[:maxChannelName-len(suffix)], "-")
	}
	return name + suffix
}

func (s *Slack) setPurpose(ctx context.Context, channelID, purpose string) error {
	if _, err := s.api.SetPurposeOfConversationContext(ctx, channelID, purpose); err != nil {
		return classify("conversations.setPurpose "+channelID, err)
	}
	return nil
}

// findChannel looks for the public channel named name, archived ones
// excluded; nil when there is none.
func (s *Slack) findChannel(ctx context.Context, name string) (*slackgo.Channel, error) {
	params := &slackgo.GetConversationsParameters{
		Types: []string{"public_channel"}, ExcludeArchived: true, Limit: 1000,
	}
	for range 100 { // 100k channels: far more than any workspace the bot serves
		chs, next, err := s.api.GetConversationsContext(ctx, params)
		if err != nil {
			return nil, classify("conversations.list", err)
		}
		for i := range chs {
			if chs[i].Name == name {
				return &chs[i], nil
			}
		}
		if next == "" {
			return nil, nil
		}
		params.Cursor = next
	}
	return nil, nil
}

// Post posts text in the channel and returns the message's ts. A channel
// the bot is not in (the announcement channel) is joined first, once.
// The text is escaped, its time tokens written as Slack dates (escape).
func (s *Slack) Post(ctx context.Context, key, channelID, text string) (string, error) {
	return s.post(ctx, channelID, slackgo.MsgOptionText(escape(text), false))
}

// commandAction is the action_id of a button that runs a command: its
// value is the command's words after /incident (workflows.PostButton).
const commandAction = "debrief_command"

var _ workflows.ButtonPoster = (*Slack)(nil)

// PostButton posts text with a button that runs command as whoever clicks
// it (a block_actions interaction, handled in interaction). The text is
// also the message's fallback text, for notifications.
func (s *Slack) PostButton(ctx context.Context, key, channelID, text, label, command string) (string, error) {
	btn := slackgo.NewButtonBlockElement(commandAction, command, plain(label))
	btn.Style = slackgo.StylePrimary
	blocks := slackgo.MsgOptionBlocks(
		slackgo.NewSectionBlock(slackgo.NewTextBlockObject(slackgo.MarkdownType, escape(text), false, false), nil, nil),
		slackgo.NewActionBlock("debrief_"+key, btn),
	)
	return s.post(ctx, channelID, slackgo.MsgOptionText(escape(text), false), blocks)
}

// post posts a message built from opts in the channel.
func (s *Slack) post(ctx context.Context, channelID string, opts ...slackgo.MsgOption) (string, error) {
	post := func() (string, error) {
		_, ts, err := s.api.PostMessageContext(ctx, channelID, opts...)
		return ts, err
	}
	ts, err := post()
	if slackError(err) == "not_in_channel" {
		if _, _, _, jerr := s.api.JoinConversationContext(ctx, channelID); jerr != nil {
			return "", classify("conversations.join "+channelID, jerr)
		}
		ts, err = post()
	}
	if err != nil {
		return "", classify("chat.postMessage "+channelID, err)
	}
	return ts, nil
}

// noDirect lists the conversations.open errors that say this person cannot
// get a direct message from the app: the nudge then goes to the channel.
// missing_scope is an install made before im:write was asked for.
var noDirect = map[string]bool{
	"user_not_found": true, "user_disabled": true, "user_not_visible": true,
	"cannot_dm_bot": true, "missing_scope": true,
}

// PostDirect sends text to u alone: conversations.open gives the direct
// message conversation between the bot and u (the same one every time),
// and chat.postMessage posts in it. A person the app cannot message this
// way is reported as workflows.ErrNoDirect.
func (s *Slack) PostDirect(ctx context.Context, key string, u bot.User, text string) (string, error) {
	if u.Platform != bot.Slack || u.ID == "" {
		return "", fmt.Errorf("slack: direct message to %s: %w", u.Key(), workflows.ErrNoDirect)
	}
	im, _, _, err := s.api.OpenConversationContext(ctx, &slackgo.OpenConversationParameters{Users: []string{u.ID}})
	if err != nil {
		if noDirect[slackError(err)] {
			return "", fmt.Errorf("slack: conversations.open %s: %w (%w)", u.ID, workflows.ErrNoDirect, err)
		}
		return "", classify("conversations.open "+u.ID, err)
	}
	_, ts, err := s.api.PostMessageContext(ctx, im.ID, slackgo.MsgOptionText(escape(text), false))
	if err != nil {
		return "", classify("chat.postMessage "+im.ID, err)
	}
	return ts, nil
}

// PostFile uploads doc as a file named name into the channel, with
// comment as its message (the post-mortem's .ics and write-up), and
// returns the ts of the message that shares it, which is what Pin and
// every other message method take (the file's own ID, F…, is not a
// message). A file is not bound by a message's 40,000 characters, and
// Slack shows it as what it is. The upload streams doc (upload): a
// write-up of tens of megabytes is never whole in memory. Slack takes
// files up to 1 GB, far beyond a write-up's length.
func (s *Slack) PostFile(ctx context.Context, key, channelID, name string, doc *workflows.Document, comment string) (string, error) {
	if doc.Size() == 0 {
		return s.Post(ctx, key, channelID, comment+"\n"+name+" (empty)")
	}
	id, err := s.upload(ctx, channelID, name, doc, comment)
	if slackError(err) == "not_in_channel" {
		if _, _, _, jerr := s.api.JoinConversationContext(ctx, channelID); jerr != nil {
			return "", classify("conversations.join "+channelID, jerr)
		}
		id, err = s.upload(ctx, channelID, name, doc, comment)
	}
	if err != nil {
		return "", classify("file upload "+name+" to "+channelID, err)
	}
	return s.shareTS(ctx, id, channelID), nil
}

// upload is Slack's three steps for a file
// (https://docs.slack.dev/messaging/working-with-files): files.getUploadURLExternal
// with the file's length, a POST of its bytes to the URL it gives
// (postUpload), and files.completeUploadExternal, which shares it in the
// channel with the comment. It returns the file's ID.
func (s *Slack) upload(ctx context.Context, channelID, name string, doc *workflows.Document, comment string) (string, error) {
	u, err := s.api.GetUploadURLExternalContext(ctx, slackgo.GetUploadURLExternalParameters{FileName: name, FileSize: int(doc.Size())})
	if err != nil {
		return "", fmt.Errorf("files.getUploadURLExternal: %w", err)
	}
	if err := s.postUpload(ctx, u.UploadURL, name, doc); err != nil {
		return "", err
	}
	c, err := s.api.CompleteUploadExternalContext(ctx, slackgo.CompleteUploadExternalParameters{
		Files: []slackgo.FileSummary{{ID: u.FileID, Title: name}}, Channel: channelID, InitialComment: escape(comment),
	})
	if err != nil {
		return "", fmt.Errorf("files.completeUploadExternal: %w", err)
	}
	if len(c.Files) != 1 {
		return "", fmt.Errorf("files.completeUploadExternal: %d files in the answer, want 1", len(c.Files))
	}
	return c.Files[0].ID, nil
}

// uploadRate is the slowest link an upload is given time for, on top of
// the HTTP client's timeout: the client bounds a whole request, body
// included, and a write-up of tens of megabytes is not sent in 15 s
// everywhere.
const uploadRate = 1 << 20 // bytes per second

// postUpload sends doc's bytes to the upload URL as a multipart form
// whose field "file" holds them, the way Slack's SDKs do. The form's
// head and tail are built first, so the request has its Content-Length
// up front and the bytes stream from doc in between (slack-go's
// UploadToURL takes a reader too, but sends it chunked, of unknown
// length). A retry of the request (a redirect) reads doc again.
func (s *Slack) postUpload(ctx context.Context, uploadURL, name string, doc *workflows.Document) error {
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	if _, err := mw.CreateFormFile("file", name); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	n := head.Len()
	if err := mw.Close(); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	form := head.Bytes()
	top, tail := form[:n], form[n:]
	body := func() io.ReadCloser {
		return io.NopCloser(io.MultiReader(bytes.NewReader(top), doc.Reader(), bytes.NewReader(tail)))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uploadURL, body())
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	req.ContentLength = int64(len(top)) + doc.Size() + int64(len(tail))
	req.GetBody = func() (io.ReadCloser, error) { return body(), nil }
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if mayReceiveToken(s.apiBase(), req.URL) {
		req.Header.Set("Authorization", "Bearer "+s.cfg.BotToken)
	}
	hc := *s.hc
	if hc.Timeout > 0 {
		hc.Timeout += time.Duration(doc.Size()/uploadRate) * time.Second
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("upload: %s", resp.Status)
	}
	return nil
}

// apiBase is the Web API's base URL (Config.APIURL or slack.com's).
func (s *Slack) apiBase() string {
	if s.cfg.APIURL != "" {
		return s.cfg.APIURL
	}
	return slackgo.APIURL
}

// mayReceiveToken says whether the bot token may go to u: an https URL of
// Slack's (files.slack.com is where upload URLs point), or the host of the
// API itself (a fake, an enterprise proxy), as slack-go decides for its
// own uploads. An upload URL comes from Slack's answer; the token goes
// nowhere else.
func mayReceiveToken(apiBase string, u *url.URL) bool {
	host := strings.ToLower(u.Hostname())
	if u.Scheme == "https" && (host == "slack.com" || strings.HasSuffix(host, ".slack.com")) {
		return true
	}
	api, err := url.Parse(apiBase)
	return err == nil && api.Host != "" && u.Scheme == api.Scheme && strings.EqualFold(u.Host, api.Host)
}

// shareWaits are the pauses before each files.info look for the message
// that shares an uploaded file, about 4 s in all: Slack shares the file
// and posts that message asynchronously, after files.completeUploadExternal
// has answered, and advises polling files.info until the share shows
// (https://github.com/slackapi/python-slack-sdk/issues/1277).
var shareWaits = []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second}

// shareTS returns the ts of the message that shares file fileID in the
// channel, or "" when files.info does not show it in time. The file is
// uploaded and shared by then: an error here must not make the outbox
// upload it a second time, so a share that cannot be read is logged and
// the message's ID is left unknown.
func (s *Slack) shareTS(ctx context.Context, fileID, channelID string) string {
	var err error
	for _, wait := range shareWaits {
		if wait > 0 {
			select {
			case <-ctx.Done():
				err = ctx.Err()
			case <-s.after(wait):
			}
			if err != nil {
				break
			}
		}
		var f *slackgo.File
		// count and page are for the file's comments, which it has none of.
		if f, _, _, err = s.api.GetFileInfoContext(ctx, fileID, 1, 1); err != nil {
			break
		}
		for _, shares := range []map[string][]slackgo.ShareFileInfo{f.Shares.Public, f.Shares.Private} {
			// The bot shares in the channel, not in a thread: the one share
			// there is its message.
			for _, sh := range shares[channelID] {
				if sh.Ts != "" {
					return sh.Ts
				}
			}
		}
	}
	s.log.WarnContext(ctx, "file shared, but not the message that shares it: its ID is unknown",
		"channel", channelID, "file", fileID, "err", err)
	return ""
}

// after is the adapter's clock for waits (Config.After).
func (s *Slack) after(d time.Duration) <-chan time.Time {
	if s.cfg.After != nil {
		return s.cfg.After(d)
	}
	return time.After(d)
}

// Invite adds the Slack users among users to the channel, in one call.
// People already there, and the bot itself, are fine. When the one call is
// refused because of some of them, each is invited alone, so that one
// deactivated account does not keep the others out; the ones that cannot be
// invited at all are reported as a permanent failure after the rest are in.
func (s *Slack) Invite(ctx context.Context, channelID string, users []bot.User) error {
	self, err := s.identity(ctx)
	if err != nil {
		return classify("auth.test", err)
	}
	var ids []string
	for _, u := range users {
		if u.Platform == bot.Slack && u.ID != "" && u.ID != self.userID && !slices.Contains(ids, u.ID) {
			ids = append(ids, u.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	_, err = s.api.InviteUsersToConversationContext(ctx, channelID, ids...)
	if err == nil || (len(ids) == 1 && inviteOK(err)) {
		return nil
	}
	if len(ids) == 1 || !perUser(err) {
		return classify("conversations.invite "+channelID, err)
	}
	var failed []string
	for _, id := range ids {
		_, err := s.api.InviteUsersToConversationContext(ctx, channelID, id)
		if err == nil || inviteOK(err) {
			continue
		}
		err = classify("conversations.invite "+channelID+" "+id, err)
		var perm *workflows.PermanentError
		if !errors.As(err, &perm) {
			return err
		}
		failed = append(failed, id+" ("+slackError(perm.Err)+")")
	}
	if len(failed) > 0 {
		return &workflows.PermanentError{Err: fmt.Errorf("slack: could not invite %s", strings.Join(failed, ", "))}
	}
	return nil
}

func inviteOK(err error) bool {
	switch slackError(err) {
	case "already_in_channel", "cant_invite_self":
		return true
	}
	return false
}

// perUser reports whether an invite error is about some of the users,
// rather than the channel or the bot.
func perUser(err error) bool {
	switch slackError(err) {
	case "already_in_channel", "cant_invite_self", "user_not_found", "user_is_deactivated",
		"cant_invite", "user_is_restricted", "user_is_ultra_restricted", "ura_max_channels":
		return true
	}
	return false
}

// Pin pins the message; a message already pinned is fine.
func (s *Slack) Pin(ctx context.Context, channelID, messageID string) error {
	err := s.api.AddPinContext(ctx, channelID, slackgo.ItemRef{Channel: channelID, Timestamp: messageID})
	if err != nil && slackError(err) != "already_pinned" {
		return classify("pins.add "+channelID, err)
	}
	return nil
}

// SetTopic sets the channel topic, cut to Slack's 250 characters. Topics
// are plain text: no escaping, and a time token is written as its
// fallback (bot.TimeText), since a topic shows no date markup.
func (s *Slack) SetTopic(ctx context.Context, channelID, topic string) error {
	if _, err := s.api.SetTopicOfConversationContext(ctx, channelID, truncate(bot.TimeText(topic), maxTopic)); err != nil {
		return classify("conversations.setTopic "+channelID, err)
	}
	return nil
}

// Archive archives the channel; one already archived is fine.
func (s *Slack) Archive(ctx context.Context, channelID string) error {
	err := s.api.ArchiveConversationContext(ctx, channelID)
	if err != nil && slackError(err) != "already_archived" {
		return classify("conversations.archive "+channelID, err)
	}
	return nil
}

// slackError is the error code of a Slack API answer ("name_taken"), or ""
// when err is not one.
func slackError(err error) string {
	var se slackgo.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}

// permanent lists the Slack error codes that retrying cannot fix: the
// channel or message is gone, the bot was removed or its token revoked, a
// scope is missing (the app needs reinstalling), the input is refused.
var permanent = map[string]bool{
	"channel_not_found": true, "is_archived": true, "not_in_channel": true,
	"method_not_supported_for_channel_type": true, "cant_archive_general": true,
	"restricted_action": true, "no_permission": true, "not_allowed_token_type": true,
	"invalid_auth": true, "not_authed": true, "account_inactive": true, "token_revoked": true,
	"token_expired": true, "missing_scope": true, "ekm_access_denied": true,
	"message_not_found": true, "no_item_specified": true, "too_many_pins": true,
	"user_not_found": true, "user_is_deactivated": true, "cant_invite": true,
	"user_is_restricted": true, "user_is_ultra_restricted": true, "ura_max_channels": true,
	"invalid_name": true, "invalid_name_specials": true, "invalid_name_punctuation": true,
	"invalid_name_maxlength": true, "invalid_name_required": true, "msg_too_long": true,
	"no_text": true, "too_long": true,
}

// classify maps a Slack failure to what the outbox does with it: a 429
// waits exactly Retry-After (*workflows.RetryAfterError), an error retrying
// cannot fix is dropped and noted (*workflows.PermanentError), anything
// else (5xx, network, ratelimited without a header) is retried with
// backoff.
func classify(op string, err error) error {
	werr := fmt.Errorf("slack: %s: %w", op, err)
	var rl *slackgo.RateLimitedError
	if errors.As(err, &rl) {
		return &workflows.RetryAfterError{After: rl.RetryAfter, Err: werr}
	}
	var pe *workflows.PermanentError
	if errors.As(err, &pe) {
		return err
	}
	if permanent[slackError(err)] {
		return &workflows.PermanentError{Err: werr}
	}
	return werr
}
