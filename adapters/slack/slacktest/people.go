package slacktest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	slackgo "github.com/slack-go/slack"
)

// Sign returns Slack's signature of body sent at ts: "v0=" and the hex
// HMAC-SHA256, keyed with the signing secret, of "v0:<ts>:<body>".
// https://docs.slack.dev/authentication/verifying-requests-from-slack
func Sign(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "v0:%d:", ts)
	m.Write(body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}

// SetHeaders sets the signature headers of a request carrying body, signed
// now with secret.
func SetHeaders(h http.Header, secret string, body []byte) {
	ts := time.Now().Unix()
	h.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	h.Set("X-Slack-Signature", Sign(secret, ts, body))
}

// Escape renders typed text the way Slack sends it with should_escape on:
// & < > as entities. Mentions are written by the caller as <@U…|name>.
func Escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Target makes the fake deliver to the bot over HTTP at baseURL (the
// routes /slack/commands, /slack/events and /slack/interactivity below
// it). Without a target, deliveries go over Socket Mode.
func (s *Server) Target(baseURL string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.target = strings.TrimSuffix(baseURL, "/")
}

// Delivery is the bot's answer to something the fake delivered.
type Delivery struct {
	// Status is the HTTP status; 200 for an acknowledged envelope.
	Status int
	// Body is the HTTP response body, or the acknowledgement's payload.
	Body []byte
}

// Reply decodes a slash command's answer.
func (d Delivery) Reply() (responseType, text string) {
	var r struct {
		ResponseType string `json:"response_type"`
		Text         string `json:"text"`
	}
	_ = json.Unmarshal(d.Body, &r)
	return r.ResponseType, r.Text
}

// deliver sends one request to the bot: kind is "commands", "events" or
// "interactivity"; form is the HTTP body of commands and interactivity,
// payload the JSON of events and interactions (and of commands over
// Socket Mode).
func (s *Server) deliver(ctx context.Context, kind string, form url.Values, payload []byte, retry int) (Delivery, error) {
	s.mu.Lock()
	target := s.target
	s.mu.Unlock()
	if target == "" {
		typ := map[string]string{"commands": "slash_commands", "events": "events_api", "interactivity": "interactive"}[kind]
		if kind == "commands" {
			m := map[string]string{}
			for k := range form {
				m[k] = form.Get(k)
			}
			payload, _ = json.Marshal(m)
		}
		ack, err := s.sendEnvelope(ctx, typ, payload, retry)
		if err != nil {
			return Delivery{}, err
		}
		return Delivery{Status: http.StatusOK, Body: ack}, nil
	}
	body, ctype := payload, "application/json"
	if kind != "events" {
		body, ctype = []byte(form.Encode()), "application/x-www-form-urlencoded"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target+"/slack/"+kind, bytes.NewReader(body))
	if err != nil {
		return Delivery{}, err
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	SetHeaders(req.Header, s.SigningSecret, body)
	if retry > 0 {
		req.Header.Set("X-Slack-Retry-Num", strconv.Itoa(retry))
		req.Header.Set("X-Slack-Retry-Reason", "http_timeout")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return Delivery{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Delivery{}, err
	}
	return Delivery{Status: resp.StatusCode, Body: b}, nil
}

// issueTrigger returns a trigger_id for user, valid for 3 seconds for
// views.open.
func (s *Server) issueTrigger(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := fmt.Sprintf("%d.%s.%s", time.Now().UnixNano(), s.TeamID, s.nextID("tr"))
	s.triggers[id] = trigger{user: user, at: time.Now()}
	return id
}

func (s *Server) handle(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[user]; ok {
		return u.Name
	}
	return user
}

func (s *Server) channelName(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.channels[id]; ok {
		return c.Name
	}
	return ""
}

// Command runs "/incident <text>" as user in channel. text is the wire
// form: mentions as <@U…|name>, & < > escaped (see Escape).
func (s *Server) Command(ctx context.Context, user, channel, text string) (Delivery, error) {
	form := url.Values{
		"token": {"fake-verification-token"}, "team_id": {s.TeamID}, "team_domain": {"fake"},
		"channel_id": {channel}, "channel_name": {s.channelName(channel)},
		"user_id": {user}, "user_name": {s.handle(user)},
		"command": {"/incident"}, "text": {text}, "api_app_id": {s.AppID},
		"is_enterprise_install": {"false"},
		"response_url":          {s.srv.URL + "/commands/" + s.TeamID},
		"trigger_id":            {s.issueTrigger(user)},
	}
	return s.deliver(ctx, "commands", form, nil, 0)
}

// event delivers an event_callback around inner and remembers it for
// Redeliver.
func (s *Server) event(ctx context.Context, inner map[string]any) (Delivery, error) {
	s.mu.Lock()
	s.seq++
	id := fmt.Sprintf("Ev%08d", s.seq)
	s.mu.Unlock()
	body, err := json.Marshal(map[string]any{
		"token": "fake-verification-token", "team_id": s.TeamID, "api_app_id": s.AppID,
		"event": inner, "type": "event_callback", "event_id": id, "event_time": time.Now().Unix(),
		"authorizations":        []map[string]any{{"team_id": s.TeamID, "user_id": s.BotUserID, "is_bot": true}},
		"is_ext_shared_channel": false, "event_context": "4-fake",
	})
	if err != nil {
		return Delivery{}, err
	}
	s.mu.Lock()
	s.sent[id] = sentEvent{body: body}
	s.lastEvent = id
	offline := s.offline
	s.mu.Unlock()
	if offline {
		return Delivery{}, nil
	}
	return s.deliver(ctx, "events", nil, body, 0)
}

// LastEventID is the event_id of the latest event delivered.
func (s *Server) LastEventID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastEvent
}

// Redeliver sends an event again, as Slack does when the first delivery
// was not acknowledged in time: same body, X-Slack-Retry-Num one higher.
func (s *Server) Redeliver(ctx context.Context, eventID string) (Delivery, error) {
	s.mu.Lock()
	e, ok := s.sent[eventID]
	if ok {
		e.retry++
		s.sent[eventID] = e
	}
	s.mu.Unlock()
	if !ok {
		return Delivery{}, fmt.Errorf("slacktest: no event %s", eventID)
	}
	return s.deliver(ctx, "events", nil, e.body, e.retry)
}

// messageJSON is a message as message events carry it, blocks included:
// real events carry the rich_text rendering too, and bots pay to skip it.
func (s *Server) messageJSON(m *Message) map[string]any {
	j := map[string]any{"type": "message", "text": m.Text, "ts": m.TS, "team": s.TeamID}
	if m.User != "" {
		j["user"] = m.User
	}
	if m.BotID != "" {
		j["bot_id"] = m.BotID
		j["app_id"] = s.AppID
	}
	if m.ThreadTS != "" {
		j["thread_ts"] = m.ThreadTS
	}
	if m.EditedTS != "" {
		j["edited"] = map[string]any{"user": m.User, "ts": m.EditedTS}
	}
	if m.User != "" && m.BotID == "" {
		j["client_msg_id"] = fmt.Sprintf("%x-fake", m.TS)
		j["blocks"] = []any{map[string]any{"type": "rich_text", "block_id": "b" + m.TS,
			"elements": []any{map[string]any{"type": "rich_text_section",
				"elements": []any{map[string]any{"type": "text", "text": m.Text}}}}}}
	}
	if m.Tombstone {
		j = map[string]any{"type": "message", "subtype": "tombstone", "text": "This message was deleted.",
			"user": "USLACKBOT", "hidden": true, "ts": m.TS, "thread_ts": m.TS, "team": s.TeamID}
	}
	for k, v := range m.Extra {
		j[k] = v
	}
	if len(m.Files) > 0 && m.Extra["files"] == nil {
		var fs []map[string]any
		for _, f := range m.Files {
			fs = append(fs, map[string]any{"id": f.ID, "name": f.Name, "title": f.Name, "mimetype": "text/plain",
				"filetype": "text", "user": m.User, "permalink": f.Permalink, "mode": "hosted", "size": 42})
		}
		j["files"] = fs
	}
	return j
}

// post stores a message by user (or the bot, when user is the bot user).
func (s *Server) post(user, channel, threadTS, text string, files []File) (*Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[channel]
	if !ok {
		return nil, fmt.Errorf("slacktest: no channel %s", channel)
	}
	m := &Message{Channel: c.ID, TS: s.nextTS(), ThreadTS: threadTS, User: user, Text: text, Files: files}
	if user == s.BotUserID {
		m.BotID = s.BotID
	}
	s.messages[c.ID] = append(s.messages[c.ID], m)
	return m, nil
}

func (s *Server) messageEvent(m *Message, subtype string) map[string]any {
	ev := s.messageJSON(m)
	ev["channel"] = m.Channel
	ev["event_ts"] = m.TS
	ev["channel_type"] = "channel"
	if subtype != "" {
		ev["subtype"] = subtype
	}
	return ev
}

// Say posts text (wire form) as user in channel and delivers the message
// event. It returns the message's ts.
func (s *Server) Say(ctx context.Context, user, channel, text string) (string, Delivery, error) {
	return s.Reply(ctx, user, channel, "", text)
}

// Reply posts in the thread of threadTS ("" for the channel itself).
func (s *Server) Reply(ctx context.Context, user, channel, threadTS, text string) (string, Delivery, error) {
	m, err := s.post(user, channel, threadTS, text, nil)
	if err != nil {
		return "", Delivery{}, err
	}
	d, err := s.event(ctx, s.messageEvent(m, ""))
	return m.TS, d, err
}

// Echo delivers the event of a message already in the channel (the bot's
// own posts: Slack sends them back to the app like anyone's).
func (s *Server) Echo(ctx context.Context, channel, ts string) (Delivery, error) {
	s.mu.Lock()
	m := s.message(channel, ts)
	s.mu.Unlock()
	if m == nil {
		return Delivery{}, fmt.Errorf("slacktest: no message %s in %s", ts, channel)
	}
	sub := ""
	if m.BotID != "" {
		sub = "bot_message"
	}
	return s.event(ctx, s.messageEvent(m, sub))
}

// ShareFile uploads a file named name into channel as user, with an
// optional comment, and delivers the file_share message.
func (s *Server) ShareFile(ctx context.Context, user, channel, name, comment string) (string, Delivery, error) {
	s.mu.Lock()
	id := s.nextID("F")
	s.mu.Unlock()
	f := File{ID: id, Name: name, Permalink: "https://fake.slack.com/files/" + user + "/" + id + "/" + url.PathEscape(name)}
	m, err := s.post(user, channel, "", comment, []File{f})
	if err != nil {
		return "", Delivery{}, err
	}
	ev := s.messageEvent(m, "file_share")
	ev["upload"] = false
	d, err := s.event(ctx, ev)
	return m.TS, d, err
}

// Edit changes the text of message ts and delivers message_changed.
func (s *Server) Edit(ctx context.Context, channel, ts, text string) (Delivery, error) {
	s.mu.Lock()
	m := s.message(channel, ts)
	if m == nil {
		s.mu.Unlock()
		return Delivery{}, fmt.Errorf("slacktest: no message %s in %s", ts, channel)
	}
	prev := *m
	m.Text = text
	m.EditedTS = s.nextTS()
	now := *m
	evTS := s.nextTS()
	s.mu.Unlock()
	return s.event(ctx, map[string]any{
		"type": "message", "subtype": "message_changed", "hidden": true, "channel": channel,
		"ts": evTS, "event_ts": evTS, "channel_type": "channel",
		"message": s.messageJSON(&now), "previous_message": s.messageJSON(&prev),
	})
}

// Unfurl delivers a message_changed that changes nothing but attachments,
// as link previews do.
func (s *Server) Unfurl(ctx context.Context, channel, ts string) (Delivery, error) {
	s.mu.Lock()
	m := s.message(channel, ts)
	if m == nil {
		s.mu.Unlock()
		return Delivery{}, fmt.Errorf("slacktest: no message %s in %s", ts, channel)
	}
	now := *m
	evTS := s.nextTS()
	s.mu.Unlock()
	msg := s.messageJSON(&now)
	msg["attachments"] = []any{map[string]any{"from_url": "https://example.com", "title": "Example"}}
	return s.event(ctx, map[string]any{
		"type": "message", "subtype": "message_changed", "hidden": true, "channel": channel,
		"ts": evTS, "event_ts": evTS, "channel_type": "channel",
		"message": msg, "previous_message": s.messageJSON(&now),
	})
}

// Delete deletes message ts and delivers message_deleted.
func (s *Server) Delete(ctx context.Context, channel, ts string) (Delivery, error) {
	s.mu.Lock()
	m := s.message(channel, ts)
	if m == nil {
		s.mu.Unlock()
		return Delivery{}, fmt.Errorf("slacktest: no message %s in %s", ts, channel)
	}
	prev := *m
	evTS := s.nextTS()
	if s.hasReplies(channel, ts) {
		// A thread parent with replies stays, as a tombstone.
		m.Tombstone = true
		now := *m
		s.mu.Unlock()
		return s.event(ctx, map[string]any{
			"type": "message", "subtype": "message_changed", "hidden": true, "channel": channel,
			"ts": evTS, "event_ts": evTS, "channel_type": "channel",
			"message": s.messageJSON(&now), "previous_message": s.messageJSON(&prev),
		})
	}
	m.Deleted = true
	s.mu.Unlock()
	return s.event(ctx, map[string]any{
		"type": "message", "subtype": "message_deleted", "hidden": true, "channel": channel,
		"ts": evTS, "event_ts": evTS, "deleted_ts": ts, "channel_type": "channel",
		"previous_message": s.messageJSON(&prev),
	})
}

// React adds emoji (a name without colons) to message ts as user and
// delivers reaction_added.
func (s *Server) React(ctx context.Context, user, channel, ts, emoji string) (Delivery, error) {
	s.mu.Lock()
	m := s.message(channel, ts)
	evTS := s.nextTS()
	s.mu.Unlock()
	if m == nil {
		return Delivery{}, fmt.Errorf("slacktest: no message %s in %s", ts, channel)
	}
	return s.event(ctx, map[string]any{
		"type": "reaction_added", "user": user, "reaction": emoji, "item_user": m.User,
		"item": map[string]any{"type": "message", "channel": channel, "ts": ts}, "event_ts": evTS,
	})
}

// Pin pins message ts as user and delivers pin_added.
func (s *Server) Pin(ctx context.Context, user, channel, ts string) (Delivery, error) {
	s.mu.Lock()
	m := s.message(channel, ts)
	if m == nil {
		s.mu.Unlock()
		return Delivery{}, fmt.Errorf("slacktest: no message %s in %s", ts, channel)
	}
	s.pins[channel] = append(s.pins[channel], ts)
	msg := s.messageJSON(m)
	msg["pinned_to"] = []string{channel}
	evTS := s.nextTS()
	s.mu.Unlock()
	return s.event(ctx, map[string]any{
		"type": "pin_added", "user": user, "channel_id": channel, "event_ts": evTS,
		"item": map[string]any{"type": "message", "channel": channel, "created": time.Now().Unix(),
			"created_by": user, "message": msg},
	})
}

// Shortcut runs the message shortcut callbackID on message ts as user.
func (s *Server) Shortcut(ctx context.Context, user, channel, ts, callbackID string) (Delivery, error) {
	s.mu.Lock()
	m := s.message(channel, ts)
	var msg map[string]any
	if m != nil {
		msg = s.messageJSON(m)
	}
	s.mu.Unlock()
	if m == nil {
		return Delivery{}, fmt.Errorf("slacktest: no message %s in %s", ts, channel)
	}
	return s.interact(ctx, map[string]any{
		"type": "message_action", "callback_id": callbackID, "trigger_id": s.issueTrigger(user),
		"action_ts": fmt.Sprint(time.Now().Unix()), "message_ts": ts,
		"team":    map[string]any{"id": s.TeamID, "domain": "fake"},
		"user":    map[string]any{"id": user, "name": s.handle(user), "team_id": s.TeamID},
		"channel": map[string]any{"id": channel, "name": s.channelName(channel)},
		"message": msg, "response_url": s.srv.URL + "/actions/" + s.TeamID,
	})
}

// SubmitView submits the open view viewID as user with the given input
// values: block ID -> action ID -> the element's state.
func (s *Server) SubmitView(ctx context.Context, user, viewID string, values map[string]map[string]slackgo.BlockAction) (Delivery, error) {
	s.mu.Lock()
	var v *View
	for _, x := range s.views {
		if x.ID == viewID {
			v = x
		}
	}
	s.mu.Unlock()
	if v == nil {
		return Delivery{}, fmt.Errorf("slacktest: no view %s", viewID)
	}
	return s.interact(ctx, map[string]any{
		"type": "view_submission", "trigger_id": s.issueTrigger(user),
		"team":       map[string]any{"id": s.TeamID, "domain": "fake"},
		"user":       map[string]any{"id": user, "name": s.handle(user), "team_id": s.TeamID},
		"api_app_id": s.AppID,
		"view": map[string]any{"id": v.ID, "type": "modal", "callback_id": v.CallbackID,
			"private_metadata": v.PrivateMetadata, "team_id": s.TeamID, "app_id": s.AppID,
			"blocks": json.RawMessage(blocksOf(v.JSON)),
			"state":  map[string]any{"values": values}},
	})
}

func blocksOf(view json.RawMessage) []byte {
	var v struct {
		Blocks json.RawMessage `json:"blocks"`
	}
	if json.Unmarshal(view, &v) != nil || len(v.Blocks) == 0 {
		return []byte("[]")
	}
	return v.Blocks
}

func (s *Server) interact(ctx context.Context, payload map[string]any) (Delivery, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return Delivery{}, err
	}
	return s.deliver(ctx, "interactivity", url.Values{"payload": {string(b)}}, b, 0)
}
