package discord_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/discord"
	"github.com/debrief/debrief/adapters/discord/discordtest"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/store/bolt/bolttest"
	"github.com/debrief/debrief/workflows"
)

// okCalls counts the calls of route that succeeded.
func (h *harness) okCalls(route string) int {
	n := 0
	for _, c := range h.fake.Calls(route) {
		if c.Status < 300 {
			n++
		}
	}
	return n
}

func effectOf(t *testing.T, effects []store.Effect, kind store.EffectKind) store.Effect {
	t.Helper()
	for _, e := range effects {
		if e.Kind == kind {
			return e
		}
	}
	t.Fatalf("no %s effect in %+v", kind, effects)
	return store.Effect{}
}

// incidentChannels returns the channels named like INC-1's.
func (h *harness) incidentChannels() []discordtest.Channel {
	var out []discordtest.Channel
	for _, c := range h.fake.Channels() {
		if strings.HasPrefix(c.Name, "inc-1") {
			out = append(out, c)
		}
	}
	return out
}

// TestRateLimits: Discord answers 429 with retry_after (seconds, a
// fraction), or, from Cloudflare in front of it, with only a Retry-After
// header; the outbox waits exactly that long, and when the limits pass
// every effect is delivered once.
func TestRateLimits(t *testing.T) {
	h := newHarness(t, overHTTP)
	h.fake.Inject(discordtest.Fault{Route: discordtest.RouteCreateChannel, Times: 1, Status: http.StatusTooManyRequests, RetryAfter: 1.5})
	h.invoke(h.alice, h.fake.General(), cmd("declare", discordtest.Str("title", "Checkout is down")))
	h.deliver()
	create := effectOf(t, h.effects(), (workflows.CreateChannel{}).EffectKind())
	if want := h.clock.Now().Add(1500 * time.Millisecond); !create.NextAt.Equal(want) {
		t.Errorf("after retry_after 1.5, next attempt at %s, want %s", create.NextAt, want)
	}
	calls := len(h.fake.Calls(discordtest.RouteCreateChannel))
	h.clock.Advance(1499 * time.Millisecond)
	h.deliver()
	if got := len(h.fake.Calls(discordtest.RouteCreateChannel)); got != calls {
		t.Errorf("channel creation tried again before retry_after passed")
	}

	// Then the summary is limited by Cloudflare: no JSON, Retry-After: 3.
	h.fake.Inject(discordtest.Fault{Route: discordtest.RouteCreateMessage, Times: 1, Status: http.StatusTooManyRequests, RetryAfter: 3, NoBody: true})
	h.clock.Advance(time.Millisecond)
	h.deliver()
	post := effectOf(t, h.effects(), (workflows.Post{}).EffectKind())
	if want := h.clock.Now().Add(3 * time.Second); !post.NextAt.Equal(want) {
		t.Errorf("after Retry-After: 3, the post waits until %s, want %s", post.NextAt, want)
	}
	// And the pin by a global limit.
	h.fake.Inject(discordtest.Fault{Route: discordtest.RoutePin, Times: 1, Status: http.StatusTooManyRequests, RetryAfter: 0.25, Global: true})
	h.clock.Advance(3 * time.Second)
	h.deliver()
	pin := effectOf(t, h.effects(), (workflows.PinMessage{}).EffectKind())
	if want := h.clock.Now().Add(250 * time.Millisecond); !pin.NextAt.Equal(want) {
		t.Errorf("after a global retry_after 0.25, the pin waits until %s, want %s", pin.NextAt, want)
	}
	h.clock.Advance(250 * time.Millisecond)
	h.deliver()

	if n := len(h.effects()); n != 0 {
		t.Fatalf("%d effects left: %+v", n, h.effects())
	}
	chs := h.incidentChannels()
	if len(chs) != 1 {
		t.Fatalf("incident channels %+v, want one", chs)
	}
	if msgs := h.fake.BotMessages(chs[0].ID); len(msgs) != 1 {
		t.Errorf("summary posted %d times", len(msgs))
	}
	if pins := h.fake.Pins(chs[0].ID); len(pins) != 1 {
		t.Errorf("pins = %v", pins)
	}
	if got := h.fake.BotMessages(h.announce); len(got) != 1 {
		t.Errorf("announcements = %q, want one", got)
	}
	for route, want := range map[string]int{discordtest.RouteCreateChannel: 1, discordtest.RouteCreateMessage: 2, discordtest.RoutePin: 1, discordtest.RouteEditChannel: 1} {
		if got := h.okCalls(route); got != want {
			t.Errorf("%s succeeded %d times, want %d", route, got, want)
		}
	}
}

// TestOutage: Discord answers 500s. The incident is declared and recorded
// at once (the answer is the HTTP response), effects are retried with
// backoff, and when Discord is back everything goes out once.
func TestOutage(t *testing.T) {
	h := newHarness(t, overHTTP)
	h.fake.Inject(discordtest.Fault{Times: -1, Status: http.StatusInternalServerError})
	kind, reply := h.invoke(h.alice, h.fake.General(), cmd("declare", discordtest.Str("title", "Checkout is down"), discordtest.Int("severity", 1)))
	if kind != "in_channel" || !strings.HasPrefix(reply, "Declared INC-1") {
		t.Fatalf("declare during an outage = %s %q", kind, reply)
	}
	for range 3 {
		h.deliver()
		h.clock.Advance(10 * time.Minute)
	}
	if len(h.incidentChannels()) != 0 {
		t.Fatalf("a channel during the outage")
	}
	if e := effectOf(t, h.effects(), (workflows.CreateChannel{}).EffectKind()); e.Attempts != 3 || e.LastError == "" {
		t.Errorf("create_channel attempts = %d (%q), want 3", e.Attempts, e.LastError)
	}
	h.fake.ClearFaults()
	h.deliver()
	if n := len(h.effects()); n != 0 {
		t.Fatalf("%d effects left: %+v", n, h.effects())
	}
	chs := h.incidentChannels()
	if len(chs) != 1 || len(h.fake.BotMessages(chs[0].ID)) != 1 || len(h.fake.Pins(chs[0].ID)) != 1 || !strings.HasPrefix(chs[0].Topic, "INC-1 | SEV1") {
		t.Errorf("after the outage: channels %+v", chs)
	}
}

// TestLostAnswers: Discord acted but its answer was lost (a 502 after
// the fact). The retry finds the channel by the effect key in its topic,
// and the summary by its nonce: one channel, one summary.
func TestLostAnswers(t *testing.T) {
	for _, route := range []string{discordtest.RouteCreateChannel, discordtest.RouteCreateMessage} {
		t.Run(route, func(t *testing.T) {
			h := newHarness(t, overHTTP)
			// Someone's own channel of the same name is left alone.
			other := h.fake.AddChannel("inc-1-checkout-is-down", "")
			h.fake.Inject(discordtest.Fault{Route: route, Times: 1, Status: http.StatusBadGateway, AfterApply: true})
			h.invoke(h.alice, h.fake.General(), cmd("declare", discordtest.Str("title", "Checkout is down")))
			h.deliver()
			h.clock.Advance(time.Minute)
			h.deliver()
			chs := h.incidentChannels()
			if len(chs) != 2 {
				t.Fatalf("channels %+v, want the other one and one incident channel", chs)
			}
			id := h.incident("INC-1").Channels[bot.Discord]
			if id == other || id != chs[1].ID {
				t.Errorf("incident channel %s, want the new one %s", id, chs[1].ID)
			}
			if msgs := h.fake.BotMessages(id); len(msgs) != 1 {
				t.Errorf("summary posted %d times: %q", len(msgs), msgs)
			}
			if len(h.effects()) != 0 {
				t.Errorf("effects left: %+v", h.effects())
			}
		})
	}
}

// TestPermanentFailures: what retrying cannot fix is dropped and noted in
// the timeline, and the rest goes on: an unknown user does not keep the
// others out, a channel deleted by hand takes no topic, a missing
// permission says so; a 503 is retried.
func TestPermanentFailures(t *testing.T) {
	h, ch := declared(t, overHTTP)
	gone := "1100000000000000042" // not in the guild
	h.invoke(h.alice, ch, cmd("role", discordtest.Str("role", "scribe"), discordtest.UserOpt("user", gone)))
	h.invoke(h.alice, ch, cmd("role", discordtest.Str("role", "comms"), discordtest.UserOpt("user", h.bob)))
	h.deliver()
	c, _ := h.fake.Channel(ch)
	if _, ok := c.Overwrite(h.bob); !ok {
		t.Errorf("bob not given access: %+v", c.Overwrites)
	}
	if _, ok := find(h.timeline("INC-1"), bot.EventBot, "could not invite on discord"); !ok {
		t.Errorf("dropped invite not noted: %v", entries(h.timeline("INC-1")))
	}

	h.fake.GrantPermissions(discord.BotPermissionBits &^ discordtest.PermManageChannels)
	h.invoke(h.alice, ch, cmd("status", discordtest.Str("text", "rolling back")))
	h.deliver()
	if _, ok := find(h.timeline("INC-1"), bot.EventBot, "could not topic on discord"); !ok {
		t.Errorf("missing permission not noted: %v", entries(h.timeline("INC-1")))
	}
	h.fake.GrantPermissions(discord.BotPermissionBits)

	h.fake.Inject(discordtest.Fault{Route: discordtest.RouteEditChannel, Times: 1, Status: http.StatusServiceUnavailable})
	h.invoke(h.alice, ch, cmd("status", discordtest.Str("text", "still rolling back")))
	h.deliver()
	if e := effectOf(t, h.effects(), (workflows.SetTopic{}).EffectKind()); e.Attempts != 1 {
		t.Errorf("a 503 is retried: attempts %d", e.Attempts)
	}
	h.clock.Advance(time.Hour)
	h.deliver()

	// Someone deletes the channel by hand before the topic goes out.
	h.invoke(h.alice, ch, cmd("status", discordtest.Str("text", "where did it go")))
	h.fake.DeleteChannel(ch)
	h.deliver()
	if len(h.effects()) != 0 {
		t.Errorf("effects left: %+v", h.effects())
	}
	if n := strings.Count(strings.Join(texts(h.timeline("INC-1")), "\n"), "could not topic on discord"); n != 2 {
		t.Errorf("%d dropped topics noted, want 2 (missing permission, deleted channel)", n)
	}
}

func texts(tl []bot.TimelineEvent) []string {
	var out []string
	for _, ev := range tl {
		out = append(out, ev.Text)
	}
	return out
}

// TestTopicTruncated: Discord refuses topics over 1024 characters; the
// topic is cut instead.
func TestTopicTruncated(t *testing.T) {
	h, ch := declared(t, overGateway)
	h.invoke(h.alice, ch, cmd("status", discordtest.Str("text", strings.Repeat("very long status ", 80))))
	h.deliver()
	c, _ := h.fake.Channel(ch)
	if n := len([]rune(c.Topic)); n != 1024 || !strings.HasSuffix(c.Topic, "…") {
		t.Errorf("topic of %d characters: %q", n, c.Topic)
	}
}

// TestLongPost: a post longer than a message is cut, and the whole text
// attached, in one request.
func TestLongPost(t *testing.T) {
	h, ch := declared(t, overGateway)
	long := strings.Repeat("a line of the digest\n", 150)
	id, err := h.dc.Post(h.ctx, "effect-long", ch, long)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range h.fake.Messages(ch) {
		if m.ID != id {
			continue
		}
		if len([]rune(m.Content)) > 2000 || !strings.HasSuffix(m.Content, "(the full text is attached)") {
			t.Errorf("content of %d characters: %q", len([]rune(m.Content)), m.Content[max(0, len(m.Content)-60):])
		}
		if len(m.Attachments) != 1 || m.Attachments[0].Filename != "message.txt" || m.Attachments[0].Content != long {
			t.Errorf("attachments %+v, want message.txt with the whole text", m.Attachments)
		}
		return
	}
	t.Errorf("message %s not posted", id)
}

// TestArchiveOnClose: Discord has no archived channels; a closed
// incident's channel is locked: nobody may post or start threads in it
// (the responders given access included), the bot still may, and it stays
// readable. Locking again changes nothing.
func TestArchiveOnClose(t *testing.T) {
	h := newHarness(t, overGateway)
	h.svc.Config.Policy.SkipReview = map[bot.Severity]bool{bot.SEV4: true}
	h.invoke(h.alice, h.fake.General(), cmd("declare", discordtest.Str("title", "Disk at 90%"), discordtest.Int("severity", 4), discordtest.Str("kind", "near-miss")))
	h.deliver()
	ch := h.incident("INC-1").Channels[bot.Discord]
	h.invoke(h.alice, ch, cmd("role", discordtest.Str("role", "comms"), discordtest.UserOpt("user", h.bob)))
	h.invoke(h.alice, ch, cmd("resolve"))
	if kind, reply := h.invoke(h.alice, ch, cmd("close")); kind != "in_channel" || !strings.Contains(reply, "closed") {
		t.Fatalf("close = %s %q", kind, reply)
	}
	h.deliver()
	c, _ := h.fake.Channel(ch)
	lock := discordtest.PermSendMessages | discordtest.PermSendInThreads | discordtest.PermCreatePublicThreads
	if o, ok := c.Overwrite(h.fake.GuildID); !ok || o.Deny&lock != lock || o.Deny&discordtest.PermViewChannel != 0 {
		t.Errorf("@everyone overwrite %+v, want posting and threads denied, viewing not", o)
	}
	if o, _ := c.Overwrite(h.bob); o.Allow&discordtest.PermSendMessages != 0 || o.Allow&discordtest.PermViewChannel == 0 {
		t.Errorf("bob's overwrite %+v, want posting no longer allowed, viewing still", o)
	}
	ctx, cancel := h.waitCtx()
	defer cancel()
	if _, err := h.fake.Say(ctx, h.bob, ch, "one more thing"); !errors.Is(err, discordtest.ErrForbidden) {
		t.Errorf("posting in a locked channel: %v, want forbidden", err)
	}
	if _, err := h.dc.Post(ctx, "after-close", ch, "the write-up is published"); err != nil {
		t.Errorf("the bot cannot post in the locked channel: %v", err)
	}
	calls := len(h.fake.Calls(discordtest.RoutePermission))
	if err := h.dc.Archive(ctx, ch); err != nil {
		t.Errorf("Archive of a locked channel: %v", err)
	}
	if got := len(h.fake.Calls(discordtest.RoutePermission)); got != calls {
		t.Errorf("locking again wrote %d overwrites", got-calls)
	}
}

// TestPrivateCategory: under a category only some may see, the incident
// channel stays private (it takes the category's overwrites), the people
// of the incident are let in, and locking keeps it private.
func TestPrivateCategory(t *testing.T) {
	h := newHarness(t, overGateway)
	h.svc.Config.Policy.SkipReview = map[bot.Severity]bool{bot.SEV4: true}
	h.fake.SetOverwrite(h.category, discordtest.Overwrite{ID: h.fake.GuildID, Type: discordtest.OverwriteRole, Deny: discordtest.PermViewChannel})
	h.fake.SetOverwrite(h.category, discordtest.Overwrite{ID: h.fake.BotUserID, Type: discordtest.OverwriteMember,
		Allow: discordtest.PermViewChannel | discordtest.PermSendMessages | discordtest.PermReadMessageHistory})
	h.invoke(h.alice, h.fake.General(), cmd("declare", discordtest.Str("title", "Leaked key"), discordtest.Int("severity", 4)))
	h.deliver()
	ch := h.incident("INC-1").Channels[bot.Discord]
	c, _ := h.fake.Channel(ch)
	if o, _ := c.Overwrite(h.fake.GuildID); o.Deny&discordtest.PermViewChannel == 0 {
		t.Errorf("the channel is visible to everyone: %+v", c.Overwrites)
	}
	if o, _ := c.Overwrite(h.alice); o.Allow&discordtest.PermViewChannel == 0 {
		t.Errorf("the declarer cannot see it: %+v", c.Overwrites)
	}
	h.invoke(h.alice, ch, cmd("resolve"))
	h.invoke(h.alice, ch, cmd("close"))
	h.deliver()
	c, _ = h.fake.Channel(ch)
	if o, _ := c.Overwrite(h.fake.GuildID); o.Deny&(discordtest.PermViewChannel|discordtest.PermSendMessages) != discordtest.PermViewChannel|discordtest.PermSendMessages {
		t.Errorf("after the lock, @everyone %+v, want viewing and posting denied", o)
	}
}

// TestCommandsRegistered: Start registers /incident for the guild with a
// bulk overwrite that the fake accepts only if Discord would (names,
// lengths, required options first, at most 8000 characters); starting
// again overwrites it with the same definition.
func TestCommandsRegistered(t *testing.T) {
	h := newHarness(t, overGateway)
	first, n := h.fake.Commands()
	if n != 1 {
		t.Fatalf("commands overwritten %d times, want once", n)
	}
	var cmds []struct {
		Name    string `json:"name"`
		Options []struct {
			Name string `json:"name"`
		} `json:"options"`
	}
	if err := json.Unmarshal(first, &cmds); err != nil || len(cmds) != 1 || cmds[0].Name != "incident" || len(cmds[0].Options) < 15 {
		t.Fatalf("registered %s", first)
	}
	// A restart registers the same definition again.
	again, err := discord.New(h.svc, discord.Config{BotToken: h.fake.BotToken, AppID: h.fake.AppID, GuildID: h.fake.GuildID, APIURL: h.fake.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	if err := again.Start(h.ctx); err != nil {
		t.Fatal(err)
	}
	second, n := h.fake.Commands()
	if n != 2 || !sameCommands(t, first, second) {
		t.Errorf("after a restart: %d overwrites, same definition %t", n, sameCommands(t, first, second))
	}
}

// sameCommands compares two registrations without the IDs Discord gives.
func sameCommands(t *testing.T, a, b json.RawMessage) bool {
	strip := func(raw json.RawMessage) string {
		var v []map[string]any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		for _, c := range v {
			delete(c, "id")
			delete(c, "version")
		}
		out, _ := json.Marshal(v)
		return string(out)
	}
	return strip(a) == strip(b)
}

// TestStartRefused: a token Discord refuses stops debrief at start,
// without the token in the error; a guild that did not install the app
// with the applications.commands scope too.
func TestStartRefused(t *testing.T) {
	fake := discordtest.New()
	defer fake.Close()
	db := bolttest.Open(t)
	svc := &workflows.Service{Store: db, Config: workflows.DefaultConfig()}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	for _, tc := range []struct {
		name, token, guild, want string
	}{
		{"refused token", "secret-wrong-token", fake.GuildID, "the bot token was refused"},
		{"app not in the guild", fake.BotToken, "1100000000000000099", "applications.commands"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dc, err := discord.New(svc, discord.Config{BotToken: tc.token, AppID: fake.AppID, GuildID: tc.guild, APIURL: fake.APIURL()})
			if err != nil {
				t.Fatal(err)
			}
			err = dc.Start(ctx)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "secret-") {
				t.Errorf("Start = %v, want an error saying %q, without the token", err, tc.want)
			}
		})
	}
}
