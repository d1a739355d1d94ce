package bot_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
)

func TestParseGameday(t *testing.T) {
	day := bot.Date{Year: 2026, Month: 3, Day: 4}
	plan := bot.DrillPlan{Hypothesis: "checkout keeps working with < 1% errors", SteadyState: "error rate", Fault: "kill the primary",
		Target: "db-1", AbortCriteria: "errors > 5%"}
	for _, tc := range []struct {
		text string
		want bot.Command
	}{
		{"gameday schedule 2026-03-04 14:00 Europe/Berlin 2h Primary DB failover hypothesis: checkout keeps working with < 1% errors " +
			"steady: error rate fault: kill the primary target: db-1 abort: errors > 5% with: @{U1|bob} @carol",
			bot.Command{Verb: bot.VerbGamedaySchedule, Date: day, Time: bot.Clock{Hour: 14}, Zone: "Europe/Berlin", Duration: 2 * time.Hour,
				Text: "Primary DB failover", Plan: plan, Users: []bot.User{{ID: "U1", Name: "bob"}, {ID: "carol", Name: "carol"}}}},
		// Keywords in any order, case-insensitive; zone and duration as keywords.
		{"GAMEDAY Schedule 2026-03-04 9:30 Failover FAULT: kill the primary Hypothesis: it holds duration: 90 zone: UTC",
			bot.Command{Verb: bot.VerbGamedaySchedule, Date: day, Time: bot.Clock{Hour: 9, Minute: 30}, Zone: "UTC", Duration: 90 * time.Minute,
				Text: "Failover", Plan: bot.DrillPlan{Hypothesis: "it holds", Fault: "kill the primary"}}},
		// A quoted keyword is text; a title word that is no zone stays title.
		{`gameday schedule 2026-03-04 14:00 Paris "fault:" drill hypothesis: "steady:" is a word`,
			bot.Command{Verb: bot.VerbGamedaySchedule, Date: day, Time: bot.Clock{Hour: 14}, Text: "Paris fault: drill",
				Plan: bot.DrillPlan{Hypothesis: "steady: is a word"}}},
		{"gameday inject", bot.Command{Verb: bot.VerbGamedayInject}},
		{"gameday inject Manual killed it with kubectl", bot.Command{Verb: bot.VerbGamedayInject, Choice: "manual", Text: "killed it with kubectl"}},
		{"gameday inject manually this time", bot.Command{Verb: bot.VerbGamedayInject, Text: "manually this time"}},
		{"gameday abort errors above 5%", bot.Command{Verb: bot.VerbGamedayAbort, Text: "errors above 5%"}},
		{"gameday detected", bot.Command{Verb: bot.VerbGamedayDetected}},
		{"gameday verdict Refuted errors reached 4%", bot.Command{Verb: bot.VerbGamedayVerdict, Choice: "refuted", Text: "errors reached 4%"}},
		{"gameday list", bot.Command{Verb: bot.VerbGamedayList}},
	} {
		got, err := bot.Parse(tc.text)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%q) = %+v, %v, want %+v", tc.text, got, err, tc.want)
		}
	}
}

func TestParseGamedayInvalid(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"gameday schedule", "Missing the date and start time."},
		{"gameday schedule 2026-03-04", "Missing the date and start time."},
		{"gameday schedule 2026-02-30 14:00 X hypothesis: y", `Invalid date "2026-02-30"`},
		{"gameday schedule 2026-03-04 24:00 X hypothesis: y", `Invalid time "24:00"`},
		{"gameday schedule 2026-03-04 14:00 Failover", "Missing the hypothesis"},
		{"gameday schedule 2026-03-04 14:00 Failover hypothesis:   ", "Missing the hypothesis"},
		{"gameday schedule 2026-03-04 14:00 hypothesis: y", "Missing the title"},
		{"gameday schedule 2026-03-04 14:00 X hypothesis: y zone: Mars/Base", `Unknown time zone "Mars/Base"`},
		{"gameday schedule 2026-03-04 14:00 X hypothesis: y duration: 9h", `Invalid duration "9h"`},
		{"gameday schedule 2026-03-04 14:00 X hypothesis: y duration: 1h 2h", "Give one duration after duration:."},
		{"gameday schedule 2026-03-04 14:00 X hypothesis: y fault: a fault: b", `Unexpected "fault:": give the fault once.`},
		{"gameday schedule 2026-03-04 14:00 X hypothesis: y with: bob", `"bob" is not a mention`},
		{"gameday schedule 2026-03-04 14:00 X title: Y hypothesis: y", "Give the title once"},
		{`gameday schedule 2026-03-04 14:00 "X hypothesis: y`, "Unterminated quote"},
		{"gameday schedule 2026-03-04 14:00 X hypothesis: " + strings.Repeat("a", bot.MaxPlanText+1), "The hypothesis is too long"},
		{"gameday verdict", "Missing the verdict"},
		{"gameday verdict perhaps it did", `Unknown verdict "perhaps"`},
		{"gameday verdict held", "Missing the observation"},
		{"gameday reset", `Unknown gameday step "reset"`},
	} {
		_, err := bot.Parse(tc.text)
		if bot.ErrorCode(err) != bot.EINVALID || !strings.Contains(bot.ErrorMessage(err), tc.want) {
			t.Errorf("Parse(%q) = %v, want EINVALID with %q", tc.text, err, tc.want)
		}
	}
}

// TestComposeGameday: a form's answers (the Discord options) become text
// the grammar reads back as the same plan.
func TestComposeGameday(t *testing.T) {
	values := map[string][]string{
		"date": {"2026-03-04"}, "time": {"14:00"}, "title": {"Primary DB failover"},
		"hypothesis": {"checkout keeps working fault: none"}, "zone": {"Europe/Berlin"}, "duration": {"2h"},
		"fault": {"kill the primary"}, "target": {""}, "participants": {"@{U1|bob}", "@{U2|carol}"},
	}
	text, err := bot.Lookup(bot.VerbGamedaySchedule).Compose(values)
	if err != nil {
		t.Fatal(err)
	}
	got, err := bot.Parse(text)
	want := bot.Command{Verb: bot.VerbGamedaySchedule, Date: bot.Date{Year: 2026, Month: 3, Day: 4}, Time: bot.Clock{Hour: 14},
		Zone: "Europe/Berlin", Duration: 2 * time.Hour, Text: "Primary DB failover",
		Plan:  bot.DrillPlan{Hypothesis: "checkout keeps working fault: none", Fault: "kill the primary"},
		Users: []bot.User{{ID: "U1", Name: "bob"}, {ID: "U2", Name: "carol"}}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Parse(Compose) = %+v, %v, want %+v\ntext: %s", got, err, want, text)
	}
	for _, v := range []struct {
		verb   bot.Verb
		values map[string][]string
		want   bot.Command
	}{
		{bot.VerbGamedayInject, map[string][]string{"how": {"manual"}, "note": {"by hand"}}, bot.Command{Verb: bot.VerbGamedayInject, Choice: "manual", Text: "by hand"}},
		{bot.VerbGamedayInject, map[string][]string{"how": {"hook"}}, bot.Command{Verb: bot.VerbGamedayInject}},
		{bot.VerbGamedayVerdict, map[string][]string{"verdict": {"held"}, "observed": {"p99 stayed at 180ms"}},
			bot.Command{Verb: bot.VerbGamedayVerdict, Choice: "held", Text: "p99 stayed at 180ms"}},
	} {
		text, err := bot.Lookup(v.verb).Compose(v.values)
		got, perr := bot.Parse(text)
		if err != nil || perr != nil || !reflect.DeepEqual(got, v.want) {
			t.Errorf("Compose(%s, %v) = %q (%v) -> %+v, %v, want %+v", v.verb, v.values, text, err, got, perr, v.want)
		}
	}
}

func TestDrillMeasures(t *testing.T) {
	t0 := time.Date(2026, 3, 4, 14, 5, 0, 0, time.UTC)
	inc := &bot.Incident{Kind: bot.KindDrill, Drill: &bot.Drill{}}
	d := inc.Drill
	if _, ok := d.TimeToDetect(); ok {
		t.Error("time to detect before anything happened")
	}
	d.InjectedAt, d.DetectedAt = t0, t0.Add(-time.Minute)
	if _, ok := d.TimeToDetect(); ok {
		t.Error("a detection before the injection measured")
	}
	d.DetectedAt = t0.Add(192 * time.Second)
	inc.ResolvedAt = t0.Add(20 * time.Minute)
	if got, ok := d.TimeToDetect(); !ok || got != 192*time.Second {
		t.Errorf("TimeToDetect = %v, %v", got, ok)
	}
	if got, ok := d.TimeToMitigate(inc); !ok || got != 20*time.Minute {
		t.Errorf("TimeToMitigate without mitigate = %v, %v, want resolve's", got, ok)
	}
	inc.MitigatedAt = t0.Add(7 * time.Minute)
	if got, _ := d.TimeToMitigate(inc); got != 7*time.Minute {
		t.Errorf("TimeToMitigate = %v", got)
	}
	inc.Number, inc.Title = 4, "DB failover"
	if got := inc.ChannelName(); got != "inc-4-drill-db-failover" {
		t.Errorf("ChannelName = %q", got)
	}
}
