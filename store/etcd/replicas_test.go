package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/store/etcd"
	"github.com/debrief/debrief/store/etcd/etcdtest"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// replicas returns n stores on one cluster, each with a client of its own:
// what n debrief replicas see.
func replicas(t *testing.T, n int) []*etcd.Store {
	m := etcdtest.Member(t)
	var ss []*etcd.Store
	for range n {
		ss = append(ss, etcdtest.Open(t, etcdtest.Client(t, m), "r/"))
	}
	return ss
}

func declare(t *testing.T, s store.Store) *bot.Incident {
	t.Helper()
	var inc *bot.Incident
	err := s.Update(context.Background(), func(tx store.Tx) error {
		n, err := tx.NextIncidentNumber()
		if err != nil {
			return err
		}
		inc = &bot.Incident{ID: bot.IncidentID(n), Number: n, Title: fmt.Sprint("inc ", n), Severity: bot.SEV3, Status: bot.StatusInvestigating, Kind: bot.KindReal, DeclaredAt: t0}
		return tx.PutIncident(inc)
	})
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

// TestReplicasDeclare: replicas declaring at once never share a number.
func TestReplicasDeclare(t *testing.T) {
	ss := replicas(t, 3)
	const each = 10
	var mu sync.Mutex
	seen := map[int]int{}
	var wg sync.WaitGroup
	for _, s := range ss {
		wg.Go(func() {
			for range each {
				inc := declare(t, s)
				mu.Lock()
				seen[inc.Number]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for n := 1; n <= len(ss)*each; n++ {
		if seen[n] != 1 {
			t.Errorf("number %d handed out %d times", n, seen[n])
		}
	}
	var incs []*bot.Incident
	err := ss[0].View(context.Background(), func(tx store.ReadTx) error {
		var err error
		incs, err = tx.Incidents()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(incs) != len(ss)*each {
		t.Errorf("%d incidents stored, want %d", len(incs), len(ss)*each)
	}
}

// TestReplicasDedupe: the same redelivery reaching every replica at once is
// stored once, and every replica answers with that entry.
func TestReplicasDedupe(t *testing.T) {
	ss := replicas(t, 3)
	inc := declare(t, ss[0])
	for k := range 20 {
		key := fmt.Sprint("Ev-", k)
		res := make([]bot.TimelineEvent, 2*len(ss))
		dups := make([]bool, len(res))
		var wg sync.WaitGroup
		for i := range res {
			wg.Go(func() {
				ev := bot.TimelineEvent{IncidentID: inc.ID, Kind: bot.EventMessage, Text: fmt.Sprint("from ", i), RecordedAt: t0, DedupeKey: key}
				var err error
				res[i], dups[i], err = ss[i%len(ss)].Append(context.Background(), ev)
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		fresh := 0
		for i := range res {
			if !dups[i] {
				fresh++
			}
			if res[i] != res[0] {
				t.Errorf("%s: replica answers differ: %+v, %+v", key, res[i], res[0])
			}
		}
		if fresh != 1 {
			t.Errorf("%s stored %d times", key, fresh)
		}
	}
	var evs []bot.TimelineEvent
	_ = ss[1].View(context.Background(), func(tx store.ReadTx) error {
		var err error
		evs, err = tx.Timeline(inc.ID)
		return err
	})
	if len(evs) != 20 {
		t.Errorf("timeline has %d entries, want 20", len(evs))
	}
}

// TestReplicasDenseSeq: replicas appending to one incident at once, through
// Append and through AppendEvent in an Update, number its entries 1..N with
// no gap and no Seq twice, the Seq each append returned is the one stored,
// and the length is the last Seq (the store contract's cursor promise).
func TestReplicasDenseSeq(t *testing.T) {
	ss := replicas(t, 3)
	inc := declare(t, ss[0])
	ctx := context.Background()
	const each = 15
	var mu sync.Mutex
	got := map[uint64]string{} // Seq -> text
	var wg sync.WaitGroup
	for i, s := range ss {
		for _, inTx := range []bool{false, true} {
			wg.Go(func() {
				for k := range each {
					text := fmt.Sprintf("r%d tx=%v %d", i, inTx, k)
					ev := bot.TimelineEvent{IncidentID: inc.ID, Kind: bot.EventMessage, Text: text, RecordedAt: t0.Add(time.Duration(k) * time.Second), DedupeKey: text}
					var stored bot.TimelineEvent
					var err error
					if inTx {
						err = s.Update(ctx, func(tx store.Tx) error {
							var err error
							stored, _, err = tx.AppendEvent(ev)
							return err
						})
					} else {
						stored, _, err = s.Append(ctx, ev)
					}
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					if prev, ok := got[stored.Seq]; ok {
						t.Errorf("Seq %d given to %q and %q", stored.Seq, prev, text)
					}
					got[stored.Seq] = text
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	n := uint64(len(ss) * 2 * each)
	for seq := uint64(1); seq <= n; seq++ {
		if _, ok := got[seq]; !ok {
			t.Errorf("no append got Seq %d", seq)
		}
	}
	err := ss[2].View(ctx, func(tx store.ReadTx) error {
		evs, err := tx.TimelineSince(inc.ID, 0, int(n)+10)
		if err != nil {
			return err
		}
		if uint64(len(evs)) != n {
			t.Errorf("TimelineSince(0) has %d entries, want %d", len(evs), n)
		}
		for i, ev := range evs {
			if ev.Seq != uint64(i)+1 || ev.Text != got[ev.Seq] {
				t.Errorf("TimelineSince(0)[%d] = Seq %d %q, want Seq %d %q", i, ev.Seq, ev.Text, i+1, got[uint64(i)+1])
			}
		}
		lens, err := tx.TimelineLens()
		if err != nil {
			return err
		}
		if lens[inc.ID] != n {
			t.Errorf("TimelineLens()[%s] = %d, want %d", inc.ID, lens[inc.ID], n)
		}
		page, total, err := tx.TimelinePage(inc.ID, int(n)-3, 10)
		if err != nil {
			return err
		}
		if total != int(n) || len(page) != 3 {
			t.Errorf("TimelinePage(last) = %d entries of %d, want 3 of %d", len(page), total, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestFence: an Update under a fence commits while the fence key keeps its
// revision and is refused, writing nothing, once it does not.
func TestFence(t *testing.T) {
	ss := replicas(t, 1)
	s := ss[0]
	ctx := context.Background()
	cli := s.Client()
	resp, err := cli.Put(ctx, "election/leader-a", "a")
	if err != nil {
		t.Fatal(err)
	}
	fenced := etcd.Fence(ctx, "election/leader-a", resp.Header.Revision)
	put := func(v string) error {
		return s.Update(fenced, func(tx store.Tx) error { return tx.PutMeta("k", v) })
	}
	if err := put("while leading"); err != nil {
		t.Fatalf("Update while leading: %v", err)
	}
	if _, err := cli.Delete(ctx, "election/leader-a"); err != nil {
		t.Fatal(err)
	}
	if err := put("after losing"); !errors.Is(err, etcd.ErrFenced) {
		t.Errorf("Update after losing the lease = %v, want ErrFenced", err)
	}
	// Another leader with the same key name is another revision.
	if _, err := cli.Put(ctx, "election/leader-a", "b"); err != nil {
		t.Fatal(err)
	}
	if err := put("ABA"); !errors.Is(err, etcd.ErrFenced) {
		t.Errorf("Update under a recreated key = %v, want ErrFenced", err)
	}
	_ = s.View(ctx, func(tx store.ReadTx) error {
		if v, _, _ := tx.Meta("k"); v != "while leading" {
			t.Errorf("Meta = %q, want the write made while leading", v)
		}
		return nil
	})
}

// TestReplicasFireOnce: two replicas that both believe they lead (a
// split brain, before the fence catches the old one) fire a due reminder
// at once: the transactions conflict, and it fires once, one effect
// queued.
func TestReplicasFireOnce(t *testing.T) {
	ss := replicas(t, 2)
	ctx := context.Background()
	for k := range 10 {
		key := fmt.Sprint("INC-1/status_update/", k)
		err := ss[0].Update(ctx, func(tx store.Tx) error {
			return tx.PutReminder(store.Reminder{Key: key, IncidentID: "INC-1", Kind: store.RemindStatus, Due: t0})
		})
		if err != nil {
			t.Fatal(err)
		}
		fired := make([]int, len(ss))
		var wg sync.WaitGroup
		for i, s := range ss {
			wg.Go(func() {
				err := s.Update(ctx, func(tx store.Tx) error {
					fired[i] = 0
					due, err := tx.DueReminders(t0)
					if err != nil {
						return err
					}
					for _, r := range due {
						r.Due, r.Count = r.Due.Add(time.Hour), r.Count+1
						if err := tx.PutReminder(r); err != nil {
							return err
						}
						if _, err := tx.AddEffect(store.Effect{Kind: "post", Lane: "slack/INC-1", Key: r.Key + "#" + fmt.Sprint(r.Count)}); err != nil {
							return err
						}
						fired[i]++
					}
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if fired[0]+fired[1] != 1 {
			t.Errorf("round %d: fired %d + %d times, want once", k, fired[0], fired[1])
		}
	}
	var effs []store.Effect
	if err := ss[1].View(ctx, func(tx store.ReadTx) error {
		var err error
		effs, err = tx.Effects()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(effs) != 10 {
		t.Errorf("%d effects queued, want 10 (one a reminder)", len(effs))
	}
}

// TestReplicasWeakSignals: replicas recording near misses at once (each
// numbered len(NearMisses())+1, as workflows does) never share a number,
// and replicas counting the same signal at once lose no firing: the range
// read and the point read are both conditions of the commit.
func TestReplicasWeakSignals(t *testing.T) {
	ss := replicas(t, 3)
	const each = 8
	var wg sync.WaitGroup
	for i, s := range ss {
		wg.Go(func() {
			for j := range each {
				err := s.Update(context.Background(), func(tx store.Tx) error {
					all, err := tx.NearMisses()
					if err != nil {
						return err
					}
					n := len(all) + 1
					if err := tx.PutNearMiss(store.NearMiss{ID: store.NearMissID(n), Number: n, Text: fmt.Sprintf("replica %d #%d", i, j), At: t0, RecordedAt: t0}); err != nil {
						return err
					}
					sig, _, err := tx.Signal("sig")
					if err != nil {
						return err
					}
					sig.Key, sig.Count = "sig", sig.Count+1
					return tx.PutSignal(sig)
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	err := ss[0].View(context.Background(), func(tx store.ReadTx) error {
		all, err := tx.NearMisses()
		if err != nil {
			return err
		}
		texts := map[string]bool{}
		for i, nm := range all {
			if nm.Number != i+1 || nm.ID != store.NearMissID(i+1) {
				t.Errorf("near miss %d is %s (number %d)", i+1, nm.ID, nm.Number)
			}
			texts[nm.Text] = true
		}
		if len(all) != len(ss)*each || len(texts) != len(ss)*each {
			t.Errorf("%d near misses (%d distinct), want %d: one overwrote another", len(all), len(texts), len(ss)*each)
		}
		sig, ok, err := tx.Signal("sig")
		if err != nil {
			return err
		}
		if !ok || sig.Count != len(ss)*each {
			t.Errorf("signal count = %d (%v), want %d", sig.Count, ok, len(ss)*each)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReplicasRemember: the same signed request reaching three replicas at
// once is new on exactly one of them (store.Tx.Remember).
func TestReplicasRemember(t *testing.T) {
	ss := replicas(t, 3)
	for round := range 5 {
		key := fmt.Sprintf("slack/sig/%d", round)
		var mu sync.Mutex
		fresh := 0
		var wg sync.WaitGroup
		for _, s := range ss {
			wg.Go(func() {
				var seen bool
				err := s.Update(context.Background(), func(tx store.Tx) error {
					var err error
					seen, err = tx.Remember(key, t0, t0.Add(5*time.Minute))
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
				if !seen {
					mu.Lock()
					fresh++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if fresh != 1 {
			t.Errorf("%s: new on %d replicas, want 1", key, fresh)
		}
	}
}

// TestAppendLargeEntries: appends queued together whose entries would
// pass etcd's request limit in one Txn (1.5 MiB) are committed in several.
func TestAppendLargeEntries(t *testing.T) {
	s := replicas(t, 1)[0]
	inc := declare(t, s)
	text := strings.Repeat("x", 100<<10)
	var wg sync.WaitGroup
	const n = 40
	for k := range n {
		wg.Go(func() {
			ev := bot.TimelineEvent{IncidentID: inc.ID, Kind: bot.EventMessage, Text: text, RecordedAt: t0, DedupeKey: fmt.Sprint("big/", k)}
			if _, _, err := s.Append(context.Background(), ev); err != nil {
				t.Errorf("append %d: %v", k, err)
			}
		})
	}
	wg.Wait()
	if evs := timelineOf(t, s, inc.ID); len(evs) != n {
		t.Errorf("timeline has %d entries, want %d", len(evs), n)
	}
}
