package discord_test

import (
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/discord"
	"github.com/debrief/debrief/adapters/discord/discordtest"
)

// withBudget makes b the clock of the 3-second rule: a command's budget is
// over when the test has put a value in b, and never otherwise, so
// nothing waits for it.
func withBudget(b chan time.Time) option {
	return func(c *discord.Config, _ *discordtest.Server) {
		c.After = func(time.Duration) <-chan time.Time { return b }
	}
}

// TestDeferredAnswer: a command that takes longer than DeferAfter (the
// disk is slow) is deferred within Discord's 3 seconds (type 5), and its
// answer follows through the interaction's webhook: the deferral is
// edited to a public answer, or replaced by an ephemeral follow-up for an
// answer meant for the caller only. Over both transports.
func TestDeferredAnswer(t *testing.T) {
	for _, m := range []mode{overGateway, overHTTP} {
		t.Run(string(m), func(t *testing.T) {
			budget := make(chan time.Time, 1)
			h, ch := declared(t, m, withBudget(budget))
			for _, tc := range []struct {
				inv       discordtest.Invocation
				kind, txt string
			}{
				{cmd("sev", discordtest.Int("severity", 1)), "in_channel", "INC-1 is now SEV1 (was SEV2)."},
				{cmd("note", discordtest.Str("text", "db failover took 4 minutes")), "ephemeral", "Noted in the timeline of INC-1."},
			} {
				ctx, cancel := h.waitCtx()
				release := h.store.hold()
				budget <- time.Time{} // spent while the store holds the command
				ia, err := h.fake.Invoke(ctx, h.alice, ch, tc.inv)
				if err != nil {
					release()
					t.Fatal(err)
				}
				a, err := ia.Wait(ctx, func(a discordtest.Answer) bool { return a.Type != 0 })
				release()
				if err != nil || a.Type != 5 {
					t.Fatalf("%v: first answer %+v (%v), want a deferral (type 5)", tc.inv, a, err)
				}
				kind, reply, err := ia.Reply(ctx)
				cancel()
				if err != nil || kind != tc.kind || reply != tc.txt {
					t.Errorf("%v: deferred answer = %s %q (%v), want %s %q", tc.inv, kind, reply, err, tc.kind, tc.txt)
				}
			}
			if h.incident("INC-1").Severity != 1 {
				t.Errorf("the deferred command did not take effect")
			}
		})
	}
}

// TestLongAnswer: an answer longer than a Discord message (2000
// characters) is split at line breaks into the answer and follow-ups, in
// order, nothing lost.
func TestLongAnswer(t *testing.T) {
	for _, m := range []mode{overGateway, overHTTP} {
		t.Run(string(m), func(t *testing.T) {
			h, ch := declared(t, m)
			var last string
			for i := range 25 {
				last = "note " + string(rune('a'+i)) + " " + strings.Repeat("x", 100)
				h.invoke(h.alice, ch, cmd("note", discordtest.Str("text", last)))
			}
			ctx, cancel := h.waitCtx()
			defer cancel()
			ia, err := h.fake.Invoke(ctx, h.bob, ch, cmd("timeline"))
			if err != nil {
				t.Fatal(err)
			}
			a, err := ia.Wait(ctx, func(a discordtest.Answer) bool {
				return len(a.FollowUps) > 0 && strings.Contains(a.FollowUps[len(a.FollowUps)-1].Content, last)
			})
			if err != nil {
				t.Fatalf("the end of the timeline never came: %+v", a)
			}
			if !a.Ephemeral || len([]rune(a.Content)) > 2000 {
				t.Errorf("first part: ephemeral %t, %d characters", a.Ephemeral, len([]rune(a.Content)))
			}
			whole := a.Content
			for _, f := range a.FollowUps {
				if !f.Ephemeral || len([]rune(f.Content)) > 2000 {
					t.Errorf("follow-up: ephemeral %t, %d characters", f.Ephemeral, len([]rune(f.Content)))
				}
				whole += "\n" + f.Content
			}
			for i := range 25 {
				if !strings.Contains(whole, "note "+string(rune('a'+i))+" ") {
					t.Errorf("note %c missing from the answer", 'a'+i)
				}
			}
		})
	}
}
