package console_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/console"
	"github.com/debrief/debrief/bot"
)

// TestTimesAsFallback: a terminal shows no time in its reader's zone, so
// a time token prints as its fallback, the time in DEBRIEF_TZ, in posts,
// topics and answers alike; no delimiter reaches the terminal.
func TestTimesAsFallback(t *testing.T) {
	svc, _ := newService(t)
	var out strings.Builder
	con := console.New(svc, strings.NewReader(""), &out, alice)
	ctx := context.Background()
	tok := bot.TimeToken(bot.Stamp{At: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), Style: bot.StyleDateTime, Fallback: "2026-03-02 11:00 CET (10:00 UTC)"})
	if _, err := con.Post(ctx, "effect-1", "inc-1", "Declared "+tok+" by @alice."); err != nil {
		t.Fatal(err)
	}
	if err := con.SetTopic(ctx, "inc-1", "meeting "+tok); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"Declared 2026-03-02 11:00 CET (10:00 UTC) by @alice.", "meeting 2026-03-02 11:00 CET (10:00 UTC)"} {
		if !strings.Contains(got, want) {
			t.Errorf("output %q lacks %q", got, want)
		}
	}
	if strings.ContainsAny(got, "\ufdd0\ufdd1") {
		t.Errorf("a token's delimiter reached the terminal: %q", got)
	}
}

// TestSummaryInConsoleZone: the pinned summary of a console incident
// gives the declare time in DEBRIEF_TZ.
func TestSummaryInConsoleZone(t *testing.T) {
	svc, _ := newService(t)
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	svc.Config.Zone = tokyo
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	svc.Now = func() time.Time { return at }
	s := start(t, svc, alice, nil)
	s.send(`/incident declare "Checkout is down" sev2`)
	s.expect("Declared INC-1")
	s.deliver()
	s.expect("Declared 2026-03-02 19:00 JST (10:00 UTC) by @alice.")
}
