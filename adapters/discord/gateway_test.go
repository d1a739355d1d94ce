package discord_test

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/discord"
	"github.com/debrief/debrief/adapters/discord/discordtest"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store/bolt/bolttest"
	"github.com/debrief/debrief/workflows"
)

func (h *harness) waitCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(h.ctx, waitFor)
}

// TestResumeReplays: the connection drops; what was said meanwhile, and
// (Discord delivers at least once) what was already acknowledged, is
// replayed after the RESUME, on READY's resume_gateway_url. Every message
// is stored once.
func TestResumeReplays(t *testing.T) {
	h, ch := declared(t, overGateway)
	before := h.fake.Seq()
	h.say(h.alice, ch, "one")
	h.say(h.bob, ch, "two")
	h.fake.ReplayFrom(before)
	// The bot reconnects at once after a drop, and could be back before
	// "three" is said, which would then come live rather than in the
	// replay: the fake keeps it away until "three" was sent.
	h.fake.DisconnectMissing(1)
	// Said while the bot is away: it waits in the session for the RESUME,
	// and Say returns once the bot acknowledged it.
	h.say(h.carol, ch, "three")
	ctx, cancel := h.waitCtx()
	defer cancel()
	if err := h.fake.WaitSessions(ctx, 2); err != nil {
		t.Fatal(err)
	}
	rs := h.fake.Resumes()
	if len(rs) != 1 || rs[0].Path != "/gateway-resume/" || rs[0].Replayed < 3 {
		t.Fatalf("resumes = %+v, want one on the resume URL replaying at least three events", rs)
	}
	if n := len(h.fake.Identifies()); n != 1 {
		t.Errorf("%d IDENTIFYs, want 1: the session was resumed, not replaced", n)
	}
	tl := h.timeline("INC-1")
	for _, text := range []string{"one", "two", "three"} {
		if n := count(tl, text); n != 1 {
			t.Errorf("%q stored %d times, want once", text, n)
		}
	}
	h.say(h.alice, ch, "four")
	if n := count(h.timeline("INC-1"), "four"); n != 1 {
		t.Errorf("after the resume, a new message is stored %d times", n)
	}
}

// TestNotCommittedNotAcknowledged: an event whose commit fails is not
// acknowledged; the bot resumes, Discord replays it, and once the store
// is back it is stored, once.
func TestNotCommittedNotAcknowledged(t *testing.T) {
	h, ch := declared(t, overGateway)
	h.store.fail.Store(true)
	ctx, cancel := context.WithTimeout(h.ctx, 300*time.Millisecond)
	_, err := h.fake.Say(ctx, h.alice, ch, "said while the disk was full")
	cancel()
	if !errors.Is(err, discordtest.ErrNotAcked) {
		t.Fatalf("uncommitted event: %v, want it not acknowledged", err)
	}
	if len(h.fake.Resumes()) == 0 {
		t.Errorf("the bot did not resume to get the event again")
	}
	h.store.fail.Store(false)
	h.settle()
	if n := count(h.timeline("INC-1"), "said while the disk was full"); n != 1 {
		t.Errorf("stored %d times, want once", n)
	}
	if n := len(h.fake.Identifies()); n != 1 {
		t.Errorf("%d IDENTIFYs: the session must survive a failed commit", n)
	}
}

// TestReconnectAndInvalidSession: Discord's RECONNECT is answered with a
// RESUME; INVALID_SESSION that is resumable too; one that is not with a
// new IDENTIFY. Messages keep being recorded throughout.
func TestReconnectAndInvalidSession(t *testing.T) {
	h, ch := declared(t, overGateway)
	ctx, cancel := h.waitCtx()
	defer cancel()

	h.fake.SendReconnect()
	if err := h.fake.WaitSessions(ctx, 2); err != nil {
		t.Fatal(err)
	}
	h.say(h.alice, ch, "after reconnect")

	h.fake.InvalidateSession(true)
	if err := h.fake.WaitSessions(ctx, 3); err != nil {
		t.Fatal(err)
	}
	h.say(h.alice, ch, "after a resumable invalid session")
	if n, r := len(h.fake.Identifies()), len(h.fake.Resumes()); n != 1 || r != 2 {
		t.Errorf("%d IDENTIFYs and %d RESUMEs, want 1 and 2", n, r)
	}

	h.fake.InvalidateSession(false)
	if err := h.fake.WaitIdentifies(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if err := h.fake.WaitSessions(ctx, 4); err != nil {
		t.Fatal(err)
	}
	h.settle()
	h.say(h.alice, ch, "after a new session")
	tl := h.timeline("INC-1")
	for _, text := range []string{"after reconnect", "after a resumable invalid session", "after a new session"} {
		if n := count(tl, text); n != 1 {
			t.Errorf("%q stored %d times, want once", text, n)
		}
	}
	for _, id := range h.fake.Identifies() {
		if id.Intents != int(discord.Intents) {
			t.Errorf("IDENTIFY intents %b, want %b", id.Intents, discord.Intents)
		}
	}
}

// TestZombieConnection: heartbeats go unanswered; the bot leaves the
// connection and resumes on a new one.
func TestZombieConnection(t *testing.T) {
	h, ch := declared(t, overGateway)
	ctx, cancel := h.waitCtx()
	defer cancel()
	h.fake.AckHeartbeats(false)
	if err := h.fake.WaitSessions(ctx, 2); err != nil {
		t.Fatal(err)
	}
	h.fake.AckHeartbeats(true)
	if len(h.fake.Resumes()) == 0 {
		t.Errorf("no RESUME after heartbeats went unanswered")
	}
	h.say(h.bob, ch, "still here")
	if n := count(h.timeline("INC-1"), "still here"); n != 1 {
		t.Errorf("stored %d times after the zombie connection", n)
	}
}

// TestGatewayRefusal: a close code that reconnecting cannot fix stops the
// gateway with an error that tells the operator what to do.
func TestGatewayRefusal(t *testing.T) {
	t.Run("revoked token", func(t *testing.T) {
		h, _ := declared(t, overGateway)
		h.fake.CloseGateway(4004, "Authentication failed.")
		<-h.gatewayDone
		var fatal *discord.FatalError
		if !errors.As(h.gatewayErr, &fatal) || fatal.Code != 4004 || !strings.Contains(h.gatewayErr.Error(), "DISCORD_BOT_TOKEN") {
			t.Errorf("RunGateway = %v, want a fatal 4004 naming DISCORD_BOT_TOKEN", h.gatewayErr)
		}
	})
	t.Run("message content intent not enabled", func(t *testing.T) {
		fake := discordtest.New()
		defer fake.Close()
		fake.EnableMessageContent(false)
		db := bolttest.Open(t)
		svc := &workflows.Service{Store: db, Config: workflows.DefaultConfig()}
		dc, err := discord.New(svc, discord.Config{BotToken: fake.BotToken, AppID: fake.AppID, GuildID: fake.GuildID,
			APIURL: fake.APIURL(), ReconnectMin: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		err = dc.RunGateway(ctx)
		var fatal *discord.FatalError
		if !errors.As(err, &fatal) || fatal.Code != 4014 || !strings.Contains(err.Error(), "Message Content Intent") {
			t.Errorf("RunGateway = %v, want a fatal 4014 that says to enable the Message Content intent", err)
		}
	})
}

// TestPinOfAMessageNotOnRecord: a pinned message the bot never saw is
// read from Discord for the timeline.
func TestPinOfAMessageNotOnRecord(t *testing.T) {
	h, ch := declared(t, overGateway)
	id := h.fake.PostQuietly(h.carol, ch, "said while nobody listened")
	h.do("pin", h.fake.Pin(h.ctx, h.alice, ch, id))
	ev, ok := find(h.timeline("INC-1"), bot.EventKey, "pinned: said while nobody listened")
	if !ok || ev.MessageID != id || ev.Author.ID != h.alice {
		t.Errorf("pin = %+v (%t), want alice's pin of %s with the message's text", ev, ok, id)
	}
}

// TestReconnectBackoff: connections that fail in a row are spaced by the
// outbox's curve (outbox.Curve) stepping from ReconnectMin up to
// ReconnectMax; a connection that drops after it was established is
// resumed at once. The harness fixes the jitter at 0.5, so every wait is
// 3/4 of its step: ReconnectMin is 1 ms, ReconnectMax 20 ms, so the steps
// are 1, 2, 4, 8, 16 and then 20 ms.
func TestReconnectBackoff(t *testing.T) {
	h := newHarness(t, overGateway)
	ctx, cancel := h.waitCtx()
	defer cancel()
	h.fake.RefuseConnections(6)
	h.fake.Disconnect()
	if err := h.fake.WaitSessions(ctx, 2); err != nil {
		t.Fatal(err)
	}
	var waits []string
	for _, m := range regexp.MustCompile(`msg="gateway disconnected; reconnecting".* wait=(\S+)`).FindAllStringSubmatch(h.logs.String(), -1) {
		waits = append(waits, m[1])
	}
	want := []string{"0s", "750µs", "1.5ms", "3ms", "6ms", "12ms", "15ms"}
	if !slices.Equal(waits, want) {
		t.Errorf("waits between connections = %q, want %q", waits, want)
	}
	if rs := h.fake.Resumes(); len(rs) != 1 {
		t.Errorf("resumes = %+v, want one: the session survives a gateway that is down a while", rs)
	}
}

// TestShutdownWhileConnecting: shutdown while the bot waits for Discord's
// HELLO ends RunGateway at once, not when the handshake's 30 s read
// deadline expires.
func TestShutdownWhileConnecting(t *testing.T) {
	h := newHarness(t, overGateway)
	ctx, cancel := h.waitCtx()
	defer cancel()
	// Nothing more is dispatched: the bot's new connection is held
	// before HELLO until the end.
	h.fake.DisconnectMissing(1)
	if err := h.fake.WaitHeld(ctx); err != nil {
		t.Fatal(err)
	}
	h.stop() // fails the test unless RunGateway returns within waitFor
	select {
	case <-h.gatewayDone:
		if h.gatewayErr != nil {
			t.Errorf("RunGateway = %v, want nil at shutdown", h.gatewayErr)
		}
	default:
	}
}

// TestEventsReadBeforeTheSessionEnds: the events the bot has read when
// Discord ends the session (INVALID_SESSION, not resumable) are still
// handled, in order: the new session will not replay them.
func TestEventsReadBeforeTheSessionEnds(t *testing.T) {
	st := &stall{entered: make(chan struct{}), release: make(chan struct{})}
	h, ch := declared(t, overGateway, func(c *discord.Config, _ *discordtest.Server) {
		c.HTTPClient = &http.Client{Transport: st}
	})
	ctx, cancel := h.waitCtx()
	defer cancel()
	// A channel the bot has not seen (no gateway event announced it): a
	// message there makes it ask Discord what the channel is, which st
	// holds up.
	watercooler := h.fake.AddChannel("watercooler", "")
	st.path.Store(new("/channels/" + watercooler))
	// Say returns once the bot acknowledged the event; with a context
	// that is already done it sends the event and returns at once.
	sent, stop := context.WithCancel(ctx)
	stop()
	if _, err := h.fake.Say(sent, h.bob, watercooler, "anyone around?"); !errors.Is(err, discordtest.ErrNotAcked) {
		t.Fatalf("say: %v", err)
	}
	select {
	case <-st.entered:
	case <-ctx.Done():
		t.Fatal("the bot did not look up the unknown channel")
	}
	// The event loop waits on the lookup; the bot's reader queues these,
	// then reads the end of the session.
	texts := []string{"one", "two", "three"}
	for _, text := range texts {
		if _, err := h.fake.Say(sent, h.alice, ch, text); !errors.Is(err, discordtest.ErrNotAcked) {
			t.Fatalf("say %q: %v", text, err)
		}
	}
	h.fake.InvalidateSession(false)
	close(st.release)
	if err := h.fake.WaitIdentifies(ctx, 2); err != nil {
		t.Fatal(err)
	}
	tl := h.timeline("INC-1")
	for _, text := range texts {
		if n := count(tl, text); n != 1 {
			t.Errorf("%q stored %d times, want once", text, n)
		}
	}
}

// stall holds the bot's REST GETs of one path until release is closed,
// and closes entered when the first arrives.
type stall struct {
	path    atomic.Pointer[string]
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (s *stall) RoundTrip(r *http.Request) (*http.Response, error) {
	if p := s.path.Load(); p != nil && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, *p) {
		s.once.Do(func() { close(s.entered) })
		select {
		case <-s.release:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}
