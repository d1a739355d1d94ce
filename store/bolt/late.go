package bolt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// lateWindow is how far before the timeline's last key an entry may be
// keyed and still count as in order. Timeline keys are (RecordedAt, Seq)
// and RecordedAt is nearly the commit time, so keys are nearly in Seq
// order, which is what lets TimelineSince walk a few keys from the end
// instead of the whole timeline. What breaks that order is an entry keyed
// in the past: one recovered after downtime (keyed at its platform time),
// or one whose writer waited long between reading the clock and
// committing. Such an entry, keyed more than lateWindow before the last
// key at its append, is late, and goes in the late index too, so that
// readers find it there rather than by walking back to it.
//
// The invariant readers rely on: an entry B that is not late is keyed at
// most lateWindow before any entry A appended earlier (Seq(A) < Seq(B)),
// late or not, because A's key was at most the last key when B came.
//
// A second covers the reorderings of concurrent appends (microseconds) and
// a command that waited for the writer lock; a walk past the last entry a
// reader needs reads a second's worth more keys, not decoding them.
const lateWindow = time.Second

// lateKey is an entry's key in the late index.
func lateKey(incident, seq uint64) []byte {
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k[:8], incident)
	binary.BigEndian.PutUint64(k[8:], seq)
	return k
}

// keyTime is the RecordedAt of a timeline key, in Unix nanoseconds.
func keyTime(k []byte) int64 { return int64(binary.BigEndian.Uint64(k[:8])) }

// isLate reports whether an entry keyed k, appended now, is late: keyed
// more than lateWindow before the timeline's last key.
func isLate(tl *bbolt.Bucket, k []byte) bool {
	last, _ := tl.Cursor().Last()
	return len(last) == 16 && keyTime(last)-keyTime(k) > int64(lateWindow)
}

// indexLate adds to the late index every late entry of a timeline written
// without one (schema 1): entry X is late if an entry with a smaller Seq
// is keyed more than lateWindow after it. One pass down the keys, with a
// second cursor lateWindow behind that tracks the smallest Seq keyed
// further than that: no entry is decoded, nothing is held in memory.
func indexLate(tl, late *bbolt.Bucket, incident uint64) error {
	lead, trail := tl.Cursor(), tl.Cursor()
	tk, _ := trail.Last()
	minSeq := ^uint64(0) // smallest Seq keyed more than lateWindow after the lead
	for k, _ := lead.Last(); k != nil; k, _ = lead.Prev() {
		if len(k) != 16 {
			continue
		}
		for tk != nil && (len(tk) != 16 || keyTime(tk)-keyTime(k) > int64(lateWindow)) {
			if len(tk) == 16 {
				minSeq = min(minSeq, binary.BigEndian.Uint64(tk[8:]))
			}
			tk, _ = trail.Prev()
		}
		if seq := binary.BigEndian.Uint64(k[8:]); minSeq < seq {
			if err := late.Put(lateKey(incident, seq), bytes.Clone(k)); err != nil {
				return fmt.Errorf("index late entry %x: %w", k, err)
			}
		}
	}
	return nil
}
