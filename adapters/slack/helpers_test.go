package slack_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/slack"
	"github.com/debrief/debrief/adapters/slack/slacktest"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/internal/clocktest"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/store/bolt"
	"github.com/debrief/debrief/store/bolt/bolttest"
	"github.com/debrief/debrief/workflows"
)

// waitFor bounds every wait on the other side of a connection. Nothing
// sleeps: deliveries are synchronous, and the outbox is driven directly.
const waitFor = 15 * time.Second

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// The people of the fake workspace, in three zones.
const (
	alice = "U0ALICE"
	bob   = "U0BOB"
	carol = "U0CAROL"
	gone  = "U0GONE" // deactivated
)

// harness is the adapter between a fake Slack and a Service on a real
// bbolt file, over HTTP (the fake posts signed requests to the adapter's
// routes) or Socket Mode (the fake is the websocket server).
type harness struct {
	t        *testing.T
	ctx      context.Context
	fake     *slacktest.Server
	db       *bolt.DB
	store    *failingStore
	svc      *workflows.Service
	sl       *slack.Slack
	web      *httptest.Server
	clock    *clocktest.Clock
	logs     *syncBuffer
	announce string // #incidents
	// backfills receives the outcome of each backfill the adapter ran.
	backfills chan backfillRun
}

// backfillRun is one backfill's outcome.
type backfillRun struct {
	stats slack.BackfillStats
	err   error
}

// backfilled waits for the next backfill to end and returns its outcome.
func (h *harness) backfilled() backfillRun {
	h.t.Helper()
	select {
	case r := <-h.backfills:
		return r
	case <-time.After(waitFor):
		h.t.Fatal("no backfill ended")
		return backfillRun{}
	}
}

// failingStore fails timeline appends on demand: the disk is full, the
// file is gone.
type failingStore struct {
	store.Store
	fail atomic.Bool
	gate atomic.Pointer[chan struct{}]
}

// Update waits at the gate while hold is in force (the disk is slow).
func (f *failingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	if g := f.gate.Load(); g != nil {
		select {
		case <-*g:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return f.Store.Update(ctx, fn)
}

// hold makes transactions wait until the returned func is called.
func (f *failingStore) hold() (release func()) {
	g := make(chan struct{})
	f.gate.Store(&g)
	return func() {
		f.gate.Store(nil)
		close(g)
	}
}

func (f *failingStore) Append(ctx context.Context, ev bot.TimelineEvent) (bot.TimelineEvent, bool, error) {
	if f.fail.Load() {
		return bot.TimelineEvent{}, false, errors.New("store: no space left on device")
	}
	return f.Store.Append(ctx, ev)
}

type mode string

const (
	overHTTP   mode = "http"
	overSocket mode = "socket"
)

// option changes the adapter's configuration before it is built.
type option func(*slack.Config)

func newHarness(t *testing.T, m mode, opts ...option) *harness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	fake := slacktest.New()
	t.Cleanup(fake.Close)
	fake.GrantScopes(scopeNames())
	fake.AddUser(slacktest.User{ID: alice, Name: "alice", DisplayName: "alice", RealName: "Alice Liddell", TZ: "Europe/Berlin"})
	fake.AddUser(slacktest.User{ID: bob, Name: "bob", DisplayName: "bob", RealName: "Bob Dylan", TZ: "America/New_York"})
	fake.AddUser(slacktest.User{ID: carol, Name: "carol", DisplayName: "", RealName: "Carol Shaw", TZ: "UTC"})
	fake.AddUser(slacktest.User{ID: gone, Name: "gone", Deleted: true})
	h := &harness{t: t, ctx: ctx, fake: fake, logs: &syncBuffer{}, backfills: make(chan backfillRun, 64),
		clock:    clocktest.New(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)),
		announce: fake.AddChannel("incidents", alice, alice, bob, carol)}

	db := bolttest.Open(t)
	h.db = db
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := workflows.DefaultConfig()
	cfg.Announce = map[bot.Platform]string{bot.Slack: h.announce}
	h.store = &failingStore{Store: db}
	h.svc = &workflows.Service{Store: h.store, Config: cfg, Now: h.clock.Now, Rand: func() float64 { return 0.5 }, Log: log}
	scfg := slack.Config{BotToken: fake.BotToken, SigningSecret: fake.SigningSecret, APIURL: fake.APIURL(), Log: log}
	if m == overSocket {
		scfg.AppToken = fake.AppToken
	}
	for _, o := range opts {
		o(&scfg)
	}
	hook := scfg.OnBackfill
	scfg.OnBackfill = func(st slack.BackfillStats, err error) {
		if hook != nil {
			hook(st, err)
		}
		select {
		case h.backfills <- backfillRun{st, err}:
		default:
		}
	}
	h.sl = slack.New(h.svc, scfg)
	h.svc.Chats = map[bot.Platform]workflows.Chat{bot.Slack: h.sl}
	h.svc.Zones = map[bot.Platform]workflows.ZoneSource{bot.Slack: h.sl}
	if err := h.sl.Start(ctx); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.sl.Register(mux)
	h.web = httptest.NewServer(mux)
	t.Cleanup(h.web.Close)

	switch m {
	case overHTTP:
		fake.Target(h.web.URL)
	case overSocket:
		sctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- h.sl.RunSocketMode(sctx) }()
		t.Cleanup(func() {
			stop()
			if err := <-done; err != nil {
				t.Errorf("RunSocketMode: %v", err)
			}
		})
		if err := fake.WaitConnected(ctx); err != nil {
			t.Fatal(err)
		}
		// The first connection's backfill finds no incident; waiting for
		// it keeps its calls out of what tests count.
		if r := h.backfilled(); r.err != nil {
			t.Fatalf("first backfill: %v", r.err)
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", h.logs.String())
		}
	})
	return h
}

func scopeNames() []string {
	var names []string
	for _, s := range slack.BotScopes {
		names = append(names, s.Name)
	}
	return names
}

// deliver runs outbox passes at the current clock until one makes no
// progress, and returns how many effects went out.
func (h *harness) deliver() int {
	h.t.Helper()
	total := 0
	pending := len(h.effects())
	for range 20 {
		n, err := h.svc.Outbox().Tick(h.ctx, h.clock.Now())
		if err != nil {
			h.t.Fatalf("Outbox.Tick: %v", err)
		}
		// A pass that only dropped an effect for good delivered nothing,
		// but unblocked what queued behind it.
		left := len(h.effects())
		if n == 0 && left >= pending {
			return total
		}
		total += n
		pending = left
	}
	h.t.Fatal("the outbox keeps delivering")
	return total
}

// command runs /incident text as user in channel and returns the reply.
func (h *harness) command(user, channel, text string) (kind, reply string) {
	h.t.Helper()
	d, err := h.fake.Command(h.ctx, user, channel, text)
	if err != nil {
		h.t.Fatalf("/incident %s: %v", text, err)
	}
	if d.Status != http.StatusOK {
		h.t.Fatalf("/incident %s: status %d %s", text, d.Status, d.Body)
	}
	// Deferred (the machine was slow past the answer budget), the command
	// is done when its answer reaches the response_url, and the test must
	// not look at the state before.
	ctx, cancel := context.WithTimeout(h.ctx, waitFor)
	defer cancel()
	kind, reply, err = h.fake.Answer(ctx, d)
	if err != nil {
		h.t.Fatalf("/incident %s: %v", text, err)
	}
	return kind, reply
}

// ok fails the test unless the delivery was acknowledged.
func (h *harness) ok(what string, d slacktest.Delivery, err error) {
	h.t.Helper()
	if err != nil {
		h.t.Fatalf("%s: %v", what, err)
	}
	if d.Status != http.StatusOK {
		h.t.Fatalf("%s: status %d %s", what, d.Status, d.Body)
	}
}

// acked is ok for calls that return a delivery and an error.
func (h *harness) acked(what string) func(slacktest.Delivery, error) {
	return func(d slacktest.Delivery, err error) {
		h.t.Helper()
		h.ok(what, d, err)
	}
}

func (h *harness) say(user, channel, text string) string {
	h.t.Helper()
	ts, d, err := h.fake.Say(h.ctx, user, channel, text)
	h.ok("say "+text, d, err)
	return ts
}

func (h *harness) incident(id string) *bot.Incident {
	h.t.Helper()
	inc, err := h.svc.Incident(h.ctx, id)
	if err != nil {
		h.t.Fatalf("Incident(%s): %v", id, err)
	}
	return inc
}

func (h *harness) timeline(id string) []bot.TimelineEvent {
	h.t.Helper()
	_, tl, err := h.svc.Timeline(h.ctx, id)
	if err != nil {
		h.t.Fatalf("Timeline(%s): %v", id, err)
	}
	return tl
}

func (h *harness) effects() []store.Effect {
	h.t.Helper()
	var out []store.Effect
	err := h.db.View(h.ctx, func(tx store.ReadTx) error {
		var err error
		out, err = tx.Effects()
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

// snapshot is everything a refused request must leave alone.
type snapshot struct {
	incidents string
	timelines string
	effects   int
	calls     int
}

func (h *harness) snapshot() snapshot {
	h.t.Helper()
	incs, err := h.svc.Incidents(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	var is, ts strings.Builder
	for _, inc := range incs {
		fmt.Fprintf(&is, "%s %s %s %v\n", inc.ID, inc.Severity, inc.Status, inc.Roles)
		for _, ev := range h.timeline(inc.ID) {
			fmt.Fprintf(&ts, "%s %d %s %s\n", inc.ID, ev.Seq, ev.Kind, ev.Text)
		}
	}
	return snapshot{incidents: is.String(), timelines: ts.String(), effects: len(h.effects()),
		calls: len(h.fake.Calls(""))}
}

// entry is the part of a timeline entry tests compare.
type entry struct {
	kind   bot.EventKind
	author string
	text   string
}

func (e entry) String() string { return fmt.Sprintf("[%s] %s: %s", e.kind, e.author, e.text) }

func entries(tl []bot.TimelineEvent) []entry {
	out := make([]entry, len(tl))
	for i, ev := range tl {
		out[i] = entry{ev.Kind, ev.Author.Name, ev.Text}
	}
	return out
}

// find returns the first timeline entry of kind whose text contains text.
func find(tl []bot.TimelineEvent, kind bot.EventKind, text string) (bot.TimelineEvent, bool) {
	for _, ev := range tl {
		if ev.Kind == kind && strings.Contains(ev.Text, text) {
			return ev, true
		}
	}
	return bot.TimelineEvent{}, false
}

// botMessages returns the texts the bot posted in a channel.
func (h *harness) botMessages(channel string) []string {
	var out []string
	for _, m := range h.fake.Messages(channel) {
		if m.User == h.fake.BotUserID {
			out = append(out, m.Text)
		}
	}
	return out
}
