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
	return all[store.NearMiss](t.btx.Bucket(bucketNearMisses), "near miss")
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
	return all[store.AlertGroup](t.btx.Bucket(bucketAlertGroups), "alert group")
}

// Signal returns the signal with key k, and whether it exists.
func (t *tx) Signal(k string) (store.Signal, bool, error) {
	var s store.Signal
	ok, err := get(t.btx.Bucket(bucketSignals), []byte(k), &s, "signal "+k)
	return s, ok, err
}

// Signals returns every signal, in key order.
func (t *tx) Signals() ([]store.Signal, error) {
	return all[store.Signal](t.btx.Bucket(bucketSignals), "signal")
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

// all decodes every record of b, in key order: the records of one kind,
// each a JSON value of T.
func all[T any](b *bbolt.Bucket, what string) ([]T, error) {
	var out []T
	err := b.ForEach(func(k, v []byte) error {
		var r T
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("store: %s %q: %w", what, k, err)
		}
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
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
