package discord_test

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

	"github.com/debrief/debrief/adapters/discord"
	"github.com/debrief/debrief/adapters/discord/discordtest"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/internal/clocktest"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/store/bolt"
	"github.com/debrief/debrief/store/bolt/bolttest"
	"github.com/debrief/debrief/workflows"
)

// waitFor bounds every wait on the other side of a connection. Nothing
// sleeps: the fake's actions return once the bot's heartbeat acknowledged
// them, and the outbox is driven directly.
const waitFor = 15 * time.Second

// heartbeat is the fake gateway's heartbeat interval: acknowledgements
// ride on heartbeats, so it bounds how long each step waits.
const heartbeat = 15 * time.Millisecond

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

// failingStore fails timeline appends on demand (the disk is full), and
// holds transactions at a gate on demand (the disk is slow).
type failingStore struct {
	store.Store
	fail atomic.Bool
	gate atomic.Pointer[chan struct{}]
}

func (f *failingStore) Append(ctx context.Context, ev bot.TimelineEvent) (bot.TimelineEvent, bool, error) {
	if f.fail.Load() {
		return bot.TimelineEvent{}, false, errors.New("store: no space left on device")
	}
	return f.Store.Append(ctx, ev)
}

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

type mode string

const (
	overGateway mode = "gateway" // interactions as INTERACTION_CREATE
	overHTTP    mode = "http"    // interactions on POST /discord/interactions
)

// harness is the adapter between a fake Discord and a Service on a real
// bbolt file. The gateway always runs (it brings the messages);
// interactions come over it or over HTTP.
type harness struct {
	t        testing.TB
	ctx      context.Context
	fake     *discordtest.Server
	db       *bolt.DB
	store    *failingStore
	svc      *workflows.Service
	dc       *discord.Discord
	web      *httptest.Server
	clock    *clocktest.Clock
	logs     *syncBuffer
	category string
	announce string
	alice    string
	bob      string
	carol    string
	// gatewayDone is closed when RunGateway returns, gatewayErr is what
	// it returned.
	gatewayDone chan struct{}
	gatewayErr  error
	stop        func()
	// dcfg is the adapter's configuration, for a restart (restart).
	dcfg discord.Config
}

type option func(*discord.Config, *discordtest.Server)

func newHarness(t testing.TB, m mode, opts ...option) *harness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	fake := discordtest.New()
	t.Cleanup(fake.Close)
	fake.SetHeartbeatInterval(heartbeat)
	fake.GrantPermissions(discord.BotPermissionBits)
	h := &harness{t: t, ctx: ctx, fake: fake, logs: &syncBuffer{},
		clock:    clocktest.New(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)),
		category: fake.AddCategory("Incidents"),
		alice:    fake.AddUser(discordtest.User{Username: "alice"}),
		bob:      fake.AddUser(discordtest.User{Username: "bob", GlobalName: "Bob Dylan", Nick: "bob"}),
		carol:    fake.AddUser(discordtest.User{Username: "carol", GlobalName: "Carol Shaw"}),
	}
	h.announce = fake.AddChannel("incidents", "")

	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dcfg := discord.Config{
		BotToken: fake.BotToken, AppID: fake.AppID, GuildID: fake.GuildID, PublicKey: fake.PublicKeyHex(),
		APIURL: fake.APIURL(), CategoryID: h.category, Log: log,
		ReconnectMin: time.Millisecond, ReconnectMax: 20 * time.Millisecond,
	}
	for _, o := range opts {
		o(&dcfg, fake)
	}
	h.dcfg = dcfg
	h.boot(bolttest.Open(t))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", h.logs.String())
		}
	})
	if m == overHTTP {
		fake.Target(h.web.URL)
	}
	return h
}

// boot starts debrief on db: the Service, the adapter (Start, its route,
// its gateway), and waits until its gateway session is settled.
func (h *harness) boot(db *bolt.DB) {
	t, ctx, fake, dcfg := h.t, h.ctx, h.fake, h.dcfg
	t.Helper()
	h.db = db
	cfg := workflows.DefaultConfig()
	cfg.Announce = map[bot.Platform]string{bot.Discord: h.announce}
	h.store = &failingStore{Store: db}
	h.svc = &workflows.Service{Store: h.store, Config: cfg, Now: h.clock.Now, Rand: func() float64 { return 0.5 }, Log: dcfg.Log}
	var err error
	h.dc, err = discord.New(h.svc, dcfg)
	if err != nil {
		t.Fatal(err)
	}
	h.svc.Chats = map[bot.Platform]workflows.Chat{bot.Discord: h.dc}
	if err := h.dc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.dc.Register(mux)
	h.web = httptest.NewServer(mux)
	t.Cleanup(h.web.Close)

	identifies := len(fake.Identifies())
	gctx, stop := context.WithCancel(ctx)
	h.gatewayDone = make(chan struct{})
	go func() {
		defer close(h.gatewayDone)
		h.gatewayErr = h.dc.RunGateway(gctx)
	}()
	var once sync.Once
	done, dc := h.gatewayDone, h.dc
	h.stop = func() {
		once.Do(func() {
			stop()
			select {
			case <-done:
			case <-time.After(waitFor):
				t.Errorf("RunGateway did not return")
			}
			dc.Wait()
		})
	}
	t.Cleanup(h.stop)
	wctx, wcancel := context.WithTimeout(ctx, waitFor)
	defer wcancel()
	if err := fake.WaitIdentifies(wctx, identifies+1); err != nil {
		t.Fatal(err)
	}
	if err := fake.WaitSessions(wctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := fake.Settle(wctx); err != nil {
		t.Fatal(err)
	}
}

// deliver runs outbox passes at the current clock until one makes no
// progress, waits until the bot recorded what its own deliveries made
// Discord send back, and returns how many effects went out.
func (h *harness) deliver() int {
	h.t.Helper()
	total := 0
	pending := len(h.effects())
	for range 20 {
		n, err := h.svc.Outbox().Tick(h.ctx, h.clock.Now())
		if err != nil {
			h.t.Fatalf("Outbox.Tick: %v", err)
		}
		left := len(h.effects())
		if n == 0 && left >= pending {
			h.settle()
			return total
		}
		total += n
		pending = left
	}
	h.t.Fatal("the outbox keeps delivering")
	return total
}

// settle waits until the bot acknowledged every gateway event so far.
func (h *harness) settle() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(h.ctx, waitFor)
	defer cancel()
	if err := h.fake.Settle(ctx); err != nil {
		h.t.Fatal(err)
	}
}

// invoke runs an /incident command as user in channel and returns the
// reply.
func (h *harness) invoke(user, channel string, inv discordtest.Invocation) (kind, reply string) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(h.ctx, waitFor)
	defer cancel()
	ia, err := h.fake.Invoke(ctx, user, channel, inv)
	if err != nil {
		h.t.Fatalf("/incident %v: %v", inv, err)
	}
	kind, reply, err = ia.Reply(ctx)
	if err != nil {
		h.t.Fatalf("/incident %v: %v", inv, err)
	}
	return kind, reply
}

func cmd(sub string, opts ...discordtest.Option) discordtest.Invocation {
	group, s, ok := strings.Cut(sub, " ")
	if !ok {
		group, s = "", sub
	}
	return discordtest.Invocation{Group: group, Sub: s, Options: opts}
}

func (h *harness) say(user, channel, text string) string {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(h.ctx, waitFor)
	defer cancel()
	id, err := h.fake.Say(ctx, user, channel, text)
	if err != nil {
		h.t.Fatalf("say %q: %v", text, err)
	}
	return id
}

// do runs a fake action that returns once acknowledged.
func (h *harness) do(what string, err error) {
	h.t.Helper()
	if err != nil {
		h.t.Fatalf("%s: %v", what, err)
	}
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
	messages  int
}

func (h *harness) snapshot() snapshot {
	h.t.Helper()
	incs, err := h.svc.Incidents(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	var is, ts strings.Builder
	msgs := 0
	for _, inc := range incs {
		fmt.Fprintf(&is, "%s %s %s %v\n", inc.ID, inc.Severity, inc.Status, inc.Roles)
		for _, ev := range h.timeline(inc.ID) {
			fmt.Fprintf(&ts, "%s %d %s %s\n", inc.ID, ev.Seq, ev.Kind, ev.Text)
		}
	}
	for _, c := range h.fake.Channels() {
		msgs += len(h.fake.Messages(c.ID))
	}
	return snapshot{incidents: is.String(), timelines: ts.String(), effects: len(h.effects()), messages: msgs}
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

// count returns how many timeline entries have exactly this text.
func count(tl []bot.TimelineEvent, text string) int {
	n := 0
	for _, ev := range tl {
		if ev.Text == text {
			n++
		}
	}
	return n
}

// declared returns a harness with INC-1 declared and its channel created.
func declared(t testing.TB, m mode, opts ...option) (*harness, string) {
	t.Helper()
	h := newHarness(t, m, opts...)
	if kind, reply := h.invoke(h.alice, h.fake.General(), cmd("declare", discordtest.Str("title", "Checkout is down"), discordtest.Int("severity", 2))); kind != "in_channel" {
		t.Fatalf("declare = %s %q", kind, reply)
	}
	h.deliver()
	return h, h.incident("INC-1").Channels[bot.Discord]
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
