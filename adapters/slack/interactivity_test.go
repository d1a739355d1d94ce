package slack_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/debrief/debrief/adapters/slack"
	"github.com/debrief/debrief/adapters/slack/slacktest"
	"github.com/debrief/debrief/bot"
	slackgo "github.com/slack-go/slack"
)

// form is what a person filled in the Declare modal.
func form(title, severity, commander string) map[string]map[string]slackgo.BlockAction {
	v := map[string]map[string]slackgo.BlockAction{
		"title":     {"title": {Type: "plain_text_input", Value: title}},
		"commander": {"commander": {Type: "users_select", SelectedUser: commander}},
	}
	if severity != "" {
		v["severity"] = map[string]slackgo.BlockAction{"severity": {Type: "static_select",
			SelectedOption: slackgo.OptionBlockObject{Value: severity}}}
	}
	return v
}

// submission is a view_submission answer.
type submission struct {
	ResponseAction string            `json:"response_action"`
	Errors         map[string]string `json:"errors"`
	View           struct {
		Blocks []struct {
			Text struct{ Text string } `json:"text"`
		} `json:"blocks"`
	} `json:"view"`
}

// TestDeclareModal: /incident with no words opens the form; submitting it
// declares with the chosen severity and commander.
func TestDeclareModal(t *testing.T) {
	for _, m := range []mode{overHTTP, overSocket} {
		t.Run(string(m), func(t *testing.T) {
			h := newHarness(t, m)
			general := h.fake.General()
			d, err := h.fake.Command(h.ctx, alice, general, "")
			h.ok("/incident", d, err)
			if len(strings.TrimSpace(string(d.Body))) != 0 {
				t.Errorf("/incident answered %q, want an empty acknowledgement", d.Body)
			}
			views := h.fake.Views()
			if len(views) != 1 || views[0].CallbackID != slack.DeclareCallback || views[0].User != alice {
				t.Fatalf("views = %+v", views)
			}
			var view slackgo.ModalViewRequest
			if err := json.Unmarshal(views[0].JSON, &view); err != nil {
				t.Fatal(err)
			}
			if len(view.Blocks.BlockSet) != 3 {
				t.Errorf("the form has %d blocks, want title, severity, commander", len(view.Blocks.BlockSet))
			}

			// A form without a title is answered on the form; nothing happens.
			before := h.snapshot()
			d, err = h.fake.SubmitView(h.ctx, alice, views[0].ID, form("  ", "2", bob))
			h.ok("submit", d, err)
			var sub submission
			if json.Unmarshal(d.Body, &sub) != nil || sub.ResponseAction != "errors" || sub.Errors["title"] == "" {
				t.Errorf("empty title = %s, want errors on the title", d.Body)
			}
			if after := h.snapshot(); after.incidents != before.incidents {
				t.Errorf("an empty form declared something")
			}

			d, err = h.fake.SubmitView(h.ctx, alice, views[0].ID, form("Orders DB latency", "2", bob))
			h.ok("submit", d, err)
			sub = submission{}
			if json.Unmarshal(d.Body, &sub) != nil || sub.ResponseAction != "update" || len(sub.View.Blocks) != 1 ||
				!strings.HasPrefix(sub.View.Blocks[0].Text.Text, "Declared INC-1: Orders DB latency (SEV2).") {
				t.Errorf("submit = %s, want the confirmation", d.Body)
			}
			inc := h.incident("INC-1")
			if c, _ := inc.Role(bot.Commander); c.ID != bob || c.Name != "bob" || inc.Severity != bot.SEV2 ||
				inc.DeclaredBy.ID != alice || inc.Origin.ID != general {
				t.Errorf("declared %+v", inc)
			}
			h.deliver()
			ch, _ := h.fake.Channel(h.incident("INC-1").Channels[bot.Slack])
			if !slices.Contains(ch.Members, alice) || !slices.Contains(ch.Members, bob) || !strings.Contains(ch.Topic, "IC @bob") {
				t.Errorf("channel %+v, want alice and bob in, bob commanding", ch)
			}
		})
	}
}

// TestDeclareFromMessage: the message shortcut opens the form with the
// message as the title, and the message becomes the first timeline entry,
// by its author, at its time.
func TestDeclareFromMessage(t *testing.T) {
	h := newHarness(t, overHTTP)
	general := h.fake.General()
	ts := h.say(alice, general, "orders are failing since 10:02 &amp; nobody can pay\nstack trace below")
	d, err := h.fake.Shortcut(h.ctx, carol, general, ts, slack.ShortcutCallback)
	h.ok("shortcut", d, err)
	views := h.fake.Views()
	if len(views) != 1 || views[0].User != carol {
		t.Fatalf("views = %+v", views)
	}
	if !strings.Contains(string(views[0].JSON), `"initial_value":"orders are failing since 10:02 \u0026 nobody can pay"`) {
		t.Errorf("the title is not prefilled from the message's first line: %s", views[0].JSON)
	}
	if !strings.Contains(string(views[0].JSON), `"initial_user":"`+carol+`"`) {
		t.Errorf("the commander is not prefilled with who declares")
	}
	d, err = h.fake.SubmitView(h.ctx, carol, views[0].ID, form("Orders failing", "", carol))
	h.ok("submit", d, err)
	tl := h.timeline("INC-1")
	if len(tl) == 0 {
		t.Fatal("no timeline")
	}
	seed := tl[0]
	if seed.Kind != bot.EventMessage || seed.Author.ID != alice || seed.Author.Name != "alice" || seed.MessageID != ts ||
		seed.Text != "orders are failing since 10:02 & nobody can pay\nstack trace below" || seed.PlatformAt.IsZero() {
		t.Errorf("first entry = %+v, want alice's message", seed)
	}
	if inc := h.incident("INC-1"); inc.DeclaredBy.ID != carol || inc.Severity != bot.SEV3 {
		t.Errorf("declared by %s at %s", inc.DeclaredBy.ID, inc.Severity)
	}
}

// TestFormCannotOpen: when views.open is refused (the trigger expired, it
// lives 3 seconds), the person is told how to declare without the form.
func TestFormCannotOpen(t *testing.T) {
	h := newHarness(t, overHTTP)
	h.fake.Inject(slacktest.Fault{Method: "views.open", Times: 1, Error: "expired_trigger_id"})
	kind, reply := h.command(alice, h.fake.General(), "")
	if kind != "ephemeral" || !strings.Contains(reply, "Could not open the form") || !strings.Contains(reply, "/incident declare") {
		t.Errorf("/incident = %s %q", kind, reply)
	}
}
