package etcd_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/store/etcd"
	"github.com/debrief/debrief/store/etcd/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// The benchmarks below compare, in one run and on one cluster, ingest
// through the store (Append: a Txn with the dedupe compare, as each
// replica does for a chat message) with raw etcd puts of the same size:
// the ratio is what the contract costs over etcd itself. The cluster's
// three members share this machine's disk, so the figures swing with
// whatever else writes to it: compare within a run. Run them with
//
//	go test -run '^$' -bench . ./store/etcd/
//
// The README's "Running three replicas" quotes the figures.

// cluster3 returns a 3-member cluster and one store per member, each on
// its own member's client: three replicas.
func cluster3(b *testing.B) ([]*etcd.Store, []*clientv3.Client) {
	ms := etcdtest.Cluster(b, 3)
	var ss []*etcd.Store
	var cs []*clientv3.Client
	for _, m := range ms {
		cli := etcdtest.Client(b, m)
		cs = append(cs, cli)
		s, err := etcd.Open(context.Background(), cli, etcd.WithPrefix("bench/"), etcd.WithMaxTxnOps(etcd.MemberMaxTxnOps))
		if err != nil {
			b.Fatal(err)
		}
		ss = append(ss, s)
	}
	return ss, cs
}

// routed3 is cluster3 with every replica's keyed appends routed over
// HTTP to the first one (as cmd routes them to the leader): the
// first appends itself, the others post to its RoutePath.
func routed3(b *testing.B) ([]store.Store, []*clientv3.Client) {
	ss, cs := cluster3(b)
	var urls [3]string
	var rs []store.Store
	for i, s := range ss {
		r, err := s.Route(context.Background(), func() string {
			if i == 0 {
				return ""
			}
			return urls[0]
		})
		if err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(r.Handler())
		b.Cleanup(srv.Close)
		urls[i] = srv.URL
		rs = append(rs, r)
	}
	return rs, cs
}

func benchIncident(b *testing.B, s store.Store) string {
	var id string
	err := s.Update(context.Background(), func(tx store.Tx) error {
		n, err := tx.NextIncidentNumber()
		if err != nil {
			return err
		}
		id = bot.IncidentID(n)
		return tx.PutIncident(&bot.Incident{ID: id, Number: n, Title: "bench", Kind: bot.KindReal,
			Severity: bot.SEV2, Status: bot.StatusInvestigating, DeclaredAt: time.Now()})
	})
	if err != nil {
		b.Fatal(err)
	}
	return id
}

var seq atomic.Int64

func message(id string) bot.TimelineEvent {
	n := seq.Add(1)
	return bot.TimelineEvent{
		IncidentID: id, Kind: bot.EventMessage, Text: fmt.Sprintf("payments API returns 502 again (%d)", n),
		RecordedAt: time.Now(), DedupeKey: fmt.Sprintf("slack/C0123/%d.000100", n),
		Author: bot.User{Platform: bot.Slack, ID: "U0ALICE", Name: "alice"},
	}
}

// BenchmarkIngest3 appends messages through three replicas at once (16
// writers per CPU spread over them), then puts as many raw values of the
// same size on the same cluster with as many writers: the baseline, in
// the same run. It reports both and their ratio (x_of_raw).
func BenchmarkIngest3(b *testing.B) {
	ss, cs := cluster3(b)
	ingest3(b, []store.Store{ss[0], ss[1], ss[2]}, cs)
}

// BenchmarkIngest3Routed is BenchmarkIngest3 with the appends routed to
// one replica (routed3).
func BenchmarkIngest3Routed(b *testing.B) {
	ss, cs := routed3(b)
	ingest3(b, ss, cs)
}

func ingest3(b *testing.B, ss []store.Store, cs []*clientv3.Client) {
	id := benchIncident(b, ss[0])
	b.SetParallelism(16)
	b.ResetTimer()
	start := time.Now()
	var next atomic.Uint64
	b.RunParallel(func(pb *testing.PB) {
		s := ss[next.Add(1)%3]
		for pb.Next() {
			if _, _, err := s.Append(context.Background(), message(id)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	ingest := time.Since(start)
	b.StopTimer()

	val := strings.Repeat("x", 300) // about a stored message's size
	var left atomic.Int64
	left.Store(int64(b.N))
	writers := 16 * runtime.GOMAXPROCS(0)
	start = time.Now()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			cli := cs[w%3]
			for left.Add(-1) >= 0 {
				if _, err := cli.Put(context.Background(), fmt.Sprintf("raw/%d", seq.Add(1)), val); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	raw := time.Since(start)
	b.ReportMetric(float64(b.N)/ingest.Seconds(), "appends/s")
	b.ReportMetric(float64(b.N)/raw.Seconds(), "raw_puts/s")
	b.ReportMetric(ingest.Seconds()/raw.Seconds(), "x_of_raw")
}

// BenchmarkAckLatency500 sends messages at 500 a second, spread over three
// replicas, for b.N messages, and reports the latency of their
// acknowledgements (Append returning: committed by a quorum) at p50 and
// p99. BenchmarkRawLatency500 does the same with raw puts: the tail etcd
// itself has on this machine.
func BenchmarkAckLatency500(b *testing.B) {
	ss, _ := cluster3(b)
	id := benchIncident(b, ss[0])
	paced(b, func(i int) error {
		_, _, err := ss[i%3].Append(context.Background(), message(id))
		return err
	})
}

// BenchmarkAckLatency500Routed is BenchmarkAckLatency500 with the
// appends routed to one replica (routed3): what three debrief replicas do.
func BenchmarkAckLatency500Routed(b *testing.B) {
	ss, _ := routed3(b)
	id := benchIncident(b, ss[0])
	paced(b, func(i int) error {
		_, _, err := ss[i%3].Append(context.Background(), message(id))
		return err
	})
}

func BenchmarkRawLatency500(b *testing.B) {
	_, cs := cluster3(b)
	val := strings.Repeat("x", 300)
	paced(b, func(i int) error {
		_, err := cs[i%3].Put(context.Background(), fmt.Sprintf("raw/%d", seq.Add(1)), val)
		return err
	})
}

// paced calls op b.N times at 500 a second, each in its own goroutine, and
// reports the p50 and p99 of their latencies.
func paced(b *testing.B, op func(i int) error) {
	lat := make([]time.Duration, b.N)
	done := make(chan struct{}, b.N)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	b.ResetTimer()
	for i := range b.N {
		<-tick.C
		go func() {
			start := time.Now()
			if err := op(i); err != nil {
				b.Error(err)
			}
			lat[i] = time.Since(start)
			done <- struct{}{}
		}()
	}
	for range b.N {
		<-done
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkIncidentsAfter measures the first page of 50 of 10k incidents
// on one member, unfiltered and filtered (one in ten; none; the oldest
// alone), with the field index (incby.go), and, in the same run, the same
// pages read from the incident index alone (incidx, as before the field
// index: µs_incidx) and the same incidents put without index entries (as
// a debrief before either wrote them), which IncidentsAfter tests on
// their JSON (µs_unindexed).
func BenchmarkIncidentsAfter(b *testing.B) {
	const n = 10_000
	cli := etcdtest.Client(b, etcdtest.Member(b))
	ctx := context.Background()
	t0 := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	incident := func(i int) *bot.Incident {
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
		return inc
	}
	indexed := etcdtest.Open(b, cli, "indexed/")
	// 100 to a Txn: with its index keys an incident is up to seven puts,
	// within the member's 1024 operations.
	for lo := 1; lo <= n; lo += 100 {
		err := indexed.Update(ctx, func(tx store.Tx) error {
			for i := lo; i < min(lo+100, n+1); i++ {
				if err := tx.PutIncident(incident(i)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	unindexed := etcdtest.Open(b, cli, "unindexed/")
	for lo := 1; lo <= n; lo += 500 {
		var ops []clientv3.Op
		for i := lo; i < min(lo+500, n+1); i++ {
			v, err := json.Marshal(incident(i))
			if err != nil {
				b.Fatal(err)
			}
			ops = append(ops, clientv3.OpPut(fmt.Sprintf("unindexed/inc/%020d", i), string(v)))
		}
		if _, err := cli.Txn(ctx).Then(ops...).Commit(); err != nil {
			b.Fatal(err)
		}
	}
	page := func(s store.Store, f store.IncidentFilter, want int) func() error {
		return func() error {
			return s.View(ctx, func(tx store.ReadTx) error {
				incs, err := tx.IncidentsAfter(0, 50, f)
				if err == nil && len(incs) != want {
					err = fmt.Errorf("IncidentsAfter(%+v) = %d incidents, want %d", f, len(incs), want)
				}
				return err
			})
		}
	}
	timeOp := func(runs int, op func() error) time.Duration {
		start := time.Now()
		for range runs {
			if err := op(); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start) / time.Duration(runs)
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
			allPage := timeOp(20, page(indexed, store.IncidentFilter{}, 50))
			before := timeOp(3, page(unindexed, bc.f, bc.want))
			// The incident index alone, as before the field index.
			etcd.ScanFilters(indexed, true)
			scan := timeOp(5, page(indexed, bc.f, bc.want))
			etcd.ScanFilters(indexed, false)
			// What Open adds, checking the index of 10k incidents.
			open := timeOp(3, func() error { _, err := etcd.Open(ctx, cli, etcd.WithPrefix("indexed/")); return err })
			op := page(indexed, bc.f, bc.want)
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
			b.ReportMetric(float64(scan.Microseconds()), "µs_incidx")
			b.ReportMetric(float64(took)/float64(scan), "x_of_incidx")
			b.ReportMetric(float64(before.Microseconds()), "µs_unindexed")
			b.ReportMetric(float64(took)/float64(before), "x_of_unindexed")
			b.ReportMetric(float64(open.Microseconds())/1000, "ms_open")
		})
	}
	// The upgrade: Open indexes the 10k incidents put without entries.
	start := time.Now()
	if _, err := etcd.Open(ctx, cli, etcd.WithPrefix("unindexed/")); err != nil {
		b.Fatal(err)
	}
	b.Logf("Open indexed 10k incidents in %s", time.Since(start).Round(time.Millisecond))
}
