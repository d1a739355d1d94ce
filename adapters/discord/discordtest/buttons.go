package discordtest

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Button is a button of a message's action rows.
type Button struct {
	CustomID, Label string
	Style           int
}

// Buttons returns the buttons of message id in channel.
func (s *Server) Buttons(channel, id string) []Button {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.message(channel, id)
	if m == nil {
		return nil
	}
	return buttonsOf(m.Components)
}

func buttonsOf(components json.RawMessage) []Button {
	var rows []struct {
		Type       int `json:"type"`
		Components []struct {
			Type     int    `json:"type"`
			CustomID string `json:"custom_id"`
			Label    string `json:"label"`
			Style    int    `json:"style"`
		} `json:"components"`
	}
	_ = json.Unmarshal(components, &rows)
	var out []Button
	for _, r := range rows {
		if r.Type != 1 { // ACTION_ROW
			continue
		}
		for _, c := range r.Components {
			if c.Type == 2 { // BUTTON
				out = append(out, Button{CustomID: c.CustomID, Label: c.Label, Style: c.Style})
			}
		}
	}
	return out
}

// Click clicks the button labelled label on message id in channel as
// user: a MESSAGE_COMPONENT interaction, over the gateway or HTTP like
// Invoke. Interaction.Reply waits for the answer.
func (s *Server) Click(ctx context.Context, user, channel, id, label string) (*Interaction, error) {
	s.mu.Lock()
	u, c, m := s.users[user], s.channels[channel], s.message(channel, id)
	if u == nil || c == nil || m == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("discordtest: no user %s, channel %s or message %s", user, channel, id)
	}
	var btn *Button
	for _, b := range buttonsOf(m.Components) {
		if b.Label == label {
			btn = &b
		}
	}
	if btn == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("discordtest: no button %q on message %s", label, id)
	}
	ia := &Interaction{s: s, ID: s.nextID(), Token: "itok-" + s.nextID(), ChannelID: channel, UserID: user,
		created: time.Now(), answered: make(chan struct{}), changed: make(chan struct{})}
	s.inter[ia.Token] = ia
	payload := s.interactionJSON(ia, u, c, Invocation{})
	payload["type"] = 3 // MESSAGE_COMPONENT
	payload["data"] = map[string]any{"custom_id": btn.CustomID, "component_type": 2}
	payload["message"] = s.messageJSON(m)
	s.mu.Unlock()
	return s.deliverInteraction(ctx, ia, payload)
}
