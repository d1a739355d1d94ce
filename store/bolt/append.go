package bolt

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/debrief/debrief/bot"
	bbolt "go.etcd.io/bbolt"
)

const (
	// reqBuffer lets submitters queue while a commit is in flight, so the
	// next batch is ready the moment the fsync returns.
	reqBuffer = 1024
	// maxBatch bounds one transaction, so that a flood of appends cannot
	// build a transaction whose dirty pages outgrow memory or whose fsync
	// delays the first caller in it for long.
	maxBatch = 4096

	// timelineFill and dedupeFill are how full bbolt packs the pages of
	// those buckets when it splits them (its default is half). Timeline
	// keys grow (commit time), and so do the dedupe keys adapters make
	// (channel and message ts or snowflake, see bot.TimelineEvent.DedupeKey)
	// within each channel: pages left behind at the right edge are never
	// written again, so they are packed. The dedupe index keeps a tenth
	// free for what lands in the middle (a reaction to an older message,
	// an edit), which would otherwise split a full page at once.
	timelineFill = 1.0
	dedupeFill   = 0.9
)

// entry is one append on its way through the committer. Entries are pooled:
// the committer touches an entry only until it signals done, and only the
// caller that received that signal puts it back.
type entry struct {
	ev   bot.TimelineEvent // IncidentID canonical, Seq 0
	num  uint64            // the incident's number
	id   []byte            // timeline bucket name
	dkey []byte            // ev.DedupeKey
	enc  []byte            // encodeCompact(ev): the stored value

	// Scratch that bbolt holds on to until the transaction ends (as it
	// does enc).
	key  [16]byte
	dval []byte

	// Results, valid once done is signalled.
	stored bot.TimelineEvent
	dup    bool
	err    error
	done   chan struct{}
}

var entryPool = sync.Pool{New: func() any {
	return &entry{done: make(chan struct{}, 1)}
}}

// maxPooled keeps one huge entry (a pasted log) from pinning its buffers in
// the pool for good.
const maxPooled = 64 << 10

func release(e *entry) {
	if cap(e.enc) > maxPooled {
		return
	}
	e.ev, e.stored, e.err = bot.TimelineEvent{}, bot.TimelineEvent{}, nil
	entryPool.Put(e)
}

// prepare checks ev and encodes it, outside any transaction. Errors are
// final: ev cannot be stored as given.
func (e *entry) prepare(ev bot.TimelineEvent) error {
	n, ok := bot.ParseIncidentID(ev.IncidentID)
	if !ok {
		return bot.Errorf(bot.ENOTFOUND, "No incident %s.", ev.IncidentID)
	}
	if !isIncidentID(ev.IncidentID, n) {
		ev.IncidentID = bot.IncidentID(n)
	}
	if !validTime(ev.RecordedAt) {
		return fmt.Errorf("store: append %s: RecordedAt %v outside 1970..2262", ev.IncidentID, ev.RecordedAt)
	}
	if len(ev.DedupeKey) > bbolt.MaxKeySize {
		return fmt.Errorf("store: append %s: dedupe key of %d bytes", ev.IncidentID, len(ev.DedupeKey))
	}
	// The compact encoding could keep any PlatformAt, but the API and the
	// exports speak JSON, whose RFC 3339 times end at year 9999: an entry
	// they could not show is refused here, as encoding/json refused it
	// when it was the store's encoding.
	if y := ev.PlatformAt.Year(); !ev.PlatformAt.IsZero() && (y < 0 || y > 9999) {
		return fmt.Errorf("store: append %s: PlatformAt %v outside years 0..9999", ev.IncidentID, ev.PlatformAt)
	}
	ev.Seq = 0
	e.ev = ev
	e.num = uint64(n)
	e.id = append(e.id[:0], ev.IncidentID...)
	e.dkey = append(e.dkey[:0], ev.DedupeKey...)
	e.enc = encodeCompact(e.enc[:0], &ev)
	return nil
}

// isIncidentID reports whether id is exactly bot.IncidentID(n), without
// building that string on the hot path.
func isIncidentID(id string, n int) bool {
	var b [24]byte
	return strings.HasPrefix(id, "INC-") && id[4:] == string(strconv.AppendInt(b[:0], int64(n), 10))
}

// write stores the prepared entry in btx, or finds the entry stored earlier
// under its DedupeKey. It is the one place the timeline is written, for the
// committer and for Tx.AppendEvent alike.
//
// A problem with this entry alone (unknown incident, a dangling dedupe
// record) goes to e.err and writes nothing, so it cannot spoil the other
// entries of a batch. The returned error means the transaction itself failed
// and must be rolled back.
func (e *entry) write(btx *bbolt.Tx) error {
	e.stored, e.dup, e.err = bot.TimelineEvent{}, false, nil
	tl := btx.Bucket(bucketTimelines).Bucket(e.id)
	if tl == nil {
		e.err = bot.Errorf(bot.ENOTFOUND, "No incident %s.", e.ev.IncidentID)
		return nil
	}
	// Timeline keys are time-ordered, so nearly every entry lands at the
	// right edge: full pages (bbolt's advice for append-only keys) halve the
	// pages each commit writes and the file. FillPercent belongs to this
	// transaction's bucket handle, so it is set at every write.
	tl.FillPercent = timelineFill
	dd := btx.Bucket(bucketDedupe)
	dd.FillPercent = dedupeFill
	if len(e.dkey) > 0 {
		if ref := dd.Get(e.dkey); ref != nil {
			e.stored, e.err = lookupRef(btx, ref)
			e.dup = e.err == nil
			return nil
		}
	}

	seq, err := tl.NextSequence()
	if err != nil {
		return err
	}
	binary.BigEndian.PutUint64(e.key[:8], uint64(e.ev.RecordedAt.UnixNano()))
	binary.BigEndian.PutUint64(e.key[8:], seq)
	if isLate(tl, e.key[:]) {
		if err := btx.Bucket(bucketLate).Put(lateKey(e.num, seq), e.key[:]); err != nil {
			return err
		}
	}
	if err := tl.Put(e.key[:], e.enc); err != nil {
		return err
	}
	if len(e.dkey) > 0 {
		e.dval = append(append(e.dval[:0], e.key[:]...), e.id...)
		if err := dd.Put(e.dkey, e.dval); err != nil {
			return err
		}
	}
	e.stored = e.ev
	e.stored.Seq = seq
	return nil
}

// lookupRef reads the timeline entry a dedupe record points at.
func lookupRef(btx *bbolt.Tx, ref []byte) (bot.TimelineEvent, error) {
	if len(ref) < 16 {
		return bot.TimelineEvent{}, fmt.Errorf("store: dedupe record of %d bytes", len(ref))
	}
	var v []byte
	if tl := btx.Bucket(bucketTimelines).Bucket(ref[16:]); tl != nil {
		v = tl.Get(ref[:16])
	}
	if v == nil {
		return bot.TimelineEvent{}, fmt.Errorf("store: dedupe record points at missing entry %s/%x", ref[16:], ref[:16])
	}
	ev, err := decodeEntry(string(ref[16:]), ref[:16], v)
	if err != nil {
		return bot.TimelineEvent{}, fmt.Errorf("store: timeline %s: %x: %w", ref[16:], ref[:16], err)
	}
	return ev, nil
}

// maxTime is the last instant whose UnixNano fits in an int64.
var maxTime = time.Unix(0, math.MaxInt64)

// validTime reports whether t fits the 8-byte big-endian UnixNano keys. The
// times stored are the bot's own clock, so anything outside is a bug.
func validTime(t time.Time) bool {
	return !t.Before(time.Unix(0, 0)) && !t.After(maxTime)
}

// Append commits ev to its incident's timeline and returns the stored entry
// (Seq set) once the transaction holding it is fsynced. Concurrent calls
// share one transaction: a single committer goroutine takes everything
// queued as soon as the previous commit ends, so a burst costs one fsync and
// an idle store adds no delay.
//
// If ev.DedupeKey was stored before (even earlier in the same batch),
// nothing is written and the earlier entry comes back with dup true. The
// incident must exist (ENOTFOUND otherwise) and ev.RecordedAt must be set.
//
// If ctx ends while waiting, Append returns ctx.Err() but the entry may
// still commit: only a nil error acknowledges it, and a redelivery with the
// same DedupeKey is then answered from the store.
func (db *DB) Append(ctx context.Context, ev bot.TimelineEvent) (bot.TimelineEvent, bool, error) {
	if err := ctx.Err(); err != nil {
		return bot.TimelineEvent{}, false, err
	}
	e := entryPool.Get().(*entry)
	if err := e.prepare(ev); err != nil {
		release(e)
		return bot.TimelineEvent{}, false, err
	}

	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		release(e)
		return bot.TimelineEvent{}, false, ErrClosed
	}
	db.inflight.Add(1)
	db.mu.RUnlock()
	select {
	case db.reqs <- e:
		db.inflight.Done()
	case <-ctx.Done():
		db.inflight.Done()
		release(e)
		return bot.TimelineEvent{}, false, ctx.Err()
	}

	select {
	case <-e.done:
		stored, dup, err := e.stored, e.dup, e.err
		release(e)
		return stored, dup, err
	case <-ctx.Done():
		// The committer still owns e; it is left to the garbage collector.
		return bot.TimelineEvent{}, false, ctx.Err()
	}
}

// commitLoop is the single committer. It exits once Close has closed reqs
// and everything queued before has been committed.
func (db *DB) commitLoop() {
	defer close(db.done)
	batch := make([]*entry, 0, 256)
	var writeErr error
	commit := func(btx *bbolt.Tx) error {
		writeErr = nil
		for _, e := range batch {
			if err := e.write(btx); err != nil {
				writeErr = fmt.Errorf("store: append %s: %w", e.ev.IncidentID, err)
				return writeErr
			}
		}
		return nil
	}
	for first := range db.reqs {
		batch = append(batch[:0], first)
	drain:
		for len(batch) < maxBatch {
			select {
			case e, ok := <-db.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, e)
			default:
				break drain
			}
		}
		// A failed batch fails every caller in it rather than retrying them
		// one by one: entries that cannot be stored on their own merits are
		// refused inside write without aborting the batch, so what is left
		// is the file or the disk failing, where N retries would only add N
		// fsyncs. No caller was acknowledged, so platforms redeliver.
		err := db.bolt.Update(commit)
		db.noteCommit(err)
		if err != nil {
			if err != writeErr {
				err = fmt.Errorf("store: append: commit: %w", err)
			}
			for _, e := range batch {
				e.stored, e.dup, e.err = bot.TimelineEvent{}, false, err
			}
		}
		for i, e := range batch {
			e.done <- struct{}{}
			batch[i] = nil
		}
	}
}
