package discord

import (
	"reflect"
	"testing"

	"github.com/debrief/debrief/bot"
)

// TestGamedayForm: on Discord the game day's form is the
// /incident gameday schedule subcommand, its options derived from the
// verb's arguments (required first, people as user pickers); the answers
// become the text the grammar reads, plan and participants included.
func TestGamedayForm(t *testing.T) {
	s, u := optString, optUser
	data := invocation("gameday", "schedule", opt("date", s, "2026-03-04"), opt("time", s, "14:00"),
		opt("title", s, "Primary DB failover"), opt("hypothesis", s, "checkout keeps working fault: none"),
		opt("zone", s, "Europe/Berlin"), opt("fault", s, "kill the primary"), opt("participants", u, "111"), opt("participants2", u, "222"))
	text, err := commandText(data)
	if err != nil {
		t.Fatal(err)
	}
	got, err := bot.Parse(text)
	want := bot.Command{Verb: bot.VerbGamedaySchedule, Date: bot.Date{Year: 2026, Month: 3, Day: 4}, Time: bot.Clock{Hour: 14},
		Zone: "Europe/Berlin", Text: "Primary DB failover",
		Plan:  bot.DrillPlan{Hypothesis: "checkout keeps working fault: none", Fault: "kill the primary"},
		Users: []bot.User{{ID: "111", Name: "bob"}, {ID: "222", Name: "carol"}}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Parse(%q) = %+v, %v, want %+v", text, got, err, want)
	}

	var required []bool
	for _, c := range Commands() {
		for _, g := range c.Options {
			if g.Name != "gameday" {
				continue
			}
			for _, o := range g.Options {
				if o.Name != "schedule" {
					continue
				}
				for _, opt := range o.Options {
					required = append(required, opt.Required)
				}
			}
		}
	}
	// The hypothesis is a long text: it may come from the modal instead.
	if len(required) != 20 || !required[2] || required[3] {
		t.Errorf("gameday schedule options: required = %v, want date, time, title, then 17 optional", required)
	}
}
