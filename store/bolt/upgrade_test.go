package bolt

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	bbolt "go.etcd.io/bbolt"
)

// schema1Channels are the channels of the three incidents in
// testdata/schema1.db.
var schema1Channels = []bot.Channel{
	{Platform: bot.Slack, ID: "C024BE91L"},
	{Platform: bot.Discord, ID: "80351110224678912"},
	{Platform: bot.Slack, ID: "C0CLOSED"},
}

// schema1Timeline is the timeline of incident i (0-based) in
// testdata/schema1.db, as the test that wrote the file (commit 48dd5f5, the
// last with the schema-1 encoding) appended it: five entries, a message
// with a thread and a URL, a note without a dedupe key, and, in the first
// incident, a recovered entry recorded in +05:30.
func schema1Timeline(i int) []bot.TimelineEvent {
	titles := []string{"orders db latency", "checkout 502s", "cert expiry"}
	ch := schema1Channels[i]
	var evs []bot.TimelineEvent
	for j := range 5 {
		at := t0.Add(time.Duration(i*10+j) * time.Second)
		ev := bot.TimelineEvent{
			Seq: uint64(j + 1), IncidentID: bot.IncidentID(i + 1), Kind: bot.EventMessage,
			Author:     bot.User{Platform: ch.Platform, ID: "U2", Name: "grace"},
			Text:       fmt.Sprintf("%s: line %d with <html> & \"quotes\" é", titles[i], j+1),
			MessageID:  fmt.Sprintf("1741944413.%06d", i*10+j),
			PlatformAt: at.Truncate(time.Microsecond), RecordedAt: at,
		}
		ev.DedupeKey = fmt.Sprintf("%s/%s/%s", ch.Platform, ch.ID, ev.MessageID)
		switch {
		case j == 2:
			ev.ThreadID, ev.URL = "1741944413.000000", "https://example.com/a?b=1&c=2"
		case j == 3:
			ev.Kind, ev.DedupeKey, ev.MessageID, ev.PlatformAt = bot.EventNote, "", "", time.Time{}
		case j == 4 && i == 0:
			ev.RecordedAt = ev.RecordedAt.In(time.FixedZone("", 5*3600+1800))
			ev.Recovered = true
		}
		evs = append(evs, ev)
	}
	return evs
}

// openSchema1 copies testdata/schema1.db, a file written by the schema-1
// store, and opens the copy.
func openSchema1(t *testing.T) (*DB, string) {
	t.Helper()
	src, err := os.Open("testdata/schema1.db")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	path := filepath.Join(t.TempDir(), "debrief.db")
	dst, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return mustOpen(t, path), path
}

// TestSchema1File opens a file an older debrief wrote: it is upgraded to
// schema 2 in place, every record reads back as it was written, a
// redelivery of an old entry is answered from the old dedupe key, and new
// entries (compact) sit beside the old ones (JSON) in one timeline, across
// a restart.
func TestSchema1File(t *testing.T) {
	db, path := openSchema1(t)
	ctx := context.Background()

	var schema []byte
	if err := db.bolt.View(func(btx *bbolt.Tx) error {
		schema = append(schema, btx.Bucket(bucketMeta).Get(keySchema)...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if string(schema) != schemaVersion {
		t.Errorf("schema after Open = %q, want %q", schema, schemaVersion)
	}

	checkOld := func(t *testing.T, db *DB) {
		t.Helper()
		mustView(t, db, func(tx store.ReadTx) error {
			incs, err := tx.Incidents()
			if err != nil || len(incs) != 3 {
				t.Fatalf("Incidents = %d, %v; want 3", len(incs), err)
			}
			if incs[0].Title != "orders db latency" || incs[2].Status != bot.StatusResolved || incs[1].Channels[bot.Discord] != schema1Channels[1].ID {
				t.Errorf("incidents read back as %+v, %+v, %+v", incs[0], incs[1], incs[2])
			}
			for i, ch := range schema1Channels {
				if id, err := tx.IncidentByChannel(ch); err != nil || id != bot.IncidentID(i+1) {
					t.Errorf("IncidentByChannel(%v) = %q, %v", ch, id, err)
				}
				want := schema1Timeline(i)
				got, err := tx.TimelineAfter(bot.IncidentID(i+1), store.TimelineCursor{}, len(want))
				if err != nil || len(got) != len(want) {
					t.Fatalf("TimelineAfter(%s) = %d entries, %v", bot.IncidentID(i+1), len(got), err)
				}
				for j := range want {
					if !sameEvent(got[j], want[j]) {
						t.Errorf("%s entry %d = %+v\nwant %+v", want[j].IncidentID, j, got[j], want[j])
					}
				}
			}
			effs, err := tx.Effects()
			if err != nil || len(effs) != 1 || effs[0].Kind != "post" || string(effs[0].Payload) != `{"text":"pending post"}` || effs[0].Lane != "slack/C024BE91L" {
				t.Errorf("Effects = %+v, %v", effs, err)
			}
			due, err := tx.DueReminders(t0.Add(time.Hour))
			if err != nil || len(due) != 1 || due[0].Key != "INC-1/status_update" || !due[0].Due.Equal(t0.Add(30*time.Minute)) {
				t.Errorf("DueReminders = %+v, %v", due, err)
			}
			if p, err := tx.UserPrefs("slack:U2"); err != nil || p.Zone != "Europe/Paris" || p.GitHub != "grace" {
				t.Errorf("UserPrefs = %+v, %v", p, err)
			}
			if v, ok, err := tx.Meta("github/cursor"); err != nil || !ok || v != "42" {
				t.Errorf("Meta = %q, %v, %v", v, ok, err)
			}
			return nil
		})
	}
	checkOld(t, db)

	// A redelivery of an old message is a duplicate, answered with the
	// old entry, found by its schema-1 dedupe record.
	old := schema1Timeline(1)[4]
	redelivered := old
	redelivered.Seq, redelivered.RecordedAt = 0, t0.Add(time.Hour)
	stored, dup, err := db.Append(ctx, redelivered)
	if err != nil || !dup || !sameEvent(stored, old) {
		t.Errorf("Append(redelivery of %q) = %+v, dup %v, %v; want the old entry, dup", old.DedupeKey, stored, dup, err)
	}
	// A remembered signature is still remembered.
	mustUpdate(t, db, func(tx store.Tx) error {
		if seen, err := tx.Remember("slack/sig/abc", t0.Add(time.Minute), t0.Add(time.Hour)); err != nil || !seen {
			t.Errorf("Remember(old key) = %v, %v; want seen", seen, err)
		}
		return nil
	})

	// New entries carry on the numbering, in the new encoding.
	ev := schema1Timeline(0)[0]
	ev.Seq, ev.Text, ev.RecordedAt = 0, "after the upgrade", t0.Add(time.Hour)
	ev.MessageID = "1741948013.000000"
	ev.DedupeKey = "slack/C024BE91L/" + ev.MessageID
	stored, dup, err = db.Append(ctx, ev)
	if err != nil || dup || stored.Seq != 6 {
		t.Fatalf("Append(new) = seq %d, dup %v, %v; want seq 6", stored.Seq, dup, err)
	}
	if err := db.bolt.View(func(btx *bbolt.Tx) error {
		k, v := btx.Bucket(bucketTimelines).Bucket([]byte("INC-1")).Cursor().Last()
		if len(v) == 0 || v[0] != compactV1 {
			t.Errorf("new entry %x stored as %q, want the compact encoding", k, v)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, dup, err := db.Append(ctx, ev); err != nil || !dup {
		t.Errorf("Append(redelivery of the new entry) = dup %v, %v; want dup", dup, err)
	}

	// After a restart: old and new together, newest last.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = mustOpen(t, path)
	checkOld(t, db)
	mustView(t, db, func(tx store.ReadTx) error {
		tail, total, err := tx.TimelineTail("INC-1", 2)
		if err != nil || total != 6 || len(tail) != 2 || tail[1].Text != "after the upgrade" || tail[1].DedupeKey != ev.DedupeKey || !sameEvent(tail[0], schema1Timeline(0)[4]) {
			t.Errorf("TimelineTail(INC-1, 2) = %+v, %d, %v", tail, total, err)
		}
		return nil
	})
}
