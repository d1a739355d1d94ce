package workflows_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
)

// TestFindBack: the newest entry that matches is found across pages of
// the walk back, and a miss walks to the start and says so.
func TestFindBack(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	inc, _ := e.declare("db down")
	// In one transaction: 1200 fsynced Records would take seconds.
	err := e.db.Update(ctx, func(tx store.Tx) error {
		for i := range 1200 {
			e.clock.Advance(time.Millisecond)
			ev := bot.TimelineEvent{IncidentID: inc.ID, Kind: bot.EventMessage, Author: alice, Text: fmt.Sprintf("m%d", i),
				MessageID: fmt.Sprintf("m%d", i%1000), PlatformAt: e.clock.Now(), RecordedAt: e.clock.Now(), DedupeKey: fmt.Sprintf("console/%d", i)}
			if _, _, err := tx.AppendEvent(ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ id, want string }{
		{"m1100", ""},     // no such message
		{"m999", "m999"},  // only once, 200 back
		{"m100", "m1100"}, // twice: the newest
		{"m0", "m1000"},
	} {
		ev, ok, err := e.svc.FindBack(ctx, inc.ID, func(ev bot.TimelineEvent) bool { return ev.MessageID == tc.id })
		if err != nil {
			t.Fatal(err)
		}
		if got := ev.Text; ok != (tc.want != "") || got != tc.want {
			t.Errorf("FindBack(%s) = %q, %v, want %q", tc.id, got, ok, tc.want)
		}
	}
	// The first entry of all is found too: the walk reaches the start.
	if ev, ok, err := e.svc.FindBack(ctx, inc.ID, func(ev bot.TimelineEvent) bool { return ev.Text == "m0" }); err != nil || !ok || ev.MessageID != "m0" {
		t.Errorf("FindBack(first message) = %+v, %v, %v", ev, ok, err)
	}
	if _, _, err := e.svc.FindBack(ctx, "INC-99", func(bot.TimelineEvent) bool { return true }); bot.ErrorCode(err) != bot.ENOTFOUND {
		t.Errorf("FindBack(INC-99) = %v, want ENOTFOUND", err)
	}
}
