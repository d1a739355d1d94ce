package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
)

// testWeakSignals: near misses, alert groups and signals are kept as put,
// replaced by their key, listed in order, and rolled back with their
// transaction.
func testWeakSignals(t *testing.T, s store.Store) {
	view(t, s, func(tx store.ReadTx) error {
		nms, err := tx.NearMisses()
		if err != nil || len(nms) != 0 {
			t.Errorf("NearMisses of an empty store = %v, %v", nms, err)
		}
		if _, ok, err := tx.AlertGroup("AL-1"); ok || err != nil {
			t.Errorf("AlertGroup of a missing ID = %v, %v", ok, err)
		}
		if _, ok, err := tx.Signal("x"); ok || err != nil {
			t.Errorf("Signal of a missing key = %v, %v", ok, err)
		}
		return nil
	})
	alice := bot.User{Platform: bot.Slack, ID: "U1", Name: "alice"}
	update(t, s, func(tx store.Tx) error {
		for i := 1; i <= 11; i++ { // past 9: numbers sort as numbers
			if err := tx.PutNearMiss(store.NearMiss{ID: store.NearMissID(i), Number: i, Text: "almost", Reporter: alice, At: t0}); err != nil {
				return err
			}
		}
		if err := tx.PutAlertGroup(store.AlertGroup{ID: "AL-1", Source: "alertmanager", Key: "{}:{a=\"b\"}", StartedAt: t0,
			Alerts: map[string]store.AlertState{"f1": {Name: "HighDisk", Firing: true, StartsAt: t0, Signal: "s1"}}}); err != nil {
			return err
		}
		for _, k := range []string{"s2", "s1"} {
			if err := tx.PutSignal(store.Signal{Key: k, Name: "HighDisk", Labels: map[string]string{"host": k}, Count: 1, Fires: []time.Time{t0}}); err != nil {
				return err
			}
		}
		return nil
	})
	// Replacing by key, and a promotion.
	update(t, s, func(tx store.Tx) error {
		if err := tx.PutNearMiss(store.NearMiss{ID: "NM-3", Number: 3, Text: "promoted", Reporter: alice, At: t0, IncidentID: "INC-1"}); err != nil {
			return err
		}
		sig, ok, err := tx.Signal("s1")
		if err != nil || !ok {
			t.Fatalf("Signal(s1) = %v, %v", ok, err)
		}
		sig.Count++
		return tx.PutSignal(sig)
	})
	// A bad record is refused; a failed transaction leaves nothing behind.
	boom := errors.New("boom")
	err := s.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.PutNearMiss(store.NearMiss{ID: "NM-9", Number: 2}); err == nil {
			t.Error("PutNearMiss with an ID that is not its number's: want an error")
		}
		if err := tx.PutSignal(store.Signal{}); err == nil {
			t.Error("PutSignal without a key: want an error")
		}
		if err := tx.PutAlertGroup(store.AlertGroup{}); err == nil {
			t.Error("PutAlertGroup without an ID: want an error")
		}
		if err := tx.PutSignal(store.Signal{Key: "rolled-back"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want boom", err)
	}
	view(t, s, func(tx store.ReadTx) error {
		nms, err := tx.NearMisses()
		if err != nil || len(nms) != 11 {
			t.Fatalf("NearMisses = %d, %v; want 11", len(nms), err)
		}
		for i, nm := range nms {
			if nm.Number != i+1 {
				t.Errorf("NearMisses[%d] is number %d, want them by number", i, nm.Number)
			}
		}
		if nms[2].Text != "promoted" || nms[2].IncidentID != "INC-1" || !nms[2].At.Equal(t0) || nms[2].Reporter != alice {
			t.Errorf("NM-3 = %+v, want the replaced record", nms[2])
		}
		g, ok, err := tx.AlertGroup("AL-1")
		if err != nil || !ok || g.Alerts["f1"].Name != "HighDisk" || !g.Alerts["f1"].Firing || !g.StartedAt.Equal(t0) {
			t.Errorf("AlertGroup(AL-1) = %+v, %v, %v", g, ok, err)
		}
		sigs, err := tx.Signals()
		var keys []string
		for _, s := range sigs {
			keys = append(keys, s.Key)
		}
		if err != nil || !slices.Equal(keys, []string{"s1", "s2"}) || sigs[0].Count != 2 || sigs[0].Labels["host"] != "s1" {
			t.Errorf("Signals = %+v, %v; want s1 (count 2), s2", sigs, err)
		}
		return nil
	})
}
