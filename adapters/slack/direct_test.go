package slack_test

import (
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/debrief/debrief/adapters/slack/slacktest"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

// TestPostDirect sends direct messages through conversations.open and
// chat.postMessage: the same conversation every time, nothing in any
// channel; a person the app cannot reach is ErrNoDirect (the nudge then
// goes to the channel), a Slack outage is retried.
func TestPostDirect(t *testing.T) {
	h := newHarness(t, overHTTP)
	bobU := bot.User{Platform: bot.Slack, ID: bob, Name: "bob"}
	for _, text := range []string{"Heads-up: countermeasure #1 of INC-1 is due in 2 days", "Countermeasure #1 of INC-1 is due today"} {
		if ts, err := h.sl.PostDirect(h.ctx, "k-"+text[:5], bobU, text); err != nil || ts == "" {
			t.Fatalf("PostDirect(%q) = %q, %v", text, ts, err)
		}
	}
	dms := h.fake.DirectMessages(bob)
	if len(dms) != 2 || dms[0].Channel != dms[1].Channel || dms[1].Text != "Countermeasure #1 of INC-1 is due today" {
		t.Fatalf("bob's direct messages = %+v, want both in one conversation", dms)
	}
	if opens := h.fake.Calls("conversations.open"); len(opens) != 2 || opens[0].Params.Get("users") != bob {
		t.Errorf("conversations.open calls = %+v", opens)
	}
	for _, c := range h.fake.Channels() {
		if c.IM || slices.ContainsFunc(h.fake.Messages(c.ID), func(m slacktest.Message) bool { return m.Text == dms[0].Text }) {
			t.Errorf("the direct message shows in channel %s", c.Name)
		}
	}

	for _, c := range []struct {
		name string
		u    bot.User
	}{
		{"deactivated", bot.User{Platform: bot.Slack, ID: gone}},
		{"unknown", bot.User{Platform: bot.Slack, ID: "U0NOBODY"}},
		{"other platform", bot.User{Platform: bot.Discord, ID: "123"}},
	} {
		if _, err := h.sl.PostDirect(h.ctx, "k", c.u, "hi"); !errors.Is(err, workflows.ErrNoDirect) {
			t.Errorf("%s: PostDirect err = %v, want ErrNoDirect", c.name, err)
		}
	}

	h.fake.Inject(slacktest.Fault{Method: "conversations.open", Times: 1, Status: http.StatusInternalServerError})
	_, err := h.sl.PostDirect(h.ctx, "k", bobU, "hi")
	var perm *workflows.PermanentError
	if err == nil || errors.Is(err, workflows.ErrNoDirect) || errors.As(err, &perm) {
		t.Errorf("during an outage: err = %v, want one to retry", err)
	}

	// An install made before im:write was asked for.
	h.fake.GrantScopes(slices.DeleteFunc(scopeNames(), func(s string) bool { return s == "im:write" }))
	if _, err := h.sl.PostDirect(h.ctx, "k", bobU, "hi"); !errors.Is(err, workflows.ErrNoDirect) {
		t.Errorf("without im:write: err = %v, want ErrNoDirect", err)
	}
}
