package bolt

import (
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	bbolt "go.etcd.io/bbolt"
)

// lateishTimes are the RecordedAt of n entries in append order: a
// millisecond apart with a jitter of a few (concurrent appends), and one
// in fifty keyed far back (recovered after downtime) or just past
// lateWindow back.
func lateishTimes(n int) []time.Time {
	r := rand.New(rand.NewPCG(1, 2))
	ts := make([]time.Time, n)
	for i := range ts {
		at := t0.Add(time.Duration(i)*time.Millisecond + time.Duration(r.IntN(5))*time.Millisecond)
		switch r.IntN(50) {
		case 0:
			at = t0.Add(time.Duration(r.IntN(i+1)) * time.Millisecond)
		case 1:
			at = at.Add(-lateWindow - time.Duration(r.IntN(20))*time.Millisecond)
		}
		ts[i] = at
	}
	return ts
}

// checkSince compares TimelineSince with the timeline filtered by Seq, for
// cursors all along it and limits small and large.
func checkSince(t *testing.T, db *DB, id string) {
	t.Helper()
	all := timeline(t, db, id)
	bySeq := slices.Clone(all)
	slices.SortFunc(bySeq, func(a, b bot.TimelineEvent) int { return int(a.Seq) - int(b.Seq) })
	for i, ev := range bySeq {
		if ev.Seq != uint64(i+1) {
			t.Fatalf("entry %d has Seq %d", i, ev.Seq)
		}
	}
	mustView(t, db, func(tx store.ReadTx) error {
		for after := 0; after <= len(bySeq); after += 5 {
			for _, limit := range []int{1, 5, 100} {
				got, err := tx.TimelineSince(id, uint64(after), limit)
				if err != nil {
					t.Fatal(err)
				}
				want := bySeq[after:min(after+limit, len(bySeq))]
				if len(got) != len(want) {
					t.Fatalf("TimelineSince(%d, %d) = %d entries, want %d", after, limit, len(got), len(want))
				}
				for j := range want {
					if !sameEvent(got[j], want[j]) {
						t.Fatalf("TimelineSince(%d, %d)[%d] = %+v, want %+v", after, limit, j, got[j], want[j])
					}
				}
			}
		}
		return nil
	})
}

// TestTimelineSinceLateEntries: entries keyed out of Seq order, a little
// (within lateWindow) or a lot (recovered), are all found, from either
// end of the walk.
func TestTimelineSinceLateEntries(t *testing.T) {
	db := MustOpenDB(t)
	inc := declare(t, db, "db latency")
	appendAll(t, db, inc.ID, lateishTimes(600))
	checkSince(t, db, inc.ID)
	if n := lateEntries(t, db); n == 0 {
		t.Fatal("no late entry indexed: the test tests nothing")
	}
}

// appendAll appends an entry at each time, in transactions of 100.
func appendAll(t *testing.T, db *DB, id string, times []time.Time) {
	t.Helper()
	for lo := 0; lo < len(times); lo += 100 {
		mustUpdate(t, db, func(tx store.Tx) error {
			for _, at := range times[lo:min(lo+100, len(times))] {
				if _, _, err := tx.AppendEvent(event(id, "x", at)); err != nil {
					return err
				}
			}
			return nil
		})
	}
}

// lateEntries counts the late index.
func lateEntries(t *testing.T, db *DB) int {
	t.Helper()
	var n int
	if err := db.bolt.View(func(btx *bbolt.Tx) error {
		n = btx.Bucket(bucketLate).Stats().KeyN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestUpgradeIndexesLateEntries: a schema-1 timeline (JSON records, no
// late index) with entries out of order is indexed when the file is
// upgraded, exactly as appends would have indexed it, and TimelineSince
// finds every entry.
func TestUpgradeIndexesLateEntries(t *testing.T) {
	times := lateishTimes(600)

	// The late index that appends build, for comparison.
	want := MustOpenDB(t)
	inc := declare(t, want, "db latency")
	appendAll(t, want, inc.ID, times)

	db := MustOpenDB(t)
	declare(t, db, "db latency")
	err := db.bolt.Update(func(btx *bbolt.Tx) error {
		tl := btx.Bucket(bucketTimelines).Bucket([]byte(inc.ID))
		for _, at := range times {
			ev := event(inc.ID, "x", at)
			ev.Seq, _ = tl.NextSequence()
			v, err := json.Marshal(record{TimelineEvent: ev})
			if err != nil {
				return err
			}
			k := make([]byte, 16)
			binary.BigEndian.PutUint64(k[:8], uint64(at.UnixNano()))
			binary.BigEndian.PutUint64(k[8:], ev.Seq)
			if err := tl.Put(k, v); err != nil {
				return err
			}
		}
		return btx.Bucket(bucketMeta).Put(keySchema, []byte("1"))
	})
	if err != nil {
		t.Fatal(err)
	}
	path := db.Path()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = mustOpen(t, path)

	keys := func(db *DB) [][]byte {
		var ks [][]byte
		if err := db.bolt.View(func(btx *bbolt.Tx) error {
			return btx.Bucket(bucketLate).ForEach(func(k, v []byte) error {
				ks = append(ks, append(slices.Clone(k), v...))
				return nil
			})
		}); err != nil {
			t.Fatal(err)
		}
		return ks
	}
	got, exp := keys(db), keys(want)
	if len(exp) == 0 || !slices.EqualFunc(got, exp, slices.Equal) {
		t.Errorf("late index after the upgrade has %d entries, appends made %d (equal: %v)", len(got), len(exp), slices.EqualFunc(got, exp, slices.Equal))
	}
	checkSince(t, db, inc.ID)
}
