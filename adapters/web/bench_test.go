package web

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows"
	bbolt "go.etcd.io/bbolt"
)

// The archive's benchmarks, with the sizes the README reports:
//
//	go test -run xxx -bench . -benchtime 200x ./adapters/web/
//	DEBRIEF_BENCH_EVENTS=1000000 go test -run xxx -bench Search -benchtime 2000x -timeout 60m ./adapters/web/
//	go test -run xxx -bench 'IngestVsRaw|CommitToSearchable' -benchtime 2000x ./adapters/web/
//
// Pages are measured through the handler (routing, the store, the
// templates), without the network.

var words = []string{"database", "latency", "replica", "failover", "cache", "timeout", "deploy", "rollback",
	"certificate", "dns", "queue", "disk", "memory", "kernel", "network", "partition", "leader", "election",
	"throttle", "quota", "billing", "checkout", "login", "search", "index", "shard", "backup", "restore"}

// fill stores n incidents with perInc timeline entries each, spread over
// two years, and returns their IDs.
func fill(b testing.TB, s store.Store, n, perInc int) []string {
	var ids []string
	const chunk = 500
	for lo := 0; lo < n; lo += chunk {
		err := s.Update(context.Background(), func(tx store.Tx) error {
			for i := lo; i < min(n, lo+chunk); i++ {
				num, err := tx.NextIncidentNumber()
				if err != nil {
					return err
				}
				at := t0.Add(-time.Duration(n-i) * 90 * time.Minute)
				sev := bot.Severity(i%4 + 1)
				inc := &bot.Incident{
					ID: bot.IncidentID(num), Number: num, Kind: []bot.Kind{bot.KindReal, bot.KindReal, bot.KindReal, bot.KindDrill, bot.KindNearMiss}[i%5],
					Title:    fmt.Sprintf("%s %s on %s", words[i%len(words)], words[(i/3)%len(words)], words[(i/7)%len(words)]),
					Severity: sev, Status: bot.StatusClosed, Tags: []string{words[i%7]},
					StartedAt: at.Add(-10 * time.Minute), DetectedAt: at.Add(-3 * time.Minute), AcknowledgedAt: at.Add(time.Minute), DeclaredAt: at,
					MitigatedAt: at.Add(40 * time.Minute), ResolvedAt: at.Add(time.Hour), ClosedAt: at.Add(72 * time.Hour),
					Summary:         "The " + words[(i+5)%len(words)] + " failed.",
					Postmortem:      bot.Postmortem{HeldAt: at.Add(48 * time.Hour), Notes: "We found the " + words[(i+9)%len(words)] + " was misconfigured."},
					Countermeasures: []bot.Countermeasure{{N: 1, Text: "Alert on " + words[(i+2)%len(words)], Owner: grace, Due: bot.DateOf(at.AddDate(0, 0, 14)), State: bot.CMDone, DoneAt: at.AddDate(0, 0, 10+i%8)}},
				}
				if err := tx.PutIncident(inc); err != nil {
					return err
				}
				for e := range perInc {
					text := fmt.Sprintf("%s %s %s seen on host-%d", words[(i+e)%len(words)], words[(i*7+e*3)%len(words)], words[(e*5)%len(words)], e%97)
					if _, _, err := tx.AppendEvent(bot.TimelineEvent{IncidentID: inc.ID, Kind: bot.EventMessage, Author: grace, Text: text, RecordedAt: at.Add(time.Duration(e) * time.Second)}); err != nil {
						return err
					}
				}
				ids = append(ids, inc.ID)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return ids
}

func serveBench(b *testing.B, a *archive, path string) {
	mux := http.NewServeMux()
	a.srv.Register(mux)
	req := httptest.NewRequest("GET", path, nil)
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("GET %s = %d", path, w.Code)
		}
	}
}

// BenchmarkPages: the list and the stats over 10k incidents (goals: 50
// and 100 ms).
func BenchmarkPages(b *testing.B) {
	a := newArchive(b)
	fill(b, a.store, 10000, 1)
	a.index()
	for _, path := range []string{"/", "/?sev=2&kind=real&page=20", "/stats", "/feed.atom"} {
		b.Run(path, func(b *testing.B) { serveBench(b, a, path) })
	}
}

// BenchmarkIncident100k: the first, a middle and the last page of a
// 100k-entry timeline, and a link to an entry (goal: 200 ms).
func BenchmarkIncident100k(b *testing.B) {
	a := newArchive(b)
	fill(b, a.store, 20, 10)
	big := a.declare("the long one", bot.SEV1, bot.KindReal, "db")
	const n = 100_000
	for lo := 0; lo < n; lo += 10000 {
		err := a.store.Update(context.Background(), func(tx store.Tx) error {
			for e := lo; e < lo+10000; e++ {
				if _, _, err := tx.AppendEvent(bot.TimelineEvent{IncidentID: big.ID, Kind: bot.EventMessage, Author: grace, Text: "message " + strconv.Itoa(e) + " about the " + words[e%len(words)], RecordedAt: t0.Add(2*time.Hour + time.Duration(e)*time.Second)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	// The page reads the store; the index needs only the incidents for
	// "similar past incidents".
	a.x.Batch = 1
	a.x.Tick(context.Background(), t0)
	for _, path := range []string{"/incidents/" + big.ID, "/incidents/" + big.ID + "?page=250", "/incidents/" + big.ID + "?page=501", "/incidents/" + big.ID + "?seq=77777"} {
		b.Run(path[len("/incidents/"):], func(b *testing.B) { serveBench(b, a, path) })
	}
}

// BenchmarkSearch: latency percentiles of searches over
// DEBRIEF_BENCH_EVENTS entries (100k unless set) in a hundredth as many
// incidents, after a Reindex whose rate it reports too (goal at 1M
// entries: p95 under 20 ms). With DEBRIEF_BENCH_INDEX the index is built
// in that folder and kept, and a later run with the same size searches it
// again without rebuilding (delete the folder after changing the mapping).
func BenchmarkSearch(b *testing.B) {
	events := 100_000
	if v, err := strconv.Atoi(os.Getenv("DEBRIEF_BENCH_EVENTS")); err == nil && v > 0 {
		events = v
	}
	path := filepath.Join(b.TempDir(), "bench.index")
	if dir := os.Getenv("DEBRIEF_BENCH_INDEX"); dir != "" {
		path = filepath.Join(dir, strconv.Itoa(events))
	}
	rate := 0.0
	if _, err := os.Stat(path); err != nil {
		a := newArchive(b)
		fill(b, a.store, events/100, 100)
		start := time.Now()
		n, err := Reindex(context.Background(), a.store, path)
		if err != nil {
			b.Fatal(err)
		}
		rate = float64(n) / time.Since(start).Seconds()
	}
	idx, err := OpenIndex(path)
	if err != nil {
		b.Fatal(err)
	}
	defer idx.Close()
	queries := []string{"replica", "failover timeout", `"disk timeout"`, "leader sev:1", "kernel tag:cache", "checkout after:2024-06-01", "dns kind:drill", "billing shard backup"}
	parsed := make([]Query, len(queries))
	for i, s := range queries {
		if parsed[i], err = ParseQuery(s); err != nil {
			b.Fatal(err)
		}
	}
	var lat []time.Duration
	per := make([][]time.Duration, len(queries))
	i := 0
	b.ResetTimer()
	for b.Loop() {
		k := i % len(queries)
		t := time.Now()
		res, err := idx.Search(context.Background(), parsed[k], 0, searchSize)
		if err != nil {
			b.Fatal(err)
		}
		d := time.Since(t)
		if len(res.Hits) == 0 {
			b.Fatalf("%s: no hits", queries[k])
		}
		lat = append(lat, d)
		per[k] = append(per[k], d)
		i++
	}
	b.StopTimer()
	pct := func(l []time.Duration, p int) float64 {
		l = slices.Clone(l)
		slices.Sort(l)
		return float64(l[(len(l)-1)*p/100].Microseconds()) / 1000
	}
	for k, q := range queries {
		if len(per[k]) > 0 {
			b.Logf("%-28s p50 %6.2f ms  p95 %6.2f ms", q, pct(per[k], 50), pct(per[k], 95))
		}
	}
	b.ReportMetric(pct(lat, 50), "p50_ms")
	b.ReportMetric(pct(lat, 95), "p95_ms")
	b.ReportMetric(float64(events), "events")
	if rate > 0 {
		b.ReportMetric(rate, "reindex_events/s")
	}
}

// rawCommitter is the baseline ingest is measured against, as in
// store/bolt's benchmarks (its rawCommitter, which this copies: test code
// is not importable): the same drain-loop group commit into bbolt,
// fsynced, of bare Puts of a ready payload, with no deduplication, no
// encoding and no incident lookup.
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

func newRawCommitter(b *testing.B) *rawCommitter {
	db, err := bbolt.Open(filepath.Join(b.TempDir(), "raw.db"), 0o600, &bbolt.Options{Timeout: time.Second, FreelistType: bbolt.FreelistArrayType})
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error { _, err := tx.CreateBucket([]byte("raw")); return err }); err != nil {
		b.Fatal(err)
	}
	c := &rawCommitter{db: db, reqs: make(chan *rawReq, 1024), done: make(chan struct{})}
	go c.loop()
	b.Cleanup(func() {
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
		bk := tx.Bucket([]byte("raw"))
		for _, r := range batch {
			seq, _ := bk.NextSequence()
			binary.BigEndian.PutUint64(key[:], seq)
			if err := bk.Put(key[:], r.val); err != nil {
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

// runWriters runs n operations on exactly writers goroutines and returns
// how long they took.
func runWriters(b *testing.B, n, writers int, op func(w, i int) error) time.Duration {
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
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// ingestEvent is a chat message as an adapter records it.
func ingestEvent(i int) bot.TimelineEvent {
	return bot.TimelineEvent{
		Kind: bot.EventMessage, Author: grace, MessageID: fmt.Sprintf("1700000000.%06d", i),
		Text:       fmt.Sprintf("failover done on %s, p99 back under %d ms", words[i%len(words)], 100+i%400),
		RecordedAt: t0.Add(time.Duration(i) * time.Millisecond), DedupeKey: fmt.Sprintf("C024BE91L/1700000000.%06d", i),
	}
}

// BenchmarkIngestVsRaw is the figure the archive's issue asks for:
// messages recorded the way adapters record them (workflows.Service.Record,
// fsynced) while the Indexer follows the store, as a ratio to raw bbolt
// appends measured in the same run, in alternating rounds so that a disk
// or a neighbour slowing down weighs on both (goal: at least 0.70).
// indexer=run is the Run loop as serve runs it (a Tick every 500 ms);
// indexer=none is the same appends with no Indexer, to tell the Indexer's
// share from the Service's; indexer=busy ticks again as soon as a Tick
// ends, a worst case serve never runs.
func BenchmarkIngestVsRaw(b *testing.B) {
	for _, mode := range []string{"none", "run", "busy"} {
		for _, writers := range []int{1, 16} {
			b.Run(fmt.Sprintf("indexer=%s/writers=%d", mode, writers), func(b *testing.B) {
				benchIngestVsRaw(b, mode, writers)
			})
		}
	}
}

func benchIngestVsRaw(b *testing.B, mode string, writers int) {
	b.StopTimer()
	payload, err := json.Marshal(ingestEvent(1))
	if err != nil {
		b.Fatal(err)
	}
	raw := newRawCommitter(b)
	reqs := make([]rawReq, writers)
	for w := range reqs {
		reqs[w] = rawReq{val: payload, done: make(chan struct{}, 1)}
	}

	a := newArchive(b)
	fill(b, a.store, 200, 5)
	inc := a.declare("orders db latency", bot.SEV2, bot.KindReal, "db")
	ch := bot.Channel{Platform: bot.Slack, ID: "C024BE91L"}
	if err := a.store.Update(context.Background(), func(tx store.Tx) error { return tx.PutChannel(ch, inc.ID) }); err != nil {
		b.Fatal(err)
	}
	svc := &workflows.Service{Store: a.store}
	a.index()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var ticks atomic.Int64
	switch mode {
	case "none":
		done <- nil
	case "run":
		go func() { done <- a.x.Run(ctx) }()
	case "busy":
		go func() {
			for ctx.Err() == nil {
				if _, err := a.x.Tick(ctx, time.Now()); err != nil && ctx.Err() == nil {
					done <- err
					return
				}
				ticks.Add(1)
			}
			done <- nil
		}()
	}

	var rawTime, indexedTime time.Duration
	for lo := 0; lo < b.N; lo += ingestRound {
		n := min(ingestRound, b.N-lo)
		rawTime += runWriters(b, n, writers, func(w, _ int) error { return raw.append(&reqs[w]) })
		b.StartTimer()
		indexedTime += runWriters(b, n, writers, func(_, i int) error {
			_, err := svc.Record(ctx, ch, ingestEvent(lo+i))
			return err
		})
		b.StopTimer()
	}
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	rawRate := float64(b.N) / rawTime.Seconds()
	rate := float64(b.N) / indexedTime.Seconds()
	b.ReportMetric(rawRate, "raw_appends/s")
	b.ReportMetric(rate, "appends/s")
	b.ReportMetric(rate/rawRate, "x_of_raw")
	if mode == "busy" {
		b.ReportMetric(float64(ticks.Load()), "ticks")
	}
}

// ingestRound is how many appends each side does before the other's turn.
const ingestRound = 250

func (c *rawCommitter) append(r *rawReq) error {
	c.reqs <- r
	<-r.done
	return r.err
}

// BenchmarkCommitToSearchable: the wall time from an entry's commit to its
// first appearance in a search, with the Run loop as serve runs it (a
// Tick every 500 ms) over 10k incidents while 4 writers keep appending to
// them (goal: 2 s). Each op commits one entry with a word of its own and
// searches for it every 5 ms until found.
func BenchmarkCommitToSearchable(b *testing.B) {
	a := newArchive(b)
	ids := fill(b, a.store, 10000, 2)
	a.index()
	ticks := &tickLog{}
	a.x.Log = slog.New(ticks)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.x.Run(ctx) }()
	var wg sync.WaitGroup
	var k atomic.Int64
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(k.Add(1))
				ev := ingestEvent(i)
				ev.IncidentID = ids[i%len(ids)]
				if _, _, err := a.store.Append(ctx, ev); err != nil && ctx.Err() == nil {
					b.Error(err)
					return
				}
			}
		})
	}
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		word := fmt.Sprintf("marker%dx", i)
		q, err := ParseQuery(word)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := a.store.Append(ctx, bot.TimelineEvent{IncidentID: ids[(i*7919)%len(ids)], Kind: bot.EventMessage, Author: grace, Text: "the " + word + " is here", RecordedAt: time.Now()}); err != nil {
			b.Fatal(err)
		}
		committed := time.Now()
		for {
			res, err := a.idx.Search(ctx, q, 0, 1)
			if err != nil {
				b.Fatal(err)
			}
			if res.Total > 0 {
				break
			}
			if time.Since(committed) > 30*time.Second {
				b.Fatalf("%s not searchable after 30 s", word)
			}
			time.Sleep(5 * time.Millisecond)
		}
		lat = append(lat, time.Since(committed))
	}
	b.StopTimer()
	cancel()
	wg.Wait()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50_ms")
	b.ReportMetric(float64(lat[(len(lat)-1)*95/100].Milliseconds()), "p95_ms")
	b.ReportMetric(float64(lat[len(lat)-1].Milliseconds()), "max_ms")
	b.ReportMetric(float64(k.Load()), "background_appends")
	took := ticks.took()
	if len(took) > 0 {
		b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "tick_p50_ms")
		b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "tick_max_ms")
	}
}

// tickLog collects how long the Run loop's Ticks took, from its log.
type tickLog struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *tickLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *tickLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *tickLog) WithGroup(string) slog.Handler            { return l }
func (l *tickLog) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "took" {
			l.mu.Lock()
			l.d = append(l.d, a.Value.Duration())
			l.mu.Unlock()
		}
		return true
	})
	return nil
}

func (l *tickLog) took() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := slices.Clone(l.d)
	slices.Sort(d)
	return d
}
