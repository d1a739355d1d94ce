package bolt

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	bbolt "go.etcd.io/bbolt"
)

// The incident index (bucket incindex, schema 3) holds, per incident, the
// fields store.IncidentFilter tests, in a fixed 15 bytes, so that a
// filtered page of GET /api/incidents reads these rather than every
// incident's JSON (a few hundred bytes to decode each), and decodes only
// the incidents it returns:
//
//	status code (1), kind code (1), severity (1),
//	DeclaredAt: Unix seconds (8, two's complement), nanoseconds (4)
//
// Its key is the incident's number, as in the incidents bucket; PutIncident
// writes both in one transaction. A status or kind the code tables do not
// name (a value added to bot later, read by this version) is coded
// codeOther, and such an incident is tested on its decoded JSON: the
// index stays correct for values it cannot spell.
//
// Values have one size whatever the fields, so a status change rewrites
// its value in place and the bucket's pages stay packed full
// (incIndexFill): new keys only come at the end.
const incIndexLen = 15

// codeOther is the code of a status, kind or severity the index cannot
// spell.
const codeOther = 0xff

// statusCodes and kindCodes are written to files: a code, once given, is
// never given to another value. The empty value is 0.
var (
	statusCodes = map[bot.Status]byte{
		"": 0, bot.StatusInvestigating: 1, bot.StatusMitigated: 2, bot.StatusResolved: 3,
		bot.StatusReviewScheduled: 4, bot.StatusReviewHeld: 5, bot.StatusClosed: 6,
	}
	kindCodes = map[bot.Kind]byte{"": 0, bot.KindReal: 1, bot.KindDrill: 2, bot.KindNearMiss: 3}

	codeStatuses = inverse(statusCodes)
	codeKinds    = inverse(kindCodes)
)

func inverse[T comparable](m map[T]byte) [256]T {
	var out [256]T
	for v, c := range m {
		out[c] = v
	}
	return out
}

// incIndexFill packs the index's pages full: its keys only grow and its
// values never change size.
const incIndexFill = 1.0

// incIndexValue is inc's value in the incident index.
func incIndexValue(status bot.Status, kind bot.Kind, sev bot.Severity, declaredAt time.Time) []byte {
	v := make([]byte, incIndexLen)
	v[0], v[1], v[2] = codeOther, codeOther, codeOther
	if c, ok := statusCodes[status]; ok {
		v[0] = c
	}
	if c, ok := kindCodes[kind]; ok {
		v[1] = c
	}
	if sev >= 0 && sev < codeOther {
		v[2] = byte(sev)
	}
	binary.BigEndian.PutUint64(v[3:11], uint64(declaredAt.Unix()))
	binary.BigEndian.PutUint32(v[11:15], uint32(declaredAt.Nanosecond()))
	return v
}

// selects reports whether f selects the incident whose index value is v,
// and whether the index could tell (false for a value it cannot spell,
// or one not of the index's shape: the caller decodes the incident).
func selects(f store.IncidentFilter, v []byte) (selected, known bool) {
	if len(v) != incIndexLen || v[0] == codeOther || v[1] == codeOther || v[2] == codeOther {
		return false, false
	}
	status, kind := codeStatuses[v[0]], codeKinds[v[1]]
	if (status == "" && v[0] != 0) || (kind == "" && v[1] != 0) {
		return false, false // a code this version never wrote
	}
	var declared time.Time
	if !f.Since.IsZero() {
		declared = time.Unix(int64(binary.BigEndian.Uint64(v[3:11])), int64(binary.BigEndian.Uint32(v[11:15])))
	}
	return f.Selects(status, bot.Severity(v[2]), kind, declared), true
}

// putIncIndex writes inc's entry in the index.
func putIncIndex(btx *bbolt.Tx, inc *bot.Incident) error {
	b := btx.Bucket(bucketIncIndex)
	b.FillPercent = incIndexFill
	return b.Put(u64(uint64(inc.Number)), incIndexValue(inc.Status, inc.Kind, inc.Severity, inc.DeclaredAt))
}

// indexFields is what the index holds of an incident's JSON: decoding only
// these skips the rest of the record.
type indexFields struct {
	Kind       bot.Kind     `json:"kind"`
	Severity   bot.Severity `json:"severity"`
	Status     bot.Status   `json:"status"`
	DeclaredAt time.Time    `json:"declared_at"`
}

// indexIncidents fills the incident index from the incidents of a file
// written without one (schema 1 or 2), in key order, so that the pages are
// written full. It decodes every incident once, at the upgrade: an Open
// of 10k incidents takes 75 to 85 ms instead of 1.
func indexIncidents(btx *bbolt.Tx) error {
	idx := btx.Bucket(bucketIncIndex)
	idx.FillPercent = incIndexFill
	return btx.Bucket(bucketIncidents).ForEach(func(k, v []byte) error {
		var f indexFields
		val := []byte{codeOther, codeOther, codeOther}
		if err := json.Unmarshal(v, &f); err == nil {
			val = incIndexValue(f.Status, f.Kind, f.Severity, f.DeclaredAt)
		}
		// A record that does not decode is indexed as unknown: reading it
		// fails as it did before, rather than the upgrade, and with it
		// every start.
		if err := idx.Put(k, val); err != nil {
			return fmt.Errorf("index incident %x: %w", k, err)
		}
		return nil
	})
}
