package discord_test

import (
	"strings"
	"testing"

	"github.com/debrief/debrief/adapters/discord/discordtest"
	"github.com/debrief/debrief/bot"
)

// TestIncidentOverGateway runs a whole incident with the commands coming
// over the gateway (INTERACTION_CREATE, answered on the callback
// endpoint).
func TestIncidentOverGateway(t *testing.T) { runIncident(t, newHarness(t, overGateway)) }

// TestIncidentOverHTTP runs the same incident with the commands on POST
// /discord/interactions, signed by the fake like Discord signs; messages
// still come over the gateway.
func TestIncidentOverHTTP(t *testing.T) { runIncident(t, newHarness(t, overHTTP)) }

// runIncident is the scenario both transports run: declare, talk, edit,
// delete, thread, file, key reaction and pin, severity, roles, zones,
// resolve, the meeting invite, and a close that is refused with its
// reasons.
func runIncident(t *testing.T, h *harness) {
	general := h.fake.General()
	str, num, usr := discordtest.Str, discordtest.Int, discordtest.UserOpt

	// Declare: the answer is immediate, the channel comes from the outbox.
	kind, reply := h.invoke(h.alice, general, cmd("declare", str("title", "Checkout & payments are down"), num("severity", 2)))
	if kind != "in_channel" || !strings.HasPrefix(reply, "Declared INC-1: Checkout & payments are down (SEV2).") {
		t.Fatalf("declare = %s %q", kind, reply)
	}
	inc := h.incident("INC-1")
	if inc.Title != "Checkout & payments are down" || inc.Severity != bot.SEV2 || inc.Kind != bot.KindReal {
		t.Errorf("declared %q %s %s", inc.Title, inc.Severity, inc.Kind)
	}
	if c, _ := inc.Role(bot.Commander); c != (bot.User{Platform: bot.Discord, ID: h.alice, Name: "alice"}) {
		t.Errorf("commander = %+v, want alice as a Discord user", c)
	}
	if inc.Origin != (bot.Channel{Platform: bot.Discord, ID: general}) {
		t.Errorf("origin = %+v", inc.Origin)
	}
	if _, ok := h.fake.ChannelByName("inc-1-checkout-payments-are-down"); ok {
		t.Errorf("a channel exists before the outbox ran")
	}
	h.deliver()

	ch, ok := h.fake.ChannelByName("inc-1-checkout-payments-are-down")
	if !ok {
		t.Fatalf("no incident channel; channels %+v", h.fake.Channels())
	}
	if got := h.incident("INC-1").Channels[bot.Discord]; got != ch.ID {
		t.Errorf("incident channel = %q, want %s", got, ch.ID)
	}
	if ch.ParentID != h.category || ch.Type != discordtest.TypeText {
		t.Errorf("channel type %d under %q, want a text channel under the category %s", ch.Type, ch.ParentID, h.category)
	}
	if want := "INC-1 | SEV2 | investigating | IC @alice"; ch.Topic != want {
		t.Errorf("topic = %q, want %q", ch.Topic, want)
	}
	if o, ok := ch.Overwrite(h.alice); !ok || o.Allow&discordtest.PermViewChannel == 0 || o.Allow&discordtest.PermSendMessages == 0 {
		t.Errorf("declarer not given access: %+v", ch.Overwrites)
	}
	msgs := h.fake.BotMessages(ch.ID)
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0], "INC-1: Checkout & payments are down\n") {
		t.Fatalf("bot posted %q, want the summary once", msgs)
	}
	summaryID := h.fake.Messages(ch.ID)[0].ID
	if pins := h.fake.Pins(ch.ID); len(pins) != 1 || pins[0] != summaryID {
		t.Errorf("pins = %v, want the summary %s", pins, summaryID)
	}
	if got := h.fake.BotMessages(h.announce); len(got) != 1 || got[0] != "INC-1 declared: Checkout & payments are down (SEV2, real) by @alice" {
		t.Errorf("announcements = %q", got)
	}

	// The channel talks; everything lands in the timeline as it happens.
	first := h.say(h.alice, ch.ID, "payments API returns 502 since 09:12 <- see <#"+general+">")
	thread, err := h.fake.StartThread(h.ctx, h.bob, ch.ID, first, "502s")
	h.do("thread", err)
	reply1 := h.say(h.bob, thread, "I see it too <@"+h.alice+">")
	typo := h.say(h.bob, ch.ID, "rolling back teh deploy")
	h.do("edit", h.fake.Edit(h.ctx, ch.ID, typo, "rolling back the deploy"))
	h.do("unfurl", h.fake.Unfurl(h.ctx, ch.ID, first))
	noise := h.say(h.carol, ch.ID, "wrong channel, sorry")
	h.do("delete", h.fake.Delete(h.ctx, ch.ID, noise))
	_, err = h.fake.ShareFile(h.ctx, h.carol, ch.ID, "error-rate.png", "")
	h.do("file", err)
	h.do("key reaction", h.fake.React(h.ctx, h.bob, ch.ID, first, "📌"))
	h.do("other reaction", h.fake.React(h.ctx, h.bob, ch.ID, first, "👀"))
	h.do("pin", h.fake.Pin(h.ctx, h.alice, ch.ID, typo))
	// The bot's own posts came back as events: on the record, never
	// answered.
	posted := len(h.fake.Messages(ch.ID))
	if h.deliver() != 0 || len(h.fake.Messages(ch.ID)) != posted {
		t.Errorf("the bot answered something")
	}

	tl := h.timeline("INC-1")
	want := []entry{
		{bot.EventBot, "debrief", "INC-1: Checkout & payments are down\n"},
		{bot.EventBot, "debrief", "pinned: INC-1: Checkout & payments are down\n"},
		{bot.EventMessage, "alice", "payments API returns 502 since 09:12 <- see #general"},
		{bot.EventMessage, "bob", "I see it too @alice"},
		{bot.EventMessage, "bob", "rolling back teh deploy"},
		{bot.EventEdit, "bob", "rolling back the deploy"},
		{bot.EventMessage, "Carol Shaw", "wrong channel, sorry"},
		{bot.EventDelete, "Carol Shaw", "wrong channel, sorry"},
		{bot.EventFile, "Carol Shaw", "error-rate.png"},
		{bot.EventKey, "bob", "marked a message as a key event (📌)"},
		{bot.EventKey, "alice", "pinned: rolling back the deploy"},
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
	if ev, _ := find(tl, bot.EventMessage, "I see it too"); ev.ThreadID != thread || ev.MessageID != reply1 {
		t.Errorf("thread message: thread %q message %q, want %s and %s", ev.ThreadID, ev.MessageID, thread, reply1)
	}
	// The attachment's CDN URL is signed and dies within a day; the
	// message's link does not.
	if ev, _ := find(tl, bot.EventFile, "error-rate.png"); ev.URL != "https://discord.com/channels/"+h.fake.GuildID+"/"+ch.ID+"/"+ev.MessageID || ev.MessageID == "" {
		t.Errorf("file URL = %q, want the link of its message", ev.URL)
	}
	if ev, _ := find(tl, bot.EventEdit, "rolling back"); ev.MessageID != typo || ev.PlatformAt.IsZero() {
		t.Errorf("edit: %+v, want message %s with Discord's edit time", ev, typo)
	}
	if ev, _ := find(tl, bot.EventKey, "pinned: rolling back"); ev.MessageID != typo {
		t.Errorf("pin MessageID = %q, want the pinned message %s", ev.MessageID, typo)
	}
	if ev, _ := find(tl, bot.EventMessage, "payments API"); ev.PlatformAt.IsZero() || ev.Author.Platform != bot.Discord || ev.Author.ID != h.alice {
		t.Errorf("message: %+v, want Discord's time and author", ev)
	}

	// Severity: the topic and the announcement follow.
	if kind, reply := h.invoke(h.alice, ch.ID, cmd("sev", num("severity", 1))); kind != "in_channel" || reply != "INC-1 is now SEV1 (was SEV2)." {
		t.Errorf("sev = %s %q", kind, reply)
	}
	h.deliver()
	if c, _ := h.fake.Channel(ch.ID); !strings.HasPrefix(c.Topic, "INC-1 | SEV1 | investigating") {
		t.Errorf("topic after sev = %q", c.Topic)
	}
	if got := h.fake.BotMessages(h.announce); len(got) != 2 || !strings.Contains(got[1], "severity SEV2 -> SEV1 by @alice") {
		t.Errorf("announcements = %q", got)
	}

	// A role gives the person access; a person is named by a one-word
	// name, as on Slack: bob's nickname, carol's username (her display
	// name has a space).
	if kind, reply := h.invoke(h.alice, ch.ID, cmd("role", str("role", "comms"), usr("user", h.bob))); kind != "in_channel" || reply != "@bob is now the comms of INC-1." {
		t.Errorf("role = %s %q", kind, reply)
	}
	if kind, reply := h.invoke(h.alice, thread, cmd("role", str("role", "scribe"), usr("user", h.carol))); kind != "in_channel" || reply != "@carol is now the scribe of INC-1." {
		t.Errorf("role in the thread = %s %q, want the thread's incident", kind, reply)
	}
	h.deliver()
	if c, _ := h.fake.Channel(ch.ID); c.Overwrites == nil {
		t.Errorf("no overwrites")
	} else if _, ok := c.Overwrite(h.bob); !ok {
		t.Errorf("bob not given access: %+v", c.Overwrites)
	}

	// Discord has no user zones: times are in DEBRIEF_TZ until the person
	// sets one.
	if kind, reply := h.invoke(h.bob, ch.ID, cmd("timeline")); kind != "ephemeral" || !strings.Contains(reply, "times in UTC") {
		t.Errorf("timeline for bob = %s %q", kind, firstLine(reply))
	}
	if kind, reply := h.invoke(h.bob, ch.ID, cmd("tz", str("zone", "America/New_York"))); kind != "ephemeral" || !strings.Contains(reply, "America/New_York") {
		t.Errorf("tz = %s %q", kind, reply)
	}
	if kind, reply := h.invoke(h.bob, ch.ID, cmd("timeline")); kind != "ephemeral" || !strings.Contains(reply, "times in America/New_York") {
		t.Errorf("timeline for bob = %s %q", kind, firstLine(reply))
	}

	if kind, reply := h.invoke(h.alice, ch.ID, cmd("resolve", str("summary", "rolled back to v41"))); kind != "in_channel" || !strings.HasPrefix(reply, "INC-1 is resolved.") {
		t.Errorf("resolve = %s %q", kind, reply)
	}
	h.deliver()
	if got := h.fake.BotMessages(h.announce); len(got) != 3 || !strings.HasPrefix(got[2], "INC-1 resolved") {
		t.Errorf("announcements = %q", got)
	}

	// The post-mortem's calendar invite arrives as a file in the channel.
	if kind, reply := h.invoke(h.alice, ch.ID, cmd("postmortem schedule", str("date", "2026-03-04"), str("time", "14:00"),
		str("zone", "Europe/Berlin"), str("duration", "45m"))); kind != "in_channel" || !strings.Contains(reply, "Post-mortem of INC-1 scheduled") {
		t.Errorf("schedule = %s %q", kind, reply)
	}
	h.deliver()
	var ics *discordtest.Attachment
	for _, m := range h.fake.Messages(ch.ID) {
		for _, a := range m.Attachments {
			if strings.HasSuffix(a.Filename, ".ics") && m.AuthorID == h.fake.BotUserID {
				ics = &a
			}
		}
	}
	if ics == nil || !strings.Contains(ics.Content, "BEGIN:VCALENDAR") {
		t.Errorf("no calendar invite file in the channel; bot posted %q", h.fake.BotMessages(ch.ID))
	}

	// Close is refused in the channel, for everyone, with the reasons.
	kind, reply = h.invoke(h.alice, ch.ID, cmd("close"))
	if kind != "in_channel" || !strings.HasPrefix(reply, "Cannot close INC-1") || !strings.Contains(reply, "post-mortem") {
		t.Errorf("close = %s %q", kind, reply)
	}
	if h.incident("INC-1").Status != bot.StatusReviewScheduled {
		t.Errorf("status after a refused close = %s", h.incident("INC-1").Status)
	}
	h.deliver()
	if n := len(h.effects()); n != 0 {
		t.Errorf("%d effects left in the outbox: %+v", n, h.effects())
	}
}
