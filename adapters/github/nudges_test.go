package github_test

import (
	"context"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/github/githubtest"
)

// TestNudges walks three weeks of two countermeasures whose owners live in
// New York and Tokyo, across a restart: each owner is nudged two days
// before the due date (the Friday before, when that is a weekend), on it,
// and every working day after, at 09:00 their time, each nudge once, never
// on a weekend; at 7 days overdue the commander is told too, once. Closing
// the issues (one by webhook, one found by the reconcile) stops them.
func TestNudges(t *testing.T) {
	e := newEnv(t, githubtest.Config{})
	e.run(bob, general, "tz America/New_York")
	e.run(carol, general, "tz Asia/Tokyo")
	_, ch := e.declare("Checkout is down sev2")
	e.run(alice, ch, "action Make the canary stage mandatory @bob due 2026-03-11") // a Wednesday
	e.run(alice, ch, "action Alert on certificate expiry @carol due 2026-03-09")   // a Monday
	e.deliver()

	utc := func(day, hour int) time.Time { return time.Date(2026, 3, day, hour, 0, 0, 0, time.UTC) }
	type nudge struct {
		at   time.Time
		want []string // the direct messages, "user text"
	}
	// 09:00 in New York is 13:00 UTC after the switch to EDT on 8 March;
	// 09:00 in Tokyo is 00:00 UTC.
	bob := func(day int, text string) nudge {
		return nudge{utc(day, 13), []string{"bob " + text}}
	}
	carol := func(day int, text string) nudge { return nudge{utc(day, 0), []string{"carol " + text}} }
	nudges := []nudge{
		carol(6, "Heads-up: countermeasure #2 of INC-1 is due in 3 days, on 2026-03-09 (Mon)"), // Saturday 7th moved to Friday
		carol(9, "Countermeasure #2 of INC-1 is due today"),
		bob(9, "Heads-up: countermeasure #1 of INC-1 is due in 2 days, on 2026-03-11 (Wed)"),
		carol(10, "is 1 day overdue"),
		carol(11, "is 2 days overdue"),
		bob(11, "Countermeasure #1 of INC-1 is due today"),
		carol(12, "is 3 days overdue"),
		bob(12, "is 1 day overdue"),
		carol(13, "is 4 days overdue"),
		bob(13, "is 2 days overdue"),
		// The weekend of the 14th and 15th: nothing.
		{utc(16, 0), []string{"carol is 7 days overdue", "alice Countermeasure #2 of INC-1, owned by @carol, is 7 days overdue"}},
		bob(16, "is 5 days overdue"),
		carol(17, "is 8 days overdue"),
		bob(17, "is 6 days overdue"),
		carol(18, "is 9 days overdue"),
		{utc(18, 13), []string{"bob is 7 days overdue", "alice Countermeasure #1 of INC-1, owned by @bob, is 7 days overdue"}},
		carol(19, "is 10 days overdue"),
		bob(19, "is 8 days overdue"),
	}
	if !sort.SliceIsSorted(nudges, func(i, j int) bool { return nudges[i].at.Before(nudges[j].at) }) {
		t.Fatal("the table is not in time order")
	}
	seen := e.chat.len()
	directs := func() []string {
		var out []string
		for _, m := range e.chat.since(seen, "direct ") {
			out = append(out, strings.TrimPrefix(m, "direct "))
		}
		seen = e.chat.len()
		return out
	}
	for i, n := range nudges {
		if i == 4 {
			e.restart()
		}
		e.clock.Set(n.at.Add(-time.Minute))
		e.tick()
		if got := directs(); len(got) != 0 {
			t.Fatalf("before %s: unexpected nudges %q", n.at, got)
		}
		e.clock.Set(n.at)
		e.tick()
		e.tick() // again at the same instant: nothing more
		got := directs()
		if len(got) != len(n.want) {
			t.Fatalf("at %s: nudges %q, want %q", n.at, got, n.want)
		}
		for j := range got {
			who, text, _ := strings.Cut(n.want[j], " ")
			if !strings.HasPrefix(got[j], who+" ") || !strings.Contains(got[j], text) {
				t.Errorf("at %s: nudge %q, want to %s containing %q", n.at, got[j], who, text)
			}
		}
		if strings.HasPrefix(got[0], "bob ") && !strings.Contains(got[0], e.fake.IssueURL(1)) {
			t.Errorf("nudge %q lacks the issue link", got[0])
		}
	}

	// bob closes his issue (webhook); carol's close is only seen by the
	// reconcile. No nudge after either.
	e.clock.Set(utc(19, 15))
	e.closeIssue(1, "bob")
	e.fake.Update(2, func(is *githubtest.Issue) { is.State = "closed" })
	if _, err := e.svc.Reconciler().Tick(context.Background(), e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.deliver()
	directs()
	for range 14 {
		e.clock.Advance(12 * time.Hour)
		e.tick()
	}
	if got := directs(); len(got) != 0 {
		t.Errorf("nudges after both issues closed: %q", got)
	}
	thanks := e.chat.since(0, "Thank you")
	if len(thanks) != 2 || !slices.ContainsFunc(thanks, func(s string) bool { return strings.Contains(s, "@carol") }) {
		t.Errorf("thanks = %q", thanks)
	}
}
