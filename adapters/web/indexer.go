package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/blevesearch/bleve/v2"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
)

// Indexer follows the store into the Index and keeps the Catalog, the
// incidents in memory that the list, the stats and the feed read. It runs
// beside the ingest path, never in it: an event is acknowledged once
// committed, and becomes searchable at the Indexer's next Tick (every
// TickEvery, half a second by default: within 2 s of its commit even
// when a Tick takes a second on a loaded machine).
//
// Each Tick asks the store for every timeline's length (TimelineLens) and
// compares it with the cursor the index keeps per incident: an incident
// whose timeline grew gets its new entries (TimelineSince) and its own
// document indexed, with the cursor, in one batch. Every workflows verb
// that changes an incident appends to its timeline; what changes an
// incident without an entry (a channel created) is caught by a sweep that
// rereads every incident every SweepEvery, a share of them each Tick.
type Indexer struct {
	Store   store.Store
	Index   *Index
	Catalog *Catalog
	Log     *slog.Logger
	// TickEvery is how often Run ticks; half a second when zero.
	TickEvery time.Duration
	// Ticks, when set, replaces Run's ticker: each time received is a
	// Tick's now. Tests drive Run with it on an injected clock.
	Ticks <-chan time.Time
	// SweepEvery is how often every incident is reread; a minute when
	// zero.
	SweepEvery time.Duration
	// Batch bounds the entries indexed per incident per Tick, so that a
	// 100k-entry timeline is indexed in steps that each commit, and the
	// size of each index batch.
	Batch int

	lastTick time.Time
	sweepAt  int // where in the catalog the next Tick's share starts
	// followed is each incident's timeline length as last followed into
	// the index: a Tick skips the incidents whose length is unchanged
	// without reading the index, so that its cost is the incidents that
	// grew, not all of them (commit to searchable, README).
	followed map[string]uint64
}

const defaultBatch = 5000

// Tick indexes what was committed since the last Tick and returns how many
// entries it indexed.
func (x *Indexer) Tick(ctx context.Context, now time.Time) (int, error) {
	every := x.SweepEvery
	if every <= 0 {
		every = time.Minute
	}
	// Every SweepEvery each incident is reread. Not all in one Tick:
	// over 10k incidents that took seconds, and held up the entries
	// committed meanwhile (commit to searchable, README). Each Tick
	// rereads the share of them that the time since the last Tick is of
	// SweepEvery, and all of them when that is the whole, or the catalog
	// was never loaded.
	share := 1.0
	if x.Catalog.Ready() && !x.lastTick.IsZero() {
		share = float64(now.Sub(x.lastTick)) / float64(every)
	}
	x.lastTick = now
	full := share >= 1
	var some []string
	if !full {
		known := x.Catalog.All()
		k := min(len(known), int(math.Ceil(share*float64(len(known)))))
		for range k {
			x.sweepAt %= len(known)
			some = append(some, known[x.sweepAt].ID)
			x.sweepAt++
		}
	}
	var lens map[string]uint64
	var all []*bot.Incident
	err := x.Store.View(ctx, func(tx store.ReadTx) error {
		var err error
		if lens, err = tx.TimelineLens(); err != nil {
			return err
		}
		if full {
			all, err = tx.Incidents()
			return err
		}
		for _, id := range some {
			inc, err := tx.Incident(id)
			if bot.ErrorCode(err) == bot.ENOTFOUND {
				continue
			}
			if err != nil {
				return err
			}
			all = append(all, inc)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("web: index: %w", err)
	}
	if x.followed == nil {
		x.followed = map[string]uint64{}
	}
	if len(all) > 0 {
		b := x.Index.idx.NewBatch()
		for _, inc := range all {
			if x.Catalog.put(inc) {
				if err := b.Index(inc.ID, incidentDoc(inc)); err != nil {
					return 0, fmt.Errorf("web: index %s: %w", inc.ID, err)
				}
				// Its entries may carry facets it no longer has.
				delete(x.followed, inc.ID)
			}
		}
		if err := x.Index.idx.Batch(b); err != nil {
			return 0, fmt.Errorf("web: index: %w", err)
		}
	}
	if full {
		x.Catalog.markReady()
	}
	ids := make([]string, 0, len(lens))
	for id, n := range lens {
		if f, ok := x.followed[id]; !ok || f != n {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	// Incidents share batches: a bleve batch is a segment, and one per
	// incident would make a first pass over 10k incidents build 10k of
	// them. Each incident's cursor is in the batch with its documents.
	limit := x.batch()
	b := x.Index.idx.NewBatch()
	// caughtUp are the incidents of b whose whole timeline b holds: they
	// are skipped from the next Tick on once b is written, not before.
	caughtUp := map[string]uint64{}
	flush := func() error {
		if b.Size() > 0 {
			if err := x.Index.idx.Batch(b); err != nil {
				return fmt.Errorf("web: index: %w", err)
			}
			b.Reset()
		}
		for id, n := range caughtUp {
			x.followed[id] = n
		}
		clear(caughtUp)
		return nil
	}
	total := 0
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, done, err := x.follow(ctx, b, id, lens[id])
		total += n
		if err != nil {
			return total, err
		}
		if done {
			caughtUp[id] = lens[id]
		}
		if b.Size() >= limit {
			if err := flush(); err != nil {
				return total, err
			}
		}
	}
	return total, flush()
}

func (x *Indexer) batch() int {
	if x.Batch <= 0 {
		return defaultBatch
	}
	return x.Batch
}

// follow indexes incident id's entries past its cursor, up to head. When
// the incident's severity, kind, title or tags differ from what its
// entries were indexed with, it feeds them all again from Seq 1, so that
// the filters stay true.
//
// caughtUp reports whether the index holds the timeline up to head.
func (x *Indexer) follow(ctx context.Context, b *bleve.Batch, id string, head uint64) (n int, caughtUp bool, err error) {
	cur, err := x.Index.cursor(id)
	if err != nil {
		return 0, false, fmt.Errorf("web: index cursor %s: %w", id, err)
	}
	indexed, err := x.Index.idx.GetInternal(facetsKey(id))
	if err != nil {
		return 0, false, fmt.Errorf("web: index facets %s: %w", id, err)
	}
	if known := x.Catalog.Get(id); cur >= head && known != nil && string(indexed) == facetsOf(known) {
		return 0, true, nil
	}
	limit := x.batch()
	var inc *bot.Incident
	var evs []bot.TimelineEvent
	err = x.Store.View(ctx, func(tx store.ReadTx) error {
		var err error
		if inc, err = tx.Incident(id); err != nil {
			return err
		}
		if string(indexed) != facetsOf(inc) {
			cur = 0
		}
		evs, err = tx.TimelineSince(id, cur, limit)
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("web: index %s: %w", id, err)
	}
	x.Catalog.put(inc)
	if err := b.Index(inc.ID, incidentDoc(inc)); err != nil {
		return 0, false, fmt.Errorf("web: index %s: %w", id, err)
	}
	next := cur
	for _, ev := range evs {
		if err := b.Index(entryID(id, ev.Seq), entryDoc(inc, ev)); err != nil {
			return 0, false, fmt.Errorf("web: index %s: %w", id, err)
		}
		next = ev.Seq
	}
	b.SetInternal(cursorKey(id), []byte(strconv.FormatUint(next, 10)))
	b.SetInternal(facetsKey(id), []byte(facetsOf(inc)))
	return len(evs), next >= head, nil
}

// facetsKey is where the index keeps the facets (facetsOf) that incident
// id's entries were indexed with.
func facetsKey(id string) []byte { return []byte("facets/" + id) }

// facetsOf is what entries copy from their incident, as one string.
func facetsOf(inc *bot.Incident) string {
	return fmt.Sprintf("%d|%s|%q|%q", inc.Severity, inc.Kind, inc.Title, inc.Tags)
}

// Run ticks every TickEvery until ctx is done: an entry committed now is
// searchable after the next Tick, within TickEvery plus that Tick's own
// time (README, "The archive's benchmarks": commit to searchable).
func (x *Indexer) Run(ctx context.Context) error {
	ticks := x.Ticks
	if ticks == nil {
		t := time.NewTicker(x.tickEvery())
		defer t.Stop()
		ticks = t.C
	}
	now := time.Now()
	for {
		start := time.Now()
		if n, err := x.Tick(ctx, now); err != nil && ctx.Err() == nil {
			x.log().ErrorContext(ctx, "indexing failed", "err", err)
		} else if n > 0 {
			// took is the part of commit to searchable that is not the
			// wait for the beat.
			x.log().DebugContext(ctx, "indexed", "entries", n, "took", time.Since(start))
		}
		select {
		case <-ctx.Done():
			return nil
		case now = <-ticks:
		}
	}
}

func (x *Indexer) tickEvery() time.Duration {
	if x.TickEvery <= 0 {
		return 500 * time.Millisecond
	}
	return x.TickEvery
}

func (x *Indexer) log() *slog.Logger {
	if x.Log != nil {
		return x.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Reindex rebuilds the index at path from the store and returns how many
// timeline entries it indexed.
func Reindex(ctx context.Context, s store.Store, path string) (int, error) {
	idx, err := CreateIndex(path)
	if err != nil {
		return 0, err
	}
	defer idx.Close()
	x := &Indexer{Store: s, Index: idx, Catalog: NewCatalog(), Batch: 10000}
	total := 0
	for {
		n, err := x.Tick(ctx, time.Now())
		total += n
		if err != nil {
			return total, err
		}
		if n == 0 {
			if err := idx.Compact(ctx); err != nil {
				return total, err
			}
			return total, idx.Sync(ctx)
		}
	}
}

// Catalog is every incident, in memory, as last seen by the Indexer: the
// list, the stats and the feed filter a few thousand structs rather than
// decode every incident from the store on each request.
type Catalog struct {
	mu   sync.RWMutex
	byID map[string]*bot.Incident
	// newest is every incident, newest (highest number) first.
	newest []*bot.Incident
	ready  bool
}

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog { return &Catalog{byID: map[string]*bot.Incident{}} }

// put stores inc and reports whether it differs from what was there.
func (c *Catalog) put(inc *bot.Incident) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.byID[inc.ID]
	if old != nil && equalIncident(old, inc) {
		return false
	}
	c.byID[inc.ID] = inc
	if old != nil {
		for i, o := range c.newest {
			if o.ID == inc.ID {
				c.newest[i] = inc
				return true
			}
		}
	}
	i, _ := slices.BinarySearchFunc(c.newest, inc.Number, func(a *bot.Incident, n int) int { return n - a.Number })
	c.newest = slices.Insert(c.newest, i, inc)
	return true
}

func (c *Catalog) markReady() {
	c.mu.Lock()
	c.ready = true
	c.mu.Unlock()
}

// Get returns the incident with id, or nil.
func (c *Catalog) Get(id string) *bot.Incident {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.byID[id]
}

// All returns every incident, newest first. The slice is the caller's; the
// incidents are shared and must not be changed.
func (c *Catalog) All() []*bot.Incident {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return slices.Clone(c.newest)
}

// Ready reports whether the catalog was loaded at least once.
func (c *Catalog) Ready() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.ready
}

// equalIncident compares what the archive shows of two versions of an
// incident; its JSON is the simplest full comparison.
func equalIncident(a, b *bot.Incident) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}
