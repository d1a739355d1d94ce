package etcd

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	clientv3 "go.etcd.io/etcd/client/v3"
)

var _ store.Tx = (*tx)(nil)

// tx is one optimistic transaction: every read is served at one revision
// (the first read's) and recorded; writes are buffered and read back by
// later reads of the same transaction; commit sends them in one etcd Txn
// whose conditions are that nothing read has changed:
//
//   - a key read (present or not) still has the mod revision it had, which
//     also catches a key deleted or created since;
//   - a range read has no key modified after the snapshot, which catches
//     keys added or changed in it. A delete in a range leaves nothing to
//     compare, so the ranges that have deletes (outbox, due) each have a
//     generation key that every delete bumps and every range read reads.
//
// New read methods follow the same shape: point reads through get, ranges
// through scan, and they are serializable with the rest for free.
type tx struct {
	ctx      context.Context
	s        *Store
	writable bool
	local    bool // reads from the member's own copy (View without a quorum)

	rev    int64            // the snapshot; 0 until the first read
	err    error            // the first failed read: the transaction cannot commit
	reads  map[string]int64 // key -> mod revision seen (0: absent)
	cache  map[string]kv    // what reads returned, so a key is fetched once
	ranges []keyRange
	writes map[string]*string // key -> value; nil deletes
}

type kv struct {
	key    string
	val    []byte
	create int64 // create revision; 0 for a write of this transaction
	mod    int64 // mod revision; 0 for a write of this transaction
	ok     bool
}

type keyRange struct{ start, end string }

func newTx(ctx context.Context, s *Store, writable bool) *tx {
	return &tx{
		ctx: ctx, s: s, writable: writable,
		reads: map[string]int64{}, cache: map[string]kv{}, writes: map[string]*string{},
	}
}

// revOpts pins a read to the snapshot, or takes the snapshot from the
// first read, which is linearizable: it sees every commit acknowledged
// before it, whichever replica made it.
func (t *tx) revOpts(opts ...clientv3.OpOption) []clientv3.OpOption {
	if t.rev > 0 {
		opts = append(opts, clientv3.WithRev(t.rev))
	}
	return append(opts, t.localOpts()...)
}

// localOpts makes a read serializable when the transaction reads the
// member's own copy (Store.View without a quorum).
func (t *tx) localOpts() []clientv3.OpOption {
	if t.local {
		return []clientv3.OpOption{clientv3.WithSerializable()}
	}
	return nil
}

func (t *tx) fail(what string, err error) error {
	err = fmt.Errorf("store: etcd: %s: %w", what, err)
	if t.err == nil {
		t.err = err
	}
	return err
}

// get reads one key through the transaction.
func (t *tx) get(k string) (kv, error) {
	if v, ok := t.writes[k]; ok {
		if v == nil {
			return kv{key: k}, nil
		}
		return kv{key: k, val: []byte(*v), ok: true}, nil
	}
	if c, ok := t.cache[k]; ok {
		return c, nil
	}
	if t.err != nil {
		return kv{}, t.err
	}
	resp, err := t.s.cli.Get(t.ctx, k, t.revOpts()...)
	if err != nil {
		return kv{}, t.fail("read "+k, err)
	}
	if t.rev == 0 {
		t.rev = resp.Header.Revision
	}
	c := kv{key: k}
	var mod int64
	if len(resp.Kvs) == 1 {
		c = kv{key: k, val: resp.Kvs[0].Value, create: resp.Kvs[0].CreateRevision, mod: resp.Kvs[0].ModRevision, ok: true}
		mod = resp.Kvs[0].ModRevision
	}
	t.cache[k] = c
	t.reads[k] = mod
	return c, nil
}

// scan reads every key in [start, end) through the transaction, in key
// order.
func (t *tx) scan(start, end string) ([]kv, error) {
	return t.scanN(start, end, 0)
}

// scanN is scan of at most the first limit keys etcd holds (0: all); the
// whole range is still a condition of the commit.
func (t *tx) scanN(start, end string, limit int64) ([]kv, error) {
	return t.scanOpts(start, end, limit)
}

// scanKeys is scanN without the values: for counting and skipping.
func (t *tx) scanKeys(start, end string, limit int64) ([]kv, error) {
	return t.scanOpts(start, end, limit, clientv3.WithKeysOnly())
}

func (t *tx) scanOpts(start, end string, limit int64, opts ...clientv3.OpOption) ([]kv, error) {
	out, edge, err := t.rangeRead(start, end, append(opts, clientv3.WithLimit(limit))...)
	if err != nil {
		return nil, err
	}
	// When etcd stopped at the limit, only this transaction's keys up to
	// where it stopped, so that the result is still a prefix of the range
	// (callers cut it to their limit).
	if edge != "" {
		end = edge + "\x00"
	}
	return t.withOwnWrites(out, start, end), nil
}

// scanLast returns the last n keys of [start, end) in key order, this
// transaction's writes included: one range read, sorted descending by etcd
// so that it reads n keys however many the range holds.
func (t *tx) scanLast(start, end string, n int64) ([]kv, error) {
	out, edge, err := t.rangeRead(start, end, clientv3.WithLimit(n),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend))
	if err != nil {
		return nil, err
	}
	slices.Reverse(out)
	// When etcd stopped at the limit, only this transaction's keys from
	// where it stopped (the smallest key it returned).
	if edge != "" {
		start = edge
	}
	out = t.withOwnWrites(out, start, end)
	return out[max(0, len(out)-int(n)):], nil
}

// rangeRead reads [start, end) at the transaction's revision, makes the
// range a condition of the commit, and returns what etcd holds there as
// this transaction sees it (its own writes over the keys etcd returned),
// in etcd's order; and, when etcd stopped at a limit, the last key it
// returned (edge), else "".
func (t *tx) rangeRead(start, end string, opts ...clientv3.OpOption) (out []kv, edge string, err error) {
	if t.err != nil {
		return nil, "", t.err
	}
	resp, err := t.s.cli.Get(t.ctx, start, t.revOpts(append(opts, clientv3.WithRange(end))...)...)
	if err != nil {
		return nil, "", t.fail("read "+start, err)
	}
	if t.rev == 0 {
		t.rev = resp.Header.Revision
	}
	t.ranges = append(t.ranges, keyRange{start, end})
	out = make([]kv, 0, len(resp.Kvs))
	for _, x := range resp.Kvs {
		k := string(x.Key)
		if v, ok := t.writes[k]; ok {
			if v != nil {
				out = append(out, kv{key: k, val: []byte(*v), ok: true})
			}
			continue
		}
		out = append(out, kv{key: k, val: x.Value, create: x.CreateRevision, mod: x.ModRevision, ok: true})
	}
	if resp.More && len(resp.Kvs) > 0 {
		edge = string(resp.Kvs[len(resp.Kvs)-1].Key)
	}
	return out, edge, nil
}

// withOwnWrites adds to out (in key order) the keys this transaction put
// in [start, end) that etcd does not hold yet, keeping the key order.
func (t *tx) withOwnWrites(out []kv, start, end string) []kv {
	added := false
	for k, v := range t.writes {
		if v == nil || k < start || k >= end {
			continue
		}
		i := sort.Search(len(out), func(i int) bool { return out[i].key >= k })
		if i < len(out) && out[i].key == k {
			continue
		}
		out = append(out, kv{key: k, val: []byte(*v), ok: true})
		added = true
	}
	if added {
		sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	}
	return out
}

func (t *tx) scanPrefix(prefix string) ([]kv, error) {
	return t.scan(prefix, clientv3.GetPrefixRangeEnd(prefix))
}

func (t *tx) put(k string, v []byte) error {
	if !t.writable {
		return fmt.Errorf("store: etcd: write %s in a read-only transaction", k)
	}
	s := string(v)
	t.writes[k] = &s
	return nil
}

func (t *tx) del(k string) error {
	if !t.writable {
		return fmt.Errorf("store: etcd: delete %s in a read-only transaction", k)
	}
	t.writes[k] = nil
	return nil
}

// counter reads a number kept as decimal text under k (0 when absent).
func (t *tx) counter(k string) (uint64, error) {
	c, err := t.get(k)
	if err != nil || !c.ok {
		return 0, err
	}
	n, err := strconv.ParseUint(string(c.val), 10, 64)
	if err != nil {
		return 0, t.fail("counter "+k, err)
	}
	return n, nil
}

func (t *tx) setCounter(k string, n uint64) error {
	return t.put(k, []byte(strconv.FormatUint(n, 10)))
}

// deleted bumps the generation of a range that had a key deleted, so that
// a concurrent reader of that range conflicts (see tx).
func (t *tx) deleted(gen string) error {
	k := t.s.key("gen", gen)
	if _, ok := t.writes[k]; ok {
		return nil
	}
	n, err := t.counter(k)
	if err != nil {
		return err
	}
	return t.setCounter(k, n+1)
}

// commit sends the buffered writes in one Txn, conditional on the reads
// (and on the fence, when there is one). It reports false when the
// conditions failed and fn must run again.
func (t *tx) commit(f fence, fenced bool) (bool, error) {
	if len(t.writes) == 0 {
		return true, nil
	}
	cmps := make([]clientv3.Cmp, 0, len(t.reads)+len(t.ranges))
	for k, mod := range t.reads {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(k), "=", mod))
	}
	for _, r := range t.ranges {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(r.start), "<", t.rev+1).WithRange(r.end))
	}
	ops := make([]clientv3.Op, 0, len(t.writes))
	for k, v := range t.writes {
		if v == nil {
			ops = append(ops, clientv3.OpDelete(k))
		} else {
			ops = append(ops, clientv3.OpPut(k, *v))
		}
	}
	start := time.Now()
	if !fenced {
		resp, err := t.s.cli.Txn(t.ctx).If(cmps...).Then(ops...).Commit()
		if err != nil {
			return false, fmt.Errorf("store: etcd: commit: %w", err)
		}
		t.s.observe(start)
		return resp.Succeeded, nil
	}
	resp, err := t.s.cli.Txn(t.ctx).
		If(clientv3.Compare(clientv3.CreateRevision(f.key), "=", f.rev)).
		Then(clientv3.OpTxn(cmps, ops, nil)).
		Commit()
	if err != nil {
		return false, fmt.Errorf("store: etcd: commit: %w", err)
	}
	t.s.observe(start)
	if !resp.Succeeded {
		return false, ErrFenced
	}
	return resp.Responses[0].GetResponseTxn().Succeeded, nil
}

// Incident returns the incident with the given ID, or a *bot.Error with
// code ENOTFOUND.
func (t *tx) Incident(id string) (*bot.Incident, error) {
	n, ok := bot.ParseIncidentID(id)
	if !ok {
		return nil, noIncident(id)
	}
	c, err := t.get(t.s.incidentKey(n))
	if err != nil {
		return nil, err
	}
	if !c.ok {
		return nil, noIncident(id)
	}
	inc := new(bot.Incident)
	if err := json.Unmarshal(c.val, inc); err != nil {
		return nil, fmt.Errorf("store: etcd: incident %s: %w", id, err)
	}
	return inc, nil
}

// Incidents returns every incident in number order, which is oldest first.
func (t *tx) Incidents() ([]*bot.Incident, error) {
	kvs, err := t.scanPrefix(t.s.key("inc") + "/")
	if err != nil {
		return nil, err
	}
	var incs []*bot.Incident
	for _, c := range kvs {
		inc := new(bot.Incident)
		if err := json.Unmarshal(c.val, inc); err != nil {
			return nil, fmt.Errorf("store: etcd: incidents: %s: %w", c.key, err)
		}
		incs = append(incs, inc)
	}
	return incs, nil
}

func (t *tx) channelKey(c bot.Channel) string {
	return t.s.key("ch", string(c.Platform), c.ID)
}

// IncidentByChannel returns the ID of the incident that lives in c, or a
// *bot.Error with code ENOTFOUND.
func (t *tx) IncidentByChannel(c bot.Channel) (string, error) {
	v, err := t.get(t.channelKey(c))
	if err != nil {
		return "", err
	}
	if !v.ok {
		return "", bot.Errorf(bot.ENOTFOUND, "This channel is not an incident channel.")
	}
	return string(v.val), nil
}

// incident checks that the incident exists and returns its canonical ID.
func (t *tx) incident(incidentID string) (string, error) {
	n, ok := bot.ParseIncidentID(incidentID)
	if !ok {
		return "", noIncident(incidentID)
	}
	if c, err := t.get(t.s.incidentKey(n)); err != nil {
		return "", err
	} else if !c.ok {
		return "", noIncident(incidentID)
	}
	return bot.IncidentID(n), nil
}

func (t *tx) timelinePrefix(id string) string { return t.s.key("tl", id) + "/" }

func (t *tx) decodeAll(id string, kvs []kv) ([]bot.TimelineEvent, error) {
	evs := make([]bot.TimelineEvent, 0, len(kvs))
	for _, c := range kvs {
		ev, err := decodeEntry(c.val)
		if err != nil {
			return nil, fmt.Errorf("store: etcd: timeline %s: %s: %w", id, c.key, err)
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

// Timeline returns the incident's entries oldest first, by (RecordedAt,
// Seq): the order of their keys.
func (t *tx) Timeline(incidentID string) ([]bot.TimelineEvent, error) {
	id, err := t.incident(incidentID)
	if err != nil {
		return nil, err
	}
	kvs, err := t.scanPrefix(t.timelinePrefix(id))
	if err != nil {
		return nil, err
	}
	return t.decodeAll(id, kvs)
}

// TimelinePage reads the incident's counter for the total, the keys (not
// the values) of the first offset+limit entries to find where the page
// starts, and then the page's entries.
func (t *tx) TimelinePage(incidentID string, offset, limit int) ([]bot.TimelineEvent, int, error) {
	id, err := t.incident(incidentID)
	if err != nil {
		return nil, 0, err
	}
	n, err := t.counter(t.s.seqCounterKey(id))
	if err != nil {
		return nil, 0, err
	}
	total := int(n)
	page := []bot.TimelineEvent{}
	if offset < 0 || limit <= 0 || offset >= total {
		return page, total, nil
	}
	prefix := t.timelinePrefix(id)
	end := clientv3.GetPrefixRangeEnd(prefix)
	start := prefix
	if offset > 0 {
		keys, err := t.scanKeys(prefix, end, int64(offset+1))
		if err != nil {
			return nil, 0, err
		}
		if len(keys) <= offset {
			return page, total, nil
		}
		start = keys[offset].key
	}
	kvs, err := t.scanN(start, end, int64(limit))
	if err != nil {
		return nil, 0, err
	}
	if len(kvs) > limit {
		kvs = kvs[:limit] // this transaction's own entries come on top
	}
	evs, err := t.decodeAll(id, kvs)
	if err != nil {
		return nil, 0, err
	}
	return append(page, evs...), total, nil
}

// TimelineSince reads the Seq index from after+1 and then the entries it
// names, which never change once written (so the latest revision is as
// good as the snapshot), up to maxTxnGets to a Txn.
func (t *tx) TimelineSince(incidentID string, after uint64, limit int) ([]bot.TimelineEvent, error) {
	id, err := t.incident(incidentID)
	if err != nil {
		return nil, err
	}
	evs := []bot.TimelineEvent{}
	if limit <= 0 || after == math.MaxUint64 {
		return evs, nil
	}
	prefix := t.s.key("tlseq", id) + "/"
	idx, err := t.scanN(t.s.seqKey(id, after+1), clientv3.GetPrefixRangeEnd(prefix), int64(limit))
	if err != nil {
		return nil, err
	}
	if len(idx) > limit {
		idx = idx[:limit]
	}
	keys := make([]string, len(idx))
	for i, c := range idx {
		keys[i] = string(c.val)
	}
	kvs, err := t.getKVs("timeline "+id, keys, t.localOpts())
	if err != nil {
		return nil, err
	}
	for _, c := range kvs {
		if !c.ok {
			return nil, t.fail("timeline "+id, fmt.Errorf("seq index names missing entry %s", c.key))
		}
		ev, err := decodeEntry(c.val)
		if err != nil {
			return nil, fmt.Errorf("store: etcd: timeline %s: %s: %w", id, c.key, err)
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

// getKVs reads keys, up to maxTxnGets to a Txn, with opts (the
// transaction's snapshot, revOpts, or the member's own copy, localOpts);
// this transaction's own writes come from memory, with mod revision 0. A
// key absent, or deleted by this transaction, comes back not ok. Like
// every point read here it records no condition: the range reads that
// found the keys are. what names the data in errors.
func (t *tx) getKVs(what string, keys []string, opts []clientv3.OpOption) ([]kv, error) {
	out := make([]kv, len(keys))
	var ops []clientv3.Op
	var at []int
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		resp, err := t.s.cli.Txn(t.ctx).Then(ops...).Commit()
		if err != nil {
			return t.fail(what, err)
		}
		for j, r := range resp.Responses {
			if kvs := r.GetResponseRange().Kvs; len(kvs) == 1 {
				out[at[j]] = kv{key: keys[at[j]], val: kvs[0].Value, create: kvs[0].CreateRevision, mod: kvs[0].ModRevision, ok: true}
			} else {
				out[at[j]] = kv{key: keys[at[j]]}
			}
		}
		ops, at = ops[:0], at[:0]
		return nil
	}
	for i, k := range keys {
		if v, ok := t.writes[k]; ok {
			out[i] = kv{key: k}
			if v != nil {
				out[i] = kv{key: k, val: []byte(*v), ok: true}
			}
			continue
		}
		ops = append(ops, clientv3.OpGet(k, opts...))
		at = append(at, i)
		if len(ops) == maxTxnGets {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// maxTxnGets stays within etcd's default limit of operations in one Txn
// (--max-txn-ops, 128).
const maxTxnGets = 128

// TimelineLens lists the incidents (keys only) and reads the Seq counters:
// an incident without a counter has no entries.
func (t *tx) TimelineLens() (map[string]uint64, error) {
	incPrefix := t.s.key("inc") + "/"
	incs, err := t.scanKeys(incPrefix, clientv3.GetPrefixRangeEnd(incPrefix), 0)
	if err != nil {
		return nil, err
	}
	lens := make(map[string]uint64, len(incs))
	for _, c := range incs {
		n, err := strconv.ParseUint(strings.TrimPrefix(c.key, incPrefix), 10, 64)
		if err != nil {
			return nil, t.fail("timeline lengths", fmt.Errorf("incident key %s: %w", c.key, err))
		}
		lens[bot.IncidentID(int(n))] = 0
	}
	ctrPrefix := t.s.key("tlctr") + "/"
	ctrs, err := t.scanPrefix(ctrPrefix)
	if err != nil {
		return nil, err
	}
	for _, c := range ctrs {
		n, err := strconv.ParseUint(string(c.val), 10, 64)
		if err != nil {
			return nil, t.fail("timeline lengths", fmt.Errorf("counter %s: %w", c.key, err))
		}
		lens[strings.TrimPrefix(c.key, ctrPrefix)] = n
	}
	return lens, nil
}

// UserPrefs returns what the user set about themselves; the zero value with
// Key set when nothing was.
func (t *tx) UserPrefs(key string) (store.UserPrefs, error) {
	p := store.UserPrefs{Key: key}
	c, err := t.get(t.s.key("user", key))
	if err != nil || !c.ok {
		return p, err
	}
	if err := json.Unmarshal(c.val, &p); err != nil {
		return store.UserPrefs{}, fmt.Errorf("store: etcd: user %s: %w", key, err)
	}
	return p, nil
}

// Effects returns the pending outbox effects in ID order.
func (t *tx) Effects() ([]store.Effect, error) {
	if _, err := t.counter(t.s.key("gen", "outbox")); err != nil {
		return nil, err
	}
	kvs, err := t.scanPrefix(t.s.key("outbox") + "/")
	if err != nil {
		return nil, err
	}
	var effs []store.Effect
	for _, c := range kvs {
		var e store.Effect
		if err := json.Unmarshal(c.val, &e); err != nil {
			return nil, fmt.Errorf("store: etcd: effects: %s: %w", c.key, err)
		}
		effs = append(effs, e)
	}
	return effs, nil
}

// DueReminders returns the reminders due at or before now, earliest first,
// from the due index up to now.
func (t *tx) DueReminders(now time.Time) ([]store.Reminder, error) {
	if now.Before(time.Unix(0, 0)) {
		return nil, nil
	}
	if now.After(maxTime) {
		now = maxTime
	}
	if _, err := t.counter(t.s.key("gen", "due")); err != nil {
		return nil, err
	}
	prefix := t.s.key("due") + "/"
	// Every key of an instant up to now: the next instant's prefix ends
	// the range.
	kvs, err := t.scan(prefix, prefix+num(uint64(now.UnixNano())+1))
	if err != nil {
		return nil, err
	}
	var due []store.Reminder
	for _, c := range kvs {
		k := strings.TrimPrefix(c.key, prefix)
		if len(k) < 21 {
			return nil, fmt.Errorf("store: etcd: due index key %q", c.key)
		}
		r, ok, err := t.Reminder(k[21:])
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("store: etcd: due index names missing reminder %q", k[21:])
		}
		due = append(due, r)
	}
	return due, nil
}

// Reminder returns the reminder with key k, and whether it exists.
func (t *tx) Reminder(k string) (store.Reminder, bool, error) {
	c, err := t.get(t.s.key("rem", k))
	if err != nil || !c.ok {
		return store.Reminder{}, false, err
	}
	var r store.Reminder
	if err := json.Unmarshal(c.val, &r); err != nil {
		return store.Reminder{}, false, fmt.Errorf("store: etcd: reminder %s: %w", k, err)
	}
	return r, true, nil
}

// Meta returns the value stored under key with PutMeta, and whether there
// is one.
func (t *tx) Meta(key string) (string, bool, error) {
	c, err := t.get(t.s.key("meta", key))
	if err != nil || !c.ok {
		return "", false, err
	}
	return string(c.val), true, nil
}

// NextIncidentNumber returns the counter plus one and moves the counter.
// Two replicas taking the same number both read the counter, so one of
// their commits fails its condition and reruns: no two committed incidents
// share a number, and a rolled-back number is handed out again.
func (t *tx) NextIncidentNumber() (int, error) {
	k := t.s.key("ctr", "incident")
	n, err := t.counter(k)
	if err != nil {
		return 0, err
	}
	if err := t.setCounter(k, n+1); err != nil {
		return 0, err
	}
	return int(n + 1), nil
}

// PutIncident inserts or replaces inc, keyed by its number; inc.ID must be
// bot.IncidentID(inc.Number).
func (t *tx) PutIncident(inc *bot.Incident) error {
	if inc == nil {
		return fmt.Errorf("store: etcd: put incident: nil incident")
	}
	if inc.Number <= 0 || inc.ID != bot.IncidentID(inc.Number) {
		return fmt.Errorf("store: etcd: put incident: ID %q does not match number %d", inc.ID, inc.Number)
	}
	v, err := json.Marshal(inc)
	if err != nil {
		return fmt.Errorf("store: etcd: put incident %s: %w", inc.ID, err)
	}
	// A number stored from elsewhere (an import) must never be handed out
	// again by NextIncidentNumber.
	ctr := t.s.key("ctr", "incident")
	n, err := t.counter(ctr)
	if err != nil {
		return err
	}
	if uint64(inc.Number) > n {
		if err := t.setCounter(ctr, uint64(inc.Number)); err != nil {
			return err
		}
	}
	// The field keys of its values before, to delete those it leaves.
	old, err := t.incidentBefore(inc.Number)
	if err != nil {
		return err
	}
	if err := t.put(t.s.incidentKey(inc.Number), v); err != nil {
		return err
	}
	// In the same Txn: the index entry and the field keys share the
	// incident's mod revision (incindex.go, incby.go).
	if err := t.put(t.s.incIndexKey(inc.Number), incIndexValue(inc)); err != nil {
		return err
	}
	return t.putIncByKeys(inc, old)
}

// PutChannel records that incidentID lives in channel c. The incident must
// exist (ENOTFOUND otherwise).
func (t *tx) PutChannel(c bot.Channel, incidentID string) error {
	if c.Platform == "" || c.ID == "" {
		return fmt.Errorf("store: etcd: put channel %q/%q: platform and ID required", c.Platform, c.ID)
	}
	n, ok := bot.ParseIncidentID(incidentID)
	if !ok {
		return noIncident(incidentID)
	}
	if inc, err := t.get(t.s.incidentKey(n)); err != nil {
		return err
	} else if !inc.ok {
		return noIncident(incidentID)
	}
	return t.put(t.channelKey(c), []byte(bot.IncidentID(n)))
}

// AppendEvent is Append within this transaction: same checks, same
// deduplication (across incidents, and within this transaction), and the
// same Seq counter, read here so that the commit is conditional on it (see
// tx) and bumped with the entry: the Seq it returns is final.
func (t *tx) AppendEvent(ev bot.TimelineEvent) (bot.TimelineEvent, bool, error) {
	p, err := t.s.prepare(ev)
	if err != nil {
		return bot.TimelineEvent{}, false, err
	}
	if !t.writable {
		return bot.TimelineEvent{}, false, fmt.Errorf("store: etcd: append in a read-only transaction")
	}
	var dd string
	if ev.DedupeKey != "" {
		dd = t.s.key("dd", ev.DedupeKey)
		c, err := t.get(dd)
		if err != nil {
			return bot.TimelineEvent{}, false, err
		}
		if c.ok {
			e, err := t.get(string(c.val))
			if err != nil {
				return bot.TimelineEvent{}, false, err
			}
			if !e.ok {
				return bot.TimelineEvent{}, false, t.fail("append", fmt.Errorf("dedupe index names missing entry %s", c.val))
			}
			stored, err := decodeEntry(e.val)
			return stored, true, err
		}
	}
	id := p.ev.IncidentID
	if inc, err := t.get(t.s.incidentKey(p.num)); err != nil {
		return bot.TimelineEvent{}, false, err
	} else if !inc.ok {
		return bot.TimelineEvent{}, false, noIncident(ev.IncidentID)
	}
	ctr := t.s.seqCounterKey(id)
	n, err := t.counter(ctr)
	if err != nil {
		return bot.TimelineEvent{}, false, err
	}
	stored, key, val, err := t.s.encode(p, n+1)
	if err != nil {
		return bot.TimelineEvent{}, false, err
	}
	if err := t.put(key, val); err != nil {
		return bot.TimelineEvent{}, false, err
	}
	if err := t.put(t.s.seqKey(id, stored.Seq), []byte(key)); err != nil {
		return bot.TimelineEvent{}, false, err
	}
	if err := t.setCounter(ctr, stored.Seq); err != nil {
		return bot.TimelineEvent{}, false, err
	}
	if dd != "" {
		if err := t.put(dd, []byte(key)); err != nil {
			return bot.TimelineEvent{}, false, err
		}
	}
	return stored, false, nil
}

// PutUserPrefs inserts or replaces p.
func (t *tx) PutUserPrefs(p store.UserPrefs) error {
	if p.Key == "" {
		return fmt.Errorf("store: etcd: put user prefs: key required")
	}
	v, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("store: etcd: put user %s: %w", p.Key, err)
	}
	return t.put(t.s.key("user", p.Key), v)
}

func (t *tx) effectKey(id uint64) string { return t.s.key("outbox", num(id)) }

// AddEffect adds e to the outbox with the next ID from the outbox counter
// (and Key "effect-<ID>" when empty), and returns it. The counter only
// grows, so an ID is never reused.
func (t *tx) AddEffect(e store.Effect) (store.Effect, error) {
	ctr := t.s.key("ctr", "outbox")
	n, err := t.counter(ctr)
	if err != nil {
		return store.Effect{}, err
	}
	e.ID = n + 1
	if err := t.setCounter(ctr, e.ID); err != nil {
		return store.Effect{}, err
	}
	if e.Key == "" {
		e.Key = "effect-" + strconv.FormatUint(e.ID, 10)
	}
	return e, t.putEffect(e)
}

// UpdateEffect replaces the pending effect with e.ID, or returns ENOTFOUND
// if it is no longer pending.
func (t *tx) UpdateEffect(e store.Effect) error {
	c, err := t.get(t.effectKey(e.ID))
	if err != nil {
		return err
	}
	if !c.ok {
		return bot.Errorf(bot.ENOTFOUND, "No pending effect %d.", e.ID)
	}
	return t.putEffect(e)
}

func (t *tx) putEffect(e store.Effect) error {
	v, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("store: etcd: put effect %d: %w", e.ID, err)
	}
	return t.put(t.effectKey(e.ID), v)
}

// DeleteEffect removes a delivered effect. Deleting one already gone is not
// an error: delivery is at least once, and so is its acknowledgement.
func (t *tx) DeleteEffect(id uint64) error {
	k := t.effectKey(id)
	c, err := t.get(k)
	if err != nil || !c.ok {
		return err
	}
	if err := t.del(k); err != nil {
		return err
	}
	return t.deleted("outbox")
}

func (t *tx) dueKey(due time.Time, key string) string {
	return t.s.key("due", num(uint64(due.UnixNano())), key)
}

// PutReminder inserts or replaces the reminder with r.Key, moving its entry
// in the due index.
func (t *tx) PutReminder(r store.Reminder) error {
	if r.Key == "" {
		return fmt.Errorf("store: etcd: put reminder: key required")
	}
	if !validTime(r.Due) {
		return fmt.Errorf("store: etcd: put reminder %s: due %v outside 1970..2262", r.Key, r.Due)
	}
	if err := t.DeleteReminder(r.Key); err != nil {
		return err
	}
	v, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("store: etcd: put reminder %s: %w", r.Key, err)
	}
	if err := t.put(t.s.key("rem", r.Key), v); err != nil {
		return err
	}
	return t.put(t.dueKey(r.Due, r.Key), nil)
}

// DeleteReminder removes the reminder with key k and its due index entry,
// if there is one.
func (t *tx) DeleteReminder(k string) error {
	old, ok, err := t.Reminder(k)
	if err != nil || !ok {
		return err
	}
	if err := t.del(t.s.key("rem", k)); err != nil {
		return err
	}
	if err := t.del(t.dueKey(old.Due, k)); err != nil {
		return err
	}
	return t.deleted("due")
}

// PutMeta stores value under key, replacing any previous value.
func (t *tx) PutMeta(key, value string) error {
	if key == "" {
		return fmt.Errorf("store: etcd: put meta: key required")
	}
	return t.put(t.s.key("meta", key), []byte(value))
}

var _ store.Lister = (*tx)(nil)

// Channels returns the channel index.
func (t *tx) Channels() (map[bot.Channel]string, error) {
	prefix := t.s.key("ch") + "/"
	kvs, err := t.scanPrefix(prefix)
	if err != nil {
		return nil, err
	}
	out := map[bot.Channel]string{}
	for _, c := range kvs {
		p, id, ok := strings.Cut(strings.TrimPrefix(c.key, prefix), "/")
		if !ok {
			return nil, fmt.Errorf("store: etcd: channels: key %q", c.key)
		}
		out[bot.Channel{Platform: bot.Platform(p), ID: id}] = string(c.val)
	}
	return out, nil
}

// Users returns every UserPrefs stored, in key order.
func (t *tx) Users() ([]store.UserPrefs, error) {
	kvs, err := t.scanPrefix(t.s.key("user") + "/")
	if err != nil {
		return nil, err
	}
	var out []store.UserPrefs
	for _, c := range kvs {
		var p store.UserPrefs
		if err := json.Unmarshal(c.val, &p); err != nil {
			return nil, fmt.Errorf("store: etcd: %s: %w", c.key, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// MetaAll returns every value stored with PutMeta.
func (t *tx) MetaAll() (map[string]string, error) {
	prefix := t.s.key("meta") + "/"
	kvs, err := t.scanPrefix(prefix)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, c := range kvs {
		out[strings.TrimPrefix(c.key, prefix)] = string(c.val)
	}
	return out, nil
}

// TimelineAfter is one range read from just past the cursor's key.
func (t *tx) TimelineAfter(incidentID string, after store.TimelineCursor, limit int) ([]bot.TimelineEvent, error) {
	id, err := t.incident(incidentID)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		return []bot.TimelineEvent{}, nil
	}
	prefix := t.timelinePrefix(id)
	kvs, err := t.scanN(t.afterKey(id, after), clientv3.GetPrefixRangeEnd(prefix), int64(limit))
	if err != nil {
		return nil, err
	}
	// With this transaction's own entries, the scan may return more.
	return t.decodeAll(id, kvs[:min(len(kvs), limit)])
}

// TimelineKeysAfter is one keys-only range read of at most limit+1 keys
// from just past the cursor's: tl/<INC-n>/<RecordedAt ns>/<Seq> holds the
// cursor of each.
func (t *tx) TimelineKeysAfter(incidentID string, after store.TimelineCursor, limit int) (store.TimelineCursor, int, bool, error) {
	id, err := t.incident(incidentID)
	if err != nil {
		return after, 0, false, err
	}
	limit = max(limit, 0)
	prefix := t.timelinePrefix(id)
	keys, err := t.scanKeys(t.afterKey(id, after), clientv3.GetPrefixRangeEnd(prefix), int64(limit+1))
	if err != nil {
		return after, 0, false, err
	}
	n := min(len(keys), limit)
	if n == 0 {
		return after, 0, len(keys) > 0, nil
	}
	last := strings.TrimPrefix(keys[n-1].key, prefix)
	at, seq, ok := strings.Cut(last, "/")
	ns, err1 := strconv.ParseUint(at, 10, 64)
	sq, err2 := strconv.ParseUint(seq, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return after, 0, false, fmt.Errorf("store: etcd: timeline %s: key %q", id, keys[n-1].key)
	}
	return store.TimelineCursor{At: time.Unix(0, int64(ns)).UTC(), Seq: sq}, n, len(keys) > limit, nil
}

// afterKey is the smallest timeline key past the cursor's entry.
func (t *tx) afterKey(id string, after store.TimelineCursor) string {
	if after.IsZero() {
		return t.timelinePrefix(id)
	}
	at := after.At
	if at.IsZero() {
		at = time.Unix(0, 0)
	}
	return t.s.entryKey(id, at, after.Seq) + "\x00"
}

// TimelineTail is one range read of the last n keys (scanLast).
func (t *tx) TimelineTail(incidentID string, n int) ([]bot.TimelineEvent, int, error) {
	id, err := t.incident(incidentID)
	if err != nil {
		return nil, 0, err
	}
	total, err := t.counter(t.s.seqCounterKey(id))
	if err != nil {
		return nil, 0, err
	}
	if n <= 0 {
		return []bot.TimelineEvent{}, int(total), nil
	}
	prefix := t.timelinePrefix(id)
	kvs, err := t.scanLast(prefix, clientv3.GetPrefixRangeEnd(prefix), int64(n))
	if err != nil {
		return nil, 0, err
	}
	evs, err := t.decodeAll(id, kvs)
	return evs, int(total), err
}

// IncidentsAfter is one range read from the number after after. With a
// filter it reads the incident index instead (incindex.go), a page of
// keys at a time, and then only the incidents it selects.
func (t *tx) IncidentsAfter(after int, limit int, f store.IncidentFilter) ([]*bot.Incident, error) {
	incs := []*bot.Incident{}
	if limit <= 0 {
		return incs, nil
	}
	if !f.IsZero() {
		return t.incidentsFiltered(after, limit, f)
	}
	prefix := t.s.key("inc") + "/"
	kvs, err := t.scanN(t.s.incidentKey(max(after, 0)+1), clientv3.GetPrefixRangeEnd(prefix), int64(limit))
	if err != nil {
		return nil, err
	}
	for _, c := range kvs[:min(len(kvs), limit)] {
		inc := new(bot.Incident)
		if err := json.Unmarshal(c.val, inc); err != nil {
			return nil, fmt.Errorf("store: etcd: incidents: %s: %w", c.key, err)
		}
		incs = append(incs, inc)
	}
	return incs, nil
}

// TimelineBefore is one descending range read ending at the cursor's key.
func (t *tx) TimelineBefore(incidentID string, before store.TimelineCursor, limit int) ([]bot.TimelineEvent, error) {
	id, err := t.incident(incidentID)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		return []bot.TimelineEvent{}, nil
	}
	prefix := t.timelinePrefix(id)
	end := clientv3.GetPrefixRangeEnd(prefix)
	if !before.IsZero() {
		at := before.At
		if at.IsZero() {
			at = time.Unix(0, 0)
		}
		end = t.s.entryKey(id, at, before.Seq)
	}
	kvs, err := t.scanLast(prefix, end, int64(limit))
	if err != nil {
		return nil, err
	}
	return t.decodeAll(id, kvs)
}
