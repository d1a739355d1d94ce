package slack_test

import (
	"strings"
	"testing"

	"github.com/debrief/debrief/adapters/slack"
)

// TestNearMissReaction: the near-miss reaction records the message once,
// whoever reacts and however often Slack delivers it; other reactions
// record nothing; its note carries a Declare button.
func TestNearMissReaction(t *testing.T) {
	h := newHarness(t, overHTTP, func(c *slack.Config) { c.NearMissEmoji = "grimacing" })
	general := h.fake.General()
	ts := h.say(carol, general, "the deploy script nearly ran against prod, I stopped it")
	h.acked("eyes")(h.fake.React(h.ctx, bob, general, ts, "eyes"))
	h.acked("grimacing")(h.fake.React(h.ctx, bob, general, ts, "grimacing"))
	h.acked("redelivery")(h.fake.Redeliver(h.ctx, h.fake.LastEventID()))
	h.acked("grimacing again")(h.fake.React(h.ctx, alice, general, ts, "grimacing"))
	h.deliver()
	nms, err := h.svc.NearMisses(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nms) != 1 {
		t.Fatalf("near misses = %+v, want one", nms)
	}
	nm := nms[0]
	if nm.Text != "the deploy script nearly ran against prod, I stopped it" || nm.Author.ID != carol || nm.Reporter.ID != bob ||
		!strings.HasPrefix(nm.Permalink, "https://fake.slack.com/archives/"+general+"/p") || nm.Channel.ID != general {
		t.Errorf("near miss = %+v", nm)
	}
	// Its note carries a Declare button.
	msgs := h.fake.Messages(general)
	last := msgs[len(msgs)-1]
	btns := h.fake.Buttons(general, last.TS)
	if len(btns) != 1 || btns[0].Value != "declare --from NM-1" || !strings.Contains(last.Text, "Near miss NM-1 recorded by @bob") {
		t.Fatalf("note %q with buttons %+v, want a Declare button for NM-1", last.Text, btns)
	}
}
