package bot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
)

func TestCheckCountermeasure(t *testing.T) {
	refused := []struct{ text, asks string }{
		{"Be more careful", "be careful"},
		{"be MORE careful with deploys!", "be careful"},
		{"Everyone should be extra cautious on Fridays", "be careful"},
		{"take more care when editing the load balancer", "be careful"},
		{"Pay more attention to the dashboards", "pay attention"},
		{"pay attention", "pay attention"},
		{"Don't do that again", "not do it again"},
		{"don’t do that again.", "not do it again"},
		{"Do not do this ever again", "not do it again"},
		{"never do that again", "not do it again"},
		{"We won't make the same mistake again", "not do it again"},
		{"Be less stupid", "be smarter"},
		{"stop being careless", "be smarter"},
		{"Try harder", "try harder"},
		{"Ops will do better next time", "try harder"},
		{"Double-check the config before deploying", "check again by hand"},
		{"double check", "check again by hand"},
		{"Think twice before running migrations", "check again by hand"},
		{"Remember to renew the certificate", "remember"},
		{"We'll remember to rotate the key", "remember"},
		{"Remind the team about the freeze", "remember"},
		{"Be vigilant", "be careful"},
		{"stay vigilant during releases", "be careful"},
		{"Retrain the on-call", "be trained again"},
		{"re-train bob on the deploy process", "be trained again"},
		{"More training on Kubernetes", "be trained again"},
		{"Train the engineers on failover", "be trained again"},
		{"Avoid human error in the release", "make no mistakes"},
	}
	for _, c := range refused {
		err := bot.CheckCountermeasure(c.text)
		if bot.ErrorCode(err) != bot.EINVALID {
			t.Errorf("CheckCountermeasure(%q) = %v, want an EINVALID refusal", c.text, err)
			continue
		}
		msg := bot.ErrorMessage(err)
		for _, want := range []string{"is not a countermeasure", "asks people to " + c.asks, "automated test", "alert", "review rule", "game-day rehearsal"} {
			if !strings.Contains(msg, want) {
				t.Errorf("CheckCountermeasure(%q) message %q lacks %q", c.text, msg, want)
			}
		}
	}
	accepted := []string{
		"Make the canary stage mandatory in the deploy pipeline",
		"Add an alert on certificate expiry 30 days ahead",
		"Add an automated double-check of the config in CI", // a machine checking
		"Write a test that fails when a migration locks a table",
		"Require a second review for changes to the load balancer (review rule)",
		"Run a game-day rehearsal of the database failover",
		"Rate limit the export endpoint",
		"Careful rollout: shift traffic by 1% steps with a canary", // "careful" alone is not a promise
		"Remove the manual step from the release",
		"Add a test so that we don't have to remember to run migrations",
		"Have CI double-check the config on every merge",
		"Retire the legacy queue",       // not "retrain"
		"Add training data validation",  // "training" alone is not "more training"
		"Document the attention budget", // "attention" alone is not "pay attention"
	}
	for _, text := range accepted {
		if err := bot.CheckCountermeasure(text); err != nil {
			t.Errorf("CheckCountermeasure(%q) = %v, want nil", text, err)
		}
	}
}

func TestDateArithmetic(t *testing.T) {
	d := bot.Date{Year: 2026, Month: 2, Day: 27}
	if got := d.AddDays(2); got != (bot.Date{Year: 2026, Month: 3, Day: 1}) {
		t.Errorf("AddDays(2) = %s", got)
	}
	if got := d.AddDays(-27); got != (bot.Date{Year: 2026, Month: 1, Day: 31}) {
		t.Errorf("AddDays(-27) = %s", got)
	}
	if got := d.Weekday(); got != time.Friday {
		t.Errorf("Weekday = %s, want Friday", got)
	}
	if got := d.DaysUntil(bot.Date{Year: 2026, Month: 3, Day: 9}); got != 10 {
		t.Errorf("DaysUntil = %d, want 10", got)
	}
	if got := d.DaysUntil(bot.Date{Year: 2026, Month: 2, Day: 20}); got != -7 {
		t.Errorf("DaysUntil backwards = %d, want -7", got)
	}
}

// TestNextNudge walks the nudges of countermeasures due on each day of a
// week: the heads-up two days before (the Friday before when that is a
// weekend), the due day (the Monday after when it is a weekend) and every
// working day after, at 09:00 in the owner's zone.
func TestNextNudge(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	day := func(m time.Month, d int) bot.Date { return bot.Date{Year: 2026, Month: m, Day: d} }
	for _, c := range []struct {
		due  bot.Date
		want []bot.Date // the first nudge days from 2026-03-02 (a Monday) 00:00
	}{
		// Due Wednesday 11 March: Monday 9, Wednesday 11, then Thu, Fri, Mon...
		{day(3, 11), []bot.Date{day(3, 9), day(3, 11), day(3, 12), day(3, 13), day(3, 16)}},
		// Due Monday 9 March: two days before is Saturday, so Friday 6.
		{day(3, 9), []bot.Date{day(3, 6), day(3, 9), day(3, 10)}},
		// Due Tuesday 10 March: two days before is Sunday, so Friday 6.
		{day(3, 10), []bot.Date{day(3, 6), day(3, 10), day(3, 11)}},
		// Due Saturday 14 March: heads-up Thursday 12, then Monday 16.
		{day(3, 14), []bot.Date{day(3, 12), day(3, 16), day(3, 17)}},
		// Due Sunday 15 March: heads-up Friday 13, then Monday 16.
		{day(3, 15), []bot.Date{day(3, 13), day(3, 16), day(3, 17)}},
		// Due tomorrow: the heads-up has passed; the due day comes next.
		{day(3, 3), []bot.Date{day(3, 3), day(3, 4)}},
	} {
		after := time.Date(2026, 3, 2, 0, 0, 0, 0, ny)
		var got []bot.Date
		for range c.want {
			next := bot.NextNudge(c.due, after, ny)
			if h, m, _ := next.In(ny).Clock(); h != bot.NudgeHour || m != 0 {
				t.Errorf("due %s: nudge at %s, want 09:00 New York time", c.due, next.In(ny))
			}
			got = append(got, bot.DateOf(next.In(ny)))
			after = next
		}
		for i := range c.want {
			if got[i] != c.want[i] {
				t.Errorf("due %s: nudge days %v, want %v", c.due, got, c.want)
				break
			}
		}
	}
	// At 09:00 exactly the nudge of that moment is not "after": the next
	// one is.
	at := time.Date(2026, 3, 11, 9, 0, 0, 0, ny)
	if got := bot.NextNudge(day(3, 11), at, ny); !got.Equal(time.Date(2026, 3, 12, 9, 0, 0, 0, ny)) {
		t.Errorf("NextNudge at the due nudge = %s, want the next day's", got)
	}
	// A long outage: the next nudge is from now on, not a backlog.
	late := time.Date(2026, 4, 1, 15, 0, 0, 0, ny) // a Wednesday afternoon
	if got := bot.NextNudge(day(3, 11), late, ny); !got.Equal(time.Date(2026, 4, 2, 9, 0, 0, 0, ny)) {
		t.Errorf("NextNudge after an outage = %s, want Thursday 09:00", got)
	}
}
