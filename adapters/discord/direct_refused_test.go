package discord_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/debrief/debrief/adapters/discord/discordtest"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

// TestPostDirectRefused tells apart the two reasons Discord refuses a DM
// with Cannot send messages to this user: the person closed their DMs
// (ErrNoDirect, the nudge goes to the channel) and the bot was removed
// from the guild (permanent: it can post nowhere there). While Discord
// cannot say which, the DM is retried.
func TestPostDirectRefused(t *testing.T) {
	h := newHarness(t, overGateway)
	dave := bot.User{Platform: bot.Discord, ID: h.fake.AddUser(discordtest.User{Username: "dave", NoDMs: true}), Name: "dave"}
	bob := bot.User{Platform: bot.Discord, ID: h.bob, Name: "bob"}
	isPermanent := func(err error) bool {
		var perm *workflows.PermanentError
		return errors.As(err, &perm)
	}

	h.fake.Inject(discordtest.Fault{Route: discordtest.RouteListChannels, Times: 1, Status: http.StatusServiceUnavailable})
	if _, err := h.dc.PostDirect(h.ctx, "k", dave, "hi"); err == nil || errors.Is(err, workflows.ErrNoDirect) || isPermanent(err) {
		t.Errorf("DMs closed, the guild unreadable: err = %v, want one to retry", err)
	}
	if _, err := h.dc.PostDirect(h.ctx, "k", dave, "hi"); !errors.Is(err, workflows.ErrNoDirect) {
		t.Errorf("DMs closed: err = %v, want ErrNoDirect", err)
	}

	h.fake.Kick()
	_, err := h.dc.PostDirect(h.ctx, "k", bob, "hi")
	if !isPermanent(err) || errors.Is(err, workflows.ErrNoDirect) {
		t.Errorf("bot removed: err = %v, want a PermanentError, not ErrNoDirect", err)
	}
}
