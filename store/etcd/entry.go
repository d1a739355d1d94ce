package etcd

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/debrief/debrief/bot"
)

// record is the stored form of a timeline entry: bot.TimelineEvent keeps
// DedupeKey out of its JSON (the API must not show it), but the store keeps
// it so that a duplicate's answer and a reread timeline equal what the first
// Append returned. Idx is the entry's index among the appends of its
// commit; with the commit's revision it makes Seq.
type record struct {
	bot.TimelineEvent
	DedupeKey string `json:"dedupe_key,omitempty"`
	Idx       int    `json:"idx,omitempty"`
}

// prepared is an entry checked and encoded, ready to be put.
type prepared struct {
	ev  bot.TimelineEvent // IncidentID canonical, Seq 0
	num int               // the incident's number
	idx int
	key string
	val []byte
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

// prepare checks ev and encodes it as the idx-th append of its commit.
// Errors are final: ev cannot be stored as given.
func (s *Store) prepare(ev bot.TimelineEvent, idx int) (prepared, error) {
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
	val, err := json.Marshal(record{TimelineEvent: ev, DedupeKey: ev.DedupeKey, Idx: idx})
	if err != nil {
		return prepared{}, fmt.Errorf("store: etcd: append %s: %w", ev.IncidentID, err)
	}
	// The key sorts by time; the random tail only keeps entries of one
	// instant apart (their order is Seq's, see Timeline).
	var tail [8]byte
	if _, err := rand.Read(tail[:]); err != nil {
		return prepared{}, fmt.Errorf("store: etcd: append %s: %w", ev.IncidentID, err)
	}
	key := s.key("tl", ev.IncidentID, num(uint64(ev.RecordedAt.UnixNano())), hex.EncodeToString(tail[:]))
	return prepared{ev: ev, num: n, idx: idx, key: key, val: val}, nil
}

// decodeEntry reads a stored record created at revision create (0: not
// committed yet, Seq unknown).
func decodeEntry(v []byte, create int64) (bot.TimelineEvent, error) {
	var r record
	if err := json.Unmarshal(v, &r); err != nil {
		return bot.TimelineEvent{}, err
	}
	ev := r.TimelineEvent
	ev.DedupeKey = r.DedupeKey
	ev.Seq = 0
	if create > 0 {
		ev.Seq = uint64(create)*seqPerRev + uint64(r.Idx)
	}
	return ev, nil
}
