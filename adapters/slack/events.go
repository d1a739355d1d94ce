package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	slackgo "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// envelope is an Events API request. It is decoded in one pass into just
// the fields debrief records (with slackevents' types where they are
// lean). slackevents.ParseEvent decodes the body several times, blocks and
// all, at about eight times the cost, and this is the hot path: one request
// per message said in an incident channel.
type envelope struct {
	Type      string `json:"type"`
	Challenge string `json:"challenge"`
	EventID   string `json:"event_id"`
	Event     inner  `json:"event"`
}

// inner is the event of an event_callback: message (and its subtypes),
// reaction_added or pin_added. https://docs.slack.dev/reference/events
type inner struct {
	Type      string `json:"type"`
	Subtype   string `json:"subtype"`
	Channel   string `json:"channel"`
	ChannelID string `json:"channel_id"` // pin_added
	// EventTS is a string in the documented payloads, but pin_added has
	// been seen with a bare number: either is read (flexTS).
	EventTS flexTS `json:"event_ts"`
	// PinnedInfo is pin_added's own record of the pin, whose pinned_ts
	// (a number) dates it when event_ts is missing.
	PinnedInfo struct {
		PinnedTS flexTS `json:"pinned_ts"`
	} `json:"pinned_info"`

	message

	// message_changed carries the new message and the previous one;
	// message_deleted the deleted one and its ts.
	Message         *message `json:"message"`
	PreviousMessage *message `json:"previous_message"`
	DeletedTS       string   `json:"deleted_ts"`

	// reaction_added
	Reaction string           `json:"reaction"`
	Item     slackevents.Item `json:"item"`
}

// message is a message as events carry it.
type message struct {
	User     string              `json:"user"`
	BotID    string              `json:"bot_id"`
	Username string              `json:"username"`
	Text     string              `json:"text"`
	TS       string              `json:"ts"`
	ThreadTS string              `json:"thread_ts"`
	Subtype  string              `json:"subtype"`
	Edited   *slackevents.Edited `json:"edited"`
	Files    []file              `json:"files"`
	// Attachments and Blocks are kept raw and decoded only when the
	// message's content is in them (content): every message a person
	// types carries its rich_text blocks, and decoding them on the hot
	// path would cost more than the rest of the event.
	Attachments borrowedJSON `json:"attachments"`
	Blocks      borrowedJSON `json:"blocks"`
	// atts and blocks are the same already decoded, for messages read
	// from the Web API (backfill), where slack-go decoded them.
	atts   []slackgo.Attachment
	blocks *slackgo.Blocks
}

// file is a shared file as message events carry it. Over Slack Connect
// only the ID comes, with file_access "check_file_info": files.info has
// the rest (fileInfo).
type file struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Title      string `json:"title"`
	Permalink  string `json:"permalink"`
	FileAccess string `json:"file_access"`
}

// serveEvents handles POST /slack/events. Every event is committed before
// the 200 is written: a crash before that leaves it unacknowledged, and
// Slack sends it again (X-Slack-Retry-Num), which the dedupe key stores
// once. An internal error answers 500 for the same reason.
func (s *Slack) serveEvents(w http.ResponseWriter, r *http.Request) {
	body, ok := s.verified(w, r)
	if !ok {
		return
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		s.log.WarnContext(r.Context(), "event dropped: malformed", "err", err, "bytes", len(body))
		http.Error(w, "malformed event", http.StatusBadRequest)
		return
	}
	switch env.Type {
	case slackevents.URLVerification:
		writeJSON(w, map[string]string{"challenge": env.Challenge})
		return
	case slackevents.CallbackEvent:
		retry, _ := strconv.Atoi(r.Header.Get("X-Slack-Retry-Num"))
		if err := s.event(r.Context(), &env, retry); err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

// eventPayload handles the payload of a Socket Mode events_api envelope,
// which is the body an HTTP delivery would have had.
func (s *Slack) eventPayload(ctx context.Context, payload []byte, retry int) error {
	var env envelope
	if err := json.Unmarshal(payload, &env); err != nil {
		// Redelivering a payload we cannot read helps nobody.
		s.log.WarnContext(ctx, "malformed event payload", "err", err)
		return nil
	}
	if env.Type != slackevents.CallbackEvent {
		return nil
	}
	return s.event(ctx, &env, retry)
}

// event records one event_callback in the timeline of the incident whose
// channel it happened in. It returns an error only when the event could not
// be committed and must not be acknowledged. Events outside incident
// channels, and kinds debrief does not record, are acknowledged and
// dropped.
func (s *Slack) event(ctx context.Context, env *envelope, retry int) error {
	if e := &env.Event; e.Type == string(slackevents.ReactionAdded) && e.Reaction != "" && e.Reaction == s.cfg.NearMissEmoji {
		return s.nearMiss(ctx, e)
	}
	// Names are nice, the acknowledgement is vital: everyone the event
	// names is looked up at once, and every lookup of the request shares
	// one lookupTimeout. Past it, the entry is committed with what the
	// payload carries (the ID, the handle) and the lookups go on filling
	// the cache for the next event.
	lctx, cancel := context.WithTimeout(ctx, s.lookupBudget())
	if fs := eventFiles(&env.Event); len(fs) > 0 {
		var wg sync.WaitGroup
		wg.Go(func() { s.prefetch(lctx, eventUsers(&env.Event)) })
		wg.Go(func() { s.prefetchFiles(lctx, fs) })
		wg.Wait()
	} else {
		s.prefetch(lctx, eventUsers(&env.Event))
	}
	ch, evs := s.translate(lctx, &env.Event)
	cancel()
	for _, ev := range evs {
		_, err := s.svc.Record(ctx, bot.Channel{Platform: bot.Slack, ID: ch}, ev)
		if bot.ErrorCode(err) == bot.ENOTFOUND {
			// Not an incident channel: only chat, not recorded by design.
			if s.log.Enabled(ctx, slog.LevelDebug) {
				s.log.DebugContext(ctx, "event not recorded: not an incident channel", "event_id", env.EventID, "channel", ch)
			}
			return nil
		}
		if bot.ErrorCode(err) == bot.EINVALID {
			// It can never be stored (a ts past 2262): acknowledged, so
			// that Slack does not retry it forever, and logged.
			s.log.WarnContext(ctx, "event dropped: it cannot be stored", "event_id", env.EventID, "channel", ch,
				"ts", ev.MessageID, "err", err)
			continue
		}
		if err != nil {
			if errors.Is(err, context.Canceled) && ctx.Err() != nil {
				return err // the request went away; Slack will retry
			}
			s.log.ErrorContext(ctx, "event not recorded", "event_id", env.EventID, "channel", ch,
				"retry", retry, "err", err)
			return err
		}
	}
	switch {
	case len(evs) == 0:
	case retry > 0:
		// Slack thought an earlier delivery failed: worth knowing when
		// answers get slow. The dedupe key stored it once.
		s.log.InfoContext(ctx, "event redelivered", "event_id", env.EventID, "channel", ch, "kind", evs[0].Kind, "retry", retry)
	case s.log.Enabled(ctx, slog.LevelDebug):
		s.log.DebugContext(ctx, "event recorded", "event_id", env.EventID, "channel", ch, "kind", evs[0].Kind)
	}
	return nil
}

// eventUsers returns the user IDs an event names: its authors and the
// people its texts mention.
func eventUsers(e *inner) []string {
	ids := []string{e.User}
	for _, m := range []*message{&e.message, e.Message, e.PreviousMessage} {
		if m != nil {
			ids = append(append(ids, m.User), mentionedIDs(m.Text)...)
		}
	}
	return ids
}

// translate turns a Slack event into timeline entries (none for what is not
// recorded) and the channel they belong to.
//
// Dedupe keys are the message's identity (channel and ts, which sort by
// time) plus what happened to it, never Slack's random event_id: the same
// thing redelivered gets the same key, and the store's dedupe index grows
// at its right edge (see bot.TimelineEvent.DedupeKey).
func (s *Slack) translate(ctx context.Context, e *inner) (string, []bot.TimelineEvent) {
	switch slackevents.EventsAPIType(e.Type) {
	case slackevents.Message:
		return e.Channel, s.messageEvents(ctx, e)
	case slackevents.ReactionAdded:
		if e.Reaction != s.cfg.KeyEmoji {
			return "", nil // any other reaction is chatter, not a drop
		}
		if e.Item.Type != "message" || e.Item.Channel == "" || e.Item.Timestamp == "" {
			s.dropped(ctx, e, "a key reaction on something that is not a message")
			return "", nil
		}
		ev := bot.TimelineEvent{
			Kind: bot.EventKey, Author: s.author(ctx, message{User: e.User}),
			Text:      fmt.Sprintf("marked a message as a key event (:%s:)", e.Reaction),
			MessageID: e.Item.Timestamp, PlatformAt: parseTS(string(e.EventTS)),
			DedupeKey: fmt.Sprintf("slack/%s/%s/react/%s/%s", e.Item.Channel, e.Item.Timestamp, e.User, e.EventTS),
		}
		s.ownAction(&ev, message{User: e.User})
		return e.Item.Channel, []bot.TimelineEvent{ev}
	case slackevents.PinAdded:
		ch := e.ChannelID
		if ch == "" {
			ch = e.Item.Channel
		}
		ts, text := e.Item.Timestamp, ""
		if m := e.Item.Message; m != nil {
			ts, text = m.Timestamp, m.Text
		}
		if ch == "" || ts == "" {
			s.dropped(ctx, e, "a pin without a channel or a message ts")
			return "", nil
		}
		at := e.EventTS
		if at == "" {
			at = e.PinnedInfo.PinnedTS
		}
		ev := bot.TimelineEvent{
			Kind: bot.EventKey, Author: s.author(ctx, message{User: e.User}),
			Text:      "pinned: " + plainText(text, s.name(ctx)),
			MessageID: ts, PlatformAt: parseTS(string(at)),
			DedupeKey: fmt.Sprintf("slack/%s/%s/pin/%s/%s", ch, ts, e.User, at),
		}
		s.ownAction(&ev, message{User: e.User})
		return ch, []bot.TimelineEvent{ev}
	}
	return "", nil
}

func messageKey(ch, ts string) string { return "slack/" + ch + "/" + ts }

// deleteKey is the dedupe key of the deletion of message ts, live or read
// back after downtime.
func deleteKey(ch, ts string) string { return messageKey(ch, ts) + "/delete" }

// editOf is the edit of message m made at at (its edited.ts, or the
// event's time): the same entry, with the same dedupe key, whether the
// edit arrives live or is read back after downtime.
func (s *Slack) editOf(ctx context.Context, ch string, m message, at string) bot.TimelineEvent {
	ev := s.said(ctx, ch, m, bot.EventEdit)
	ev.PlatformAt = parseTS(at)
	ev.DedupeKey = messageKey(ch, m.TS) + "/edit/" + at
	return ev
}

func (s *Slack) messageEvents(ctx context.Context, e *inner) []bot.TimelineEvent {
	switch e.Subtype {
	case "", slackgo.MsgSubTypeThreadBroadcast, slackgo.MsgSubTypeMeMessage, slackgo.MsgSubTypeBotMessage:
		if e.TS == "" {
			s.dropped(ctx, e, "a message without a ts")
			return nil
		}
		m := e.message
		m.Subtype = e.Subtype
		if len(m.Files) > 0 {
			// History gives file shares without the file_share subtype.
			return s.files(ctx, e.Channel, m)
		}
		return []bot.TimelineEvent{s.said(ctx, e.Channel, m, bot.EventMessage)}
	case slackgo.MsgSubTypeFileShare:
		if e.TS == "" {
			s.dropped(ctx, e, "a file share without a ts")
			return nil
		}
		return s.files(ctx, e.Channel, e.message)
	case slackgo.MsgSubTypeMessageChanged:
		if e.Message == nil {
			s.dropped(ctx, e, "a message_changed without its message")
			return nil
		}
		m := *e.Message
		if m.TS == "" && e.PreviousMessage != nil {
			// Seen in the wild: the new message comes without its ts,
			// which is the previous message's.
			m.TS = e.PreviousMessage.TS
		}
		if m.TS == "" {
			s.dropped(ctx, e, "a message_changed without a ts, new or previous")
			return nil
		}
		if m.Subtype == subtypeTombstone {
			// A thread parent deleted while it has replies stays as a
			// tombstone ("This message was deleted.", by Slackbot): the
			// delete of the original author's message.
			prev := message{TS: m.TS, ThreadTS: m.ThreadTS}
			if e.PreviousMessage != nil {
				prev = *e.PreviousMessage
				prev.TS = m.TS
			}
			ev := s.said(ctx, e.Channel, prev, bot.EventDelete)
			ev.PlatformAt = parseTS(string(e.EventTS))
			ev.DedupeKey = deleteKey(e.Channel, m.TS)
			return []bot.TimelineEvent{ev}
		}
		// Unfurling a link or adding a file also "changes" a message: only
		// a new text is an edit.
		if e.PreviousMessage != nil && e.PreviousMessage.Text == m.Text {
			return nil
		}
		at := string(e.EventTS)
		if m.Edited != nil && m.Edited.TimeStamp != "" {
			at = m.Edited.TimeStamp
		}
		return []bot.TimelineEvent{s.editOf(ctx, e.Channel, m, at)}
	case slackgo.MsgSubTypeMessageDeleted:
		if e.DeletedTS == "" {
			s.dropped(ctx, e, "a message_deleted without deleted_ts")
			return nil
		}
		var prev message
		if e.PreviousMessage != nil {
			prev = *e.PreviousMessage
		}
		prev.TS = e.DeletedTS
		ev := s.said(ctx, e.Channel, prev, bot.EventDelete)
		ev.PlatformAt = parseTS(string(e.EventTS))
		ev.DedupeKey = deleteKey(e.Channel, e.DeletedTS)
		return []bot.TimelineEvent{ev}
	}
	// channel_join, channel_topic and the like: the bot's own doing or
	// Slack's housekeeping, not something said.
	if s.log.Enabled(ctx, slog.LevelDebug) {
		s.log.DebugContext(ctx, "event not recorded: housekeeping", "channel", e.Channel, "subtype", e.Subtype, "ts", e.TS)
	}
	return nil
}

// subtypeTombstone is what a deleted thread parent becomes while its
// replies remain; slack-go has no constant for it.
const subtypeTombstone = "tombstone"

// dropped logs an event that names an incident channel's message but
// cannot be recorded (a field it needs is missing): acknowledged, since a
// redelivery would be the same, and never silent.
func (s *Slack) dropped(ctx context.Context, e *inner, why string) {
	ch := e.Channel
	if ch == "" {
		ch = e.ChannelID
	}
	s.log.WarnContext(ctx, "event dropped: "+why, "type", e.Type, "subtype", e.Subtype, "channel", ch,
		"ts", e.TS, "event_ts", string(e.EventTS))
}

// said is the timeline entry of message m in channel ch.
func (s *Slack) said(ctx context.Context, ch string, m message, kind bot.EventKind) bot.TimelineEvent {
	text, link := s.content(ctx, m)
	ev := bot.TimelineEvent{
		Kind: kind, Author: s.author(ctx, m), Text: plainText(text, s.name(ctx)), URL: link,
		MessageID: m.TS, PlatformAt: parseTS(m.TS), DedupeKey: messageKey(ch, m.TS),
	}
	if m.ThreadTS != "" && m.ThreadTS != m.TS {
		ev.ThreadID = m.ThreadTS
	}
	s.ownAction(&ev, m)
	return ev
}

// files records each shared file (name and permalink) and the message's
// text, if any, as its own entry.
func (s *Slack) files(ctx context.Context, ch string, m message) []bot.TimelineEvent {
	var evs []bot.TimelineEvent
	if m.Text != "" || len(m.Attachments) > 0 || len(m.atts) > 0 {
		if ev := s.said(ctx, ch, m, bot.EventMessage); ev.Text != "" {
			evs = append(evs, ev)
		}
	}
	for i, f := range m.Files {
		if f.FileAccess == fileAccessCheck || f.Name == "" && f.Title == "" && f.Permalink == "" {
			f = s.fileInfo(ctx, f)
		}
		name := f.Name
		if name == "" {
			name = f.Title
		}
		if name == "" {
			// files.info was slow or refused: the ID at least says which.
			name = "file " + f.ID
		}
		ev := s.said(ctx, ch, m, bot.EventFile)
		ev.Text, ev.URL = name, f.Permalink
		ev.DedupeKey = messageKey(ch, m.TS) + "/file/" + strconv.Itoa(i)
		evs = append(evs, ev)
	}
	return evs
}

// author is who wrote m: a person by user ID, or a bot (by bot_id, for
// integrations that post without a user).
func (s *Slack) author(ctx context.Context, m message) bot.User {
	if m.User == "" && m.BotID != "" {
		return bot.User{Platform: bot.Slack, ID: m.BotID, Name: m.Username}
	}
	return s.user(ctx, m.User, m.Username)
}

// ownAction marks what bots said or did as bot actions: debrief's own posts
// come back as events, and they are on the record but never answered, so
// nothing loops.
func (s *Slack) ownAction(ev *bot.TimelineEvent, m message) {
	self := s.knownSelf()
	if m.BotID != "" || m.Subtype == slackgo.MsgSubTypeBotMessage || (self.userID != "" && m.User == self.userID) {
		ev.Kind = bot.EventBot
	}
}

// nearMiss records the message a near-miss reaction marked, in any
// channel the bot is in: its text and author (conversations.history), its
// permalink, who reacted. The message's identity is the near miss's
// source, so a second reaction or a redelivery records it once. An error
// leaves the event unacknowledged, for Slack to send again.
func (s *Slack) nearMiss(ctx context.Context, e *inner) error {
	ch, ts := e.Item.Channel, e.Item.Timestamp
	if e.Item.Type != "message" || ch == "" || ts == "" {
		return nil
	}
	params := &slackgo.GetConversationHistoryParameters{ChannelID: ch, Latest: ts, Inclusive: true, Limit: 1}
	hist, err := s.api.GetConversationHistoryContext(ctx, params)
	if slackError(err) == "not_in_channel" {
		// A public channel the bot was not added to: joined, as for a
		// post in the announcement channel (Post).
		if _, _, _, jerr := s.api.JoinConversationContext(ctx, ch); jerr != nil {
			return classify("conversations.join "+ch, jerr)
		}
		hist, err = s.api.GetConversationHistoryContext(ctx, params)
	}
	if err != nil {
		return classify("conversations.history "+ch, err)
	}
	if len(hist.Messages) == 0 || hist.Messages[0].Timestamp != ts {
		s.log.InfoContext(ctx, "near-miss reaction on a message not found", "channel", ch, "ts", ts)
		return nil
	}
	m := hist.Messages[0]
	link, err := s.api.GetPermalinkContext(ctx, &slackgo.PermalinkParameters{Channel: ch, Ts: ts})
	if err != nil {
		s.log.WarnContext(ctx, "no permalink for a near miss", "channel", ch, "ts", ts, "err", err)
	}
	author := s.author(ctx, message{User: m.User, BotID: m.BotID, Username: m.Username})
	nm, dup, err := s.svc.RecordNearMiss(ctx, store.NearMiss{
		Text: plainText(m.Text, s.name(ctx)), Reporter: s.user(ctx, e.User, ""), Author: author,
		Channel: bot.Channel{Platform: bot.Slack, ID: ch}, At: parseTS(ts), Permalink: link,
		Source: messageKey(ch, ts),
	})
	if bot.ErrorCode(err) == bot.EINVALID {
		return nil // an empty message: nothing to record, nothing to retry
	}
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "near miss", "id", nm.ID, "channel", ch, "duplicate", dup)
	return nil
}
