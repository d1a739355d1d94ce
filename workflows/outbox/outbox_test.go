package outbox_test

import (
	"context"
	"encoding/binary"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/internal/clocktest"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/store/bolt"
	"github.com/debrief/debrief/workflows/outbox"
	bbolt "go.etcd.io/bbolt"
)

func TestBackoff(t *testing.T) {
	for _, c := range []struct {
		attempts int
		j        float64
		want     time.Duration
	}{
		{1, 0, time.Second},
		{1, 0.999999, 2 * time.Second},
		{2, 0, 2 * time.Second},
		{3, 0.5, 6 * time.Second},
		{12, 0, 5 * time.Minute}, // capped at 10 min before jitter
		{100, 0, 5 * time.Minute},
	} {
		got := outbox.Backoff(c.attempts, c.j)
		if got.Round(time.Millisecond) != c.want {
			t.Errorf("Backoff(%d, %v) = %v, want %v", c.attempts, c.j, got, c.want)
		}
	}
}

func TestMarker(t *testing.T) {
	for _, c := range []struct{ name, key, want string }{
		{"inc-4-db-down", "effect-7", "debrief INC-4 effect-7"},
		{"inc-42-db-latency", "effect-7", "debrief INC-42 effect-7"},
		{"inc-12", "k", "debrief INC-12 k"},
		{"war-room", "k", "debrief incident k"},
		{"inc-x-y", "k", "debrief incident k"},
	} {
		if got := outbox.Marker(c.name, c.key); got != c.want {
			t.Errorf("Marker(%q, %q) = %q, want %q", c.name, c.key, got, c.want)
		}
		if !outbox.HasMarker(outbox.Marker(c.name, c.key), c.key) {
			t.Errorf("HasMarker(Marker(%q, %q)) = false", c.name, c.key)
		}
	}
	if outbox.HasMarker("debrief INC-4 effect-77", "effect-7") || outbox.HasMarker("anything", "") {
		t.Error("HasMarker matched a different or empty key")
	}
}

// say is the test's effect kind: a line for a channel.
type say struct {
	Text string `json:"text"`
}

func (say) EffectKind() store.EffectKind { return "say" }

// open is the test's channel-creating kind.
type open struct {
	Name string `json:"name"`
}

func (open) EffectKind() store.EffectKind { return "open" }

// ticket is an at-most-once kind, like a GitHub issue.
type ticket struct {
	Title string `json:"title"`
}

func (ticket) EffectKind() store.EffectKind { return "ticket" }

// sink records what it is asked to do and fails on demand.
type sink struct {
	mu    sync.Mutex
	calls []string
	fails map[string][]error // by text: errors to return, in order
	ready bool
	// sentSeen records, for each ticket call, whether the Sent flag was
	// already durable in the store when the call was made.
	sentSeen []bool
	// hang holds the calls named here until the channel is closed: a
	// platform that accepts the request and never answers.
	hang map[string]chan struct{}
	// called receives every call made, when set.
	called chan string
}

func (s *sink) do(call string) error {
	s.mu.Lock()
	wait := s.hang[call]
	called := s.called
	s.mu.Unlock()
	if called != nil {
		called <- call
	}
	if wait != nil {
		<-wait
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if errs := s.fails[call]; len(errs) > 0 {
		s.fails[call] = errs[1:]
		s.calls = append(s.calls, "FAILED "+call)
		return errs[0]
	}
	s.calls = append(s.calls, call)
	return nil
}

func (s *sink) failNext(call string, errs ...error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fails[call] = append(s.fails[call], errs...)
}

func (s *sink) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

type env struct {
	t     *testing.T
	db    *bolt.DB
	path  string
	clock *clocktest.Clock
	sink  *sink
	ob    *outbox.Outbox
}

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, path: filepath.Join(t.TempDir(), "outbox.db"), clock: clocktest.New(t0),
		sink: &sink{fails: map[string][]error{}, ready: true}}
	e.open()
	t.Cleanup(func() {
		if err := e.db.Check(); err != nil {
			t.Errorf("consistency check: %v", err)
		}
		if err := e.db.Close(); err != nil {
			t.Error(err)
		}
	})
	e.update(func(tx store.Tx) error {
		return tx.PutIncident(&bot.Incident{ID: "INC-1", Number: 1, Title: "t", Kind: bot.KindReal, Severity: bot.SEV2,
			Status: bot.StatusInvestigating, DeclaredAt: t0})
	})
	return e
}

// open opens the database and an outbox with the test's kinds over it.
func (e *env) open() {
	db, err := bolt.Open(e.path)
	if err != nil {
		e.t.Fatal(err)
	}
	e.db = db
	chat := outbox.Sink{Name: "chat", PerPlatform: true, Ready: func(bot.Platform) bool { return e.sink.ready }}
	tracker := outbox.Sink{Name: "tracker", Ready: func(bot.Platform) bool { return true }}
	e.ob = outbox.New(db,
		&outbox.Kind[say]{
			Sink: chat, NeedsChannel: true,
			Deliver: func(ctx context.Context, a outbox.Attempt, p say) (outbox.Result, error) {
				return outbox.Result{ID: "m"}, e.sink.do("say " + a.Channel + " " + p.Text)
			},
			Legacy: func(old store.LegacyEffect) say { return say{Text: old.Text} },
		},
		&outbox.Kind[open]{
			Sink: chat,
			Deliver: func(ctx context.Context, a outbox.Attempt, p open) (outbox.Result, error) {
				return outbox.Result{ID: "C-" + p.Name}, e.sink.do("open " + p.Name)
			},
			Delivered: func(tx store.Tx, a outbox.Attempt, p open, r outbox.Result) error {
				inc, err := tx.Incident(a.Effect.IncidentID)
				if err != nil {
					return err
				}
				inc.Channels = map[bot.Platform]string{a.Effect.Platform: r.ID}
				return tx.PutIncident(inc)
			},
		},
		&outbox.Kind[ticket]{
			Sink: tracker, AtMostOnce: true,
			Deliver: func(ctx context.Context, a outbox.Attempt, p ticket) (outbox.Result, error) {
				var stored store.Effect
				_ = db.View(ctx, func(tx store.ReadTx) error {
					effs, err := tx.Effects()
					for _, s := range effs {
						if s.ID == a.Effect.ID {
							stored = s
						}
					}
					return err
				})
				e.sink.mu.Lock()
				e.sink.sentSeen = append(e.sink.sentSeen, stored.Sent)
				e.sink.mu.Unlock()
				call := "ticket " + p.Title
				if a.Retry {
					call += " (look first)"
				}
				return outbox.Result{}, e.sink.do(call)
			},
		},
	)
	e.ob.Now, e.ob.Rand = e.clock.Now, func() float64 { return 0.5 }
}

func (e *env) restart() {
	if err := e.db.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.open()
}

func (e *env) update(fn func(store.Tx) error) {
	e.t.Helper()
	if err := e.db.Update(context.Background(), fn); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) enqueue(r outbox.Route, p outbox.Payload) store.Effect {
	e.t.Helper()
	var out store.Effect
	e.update(func(tx store.Tx) error {
		var err error
		out, err = e.ob.Enqueue(tx, r, p, e.clock.Now())
		return err
	})
	return out
}

func (e *env) tick() int {
	e.t.Helper()
	n, err := e.ob.Tick(context.Background(), e.clock.Now())
	if err != nil {
		e.t.Fatalf("Tick: %v", err)
	}
	return n
}

func (e *env) effects() []store.Effect {
	e.t.Helper()
	var out []store.Effect
	if err := e.db.View(context.Background(), func(tx store.ReadTx) error {
		var err error
		out, err = tx.Effects()
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) notes() []string {
	e.t.Helper()
	var out []string
	if err := e.db.View(context.Background(), func(tx store.ReadTx) error {
		tl, err := tx.Timeline("INC-1")
		for _, ev := range tl {
			out = append(out, string(ev.Author.Platform)+": "+ev.Text)
		}
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

var inChannel = outbox.Route{Platform: bot.Slack, IncidentID: "INC-1", ChannelID: "C1"}

func TestEnqueueSetsLaneAndPayload(t *testing.T) {
	e := newEnv(t)
	got := []store.Effect{
		e.enqueue(inChannel, say{Text: "hi"}),
		e.enqueue(outbox.Route{Platform: bot.Slack, IncidentID: "INC-1"}, say{Text: "later"}),
		e.enqueue(outbox.Route{IncidentID: "INC-1", Key: "INC-1#1"}, ticket{Title: "fix"}),
	}
	for i, want := range []struct{ lane, key, payload string }{
		{"slack/C1", "effect-1", `{"text":"hi"}`},
		{"slack/INC-1", "effect-2", `{"text":"later"}`},
		{"tracker/INC-1", "INC-1#1", `{"title":"fix"}`},
	} {
		if got[i].Lane != want.lane || got[i].Key != want.key || string(got[i].Payload) != want.payload {
			t.Errorf("effect %d = lane %q key %q payload %s, want %q %q %s", i, got[i].Lane, got[i].Key, got[i].Payload, want.lane, want.key, want.payload)
		}
	}
	var err error
	e.update(func(tx store.Tx) error {
		_, err = e.ob.Enqueue(tx, inChannel, unknown{}, t0)
		return nil
	})
	if err == nil {
		t.Error("Enqueue of an undeclared kind succeeded")
	}
}

type unknown struct{}

func (unknown) EffectKind() store.EffectKind { return "unknown" }

// TestRetryBackoffAndRetryAfter fails a call three times (twice with
// backoff, once with Retry-After), restarting in the middle: nothing is
// attempted before its time, and the waits are the backoff's and the far
// side's.
func TestRetryBackoffAndRetryAfter(t *testing.T) {
	e := newEnv(t)
	e.sink.failNext("say C1 hi", errors.New("HTTP 500"), errors.New("HTTP 502"),
		&outbox.RetryAfterError{After: 42 * time.Second, Err: errors.New("429")})
	e.enqueue(inChannel, say{Text: "hi"})
	var waits []time.Duration
	for attempt := 1; attempt <= 3; attempt++ {
		if n := e.tick(); n != 0 {
			t.Fatalf("attempt %d delivered %d", attempt, n)
		}
		eff := e.effects()[0]
		if eff.Attempts != attempt || eff.LastError == "" {
			t.Fatalf("after attempt %d: %+v", attempt, eff)
		}
		wait := eff.NextAt.Sub(e.clock.Now())
		waits = append(waits, wait)
		e.clock.Advance(wait - time.Millisecond)
		before := len(e.sink.Calls())
		e.tick()
		if len(e.sink.Calls()) != before {
			t.Fatalf("attempted before its time: %q", e.sink.Calls()[before:])
		}
		e.clock.Advance(time.Millisecond)
		if attempt == 2 {
			e.restart()
		}
	}
	// Rand is 0.5: 3/4 of 2 s and 4 s; then exactly Retry-After.
	if want := []time.Duration{1500 * time.Millisecond, 3 * time.Second, 42 * time.Second}; !reflect.DeepEqual(waits, want) {
		t.Errorf("waits = %v, want %v", waits, want)
	}
	if n := e.tick(); n != 1 || len(e.effects()) != 0 {
		t.Errorf("after the waits: delivered %d, %d left", n, len(e.effects()))
	}
}

// TestLanes: a failing effect holds back the later ones of its lane, not
// those of another lane; effects for the incident's channel wait for it,
// and go in the pass that creates it.
func TestLanes(t *testing.T) {
	e := newEnv(t)
	e.enqueue(outbox.Route{Platform: bot.Slack, IncidentID: "INC-1"}, open{Name: "inc-1"})
	e.enqueue(outbox.Route{Platform: bot.Slack, IncidentID: "INC-1"}, say{Text: "first in channel"})
	e.enqueue(inChannel, say{Text: "one"})
	e.enqueue(inChannel, say{Text: "two"})
	e.enqueue(outbox.Route{Platform: bot.Slack, IncidentID: "INC-1", ChannelID: "C2"}, say{Text: "elsewhere"})
	e.sink.failNext("say C1 one", errors.New("boom"))
	if n := e.tick(); n != 3 {
		t.Errorf("delivered %d, want 3", n)
	}
	want := []string{"open inc-1", "say C-inc-1 first in channel", "FAILED say C1 one", "say C2 elsewhere"}
	if got := e.sink.Calls(); !reflect.DeepEqual(got, want) {
		t.Fatalf("calls:\n got %q\nwant %q", got, want)
	}
	e.clock.Advance(time.Minute)
	e.tick()
	want = append(want, "say C1 one", "say C1 two")
	if got := e.sink.Calls(); !reflect.DeepEqual(got, want) {
		t.Fatalf("calls after retry:\n got %q\nwant %q", got, want)
	}
}

// TestSinkNotReady keeps effects whose sink is not configured, in order,
// until it is.
func TestSinkNotReady(t *testing.T) {
	e := newEnv(t)
	e.sink.ready = false
	e.enqueue(inChannel, say{Text: "a"})
	e.enqueue(inChannel, say{Text: "b"})
	if n := e.tick(); n != 0 || len(e.effects()) != 2 || len(e.sink.Calls()) != 0 {
		t.Fatalf("with no sink: delivered %d, calls %q", n, e.sink.Calls())
	}
	e.sink.ready = true
	if n := e.tick(); n != 2 {
		t.Errorf("delivered %d, want 2", n)
	}
}

// TestPermanentFailure drops the effect and says so in the timeline, under
// the platform, or the sink's name when the effect has none.
func TestPermanentFailure(t *testing.T) {
	e := newEnv(t)
	e.sink.failNext("say C1 hi", &outbox.PermanentError{Err: errors.New("channel_not_found")})
	e.sink.failNext("ticket t", &outbox.PermanentError{Err: errors.New("bad credentials")})
	e.enqueue(inChannel, say{Text: "hi"})
	e.enqueue(outbox.Route{IncidentID: "INC-1"}, ticket{Title: "t"})
	e.tick()
	if n := len(e.effects()); n != 0 {
		t.Fatalf("%d effects left after permanent failures", n)
	}
	want := []string{
		"slack: could not say on slack: channel_not_found",
		"tracker: could not ticket on tracker: bad credentials",
	}
	if got := e.notes(); !reflect.DeepEqual(got, want) {
		t.Errorf("notes:\n got %q\nwant %q", got, want)
	}
}

// TestAtMostOnce: the Sent flag is durable before the first call, and every
// later attempt (after a failure, or a crash mid-call) is a Retry.
func TestAtMostOnce(t *testing.T) {
	e := newEnv(t)
	e.sink.failNext("ticket fix", errors.New("timeout"))
	e.enqueue(outbox.Route{IncidentID: "INC-1"}, ticket{Title: "fix"})
	e.tick()
	e.clock.Advance(time.Hour)
	e.tick()
	want := []string{"FAILED ticket fix", "ticket fix (look first)"}
	if got := e.sink.Calls(); !reflect.DeepEqual(got, want) {
		t.Errorf("calls = %q, want %q", got, want)
	}
	if got := e.sink.sentSeen; !reflect.DeepEqual(got, []bool{true, true}) {
		t.Errorf("Sent durable before each call = %v, want both true", got)
	}
}

// TestUndecodable drops effects of an unknown kind, with a broken payload,
// or in the legacy shape for a kind without a Legacy decoder, and delivers
// a legacy record of a kind that has one.
func TestUndecodable(t *testing.T) {
	e := newEnv(t)
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := bbolt.Open(e.path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	recs := []string{
		`{"id":1,"key":"k1","kind":"gone","lane":"slack/C1","platform":"slack","incident_id":"INC-1","channel_id":"C1","created_at":"2026-03-02T10:00:00Z","attempts":0,"next_at":"2026-03-02T10:00:00Z"}`,
		`{"id":2,"key":"k2","kind":"say","lane":"slack/C2","platform":"slack","incident_id":"INC-1","channel_id":"C2","payload":{"text":7},"created_at":"2026-03-02T10:00:00Z","attempts":0,"next_at":"2026-03-02T10:00:00Z"}`,
		`{"id":3,"key":"k3","kind":"open","platform":"slack","incident_id":"INC-1","name":"inc-1","created_at":"2026-03-02T10:00:00Z","attempts":0,"next_at":"2026-03-02T10:00:00Z"}`,
		`{"id":4,"key":"k4","kind":"say","platform":"slack","incident_id":"INC-1","channel_id":"C4","text":"from the old days","created_at":"2026-03-02T10:00:00Z","attempts":0,"next_at":"2026-03-02T10:00:00Z"}`,
	}
	err = raw.Update(func(tx *bbolt.Tx) error {
		for i, r := range recs {
			if err := tx.Bucket([]byte("outbox")).Put(binary.BigEndian.AppendUint64(nil, uint64(i+1)), []byte(r)); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := raw.Close(); err != nil || cerr != nil {
		t.Fatal(err, cerr)
	}
	e.open()
	e.tick()
	if got, want := e.sink.Calls(), []string{"say C4 from the old days"}; !reflect.DeepEqual(got, want) {
		t.Errorf("calls = %q, want %q", got, want)
	}
	notes := strings.Join(e.notes(), "\n")
	for _, want := range []string{`could not gone on slack: unknown effect kind "gone"`, "could not say on slack: effect k2: payload", "could not open on slack: effect k3 of kind open was written by an older debrief"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if n := len(e.effects()); n != 0 {
		t.Errorf("%d effects left", n)
	}
}

// TestKick: Kick never blocks, however often it is called.
func TestKick(t *testing.T) {
	e := newEnv(t)
	for range 3 {
		e.ob.Kick()
	}
	next, ok, err := e.ob.NextDue(context.Background())
	if err != nil || ok {
		t.Errorf("NextDue on an empty outbox = %v, %v, %v", next, ok, err)
	}
	e.enqueue(inChannel, say{Text: "x"})
	if next, ok, err := e.ob.NextDue(context.Background()); err != nil || !ok || !next.Equal(t0) {
		t.Errorf("NextDue = %v, %v, %v; want %v", next, ok, err, t0)
	}
}

// TestRunStuckLaneDelaysNoOther: while one lane's call hangs, Run delivers
// the other lanes, of the same platform and of the tracker, without
// waiting for it; and once the call returns, the stuck lane goes on.
func TestRunStuckLaneDelaysNoOther(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	e.sink.mu.Lock()
	e.sink.hang = map[string]chan struct{}{"say C1 stuck": release}
	e.sink.called = make(chan string, 16)
	e.sink.mu.Unlock()
	e.ob.Now = e.clock.Now
	e.enqueue(inChannel, say{Text: "stuck"})
	e.enqueue(inChannel, say{Text: "after"})
	e.enqueue(outbox.Route{Platform: bot.Slack, IncidentID: "INC-1", ChannelID: "C2"}, say{Text: "elsewhere"})
	e.enqueue(outbox.Route{IncidentID: "INC-1", Key: "INC-1#1"}, ticket{Title: "fix it"})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.ob.Run(ctx) }()
	want := map[string]bool{"say C1 stuck": true, "say C2 elsewhere": true, "ticket fix it": true}
	timeout := time.After(10 * time.Second)
	for len(want) > 0 {
		select {
		case c := <-e.sink.called:
			delete(want, c)
		case <-timeout:
			close(release)
			cancel()
			t.Fatalf("while one lane hung, these were not attempted: %v", want)
		}
	}
	close(release)
	for c := ""; c != "say C1 after"; {
		select {
		case c = <-e.sink.called:
		case <-timeout:
			cancel()
			t.Fatal("the stuck lane did not go on once its call returned")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

// TestGate: under WithGate, each delivery waits for the gate; one it
// refuses is not made and stays due, and the lane stops there.
func TestGate(t *testing.T) {
	e := newEnv(t)
	e.enqueue(inChannel, say{Text: "a"})
	e.enqueue(inChannel, say{Text: "b"})
	var asked int
	refuse := errors.New("lease not known to be alive")
	ctx := outbox.WithGate(context.Background(), func(context.Context) error {
		asked++
		if asked > 1 {
			return refuse
		}
		return nil
	})
	n, err := e.ob.Tick(ctx, e.clock.Now())
	if !errors.Is(err, refuse) || n != 1 {
		t.Errorf("Tick with the gate shut after one delivery = %d, %v; want 1, the gate's error", n, err)
	}
	if calls := e.sink.Calls(); len(calls) != 1 || len(e.effects()) != 1 {
		t.Errorf("calls %q, %d effects left; want one call, one effect", calls, len(e.effects()))
	}
	if n := e.tick(); n != 1 || len(e.effects()) != 0 {
		t.Errorf("without the gate: delivered %d, %d left; want 1, 0", n, len(e.effects()))
	}
}

// readThenWait is the test's store whose first View returns only when
// let is closed, after it has read: a pass slowed between its read of the
// effects and its claims, as on a loaded cluster.
type readThenWait struct {
	store.Store
	views     atomic.Int32
	read, let chan struct{}
}

func (s *readThenWait) View(ctx context.Context, fn func(store.ReadTx) error) error {
	err := s.Store.View(ctx, fn)
	if s.views.Add(1) == 1 {
		close(s.read)
		<-s.let
	}
	return err
}

// TestStaleRead: a pass whose read of the effects is older than a
// delivery another pass made meanwhile does not deliver that effect
// again.
func TestStaleRead(t *testing.T) {
	e := newEnv(t)
	e.enqueue(inChannel, say{Text: "once"})
	slow := &readThenWait{Store: e.db, read: make(chan struct{}), let: make(chan struct{})}
	e.ob.Store = slow
	stale := make(chan int)
	go func() {
		n, _ := e.ob.Tick(context.Background(), e.clock.Now())
		stale <- n
	}()
	<-slow.read
	if n := e.tick(); n != 1 {
		t.Fatalf("the fresh pass delivered %d, want 1", n)
	}
	close(slow.let)
	if n := <-stale; n != 0 {
		t.Errorf("the stale pass delivered %d, want 0", n)
	}
	if calls := e.sink.Calls(); len(calls) != 1 {
		t.Errorf("calls %q, want one", calls)
	}
}
