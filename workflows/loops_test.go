package workflows_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows"
)

// TestLoopsTickApart: the reminder loop fires only incident reminders and
// the nudge loop only countermeasure nudges, each in its own synchronous
// Tick at a given time.
func TestLoopsTickApart(t *testing.T) {
	e := newEnv(t)
	_, ch := e.declare("Two loops") // SEV3: a status reminder every 2 h
	e.run(alice, ch, "action Add an alert on queue age @bob due 2026-03-03")
	ctx := context.Background()
	at := e.clock.Advance(24 * time.Hour) // the status reminder and bob's due-day nudge are both due

	base := len(e.chat.Calls())
	if n, err := e.svc.Nudges().Tick(ctx, at); err != nil || n != 1 {
		t.Fatalf("Nudges.Tick = %d, %v; want bob's nudge", n, err)
	}
	e.deliver()
	if got := e.posts(base, "Reminder:"); len(got) != 0 {
		t.Errorf("the nudge loop fired a status reminder: %q", got)
	}
	if got := e.mentions(base, "bob"); len(got) != 1 {
		t.Errorf("bob's nudges = %q", got)
	}
	if n, err := e.svc.Reminders().Tick(ctx, at); err != nil || n != 1 {
		t.Fatalf("Reminders.Tick = %d, %v; want the status reminder", n, err)
	}
	e.deliver()
	if got := e.posts(base, "Reminder:"); len(got) != 1 {
		t.Errorf("status reminders = %q", got)
	}
	if n, err := e.svc.Tick(ctx, at); err != nil || n != 0 {
		t.Errorf("Service.Tick again = %d, %v; want nothing left", n, err)
	}
}

// TestLoopsListed: cmd gets every loop the configuration calls for, and
// each Run returns once its context is done.
func TestLoopsListed(t *testing.T) {
	e := newEnv(t)
	keys := func(m map[string]workflows.Loop) []string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	if got := strings.Join(keys(e.svc.Loops("@weekly", time.Minute)), " "); got != "digest nudges outbox reminders" {
		t.Errorf("loops without a tracker = %s", got)
	}
	e.svc.Tracker = trackerStub{}
	loops := e.svc.Loops("@weekly", time.Minute)
	if got := strings.Join(keys(loops), " "); got != "digest nudges outbox reconcile reminders" {
		t.Errorf("loops with a tracker = %s", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for name, l := range loops {
		if err := l.Run(ctx); err != nil {
			t.Errorf("%s: Run after cancel = %v", name, err)
		}
	}
}

// TestDigestLoopTick: the digest loop's Tick queues the digest at the time
// it is given.
func TestDigestLoopTick(t *testing.T) {
	e := newEnv(t)
	e.cfg.Announce = map[bot.Platform]string{bot.Console: "incidents"}
	e.restart()
	_, ch := e.declare("Digest me")
	e.run(alice, ch, "action Add an alert on queue age @bob due 2026-03-03")
	n, err := e.svc.Digests("@weekly").Tick(context.Background(), e.clock.Now())
	if err != nil || n != 1 {
		t.Fatalf("Digest.Tick = %d, %v", n, err)
	}
	var digest store.Effect
	for _, eff := range e.effects() {
		if strings.HasPrefix(eff.Key, "digest/") {
			digest = eff
		}
	}
	if digest.Key != "digest/2026-03-02/console" || digest.Lane != "console/incidents" {
		t.Errorf("digest effect = %+v", digest)
	}
}
