package slacktest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Buttons, the history and permalinks: what a Declare button and a
// near-miss reaction need of Slack.

// Button is a button of a message's actions block.
type Button struct {
	ActionID, BlockID, Value, Label string
}

// Buttons returns the buttons of message ts in channel, as the bot posted
// them in its blocks.
func (s *Server) Buttons(channel, ts string) []Button {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.message(channel, ts)
	if m == nil {
		return nil
	}
	return buttonsOf(m.Blocks)
}

func buttonsOf(blocks json.RawMessage) []Button {
	var bs []struct {
		Type     string `json:"type"`
		BlockID  string `json:"block_id"`
		Elements []struct {
			Type     string `json:"type"`
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
			Text     struct {
				Text string `json:"text"`
			} `json:"text"`
		} `json:"elements"`
	}
	_ = json.Unmarshal(blocks, &bs)
	var out []Button
	for _, b := range bs {
		if b.Type != "actions" {
			continue
		}
		for _, e := range b.Elements {
			if e.Type == "button" {
				out = append(out, Button{ActionID: e.ActionID, BlockID: b.BlockID, Value: e.Value, Label: e.Text.Text})
			}
		}
	}
	return out
}

// Click clicks the button labelled label on message ts as user and
// delivers the block_actions interaction. Its answer, if any, goes to the
// interaction's response_url (WaitResponse).
func (s *Server) Click(ctx context.Context, user, channel, ts, label string) (Delivery, error) {
	s.mu.Lock()
	m := s.message(channel, ts)
	var msg map[string]any
	var btn *Button
	if m != nil {
		msg = s.messageJSON(m)
		msg["blocks"] = m.Blocks
		for _, b := range buttonsOf(m.Blocks) {
			if b.Label == label {
				btn = &b
			}
		}
	}
	s.mu.Unlock()
	if btn == nil {
		return Delivery{}, fmt.Errorf("slacktest: no button %q on message %s in %s", label, ts, channel)
	}
	now := strconv.FormatFloat(float64(time.Now().UnixMicro())/1e6, 'f', 6, 64)
	return s.interact(ctx, map[string]any{
		"type": "block_actions", "trigger_id": s.issueTrigger(user), "api_app_id": s.AppID,
		"team":      map[string]any{"id": s.TeamID, "domain": "fake"},
		"user":      map[string]any{"id": user, "username": s.handle(user), "name": s.handle(user), "team_id": s.TeamID},
		"container": map[string]any{"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": false},
		"channel":   map[string]any{"id": channel, "name": s.channelName(channel)},
		"message":   msg, "response_url": s.srv.URL + "/commands/" + s.TeamID + "/actions",
		"actions": []any{map[string]any{"type": "button", "action_id": btn.ActionID, "block_id": btn.BlockID,
			"value": btn.Value, "text": map[string]any{"type": "plain_text", "text": btn.Label}, "action_ts": now}},
	})
}

// tsLess orders Slack timestamps ("1712345678.000100").
func tsLess(a, b string) bool {
	fa, _ := strconv.ParseFloat(a, 64)
	fb, _ := strconv.ParseFloat(b, 64)
	return fa < fb
}

// chatGetPermalink answers chat.getPermalink.
func (s *Server) chatGetPermalink(p params) (map[string]any, *apiError) {
	ch, ts := p.str("channel"), p.str("message_ts")
	if s.message(ch, ts) == nil {
		return nil, fail("message_not_found")
	}
	return map[string]any{"channel": ch, "permalink": "https://fake.slack.com/archives/" + ch + "/p" + strings.ReplaceAll(ts, ".", "")}, nil
}
