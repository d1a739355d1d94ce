package bolt

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
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
// the current schema in place, every record reads back as it was written, a
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

// copyFixture copies testdata/name to a fresh folder and returns the copy's
// path.
func copyFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "debrief.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// fixtureFilters are filters that select some, all or none of the
// incidents of the fixtures.
var fixtureFilters = []store.IncidentFilter{
	{Status: bot.StatusResolved}, {Status: bot.StatusClosed}, {Open: true}, {Severity: bot.SEV2},
	{Severity: bot.SEV1, Open: true}, {Kind: bot.KindReal}, {Kind: bot.KindDrill}, {Kind: bot.KindNearMiss},
	{Since: t0.Add(3 * time.Hour)}, {Since: t0.Add(6 * time.Hour)}, {Since: t0.Add(6*time.Hour + 2*time.Nanosecond)},
	{Status: bot.StatusReviewHeld, Kind: bot.KindDrill},
}

// checkFilters holds IncidentsAfter with each of fixtureFilters to the
// filter applied to every incident decoded, and returns how many
// incidents the index holds.
func checkFilters(t *testing.T, db *DB) int {
	t.Helper()
	mustView(t, db, func(tx store.ReadTx) error {
		incs, err := tx.Incidents()
		if err != nil {
			return err
		}
		for _, f := range fixtureFilters {
			var want []string
			for _, inc := range incs {
				if f.Match(inc) {
					want = append(want, inc.ID)
				}
			}
			page, err := tx.IncidentsAfter(0, 100, f)
			if err != nil {
				return err
			}
			var got []string
			for _, inc := range page {
				got = append(got, inc.ID)
			}
			if !slices.Equal(got, want) {
				t.Errorf("IncidentsAfter(%+v) = %v, want %v", f, got, want)
			}
		}
		return nil
	})
	var n int
	if err := db.bolt.View(func(btx *bbolt.Tx) error {
		n = btx.Bucket(bucketIncIndex).Stats().KeyN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// schemaOf reads the schema version a file says it has.
func schemaOf(t *testing.T, db *DB) string {
	t.Helper()
	var v string
	if err := db.bolt.View(func(btx *bbolt.Tx) error {
		v = string(btx.Bucket(bucketMeta).Get(keySchema))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSchema1FileIndexed: the upgrade from schema 1 indexes its incidents
// too, and the filters read the index as they would the incidents.
func TestSchema1FileIndexed(t *testing.T) {
	db, _ := openSchema1(t)
	if n := checkFilters(t, db); n != 3 {
		t.Errorf("the incident index holds %d incidents after the upgrade, want 3", n)
	}
}

// schema2Incidents are the incidents of testdata/schema2.db, as the test
// that wrote the file (on commit dd82ad5, the last of schema 2) put them,
// each with three timeline entries a second apart from its declaration and
// a Slack channel: every status, every kind and none (""), severities 1 to
// 4, and a declaration in another zone.
func schema2Incidents() []*bot.Incident {
	ist := time.FixedZone("IST", 5*3600+1800)
	rows := []struct {
		kind   bot.Kind
		sev    bot.Severity
		status bot.Status
		at     time.Time
	}{
		{bot.KindReal, bot.SEV1, bot.StatusInvestigating, t0},
		{bot.KindDrill, bot.SEV3, bot.StatusResolved, t0.Add(time.Hour)},
		{bot.KindNearMiss, bot.SEV4, bot.StatusClosed, t0.Add(2 * time.Hour)},
		{bot.KindReal, bot.SEV2, bot.StatusReviewScheduled, t0.Add(3 * time.Hour).In(ist)},
		{bot.KindReal, bot.SEV2, bot.StatusClosed, t0.Add(4 * time.Hour)},
		{"", bot.SEV3, bot.StatusMitigated, t0.Add(5 * time.Hour)},
		{bot.KindReal, bot.SEV1, bot.StatusReviewHeld, t0.Add(6*time.Hour + time.Nanosecond)},
	}
	var out []*bot.Incident
	for i, r := range rows {
		n := i + 1
		out = append(out, &bot.Incident{
			ID: bot.IncidentID(n), Number: n, Title: "schema 2 incident " + bot.IncidentID(n),
			Kind: r.kind, Severity: r.sev, Status: r.status, DeclaredAt: r.at,
			Channels: map[bot.Platform]string{bot.Slack: "C2" + bot.IncidentID(n)},
		})
	}
	return out
}

// TestSchema2File opens a file of the previous schema: it is upgraded to
// schema 3 in place (its incidents indexed), everything reads back as it
// was written, the filters read the index as they would the incidents,
// and an incident put after the upgrade is indexed too, across a restart.
func TestSchema2File(t *testing.T) {
	path := copyFixture(t, "schema2.db")
	db := mustOpen(t, path)
	if v := schemaOf(t, db); v != schemaVersion {
		t.Errorf("schema after Open = %q, want %q", v, schemaVersion)
	}
	want := schema2Incidents()
	mustView(t, db, func(tx store.ReadTx) error {
		incs, err := tx.Incidents()
		if err != nil || len(incs) != len(want) {
			t.Fatalf("Incidents = %d, %v; want %d", len(incs), err, len(want))
		}
		for i, inc := range incs {
			w := want[i]
			if inc.ID != w.ID || inc.Title != w.Title || inc.Kind != w.Kind || inc.Severity != w.Severity ||
				inc.Status != w.Status || !inc.DeclaredAt.Equal(w.DeclaredAt) || inc.Channels[bot.Slack] != w.Channels[bot.Slack] {
				t.Errorf("incident %d = %+v, want %+v", i+1, inc, w)
			}
			if id, err := tx.IncidentByChannel(bot.Channel{Platform: bot.Slack, ID: w.Channels[bot.Slack]}); err != nil || id != w.ID {
				t.Errorf("IncidentByChannel(%s) = %q, %v", w.Channels[bot.Slack], id, err)
			}
			end, n, more, err := tx.TimelineKeysAfter(w.ID, store.TimelineCursor{}, 3)
			if err != nil || n != 3 || more || !end.At.Equal(w.DeclaredAt.Add(2*time.Second)) || end.Seq != 3 {
				t.Errorf("TimelineKeysAfter(%s) = %v, %d, %v, %v", w.ID, end, n, more, err)
			}
		}
		return nil
	})
	if n := checkFilters(t, db); n != len(want) {
		t.Errorf("the incident index holds %d incidents after the upgrade, want %d", n, len(want))
	}
	// A new incident, and a change to an old one, after the upgrade.
	mustUpdate(t, db, func(tx store.Tx) error {
		n, err := tx.NextIncidentNumber()
		if err != nil {
			return err
		}
		if n != len(want)+1 {
			t.Errorf("NextIncidentNumber after the upgrade = %d, want %d", n, len(want)+1)
		}
		if err := tx.PutIncident(&bot.Incident{ID: bot.IncidentID(n), Number: n, Title: "new", Kind: bot.KindDrill,
			Severity: bot.SEV2, Status: bot.StatusReviewHeld, DeclaredAt: t0.Add(7 * time.Hour)}); err != nil {
			return err
		}
		old, err := tx.Incident("INC-1")
		if err != nil {
			return err
		}
		old.Status = bot.StatusResolved
		return tx.PutIncident(old)
	})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = mustOpen(t, path)
	if n := checkFilters(t, db); n != len(want)+1 {
		t.Errorf("the incident index holds %d incidents after a restart, want %d", n, len(want)+1)
	}
	mustView(t, db, func(tx store.ReadTx) error {
		incs, err := tx.IncidentsAfter(0, 10, store.IncidentFilter{Status: bot.StatusResolved})
		if err != nil || len(incs) != 2 || incs[0].ID != "INC-1" || incs[1].ID != "INC-2" {
			t.Errorf("IncidentsAfter(resolved) = %v, %v; want INC-1 (changed after the upgrade) and INC-2", incs, err)
		}
		return nil
	})
}
