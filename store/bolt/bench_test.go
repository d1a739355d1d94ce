package bolt

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows"
	bbolt "go.etcd.io/bbolt"
)

// rawCommitter is the floor Append is measured against: the same drain-loop
// group commit, fsynced, of bare Puts of a ready payload, with no
// deduplication, no encoding and no incident lookup.
type rawCommitter struct {
	db   *bbolt.DB
	reqs chan *rawReq
	done chan struct{}
}

type rawReq struct {
	val  []byte
	err  error
	done chan struct{}
}

var bucketRaw = []byte("raw")

func newRawCommitter(tb testing.TB) *rawCommitter {
	db, err := bbolt.Open(filepath.Join(tb.TempDir(), "raw.db"), 0o600, boltOptions(time.Second))
	if err != nil {
		tb.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucket(bucketRaw)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	c := &rawCommitter{db: db, reqs: make(chan *rawReq, reqBuffer), done: make(chan struct{})}
	go c.loop()
	tb.Cleanup(func() {
		close(c.reqs)
		<-c.done
		db.Close()
	})
	return c
}

func (c *rawCommitter) loop() {
	defer close(c.done)
	var batch []*rawReq
	var key [8]byte
	commit := func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketRaw)
		for _, r := range batch {
			seq, _ := b.NextSequence()
			binary.BigEndian.PutUint64(key[:], seq)
			if err := b.Put(key[:], r.val); err != nil {
				return err
			}
		}
		return nil
	}
	for first := range c.reqs {
		batch = append(batch[:0], first)
	drain:
		for {
			select {
			case r, ok := <-c.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		err := c.db.Update(commit)
		for _, r := range batch {
			r.err = err
			r.done <- struct{}{}
		}
	}
}

func (c *rawCommitter) append(r *rawReq) error {
	c.reqs <- r
	<-r.done
	return r.err
}

// runWriters runs n operations on exactly writers goroutines and returns how
// long they took.
func runWriters(tb testing.TB, n, writers int, op func(w, i int) error) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range writers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := op(w, i); err != nil {
					tb.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// benchEvent is a typical chat message: its JSON is about 280 bytes, its
// stored record about 130; the raw baseline writes the same stored bytes.
func benchEvent(i int, key string) bot.TimelineEvent {
	return bot.TimelineEvent{
		IncidentID: "INC-1",
		Kind:       bot.EventMessage,
		Author:     bot.User{Platform: bot.Slack, ID: "U024BE7LH", Name: "grace"},
		Text:       "failover done, p99 back under 200ms now",
		MessageID:  "1700000000.000100",
		PlatformAt: t0,
		RecordedAt: t0.Add(time.Duration(i) * time.Microsecond),
		DedupeKey:  key,
	}
}

// eventKey looks like a Slack event_id: unique and in no useful order, so
// the dedupe index takes random inserts as it does in production.
func eventKey(i int) string {
	x := uint64(i) + 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return fmt.Sprintf("Ev%016X", x^x>>31)
}

// BenchmarkAppend measures Append against the raw group commit, with
// dedupe keys in no order, like Slack event_ids: every key lands on a random
// page of the dedupe index.
func BenchmarkAppend(b *testing.B) { benchAppend(b, eventKey, viaAppend) }

// BenchmarkAppendOrderedKeys is BenchmarkAppend with time-ordered dedupe
// keys, like Discord snowflakes or Slack channel/ts pairs.
func BenchmarkAppendOrderedKeys(b *testing.B) { benchAppend(b, orderedKey, viaAppend) }

// orderedKey looks like a Slack channel/ts message identity: what adapters
// use as the dedupe key of a message, because it is stable across retries
// and sorts by time, so the dedupe index grows at its right edge.
func orderedKey(i int) string {
	return fmt.Sprintf("C024BE91L/%d.%06d", 1700000000+i/1000000, i%1000000)
}

// BenchmarkServiceRecord is the figure the core issue asks for: timeline
// appends the way adapters make them, through workflows.Service.Record
// (channel lookup, clock, metrics, Append), against the same raw baseline,
// with message keys (ordered) and with event IDs (random: the worst case).
func BenchmarkServiceRecord(b *testing.B) {
	b.Run("keys=message", func(b *testing.B) { benchAppend(b, orderedKey, viaService) })
	b.Run("keys=event_id", func(b *testing.B) { benchAppend(b, eventKey, viaService) })
}

// appender appends entry i with dedupe key key.
type appender func(ctx context.Context, i int, key string) error

func viaAppend(b *testing.B, db *DB) appender {
	return func(ctx context.Context, i int, key string) error {
		_, dup, err := db.Append(ctx, benchEvent(i, key))
		if dup {
			return fmt.Errorf("append %d: unexpected duplicate", i)
		}
		return err
	}
}

func viaService(b *testing.B, db *DB) appender {
	ch := bot.Channel{Platform: bot.Slack, ID: "C024BE91L"}
	err := db.Update(context.Background(), func(tx store.Tx) error { return tx.PutChannel(ch, "INC-1") })
	if err != nil {
		b.Fatal(err)
	}
	svc := &workflows.Service{Store: db}
	return func(ctx context.Context, i int, key string) error {
		_, err := svc.Record(ctx, ch, benchEvent(i, key))
		return err
	}
}

func benchAppend(b *testing.B, key func(int) string, via func(*testing.B, *DB) appender) {
	e := entryPool.Get().(*entry)
	if err := e.prepare(benchEvent(1, key(1))); err != nil {
		b.Fatal(err)
	}
	payload := append([]byte(nil), e.enc...)

	for _, writers := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			b.StopTimer()
			raw := newRawCommitter(b)
			reqs := make([]rawReq, writers)
			for w := range reqs {
				reqs[w] = rawReq{val: payload, done: make(chan struct{}, 1)}
			}
			db := MustOpenDB(b)
			declare(b, db, "orders db latency")
			appendOne := via(b, db)
			keys := make([]string, b.N)
			for i := range keys {
				keys[i] = key(i)
			}
			ctx := context.Background()
			raw0, store0 := raw.db.Stats(), db.bolt.Stats()

			// Alternate rounds of each, so that a disk (or neighbour) that
			// slows down mid-run weighs on both sides alike.
			var rawTime, storeTime time.Duration
			for lo := 0; lo < b.N; lo += benchRound {
				n := min(benchRound, b.N-lo)
				rawTime += runWriters(b, n, writers, func(w, _ int) error {
					return raw.append(&reqs[w])
				})
				b.StartTimer()
				storeTime += runWriters(b, n, writers, func(_, i int) error {
					return appendOne(ctx, i+lo, keys[i+lo])
				})
				b.StopTimer()
			}
			raw1, store1 := raw.db.Stats(), db.bolt.Stats()

			rawRate := float64(b.N) / rawTime.Seconds()
			storeRate := float64(b.N) / storeTime.Seconds()
			b.ReportMetric(rawRate, "raw_appends/s")
			b.ReportMetric(storeRate, "appends/s")
			b.ReportMetric(storeRate/rawRate, "x_of_raw")
			// Bytes of pages written per append: the disk's side of the
			// story, and steadier than rates on a shared machine.
			b.ReportMetric(float64(raw1.TxStats.GetPageAlloc()-raw0.TxStats.GetPageAlloc())/float64(b.N), "raw_page_B/op")
			b.ReportMetric(float64(store1.TxStats.GetPageAlloc()-store0.TxStats.GetPageAlloc())/float64(b.N), "page_B/op")
		})
	}
}

// benchRound is how many appends each side does before the other's turn.
const benchRound = 250

// TestBenchEventSize keeps the benchmark honest about its payload.
func TestBenchEventSize(t *testing.T) {
	ev := benchEvent(1, eventKey(1))
	j, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(j); n < 260 || n > 300 {
		t.Errorf("bench event is %d bytes of JSON, want about 280: %s", n, j)
	}
	e := entryPool.Get().(*entry)
	if err := e.prepare(ev); err != nil {
		t.Fatal(err)
	}
	if len(e.enc) >= len(j) {
		t.Errorf("bench entry is stored in %d bytes, no fewer than its %d bytes of JSON", len(e.enc), len(j))
	}
}

// sizeText is 68 bytes: the text of the events the issue measured storage
// with (558 bytes per event on disk with the schema-1 layout).
const sizeText = "db-7 replica lag back under 2s after failover, watching p99 for 10m.."

// sizeEvent is entry i of the storage benchmark: a Slack message, keyed the
// way the Slack adapter keys it (channel and ts, which sort by time).
func sizeEvent(i int) bot.TimelineEvent {
	ts := fmt.Sprintf("%d.%06d", 1741944413+i/1000, (i%1000)*1000)
	at := t0.Add(time.Duration(i) * time.Millisecond)
	return bot.TimelineEvent{
		IncidentID: "INC-1", Kind: bot.EventMessage,
		Author: bot.User{Platform: bot.Slack, ID: "U024BE7LH", Name: "grace"},
		Text:   sizeText, MessageID: ts, PlatformAt: at.Truncate(time.Microsecond), RecordedAt: at,
		DedupeKey: "slack/C024BE91L/" + ts,
	}
}

// BenchmarkBytesPerEvent appends sizeEvents in transactions of 64 (what
// the committer batches under load) and reports the bytes of pages they
// occupy per entry: with the store as it writes now (schema=2), and with
// the schema-1 layout written by writeSchema1 in the same run. Run it with
// -benchtime 1x.
func BenchmarkBytesPerEvent(b *testing.B) {
	const n, batch = 50_000, 64
	for _, schema := range []string{"1", "2"} {
		b.Run("schema="+schema, func(b *testing.B) {
			// Once, whatever b.N: the figure is a size, not a time.
			{
				db := MustOpenDB(b)
				declare(b, db, "orders db latency")
				for lo := 0; lo < n; lo += batch {
					if schema == "1" {
						writeSchema1(b, db, lo, min(lo+batch, n))
						continue
					}
					mustUpdate(b, db, func(tx store.Tx) error {
						for i := lo; i < min(lo+batch, n); i++ {
							if _, _, err := tx.AppendEvent(sizeEvent(i)); err != nil {
								return err
							}
						}
						return nil
					})
				}
				b.ReportMetric(usedBytes(b, db)/n, "B/event")
			}
		})
	}
}

// usedBytes is what the file's pages up to the high-water mark, less the
// free ones, occupy: the file itself grows in steps (doubling, then 1 GiB
// at a time), so its size says little at this scale.
func usedBytes(b *testing.B, db *DB) float64 {
	var used int64
	if err := db.bolt.View(func(btx *bbolt.Tx) error {
		used = btx.Size() - int64(db.bolt.Stats().FreePageN)*int64(db.bolt.Info().PageSize)
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	return float64(used)
}

// writeSchema1 appends sizeEvents lo..hi-1 as the schema-1 store did: the
// JSON record (Seq, incident ID, time and dedupe key included) and a
// dedupe index at bbolt's default fill.
func writeSchema1(b *testing.B, db *DB, lo, hi int) {
	err := db.bolt.Update(func(btx *bbolt.Tx) error {
		tl := btx.Bucket(bucketTimelines).Bucket([]byte("INC-1"))
		tl.FillPercent = 1.0
		dd := btx.Bucket(bucketDedupe)
		for i := lo; i < hi; i++ {
			ev := sizeEvent(i)
			ev.Seq, _ = tl.NextSequence()
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(record{TimelineEvent: ev, DedupeKey: ev.DedupeKey}); err != nil {
				return err
			}
			k := make([]byte, 16)
			binary.BigEndian.PutUint64(k[:8], uint64(ev.RecordedAt.UnixNano()))
			binary.BigEndian.PutUint64(k[8:], ev.Seq)
			if err := tl.Put(k, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))); err != nil {
				return err
			}
			if err := dd.Put([]byte(ev.DedupeKey), append(k, "INC-1"...)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// bigTimeline builds a store whose INC-1 holds n sizeEvents, their dedupe
// records included, through write (the committer's own path) in
// transactions of 50k: through Append, one fsync a batch, 1M entries
// would take minutes to set up.
func bigTimeline(b *testing.B, n int) *DB {
	b.Helper()
	db := MustOpenDB(b)
	declare(b, db, "orders db latency")
	const batch = 50_000
	for lo := 0; lo < n; lo += batch {
		err := db.bolt.Update(func(btx *bbolt.Tx) error {
			for i := lo; i < min(lo+batch, n); i++ {
				e := &entry{} // bbolt holds each value until the commit
				if err := e.prepare(sizeEvent(i)); err != nil {
					return err
				}
				if err := e.write(btx); err != nil || e.err != nil {
					return cmp.Or(err, e.err)
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return db
}

// timeOp returns how long op takes on average over runs.
func timeOp(b *testing.B, runs int, op func() error) time.Duration {
	start := time.Now()
	for range runs {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start) / time.Duration(runs)
}

// BenchmarkTimelineReads measures what /incident timeline (TimelineTail),
// a paged route (TimelineAfter: the first page, and one a cursor leads to
// in the middle) and the indexer (TimelineSince of the newest entries)
// cost at 1M entries, each in its own View as the read paths run them,
// and reports each as a ratio to the same read of a 1k-entry timeline
// measured in the same run: a read that costs its page and not the
// timeline stays near 1.
func BenchmarkTimelineReads(b *testing.B) {
	const big, small = 1_000_000, 1_000
	dbs := map[int]*DB{big: bigTimeline(b, big), small: bigTimeline(b, small)}
	ctx := context.Background()
	// Ten entries recovered after downtime, keyed at their platform time
	// near the start of the timeline but numbered last, as the catch-up
	// records them: the newest 30 by Seq are spread over the whole key
	// range.
	for n, db := range dbs {
		for i := range 10 {
			ev := sizeEvent(n + i)
			ev.Recovered = true
			ev.RecordedAt = t0.Add(time.Duration(i)*time.Millisecond + time.Microsecond)
			if _, _, err := db.Append(ctx, ev); err != nil {
				b.Fatal(err)
			}
		}
		dbs[n] = db
	}
	reads := []struct {
		name string
		read func(tx store.ReadTx, n int) (int, error)
	}{
		{"since=last-5", func(tx store.ReadTx, n int) (int, error) {
			evs, err := tx.TimelineSince("INC-1", uint64(n+10-5), 100)
			return len(evs), err
		}},
		{"tail=30", func(tx store.ReadTx, _ int) (int, error) {
			evs, _, err := tx.TimelineTail("INC-1", 30)
			return len(evs), err
		}},
		{"after=first/limit=100", func(tx store.ReadTx, _ int) (int, error) {
			evs, err := tx.TimelineAfter("INC-1", store.TimelineCursor{}, 100)
			return len(evs), err
		}},
		{"after=middle/limit=100", func(tx store.ReadTx, n int) (int, error) {
			mid := sizeEvent(n / 2)
			mid.Seq = uint64(n/2) + 1
			evs, err := tx.TimelineAfter("INC-1", store.CursorOf(mid), 100)
			return len(evs), err
		}},
		{"since=last-30", func(tx store.ReadTx, n int) (int, error) {
			evs, err := tx.TimelineSince("INC-1", uint64(n+10-30), 100)
			if err == nil && len(evs) != 30 {
				err = fmt.Errorf("TimelineSince = %d entries, want 30", len(evs))
			}
			return len(evs), err
		}},
	}
	for _, r := range reads {
		b.Run(r.name, func(b *testing.B) {
			op := func(n int) func() error {
				return func() error {
					return dbs[n].View(ctx, func(tx store.ReadTx) error {
						got, err := r.read(tx, n)
						if err == nil && got == 0 {
							err = fmt.Errorf("%s read nothing", r.name)
						}
						return err
					})
				}
			}
			timeOp(b, 10, op(small)) // warm up, as b.N's rounds warm the 1M side
			smallTime := timeOp(b, 200, op(small))
			b.ResetTimer()
			for range b.N {
				if err := op(big)(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			bigTime := b.Elapsed() / time.Duration(b.N)
			b.ReportMetric(float64(bigTime.Microseconds()), "µs_at_1M")
			b.ReportMetric(float64(smallTime.Microseconds()), "µs_at_1k")
			b.ReportMetric(float64(bigTime)/float64(smallTime), "x_of_1k")
		})
	}
}

// BenchmarkIncidentsAfter measures the first page of 50 of 10k incidents,
// unfiltered, filtered to one in ten (so that the page spans 500), to
// none (the whole index is read), and to the oldest incident alone, as a
// ratio to the unfiltered page and to a raw cursor over the first 50 keys
// of the same bucket, and reports what reading them all (Incidents) costs
// beside it.
func BenchmarkIncidentsAfter(b *testing.B) {
	const n = 10_000
	db := MustOpenDB(b)
	for lo := 1; lo <= n; lo += 1000 {
		mustUpdate(b, db, func(tx store.Tx) error {
			for i := lo; i < lo+1000; i++ {
				inc := &bot.Incident{
					ID: bot.IncidentID(i), Number: i, Title: fmt.Sprintf("orders db latency %d", i), Kind: bot.KindReal,
					Severity: bot.SEV2, Status: bot.StatusInvestigating, DeclaredAt: t0.Add(time.Duration(i) * time.Minute),
					Roles:   map[bot.Role]bot.User{bot.Commander: {Platform: bot.Slack, ID: "U1", Name: "ada"}},
					Summary: strings.Repeat("what happened, in a few lines. ", 10),
				}
				if i%10 == 0 {
					inc.Status = bot.StatusResolved
				}
				if i == 1 {
					inc.Severity = bot.SEV1
				}
				if err := tx.PutIncident(inc); err != nil {
					return err
				}
			}
			return nil
		})
	}
	ctx := context.Background()
	raw := func() error {
		return db.bolt.View(func(btx *bbolt.Tx) error {
			c := btx.Bucket(bucketIncidents).Cursor()
			i := 0
			for k, _ := c.First(); k != nil && i < 50; k, _ = c.Next() {
				i++
			}
			return nil
		})
	}
	page := func(f store.IncidentFilter, want int) func() error {
		return func() error {
			return db.View(ctx, func(tx store.ReadTx) error {
				incs, err := tx.IncidentsAfter(0, 50, f)
				if err == nil && len(incs) != want {
					err = fmt.Errorf("IncidentsAfter(%+v) = %d incidents, want %d", f, len(incs), want)
				}
				return err
			})
		}
	}
	for _, bc := range []struct {
		name string
		f    store.IncidentFilter
		want int
	}{
		{"all", store.IncidentFilter{}, 50},
		{"1-in-10", store.IncidentFilter{Status: bot.StatusResolved}, 50},
		{"none", store.IncidentFilter{Status: bot.StatusClosed}, 0},
		{"oldest", store.IncidentFilter{Severity: bot.SEV1}, 1},
	} {
		b.Run("filter="+bc.name, func(b *testing.B) {
			rawTime := timeOp(b, 1000, raw)
			allPage := timeOp(b, 200, page(store.IncidentFilter{}, 50))
			allTime := timeOp(b, 5, func() error {
				return db.View(ctx, func(tx store.ReadTx) error { _, err := tx.Incidents(); return err })
			})
			op := page(bc.f, bc.want)
			b.ResetTimer()
			for range b.N {
				if err := op(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			took := b.Elapsed() / time.Duration(b.N)
			b.ReportMetric(float64(took.Microseconds()), "µs_page")
			b.ReportMetric(float64(took)/float64(allPage), "x_of_unfiltered")
			b.ReportMetric(float64(took)/float64(rawTime), "x_of_raw_keys")
			b.ReportMetric(float64(allTime.Microseconds()), "µs_all")
		})
	}
}

// BenchmarkTimelineKeysAfter measures how the API's timeline page finds
// where it ends (the cursor of its last entry, and whether more follow)
// in a 100k-entry timeline, for pages of 100 (the default) and 1000 (the
// maximum): from the keys alone (TimelineKeysAfter), as a ratio to
// decoding the entries for it (TimelineAfter of limit+1, in chunks of 100
// as the page did), measured in the same run.
func BenchmarkTimelineKeysAfter(b *testing.B) {
	db := bigTimeline(b, 100_000)
	ctx := context.Background()
	mid := sizeEvent(50_000)
	mid.Seq = 50_001
	for _, limit := range []int{100, 1000} {
		b.Run(fmt.Sprintf("limit=%d", limit), func(b *testing.B) {
			decoded := func() error {
				n := 0
				for c := store.CursorOf(mid); n <= limit; {
					want := min(100, limit+1-n)
					var evs []bot.TimelineEvent
					err := db.View(ctx, func(tx store.ReadTx) error {
						var err error
						evs, err = tx.TimelineAfter("INC-1", c, want)
						return err
					})
					if err != nil {
						return err
					}
					n += len(evs)
					if len(evs) < want {
						break
					}
					c = store.CursorOf(evs[len(evs)-1])
				}
				if n != limit+1 {
					return fmt.Errorf("decoded %d entries, want %d", n, limit+1)
				}
				return nil
			}
			keys := func() error {
				return db.View(ctx, func(tx store.ReadTx) error {
					_, n, more, err := tx.TimelineKeysAfter("INC-1", store.CursorOf(mid), limit)
					if err == nil && (n != limit || !more) {
						err = fmt.Errorf("TimelineKeysAfter = %d, more %v; want %d, more", n, more, limit)
					}
					return err
				})
			}
			timeOp(b, 20, decoded)
			decodedTime := timeOp(b, 200, decoded)
			b.ResetTimer()
			for range b.N {
				if err := keys(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			keysTime := b.Elapsed() / time.Duration(b.N)
			b.ReportMetric(float64(keysTime.Microseconds()), "µs_keys")
			b.ReportMetric(float64(decodedTime.Microseconds()), "µs_decoded")
			b.ReportMetric(float64(keysTime)/float64(decodedTime), "x_of_decoded")
		})
	}
}

// BenchmarkAckWithReader measures how long Append takes to acknowledge
// (from when it was due, at 500 appends a second, so a stall delays the
// ones behind it too) on a 1M-entry timeline: with no reader, while a
// reader walks the whole timeline page by page (TimelineAfter, 1000
// entries a page, each page in its own View, as the read paths do), the
// same paced at 10 ms between pages (a client that takes 100k entries a
// second), and, for contrast, while a reader walks it in one View. On a
// machine of two cores a reader at full speed takes one of them, which
// the committer feels whatever the locking: the decode_only control
// decodes a page held in memory at full speed, and the ratio of the paged
// reader's p99 to the control's is what the store itself adds. It reports p50 and
// p99 of each and the p99 ratios to no reader. Conditions alternate, twice
// each, so that a machine that slows down weighs on all alike.
func BenchmarkAckWithReader(b *testing.B) {
	const base, rate, perRound = 1_000_000, 500, 1000
	db := bigTimeline(b, base)
	ctx := context.Background()
	next := base // the next sizeEvent to append: after the base, in order

	pagedEvery := func(pause time.Duration) func(stop <-chan struct{}) int {
		return func(stop <-chan struct{}) (pages int) {
			var c store.TimelineCursor
			for {
				select {
				case <-stop:
					return pages
				case <-time.After(pause):
				}
				var page []bot.TimelineEvent
				err := db.View(ctx, func(tx store.ReadTx) error {
					var err error
					page, err = tx.TimelineAfter("INC-1", c, 1000)
					return err
				})
				if err != nil {
					b.Error(err)
					return pages
				}
				pages++
				if len(page) == 0 {
					c = store.TimelineCursor{}
					continue
				}
				c = store.CursorOf(page[len(page)-1])
			}
		}
	}
	oneView := func(stop <-chan struct{}) (pages int) {
		for {
			select {
			case <-stop:
				return pages
			default:
			}
			err := db.View(ctx, func(tx store.ReadTx) error {
				var c store.TimelineCursor
				for {
					page, err := tx.TimelineAfter("INC-1", c, 1000)
					if err != nil || len(page) == 0 {
						return err
					}
					pages++
					c = store.CursorOf(page[len(page)-1])
				}
			})
			if err != nil {
				b.Error(err)
				return pages
			}
		}
	}
	// The control: the same decoding as a page reader, at full speed, of
	// a page copied out of the store once, touching no transaction. What
	// the paged reader costs beyond it is the store's doing; the rest is
	// the CPU it takes from the committer.
	var keys, vals [][]byte
	if err := db.bolt.View(func(btx *bbolt.Tx) error {
		c := btx.Bucket(bucketTimelines).Bucket([]byte("INC-1")).Cursor()
		for k, v := c.First(); k != nil && len(keys) < 1000; k, v = c.Next() {
			keys, vals = append(keys, bytes.Clone(k)), append(vals, bytes.Clone(v))
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	decodeOnly := func(stop <-chan struct{}) (pages int) {
		for {
			select {
			case <-stop:
				return pages
			default:
			}
			page := make([]bot.TimelineEvent, 0, len(keys))
			for i := range keys {
				ev, err := decodeEntry("INC-1", keys[i], vals[i])
				if err != nil {
					b.Error(err)
					return pages
				}
				page = append(page, ev)
			}
			if len(page) != len(keys) {
				b.Errorf("decoded %d of %d entries", len(page), len(keys))
				return pages
			}
			pages++
		}
	}
	readers := []struct {
		name string
		read func(stop <-chan struct{}) int
	}{{"none", nil}, {"decode_only", decodeOnly}, {"pages", pagedEvery(0)}, {"pages_paced", pagedEvery(10 * time.Millisecond)}, {"one_view", oneView}}

	lat := map[string][]time.Duration{}
	pages := map[string]int{}
	for range b.N {
		for range 2 {
			for _, r := range readers {
				stop, done := make(chan struct{}), make(chan int)
				if r.read != nil {
					go func() { done <- r.read(stop) }()
				}
				got := make([]time.Duration, perRound)
				var wg sync.WaitGroup
				start := time.Now()
				for i := range perRound {
					due := start.Add(time.Duration(i) * time.Second / rate)
					time.Sleep(time.Until(due))
					ev := sizeEvent(next)
					next++
					wg.Go(func() {
						if _, _, err := db.Append(ctx, ev); err != nil {
							b.Error(err)
						}
						got[i] = time.Since(due)
					})
				}
				wg.Wait()
				close(stop)
				if r.read != nil {
					pages[r.name] += <-done
				}
				lat[r.name] = append(lat[r.name], got...)
			}
		}
	}
	pct := func(d []time.Duration, p float64) time.Duration {
		d = slices.Clone(d)
		slices.Sort(d)
		return d[int(p*float64(len(d)-1))]
	}
	none := pct(lat["none"], 0.99)
	for _, r := range readers {
		p99 := pct(lat[r.name], 0.99)
		b.ReportMetric(float64(pct(lat[r.name], 0.50).Microseconds()), "p50_µs_"+r.name)
		b.ReportMetric(float64(p99.Microseconds()), "p99_µs_"+r.name)
		if r.read != nil {
			b.ReportMetric(float64(p99)/float64(none), "p99_x_"+r.name)
			b.ReportMetric(float64(pages[r.name]), "pages_"+r.name)
		}
	}
	if control := pct(lat["decode_only"], 0.99); control > 0 {
		b.ReportMetric(float64(pct(lat["pages"], 0.99))/float64(control), "p99_pages_x_decode_only")
	}
}

// BenchmarkTimelineAfterAllocs reads pages of 1000 entries (what the
// export and the API's long pages read per turn) and reports the
// allocations per entry: what a long reader hands the garbage collector,
// whose assists and background work share the CPU with the event
// acknowledgements (README, "Benchmarks").
func BenchmarkTimelineAfterAllocs(b *testing.B) {
	const n, page = 10_000, 1000
	db := bigTimeline(b, n)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	var read int
	for b.Loop() {
		var c store.TimelineCursor
		for {
			var evs []bot.TimelineEvent
			err := db.View(ctx, func(tx store.ReadTx) error {
				var err error
				evs, err = tx.TimelineAfter("INC-1", c, page)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			read += len(evs)
			if len(evs) < page {
				break
			}
			c = store.CursorOf(evs[len(evs)-1])
		}
	}
	b.StopTimer()
	if read == 0 {
		b.Fatal("read nothing")
	}
	b.ReportMetric(float64(testing.AllocsPerRun(1, func() {
		_ = db.View(ctx, func(tx store.ReadTx) error {
			_, err := tx.TimelineAfter("INC-1", store.TimelineCursor{}, page)
			return err
		})
	}))/page, "allocs/entry")
}
