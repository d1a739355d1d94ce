package etcd

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// The field index: an empty key per incident and field value,
//
//	incby/status/<status>/<number>
//	incby/kind/<kind>/<number>
//	incby/sev/<severity>/<number>
//	incby/open/<number>             (only while the incident is not closed)
//
// (values path-escaped), so that a filter on a field is a range read of
// the incidents that match it, in number order, however few they are among
// how many: etcd's reads cost per key, and the incident index (incidx/,
// incindex.go) costs one key per incident whatever the filter keeps.
//
// PutIncident writes an incident's field keys in the incident's Txn (every
// one of them, changed or not, so that they share its mod revision) and
// deletes those of the values it had. A field key only proposes its
// incident: the reader tests the whole filter on the incident's JSON,
// which it reads for the page anyway, so a key left behind by a replica
// that predates the field index (it rewrites the incident and leaves the
// keys as they were) costs a read, never a wrong row. The converse needs
// more: an incident such a replica declared, or moved to the value a
// filter wants, has no key in that value's range. Finding those without
// reading every incident's key is what incchk is for:
//
//	incchk -> W, a revision: every incident whose mod revision is at most
//	          W has its field keys (and its incidx entry) at that revision
//
// Open moves W (fillIncidentIndex): it checks, and rewrites as they are
// with their keys, the incidents modified since the last W, and sets W to
// its snapshot's revision (or just below an incident it could not
// rewrite). The property holds for good once true, since
// only a write of the incident can change its keys, and that write moves
// its mod revision past W; so replicas opening at once may each set W,
// and it only ever grows. A filter then reads, besides the matches' range,
// the keys of the incidents modified after W (a keys-only range with a
// minimum mod revision: etcd 3.7 walks its in-memory index for it, and
// only those keys cross the wire), and tests each of those on its incidx
// entry where that is at the incident's revision, else on its JSON. An
// incident modified since the last Open therefore costs the readers its
// incidx entry (its JSON if a replica that predates the field index wrote
// it), never a wrong page; and a store no Open of this version has
// checked (no W) is filtered as before, on the incident index alone.

// incByPrefixes are the ranges of the field index a filter selects from:
// any one of them holds every incident it selects (none: Since alone).
func (s *Store) incByPrefixes(f store.IncidentFilter) []string {
	var ps []string
	if f.Status != "" {
		ps = append(ps, s.incByPrefix("status", string(f.Status)))
	}
	if f.Open {
		ps = append(ps, s.key("incby", "open")+"/")
	}
	if f.Severity != 0 {
		ps = append(ps, s.incByPrefix("sev", strconv.Itoa(int(f.Severity))))
	}
	if f.Kind != "" {
		ps = append(ps, s.incByPrefix("kind", string(f.Kind)))
	}
	return ps
}

// incByPrefix is the range of the incidents whose field holds value.
func (s *Store) incByPrefix(field, value string) string {
	return s.key("incby", field, url.PathEscape(value)) + "/"
}

// incByKeys are inc's keys in the field index.
func (s *Store) incByKeys(inc *bot.Incident) []string {
	n := num(uint64(inc.Number))
	ks := []string{
		s.incByPrefix("status", string(inc.Status)) + n,
		s.incByPrefix("kind", string(inc.Kind)) + n,
		s.incByPrefix("sev", strconv.Itoa(int(inc.Severity))) + n,
	}
	if inc.Status != bot.StatusClosed {
		ks = append(ks, s.key("incby", "open")+"/"+n)
	}
	return ks
}

// putIncByKeys writes inc's field keys and deletes those of old (the
// incident as stored before, nil if none) that inc does not keep.
func (t *tx) putIncByKeys(inc, old *bot.Incident) error {
	keys := t.s.incByKeys(inc)
	if old != nil {
		for _, k := range t.s.incByKeys(old) {
			if !slices.Contains(keys, k) {
				if err := t.del(k); err != nil {
					return err
				}
			}
		}
	}
	for _, k := range keys {
		if err := t.put(k, nil); err != nil {
			return err
		}
	}
	return nil
}

// keyNumber is the incident number a key of the index ends with.
func keyNumber(k string) (int, bool) {
	if len(k) < 20 {
		return 0, false
	}
	n, err := strconv.Atoi(k[len(k)-20:])
	return n, err == nil
}

// checkpoint is W (see above), 0 when no Open has set it.
func (t *tx) checkpoint() (int64, error) {
	c, err := t.get(t.s.key("incchk"))
	if err != nil || !c.ok {
		return 0, err
	}
	w, err := strconv.ParseInt(string(c.val), 10, 64)
	if err != nil {
		return 0, t.fail("incidents", fmt.Errorf("checkpoint %q", c.val))
	}
	return w, nil
}

// modifiedSince reads the keys of [start, end) modified after revision w,
// this transaction's own writes included (mod revision 0), keys only: a
// condition of the commit like any range read.
func (t *tx) modifiedSince(start, end string, w int64) ([]kv, error) {
	out, _, err := t.rangeRead(start, end, clientv3.WithKeysOnly(), clientv3.WithMinModRev(w+1))
	if err != nil {
		return nil, err
	}
	return t.withOwnWrites(out, start, end), nil
}

// incidentsFiltered serves a filter from the field index: it walks the
// range of the filter's field that holds the fewest incidents past the
// cursor, a page of keys at a time, merged in number order with the
// incidents of the same stretch modified since W, and reads those
// incidents, checking the whole filter on each.
func (t *tx) incidentsFiltered(after, limit int, f store.IncidentFilter) ([]*bot.Incident, error) {
	prefixes := t.s.incByPrefixes(f)
	if len(prefixes) == 0 || t.s.scanFilters {
		return t.incidentsScanned(after, limit, f)
	}
	w, err := t.checkpoint()
	if err != nil {
		return nil, err
	}
	if w == 0 {
		return t.incidentsScanned(after, limit, f)
	}
	next := max(after, 0) + 1
	prefix, err := t.fewest(prefixes, next)
	if err != nil {
		return nil, err
	}
	end := clientv3.GetPrefixRangeEnd(prefix)
	incPrefix := t.s.key("inc") + "/"
	incEnd := clientv3.GetPrefixRangeEnd(incPrefix)
	incs := []*bot.Incident{}
	round := int64(min(filterPage, max(64, 4*limit)))
	for ; len(incs) < limit; round = min(2*round, filterPage) {
		start := prefix + num(uint64(next))
		out, edge, err := t.rangeRead(start, end, clientv3.WithKeysOnly(), clientv3.WithLimit(round))
		if err != nil {
			return nil, err
		}
		bound, upTo, incUpTo := math.MaxInt, end, incEnd
		if edge != "" {
			upTo = edge + "\x00"
			n, ok := keyNumber(edge)
			if !ok {
				return nil, t.fail("incidents", fmt.Errorf("index key %s", edge))
			}
			bound, incUpTo = n, t.s.incidentKey(n+1)
		}
		// The incidents of this stretch modified since W: their field
		// keys are not to be trusted without a look, so they are tested
		// on their incidx entry where it is at their revision, else on
		// their JSON.
		recent, err := t.modifiedSince(t.s.incidentKey(next), incUpTo, w)
		if err != nil {
			return nil, err
		}
		var cands []int // incident numbers, to read and test
		isRecent := make(map[int]bool, len(recent))
		if len(recent) > 0 {
			keys := make([]string, len(recent))
			for i, c := range recent {
				n, ok := keyNumber(c.key)
				if !ok {
					return nil, t.fail("incidents", fmt.Errorf("incident key %s", c.key))
				}
				isRecent[n] = true
				keys[i] = t.s.incIndexKey(n)
			}
			idx, err := t.getKVs("incidents", keys, t.revOpts())
			if err != nil {
				return nil, err
			}
			for i, e := range idx {
				n, _ := keyNumber(recent[i].key)
				if e.ok && e.mod == recent[i].mod {
					if sel, ok := indexSelects(f, e.val); ok && !sel {
						continue
					}
				}
				cands = append(cands, n)
			}
		}
		// And the field's keys of the stretch, but for those.
		for _, c := range t.withOwnWrites(out, start, upTo) {
			n, ok := keyNumber(c.key)
			if !ok {
				return nil, t.fail("incidents", fmt.Errorf("index key %s", c.key))
			}
			if !isRecent[n] {
				cands = append(cands, n)
			}
		}
		slices.Sort(cands)
		// Read as many as the page still needs, and again while some
		// turn out not to match: no incident past the one that fills it.
		for len(cands) > 0 && len(incs) < limit {
			batch := cands[:min(len(cands), limit-len(incs))]
			cands = cands[len(batch):]
			keys := make([]string, len(batch))
			for i, n := range batch {
				keys[i] = t.s.incidentKey(n)
			}
			kvs, err := t.getKVs("incidents", keys, t.revOpts())
			if err != nil {
				return nil, err
			}
			for _, c := range kvs {
				if !c.ok {
					continue
				}
				inc := new(bot.Incident)
				if err := json.Unmarshal(c.val, inc); err != nil {
					return nil, fmt.Errorf("store: etcd: incidents: %s: %w", c.key, err)
				}
				if f.Match(inc) {
					incs = append(incs, inc)
				}
			}
		}
		if bound == math.MaxInt {
			break
		}
		next = bound + 1
	}
	return incs, nil
}

// fewest returns, of the field ranges, the one that holds the fewest keys
// from incident next on: counts that etcd takes from its in-memory index,
// in one Txn.
func (t *tx) fewest(prefixes []string, next int) (string, error) {
	if len(prefixes) == 1 {
		return prefixes[0], nil
	}
	ops := make([]clientv3.Op, len(prefixes))
	for i, p := range prefixes {
		ops[i] = clientv3.OpGet(p+num(uint64(next)), t.revOpts(clientv3.WithRange(clientv3.GetPrefixRangeEnd(p)), clientv3.WithCountOnly())...)
	}
	resp, err := t.s.cli.Txn(t.ctx).Then(ops...).Commit()
	if err != nil {
		return "", t.fail("incidents", err)
	}
	best, count := prefixes[0], int64(math.MaxInt64)
	for i, r := range resp.Responses {
		if c := r.GetResponseRange().Count; c < count {
			best, count = prefixes[i], c
		}
	}
	return best, nil
}

// fillBatch is how many incidents one Txn of fillIncidentIndex rewrites: a
// compare and up to six puts each (the incident, its incidx entry, four
// field keys), within etcd's default --max-txn-ops of 128 per branch.
const fillBatch = 20

// fillIncidentIndex checks the incidents modified since W (all of them the
// first time) and rewrites those whose incidx entry or field keys are not
// at their revision (put by a replica that predates them) as they are, with
// both, in a Txn conditional on the incident not having changed since it
// was read; then it moves W to the revision it read at, or to just below
// the first incident it could not rewrite (lost a race, or JSON that does
// not decode: filtered from its JSON, which says what is wrong). Several
// replicas may run it at once: each W it sets is true, and W only grows.
// In the steady state it reads a few keys.
func (s *Store) fillIncidentIndex(ctx context.Context) error {
	chkKey := s.key("incchk")
	chk, err := s.cli.Get(ctx, chkKey)
	if err != nil {
		return fmt.Errorf("store: etcd: index incidents: %w", err)
	}
	rev := chk.Header.Revision
	var w int64
	if len(chk.Kvs) == 1 {
		if w, err = strconv.ParseInt(string(chk.Kvs[0].Value), 10, 64); err != nil {
			return fmt.Errorf("store: etcd: index incidents: checkpoint %q", chk.Kvs[0].Value)
		}
	}
	since := func(prefix string) ([]*mvccpb.KeyValue, error) {
		resp, err := s.cli.Get(ctx, prefix, clientv3.WithRange(clientv3.GetPrefixRangeEnd(prefix)),
			clientv3.WithRev(rev), clientv3.WithKeysOnly(), clientv3.WithMinModRev(w+1))
		if err != nil {
			return nil, fmt.Errorf("store: etcd: index incidents: %w", err)
		}
		return resp.Kvs, nil
	}
	incs, err := since(s.key("inc") + "/")
	if err != nil {
		return err
	}
	var stale []*mvccpb.KeyValue
	if len(incs) > 0 {
		idx, err := since(s.key("incidx") + "/")
		if err != nil {
			return err
		}
		st, err := since(s.key("incby", "status") + "/")
		if err != nil {
			return err
		}
		idxAt := map[int]int64{} // number -> mod revision of its incidx entry
		for _, k := range idx {
			if n, ok := keyNumber(string(k.Key)); ok {
				idxAt[n] = k.ModRevision
			}
		}
		stAt := map[int][]int64{} // number -> mod revisions of its status keys
		for _, k := range st {
			if n, ok := keyNumber(string(k.Key)); ok {
				stAt[n] = append(stAt[n], k.ModRevision)
			}
		}
		for _, k := range incs {
			n, _ := keyNumber(string(k.Key))
			// Its incidx entry and a status key at its revision.
			if idxAt[n] != k.ModRevision || !slices.Contains(stAt[n], k.ModRevision) {
				stale = append(stale, k)
			}
		}
	}
	newW := rev
	lost := func(k *mvccpb.KeyValue) { newW = min(newW, k.ModRevision-1) }
	for len(stale) > 0 {
		batch := stale[:min(fillBatch, len(stale))]
		stale = stale[len(batch):]
		gets := make([]clientv3.Op, len(batch))
		for i, k := range batch {
			gets[i] = clientv3.OpGet(string(k.Key), clientv3.WithRev(rev))
		}
		read, err := s.cli.Txn(ctx).Then(gets...).Commit()
		if err != nil {
			return fmt.Errorf("store: etcd: index incidents: %w", err)
		}
		var cmps []clientv3.Cmp
		var ops []clientv3.Op
		var put []*mvccpb.KeyValue
		for i, r := range read.Responses {
			kvs := r.GetResponseRange().Kvs
			inc := new(bot.Incident)
			if len(kvs) != 1 || json.Unmarshal(kvs[0].Value, inc) != nil || inc.Number <= 0 {
				lost(batch[i])
				continue
			}
			k := string(batch[i].Key)
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(k), "=", batch[i].ModRevision))
			ops = append(ops, clientv3.OpPut(k, string(kvs[0].Value)),
				clientv3.OpPut(s.incIndexKey(inc.Number), string(incIndexValue(inc))))
			for _, fk := range s.incByKeys(inc) {
				ops = append(ops, clientv3.OpPut(fk, ""))
			}
			put = append(put, batch[i])
		}
		if len(ops) == 0 {
			continue
		}
		resp, err := s.cli.Txn(ctx).If(cmps...).Then(ops...).Commit()
		if err != nil {
			return fmt.Errorf("store: etcd: index incidents: %w", err)
		}
		if !resp.Succeeded {
			for _, k := range put {
				lost(k)
			}
		}
	}
	if newW <= w {
		return nil
	}
	// Only ever up: a W another replica set meanwhile may be the higher.
	// The values compare as bytes, so W is written at a fixed width.
	v := num(uint64(newW))
	_, err = s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(chkKey), "=", 0)).
		Then(clientv3.OpPut(chkKey, v)).
		Else(clientv3.OpTxn([]clientv3.Cmp{clientv3.Compare(clientv3.Value(chkKey), "<", v)},
			[]clientv3.Op{clientv3.OpPut(chkKey, v)}, nil)).
		Commit()
	if err != nil {
		return fmt.Errorf("store: etcd: index incidents: checkpoint: %w", err)
	}
	return nil
}

// incidentBefore decodes the incident a transaction is about to replace,
// if it can: its field keys are the ones to delete. One that does not
// decode has none this store wrote.
func (t *tx) incidentBefore(n int) (*bot.Incident, error) {
	c, err := t.get(t.s.incidentKey(n))
	if err != nil || !c.ok {
		return nil, err
	}
	old := new(bot.Incident)
	if json.Unmarshal(c.val, old) != nil {
		return nil, nil
	}
	return old, nil
}
