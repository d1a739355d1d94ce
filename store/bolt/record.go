package bolt

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/debrief/debrief/bot"
)

// A timeline entry is stored in one of two encodings, told apart by the
// first byte of the value:
//
//   - '{': schema 1, the JSON of bot.TimelineEvent plus "dedupe_key"
//     (record). Files written before schema 2 hold only these; they are
//     read as they are, never rewritten (see upgradeSchema).
//
//   - compactV1: schema 2, what every append writes now. It leaves out what
//     the key and the bucket already say (Seq and RecordedAt are the key,
//     the incident ID is the bucket's name) and spells the rest in binary:
//
//     compactV1, flags byte,
//     then uvarint-length-prefixed strings: Kind, Author.Platform,
//     Author.ID, Author.Name, Text, URL, MessageID, ThreadID, and the
//     dedupe key when flagDedupe (whole) or flagDedupeMsg (all but the
//     MessageID it ends with, which Slack's and Discord's message keys do),
//     then varints: RecordedAt's zone offset in seconds (flagAtZone),
//     PlatformAt as seconds from RecordedAt and nanoseconds
//     (flagPlatformAt), PlatformAt's zone offset (flagPlatformZone).
//
// A field added to bot.TimelineEvent must be added here too:
// TestCompactRoundTripsEveryField fills every field by reflection and
// fails on one that does not come back.
const compactV1 = 0x01

const (
	flagAtZone       = 1 << iota // RecordedAt is not UTC: its offset follows
	flagPlatformAt               // PlatformAt is set
	flagPlatformZone             // PlatformAt is not UTC: its offset follows
	flagRecovered                // TimelineEvent.Recovered
	flagDedupe                   // the dedupe key, whole
	flagDedupeMsg                // the dedupe key less its MessageID suffix
	flagAfterClose               // TimelineEvent.AfterClose

	flagsKnown = flagAtZone | flagPlatformAt | flagPlatformZone | flagRecovered | flagDedupe | flagDedupeMsg | flagAfterClose
)

// record is the schema-1 stored form of a timeline entry: bot.TimelineEvent
// keeps DedupeKey out of its JSON (the API must not show it), but the store
// keeps it so that a duplicate's answer and a reread timeline equal what
// the first Append returned. Only read now.
type record struct {
	bot.TimelineEvent
	DedupeKey string `json:"dedupe_key,omitempty"`
}

// zoneOffset is t's offset from UTC in seconds, and whether t is in UTC
// proper (which a decoded time is when its offset is 0, as with JSON).
func zoneOffset(t time.Time) (int, bool) {
	_, off := t.Zone()
	return off, off == 0
}

// encodeCompact appends ev's compact encoding to b. ev.Seq, ev.IncidentID
// and ev.RecordedAt's instant are not stored: they are in the key and the
// bucket's name.
func encodeCompact(b []byte, ev *bot.TimelineEvent) []byte {
	var flags byte
	atOff, atUTC := zoneOffset(ev.RecordedAt)
	if !atUTC {
		flags |= flagAtZone
	}
	pOff, pUTC := zoneOffset(ev.PlatformAt)
	if !ev.PlatformAt.IsZero() {
		flags |= flagPlatformAt
		if !pUTC {
			flags |= flagPlatformZone
		}
	}
	if ev.AfterClose {
		flags |= flagAfterClose
	}
	if ev.Recovered {
		flags |= flagRecovered
	}
	dkey := ev.DedupeKey
	switch {
	case dkey == "":
	case ev.MessageID != "" && len(dkey) > len(ev.MessageID) && dkey[len(dkey)-len(ev.MessageID):] == ev.MessageID:
		flags |= flagDedupeMsg
		dkey = dkey[:len(dkey)-len(ev.MessageID)]
	default:
		flags |= flagDedupe
	}
	b = append(b, compactV1, flags)
	for _, s := range [...]string{string(ev.Kind), string(ev.Author.Platform), ev.Author.ID, ev.Author.Name, ev.Text, ev.URL, ev.MessageID, ev.ThreadID} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	if flags&(flagDedupe|flagDedupeMsg) != 0 {
		b = binary.AppendUvarint(b, uint64(len(dkey)))
		b = append(b, dkey...)
	}
	if flags&flagAtZone != 0 {
		b = binary.AppendVarint(b, int64(atOff))
	}
	if flags&flagPlatformAt != 0 {
		b = binary.AppendVarint(b, ev.PlatformAt.Unix()-ev.RecordedAt.Unix())
		b = binary.AppendUvarint(b, uint64(ev.PlatformAt.Nanosecond()))
		if flags&flagPlatformZone != 0 {
			b = binary.AppendVarint(b, int64(pOff))
		}
	}
	return b
}

var errShortRecord = errors.New("truncated record")

// decodeEntry decodes the timeline entry stored under key k in the
// timeline of incidentID (canonical), in either encoding.
func decodeEntry(incidentID string, k, v []byte) (bot.TimelineEvent, error) {
	if len(v) > 0 && v[0] == '{' {
		var r record
		if err := json.Unmarshal(v, &r); err != nil {
			return bot.TimelineEvent{}, err
		}
		ev := r.TimelineEvent
		ev.DedupeKey = r.DedupeKey
		return ev, nil
	}
	if len(k) != 16 {
		return bot.TimelineEvent{}, fmt.Errorf("timeline key of %d bytes", len(k))
	}
	if len(v) < 2 || v[0] != compactV1 {
		return bot.TimelineEvent{}, fmt.Errorf("unknown record encoding %#x", v[:min(len(v), 1)])
	}
	flags, p := v[1], v[2:]
	if flags&^flagsKnown != 0 || flags&(flagDedupe|flagDedupeMsg) == flagDedupe|flagDedupeMsg {
		return bot.TimelineEvent{}, fmt.Errorf("record flags %#x", flags)
	}
	// The strings are read in one allocation: their bytes are gathered
	// into one string, which they are slices of. A long read decodes
	// thousands of entries a second, and each allocation is the garbage
	// collector's work on the CPU the acknowledgements need (README,
	// "Benchmarks"); an entry's strings live and die together anyway.
	nstr := 8
	hasDedupe := flags&(flagDedupe|flagDedupeMsg) != 0
	if hasDedupe {
		nstr++
	}
	var spans [9]struct{ from, to int }
	total := 0
	for i := range nstr {
		n, w := binary.Uvarint(p)
		if w <= 0 || uint64(len(p)-w) < n {
			return bot.TimelineEvent{}, errShortRecord
		}
		spans[i].from = len(v) - len(p) + w
		spans[i].to = spans[i].from + int(n)
		total += int(n)
		p = p[w+int(n):]
	}
	const msgID = 6 // the MessageID's place among the strings
	if flags&flagDedupeMsg != 0 {
		total += spans[msgID].to - spans[msgID].from
	}
	var all strings.Builder
	all.Grow(total)
	for i := range nstr {
		all.Write(v[spans[i].from:spans[i].to])
	}
	if flags&flagDedupeMsg != 0 {
		all.Write(v[spans[msgID].from:spans[msgID].to])
	}
	strs := all.String()
	at := 0
	next := func(n int) string {
		s := strs[at : at+n]
		at += n
		return s
	}
	varint := func() (int64, error) {
		x, w := binary.Varint(p)
		if w <= 0 {
			return 0, errShortRecord
		}
		p = p[w:]
		return x, nil
	}
	ev := bot.TimelineEvent{
		Seq:        binary.BigEndian.Uint64(k[8:]),
		IncidentID: incidentID,
		RecordedAt: time.Unix(0, int64(binary.BigEndian.Uint64(k[:8]))).UTC(),
		Recovered:  flags&flagRecovered != 0,
		AfterClose: flags&flagAfterClose != 0,
	}
	var kind, platform string
	for i, dst := range [...]*string{&kind, &platform, &ev.Author.ID, &ev.Author.Name, &ev.Text, &ev.URL, &ev.MessageID, &ev.ThreadID} {
		*dst = next(spans[i].to - spans[i].from)
	}
	ev.Kind, ev.Author.Platform = bot.EventKind(kind), bot.Platform(platform)
	if hasDedupe {
		n := spans[8].to - spans[8].from
		if flags&flagDedupeMsg != 0 {
			n += len(ev.MessageID)
		}
		ev.DedupeKey = next(n)
	}
	if flags&flagAtZone != 0 {
		off, err := varint()
		if err != nil {
			return bot.TimelineEvent{}, err
		}
		ev.RecordedAt = ev.RecordedAt.In(time.FixedZone("", int(off)))
	}
	if flags&flagPlatformAt != 0 {
		sec, err := varint()
		if err != nil {
			return bot.TimelineEvent{}, err
		}
		nsec, w := binary.Uvarint(p)
		if w <= 0 || nsec >= 1e9 {
			return bot.TimelineEvent{}, errShortRecord
		}
		p = p[w:]
		ev.PlatformAt = time.Unix(ev.RecordedAt.Unix()+sec, int64(nsec)).UTC()
		if flags&flagPlatformZone != 0 {
			off, err := varint()
			if err != nil {
				return bot.TimelineEvent{}, err
			}
			ev.PlatformAt = ev.PlatformAt.In(time.FixedZone("", int(off)))
		}
	}
	if len(p) != 0 {
		return bot.TimelineEvent{}, fmt.Errorf("%d bytes after the record", len(p))
	}
	return ev, nil
}
