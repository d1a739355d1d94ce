package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
)

// migrate copies the state between DEBRIEF_DB (bbolt) and the configured
// etcd cluster, in the direction given ("to-etcd" or "to-bolt"), then reads
// both back and compares them entry by entry. The destination must be
// empty: migrate never merges.
func migrate(ctx context.Context, cfg Config, direction string, stdout io.Writer) (err error) {
	if !cfg.Cluster.On() {
		return fmt.Errorf("migrate: no etcd configured: set DEBRIEF_ETCD_ENDPOINTS or DEBRIEF_CLUSTER_NAME and DEBRIEF_CLUSTER_PEERS: %w", errUsage)
	}
	if direction != "to-etcd" && direction != "to-bolt" {
		return fmt.Errorf("migrate takes to-etcd or to-bolt, got %q: %w", direction, errUsage)
	}
	var bolt *backend
	if direction == "to-etcd" {
		db, err := openExisting(cfg.DB)
		if err != nil {
			return err
		}
		bolt = &backend{Store: db, close: db.Close, where: cfg.DB}
	} else {
		db, err := openStore(cfg.DB)
		if err != nil {
			return err
		}
		bolt = &backend{Store: db, close: db.Close, where: cfg.DB}
	}
	defer func() { err = errors.Join(err, bolt.close()) }()
	etcd, err := openEtcd(ctx, cfg, nil, nil)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, etcd.close()) }()

	src, dst := bolt, etcd
	if direction == "to-bolt" {
		src, dst = etcd, bolt
	}
	n, err := copyStore(ctx, src, dst)
	if err != nil {
		return fmt.Errorf("migrate %s to %s: %w", src.where, dst.where, err)
	}
	if err := compareStores(ctx, src, dst); err != nil {
		return fmt.Errorf("migrate %s to %s: copied, but the copy differs: %w", src.where, dst.where, err)
	}
	_, err = fmt.Fprintf(stdout, "migrated %s to %s: %d incidents, %d timeline entries, %d channels, %d users, %d reminders, %d effects, %d meta, %d game days, %d near misses, %d alert groups, %d signals; every entry compared\n",
		src.where, dst.where, n.incidents, n.entries, n.channels, n.users, n.reminders, n.effects, n.meta,
		n.gamedays, n.nearMisses, n.groups, n.signals)
	return err
}

// snapshot is a whole store as the contract reads it.
type snapshot struct {
	incidents []*bot.Incident
	timelines map[string][]bot.TimelineEvent
	channels  map[bot.Channel]string
	users     []store.UserPrefs
	reminders []store.Reminder
	effects   []store.Effect
	meta      map[string]string
	gamedays  []store.Gameday
	nearMiss  []store.NearMiss
	groups    []store.AlertGroup
	signals   []store.Signal
}

type counts struct {
	incidents, entries, channels, users, reminders, effects, meta int
	gamedays, nearMisses, groups, signals                         int
}

// read takes a snapshot of s in one View.
func read(ctx context.Context, s store.Store) (*snapshot, error) {
	snap := &snapshot{timelines: map[string][]bot.TimelineEvent{}}
	err := s.View(ctx, func(tx store.ReadTx) error {
		l, ok := tx.(store.Lister)
		if !ok {
			return errors.New("this store cannot list its contents")
		}
		var err error
		if snap.incidents, err = tx.Incidents(); err != nil {
			return err
		}
		for _, inc := range snap.incidents {
			if snap.timelines[inc.ID], err = tx.Timeline(inc.ID); err != nil {
				return err
			}
		}
		if snap.channels, err = l.Channels(); err != nil {
			return err
		}
		if snap.users, err = l.Users(); err != nil {
			return err
		}
		if snap.reminders, err = tx.DueReminders(time.Unix(0, math.MaxInt64)); err != nil {
			return err
		}
		if snap.effects, err = tx.Effects(); err != nil {
			return err
		}
		if snap.meta, err = l.MetaAll(); err != nil {
			return err
		}
		if snap.gamedays, err = tx.Gamedays(); err != nil {
			return err
		}
		if snap.nearMiss, err = tx.NearMisses(); err != nil {
			return err
		}
		if snap.groups, err = l.AlertGroups(); err != nil {
			return err
		}
		snap.signals, err = tx.Signals()
		return err
	})
	return snap, err
}

// maxOps bounds the keys one transaction writes: etcd refuses a
// transaction of more than --max-txn-ops (128 by default) operations,
// counting its puts and its compares apart. An append writes four keys
// and compares its dedupe key; an incident writes up to ten (itself and
// its filter indexes, store/etcd/incby.go); the other records fewer.
const maxOps = 100

// incidentOps and writeOps are what an incident and any other record
// count against maxOps.
const (
	incidentOps = 10
	writeOps    = 4
)

func copyStore(ctx context.Context, src, dst store.Store) (counts, error) {
	var n counts
	existing, err := read(ctx, dst)
	if err != nil {
		return n, fmt.Errorf("read the destination: %w", err)
	}
	if len(existing.incidents) > 0 || len(existing.effects) > 0 || len(existing.reminders) > 0 {
		return n, fmt.Errorf("the destination is not empty (%d incidents, %d effects, %d reminders): migrate copies into an empty store only",
			len(existing.incidents), len(existing.effects), len(existing.reminders))
	}
	snap, err := read(ctx, src)
	if err != nil {
		return n, fmt.Errorf("read the source: %w", err)
	}
	// Each kind of record in batches of at most maxOps keys.
	type write func(store.Tx) error
	var writes []write
	for _, inc := range snap.incidents {
		writes = append(writes, func(tx store.Tx) error { return tx.PutIncident(inc) })
		n.incidents++
	}
	incidentWrites := len(writes)
	for _, inc := range snap.incidents {
		for _, ev := range snap.timelines[inc.ID] {
			writes = append(writes, func(tx store.Tx) error {
				_, dup, err := tx.AppendEvent(ev)
				if err == nil && dup {
					err = fmt.Errorf("%s: entry %q is a duplicate of one copied before", inc.ID, ev.DedupeKey)
				}
				return err
			})
			n.entries++
		}
	}
	n.channels, n.users, n.reminders, n.effects, n.meta = len(snap.channels), len(snap.users), len(snap.reminders), len(snap.effects), len(snap.meta)
	n.gamedays, n.nearMisses, n.groups, n.signals = len(snap.gamedays), len(snap.nearMiss), len(snap.groups), len(snap.signals)
	for c, id := range snap.channels {
		writes = append(writes, func(tx store.Tx) error { return tx.PutChannel(c, id) })
	}
	for _, p := range snap.users {
		writes = append(writes, func(tx store.Tx) error { return tx.PutUserPrefs(p) })
	}
	for _, r := range snap.reminders {
		writes = append(writes, func(tx store.Tx) error { return tx.PutReminder(r) })
	}
	for _, e := range snap.effects {
		// A new ID in the destination; the key (what the far side
		// dedupes on) is kept.
		writes = append(writes, func(tx store.Tx) error { _, err := tx.AddEffect(e); return err })
	}
	for k, v := range snap.meta {
		writes = append(writes, func(tx store.Tx) error { return tx.PutMeta(k, v) })
	}
	for _, g := range snap.gamedays {
		writes = append(writes, func(tx store.Tx) error { return tx.PutGameday(g) })
	}
	for _, nm := range snap.nearMiss {
		writes = append(writes, func(tx store.Tx) error { return tx.PutNearMiss(nm) })
	}
	for _, g := range snap.groups {
		writes = append(writes, func(tx store.Tx) error { return tx.PutAlertGroup(g) })
	}
	for _, sig := range snap.signals {
		writes = append(writes, func(tx store.Tx) error { return tx.PutSignal(sig) })
	}
	for i := 0; i < len(writes); {
		per := maxOps / writeOps
		if i < incidentWrites {
			per = min(maxOps/incidentOps, incidentWrites-i)
		}
		batch := writes[i:min(i+per, len(writes))]
		i += len(batch)
		err := dst.Update(ctx, func(tx store.Tx) error {
			for _, w := range batch {
				if err := w(tx); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// compareStores reads both stores back and reports the first difference
// of each kind. Seq and effect IDs are assigned by each store, so they are
// left out; everything else must be equal.
func compareStores(ctx context.Context, a, b store.Store) error {
	sa, err := read(ctx, a)
	if err != nil {
		return err
	}
	sb, err := read(ctx, b)
	if err != nil {
		return err
	}
	var errs []error
	differ := func(what string, x, y any) {
		if !reflect.DeepEqual(x, y) {
			errs = append(errs, fmt.Errorf("%s: %d vs %d entries, or a field differs", what, length(x), length(y)))
		}
	}
	differ("incidents", sa.incidents, sb.incidents)
	for id, evs := range sa.timelines {
		differ("timeline of "+id, noSeq(evs), noSeq(sb.timelines[id]))
	}
	differ("channels", sa.channels, sb.channels)
	differ("users", sa.users, sb.users)
	differ("reminders", sa.reminders, sb.reminders)
	differ("effects", noIDs(sa.effects), noIDs(sb.effects))
	differ("meta", sa.meta, sb.meta)
	differ("game days", sa.gamedays, sb.gamedays)
	differ("near misses", sa.nearMiss, sb.nearMiss)
	differ("alert groups", sa.groups, sb.groups)
	differ("signals", sa.signals, sb.signals)
	return errors.Join(errs...)
}

func length(x any) int {
	v := reflect.ValueOf(x)
	if v.Kind() == reflect.Slice || v.Kind() == reflect.Map {
		return v.Len()
	}
	return 1
}

func noSeq(evs []bot.TimelineEvent) []bot.TimelineEvent {
	out := make([]bot.TimelineEvent, len(evs))
	for i, ev := range evs {
		ev.Seq = 0
		out[i] = ev
	}
	return out
}

func noIDs(effs []store.Effect) []store.Effect {
	out := make([]store.Effect, len(effs))
	for i, e := range effs {
		e.ID = 0
		out[i] = e
	}
	return out
}
