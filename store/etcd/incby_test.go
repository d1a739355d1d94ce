package etcd_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/store/etcd"
	"github.com/debrief/debrief/store/etcd/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

var declared = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

func testIncident(n int, status bot.Status, sev bot.Severity) *bot.Incident {
	return &bot.Incident{ID: bot.IncidentID(n), Number: n, Title: "incident", Kind: bot.KindReal,
		Severity: sev, Status: status, DeclaredAt: declared.Add(time.Duration(n) * time.Minute)}
}

// filtered returns the IDs of IncidentsAfter(after, limit, f) in s.
func filtered(t *testing.T, s store.Store, after, limit int, f store.IncidentFilter) []string {
	t.Helper()
	var got []string
	err := s.View(context.Background(), func(tx store.ReadTx) error {
		incs, err := tx.IncidentsAfter(after, limit, f)
		for _, inc := range incs {
			got = append(got, inc.ID)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func wantFiltered(t *testing.T, s store.Store, f store.IncidentFilter, want ...string) {
	t.Helper()
	if got := filtered(t, s, 0, 50, f); !slices.Equal(got, want) {
		t.Errorf("IncidentsAfter(%+v) = %v, want %v", f, got, want)
	}
}

// keys returns the keys under prefix.
func keys(t *testing.T, cli *clientv3.Client, prefix string) []string {
	t.Helper()
	resp, err := cli.Get(context.Background(), prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	var ks []string
	for _, kv := range resp.Kvs {
		ks = append(ks, string(kv.Key))
	}
	return ks
}

func put(t *testing.T, s store.Store, incs ...*bot.Incident) {
	t.Helper()
	err := s.Update(context.Background(), func(tx store.Tx) error {
		for _, inc := range incs {
			if err := tx.PutIncident(inc); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// putRaw writes inc as a debrief before the field index does: its JSON,
// and its incidx entry too when withIdx (the release before this one).
func putRaw(t *testing.T, cli *clientv3.Client, prefix string, inc *bot.Incident, withIdx bool) {
	t.Helper()
	b, err := json.Marshal(inc)
	if err != nil {
		t.Fatal(err)
	}
	ops := []clientv3.Op{clientv3.OpPut(fmt.Sprintf("%sinc/%020d", prefix, inc.Number), string(b))}
	if withIdx {
		d := inc.DeclaredAt
		v := fmt.Sprintf("%d/%d/%d/%d/%s%s", inc.Severity, d.Unix(), d.Nanosecond(), len(inc.Status), inc.Status, inc.Kind)
		ops = append(ops, clientv3.OpPut(fmt.Sprintf("%sincidx/%020d", prefix, inc.Number), v))
	}
	if _, err := cli.Txn(context.Background()).Then(ops...).Commit(); err != nil {
		t.Fatal(err)
	}
}

// TestIncByStatusChange: a status change moves the incident from one
// status range to the other (the old key deleted in the same Txn), and out
// of the open range when it closes.
func TestIncByStatusChange(t *testing.T) {
	cli := etcdtest.Client(t, etcdtest.Member(t))
	s := etcdtest.Open(t, cli, "move/")
	put(t, s, testIncident(1, bot.StatusInvestigating, bot.SEV2), testIncident(2, bot.StatusInvestigating, bot.SEV2))
	put(t, s, testIncident(1, bot.StatusResolved, bot.SEV1))
	wantFiltered(t, s, store.IncidentFilter{Status: bot.StatusInvestigating}, "INC-2")
	wantFiltered(t, s, store.IncidentFilter{Status: bot.StatusResolved}, "INC-1")
	wantFiltered(t, s, store.IncidentFilter{Severity: bot.SEV2}, "INC-2")
	n1 := fmt.Sprintf("%020d", 1)
	want := []string{"move/incby/kind/real/" + n1, "move/incby/open/" + n1, "move/incby/sev/1/" + n1, "move/incby/status/resolved/" + n1}
	got := slices.DeleteFunc(keys(t, cli, "move/incby/"), func(k string) bool { return k[len(k)-20:] != n1 })
	if !slices.Equal(got, want) {
		t.Errorf("INC-1's field keys = %v, want %v", got, want)
	}
	put(t, s, testIncident(1, bot.StatusClosed, bot.SEV1))
	wantFiltered(t, s, store.IncidentFilter{Open: true}, "INC-2")
	wantFiltered(t, s, store.IncidentFilter{Status: bot.StatusClosed}, "INC-1")
	if ks := keys(t, cli, "move/incby/open/"+n1); len(ks) != 0 {
		t.Errorf("closed INC-1 still has %v", ks)
	}
	// Every field key at its incident's mod revision.
	inc, err := cli.Get(context.Background(), "move/inc/"+n1)
	if err != nil {
		t.Fatal(err)
	}
	fk, err := cli.Get(context.Background(), "move/incby/status/closed/"+n1)
	if err != nil {
		t.Fatal(err)
	}
	if len(fk.Kvs) != 1 || fk.Kvs[0].ModRevision != inc.Kvs[0].ModRevision {
		t.Errorf("status key of INC-1: %v, want one at the incident's revision %d", fk.Kvs, inc.Kvs[0].ModRevision)
	}
}

// TestIncByRollback: a transaction that rolls back leaves no field key.
func TestIncByRollback(t *testing.T) {
	cli := etcdtest.Client(t, etcdtest.Member(t))
	s := etcdtest.Open(t, cli, "rollback/")
	put(t, s, testIncident(1, bot.StatusInvestigating, bot.SEV2))
	before := keys(t, cli, "rollback/incby/")
	boom := errors.New("boom")
	err := s.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.PutIncident(testIncident(1, bot.StatusClosed, bot.SEV1)); err != nil {
			return err
		}
		if err := tx.PutIncident(testIncident(2, bot.StatusResolved, bot.SEV3)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want boom", err)
	}
	if after := keys(t, cli, "rollback/incby/"); !slices.Equal(after, before) {
		t.Errorf("field keys after a rollback = %v, want %v", after, before)
	}
	wantFiltered(t, s, store.IncidentFilter{Status: bot.StatusClosed})
	wantFiltered(t, s, store.IncidentFilter{Open: true}, "INC-1")
}

// TestIncByOwnWrites: a transaction's filtered reads see its own writes:
// an incident it moved, one it declared, and not the old value's key.
func TestIncByOwnWrites(t *testing.T) {
	cli := etcdtest.Client(t, etcdtest.Member(t))
	s := etcdtest.Open(t, cli, "own/")
	put(t, s, testIncident(1, bot.StatusInvestigating, bot.SEV2), testIncident(2, bot.StatusInvestigating, bot.SEV2))
	err := s.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.PutIncident(testIncident(1, bot.StatusClosed, bot.SEV2)); err != nil {
			return err
		}
		if err := tx.PutIncident(testIncident(3, bot.StatusClosed, bot.SEV1)); err != nil {
			return err
		}
		for _, tc := range []struct {
			f    store.IncidentFilter
			want []string
		}{
			{store.IncidentFilter{Status: bot.StatusClosed}, []string{"INC-1", "INC-3"}},
			{store.IncidentFilter{Status: bot.StatusInvestigating}, []string{"INC-2"}},
			{store.IncidentFilter{Open: true}, []string{"INC-2"}},
			{store.IncidentFilter{Severity: bot.SEV1, Status: bot.StatusClosed}, []string{"INC-3"}},
		} {
			incs, err := tx.IncidentsAfter(0, 10, tc.f)
			if err != nil {
				return err
			}
			var got []string
			for _, inc := range incs {
				got = append(got, inc.ID)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("in the transaction, IncidentsAfter(%+v) = %v, want %v", tc.f, got, tc.want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantFiltered(t, s, store.IncidentFilter{Status: bot.StatusClosed}, "INC-1", "INC-3")
}

// TestIncByOlderReplicas: incidents written by the releases before the
// field index (JSON alone, or JSON and incidx entry) after this store's
// Open set W are filtered right, stale field keys included; the next
// Open (several at once) gives them their keys and moves W past them.
func TestIncByOlderReplicas(t *testing.T) {
	cli := etcdtest.Client(t, etcdtest.Member(t))
	const p = "older/"
	s := etcdtest.Open(t, cli, p)
	var incs []*bot.Incident
	for n := 1; n <= 6; n++ {
		incs = append(incs, testIncident(n, bot.StatusInvestigating, bot.SEV2))
	}
	put(t, s, incs...)
	// INC-2 resolved by a replica of the release before (incidx, no field
	// keys); INC-4 closed and INC-7 declared by one before that.
	putRaw(t, cli, p, testIncident(2, bot.StatusResolved, bot.SEV1), true)
	putRaw(t, cli, p, testIncident(4, bot.StatusClosed, bot.SEV2), false)
	putRaw(t, cli, p, testIncident(7, bot.StatusResolved, bot.SEV3), false)
	check := func(t *testing.T, s store.Store) {
		t.Helper()
		wantFiltered(t, s, store.IncidentFilter{Status: bot.StatusResolved}, "INC-2", "INC-7")
		wantFiltered(t, s, store.IncidentFilter{Status: bot.StatusInvestigating}, "INC-1", "INC-3", "INC-5", "INC-6")
		wantFiltered(t, s, store.IncidentFilter{Open: true}, "INC-1", "INC-2", "INC-3", "INC-5", "INC-6", "INC-7")
		wantFiltered(t, s, store.IncidentFilter{Severity: bot.SEV2}, "INC-1", "INC-3", "INC-4", "INC-5", "INC-6")
		wantFiltered(t, s, store.IncidentFilter{Status: bot.StatusClosed}, "INC-4")
		wantFiltered(t, s, store.IncidentFilter{Severity: bot.SEV1, Open: true}, "INC-2")
		if got := filtered(t, s, 0, 2, store.IncidentFilter{Open: true}); !slices.Equal(got, []string{"INC-1", "INC-2"}) {
			t.Errorf("first page of 2 open = %v", got)
		}
		if got := filtered(t, s, 2, 2, store.IncidentFilter{Open: true}); !slices.Equal(got, []string{"INC-3", "INC-5"}) {
			t.Errorf("second page of 2 open = %v", got)
		}
	}
	check(t, s)
	// Three replicas open at once: each repairs what it finds, the
	// Txns conditional on the incident, and W only grows.
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range 3 {
		wg.Go(func() { _, errs[i] = etcd.Open(context.Background(), cli, etcd.WithPrefix(p)) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	check(t, s)
	// W is at most the revision Open read at, before its own repairs:
	// the next Open moves it past them.
	check(t, etcdtest.Open(t, cli, p))
	chk, err := cli.Get(context.Background(), p+"incchk")
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 7; n++ {
		inc, err := cli.Get(context.Background(), fmt.Sprintf("%sinc/%020d", p, n))
		if err != nil {
			t.Fatal(err)
		}
		mod := inc.Kvs[0].ModRevision
		var inc2 bot.Incident
		if err := json.Unmarshal(inc.Kvs[0].Value, &inc2); err != nil {
			t.Fatal(err)
		}
		st, err := cli.Get(context.Background(), fmt.Sprintf("%sincby/status/%s/%020d", p, inc2.Status, n))
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Kvs) != 1 || st.Kvs[0].ModRevision != mod {
			t.Errorf("INC-%d after Open: status key %v, want one at revision %d", n, st.Kvs, mod)
		}
		if len(chk.Kvs) != 1 || string(chk.Kvs[0].Value) < fmt.Sprintf("%020d", mod) {
			t.Errorf("INC-%d at revision %d, checkpoint %v: the repair did not move it past", n, mod, chk.Kvs)
		}
	}
	// INC-2's key in the investigating range, left by the older replica,
	// is still there, and not trusted: its incident moved on.
	if ks := keys(t, cli, fmt.Sprintf("%sincby/status/investigating/%020d", p, 2)); len(ks) != 1 {
		t.Errorf("stale key of INC-2: %v", ks)
	}
	check(t, s)
}

// TestIncByFirstOpen: Open gives every incident of a store written before
// the field index its keys.
func TestIncByFirstOpen(t *testing.T) {
	cli := etcdtest.Client(t, etcdtest.Member(t))
	const p = "first/"
	for n := 1; n <= 45; n++ {
		st := bot.StatusInvestigating
		if n%3 == 0 {
			st = bot.StatusClosed
		}
		putRaw(t, cli, p, testIncident(n, st, bot.SEV2), n%2 == 0)
	}
	s := etcdtest.Open(t, cli, p)
	if got := len(keys(t, cli, p+"incby/status/closed/")); got != 15 {
		t.Errorf("%d closed keys after Open, want 15", got)
	}
	if got := len(keys(t, cli, p+"incby/open/")); got != 30 {
		t.Errorf("%d open keys after Open, want 30", got)
	}
	got := filtered(t, s, 0, 50, store.IncidentFilter{Status: bot.StatusClosed})
	if len(got) != 15 || got[0] != "INC-3" || got[14] != "INC-45" {
		t.Errorf("closed after Open: %v", got)
	}
}
