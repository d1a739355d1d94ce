package bot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
)

func TestLint(t *testing.T) {
	people := []string{"alice", "Bob", "U024BE7LH"}
	flagged := []struct {
		text, match, rule string
	}{
		{"We would have caught it with a canary.", "would have", bot.LintCounterfactual},
		{"The alert could have fired earlier", "could have", bot.LintCounterfactual},
		{"Someone should've checked the config", "should've", bot.LintCounterfactual},
		{"Someone should’ve checked the config", "should’ve", bot.LintCounterfactual},
		{"It shouldn't have been possible to deploy on Friday", "shouldn't have", bot.LintCounterfactual},
		{"If only the runbook had been current", "If only", bot.LintCounterfactual},
		{"Had we known about the limit, we'd have waited", "Had we", bot.LintCounterfactual},
		{"The team failed to rotate the certificate", "failed to", bot.LintCounterfactual},
		{"Alice caused the outage by deploying", "Alice caused", bot.LintBlame},
		{"bob forgot to renew the certificate", "bob forgot", bot.LintBlame},
		{"@bob accidentally broke the build", "@bob accidentally broke", bot.LintBlame},
		{"<@U024BE7LH> ignored the page", "<@U024BE7LH> ignored", bot.LintBlame},
		{"The on-call engineer didn't notice the alert", "engineer didn't notice", bot.LintBlame},
		{"He did not notice the disk filling up", "He did not notice", bot.LintBlame},
		{"This was a careless change", "careless", bot.LintBlame},
		{"Root cause: human error", "human error", bot.LintBlame},
		{"we messed up the migration order", "we messed up", bot.LintBlame},
	}
	for _, c := range flagged {
		got := bot.Lint("notes", c.text, people)
		if len(got) != 1 || got[0].Text != c.match || got[0].Rule != c.rule || got[0].Line != 1 || got[0].Hint == "" {
			t.Errorf("Lint(%q) = %+v, want one %s finding %q", c.text, got, c.rule, c.match)
		}
	}
	clean := []string{
		"The retry storm caused the outage.",
		"The deploy broke the checkout page for 12 minutes.",
		"Kafka ignored the retention setting after the upgrade.",
		"The alert did not fire because its threshold was 95%.",
		"Why did it make sense at the time to deploy on Friday? The pipeline showed green.",
		"We have added a canary stage to the pipeline.",
		"The runbook would help on-call if it listed the failover steps.",
		"> bob: I forgot to renew the cert, sorry", // a quoted chat line
		"The log said `user error: should have a token` at 10:02",
		"This is a blameless review.",
	}
	for _, text := range clean {
		if got := bot.Lint("notes", text, people); len(got) != 0 {
			t.Errorf("Lint(%q) = %+v, want no findings", text, got)
		}
	}
}

func TestLintLines(t *testing.T) {
	got := bot.Lint("impact", "Checkout failed for 20% of users.\nWe should have seen it sooner.", nil)
	if len(got) != 1 || got[0].Line != 2 || got[0].Field != "impact" {
		t.Fatalf("findings = %+v, want one on line 2 of impact", got)
	}
	if s := got[0].String(); !strings.Contains(s, `impact line 2: "should have" (counterfactual)`) {
		t.Errorf("String() = %q", s)
	}
}

func TestLintIncident(t *testing.T) {
	inc := &bot.Incident{
		ID: "INC-1", Summary: "The cache was cold after the failover.",
		Impact:     "Checkout errors for 20 minutes",
		Factors:    []string{"The failover runbook was out of date", "carol overlooked the replica lag"},
		Responders: []bot.User{{ID: "U3", Name: "carol"}},
		Postmortem: bot.Postmortem{Notes: "If only we had a canary"},
	}
	got := bot.LintIncident(inc)
	var where []string
	for _, f := range got {
		where = append(where, f.Field+":"+f.Text)
	}
	want := []string{"notes:If only", "factor 2:carol overlooked"}
	if strings.Join(where, ",") != strings.Join(want, ",") {
		t.Errorf("LintIncident = %q, want %q", where, want)
	}
}

func TestAddWorkingDays(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for _, c := range []struct {
		from string
		n    int
		want string
	}{
		{"2026-03-02 10:00", 2, "2026-03-04 10:00"}, // Monday -> Wednesday
		{"2026-03-05 10:00", 2, "2026-03-09 10:00"}, // Thursday -> Monday
		{"2026-03-07 10:00", 1, "2026-03-09 10:00"}, // Saturday -> Monday
		{"2026-03-27 10:00", 5, "2026-04-03 10:00"}, // across the DST change, same wall clock
		{"2026-03-02 10:00", 0, "2026-03-02 10:00"},
	} {
		from, _ := time.ParseInLocation("2006-01-02 15:04", c.from, berlin)
		got := bot.AddWorkingDays(from, c.n, berlin).Format("2006-01-02 15:04")
		if got != c.want {
			t.Errorf("AddWorkingDays(%s, %d) = %s, want %s", c.from, c.n, got, c.want)
		}
	}
}
