package bolt

import (
	"encoding/binary"
	"reflect"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
)

// fill sets every field of v (a struct, by reflection) to a value that is
// not its zero, so that a field the compact encoding forgets shows.
func fill(t *testing.T, v reflect.Value) {
	t.Helper()
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		switch {
		case f.Type() == reflect.TypeOf(time.Time{}):
			f.Set(reflect.ValueOf(time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.FixedZone("", -7*3600))))
		case f.Kind() == reflect.String:
			f.SetString("x-" + name)
		case f.Kind() == reflect.Bool:
			f.SetBool(true)
		case f.Kind() == reflect.Uint64:
			f.SetUint(7)
		case f.Kind() == reflect.Struct:
			fill(t, f)
		default:
			t.Fatalf("fill: field %s of kind %s: teach fill (and encodeCompact) about it", name, f.Kind())
		}
	}
}

// roundTrip stores ev the way write does and reads it back.
func roundTrip(t *testing.T, ev bot.TimelineEvent) bot.TimelineEvent {
	t.Helper()
	var k [16]byte
	binary.BigEndian.PutUint64(k[:8], uint64(ev.RecordedAt.UnixNano()))
	binary.BigEndian.PutUint64(k[8:], ev.Seq)
	v := encodeCompact(nil, &ev)
	got, err := decodeEntry(ev.IncidentID, k[:], v)
	if err != nil {
		t.Fatalf("decodeEntry(encodeCompact(%+v)): %v", ev, err)
	}
	// Every shorter value is refused, never misread and never a panic.
	for n := range len(v) {
		if _, err := decodeEntry(ev.IncidentID, k[:], v[:n]); err == nil {
			t.Errorf("decodeEntry of the first %d of %d bytes succeeded", n, len(v))
		}
	}
	return got
}

// TestCompactRoundTripsEveryField: whatever fields bot.TimelineEvent has,
// each comes back from the compact encoding; a field added to it without
// a place in encodeCompact fails here.
func TestCompactRoundTripsEveryField(t *testing.T) {
	var ev bot.TimelineEvent
	fill(t, reflect.ValueOf(&ev).Elem())
	ev.IncidentID = "INC-7" // the bucket's name: canonical
	if got := roundTrip(t, ev); !sameEvent(got, ev) {
		t.Errorf("round trip of every field:\n got %+v\nwant %+v", got, ev)
	}
}

// TestCompactRoundTrip covers the encoding's cases: UTC and zoned times, no
// PlatformAt, a PlatformAt far from RecordedAt either way, dedupe keys
// with and without the MessageID at their end, empty and non-ASCII text.
func TestCompactRoundTrip(t *testing.T) {
	base := bot.TimelineEvent{
		Seq: 42, IncidentID: "INC-3", Kind: bot.EventMessage,
		Author: bot.User{Platform: bot.Slack, ID: "U024BE7LH", Name: "grace"},
		Text:   "failover done, p99 back under 200ms now", MessageID: "1741944413.000100",
		PlatformAt: t0.Add(-time.Second).Truncate(time.Microsecond), RecordedAt: t0,
		DedupeKey: "slack/C024BE91L/1741944413.000100",
	}
	cases := map[string]func(*bot.TimelineEvent){
		"slack message":        func(*bot.TimelineEvent) {},
		"no platform time":     func(ev *bot.TimelineEvent) { ev.PlatformAt = time.Time{} },
		"platform time later":  func(ev *bot.TimelineEvent) { ev.PlatformAt = t0.Add(90 * 24 * time.Hour) },
		"platform time year 1": func(ev *bot.TimelineEvent) { ev.PlatformAt = time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC) },
		"recovered, zoned": func(ev *bot.TimelineEvent) {
			ev.Recovered = true
			ev.PlatformAt = ev.PlatformAt.In(time.FixedZone("", 3600))
			ev.RecordedAt = ev.RecordedAt.In(time.FixedZone("", -5*3600-1800))
		},
		"edit key": func(ev *bot.TimelineEvent) {
			ev.Kind, ev.DedupeKey = bot.EventEdit, ev.DedupeKey+"/edit/2025-03-14T09:30:00Z"
		},
		"key is message id": func(ev *bot.TimelineEvent) { ev.DedupeKey = ev.MessageID },
		"no dedupe key":     func(ev *bot.TimelineEvent) { ev.DedupeKey, ev.MessageID = "", "" },
		"no message id":     func(ev *bot.TimelineEvent) { ev.MessageID = "" },
		"empty text, epoch": func(ev *bot.TimelineEvent) { ev.Text, ev.RecordedAt = "", time.Unix(0, 0).UTC() },
		"non-ascii":         func(ev *bot.TimelineEvent) { ev.Text = "nul \x00 bad \xff Zoë 🚒 \u2028" },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			ev := base
			change(&ev)
			if got := roundTrip(t, ev); !sameEvent(got, ev) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, ev)
			}
		})
	}
}

// TestDecodeEntryRefusesUnknownEncoding: a value in neither encoding is an
// error, not an empty entry.
func TestDecodeEntryRefusesUnknownEncoding(t *testing.T) {
	k := make([]byte, 16)
	for _, v := range [][]byte{nil, {0x02, 0}, {'x'}, {compactV1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}} {
		if ev, err := decodeEntry("INC-1", k, v); err == nil {
			t.Errorf("decodeEntry(%q) = %+v, want an error", v, ev)
		}
	}
}

// FuzzDecodeEntry: no stored value makes decodeEntry panic, and an entry
// it reads from a compact value is stored and read back the same.
func FuzzDecodeEntry(f *testing.F) {
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k[:8], uint64(t0.UnixNano()))
	binary.BigEndian.PutUint64(k[8:], 3)
	ev := bot.TimelineEvent{
		Seq: 3, IncidentID: "INC-1", Kind: bot.EventMessage, Author: bot.User{Platform: bot.Slack, ID: "U1", Name: "ada"},
		Text: "failover done", MessageID: "1741944413.000100", PlatformAt: t0.Add(-time.Second), RecordedAt: t0,
		DedupeKey: "slack/C1/1741944413.000100", Recovered: true,
	}
	f.Add(encodeCompact(nil, &ev))
	ev.RecordedAt = ev.RecordedAt.In(time.FixedZone("", 3600))
	ev.PlatformAt, ev.DedupeKey = ev.PlatformAt.In(time.FixedZone("", -3600)), "Ev1"
	f.Add(encodeCompact(nil, &ev))
	f.Add([]byte(`{"seq":1,"incident_id":"INC-1","kind":"message","author":{"platform":"slack","id":"U1"},"text":"x","at":"2025-03-14T09:26:53Z"}`))
	f.Fuzz(func(t *testing.T, v []byte) {
		ev, err := decodeEntry("INC-1", k, v)
		if err != nil || len(v) == 0 || v[0] != compactV1 {
			return
		}
		again := encodeCompact(nil, &ev)
		back, err := decodeEntry("INC-1", k, again)
		if err != nil || !sameEvent(back, ev) {
			t.Errorf("decodeEntry(%x) = %+v, which encodes to %x and reads back as %+v, %v", v, ev, again, back, err)
		}
	})
}
