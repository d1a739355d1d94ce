package workflows_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

// dmChat is the test chat with direct messages; people in noDMs cannot get
// them (their platform says ErrNoDirect).
type dmChat struct {
	*chat
	noDMs map[string]bool
}

func (c dmChat) PostDirect(ctx context.Context, key string, u bot.User, text string) (string, error) {
	if c.noDMs[u.ID] {
		return "", fmt.Errorf("DMs closed: %w", workflows.ErrNoDirect)
	}
	if err := c.do("dm " + u.ID + " " + firstLine(text)); err != nil {
		return "", err
	}
	return "dm-1", nil
}

// TestNudgesAsDirectMessages: on a chat that can message people, the owner
// gets their nudge directly; someone who cannot be reached that way gets it
// in the channel with a mention, as on a chat without direct messages.
func TestNudgesAsDirectMessages(t *testing.T) {
	e := newEnv(t)
	dm := dmChat{chat: e.chat, noDMs: map[string]bool{"carol": true}}
	e.svc.Chats = map[bot.Platform]workflows.Chat{bot.Console: dm}
	_, ch := e.declare("Queue stuck")
	e.run(alice, ch, "action Add an alert on queue age @bob due 2026-03-04")
	e.run(alice, ch, "action Add a dead-letter queue @carol due 2026-03-04")
	base := len(e.chat.Calls())
	e.clock.Advance(47 * time.Hour) // Wednesday 09:00 UTC: both due today
	e.tick()
	var dms []string
	for _, c := range e.chat.Calls()[base:] {
		if strings.HasPrefix(c, "dm ") {
			dms = append(dms, c)
		}
	}
	if len(dms) != 1 || !strings.HasPrefix(dms[0], "dm bob Countermeasure #1 of INC-1 is due today") {
		t.Errorf("direct messages = %q, want bob's nudge", dms)
	}
	if got := e.mentions(base, "bob"); len(got) != 0 {
		t.Errorf("bob also nudged in the channel: %q", got)
	}
	if got := e.mentions(base, "carol"); len(got) != 1 || !strings.HasPrefix(got[0], "post "+ch.ID+" @carol Countermeasure #2 of INC-1 is due today") {
		t.Errorf("carol's nudge = %q, want it in the channel", got)
	}
}
