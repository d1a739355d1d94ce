package bolt

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	bbolt "go.etcd.io/bbolt"
)

// legacyRecords are timeline entries exactly as the hand-written encoder
// (store/bolt/json.go, removed when the timeline went to encoding/json)
// stored them, each with the event it decodes to. Files written before the
// change hold such bytes and must read the same after it.
var legacyRecords = []struct {
	stored string
	want   bot.TimelineEvent
}{
	{
		stored: `{"seq":1,"incident_id":"INC-1","kind":"message","author":{"platform":"slack","id":"U024BE7LH","name":"grace"},"text":"failover done, p99 back under 200ms now","message_id":"1700000000.000100","platform_at":"2025-03-14T09:26:53Z","at":"2025-03-14T09:26:53.589793238Z","dedupe_key":"C024BE91L/1700000000.000100"}`,
		want: bot.TimelineEvent{Seq: 1, IncidentID: "INC-1", Kind: bot.EventMessage,
			Author: bot.User{Platform: bot.Slack, ID: "U024BE7LH", Name: "grace"},
			Text:   "failover done, p99 back under 200ms now", MessageID: "1700000000.000100",
			PlatformAt: time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC), RecordedAt: time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC),
			DedupeKey: "C024BE91L/1700000000.000100"},
	},
	{
		stored: `{"seq":2,"incident_id":"INC-1","kind":"file","author":{"platform":"discord","id":"80351110224678912"},"text":"quote \" backslash \\ nl \n tab \t nul \u0000 <b>&amp;</b> \u2028 Zoë 🚒 bad \ufffd","url":"https://example.com/?a=1&b=<2>","thread_id":"t1","at":"2025-03-14T15:00:00+05:30","dedupe_key":"Ev\u2029"}`,
		want: bot.TimelineEvent{Seq: 2, IncidentID: "INC-1", Kind: bot.EventFile,
			Author: bot.User{Platform: bot.Discord, ID: "80351110224678912"},
			Text:   "quote \" backslash \\ nl \n tab \t nul \x00 <b>&amp;</b> \u2028 Zoë 🚒 bad \ufffd",
			URL:    "https://example.com/?a=1&b=<2>", ThreadID: "t1",
			RecordedAt: time.Date(2025, 3, 14, 15, 0, 0, 0, time.FixedZone("", 5*3600+1800)),
			DedupeKey:  "Ev\u2029"},
	},
	{
		stored: `{"seq":3,"incident_id":"INC-1","kind":"status","author":{"platform":"console","id":"alice"},"text":"","at":"2025-03-14T10:00:00Z"}`,
		want: bot.TimelineEvent{Seq: 3, IncidentID: "INC-1", Kind: bot.EventStatus, Author: bot.User{Platform: bot.Console, ID: "alice"},
			RecordedAt: time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)},
	},
}

// sameEvent compares events as stored and read back: times by instant and
// offset (a decoded zone has no name), everything else exactly.
func sameEvent(a, b bot.TimelineEvent) bool {
	sameTime := func(x, y time.Time) bool {
		_, xo := x.Zone()
		_, yo := y.Zone()
		return x.Equal(y) && xo == yo
	}
	if !sameTime(a.PlatformAt, b.PlatformAt) || !sameTime(a.RecordedAt, b.RecordedAt) {
		return false
	}
	a.PlatformAt, a.RecordedAt, b.PlatformAt, b.RecordedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

// TestLegacyRecordsDecode puts entries of the old encoding into the file
// with raw bbolt writes, as an older debrief left them, and reads them
// through the store: the timeline, and the answer to a redelivery, which
// goes through the dedupe index.
func TestLegacyRecordsDecode(t *testing.T) {
	db := MustOpenDB(t)
	inc := declare(t, db, "db latency")
	err := db.bolt.Update(func(btx *bbolt.Tx) error {
		tl := btx.Bucket(bucketTimelines).Bucket([]byte(inc.ID))
		for _, r := range legacyRecords {
			var k [16]byte
			binary.BigEndian.PutUint64(k[:8], uint64(r.want.RecordedAt.UnixNano()))
			binary.BigEndian.PutUint64(k[8:], r.want.Seq)
			if err := tl.Put(k[:], []byte(r.stored)); err != nil {
				return err
			}
			if r.want.DedupeKey != "" {
				if err := btx.Bucket(bucketDedupe).Put([]byte(r.want.DedupeKey), append(k[:], inc.ID...)); err != nil {
					return err
				}
			}
		}
		return tl.SetSequence(uint64(len(legacyRecords)))
	})
	if err != nil {
		t.Fatal(err)
	}

	got := timeline(t, db, inc.ID)
	if len(got) != len(legacyRecords) {
		t.Fatalf("Timeline has %d entries, want %d", len(got), len(legacyRecords))
	}
	for i, r := range legacyRecords {
		if !sameEvent(got[i], r.want) {
			t.Errorf("Timeline[%d] = %+v, want %+v", i, got[i], r.want)
		}
		if r.want.DedupeKey != "" {
			redelivery := event(inc.ID, "redelivered", t0)
			redelivery.DedupeKey = r.want.DedupeKey
			stored, dup, err := db.Append(context.Background(), redelivery)
			if err != nil || !dup || !sameEvent(stored, r.want) {
				t.Errorf("Append(redelivery of %q) = %+v, dup %v, %v; want the legacy entry %+v, dup", r.want.DedupeKey, stored, dup, err, r.want)
			}
		}
		// Entries written from now on are in the compact encoding, and
		// read back the same.
		enc := encodeCompact(nil, &r.want)
		var k [16]byte
		binary.BigEndian.PutUint64(k[:8], uint64(r.want.RecordedAt.UnixNano()))
		binary.BigEndian.PutUint64(k[8:], r.want.Seq)
		if got, err := decodeEntry(inc.ID, k[:], enc); err != nil || !sameEvent(got, r.want) {
			t.Errorf("decodeEntry(encodeCompact(%+v)) = %+v, %v", r.want, got, err)
		}
		if !json.Valid([]byte(r.stored)) {
			t.Errorf("legacy record %d is not valid JSON", i)
		}
	}
	// The sequence carries on after the legacy entries.
	stored, _, err := db.Append(context.Background(), event(inc.ID, "new", t0.Add(time.Hour)))
	if err != nil || stored.Seq != uint64(len(legacyRecords))+1 {
		t.Errorf("Append after legacy entries = seq %d, %v; want seq %d", stored.Seq, err, len(legacyRecords)+1)
	}
}

// A time RFC 3339 cannot express is refused before anything is written;
// encoding/json is what refuses it.
func TestAppendRefusesUnencodableTime(t *testing.T) {
	db := MustOpenDB(t)
	inc := declare(t, db, "db latency")
	ev := event(inc.ID, "from the future", t0)
	ev.PlatformAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, _, err := db.Append(context.Background(), ev); err == nil {
		t.Error("Append with PlatformAt in year 10000 succeeded")
	}
	if got := timeline(t, db, inc.ID); len(got) != 0 {
		t.Errorf("Timeline = %v, want empty", texts(got))
	}
}
