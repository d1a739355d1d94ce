package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

// posts returns the whole texts of the messages posted since call index
// from that contain sub.
func (e *env) posts(from int, sub string) []string {
	e.chat.mu.Lock()
	defer e.chat.mu.Unlock()
	var out []string
	for i := from; i < len(e.chat.calls); i++ {
		// Read as the console shows them: a time token as its fallback
		// (times_test.go holds the tokens themselves).
		if text, ok := e.chat.full[i]; ok && strings.Contains(bot.TimeText(text), sub) {
			out = append(out, bot.TimeText(text))
		}
	}
	return out
}

// tick fires the reminders, then the nudges, due now, delivers them and
// returns how many fired.
func (e *env) tick() int {
	e.t.Helper()
	n := 0
	for _, l := range []workflows.Loop{e.svc.Reminders(), e.svc.Nudges()} {
		m, err := l.Tick(context.Background(), e.clock.Now())
		if err != nil {
			e.t.Fatalf("Tick: %v", err)
		}
		n += m
	}
	e.deliver()
	return n
}

// TestStatusReminders advances the clock across a SEV1's intervals and a
// restart: each reminder fires once, a status update resets the interval,
// and resolve stops them.
func TestStatusReminders(t *testing.T) {
	e := newEnv(t)
	_, ch := e.declare("Everything is on fire sev1")
	base := len(e.chat.Calls())

	e.clock.Advance(14 * time.Minute)
	if n := e.tick(); n != 0 {
		t.Fatalf("fired %d reminders at 14 min, want 0", n)
	}
	e.clock.Advance(time.Minute)
	if n := e.tick(); n != 1 {
		t.Fatalf("fired %d reminders at 15 min, want 1", n)
	}
	if n := e.tick(); n != 0 {
		t.Fatalf("fired %d reminders again at 15 min, want 0", n)
	}
	e.restart()
	if n := e.tick(); n != 0 {
		t.Fatalf("fired %d after restart at the same time, want 0", n)
	}
	e.clock.Advance(10 * time.Minute)
	e.run(alice, ch, "status rolling back")
	e.clock.Advance(10 * time.Minute) // 20 min after the last reminder, 10 after the update
	if n := e.tick(); n != 0 {
		t.Fatalf("fired %d 10 min after a status update, want 0", n)
	}
	e.clock.Advance(5 * time.Minute)
	if n := e.tick(); n != 1 {
		t.Fatalf("fired %d 15 min after the update, want 1", n)
	}
	if got := e.posts(base, "no status update for 15m0s"); len(got) != 2 {
		t.Errorf("reminder posts = %q, want 2", got)
	}
	// Down for two hours: one reminder, not eight.
	e.restart()
	e.clock.Advance(2 * time.Hour)
	if n := e.tick(); n != 1 {
		t.Fatalf("fired %d after a long outage, want 1", n)
	}
	e.run(alice, ch, "sev 4") // SEV4 has no status reminders
	e.clock.Advance(24 * time.Hour)
	if n := e.tick(); n != 0 {
		t.Fatalf("SEV4 fired %d status reminders", n)
	}
}

func TestScheduleNudge(t *testing.T) {
	e := newEnv(t)
	_, ch := e.declare("Expired certificate sev2")
	e.run(alice, ch, "resolve renewed")
	base := len(e.chat.Calls())
	e.clock.Advance(2 * time.Hour)
	if n := e.tick(); n != 0 {
		t.Fatalf("resolved incident fired %d reminders after 2h, want 0 (no status reminders once resolved)", n)
	}
	e.clock.Advance(22 * time.Hour)
	if n := e.tick(); n != 1 {
		t.Fatalf("fired %d at resolve+24h, want the schedule nudge", n)
	}
	if got := e.posts(base, "post-mortem is not scheduled"); len(got) != 1 || !strings.Contains(got[0], "@alice") {
		t.Errorf("nudge posts = %q", got)
	}
	e.restart()
	e.run(alice, ch, "postmortem schedule 2026-03-06 10:00")
	e.clock.Advance(24 * time.Hour)
	if n := e.tick(); n != 0 {
		t.Fatalf("fired %d after scheduling, want 0", n)
	}
}
