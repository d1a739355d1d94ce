package discord_test

import (
	"context"
	"strings"
	"testing"

	"github.com/debrief/debrief/adapters/discord/discordtest"
	"github.com/debrief/debrief/store"
)

// TestGamedayModal: /incident gameday schedule without its plan opens a
// modal with a paragraph field per part of the plan; answering it
// schedules the game day with the options and the plan together, as the
// typed command would. An empty hypothesis is refused, someone else's
// answer to the modal too, and a modal answered twice schedules once.
// Over both transports.
func TestGamedayModal(t *testing.T) {
	for _, m := range []mode{overGateway, overHTTP} {
		t.Run(string(m), func(t *testing.T) {
			h := newHarness(t, m)
			general := h.fake.General()
			ctx, cancel := context.WithTimeout(h.ctx, waitFor)
			defer cancel()
			open := func() *discordtest.Interaction {
				ia, err := h.fake.Invoke(ctx, h.alice, general, cmd("gameday schedule",
					discordtest.Str("date", "2026-03-04"), discordtest.Str("time", "14:00"), discordtest.Str("title", "Primary DB failover"),
					discordtest.Str("zone", "UTC"), discordtest.UserOpt("participants", h.bob)))
				if err != nil {
					t.Fatal(err)
				}
				a, err := ia.Wait(ctx, func(a discordtest.Answer) bool { return a.Type != 0 })
				if err != nil || a.Type != 9 || a.Modal == nil {
					t.Fatalf("answer %+v (%v), want a modal (type 9)", a, err)
				}
				return ia
			}
			ia := open()
			md := ia.Answer().Modal
			var ids []string
			for _, f := range md.Fields {
				ids = append(ids, f.CustomID)
				if f.Style != 2 {
					t.Errorf("field %s has style %d, want a paragraph", f.CustomID, f.Style)
				}
			}
			if got := strings.Join(ids, " "); got != "hypothesis steady fault target abort" {
				t.Errorf("modal fields = %s", got)
			}
			gamedays := func() int {
				var n int
				_ = h.db.View(context.Background(), func(tx store.ReadTx) error {
					gs, err := tx.Gamedays()
					n = len(gs)
					return err
				})
				return n
			}

			// An empty hypothesis is refused by the grammar; nothing is scheduled.
			sub, err := h.fake.SubmitModal(ctx, h.alice, ia, map[string]string{"hypothesis": "  "})
			if err != nil {
				t.Fatal(err)
			}
			if kind, reply, err := sub.Reply(ctx); err != nil || kind != "ephemeral" || !strings.Contains(reply, "Missing the hypothesis") {
				t.Errorf("empty hypothesis = %s %q (%v)", kind, reply, err)
			}
			// The modal was used up: answering it again is out of date.
			sub, _ = h.fake.SubmitModal(ctx, h.alice, ia, map[string]string{"hypothesis": "it holds"})
			if kind, reply, _ := sub.Reply(ctx); kind != "ephemeral" || !strings.Contains(reply, "out of date") {
				t.Errorf("a used modal = %s %q", kind, reply)
			}
			// Someone else cannot answer alice's modal.
			ia = open()
			sub, _ = h.fake.SubmitModal(ctx, h.carol, ia, map[string]string{"hypothesis": "it holds"})
			if kind, reply, _ := sub.Reply(ctx); kind != "ephemeral" || !strings.Contains(reply, "out of date") {
				t.Errorf("carol answering alice's modal = %s %q", kind, reply)
			}
			if n := gamedays(); n != 0 {
				t.Fatalf("%d game days after refused answers", n)
			}

			ia = open()
			sub, err = h.fake.SubmitModal(ctx, h.alice, ia, map[string]string{
				"hypothesis": "checkout keeps working\nwith < 1% errors", "fault": "kill the primary", "abort": "errors above 5%"})
			if err != nil {
				t.Fatal(err)
			}
			kind, reply, err := sub.Reply(ctx)
			if err != nil || kind != "in_channel" || !strings.Contains(reply, "Scheduled game day GD-1: Primary DB failover, at <t:1772632800:f>") {
				t.Errorf("submit = %s %q (%v)", kind, reply, err)
			}
			if n := gamedays(); n != 1 {
				t.Fatalf("%d game days, want 1", n)
			}
			h.deliver()
			var posted []string
			for _, msg := range h.fake.Messages(general) {
				posted = append(posted, msg.Content)
			}
			all := strings.Join(posted, "\n")
			for _, want := range []string{"[DRILL] Game day GD-1 scheduled", "Hypothesis: checkout keeps working\nwith < 1% errors",
				"Fault: kill the primary", "Abort if: errors above 5%", "Participants: @bob"} {
				if !strings.Contains(all, want) {
					t.Errorf("#general lacks %q:\n%s", want, all)
				}
			}
		})
	}
}
