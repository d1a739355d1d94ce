package discord_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/debrief/debrief/adapters/discord/discordtest"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

// TestPostDirect sends direct messages through a DM channel (POST
// /users/@me/channels, then a message in it): the same channel every
// time, the key as nonce so a retry posts once; a person the bot cannot
// reach is ErrNoDirect, an outage is retried.
func TestPostDirect(t *testing.T) {
	h := newHarness(t, overGateway)
	bobU := bot.User{Platform: bot.Discord, ID: h.bob, Name: "bob"}
	for _, key := range []string{"nudge-1", "nudge-1", "nudge-2"} {
		if id, err := h.dc.PostDirect(h.ctx, key, bobU, "countermeasure "+key); err != nil || id == "" {
			t.Fatalf("PostDirect(%s) = %q, %v", key, id, err)
		}
	}
	if got := h.fake.DirectMessages(h.bob); len(got) != 2 || got[0] != "countermeasure nudge-1" || got[1] != "countermeasure nudge-2" {
		t.Errorf("bob's DMs = %q, want each nudge once", got)
	}
	if opens := h.fake.Calls(discordtest.RouteOpenDM); len(opens) != 3 {
		t.Errorf("DM channel opened %d times, want 3 (one per call)", len(opens))
	}
	for _, c := range h.fake.Channels() {
		if c.Type == discordtest.TypeDM {
			t.Errorf("the DM channel is listed among the guild's: %+v", c)
		}
	}

	closed := h.fake.AddUser(discordtest.User{Username: "dave", NoDMs: true})
	for _, c := range []struct {
		name string
		u    bot.User
	}{
		{"DMs closed", bot.User{Platform: bot.Discord, ID: closed}},
		{"unknown", bot.User{Platform: bot.Discord, ID: "42"}},
		{"other platform", bot.User{Platform: bot.Slack, ID: "U1"}},
	} {
		if _, err := h.dc.PostDirect(h.ctx, "k", c.u, "hi"); !errors.Is(err, workflows.ErrNoDirect) {
			t.Errorf("%s: PostDirect err = %v, want ErrNoDirect", c.name, err)
		}
	}

	h.fake.Inject(discordtest.Fault{Route: discordtest.RouteOpenDM, Times: 1, Status: http.StatusInternalServerError})
	_, err := h.dc.PostDirect(h.ctx, "k", bobU, "hi")
	var perm *workflows.PermanentError
	if err == nil || errors.Is(err, workflows.ErrNoDirect) || errors.As(err, &perm) {
		t.Errorf("during an outage: err = %v, want one to retry", err)
	}
}
