package etcd_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/store/etcd"
	"github.com/debrief/debrief/store/etcd/etcdtest"
)

// TestViewWithoutQuorum: with two members of three gone, the one left
// answers reads from its own copy (and says so to its observer), and
// refuses writes.
func TestViewWithoutQuorum(t *testing.T) {
	ms := etcdtest.Cluster(t, 3)
	var local atomic.Int64
	s, err := etcd.Open(context.Background(), etcdtest.Client(t, ms[0]), etcd.WithPrefix("q/"),
		etcd.WithLocalReadObserver(func() { local.Add(1) }))
	if err != nil {
		t.Fatal(err)
	}
	inc := declare(t, s)
	if _, _, err := s.Append(context.Background(), bot.TimelineEvent{IncidentID: inc.ID, Kind: bot.EventMessage, Text: "before", RecordedAt: t0, DedupeKey: "k0"}); err != nil {
		t.Fatal(err)
	}
	if local.Load() != 0 {
		t.Errorf("%d local reads with a quorum, want 0", local.Load())
	}
	ms[1].Close()
	ms[2].Close()

	deadline := time.Now().Add(20 * time.Second)
	var evs []bot.TimelineEvent
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err = s.View(ctx, func(tx store.ReadTx) error {
			if _, err := tx.Incident(inc.ID); err != nil {
				return err
			}
			var err error
			if evs, err = tx.TimelineSince(inc.ID, 0, 10); err != nil {
				return err
			}
			return nil
		})
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("View without a quorum: %v", err)
		}
	}
	if len(evs) != 1 || evs[0].Text != "before" {
		t.Errorf("timeline without a quorum = %+v, want the entry appended before", evs)
	}
	if local.Load() == 0 {
		t.Error("a View answered without a quorum was not reported as local")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, _, err := s.Append(ctx, bot.TimelineEvent{IncidentID: inc.ID, Kind: bot.EventMessage, Text: "after", RecordedAt: t0, DedupeKey: "k1"}); err == nil {
		t.Error("Append without a quorum succeeded")
	}
}
