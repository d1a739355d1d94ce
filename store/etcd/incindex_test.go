package etcd_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/store/etcd/etcdtest"
)

// TestIncidentIndexOutOfStep: an incident put by a debrief that predates
// the incident index (written without its entry, or rewritten after it,
// leaving the entry stale) is still filtered right: the index is trusted
// only where it shares the incident's mod revision.
func TestIncidentIndexOutOfStep(t *testing.T) {
	cli := etcdtest.Client(t, etcdtest.Member(t))
	s := etcdtest.Open(t, cli, "outofstep/")
	ctx := context.Background()
	t0 := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	err := s.Update(ctx, func(tx store.Tx) error {
		for n := 1; n <= 3; n++ {
			if err := tx.PutIncident(&bot.Incident{ID: bot.IncidentID(n), Number: n, Title: "indexed", Kind: bot.KindReal,
				Severity: bot.SEV2, Status: bot.StatusInvestigating, DeclaredAt: t0}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// What an older replica does: INC-2 closed, INC-4 declared, with no
	// index entry written.
	for _, inc := range []*bot.Incident{
		{ID: "INC-2", Number: 2, Title: "closed by an old replica", Kind: bot.KindReal, Severity: bot.SEV2, Status: bot.StatusClosed, DeclaredAt: t0},
		{ID: "INC-4", Number: 4, Title: "declared by an old replica", Kind: bot.KindReal, Severity: bot.SEV1, Status: bot.StatusInvestigating, DeclaredAt: t0},
	} {
		b, err := json.Marshal(inc)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cli.Put(ctx, fmt.Sprintf("outofstep/inc/%020d", inc.Number), string(b)); err != nil {
			t.Fatal(err)
		}
	}
	check := func(t *testing.T, s store.Store) {
		t.Helper()
		err := s.View(ctx, func(tx store.ReadTx) error {
			for _, tc := range []struct {
				f     store.IncidentFilter
				limit int
				want  []string
			}{
				{store.IncidentFilter{Status: bot.StatusClosed}, 10, []string{"INC-2"}},
				{store.IncidentFilter{Open: true}, 10, []string{"INC-1", "INC-3", "INC-4"}},
				{store.IncidentFilter{Open: true}, 2, []string{"INC-1", "INC-3"}},
				{store.IncidentFilter{Open: true}, 3, []string{"INC-1", "INC-3", "INC-4"}},
				{store.IncidentFilter{Severity: bot.SEV1}, 10, []string{"INC-4"}},
				{store.IncidentFilter{Severity: bot.SEV2, Open: true}, 10, []string{"INC-1", "INC-3"}},
			} {
				incs, err := tx.IncidentsAfter(0, tc.limit, tc.f)
				if err != nil {
					return err
				}
				var got []string
				for _, inc := range incs {
					got = append(got, inc.ID)
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("IncidentsAfter(%+v, limit %d) = %v, want %v", tc.f, tc.limit, got, tc.want)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	check(t, s)
	// The next Open writes the entries the old replica left out or
	// behind, in the incident's own Txn, and the filters read the same.
	check(t, etcdtest.Open(t, cli, "outofstep/"))
	for n := 1; n <= 4; n++ {
		inc, err := cli.Get(ctx, fmt.Sprintf("outofstep/inc/%020d", n))
		if err != nil {
			t.Fatal(err)
		}
		idx, err := cli.Get(ctx, fmt.Sprintf("outofstep/incidx/%020d", n))
		if err != nil {
			t.Fatal(err)
		}
		if len(inc.Kvs) != 1 || len(idx.Kvs) != 1 || inc.Kvs[0].ModRevision != idx.Kvs[0].ModRevision {
			t.Errorf("INC-%d after Open: %d incident, %d index entry, want both, at one mod revision", n, len(inc.Kvs), len(idx.Kvs))
		}
	}
}
