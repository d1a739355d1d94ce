package slack_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/slack"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	slackgo "github.com/slack-go/slack"
)

// gamedayForm is what a person filled in the game day form.
func gamedayForm(date, hm, title, hypothesis string, people ...string) map[string]map[string]slackgo.BlockAction {
	return map[string]map[string]slackgo.BlockAction{
		"date":         {"date": {Type: "datepicker", SelectedDate: date}},
		"time":         {"time": {Type: "timepicker", SelectedTime: hm}},
		"title":        {"title": {Type: "plain_text_input", Value: title}},
		"hypothesis":   {"hypothesis": {Type: "plain_text_input", Value: hypothesis}},
		"zone":         {"zone": {Type: "plain_text_input", Value: "Europe/Berlin"}},
		"duration":     {"duration": {Type: "plain_text_input"}},
		"fault":        {"fault": {Type: "plain_text_input", Value: "kill the primary"}},
		"participants": {"participants": {Type: "multi_users_select", SelectedUsers: people}},
	}
}

// TestGamedayModal: /incident gameday schedule with no plan opens the form
// derived from the verb's arguments; a refused plan is answered on the
// field it is about and schedules nothing; a good one is scheduled as the
// typed command would be, its plan and invite posted where it came from.
func TestGamedayModal(t *testing.T) {
	h := newHarness(t, overHTTP)
	general := h.fake.General()
	d, err := h.fake.Command(h.ctx, alice, general, "gameday schedule")
	h.ok("/incident gameday schedule", d, err)
	views := h.fake.Views()
	if len(views) != 1 || views[0].CallbackID != slack.GamedayCallback || views[0].User != alice {
		t.Fatalf("views = %+v", views)
	}
	var view slackgo.ModalViewRequest
	if err := json.Unmarshal(views[0].JSON, &view); err != nil {
		t.Fatal(err)
	}
	if n, want := len(view.Blocks.BlockSet), len(bot.Lookup(bot.VerbGamedaySchedule).Args); n != want {
		t.Errorf("the form has %d blocks, want one per argument (%d)", n, want)
	}
	for _, want := range []string{`"type":"datepicker"`, `"type":"timepicker"`, `"type":"multi_users_select"`, `"block_id":"hypothesis"`} {
		if !strings.Contains(string(views[0].JSON), want) {
			t.Errorf("the form lacks %s", want)
		}
	}
	gamedays := func() int {
		var n int
		if err := h.store.View(context.Background(), func(tx store.ReadTx) error {
			gs, err := tx.Gamedays()
			n = len(gs)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, tc := range []struct {
		form  map[string]map[string]slackgo.BlockAction
		block string
	}{
		{gamedayForm("2026-03-01", "10:00", "Failover", "it holds"), "date"},
		{gamedayForm("2026-03-04", "14:00", "Failover", "  "), "hypothesis"},
	} {
		d, err := h.fake.SubmitView(h.ctx, alice, views[0].ID, tc.form)
		h.ok("submit", d, err)
		var sub submission
		if json.Unmarshal(d.Body, &sub) != nil || sub.ResponseAction != "errors" || sub.Errors[tc.block] == "" {
			t.Errorf("submit = %s, want an error on %s", d.Body, tc.block)
		}
	}
	if n := gamedays(); n != 0 {
		t.Fatalf("refused forms scheduled %d game days", n)
	}

	d, err = h.fake.SubmitView(h.ctx, alice, views[0].ID, gamedayForm("2026-03-04", "15:00", "Primary DB failover", "checkout keeps working", bob, carol))
	h.ok("submit", d, err)
	var sub submission
	if json.Unmarshal(d.Body, &sub) != nil || sub.ResponseAction != "update" || len(sub.View.Blocks) != 1 ||
		!strings.Contains(sub.View.Blocks[0].Text.Text, "Scheduled game day GD-1: Primary DB failover, at <!date^1772632800^{date_short_pretty} {time}|2026-03-04 15:00 CET (14:00 UTC)>") {
		t.Errorf("submit = %s, want the confirmation", d.Body)
	}
	h.deliver()
	posted := strings.Join(h.botMessages(general), "\n")
	for _, want := range []string{"[DRILL] Game day GD-1 scheduled", "Hypothesis: checkout keeps working", "Fault: kill the primary", "Participants: @bob, @carol"} {
		if !strings.Contains(posted, want) {
			t.Errorf("general lacks %q:\n%s", want, posted)
		}
	}
	h.clock.Set(time.Date(2026, 3, 4, 14, 0, 0, 0, time.UTC)) // 15:00 CET
	if n, err := h.svc.Gamedays().Tick(h.ctx, h.clock.Now()); err != nil || n != 1 {
		t.Fatalf("Tick = %d, %v", n, err)
	}
	h.deliver()
	inc := h.incident("INC-1")
	if inc.Kind != bot.KindDrill || len(inc.Responders) != 3 {
		t.Errorf("drill = %+v", inc)
	}
	ch, _ := h.fake.Channel(inc.Channels[bot.Slack])
	if !strings.HasPrefix(ch.Name, "inc-1-drill-") || !strings.HasPrefix(ch.Topic, "DRILL |") {
		t.Errorf("channel %+v, want it marked as a drill", ch)
	}
}
