// Package outbox delivers debrief's effects on the outside world (a post, a
// channel, a GitHub issue) from the durable outbox in the store: each effect
// is written in the transaction of the state change that causes it, and
// delivered here at least once, with retries, exponential backoff with
// jitter, the far side's Retry-After, and a timeline note when it is dropped
// for good.
//
// The engine knows no kind of effect: the application gives it a table of
// Kinds, each with its payload type, its Sink, whether it waits for the
// incident's channel, and what its delivery unlocks. Effects are ordered in
// lanes (store.Effect.Lane): within a lane in ID order, so that messages keep
// their order and nothing is posted before its channel exists; a failing
// lane holds up no other.
//
// Time is injected: Tick makes one synchronous pass at a given now, and only
// Run waits on the wall clock.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/prometheus/client_golang/prometheus"
)

type gateKey struct{}

// WithGate returns a context under which the outbox calls gate right
// before each delivery, and delivers only once it returns nil; an error
// (gate's own, or ctx's end while it waits) leaves the effect due for the
// next pass. A replica that leads a cluster passes its lease check here
// (cmd/debrief/cluster.go): checked at the start of a pass, a lease could
// have expired by the time a slow lane reaches its next effect, and the
// next leader would deliver that effect too.
func WithGate(ctx context.Context, gate func(context.Context) error) context.Context {
	return context.WithValue(ctx, gateKey{}, gate)
}

func passGate(ctx context.Context) error {
	if gate, ok := ctx.Value(gateKey{}).(func(context.Context) error); ok {
		return gate(ctx)
	}
	return nil
}

// Metrics are the outbox's counters; any may be nil. What the outbox holds
// is read from the store when scraped (workflows.Service.OutboxCollector).
type Metrics struct {
	Delivered *prometheus.CounterVec // by kind
	Retries   *prometheus.CounterVec // failed attempts to retry, by kind
	Dropped   *prometheus.CounterVec // permanent failures, by kind
}

// Outbox delivers the effects of a Store. Create it with New; its fields are
// set before first use and not changed after.
type Outbox struct {
	Store store.Store
	// Now is the clock Run passes to Tick; time.Now when nil.
	Now func() time.Time
	// Rand returns a number in [0,1) for backoff jitter; rand.Float64 when
	// nil.
	Rand    func() float64
	Log     *slog.Logger
	Metrics Metrics

	kinds    map[store.EffectKind]spec
	wakeOnce sync.Once
	wake     chan struct{}

	changedMu sync.Mutex
	changed   chan struct{} // closed when an effect leaves the outbox or is put off
	// mu guards inflight (the lanes being delivered) and sems (the bound
	// of each sink and platform, LaneWorkers).
	mu       sync.Mutex
	inflight map[string]bool
	sems     map[string]chan struct{}
	// A pass reads the pending effects, then claims their lanes; a lane
	// that finished in between (its effect delivered and deleted) must
	// not be claimed with the stale read, or that effect goes out twice.
	// finished counts lane ends; finishedAt notes each lane's last end
	// while a pass is between its read and its claims (reading counts
	// them), and is cleared when none is.
	finished   uint64
	finishedAt map[string]uint64
	reading    int
	// running counts the lane goroutines, which Run waits for.
	running sync.WaitGroup
}

// Changed returns a channel that is closed the next time an effect is
// delivered, dropped or put off for a retry: a caller waiting for the
// effects it caused (Settle) takes it before looking at the outbox, so
// that no change between its look and its wait is missed.
func (o *Outbox) Changed() <-chan struct{} {
	o.changedMu.Lock()
	defer o.changedMu.Unlock()
	if o.changed == nil {
		o.changed = make(chan struct{})
	}
	return o.changed
}

func (o *Outbox) notify() {
	o.changedMu.Lock()
	defer o.changedMu.Unlock()
	if o.changed != nil {
		close(o.changed)
		o.changed = nil
	}
}

// New returns an outbox over st that delivers the given kinds. Two kinds
// with one payload kind name are a programming error: New panics.
func New(st store.Store, kinds ...Spec) *Outbox {
	o := &Outbox{Store: st, kinds: make(map[store.EffectKind]spec, len(kinds))}
	for _, k := range kinds {
		sp := k.erase()
		if _, dup := o.kinds[sp.kind]; dup {
			panic("outbox: effect kind " + string(sp.kind) + " declared twice")
		}
		o.kinds[sp.kind] = sp
	}
	return o
}

func (o *Outbox) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *Outbox) log() *slog.Logger {
	if o.Log != nil {
		return o.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (o *Outbox) jitter() float64 {
	if o.Rand != nil {
		return o.Rand()
	}
	return rand.Float64()
}

// Enqueue adds the effect p, routed by r, to the outbox within tx, due now.
// It returns the stored envelope. The caller commits tx, then calls Kick.
func (o *Outbox) Enqueue(tx store.Tx, r Route, p Payload, now time.Time) (store.Effect, error) {
	kind := p.EffectKind()
	sp, ok := o.kinds[kind]
	if !ok {
		return store.Effect{}, fmt.Errorf("outbox: enqueue: unknown effect kind %q", kind)
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return store.Effect{}, fmt.Errorf("outbox: enqueue %s: %w", kind, err)
	}
	e, err := tx.AddEffect(store.Effect{
		Key: r.Key, Kind: kind, Lane: sp.sink.lane(r), Platform: r.Platform, IncidentID: r.IncidentID,
		ChannelID: r.ChannelID, Payload: raw, Sent: r.Sent, CreatedAt: now, NextAt: now,
	})
	if err != nil {
		return store.Effect{}, fmt.Errorf("outbox: enqueue %s for %s: %w", kind, r.IncidentID, err)
	}
	return e, nil
}

// LaneWorkers bounds how many lanes of one sink and platform (Slack, the
// tracker...) are delivered at once. Lanes of different sinks or platforms
// never share a bound: a hanging Slack holds up at most its own lanes, and
// a Discord channel or a GitHub issue goes out meanwhile.
const LaneWorkers = 8

// Tick makes one pass over the outbox at now: every effect whose time has
// come is attempted once, in ID order within its lane, unless an earlier
// effect of its lane is still pending, its sink is not configured, or it
// needs the incident's channel and that does not exist yet. It returns how
// many effects were delivered. Tick goes lane after lane, so that a test's
// pass is one deterministic sequence; Run delivers the same lanes in
// parallel. A lane that Run is delivering is left to it.
func (o *Outbox) Tick(ctx context.Context, now time.Time) (int, error) {
	return o.pass(ctx, now, true)
}

// laneState is what the lanes of a pass share: the incidents' channels
// (refreshed when a lane creates one), the count delivered, and (inline)
// the errors.
type laneState struct {
	mu        sync.Mutex
	channels  map[string]map[bot.Platform]string
	delivered int
	errs      []error
}

func (st *laneState) channel(incident string, p bot.Platform) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.channels[incident][p]
}

// pass loads the due effects and delivers each lane not already in flight.
// Inline (Tick), it delivers them one after the other and returns the
// count; without (Run), it starts one goroutine per lane, bounded by
// LaneWorkers per sink and platform, and returns at once: Run's next pass
// starts when a lane ends or Kick is called.
func (o *Outbox) pass(ctx context.Context, now time.Time, inline bool) (int, error) {
	o.mu.Lock()
	readAt := o.finished
	o.reading++
	o.mu.Unlock()
	defer func() {
		o.mu.Lock()
		if o.reading--; o.reading == 0 {
			clear(o.finishedAt)
		}
		o.mu.Unlock()
	}()
	var pending []store.Effect
	channels := map[string]map[bot.Platform]string{}
	err := o.Store.View(ctx, func(tx store.ReadTx) error {
		var err error
		if pending, err = tx.Effects(); err != nil {
			return err
		}
		for _, e := range pending {
			if _, ok := channels[e.IncidentID]; ok || e.IncidentID == "" {
				continue
			}
			inc, err := tx.Incident(e.IncidentID)
			if err != nil {
				return err
			}
			channels[e.IncidentID] = inc.Channels
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("outbox: pass: %w", err)
	}
	var order []string
	lanes := map[string][]store.Effect{}
	for _, e := range pending {
		if _, ok := lanes[e.Lane]; !ok {
			order = append(order, e.Lane)
		}
		lanes[e.Lane] = append(lanes[e.Lane], e)
	}
	st := &laneState{channels: channels}
	for _, lane := range order {
		effects := lanes[lane]
		if effects[0].NextAt.After(now) || !o.claim(lane, readAt) {
			continue // not due, in flight from an earlier pass, or done since the read
		}
		if inline {
			if err := o.lane(ctx, now, effects, st); err != nil {
				st.errs = append(st.errs, err)
			}
			o.unclaim(lane, false)
			continue
		}
		sem := o.sem(effects[0])
		o.running.Add(1)
		go func() {
			defer o.running.Done()
			defer o.unclaim(lane, true)
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			if err := o.lane(ctx, now, effects, st); err != nil && ctx.Err() == nil {
				o.log().ErrorContext(ctx, "outbox lane failed", "lane", lane, "err", err)
			}
		}()
	}
	if !inline {
		return 0, nil
	}
	return st.delivered, errors.Join(st.errs...)
}

// claim marks lane in flight, reporting false when it already was, or
// when it finished since the pass read the effects (readAt): that read
// may list an effect since delivered. The lane's end kicked Run, whose
// next pass reads afresh.
func (o *Outbox) claim(lane string, readAt uint64) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.inflight == nil {
		o.inflight = map[string]bool{}
	}
	if o.inflight[lane] || o.finishedAt[lane] > readAt {
		return false
	}
	o.inflight[lane] = true
	return true
}

// unclaim ends lane's flight; kick asks Run for another pass, since what
// the lane did (a channel created, a failure scheduled) changes what is due.
func (o *Outbox) unclaim(lane string, kick bool) {
	o.mu.Lock()
	delete(o.inflight, lane)
	o.finished++
	if o.reading > 0 {
		if o.finishedAt == nil {
			o.finishedAt = map[string]uint64{}
		}
		o.finishedAt[lane] = o.finished
	}
	o.mu.Unlock()
	if kick {
		o.Kick()
	}
}

// inFlight reports whether lane is being delivered.
func (o *Outbox) inFlight(lane string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.inflight[lane]
}

// sem returns the bound of e's sink and platform.
func (o *Outbox) sem(e store.Effect) chan struct{} {
	group := string(e.Platform)
	if sp, ok := o.kinds[e.Kind]; ok {
		group = sp.sink.Name + "/" + group
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.sems == nil {
		o.sems = map[string]chan struct{}{}
	}
	if o.sems[group] == nil {
		o.sems[group] = make(chan struct{}, LaneWorkers)
	}
	return o.sems[group]
}

// lane attempts the due effects of one lane in ID order, stopping at the
// first that is not due, cannot go yet, or fails. It returns an error only
// when the store could not record what happened.
func (o *Outbox) lane(ctx context.Context, now time.Time, effects []store.Effect, st *laneState) error {
	for _, e := range effects {
		if err := ctx.Err(); err != nil {
			return err
		}
		sp, known := o.kinds[e.Kind]
		a := Attempt{Effect: e, Channel: e.ChannelID, Retry: e.Sent, Now: now}
		if a.Channel == "" {
			a.Channel = st.channel(e.IncidentID, e.Platform)
		}
		if e.NextAt.After(now) || (known && (!sp.sink.Ready(e.Platform) || (sp.needsChannel && a.Channel == ""))) {
			return nil
		}
		if !known {
			// Written by a newer debrief, or a kind since removed:
			// nothing here can deliver it.
			err := &PermanentError{Err: fmt.Errorf("unknown effect kind %q", e.Kind)}
			return o.failed(ctx, sp, e, err, now)
		}
		if sp.atMostOnce && !e.Sent {
			// Durably, before the call: if the process dies while the
			// far side acts, the next attempt looks for what it did.
			e.Sent = true
			a.Effect = e
			if err := o.Store.Update(ctx, func(tx store.Tx) error { return tx.UpdateEffect(e) }); err != nil {
				return fmt.Errorf("outbox: %s %s: mark sent: %w", e.Kind, e.Key, err)
			}
		}
		if err := passGate(ctx); err != nil {
			return fmt.Errorf("outbox: %s %s: %w", e.Kind, e.Key, err)
		}
		result, err := sp.deliver(ctx, a)
		if err != nil {
			return o.failed(ctx, sp, e, err, now)
		}
		opened, err := o.delivered(ctx, sp, a, result, st.channel(e.IncidentID, e.Platform) == "")
		if err != nil {
			return err
		}
		st.mu.Lock()
		if opened != nil {
			st.channels[e.IncidentID] = opened
		}
		st.delivered++
		st.mu.Unlock()
	}
	return nil
}

// delivered removes the effect from the outbox and applies what its
// delivery unlocks, in one transaction. When refresh is set (the incident
// had no channel on the effect's platform), it returns the incident's
// channels as they are after the transaction, so that effects waiting for
// a channel this one created go in the same pass.
func (o *Outbox) delivered(ctx context.Context, sp spec, a Attempt, r Result, refresh bool) (map[bot.Platform]string, error) {
	e := a.Effect
	var channels map[bot.Platform]string
	err := o.Store.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeleteEffect(e.ID); err != nil {
			return err
		}
		if err := sp.delivered(tx, a, r); err != nil {
			return err
		}
		if refresh && e.IncidentID != "" {
			inc, err := tx.Incident(e.IncidentID)
			if err != nil {
				return err
			}
			channels = inc.Channels
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: delivered %s %s: %w", e.Kind, e.Key, err)
	}
	o.notify()
	if o.Metrics.Delivered != nil {
		o.Metrics.Delivered.WithLabelValues(string(e.Kind)).Inc()
	}
	o.log().DebugContext(ctx, "effect delivered", "incident", e.IncidentID, "platform", e.Platform,
		"kind", e.Kind, "key", e.Key, "result", r.ID)
	return channels, nil
}

// failed records a failed attempt: the effect is retried later (after the
// far side's Retry-After, or a backoff), or dropped with a timeline note
// when the failure is permanent.
func (o *Outbox) failed(ctx context.Context, sp spec, e store.Effect, cause error, now time.Time) error {
	defer o.notify()
	var perm *PermanentError
	if errors.As(cause, &perm) {
		where := e.Platform
		if where == "" {
			where = bot.Platform(sp.sink.Name)
		}
		o.log().ErrorContext(ctx, "effect dropped", "incident", e.IncidentID, "platform", where,
			"kind", e.Kind, "key", e.Key, "err", cause)
		if o.Metrics.Dropped != nil {
			o.Metrics.Dropped.WithLabelValues(string(e.Kind)).Inc()
		}
		err := o.Store.Update(ctx, func(tx store.Tx) error {
			if err := tx.DeleteEffect(e.ID); err != nil {
				return err
			}
			if e.IncidentID == "" {
				return nil
			}
			_, _, err := tx.AppendEvent(bot.TimelineEvent{
				IncidentID: e.IncidentID, Kind: bot.EventBot, Author: BotUser(where),
				Text:       fmt.Sprintf("could not %s on %s: %v", e.Kind, where, perm.Err),
				RecordedAt: now, PlatformAt: now,
			})
			return err
		})
		if err != nil {
			return fmt.Errorf("outbox: drop %s %s: %w", e.Kind, e.Key, err)
		}
		return nil
	}
	e.Attempts++
	e.LastError = cause.Error()
	var ra *RetryAfterError
	if errors.As(cause, &ra) {
		e.NextAt = now.Add(ra.After)
	} else {
		e.NextAt = now.Add(Backoff(e.Attempts, o.jitter()))
	}
	if o.Metrics.Retries != nil {
		o.Metrics.Retries.WithLabelValues(string(e.Kind)).Inc()
	}
	o.log().WarnContext(ctx, "effect failed, will retry", "incident", e.IncidentID, "platform", e.Platform,
		"kind", e.Kind, "key", e.Key, "attempts", e.Attempts, "next_at", e.NextAt, "err", cause)
	if err := o.Store.Update(ctx, func(tx store.Tx) error { return tx.UpdateEffect(e) }); err != nil {
		return fmt.Errorf("outbox: retry %s %s: %w", e.Kind, e.Key, err)
	}
	return nil
}

// BotUser is the author of the timeline entries the bot writes about
// effects on platform p.
func BotUser(p bot.Platform) bot.User {
	return bot.User{Platform: p, ID: "debrief", Name: "debrief"}
}

// NextDue returns when the earliest pending effect is due, and false when
// the outbox is empty.
func (o *Outbox) NextDue(ctx context.Context) (time.Time, bool, error) {
	var next time.Time
	found := false
	err := o.Store.View(ctx, func(tx store.ReadTx) error {
		effects, err := tx.Effects()
		if err != nil {
			return err
		}
		for _, e := range effects {
			if o.inFlight(e.Lane) {
				continue // its goroutine ends with a Kick
			}
			if !found || e.NextAt.Before(next) {
				next, found = e.NextAt, true
			}
		}
		return nil
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("outbox: next due: %w", err)
	}
	return next, found, nil
}

func (o *Outbox) wakeChan() chan struct{} {
	o.wakeOnce.Do(func() { o.wake = make(chan struct{}, 1) })
	return o.wake
}

// Kick tells Run there is new work: call it after committing a
// transaction that enqueued effects.
func (o *Outbox) Kick() {
	select {
	case o.wakeChan() <- struct{}{}:
	default:
	}
}

// Run delivers effects until ctx is done: each pass starts the due lanes
// that are not in flight and does not wait for them; it then sleeps until
// the next effect of an idle lane is due, a lane ends, or Kick is called.
// A lane stuck on a hanging platform delays no other. This loop is the only
// place that waits on the wall clock; tests call Tick. It returns nil once
// ctx is done and its lanes have stopped: a failed pass is logged and
// retried, never fatal.
func (o *Outbox) Run(ctx context.Context) error {
	const idle = time.Minute
	wake := o.wakeChan()
	defer o.running.Wait()
	for {
		if _, err := o.pass(ctx, o.now(), false); err != nil && ctx.Err() == nil {
			o.log().ErrorContext(ctx, "outbox pass failed", "err", err)
		}
		wait := idle
		if next, ok, err := o.NextDue(ctx); err == nil && ok {
			wait = min(max(next.Sub(o.now()), 10*time.Millisecond), idle)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-wake:
			t.Stop()
		case <-t.C:
		}
	}
}
