package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/httpapi"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/store/bolt"
	"github.com/debrief/debrief/workflows"
	"github.com/debrief/debrief/workflows/render"
)

// BenchmarkReadsAtScale measures, in one run, what reading a long
// incident costs and whether it holds up the writers (README,
// "Benchmarks"):
//
//   - ack_p99_ratio: the p99 of Service.Record's acknowledgement at 500
//     events/s into the long incident while, at the same time, its
//     timeline is read page by page through GET .../timeline, exported,
//     and /incident timeline runs every second; over the same load with
//     no readers (goal: within 2x); and ack_p99_round_median_ratio, the
//     median over the rounds of each round's own ratio, which a disk stall
//     in one round does not move.
//   - first_page_ms: GET .../timeline (the default page of 100) of the
//     long incident (goal: < 20 ms).
//   - walk_heap_MiB and walk_rss_anon_MiB: the Go heap in use and the
//     process's anonymous memory at their peaks while the whole timeline
//     is read through pages of 1000 (goal: < 100 MiB), and walk_s the
//     time it takes.
//   - first_page_1000_ms: the same with ?limit=1000 (the largest page);
//     page_end_keys_ms and page_end_decoded_ms: how that page finds where
//     it ends (for its next cursor and Link header, before the body), from
//     the keys alone as it does, and by decoding the entries as it did
//     (TimelineAfter in chunks of 100); first_page_1000_x_old: the page
//     over the page with the decoding pass instead of the keys-only one.
//   - incidents_ms: GET /api/incidents?limit=50 among 10k incidents
//     (goal: < 20 ms), and the same filtered: incidents_1in10_ms
//     (kind=drill, one in ten), incidents_none_ms (kind=near_miss, none),
//     incidents_oldest_ms (severity=1, the oldest alone), each also as a
//     ratio to the unfiltered page (*_x_all; goal: every one < 20 ms).
//   - export_heap_MiB and export_s: debrief export's pipeline
//     (writeExport) of the long incident in this process; and
//     export_bin_*: the debrief binary's export of it, in a process of
//     its own, with the peaks of its RSS and of its RssAnon (goal:
//     < 100 MiB).
//   - timeline_cmd_ms: /incident timeline in the long incident (goal:
//     < 50 ms).
//   - *_x_old: the export and /incident timeline over the paths they
//     replaced (the whole timeline read at once), measured in the same
//     run.
//
// Heap figures are runtime.MemStats.HeapInuse sampled every 5 ms. The
// process's RSS also counts the pages of the database file bbolt has
// mapped and read (file-backed, the kernel's to drop when memory is
// short), so memory is reported as RssAnon (/proc/self/status): the RSS
// without them. Both include the benchmark's own: the store's caches,
// the test HTTP server and client.
//
// It runs once (b.N is ignored) on DEBRIEF_BENCH_ENTRIES entries (default
// 1,000,000; building them takes about a minute), with the readers
// DEBRIEF_BENCH_READERS names (default walk,export,timeline):
//
//	go test -run xxx -bench ReadsAtScale -benchtime 1x -timeout 30m ./cmd/debrief/
func BenchmarkReadsAtScale(b *testing.B) {
	entries := benchEntries(b)
	ctx := context.Background()
	dir := b.TempDir()
	db, err := bolt.Open(filepath.Join(dir, "debrief.db"))
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now().Add(-30 * 24 * time.Hour).Truncate(time.Second)
	ch := bot.Channel{Platform: bot.Console, ID: "inc-1-long"}
	start := time.Now()
	fillLong(b, db, ch, t0, entries, 10_000)
	dbSize := func() string {
		st, err := os.Stat(filepath.Join(dir, "debrief.db"))
		if err != nil {
			return err.Error()
		}
		return fmt.Sprintf("%.1f MiB", float64(st.Size())/(1<<20))
	}
	b.Logf("built %d entries and 10k incidents in %s: %s", entries, time.Since(start).Round(time.Millisecond), dbSize())

	svc := &workflows.Service{Store: db, Config: workflows.DefaultConfig()}
	mux := http.NewServeMux()
	(&httpapi.Server{Service: svc, Log: slog.New(slog.DiscardHandler)}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	alice := bot.User{Platform: bot.Console, ID: "alice", Name: "alice"}

	b.ResetTimer()
	// The single reads, each the median of several, before any load.
	firstPage := median(20, func() {
		if _, more := getPage(b, srv.URL+"/api/incidents/INC-1/timeline"); !more {
			b.Fatal("the first page says nothing follows")
		}
	})
	// The pages compared with each other are measured in turns, so that
	// whatever else loads the machine weighs on all alike.
	incidentsPage := func(query string, want int) func() {
		return func() {
			resp, err := http.Get(srv.URL + "/api/incidents?limit=50" + query)
			if err != nil {
				b.Fatal(err)
			}
			var l struct{ Incidents []json.RawMessage }
			if err := json.NewDecoder(resp.Body).Decode(&l); err != nil || len(l.Incidents) != want {
				b.Fatalf("incidents%s: %d, %v; want %d", query, len(l.Incidents), err, want)
			}
			resp.Body.Close()
		}
	}
	m := medians(30,
		func() {
			if _, more := getPage(b, srv.URL+"/api/incidents/INC-1/timeline?limit=1000"); !more {
				b.Fatal("the first page says nothing follows")
			}
		},
		func() {
			done, err := svc.BulkRead(ctx)
			if err != nil {
				b.Fatal(err)
			}
			_, n, more, err := svc.TimelineKeysAfter(ctx, "INC-1", store.TimelineCursor{}, 1000)
			done()
			if err != nil || n != 1000 || !more {
				b.Fatalf("TimelineKeysAfter = %d, more %v, %v", n, more, err)
			}
		},
		func() { decodedPageEnd(ctx, b, svc, 1000) },
		incidentsPage("", 50),
		incidentsPage("&kind=drill", 50),
		incidentsPage("&kind=near_miss", 0),
		incidentsPage("&severity=1", 1),
	)
	firstPage1000, pageEndKeys, pageEndDecoded := m[0], m[1], m[2]
	incidents, incidents1in10, incidentsNone, incidentsOldest := m[3], m[4], m[5], m[6]
	timelineCmd := median(20, func() {
		if r := svc.Execute(ctx, alice, ch, "timeline"); !strings.Contains(r.Text, ", last 30") {
			b.Fatalf("timeline: %q", r.Text)
		}
	})
	var walked int
	walkHeap, walkRSS, walkTime := peakHeap(func() { walked = walk(b, srv.URL, 1000) })
	if walked != entries {
		b.Fatalf("the walk read %d entries, want %d", walked, entries)
	}
	var exported countWriter
	exportHeap, exportRSS, exportTime := peakHeap(func() {
		if err := writeExport(ctx, svc, "INC-1", time.UTC, &exported); err != nil {
			b.Fatal(err)
		}
	})

	// The paths these replaced, for the ratios: the export and /incident
	// timeline read the whole timeline at once.
	oldExportHeap, _, oldExportTime := peakHeap(func() {
		_, tl, err := svc.Timeline(ctx, "INC-1")
		if err != nil {
			b.Fatal(err)
		}
		inc, _ := svc.Incident(ctx, "INC-1")
		_, _ = io.WriteString(io.Discard, render.Visible(render.Writeup(inc, tl, time.UTC)))
	})
	oldTimelineCmd := median(3, func() {
		if _, _, err := svc.Timeline(ctx, "INC-1"); err != nil {
			b.Fatal(err)
		}
	})

	b.Logf("database before the acks: %s", dbSize())
	// A round not counted, after a collection: the garbage of the
	// whole-timeline reads above and the kernel's writeback of the fill
	// would otherwise weigh on the first round alone.
	runtime.GC()
	var warm atomic.Int64
	warm.Store(1 << 40)
	_ = acks(b, svc, ch, time.Second, &warm)
	// Acks alone, then with the readers, in rounds, so that whatever else
	// loads the machine weighs on both alike.
	const rounds, ackFor = 12, time.Second
	seq := atomic.Int64{}
	p99 := func(d []time.Duration) time.Duration { return d[len(d)*99/100] }
	var base, loaded []time.Duration
	var roundRatios []float64 // each round's p99 with readers over its p99 alone
	var walks, exports, cmds atomic.Int64
	readerSet := os.Getenv("DEBRIEF_BENCH_READERS")
	if readerSet == "" {
		readerSet = "walk,export,timeline"
	}
	on := func(r string) bool { return slices.Contains(strings.Split(readerSet, ","), r) }
	for range rounds {
		alone := acks(b, svc, ch, ackFor, &seq)
		base = append(base, alone...)
		stop := make(chan struct{})
		var readers sync.WaitGroup
		readers.Add(3)
		go func() {
			if !on("walk") {
				readers.Done()
				return
			}
			defer readers.Done()
			for !closed(stop) {
				walkUntil(b, srv.URL, 1000, stop)
				walks.Add(1)
			}
		}()
		go func() {
			defer readers.Done()
			for on("export") && !closed(stop) {
				ctx, cancel := context.WithCancel(ctx)
				go func() { <-stop; cancel() }()
				_ = writeExport(ctx, svc, "INC-1", time.UTC, io.Discard)
				cancel()
				exports.Add(1)
			}
		}()
		go func() {
			defer readers.Done()
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for on("timeline") {
				svc.Execute(ctx, alice, ch, "timeline")
				cmds.Add(1)
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		}()
		withReaders := acks(b, svc, ch, ackFor, &seq)
		loaded = append(loaded, withReaders...)
		close(stop)
		readers.Wait()
		roundRatios = append(roundRatios, float64(p99(sorted(withReaders)))/float64(p99(sorted(alone))))
	}
	slices.Sort(base)
	slices.Sort(loaded)

	b.Logf("database after the acks: %s", dbSize())
	// debrief export as the operator runs it: the binary, on the closed
	// database, its stdout a pipe.
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	sub := exportProcess(b, filepath.Join(dir, "debrief.db"))
	b.StopTimer()

	b.Logf("acks alone: %d, p50 %s, p99 %s; with readers: %d, p50 %s, p99 %s (%d walks begun, %d exports, %d /incident timeline)",
		len(base), base[len(base)/2], p99(base), len(loaded), loaded[len(loaded)/2], p99(loaded), walks.Load(), exports.Load(), cmds.Load())
	// The tail below the p99, which the disk's rare stalls (fsync, on a
	// shared machine) weigh on less than on the p99.
	q := func(d []time.Duration, per1000 int) time.Duration { return d[len(d)*per1000/1000] }
	b.Logf("acks alone: p90 %s, p95 %s, p99.9 %s; with readers: p90 %s, p95 %s, p99.9 %s",
		q(base, 900), q(base, 950), q(base, 999), q(loaded, 900), q(loaded, 950), q(loaded, 999))
	b.ReportMetric(float64(q(loaded, 950))/float64(q(base, 950)), "ack_p95_ratio")
	b.Logf("export: %.1f MB of Markdown", float64(exported.n)/1e6)
	b.ReportMetric(float64(p99(base).Microseconds())/1000, "ack_p99_alone_ms")
	b.ReportMetric(float64(p99(loaded).Microseconds())/1000, "ack_p99_readers_ms")
	b.ReportMetric(float64(p99(loaded))/float64(p99(base)), "ack_p99_ratio")
	// A disk stall of a second (another tenant's fsync) lands in one
	// round and sets the pooled p99 above; the median of the rounds'
	// own ratios is what the readers do round after round.
	slices.Sort(roundRatios)
	b.Logf("per-round p99 ratios: %.2f", roundRatios)
	b.ReportMetric(roundRatios[len(roundRatios)/2], "ack_p99_round_median_ratio")
	b.ReportMetric(float64(loaded[len(loaded)/2])/float64(base[len(base)/2]), "ack_p50_ratio")
	b.ReportMetric(ms(firstPage), "first_page_ms")
	b.ReportMetric(float64(walkHeap)/(1<<20), "walk_heap_MiB")
	b.ReportMetric(walkTime.Seconds(), "walk_s")
	b.ReportMetric(ms(firstPage1000), "first_page_1000_ms")
	b.ReportMetric(ms(pageEndKeys), "page_end_keys_ms")
	b.ReportMetric(ms(pageEndDecoded), "page_end_decoded_ms")
	b.ReportMetric(float64(firstPage1000)/float64(firstPage1000-pageEndKeys+pageEndDecoded), "first_page_1000_x_old")
	b.ReportMetric(ms(incidents), "incidents_ms")
	b.ReportMetric(ms(incidents1in10), "incidents_1in10_ms")
	b.ReportMetric(ms(incidentsNone), "incidents_none_ms")
	b.ReportMetric(ms(incidentsOldest), "incidents_oldest_ms")
	b.ReportMetric(float64(incidents1in10)/float64(incidents), "incidents_1in10_x_all")
	b.ReportMetric(float64(incidentsNone)/float64(incidents), "incidents_none_x_all")
	b.ReportMetric(float64(incidentsOldest)/float64(incidents), "incidents_oldest_x_all")
	b.ReportMetric(float64(exportHeap)/(1<<20), "export_heap_MiB")
	b.ReportMetric(exportTime.Seconds(), "export_s")
	b.ReportMetric(ms(timelineCmd), "timeline_cmd_ms")
	b.Logf("before: the whole-timeline export %s, heap peak %.1f MiB; reading the whole timeline (what /incident timeline did) %s",
		oldExportTime.Round(time.Millisecond), float64(oldExportHeap)/(1<<20), oldTimelineCmd.Round(time.Millisecond))
	b.ReportMetric(exportTime.Seconds()/oldExportTime.Seconds(), "export_time_x_old")
	b.ReportMetric(float64(exportHeap)/float64(oldExportHeap), "export_heap_x_old")
	b.ReportMetric(float64(timelineCmd)/float64(oldTimelineCmd), "timeline_cmd_x_old")
	b.Logf("debrief export (the binary): %s (CPU %s), %.1f MB, max RSS %.1f MiB (mapped database pages included), peak RssAnon %.1f MiB",
		sub.took.Round(time.Millisecond), sub.cpu.Round(time.Millisecond), float64(sub.bytes)/1e6, float64(sub.maxRSS)/(1<<20), float64(sub.rssAnon)/(1<<20))
	b.ReportMetric(sub.took.Seconds(), "export_bin_s")
	b.ReportMetric(sub.cpu.Seconds(), "export_bin_cpu_s")
	b.ReportMetric(float64(sub.maxRSS)/(1<<20), "export_bin_rss_MiB")
	b.ReportMetric(float64(sub.rssAnon)/(1<<20), "export_bin_rss_anon_MiB")
	b.ReportMetric(float64(walkRSS)/(1<<20), "walk_rss_anon_MiB")
	b.ReportMetric(float64(exportRSS)/(1<<20), "export_rss_anon_MiB")
}

// benchEntries is how many entries the long incident of a benchmark
// holds: DEBRIEF_BENCH_ENTRIES, 1,000,000 by default.
func benchEntries(b *testing.B) int {
	s := os.Getenv("DEBRIEF_BENCH_ENTRIES")
	if s == "" {
		return 1_000_000
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		b.Fatalf("DEBRIEF_BENCH_ENTRIES: %v", err)
	}
	return n
}

// sorted returns a sorted copy of d.
func sorted(d []time.Duration) []time.Duration {
	d = slices.Clone(d)
	slices.Sort(d)
	return d
}

// decodedPageEnd finds where a page of limit entries from the start of
// INC-1's timeline ends as the API's timeline page did before
// TimelineKeysAfter: decoding the entries, chunks of 100 in turns of
// their own.
func decodedPageEnd(ctx context.Context, b *testing.B, svc *workflows.Service, limit int) {
	n := 0
	for c := (store.TimelineCursor{}); n <= limit; {
		want := min(100, limit+1-n)
		done, err := svc.BulkRead(ctx)
		if err != nil {
			b.Fatal(err)
		}
		evs, err := svc.TimelineAfter(ctx, "INC-1", c, want)
		done()
		if err != nil {
			b.Fatal(err)
		}
		n += len(evs)
		if len(evs) < want {
			break
		}
		c = store.CursorOf(evs[len(evs)-1])
	}
	if n != limit+1 {
		b.Fatalf("decoded %d entries, want %d", n, limit+1)
	}
}

// fillLong writes the long incident INC-1 (living in ch) with n entries, a
// second apart from t0, and incidents INC-2 on until there are
// incidents of them, many appends per transaction: one in ten a drill,
// none a near miss, and INC-1 alone of SEV1, for the filtered lists.
func fillLong(b *testing.B, db *bolt.DB, ch bot.Channel, t0 time.Time, n, incidents int) {
	ctx := context.Background()
	alice := bot.User{Platform: bot.Console, ID: "alice", Name: "alice"}
	sevs := []bot.Severity{bot.SEV2, bot.SEV3, bot.SEV4, bot.SEV2}
	statuses := []bot.Status{bot.StatusInvestigating, bot.StatusResolved, bot.StatusClosed}
	err := db.Update(ctx, func(tx store.Tx) error {
		for i := 1; i <= incidents; i++ {
			inc := &bot.Incident{
				ID: bot.IncidentID(i), Number: i, Title: fmt.Sprintf("Incident number %d: checkout latency", i),
				Severity: sevs[i%4], Status: statuses[i%3], Kind: bot.KindReal, Origin: ch, DeclaredBy: alice,
				Roles: map[bot.Role]bot.User{bot.Commander: alice}, Responders: []bot.User{alice},
				DeclaredAt: t0.Add(time.Duration(i) * time.Minute), Summary: "The pool ran dry under a retry storm.",
				Channels: map[bot.Platform]string{bot.Console: fmt.Sprintf("inc-%d", i)},
			}
			if i%10 == 0 {
				inc.Kind = bot.KindDrill
			}
			if i == 1 {
				inc.Status, inc.Severity, inc.Channels[bot.Console] = bot.StatusInvestigating, bot.SEV1, ch.ID
			}
			if err := tx.PutIncident(inc); err != nil {
				return err
			}
			if i == 1 {
				if err := tx.PutChannel(ch, inc.ID); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	people := []bot.User{alice, {Platform: bot.Console, ID: "bob", Name: "bob"}, {Platform: bot.Console, ID: "carol", Name: "carol"}}
	const perTx = 20_000
	for done := 0; done < n; done += perTx {
		err := db.Update(ctx, func(tx store.Tx) error {
			for i := done; i < min(done+perTx, n); i++ {
				at := t0.Add(time.Duration(i) * time.Second / 2)
				kind := bot.EventMessage
				if i%50 == 7 {
					kind = bot.EventLifecycle
				}
				if _, _, err := tx.AppendEvent(bot.TimelineEvent{
					IncidentID: "INC-1", Kind: kind, Author: people[i%3], Text: fmt.Sprintf("checked pool wait on payments-api pod %d: p99 %d ms, still climbing", i%40, i%997),
					MessageID: fmt.Sprintf("%d.%06d", at.Unix(), i%1_000_000), DedupeKey: fmt.Sprintf("console/%s/%012d", ch.ID, i),
					PlatformAt: at, RecordedAt: at,
				}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// acks records events into ch at 500 a second for d, each from its own
// goroutine at its time (an open loop: a slow ack does not slow the
// arrivals; a generator that falls behind catches up), and returns how
// long each took to be acknowledged.
func acks(b *testing.B, svc *workflows.Service, ch bot.Channel, d time.Duration, seq *atomic.Int64) []time.Duration {
	ctx := context.Background()
	const every = 2 * time.Millisecond
	var mu sync.Mutex
	var out []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	for k := range int(d / every) {
		time.Sleep(time.Until(start.Add(time.Duration(k) * every)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			i := seq.Add(1)
			begin := time.Now()
			_, err := svc.Record(ctx, ch, bot.TimelineEvent{Kind: bot.EventMessage, Author: bot.User{Platform: bot.Console, ID: "dave"},
				Text: "live message " + strconv.FormatInt(i, 10), DedupeKey: "console/live/" + strconv.FormatInt(i, 10)})
			took := time.Since(begin)
			if err != nil {
				b.Error(err)
				return
			}
			mu.Lock()
			out = append(out, took)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// getPage fetches one timeline page and returns its next cursor and
// whether more follow. It reads them from the head of the answer and
// discards the entries undecoded: the client's work is not the server's,
// and on a machine of two cores it would be counted against the acks.
func getPage(b *testing.B, url string) (string, bool) {
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		b.Fatalf("GET %s = %d %s", url, resp.StatusCode, body)
	}
	head := make([]byte, 256)
	n, _ := io.ReadFull(resp.Body, head)
	h, _, _ := strings.Cut(string(head[:n]), `"entries":`)
	var p struct {
		Next string
		More bool
	}
	if err := json.Unmarshal([]byte(h[:len(h)-1]+"}"), &p); err != nil {
		b.Fatalf("head %q: %v", h, err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		b.Fatal(err)
	}
	return p.Next, p.More
}

// walk reads the whole timeline of INC-1 through pages of limit and
// returns how many entries it read.
func walk(b *testing.B, base string, limit int) int {
	n := 0
	after := ""
	for {
		resp, err := http.Get(fmt.Sprintf("%s/api/incidents/INC-1/timeline?limit=%d&after=%s", base, limit, after))
		if err != nil {
			b.Fatal(err)
		}
		var p struct {
			Next    string
			More    bool
			Entries []struct{ Seq uint64 }
		}
		err = json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		if err != nil {
			b.Fatal(err)
		}
		n += len(p.Entries)
		if !p.More {
			return n
		}
		after = p.Next
	}
}

// walkUntil is walk, stopping early when stop is closed.
func walkUntil(b *testing.B, base string, limit int, stop chan struct{}) {
	after := ""
	for !closed(stop) {
		next, more := getPage(b, fmt.Sprintf("%s/api/incidents/INC-1/timeline?limit=%d&after=%s", base, limit, after))
		if !more {
			return
		}
		after = next
	}
}

func closed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// median runs f n times and returns the median time it took.
func median(n int, f func()) time.Duration {
	ds := make([]time.Duration, n)
	for i := range ds {
		start := time.Now()
		f()
		ds[i] = time.Since(start)
	}
	slices.Sort(ds)
	return ds[n/2]
}

// medians runs each of fs in turn, n rounds, and returns the median time
// of each.
func medians(n int, fs ...func()) []time.Duration {
	ds := make([][]time.Duration, len(fs))
	for range n {
		for i, f := range fs {
			start := time.Now()
			f()
			ds[i] = append(ds[i], time.Since(start))
		}
	}
	out := make([]time.Duration, len(fs))
	for i, d := range ds {
		slices.Sort(d)
		out[i] = d[n/2]
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// peakHeap runs f and returns the peaks of HeapInuse and of the
// process's anonymous resident memory (RssAnon; 0 where /proc has none)
// while it ran, sampled every 5 ms after a collection, and how long it
// took.
func peakHeap(f func()) (heap, rss uint64, took time.Duration) {
	runtime.GC()
	var peak, peakRSS atomic.Uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			if r, ok := rssAnon(); ok && r > peakRSS.Load() {
				peakRSS.Store(r)
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	f()
	took = time.Since(start)
	close(done)
	<-sampled
	return peak.Load(), peakRSS.Load(), took
}

// rssAnon is the process's anonymous resident memory, from
// /proc/self/status: its RSS without the pages of the database file bbolt
// maps (file-backed pages the kernel may drop at will).
func rssAnon() (uint64, bool) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

// exported is what one run of the debrief binary's export measured.
type exported struct {
	took  time.Duration
	cpu   time.Duration // user and system
	bytes int64
	// maxRSS and rssAnon are the peaks of /proc/<pid>/status VmRSS
	// (mapped database pages included) and RssAnon (without them),
	// sampled every 5 ms. Not getrusage's ru_maxrss: on Linux a child
	// started by fork and exec reports its parent's RSS at the fork when
	// that is higher, here the benchmark's.
	maxRSS  uint64
	rssAnon uint64
}

// exportProcess runs `debrief export INC-1` on the database at path.
func exportProcess(b *testing.B, path string) exported {
	cmd := exec.Command(binary(b), "export", "INC-1")
	cmd.Env = append(os.Environ(), "DEBRIEF_DB="+path, "DEBRIEF_TZ=UTC")
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	var e exported
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
		for {
			if st, err := os.ReadFile(status); err == nil {
				for _, line := range strings.Split(string(st), "\n") {
					if v, ok := strings.CutPrefix(line, "RssAnon:"); ok {
						kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
						e.rssAnon = max(e.rssAnon, kb<<10)
					}
					if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
						kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
						e.maxRSS = max(e.maxRSS, kb<<10)
					}
				}
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	n, err := io.Copy(io.Discard, out)
	if err != nil {
		b.Fatal(err)
	}
	werr := cmd.Wait()
	e.took = time.Since(start)
	close(done)
	<-sampled
	if werr != nil {
		b.Fatalf("debrief export: %v: %s", werr, stderr.String())
	}
	e.bytes = n
	e.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return e
}
