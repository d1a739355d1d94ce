package slack_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/debrief/debrief/adapters/slack/slacktest"
	"github.com/debrief/debrief/bot"
)

// TestIncidentOverHTTP runs a whole incident through the real HTTP
// handlers, signed by the fake like Slack signs.
func TestIncidentOverHTTP(t *testing.T) { runIncident(t, newHarness(t, overHTTP)) }

// TestIncidentOverSocketMode runs the same incident over Socket Mode: the
// same handlers behind a websocket, every envelope acknowledged only once
// its work is committed (each step below checks the timeline right after
// the acknowledgement arrived).
func TestIncidentOverSocketMode(t *testing.T) { runIncident(t, newHarness(t, overSocket)) }

// runIncident is the scenario both transports run: declare, talk, edit,
// delete, thread, file, key reactions and pins, severity, roles, resolve,
// and a close that is refused with its reasons.
func runIncident(t *testing.T, h *harness) {
	general := h.fake.General()

	// Declare: the answer is immediate, the channel comes from the outbox.
	kind, reply := h.command(alice, general, `declare "Checkout &amp; payments are down" sev2`)
	if kind != "in_channel" || !strings.HasPrefix(reply, "Declared INC-1: Checkout &amp; payments are down (SEV2).") {
		t.Fatalf("declare = %s %q", kind, reply)
	}
	inc := h.incident("INC-1")
	if inc.Title != "Checkout & payments are down" || inc.Severity != bot.SEV2 {
		t.Errorf("declared %q %s, want the decoded title at SEV2", inc.Title, inc.Severity)
	}
	if c, _ := inc.Role(bot.Commander); c != (bot.User{Platform: bot.Slack, ID: alice, Name: "alice"}) {
		t.Errorf("commander = %+v, want alice as a Slack user named by users.info", c)
	}
	if inc.Origin != (bot.Channel{Platform: bot.Slack, ID: general}) {
		t.Errorf("origin = %+v", inc.Origin)
	}
	if len(h.fake.Channels()) != 2 {
		t.Errorf("a channel exists before the outbox ran: %+v", h.fake.Channels())
	}
	h.deliver()

	ch, ok := h.fake.ChannelByName("inc-1-checkout-payments-are-down")
	if !ok {
		t.Fatalf("no incident channel; channels %+v", h.fake.Channels())
	}
	if got := h.incident("INC-1").Channels[bot.Slack]; got != ch.ID {
		t.Errorf("incident channel = %q, want %s", got, ch.ID)
	}
	if ch.Creator != h.fake.BotUserID || !strings.HasPrefix(ch.Purpose, "debrief INC-1 ") {
		t.Errorf("channel creator %s purpose %q", ch.Creator, ch.Purpose)
	}
	if want := "INC-1 | SEV2 | investigating | IC @alice"; ch.Topic != want {
		t.Errorf("topic = %q, want %q", ch.Topic, want)
	}
	if !slices.Contains(ch.Members, alice) {
		t.Errorf("declarer not invited: members %v", ch.Members)
	}
	msgs := h.botMessages(ch.ID)
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0], "INC-1: Checkout &amp; payments are down\n") {
		t.Fatalf("bot posted %q, want the summary once, escaped", msgs)
	}
	summaryTS := h.fake.Messages(ch.ID)[0].TS
	if pins := h.fake.Pins(ch.ID); !slices.Equal(pins, []string{summaryTS}) {
		t.Errorf("pins = %v, want the summary %s", pins, summaryTS)
	}
	if got := h.botMessages(h.announce); len(got) != 1 || !strings.HasPrefix(got[0], "INC-1 declared: Checkout &amp; payments are down (SEV2, real) by @alice") {
		t.Errorf("announcements = %q", got)
	}

	// The channel talks; everything lands in the timeline as it happens.
	first := h.say(alice, ch.ID, "payments API returns 502 since 09:12 &lt;- see <https://grafana.example/d/1|the dashboard>")
	reply1, d, err := h.fake.Reply(h.ctx, bob, ch.ID, first, "I see it too <@U0ALICE>")
	h.ok("thread reply", d, err)
	typo := h.say(bob, ch.ID, "rolling back teh deploy")
	h.acked("edit")(h.fake.Edit(h.ctx, ch.ID, typo, "rolling back the deploy"))
	h.acked("unfurl")(h.fake.Unfurl(h.ctx, ch.ID, first))
	noise := h.say(carol, ch.ID, "wrong channel, sorry")
	h.acked("delete")(h.fake.Delete(h.ctx, ch.ID, noise))
	_, d, err = h.fake.ShareFile(h.ctx, carol, ch.ID, "error-rate.png", "")
	h.ok("file", d, err)
	h.acked("key reaction")(h.fake.React(h.ctx, bob, ch.ID, first, "pushpin"))
	h.acked("other reaction")(h.fake.React(h.ctx, bob, ch.ID, first, "eyes"))
	h.acked("pin")(h.fake.Pin(h.ctx, alice, ch.ID, typo))
	// The bot's own summary comes back as an event: on the record, never
	// answered.
	posted := len(h.fake.Messages(ch.ID))
	h.acked("echo")(h.fake.Echo(h.ctx, ch.ID, summaryTS))
	if h.deliver() != 0 || len(h.fake.Messages(ch.ID)) != posted {
		t.Errorf("the bot answered its own message")
	}

	tl := h.timeline("INC-1")
	want := []entry{
		{bot.EventMessage, "alice", "payments API returns 502 since 09:12 <- see the dashboard (https://grafana.example/d/1)"},
		{bot.EventMessage, "bob", "I see it too @alice"},
		{bot.EventMessage, "bob", "rolling back teh deploy"},
		{bot.EventEdit, "bob", "rolling back the deploy"},
		{bot.EventMessage, "Carol Shaw", "wrong channel, sorry"},
		{bot.EventDelete, "Carol Shaw", "wrong channel, sorry"},
		{bot.EventFile, "Carol Shaw", "error-rate.png"},
		{bot.EventKey, "bob", "marked a message as a key event (:pushpin:)"},
		{bot.EventKey, "alice", "pinned: rolling back the deploy"},
		{bot.EventBot, "debrief", "INC-1: Checkout & payments are down\n"},
	}
	var got []entry
	for _, e := range entries(tl) {
		if e.kind != bot.EventLifecycle && !(e.kind == bot.EventBot && strings.HasPrefix(e.text, "opened channel")) {
			got = append(got, e)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("timeline:\n%v\nwant:\n%v", got, want)
	}
	for i := range want {
		g := got[i]
		if want[i].kind == bot.EventBot {
			g.text = g.text[:min(len(g.text), len(want[i].text))]
		}
		if g != want[i] {
			t.Errorf("timeline[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	if ev, _ := find(tl, bot.EventMessage, "I see it too"); ev.ThreadID != first || ev.MessageID != reply1 {
		t.Errorf("thread reply: thread %q message %q, want %s and %s", ev.ThreadID, ev.MessageID, first, reply1)
	}
	if ev, _ := find(tl, bot.EventFile, "error-rate.png"); !strings.HasPrefix(ev.URL, "https://fake.slack.com/files/") {
		t.Errorf("file URL = %q, want the permalink", ev.URL)
	}
	if ev, _ := find(tl, bot.EventEdit, "rolling back"); ev.MessageID != typo {
		t.Errorf("edit MessageID = %q, want the edited message %s", ev.MessageID, typo)
	}
	if ev, _ := find(tl, bot.EventMessage, "payments API"); ev.PlatformAt.IsZero() || ev.Author.Platform != bot.Slack {
		t.Errorf("message: %+v, want Slack's time and author", ev)
	}

	// Severity: the topic and the announcement follow.
	if kind, reply := h.command(alice, ch.ID, "sev 1"); kind != "in_channel" || reply != "INC-1 is now SEV1 (was SEV2)." {
		t.Errorf("sev = %s %q", kind, reply)
	}
	h.deliver()
	if c, _ := h.fake.Channel(ch.ID); !strings.HasPrefix(c.Topic, "INC-1 | SEV1 | investigating") {
		t.Errorf("topic after sev = %q", c.Topic)
	}
	if got := h.botMessages(h.announce); len(got) != 2 || !strings.Contains(got[1], "severity SEV2 -&gt; SEV1 by @alice") {
		t.Errorf("announcements = %q", got)
	}

	// A role brings the person into the channel; a mention arrives escaped.
	if kind, reply := h.command(alice, ch.ID, "role comms <@U0BOB|bob.dylan>"); kind != "in_channel" || reply != "@bob is now the comms of INC-1." {
		t.Errorf("role = %s %q, want bob by his display name", kind, reply)
	}
	// Without a name in the mention, or with a display name of two words,
	// the person is named by their one-word handle.
	if kind, reply := h.command(alice, ch.ID, "role scribe <@U0CAROL>"); kind != "in_channel" || reply != "@carol is now the scribe of INC-1." {
		t.Errorf("role = %s %q, want carol by her handle", kind, reply)
	}
	h.deliver()
	if c, _ := h.fake.Channel(ch.ID); !slices.Contains(c.Members, bob) {
		t.Errorf("bob not invited: %v", c.Members)
	}

	// Times are shown in the reader's zone from their Slack profile.
	if kind, reply := h.command(bob, ch.ID, "timeline"); kind != "ephemeral" || !strings.Contains(reply, "times in America/New_York") {
		t.Errorf("timeline for bob = %s %q", kind, firstLine(reply))
	}

	if kind, reply := h.command(alice, ch.ID, "resolve rolled back to v41"); kind != "in_channel" || !strings.HasPrefix(reply, "INC-1 is resolved.") {
		t.Errorf("resolve = %s %q", kind, reply)
	}
	h.deliver()
	if got := h.botMessages(h.announce); len(got) != 3 || !strings.HasPrefix(got[2], "INC-1 resolved") {
		t.Errorf("announcements = %q", got)
	}

	// The post-mortem's calendar invite arrives as a file in the channel.
	if kind, reply := h.command(alice, ch.ID, "postmortem schedule 2026-03-04 14:00 Europe/Berlin 45m"); kind != "in_channel" || !strings.Contains(reply, "Post-mortem of INC-1 scheduled") {
		t.Errorf("schedule = %s %q", kind, reply)
	}
	h.deliver()
	var ics *slacktest.File
	for _, m := range h.fake.Messages(ch.ID) {
		for _, f := range m.Files {
			if strings.HasSuffix(f.Name, ".ics") && m.User == h.fake.BotUserID {
				ics = &f
			}
		}
	}
	if ics == nil || !strings.Contains(ics.Content, "BEGIN:VCALENDAR") {
		t.Errorf("no calendar invite file in the channel; bot posted %q", h.botMessages(ch.ID))
	}

	// Close is refused in the channel, for everyone, with the reasons.
	kind, reply = h.command(alice, ch.ID, "close")
	if kind != "in_channel" || !strings.HasPrefix(reply, "Cannot close INC-1") || !strings.Contains(reply, "post-mortem") {
		t.Errorf("close = %s %q", kind, reply)
	}
	if h.incident("INC-1").Status != bot.StatusReviewScheduled {
		t.Errorf("status after a refused close = %s", h.incident("INC-1").Status)
	}
	if n := len(h.effects()); n != 0 {
		t.Errorf("%d effects left in the outbox: %+v", n, h.effects())
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
