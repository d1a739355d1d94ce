package workflows_test

import (
	"context"
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
	for _, l := range []workflows.Loop{e.svc.Reminders(), e.svc.Nudges()} {
		if n, err := l.Tick(ctx, at); err != nil || n != 0 {
			t.Errorf("%T.Tick again = %d, %v; want nothing left", l, n, err)
		}
	}
}

// TestLoopsListed: cmd gets every loop the configuration calls for, the
// outbox first (it is stopped last), and each Run returns once its context
// is done.
func TestLoopsListed(t *testing.T) {
	e := newEnv(t)
	names := func(loops []workflows.NamedLoop) string {
		var ns []string
		for _, l := range loops {
			ns = append(ns, l.Name)
		}
		return strings.Join(ns, " ")
	}
	if got := names(e.svc.Loops("@weekly")); got != "outbox reminders nudges digest gamedays" {
		t.Errorf("loops without a tracker = %s", got)
	}
	e.svc.Tracker = trackerStub{}
	e.svc.ReconcileEvery = time.Minute
	loops := e.svc.Loops("@weekly")
	if got := names(loops); got != "outbox reminders nudges digest gamedays reconcile" {
		t.Errorf("loops with a tracker = %s", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, l := range loops {
		if err := l.Run(ctx); err != nil {
			t.Errorf("%s: Run after cancel = %v", l.Name, err)
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
