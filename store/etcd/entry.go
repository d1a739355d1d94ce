package etcd

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/debrief/debrief/bot"
)

// record is the stored form of a timeline entry: bot.TimelineEvent keeps
// DedupeKey out of its JSON (the API must not show it), but the store keeps
// it so that a duplicate's answer and a reread timeline equal what the first
// Append returned. Seq is stored with the entry (bot.TimelineEvent's "seq"):
// it is the incident's counter as bumped by the commit that stored it.
type record struct {
	bot.TimelineEvent
	DedupeKey string `json:"dedupe_key,omitempty"`
}

// prepared is an entry checked, ready to be numbered and put.
type prepared struct {
	ev  bot.TimelineEvent // IncidentID canonical, Seq 0
	num int               // the incident's number
}

// maxTime is the last instant whose UnixNano fits in an int64.
var maxTime = time.Unix(0, math.MaxInt64)

// validTime reports whether t fits the UnixNano keys. The times stored are
// the bot's own clock, so anything outside is a bug.
func validTime(t time.Time) bool {
	return !t.Before(time.Unix(0, 0)) && !t.After(maxTime)
}

// maxDedupeKey bounds a dedupe key, which is part of an etcd key: platform
// keys are tens of bytes, so anything this long is a bug.
const maxDedupeKey = 1024

// prepare checks ev. Errors are final: ev cannot be stored as given.
func (s *Store) prepare(ev bot.TimelineEvent) (prepared, error) {
	n, ok := bot.ParseIncidentID(ev.IncidentID)
	if !ok {
		return prepared{}, noIncident(ev.IncidentID)
	}
	ev.IncidentID = bot.IncidentID(n)
	if !validTime(ev.RecordedAt) {
		return prepared{}, fmt.Errorf("store: etcd: append %s: RecordedAt %v outside 1970..2262", ev.IncidentID, ev.RecordedAt)
	}
	if len(ev.DedupeKey) > maxDedupeKey {
		return prepared{}, fmt.Errorf("store: etcd: append %s: dedupe key of %d bytes", ev.IncidentID, len(ev.DedupeKey))
	}
	ev.Seq = 0
	return prepared{ev: ev, num: n}, nil
}

// encode numbers p as the incident's entry seq and returns the entry as
// stored, its key and its value. The key sorts by (RecordedAt, Seq), which
// is Timeline's order, so that a page is a range of keys.
func (s *Store) encode(p prepared, seq uint64) (bot.TimelineEvent, string, []byte, error) {
	ev := p.ev
	ev.Seq = seq
	val, err := json.Marshal(record{TimelineEvent: ev, DedupeKey: ev.DedupeKey})
	if err != nil {
		return bot.TimelineEvent{}, "", nil, fmt.Errorf("store: etcd: append %s: %w", ev.IncidentID, err)
	}
	return ev, s.entryKey(ev.IncidentID, ev.RecordedAt, seq), val, nil
}

func (s *Store) entryKey(incidentID string, at time.Time, seq uint64) string {
	return s.key("tl", incidentID, num(uint64(at.UnixNano())), num(seq))
}

// seqKey is the Seq index: tlseq/<INC-n>/<Seq> names the entry's key, so
// that TimelineSince is one range read from after+1.
func (s *Store) seqKey(incidentID string, seq uint64) string {
	return s.key("tlseq", incidentID, num(seq))
}

// seqCounterKey holds the incident's last Seq, which is also its length.
func (s *Store) seqCounterKey(incidentID string) string {
	return s.key("tlctr", incidentID)
}

// decodeEntry reads a stored record.
func decodeEntry(v []byte) (bot.TimelineEvent, error) {
	var r record
	if err := json.Unmarshal(v, &r); err != nil {
		return bot.TimelineEvent{}, err
	}
	ev := r.TimelineEvent
	ev.DedupeKey = r.DedupeKey
	return ev, nil
}
