package slack_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/slack/slacktest"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows"
)

// okCalls counts the calls of method that succeeded.
func (h *harness) okCalls(method string) int {
	n := 0
	for _, c := range h.fake.Calls(method) {
		if c.Status == http.StatusOK && c.Error == "" {
			n++
		}
	}
	return n
}

// TestOutage: Slack answers 500s, then 429s with Retry-After. The incident
// is declared and recorded at once; the outbox waits exactly as long as
// Slack asks; when Slack is back every effect is delivered once: one
// channel, one summary, one pin, one announcement.
func TestOutage(t *testing.T) {
	h := newHarness(t, overHTTP)
	h.fake.Inject(slacktest.Fault{Times: -1, Status: http.StatusInternalServerError})

	kind, reply := h.command(alice, h.fake.General(), "declare Checkout is down sev1")
	if kind != "in_channel" || !strings.HasPrefix(reply, "Declared INC-1") {
		t.Fatalf("declare during an outage = %s %q", kind, reply)
	}
	if _, ok := find(h.timeline("INC-1"), bot.EventLifecycle, "declared INC-1"); !ok {
		t.Fatalf("the declaration is not on the record")
	}
	// users.info failed too: the name comes from the command's user_name.
	if c, _ := h.incident("INC-1").Role(bot.Commander); c.Name != "alice" || c.ID != alice {
		t.Errorf("commander during an outage = %+v", c)
	}

	for range 3 {
		h.deliver()
		h.clock.Advance(10 * time.Minute)
	}
	if n := len(h.fake.Channels()); n != 2 {
		t.Fatalf("channels during the outage: %+v", h.fake.Channels())
	}
	for _, e := range h.effects() {
		if e.Kind == (workflows.CreateChannel{}).EffectKind() && e.Attempts != 3 {
			t.Errorf("create_channel attempts = %d, want 3 (one per pass)", e.Attempts)
		}
	}

	// The 500s end; Slack now rate-limits channel creation for 30 s (the
	// announcement, in its own lane, goes out meanwhile).
	h.fake.ClearFaults()
	h.fake.Inject(slacktest.Fault{Method: "conversations.create", Times: 1, Status: http.StatusTooManyRequests, RetryAfter: 30})
	h.deliver()
	now := h.clock.Now()
	create := effectOf(t, h.effects(), (workflows.CreateChannel{}).EffectKind())
	if !create.NextAt.Equal(now.Add(30 * time.Second)) {
		t.Errorf("after a 429 with Retry-After: 30, next attempt at %s, want %s", create.NextAt, now.Add(30*time.Second))
	}
	calls := len(h.fake.Calls("conversations.create"))
	h.clock.Advance(29 * time.Second)
	h.deliver()
	if got := len(h.fake.Calls("conversations.create")); got != calls {
		t.Errorf("conversations.create called %d times before Retry-After passed", got-calls)
	}
	// Then it rate-limits the summary for 7 s.
	h.fake.Inject(slacktest.Fault{Method: "chat.postMessage", Times: 1, Status: http.StatusTooManyRequests, RetryAfter: 7})
	h.clock.Advance(time.Second)
	h.deliver()
	// The summary was rate-limited: everything after it in the channel
	// waits, in order.
	post := effectOf(t, h.effects(), (workflows.Post{}).EffectKind())
	if !post.NextAt.Equal(h.clock.Now().Add(7 * time.Second)) {
		t.Errorf("post next at %s, want %s", post.NextAt, h.clock.Now().Add(7*time.Second))
	}
	h.clock.Advance(7 * time.Second)
	h.deliver()

	if n := len(h.effects()); n != 0 {
		t.Fatalf("%d effects left: %+v", n, h.effects())
	}
	var incs []slacktest.Channel
	for _, c := range h.fake.Channels() {
		if strings.HasPrefix(c.Name, "inc-1") {
			incs = append(incs, c)
		}
	}
	if len(incs) != 1 {
		t.Fatalf("incident channels: %+v, want exactly one", incs)
	}
	ch := incs[0]
	if msgs := h.botMessages(ch.ID); len(msgs) != 1 {
		t.Errorf("summary posted %d times", len(msgs))
	}
	if pins := h.fake.Pins(ch.ID); len(pins) != 1 {
		t.Errorf("pins = %v", pins)
	}
	if !slices.Contains(ch.Members, alice) || !strings.HasPrefix(ch.Topic, "INC-1 | SEV1") {
		t.Errorf("channel = %+v", ch)
	}
	if got := h.botMessages(h.announce); len(got) != 1 {
		t.Errorf("announcements = %q, want one", got)
	}
	for _, m := range []string{"conversations.create", "chat.postMessage", "pins.add", "conversations.invite", "conversations.setTopic"} {
		want := 1
		if m == "chat.postMessage" {
			want = 2 // the summary and the announcement
		}
		if got := h.okCalls(m); got != want {
			t.Errorf("%s succeeded %d times, want %d", m, got, want)
		}
	}
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

// TestCreateChannelLostAnswer: conversations.create took effect but its
// answer was lost, or the process died before it set the purpose. The
// retry finds the channel it made (by its creator and the effect key in
// the purpose) and does not make a second one.
func TestCreateChannelLostAnswer(t *testing.T) {
	for _, f := range []slacktest.Fault{
		{Method: "conversations.create", Times: 1, Status: http.StatusBadGateway, AfterApply: true},
		{Method: "conversations.setPurpose", Times: 1, Status: http.StatusInternalServerError},
		{Method: "conversations.setPurpose", Times: 1, Status: http.StatusInternalServerError, AfterApply: true},
	} {
		t.Run(f.Method, func(t *testing.T) {
			h := newHarness(t, overHTTP)
			h.fake.Inject(f)
			h.command(alice, h.fake.General(), "declare Checkout is down")
			h.deliver()
			h.clock.Advance(time.Minute)
			h.deliver()
			var names []string
			for _, c := range h.fake.Channels() {
				names = append(names, c.Name)
			}
			if !slices.Equal(names, []string{"general", "incidents", "inc-1-checkout-is-down"}) {
				t.Errorf("channels = %q, want one incident channel", names)
			}
			ch, _ := h.fake.ChannelByName("inc-1-checkout-is-down")
			if h.incident("INC-1").Channels[bot.Slack] != ch.ID || !strings.HasPrefix(ch.Purpose, "debrief INC-1 effect-") {
				t.Errorf("channel %+v not adopted", ch)
			}
			if len(h.effects()) != 0 {
				t.Errorf("effects left: %+v", h.effects())
			}
		})
	}
}

// TestChannelNameTaken: a channel of the same name that is someone
// else's, or archived, is left alone; the incident gets name-2.
func TestChannelNameTaken(t *testing.T) {
	h := newHarness(t, overHTTP)
	h.fake.AddChannel("inc-1-checkout-is-down", alice, alice)
	h.command(alice, h.fake.General(), "declare Checkout is down")
	h.deliver()
	ch, ok := h.fake.ChannelByName("inc-1-checkout-is-down-2")
	if !ok || h.incident("INC-1").Channels[bot.Slack] != ch.ID {
		t.Fatalf("channels %+v, want inc-1-checkout-is-down-2 for INC-1", h.fake.Channels())
	}
	if want := "#inc-1-checkout-is-down"; !strings.Contains(h.botMessages(ch.ID)[0], "INC-1: Checkout is down") {
		t.Errorf("summary missing in %s", want)
	}
}

// TestPermanentFailures: what retrying cannot fix is dropped and noted in
// the timeline, the rest goes on: a deactivated user is not invited (the
// others are), an archived channel takes no topic.
func TestPermanentFailures(t *testing.T) {
	h, ch := declared(t, overHTTP)
	h.command(alice, ch, "role scribe <@U0GONE|gone>")
	h.command(alice, ch, "role comms <@U0BOB|bob>")
	h.deliver()
	c, _ := h.fake.Channel(ch)
	if !slices.Contains(c.Members, bob) || slices.Contains(c.Members, gone) {
		t.Errorf("members = %v, want bob and not the deactivated user", c.Members)
	}
	if _, ok := find(h.timeline("INC-1"), bot.EventBot, "could not invite on slack"); !ok {
		t.Errorf("dropped invite not noted: %v", entries(h.timeline("INC-1")))
	}

	// Someone archives the channel by hand; the next topic change fails for
	// good, and says so.
	h.fake.Inject(slacktest.Fault{Method: "conversations.setTopic", Times: 1, Error: "is_archived"})
	h.command(alice, ch, "status rolling back")
	h.deliver()
	if len(h.effects()) != 0 {
		t.Errorf("effects left: %+v", h.effects())
	}
	if _, ok := find(h.timeline("INC-1"), bot.EventBot, "could not topic on slack"); !ok {
		t.Errorf("dropped topic not noted: %v", entries(h.timeline("INC-1")))
	}
	// A revoked token is permanent as well; a plain network-ish failure is
	// not.
	h.fake.Inject(slacktest.Fault{Method: "conversations.setTopic", Times: 1, Status: http.StatusServiceUnavailable})
	h.command(alice, ch, "status still rolling back")
	h.deliver()
	if e := effectOf(t, h.effects(), (workflows.SetTopic{}).EffectKind()); e.Attempts != 1 {
		t.Errorf("a 503 is retried: attempts %d", e.Attempts)
	}
}

// TestTopicTruncated: Slack refuses topics over 250 characters; the topic
// is cut instead.
func TestTopicTruncated(t *testing.T) {
	h, ch := declared(t, overHTTP)
	h.command(alice, ch, "status "+strings.Repeat("very long status ", 30))
	h.deliver()
	c, _ := h.fake.Channel(ch)
	if n := len([]rune(c.Topic)); n != 250 || !strings.HasSuffix(c.Topic, "…") {
		t.Errorf("topic of %d characters: %q", n, c.Topic)
	}
}

// TestArchiveOnClose: a closed incident's channel is archived, when
// configured; the close gate itself is workflows' and relaxed here.
func TestArchiveOnClose(t *testing.T) {
	h := newHarness(t, overHTTP)
	h.svc.Config.Policy.SkipReview = map[bot.Severity]bool{bot.SEV4: true}
	h.command(alice, h.fake.General(), "declare Disk at 90% sev4 near-miss")
	h.deliver()
	ch := h.incident("INC-1").Channels[bot.Slack]
	h.command(alice, ch, "resolve")
	if kind, reply := h.command(alice, ch, "close"); kind != "in_channel" || !strings.Contains(reply, "closed") {
		t.Fatalf("close = %s %q", kind, reply)
	}
	h.deliver()
	if c, _ := h.fake.Channel(ch); !c.Archived {
		t.Errorf("channel not archived after close")
	}
	// Archiving again (a retry) is fine.
	if err := h.sl.Archive(h.ctx, ch); err != nil {
		t.Errorf("Archive of an archived channel: %v", err)
	}
}
