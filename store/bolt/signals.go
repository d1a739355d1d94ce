package bolt

import (
	"encoding/json"
	"fmt"

	"github.com/debrief/debrief/store"
	bbolt "go.etcd.io/bbolt"
)

// The weak-signal records (store/signals.go), one bucket each:
//
//	nearmisses   Number (8)  -> store.NearMiss JSON
//	alertgroups  ID          -> store.AlertGroup JSON
//	signals      Key         -> store.Signal JSON
var (
	bucketNearMisses  = []byte("nearmisses")
	bucketAlertGroups = []byte("alertgroups")
	bucketSignals     = []byte("signals")
)

// NearMisses returns every near miss, by number.
func (t *tx) NearMisses() ([]store.NearMiss, error) {
	var out []store.NearMiss
	err := t.btx.Bucket(bucketNearMisses).ForEach(func(k, v []byte) error {
		var nm store.NearMiss
		if err := json.Unmarshal(v, &nm); err != nil {
			return fmt.Errorf("store: near miss %x: %w", k, err)
		}
		out = append(out, nm)
		return nil
	})
	return out, err
}

// PutNearMiss inserts or replaces the near miss with nm.Number.
func (t *tx) PutNearMiss(nm store.NearMiss) error {
	if nm.Number < 1 || nm.ID != store.NearMissID(nm.Number) {
		return fmt.Errorf("store: put near miss %q: number %d does not match", nm.ID, nm.Number)
	}
	return put(t.btx.Bucket(bucketNearMisses), u64(uint64(nm.Number)), nm, "near miss "+nm.ID)
}

// AlertGroup returns the alert group with ID id, and whether it exists.
func (t *tx) AlertGroup(id string) (store.AlertGroup, bool, error) {
	var g store.AlertGroup
	ok, err := get(t.btx.Bucket(bucketAlertGroups), []byte(id), &g, "alert group "+id)
	return g, ok, err
}

// PutAlertGroup inserts or replaces the alert group with g.ID.
func (t *tx) PutAlertGroup(g store.AlertGroup) error {
	if g.ID == "" {
		return fmt.Errorf("store: put alert group: ID required")
	}
	return put(t.btx.Bucket(bucketAlertGroups), []byte(g.ID), g, "alert group "+g.ID)
}

// AlertGroups returns every alert group, by ID (store.Lister).
func (t *tx) AlertGroups() ([]store.AlertGroup, error) {
	var out []store.AlertGroup
	err := t.btx.Bucket(bucketAlertGroups).ForEach(func(k, v []byte) error {
		var g store.AlertGroup
		if err := json.Unmarshal(v, &g); err != nil {
			return fmt.Errorf("store: alert group %s: %w", k, err)
		}
		out = append(out, g)
		return nil
	})
	return out, err
}

// Signal returns the signal with key k, and whether it exists.
func (t *tx) Signal(k string) (store.Signal, bool, error) {
	var s store.Signal
	ok, err := get(t.btx.Bucket(bucketSignals), []byte(k), &s, "signal "+k)
	return s, ok, err
}

// Signals returns every signal, in key order.
func (t *tx) Signals() ([]store.Signal, error) {
	var out []store.Signal
	err := t.btx.Bucket(bucketSignals).ForEach(func(k, v []byte) error {
		var s store.Signal
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("store: signal %s: %w", k, err)
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

// PutSignal inserts or replaces the signal with s.Key.
func (t *tx) PutSignal(s store.Signal) error {
	if s.Key == "" {
		return fmt.Errorf("store: put signal: key required")
	}
	return put(t.btx.Bucket(bucketSignals), []byte(s.Key), s, "signal "+s.Key)
}

func get(b *bbolt.Bucket, k []byte, v any, what string) (bool, error) {
	raw := b.Get(k)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("store: %s: %w", what, err)
	}
	return true, nil
}

func put(b *bbolt.Bucket, k []byte, v any, what string) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: put %s: %w", what, err)
	}
	if err := b.Put(k, raw); err != nil {
		return fmt.Errorf("store: put %s: %w", what, err)
	}
	return nil
}
