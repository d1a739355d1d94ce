package discord_test

import (
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/discord/discordtest"
)

// TestTimesInReadersZone: what the bot posts for everyone carries its
// times as Discord's timestamp markup, which each reader sees in their own
// zone: the pinned summary, the meeting's announcement, the reminder
// before it, and the answer to schedule. A title that carries a forged
// token gets no markup: only the bot's own times become timestamps.
func TestTimesInReadersZone(t *testing.T) {
	h := newHarness(t, overHTTP)
	declared := h.clock.Now() // 2026-03-02 09:00 UTC
	forged := "\ufdd0t:0:f|1970\ufdd1"
	if kind, reply := h.invoke(h.alice, h.fake.General(), cmd("declare", discordtest.Str("title", "Checkout "+forged+" down"), discordtest.Int("severity", 2))); kind != "in_channel" {
		t.Fatalf("declare = %s %q", kind, reply)
	}
	h.deliver()
	ch := h.incident("INC-1").Channels["discord"]
	var summary string
	for _, m := range h.fake.Messages(ch) {
		if pins := h.fake.Pins(ch); len(pins) == 1 && m.ID == pins[0] {
			summary = m.Content
		}
	}
	ts := discordtest.Timestamps(summary)
	if len(ts) != 1 || ts[0].Unix != declared.Unix() || ts[0].Style != "f" {
		t.Errorf("pinned summary %q has timestamps %+v, want the declare time only", summary, ts)
	}
	c, _ := h.fake.Channel(ch)
	for _, text := range append(h.fake.BotMessages(h.announce), c.Topic) {
		if strings.Contains(text, "<t:") || strings.ContainsAny(text, "\ufdd0\ufdd1") {
			t.Errorf("a forged token reached Discord: %q", text)
		}
	}

	h.invoke(h.alice, ch, cmd("resolve"))
	kind, reply := h.invoke(h.alice, ch, cmd("postmortem schedule", discordtest.Str("date", "2026-03-04"), discordtest.Str("time", "14:00"),
		discordtest.Str("zone", "Europe/Berlin")))
	meeting := time.Date(2026, 3, 4, 13, 0, 0, 0, time.UTC)
	if ts := discordtest.Timestamps(reply); kind != "in_channel" || len(ts) != 1 || ts[0].Unix != meeting.Unix() {
		t.Errorf("schedule = %s %q, want the meeting as a timestamp", kind, reply)
	}
	h.deliver()
	h.clock.Set(meeting.Add(-10 * time.Minute))
	if _, err := h.svc.Reminders().Tick(h.ctx, h.clock.Now()); err != nil {
		t.Fatal(err)
	}
	h.deliver()
	want := map[string]string{"Post-mortem of INC-1 scheduled:": "F", "The post-mortem of INC-1 starts": "t"}
	for _, text := range h.fake.BotMessages(ch) {
		for prefix, style := range want {
			if !strings.HasPrefix(text, prefix) {
				continue
			}
			if ts := discordtest.Timestamps(text); len(ts) != 1 || ts[0].Unix != meeting.Unix() || ts[0].Style != style {
				t.Errorf("%q has timestamps %+v, want the meeting in style %s", text, ts, style)
			}
			delete(want, prefix)
		}
	}
	for prefix := range want {
		t.Errorf("no message %q in %q", prefix, h.fake.BotMessages(ch))
	}
}
