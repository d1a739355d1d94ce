package etcd

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// The incident index, incidx/<number> -> "<severity>/<Unix seconds>/
// <nanoseconds>/<length of the status>/<status><kind>" (the length says
// where the two strings part, whatever they hold): the fields
// store.IncidentFilter tests, so that a filtered page of the incidents
// reads a few dozen bytes per incident rather than its JSON, and then
// only the incidents it selects.
//
// PutIncident writes an incident and its index entry in one Txn, so both
// keys have the same mod revision. A reader trusts an entry only when they
// do: an incident put by a debrief that predates the index (a replica not
// yet upgraded, or data written before it) has none, or an older one, and
// is tested on its JSON instead. So the index needs no schema version and
// is never wrong, only sometimes not used; Open writes the entries that
// are missing or stale (fillIncidentIndex, incby.go). The filters read it
// for the incidents the field index cannot vouch for (incby.go), and
// whole for a filter on Since alone.

// incIndexKey is incident n's key in the index.
func (s *Store) incIndexKey(n int) string { return s.key("incidx", num(uint64(n))) }

// incIndexValue is inc's entry in the index.
func incIndexValue(inc *bot.Incident) []byte {
	d := inc.DeclaredAt
	return fmt.Appendf(nil, "%d/%d/%d/%d/%s%s", inc.Severity, d.Unix(), d.Nanosecond(), len(inc.Status), inc.Status, inc.Kind)
}

// indexSelects reports whether f selects the incident whose index entry is
// v, and whether v could be read.
func indexSelects(f store.IncidentFilter, v []byte) (selected, ok bool) {
	s := string(v)
	sev, s, ok1 := strings.Cut(s, "/")
	secs, s, ok2 := strings.Cut(s, "/")
	nanos, s, ok3 := strings.Cut(s, "/")
	size, s, ok4 := strings.Cut(s, "/")
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return false, false
	}
	n, err := strconv.Atoi(sev)
	l, err2 := strconv.Atoi(size)
	if err != nil || err2 != nil || l < 0 || l > len(s) {
		return false, false
	}
	status, kind := s[:l], s[l:]
	var declared time.Time
	if !f.Since.IsZero() {
		sec, err1 := strconv.ParseInt(secs, 10, 64)
		nsec, err2 := strconv.ParseInt(nanos, 10, 64)
		if err1 != nil || err2 != nil {
			return false, false
		}
		declared = time.Unix(sec, nsec)
	}
	return f.Selects(bot.Status(status), bot.Severity(n), bot.Kind(kind), declared), true
}

// filterPage is the most incidents a filtered IncidentsAfter reads the
// keys and index entries of per round trip.
const filterPage = 1000

// incidentsScanned walks the incidents' keys (without their values, but
// with their mod revisions) and the index beside them, a page at a time,
// and reads the incidents the index selects, or whose entry it cannot
// trust, in Txns of point reads at the snapshot. It is what a filter reads
// when the field index cannot serve it (incby.go): a filter on Since
// alone, or a store no Open has checked yet.
func (t *tx) incidentsScanned(after, limit int, f store.IncidentFilter) ([]*bot.Incident, error) {
	incs := []*bot.Incident{}
	incPrefix, idxPrefix := t.s.key("inc")+"/", t.s.key("incidx")+"/"
	incEnd := clientv3.GetPrefixRangeEnd(incPrefix)
	next := max(after, 0) + 1
	// The first round reads a few times the page, and each next one
	// twice the last, up to filterPage: a filter that keeps many fills
	// its page in a round or two without reading a thousand keys.
	round := int64(min(filterPage, max(64, 4*limit)))
	for ; len(incs) < limit; round = min(2*round, filterPage) {
		keys, err := t.scanKeys(t.s.incidentKey(next), incEnd, round)
		if err != nil {
			return nil, err
		}
		if len(keys) == 0 {
			break
		}
		last, err := strconv.Atoi(strings.TrimPrefix(keys[len(keys)-1].key, incPrefix))
		if err != nil {
			return nil, t.fail("incidents", fmt.Errorf("incident key %s", keys[len(keys)-1].key))
		}
		// The index entries of the same numbers, this transaction's
		// own included.
		idx, err := t.scan(t.s.incIndexKey(next), t.s.incIndexKey(last+1))
		if err != nil {
			return nil, err
		}
		entries := make(map[string]kv, len(idx))
		for _, c := range idx {
			entries[strings.TrimPrefix(c.key, idxPrefix)] = c
		}
		var want []kv      // the incidents to read
		var trusted []bool // whether the index selected them
		sure := 0          // how many of want the index selected
		for _, k := range keys {
			e, ok := entries[strings.TrimPrefix(k.key, incPrefix)]
			sel, read := false, false
			if ok && e.mod == k.mod {
				sel, read = indexSelects(f, e.val)
			}
			if read && !sel {
				continue
			}
			want, trusted = append(want, k), append(trusted, read)
			if read {
				sure++
			}
			if len(incs)+sure == limit {
				break // the page is full at this key: read no more
			}
		}
		vals, err := t.getValues(want)
		if err != nil {
			return nil, err
		}
		for i, v := range vals {
			inc := new(bot.Incident)
			if err := json.Unmarshal(v, inc); err != nil {
				return nil, fmt.Errorf("store: etcd: incidents: %s: %w", want[i].key, err)
			}
			if (trusted[i] || f.Match(inc)) && len(incs) < limit {
				incs = append(incs, inc)
			}
		}
		next = last + 1
	}
	return incs, nil
}

// getValues reads the values of keys a keys-only range returned, at the
// transaction's snapshot (getKVs). The range read that found the keys is
// already a condition of the commit, so each must be there.
func (t *tx) getValues(keys []kv) ([][]byte, error) {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.key
	}
	kvs, err := t.getKVs("incidents", names, t.revOpts())
	if err != nil {
		return nil, err
	}
	vals := make([][]byte, len(kvs))
	for i, c := range kvs {
		if !c.ok {
			return nil, t.fail("incidents", fmt.Errorf("%s gone at revision %d", c.key, t.rev))
		}
		vals[i] = c.val
	}
	return vals, nil
}
