package discord

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
	"github.com/debrief/debrief/workflows/outbox"
)

var (
	_ workflows.Chat         = (*Discord)(nil)
	_ workflows.FilePoster   = (*Discord)(nil)
	_ workflows.DirectPoster = (*Discord)(nil)
)

// Discord's limits. https://discord.com/developers/docs/resources/channel
// and .../resources/message#create-message.
const (
	maxChannelName = 100
	maxTopic       = 1024
	maxContent     = 2000
	// maxNonce is the longest nonce Discord accepts.
	maxNonce = 25
)

// noMentions keeps what the bot posts from pinging anyone: titles and
// status texts are people's words, and "@everyone" in a title must not
// wake the whole server.
var noMentions = &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}

// CreateChannel creates the text channel name under the configured
// category and returns its ID. Discord does not refuse duplicate names, so
// a retry cannot tell it made the channel by the name alone: the topic
// carries the effect's key until the topic effect (which waits for this
// one) replaces it, and a channel of that name whose topic holds the key
// is the one an earlier attempt made, answer lost or process killed. The
// channel is created without overwrites so that it takes the category's
// (a private category stays private).
func (d *Discord) CreateChannel(ctx context.Context, key, name string) (string, error) {
	if len(name) > maxChannelName {
		name = strings.TrimRight(name[:maxChannelName], "-")
	}
	chs, err := d.api.GuildChannels(d.cfg.GuildID, discordgo.WithContext(ctx))
	if err != nil {
		return "", classify("list channels", err)
	}
	for _, c := range chs {
		if c.Type == discordgo.ChannelTypeGuildText && c.Name == name && outbox.HasMarker(c.Topic, key) {
			return c.ID, nil
		}
	}
	c, err := d.api.GuildChannelCreateComplex(d.cfg.GuildID, discordgo.GuildChannelCreateData{
		Name: name, Type: discordgo.ChannelTypeGuildText, Topic: outbox.Marker(name, key), ParentID: d.cfg.CategoryID,
	}, discordgo.WithContext(ctx))
	if err != nil {
		return "", classify("create channel "+name, err)
	}
	d.channels.put(c.ID, c.Type, c.ParentID, c.Name)
	return c.ID, nil
}

// createMessage is the body of POST /channels/{id}/messages. discordgo's
// MessageSend has no nonce; with enforce_nonce, Discord returns the
// message an earlier request with the same nonce created (within a few
// minutes) instead of posting it twice.
// https://discord.com/developers/docs/resources/message#create-message
type createMessage struct {
	Content         string                            `json:"content,omitempty"`
	Nonce           string                            `json:"nonce,omitempty"`
	EnforceNonce    bool                              `json:"enforce_nonce,omitempty"`
	AllowedMentions *discordgo.MessageAllowedMentions `json:"allowed_mentions"`
	Attachments     []attachmentRef                   `json:"attachments,omitempty"`
	// Components are the message's action rows (PostButton).
	Components []discordgo.MessageComponent `json:"components,omitempty"`
}

type attachmentRef struct {
	ID       int    `json:"id"`
	Filename string `json:"filename"`
}

// nonceOf is the effect key as a nonce: the key itself when it fits in
// Discord's 25 characters, a hash of it otherwise.
func nonceOf(key string) string {
	if key == "" || len(key) <= maxNonce {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])[:maxNonce]
}

// Post posts text in the channel and returns the message's ID. The effect
// key is the nonce, so a retry after a lost answer returns the message
// already posted. A text longer than a message may be is cut, and the
// whole of it attached as message.txt, in the same request. Its time
// tokens become Discord timestamps (discordText).
func (d *Discord) Post(ctx context.Context, key, channelID, text string) (string, error) {
	content := discordText(text)
	if runeLen(content) <= maxContent {
		return d.send(ctx, channelID, createMessage{Content: content, Nonce: nonceOf(key), EnforceNonce: key != "", AllowedMentions: noMentions}, nil)
	}
	// The attachment is a text file, where no markup is shown: its times
	// are the tokens' fallbacks.
	head := cutLines(content, maxContent-100) + "\n… (the full text is attached)"
	return d.send(ctx, channelID, createMessage{Content: head, Nonce: nonceOf(key), EnforceNonce: key != "", AllowedMentions: noMentions},
		[]*discordgo.File{{Name: "message.txt", ContentType: "text/plain; charset=utf-8", Reader: strings.NewReader(bot.TimeText(text))}})
}

// commandPrefix starts the custom_id of a button that runs a command: the
// rest is the command's words after /incident (at most 100 characters in
// all, Discord's limit on a custom_id).
const commandPrefix = "cmd:"

var _ workflows.ButtonPoster = (*Discord)(nil)

// PostButton posts text with a button that runs command as whoever clicks
// it (a MESSAGE_COMPONENT interaction, handled in command).
func (d *Discord) PostButton(ctx context.Context, key, channelID, text, label, command string) (string, error) {
	id := commandPrefix + command
	if len(id) > 100 {
		return "", &workflows.PermanentError{Err: fmt.Errorf("discord: button command %q longer than a custom_id", command)}
	}
	row := discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.Button{Label: label, Style: discordgo.PrimaryButton, CustomID: id},
	}}
	return d.send(ctx, channelID, createMessage{Content: truncate(discordText(text), maxContent), Nonce: nonceOf(key), EnforceNonce: key != "",
		AllowedMentions: noMentions, Components: []discordgo.MessageComponent{row}}, nil)
}

// Discord's answers that say a person cannot get a DM from the bot: they
// are not a user (Invalid Recipient), or they closed their DMs to the
// server's members (Cannot send messages to this user).
// https://discord.com/developers/docs/topics/opcodes-and-status-codes#json
const (
	codeCannotMessageUser = 50007
	codeInvalidRecipient  = 50033
)

// PostDirect sends text to u alone: POST /users/@me/channels opens (or
// returns) the DM channel with u, and the message is posted there like any
// other, the effect key as its nonce. A person the bot cannot message this
// way is reported as workflows.ErrNoDirect.
func (d *Discord) PostDirect(ctx context.Context, key string, u bot.User, text string) (string, error) {
	if u.Platform != bot.Discord || !isSnowflake(u.ID) {
		return "", fmt.Errorf("discord: direct message to %s: %w", u.Key(), workflows.ErrNoDirect)
	}
	dm, err := d.api.UserChannelCreate(u.ID, discordgo.WithContext(ctx))
	if err != nil {
		switch restCode(err) {
		case codeUnknownUser, codeInvalidRecipient:
			return "", fmt.Errorf("discord: open DM with %s: %w (%w)", u.ID, workflows.ErrNoDirect, err)
		}
		return "", classify("open DM with "+u.ID, err)
	}
	id, err := d.Post(ctx, key, dm.ID, text)
	if restCode(err) == codeCannotMessageUser {
		return "", d.cannotMessage(ctx, u.ID, err)
	}
	return id, err
}

// cannotMessage says why Discord refused a DM to userID with Cannot send
// messages to this user (50007): the person closed their DMs or left
// every server the bot is in, or the bot itself was removed from the
// guild, since a bot may message only people it shares a server with.
// Listing the guild's channels tells them apart. Only the first is
// ErrNoDirect, after which the nudge is posted in a channel; a bot no
// longer in the guild can post nowhere there, so that is permanent.
func (d *Discord) cannotMessage(ctx context.Context, userID string, err error) error {
	_, gerr := d.api.GuildChannels(d.cfg.GuildID, discordgo.WithContext(ctx))
	switch {
	case gerr == nil:
		return fmt.Errorf("discord: DM to %s: %w (%w)", userID, workflows.ErrNoDirect, err)
	case restCode(gerr) == codeMissingAccess, restCode(gerr) == codeUnknownGuild:
		return &workflows.PermanentError{Err: fmt.Errorf("discord: DM to %s: the bot is no longer in guild %s (%v): %w", userID, d.cfg.GuildID, gerr, err)}
	}
	// Not known yet (an outage, a rate limit): try the whole DM again.
	return classify("list channels", gerr)
}

// PostFile attaches doc as a file named name, with comment as the message
// (the post-mortem's .ics and write-up), and returns the message's ID.
//
// Discord refuses a file over the guild's limit (MaxAttachment) with a
// 413, which no retry would change: a longer document is attached cut at
// the last line that fits, ending with a note that says how much of it
// this is and where the whole is (doc.Whole), and the message says so
// too. One whose first line does not fit is not attached; the message
// says where it is. discordgo builds a multipart body in memory
// (MultipartBodyWithJSON), so the cut also bounds what is held: the
// limit, never the whole document.
func (d *Discord) PostFile(ctx context.Context, key, channelID, name string, doc *workflows.Document, comment string) (string, error) {
	if doc.Size() == 0 {
		return d.Post(ctx, key, channelID, comment+"\n"+name+" (empty)")
	}
	limit := d.attachLimit(ctx)
	file := io.Reader(doc.Reader())
	if doc.Size() > limit {
		note := func(n int64) string {
			s := fmt.Sprintf("the first %s of %s", mib(n), mib(doc.Size()))
			if doc.Whole != "" {
				s += "; the whole: " + doc.Whole
			}
			return s
		}
		head, n, err := doc.Fit(limit, func(n int64) string {
			return "\n\n---\n\n*Cut here by Discord's attachment limit: " + note(n) + ".*\n"
		})
		if err != nil {
			return "", err
		}
		if head == nil {
			text := fmt.Sprintf("%s\n%s (%s) is too large to attach here.", comment, name, mib(doc.Size()))
			if doc.Whole != "" {
				text += " The whole: " + doc.Whole
			}
			return d.Post(ctx, key, channelID, text)
		}
		file = head.Reader()
		comment += " (" + note(n) + ")"
	}
	comment = discordText(comment)
	if runeLen(comment) > maxContent {
		comment = cutLines(comment, maxContent-1) + "…"
	}
	return d.send(ctx, channelID, createMessage{Content: comment, Nonce: nonceOf(key), EnforceNonce: key != "", AllowedMentions: noMentions},
		[]*discordgo.File{{Name: name, ContentType: contentType(name), Reader: file}})
}

// boostLimits are the attachment limits of a guild's boost levels (its
// premium_tier): 10 MiB up to level 1, 50 MiB at 2, 100 MiB at 3.
var boostLimits = map[discordgo.PremiumTier]int64{
	discordgo.PremiumTier2: 50 << 20,
	discordgo.PremiumTier3: 100 << 20,
}

// limitFor is how long attachLimit keeps the guild's limit: boosts come
// and go, rarely.
const limitFor = time.Hour

// attachLimit is the largest file the guild takes: Config.MaxAttachment
// when set, else the limit of the guild's boost level, read from Discord
// at most once an hour. When it cannot be read, the limit of a guild
// without boosts: a file cut shorter than it had to be is better than a
// file refused.
func (d *Discord) attachLimit(ctx context.Context) int64 {
	if d.cfg.MaxAttachment > 0 {
		return d.cfg.MaxAttachment
	}
	d.limitMu.Lock()
	defer d.limitMu.Unlock()
	if d.limit > 0 && d.now().Sub(d.limitAt) < limitFor {
		return d.limit
	}
	g, err := d.api.Guild(d.cfg.GuildID, discordgo.WithContext(ctx))
	if err != nil {
		d.log.WarnContext(ctx, "guild unreadable; attaching within the limit of a guild without boosts",
			"guild", d.cfg.GuildID, "err", classify("guilds/"+d.cfg.GuildID, err))
		return DefaultMaxAttachment
	}
	d.limit, d.limitAt = DefaultMaxAttachment, d.now()
	if l, ok := boostLimits[g.PremiumTier]; ok {
		d.limit = l
	}
	return d.limit
}

// mib writes a length in bytes for people: "9.9 MiB", "512 bytes".
func mib(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func contentType(name string) string {
	switch {
	case strings.HasSuffix(name, ".ics"):
		return "text/calendar; charset=utf-8"
	case strings.HasSuffix(name, ".md"):
		return "text/markdown; charset=utf-8"
	}
	return "text/plain; charset=utf-8"
}

func (d *Discord) send(ctx context.Context, channelID string, m createMessage, files []*discordgo.File) (string, error) {
	endpoint := discordgo.EndpointChannelMessages(channelID)
	var body []byte
	var err error
	if len(files) == 0 {
		body, err = d.api.RequestWithBucketID("POST", endpoint, m, endpoint, discordgo.WithContext(ctx))
	} else {
		for i, f := range files {
			m.Attachments = append(m.Attachments, attachmentRef{ID: i, Filename: f.Name})
		}
		ctype, payload, merr := discordgo.MultipartBodyWithJSON(m, files)
		if merr != nil {
			return "", &workflows.PermanentError{Err: fmt.Errorf("discord: encode message: %w", merr)}
		}
		body, err = d.api.RequestRaw("POST", endpoint, ctype, payload, endpoint, 0, discordgo.WithContext(ctx))
	}
	if err != nil {
		return "", classify("post to "+channelID, err)
	}
	var msg discordgo.Message
	if err := json.Unmarshal(body, &msg); err != nil || msg.ID == "" {
		return "", fmt.Errorf("discord: post to %s: unreadable answer: %v", channelID, err)
	}
	return msg.ID, nil
}

// Invite gives each Discord user among users access to the channel: a
// permission overwrite allowing them to view it, post and read its
// history. Discord channels have no members to add; this makes the
// channel theirs even under a private category, and changes nothing for a
// public one. People who already have it are left alone. An unknown user
// does not keep the others out: they are reported as a permanent failure
// after the rest have access.
func (d *Discord) Invite(ctx context.Context, channelID string, users []bot.User) error {
	self := d.knownSelf()
	var ids []string
	for _, u := range users {
		if u.Platform == bot.Discord && isSnowflake(u.ID) && u.ID != self && !slices.Contains(ids, u.ID) {
			ids = append(ids, u.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	ows, err := d.overwrites(ctx, channelID)
	if err != nil {
		return err
	}
	var failed []string
	for _, id := range ids {
		err := d.grant(ctx, channelID, ows, id, discordgo.PermissionOverwriteTypeMember, accessBits, 0)
		if err == nil {
			continue
		}
		var perm *workflows.PermanentError
		if !errors.As(err, &perm) || !perUser(err) {
			return err
		}
		failed = append(failed, id)
	}
	if len(failed) > 0 {
		return &workflows.PermanentError{Err: fmt.Errorf("discord: could not give %s access to %s: unknown user", strings.Join(failed, ", "), channelID)}
	}
	return nil
}

// perUser reports whether an overwrite failed because of the user it was
// for, rather than the channel or the bot.
func perUser(err error) bool {
	switch restCode(err) {
	case codeUnknownUser, 10007: // Unknown Member
		return true
	}
	return false
}

// overwrites returns the channel's permission overwrites.
func (d *Discord) overwrites(ctx context.Context, channelID string) ([]*discordgo.PermissionOverwrite, error) {
	c, err := d.api.Channel(channelID, discordgo.WithContext(ctx))
	if err != nil {
		return nil, classify("get channel "+channelID, err)
	}
	return c.PermissionOverwrites, nil
}

// grant merges allow and deny into the overwrite for target and writes it
// when that changes it. A PUT replaces the whole overwrite, so what others
// set on it (a category's deny of VIEW_CHANNEL to @everyone) is kept by
// merging, not overwritten.
func (d *Discord) grant(ctx context.Context, channelID string, ows []*discordgo.PermissionOverwrite, target string,
	typ discordgo.PermissionOverwriteType, allow, deny int64) error {
	var cur discordgo.PermissionOverwrite
	for _, o := range ows {
		if o.ID == target {
			cur = *o
		}
	}
	newAllow := (cur.Allow &^ deny) | allow
	newDeny := (cur.Deny &^ allow) | deny
	if cur.ID != "" && newAllow == cur.Allow && newDeny == cur.Deny {
		return nil
	}
	if err := d.api.ChannelPermissionSet(channelID, target, typ, newAllow, newDeny, discordgo.WithContext(ctx)); err != nil {
		return classify("set permissions of "+target+" in "+channelID, err)
	}
	return nil
}

// Pin pins the message; one already pinned is fine.
func (d *Discord) Pin(ctx context.Context, channelID, messageID string) error {
	if err := d.api.ChannelMessagePin(channelID, messageID, discordgo.WithContext(ctx)); err != nil {
		return classify("pin "+messageID+" in "+channelID, err)
	}
	return nil
}

// SetTopic sets the channel topic, cut to Discord's 1024 characters.
func (d *Discord) SetTopic(ctx context.Context, channelID, topic string) error {
	if _, err := d.api.ChannelEdit(channelID, &discordgo.ChannelEdit{Topic: truncate(bot.TimeText(topic), maxTopic)}, discordgo.WithContext(ctx)); err != nil {
		return classify("set topic of "+channelID, err)
	}
	return nil
}

// Archive locks the channel: Discord has no archived text channels, so
// everyone is denied posting and starting threads in it, and the bot is
// allowed to go on posting (reminders, the write-up). The channel stays
// where it is, readable, with its history. Overwrites that allowed posting
// (the responders') lose it too; anything else in them is kept. Locking a
// locked channel changes nothing.
func (d *Discord) Archive(ctx context.Context, channelID string) error {
	self := d.knownSelf()
	if self == "" {
		u, err := d.api.User("@me", discordgo.WithContext(ctx))
		if err != nil {
			return classify("users/@me", err)
		}
		d.setSelf(u.ID)
		self = u.ID
	}
	ows, err := d.overwrites(ctx, channelID)
	if err != nil {
		return err
	}
	// The bot's own allowance first: once @everyone is denied, it must
	// already hold.
	if err := d.grant(ctx, channelID, ows, self, discordgo.PermissionOverwriteTypeMember, botBits, 0); err != nil {
		return err
	}
	targets := []*discordgo.PermissionOverwrite{{ID: d.cfg.GuildID, Type: discordgo.PermissionOverwriteTypeRole}}
	for _, o := range ows {
		if o.ID != self && o.ID != d.cfg.GuildID {
			targets = append(targets, o)
		}
	}
	for _, o := range targets {
		if err := d.grant(ctx, channelID, ows, o.ID, o.Type, 0, lockBits); err != nil {
			return err
		}
	}
	return nil
}

// isSnowflake reports whether s looks like a Discord ID: a decimal number.
// Users of other platforms (a console name) are never sent to Discord.
func isSnowflake(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
