package slack_test

import (
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/slack/slacktest"
)

// TestTimesInReadersZone: what the bot posts for everyone carries its
// times as Slack's date markup, which each reader sees in their own zone
// (alice is in Berlin, bob in New York), with the fallback in the
// configured zone (UTC here): the pinned summary, the meeting's
// announcement and the reminder before it, and the answer to schedule.
// A title that carries a forged token gets no markup: only the bot's own
// times become dates.
func TestTimesInReadersZone(t *testing.T) {
	h := newHarness(t, overHTTP)
	declared := h.clock.Now() // 2026-03-02 09:00 UTC
	forged := "\ufdd0t:0:f|1970\ufdd1"
	if kind, reply := h.command(alice, h.fake.General(), "declare Checkout "+forged+" down sev2"); kind != "in_channel" {
		t.Fatalf("declare = %s %q", kind, reply)
	}
	h.deliver()
	ch, ok := h.fake.ChannelByName("inc-1-checkout-t-0-f-1970-down")
	if !ok {
		t.Fatalf("no incident channel: %+v", h.fake.Channels())
	}
	var summary string
	for _, m := range h.fake.Messages(ch.ID) {
		if pins := h.fake.Pins(ch.ID); len(pins) == 1 && m.TS == pins[0] {
			summary = m.Text
		}
	}
	ds := slacktest.Dates(summary)
	if len(ds) != 1 || ds[0].Unix != declared.Unix() || ds[0].Format != "{date_short_pretty} {time}" || ds[0].Fallback != "2026-03-02 09:00 UTC" {
		t.Errorf("pinned summary %q has dates %+v, want the declare time only", summary, ds)
	}
	for _, text := range append(h.botMessages(h.announce), ch.Topic) {
		if strings.Contains(text, "<!date") || strings.ContainsAny(text, "\ufdd0\ufdd1") {
			t.Errorf("a forged token reached Slack: %q", text)
		}
	}

	h.command(alice, ch.ID, "resolve rolled back")
	kind, reply := h.command(alice, ch.ID, "postmortem schedule 2026-03-04 14:00 Europe/Berlin")
	meeting := time.Date(2026, 3, 4, 13, 0, 0, 0, time.UTC)
	if ds := slacktest.Dates(reply); kind != "in_channel" || len(ds) != 1 || ds[0].Unix != meeting.Unix() || ds[0].Fallback != "2026-03-04 14:00 CET (13:00 UTC)" {
		t.Errorf("schedule = %s %q (dates %+v), want the meeting as a date, its fallback in the zone asked", kind, reply, ds)
	}
	h.deliver()
	h.clock.Set(meeting.Add(-10 * time.Minute))
	if _, err := h.svc.Reminders().Tick(h.ctx, h.clock.Now()); err != nil {
		t.Fatal(err)
	}
	h.deliver()
	want := map[string]struct {
		format, fallback string
	}{
		"Post-mortem of INC-1 scheduled:": {"{date_long_pretty} {time}", "Wed 2026-03-04 13:00 UTC"},
		"The post-mortem of INC-1 starts": {"{time}", "13:00 UTC"},
	}
	for _, text := range h.botMessages(ch.ID) {
		for prefix, w := range want {
			if !strings.HasPrefix(text, prefix) {
				continue
			}
			ds := slacktest.Dates(text)
			if len(ds) != 1 || ds[0].Unix != meeting.Unix() || ds[0].Format != w.format || ds[0].Fallback != w.fallback {
				t.Errorf("%q has dates %+v, want the meeting as %s, fallback %q", text, ds, w.format, w.fallback)
			}
			delete(want, prefix)
		}
	}
	for prefix := range want {
		t.Errorf("no message %q in %q", prefix, h.botMessages(ch.ID))
	}
}
