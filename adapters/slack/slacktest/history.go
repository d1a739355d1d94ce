package slacktest

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Offline makes the fake keep what people do (messages, edits, deletes,
// replies) without delivering the events, as while the bot is down and
// Slack's retries run out: the state changes, the events are kept for
// Redeliver (LastEventID names the latest), and the bot must read the
// history back. Offline(false) delivers again from then on.
func (s *Server) Offline(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offline = on
}

// Post stores a message by user in channel whose JSON carries the fields
// of extra beyond its text (attachments, blocks, subtype, files, bot_id,
// username), as apps and Slack's own features send them, and delivers its
// message event (with extra's subtype, if any). It returns the ts.
func (s *Server) Post(ctx context.Context, user, channel, text string, extra map[string]any) (string, Delivery, error) {
	m, err := s.post(user, channel, "", text, nil)
	if err != nil {
		return "", Delivery{}, err
	}
	s.mu.Lock()
	m.Extra = extra
	if id, ok := extra["bot_id"].(string); ok {
		m.BotID = id
	}
	now := *m
	s.mu.Unlock()
	sub, _ := extra["subtype"].(string)
	d, err := s.event(ctx, s.messageEvent(&now, sub))
	return m.TS, d, err
}

// ShareConnectFile shares a file named name into channel as user over
// Slack Connect: the message event carries the file's ID only, with
// file_access "check_file_info", and files.info answers the rest
// (https://docs.slack.dev/reference/objects/file-object, "Slack Connect
// files"). It returns the message's ts and the file's ID.
func (s *Server) ShareConnectFile(ctx context.Context, user, channel, name string) (ts, id string, d Delivery, err error) {
	s.mu.Lock()
	id = s.nextID("F")
	f := File{ID: id, Name: name, Permalink: "https://fake.slack.com/files/" + user + "/" + id + "/" + url.PathEscape(name)}
	if s.sharedFiles == nil {
		s.sharedFiles = map[string]File{}
	}
	s.sharedFiles[id] = f
	s.mu.Unlock()
	m, err := s.post(user, channel, "", "", []File{f})
	if err != nil {
		return "", "", Delivery{}, err
	}
	s.mu.Lock()
	m.Extra = map[string]any{"files": []map[string]any{{"id": id, "mode": "file_access",
		"file_access": "check_file_info", "created": 0, "timestamp": 0, "user": ""}}, "upload": false}
	now := *m
	s.mu.Unlock()
	d, err = s.event(ctx, s.messageEvent(&now, "file_share"))
	return m.TS, id, d, err
}

// sharedFileInfo is files.info's answer for a file a person shared.
func (s *Server) sharedFileInfo(f File) map[string]any {
	return map[string]any{"file": map[string]any{
		"id": f.ID, "name": f.Name, "title": f.Name, "mimetype": "text/plain", "filetype": "text",
		"pretty_type": "Plain Text", "size": 42, "mode": "hosted", "is_external": false, "is_public": true,
		"permalink": f.Permalink, "url_private": "https://files.fake.slack.com/files-pri/" + s.TeamID + "-" + f.ID + "/" + url.PathEscape(f.Name),
		"channels": []string{}, "groups": []string{}, "ims": []string{}, "comments_count": 0,
		"shares": map[string]any{}, "file_access": "visible",
	}, "comments": []any{}, "response_metadata": map[string]any{"next_cursor": ""}}
}

// hasReplies reports whether message ts has replies not deleted. Under mu.
func (s *Server) hasReplies(channel, ts string) bool {
	for _, m := range s.messages[channel] {
		if m.ThreadTS == ts && m.TS != ts && !m.Deleted {
			return true
		}
	}
	return false
}

// threadStats is what a thread parent shows of its replies.
type threadStats struct {
	count  int
	users  []string
	latest string
}

// threads summarises the replies of every thread in a channel. Under mu.
func (s *Server) threads(channel string) map[string]*threadStats {
	out := map[string]*threadStats{}
	for _, m := range s.messages[channel] {
		if m.Deleted || m.ThreadTS == "" || m.ThreadTS == m.TS {
			continue
		}
		st := out[m.ThreadTS]
		if st == nil {
			st = &threadStats{}
			out[m.ThreadTS] = st
		}
		st.count++
		if !slices.Contains(st.users, m.User) {
			st.users = append(st.users, m.User)
		}
		if tsLess(st.latest, m.TS) {
			st.latest = m.TS
		}
	}
	return out
}

// historyJSON is a message as conversations.history and .replies show it:
// a thread parent with its reply_count, reply_users and latest_reply.
func (s *Server) historyJSON(m *Message, st *threadStats) map[string]any {
	j := s.messageJSON(m)
	if st != nil && (m.ThreadTS == "" || m.ThreadTS == m.TS) {
		j["thread_ts"] = m.TS
		j["reply_count"] = st.count
		j["reply_users_count"] = len(st.users)
		j["reply_users"] = st.users
		j["latest_reply"] = st.latest
		j["is_locked"] = false
		j["subscribed"] = false
	}
	return j
}

// cursor is how the fake pages: Slack's cursors are opaque base64, and
// its own read "next_ts:<ts>".
func cursor(ts string) string { return base64.StdEncoding.EncodeToString([]byte("next_ts:" + ts)) }

func fromCursor(c string) (string, bool) {
	b, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return "", false
	}
	return strings.CutPrefix(string(b), "next_ts:")
}

// window is the oldest/latest/inclusive/limit/cursor of a history read.
type window struct {
	oldest, latest, after string
	inclusive             bool
	limit                 int
}

func readWindow(p params) (window, *apiError) {
	w := window{oldest: p.str("oldest"), latest: p.str("latest")}
	w.inclusive = p.str("inclusive") == "true" || p.str("inclusive") == "1"
	w.limit, _ = strconv.Atoi(p.str("limit"))
	if w.limit <= 0 {
		w.limit = 100
	}
	if w.limit > 999 {
		w.limit = 999
	}
	if c := p.str("cursor"); c != "" {
		ts, ok := fromCursor(c)
		if !ok {
			return w, fail("invalid_cursor")
		}
		w.after = ts
	}
	return w, nil
}

// in reports whether ts is inside the window's oldest and latest.
func (w window) in(ts string) bool {
	if w.oldest != "" && (tsLess(ts, w.oldest) || !w.inclusive && ts == w.oldest) {
		return false
	}
	if w.latest != "" && (tsLess(w.latest, ts) || !w.inclusive && ts == w.latest) {
		return false
	}
	return true
}

// conversationsHistory answers conversations.history as Slack does: the
// channel's messages (thread replies only when broadcast), newest first,
// between oldest and latest (exclusive unless inclusive), limit a page,
// has_more and a next_cursor to the older rest.
// https://docs.slack.dev/reference/methods/conversations.history
func (s *Server) conversationsHistory(p params) (map[string]any, *apiError) {
	c, err := s.channel(p, true, true)
	if err != nil {
		return nil, err
	}
	w, err := readWindow(p)
	if err != nil {
		return nil, err
	}
	stats := s.threads(c.ID)
	out := []map[string]any{}
	more, next := false, ""
	msgs := s.messages[c.ID]
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if m.Deleted || m.ThreadTS != "" && m.ThreadTS != m.TS && m.Extra["subtype"] != "thread_broadcast" {
			continue
		}
		if w.after != "" && tsLess(w.after, m.TS) || !w.in(m.TS) {
			continue
		}
		if len(out) == w.limit {
			more, next = true, cursor(m.TS)
			break
		}
		out = append(out, s.historyJSON(m, stats[m.TS]))
	}
	return map[string]any{"messages": out, "has_more": more, "pin_count": len(s.pins[c.ID]),
		"channel_actions_ts": nil, "channel_actions_count": 0,
		"response_metadata": map[string]any{"next_cursor": next}}, nil
}

// conversationsReplies answers conversations.replies as Slack does: the
// thread's parent first, then its replies oldest first within oldest and
// latest, limit a page, with a next_cursor to the newer rest.
// https://docs.slack.dev/reference/methods/conversations.replies
func (s *Server) conversationsReplies(p params) (map[string]any, *apiError) {
	c, err := s.channel(p, true, true)
	if err != nil {
		return nil, err
	}
	w, err := readWindow(p)
	if err != nil {
		return nil, err
	}
	ts := p.str("ts")
	parent := s.message(c.ID, ts)
	if ts == "" || parent == nil {
		return nil, fail("thread_not_found")
	}
	stats := s.threads(c.ID)
	out := []map[string]any{}
	if w.after == "" {
		out = append(out, s.historyJSON(parent, stats[ts]))
	}
	more, next := false, ""
	for _, m := range s.messages[c.ID] {
		if m.Deleted || m.ThreadTS != ts || m.TS == ts {
			continue
		}
		if w.after != "" && tsLess(m.TS, w.after) || !w.in(m.TS) {
			continue
		}
		if len(out) == w.limit {
			more, next = true, cursor(m.TS)
			break
		}
		j := s.historyJSON(m, nil)
		j["parent_user_id"] = parent.User
		out = append(out, j)
	}
	return map[string]any{"messages": out, "has_more": more,
		"response_metadata": map[string]any{"next_cursor": next}}, nil
}

// Backdate posts n messages by user in channel without delivering them,
// quickly: what piles up in a busy channel while the bot is down (see
// Offline). Their ts are consecutive microseconds.
func (s *Server) Backdate(user, channel string, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[channel]
	if !ok {
		return fmt.Errorf("slacktest: no channel %s", channel)
	}
	for i := range n {
		m := &Message{Channel: c.ID, TS: s.nextTS(), User: user, Text: "backlog message " + strconv.Itoa(i+1)}
		s.messages[c.ID] = append(s.messages[c.ID], m)
	}
	return nil
}

// Event delivers inner (an event of the Events API, as Slack documents
// it: a message subtype, pin_added) in the event_callback wrapper Slack
// puts around it, over HTTP or Socket Mode: for payload shapes the fake
// has no action for.
func (s *Server) Event(ctx context.Context, inner map[string]any) (Delivery, error) {
	return s.event(ctx, inner)
}
