package etcd

import (
	"encoding/json"
	"fmt"

	"github.com/debrief/debrief/store"
)

// The records of weak signals and game days (store/signals.go, store.go),
// one key range each, JSON values like the rest:
//
//	gameday/<Number, 20 digits>    store.Gameday
//	nearmiss/<Number, 20 digits>   store.NearMiss
//	alertgroup/<ID>                store.AlertGroup
//	signal/<Key>                   store.Signal
//
// Numbers are zero-padded so that key order is number order, as in bbolt.
// Reads go through get and scan, so these records are serializable with
// the rest (see tx): two replicas numbering a near miss at once conflict
// on the range read of NearMisses, and one of them runs again.

// Gamedays returns every game day ever scheduled, by Number.
func (t *tx) Gamedays() ([]store.Gameday, error) {
	return scanJSON[store.Gameday](t, "gameday")
}

// PutGameday inserts or replaces the game day numbered g.Number.
func (t *tx) PutGameday(g store.Gameday) error {
	if g.Number <= 0 {
		return fmt.Errorf("store: etcd: put gameday: number %d: must be from 1", g.Number)
	}
	return t.putJSON(t.s.key("gameday", num(uint64(g.Number))), g, "gameday "+g.ID)
}

// NearMisses returns every near miss, by number.
func (t *tx) NearMisses() ([]store.NearMiss, error) {
	return scanJSON[store.NearMiss](t, "nearmiss")
}

// PutNearMiss inserts or replaces the near miss with nm.Number.
func (t *tx) PutNearMiss(nm store.NearMiss) error {
	if nm.Number < 1 || nm.ID != store.NearMissID(nm.Number) {
		return fmt.Errorf("store: etcd: put near miss %q: number %d does not match", nm.ID, nm.Number)
	}
	return t.putJSON(t.s.key("nearmiss", num(uint64(nm.Number))), nm, "near miss "+nm.ID)
}

// AlertGroup returns the alert group with ID id, and whether it exists.
func (t *tx) AlertGroup(id string) (store.AlertGroup, bool, error) {
	var g store.AlertGroup
	ok, err := t.getJSON(t.s.key("alertgroup", id), &g, "alert group "+id)
	return g, ok, err
}

// PutAlertGroup inserts or replaces the alert group with g.ID.
func (t *tx) PutAlertGroup(g store.AlertGroup) error {
	if g.ID == "" {
		return fmt.Errorf("store: etcd: put alert group: ID required")
	}
	return t.putJSON(t.s.key("alertgroup", g.ID), g, "alert group "+g.ID)
}

// AlertGroups returns every alert group, in ID order (store.Lister).
func (t *tx) AlertGroups() ([]store.AlertGroup, error) {
	return scanJSON[store.AlertGroup](t, "alertgroup")
}

// Signal returns the signal with key k, and whether it exists.
func (t *tx) Signal(k string) (store.Signal, bool, error) {
	var s store.Signal
	ok, err := t.getJSON(t.s.key("signal", k), &s, "signal "+k)
	return s, ok, err
}

// Signals returns every signal, in key order.
func (t *tx) Signals() ([]store.Signal, error) {
	return scanJSON[store.Signal](t, "signal")
}

// PutSignal inserts or replaces the signal with s.Key.
func (t *tx) PutSignal(s store.Signal) error {
	if s.Key == "" {
		return fmt.Errorf("store: etcd: put signal: key required")
	}
	return t.putJSON(t.s.key("signal", s.Key), s, "signal "+s.Key)
}

// scanJSON decodes every value under the range name, in key order.
func scanJSON[T any](t *tx, name string) ([]T, error) {
	kvs, err := t.scanPrefix(t.s.key(name) + "/")
	if err != nil {
		return nil, err
	}
	var out []T
	for _, c := range kvs {
		var v T
		if err := json.Unmarshal(c.val, &v); err != nil {
			return nil, fmt.Errorf("store: etcd: %s: %w", c.key, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func (t *tx) getJSON(k string, v any, what string) (bool, error) {
	c, err := t.get(k)
	if err != nil || !c.ok {
		return false, err
	}
	if err := json.Unmarshal(c.val, v); err != nil {
		return false, fmt.Errorf("store: etcd: %s: %w", what, err)
	}
	return true, nil
}

func (t *tx) putJSON(k string, v any, what string) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: etcd: put %s: %w", what, err)
	}
	return t.put(k, raw)
}
