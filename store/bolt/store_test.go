package bolt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	bbolt "go.etcd.io/bbolt"
)

// MustOpenDB opens a fresh database in a temporary directory. At cleanup it
// checks the file's consistency and closes it, like bbolt's btesting. It is
// bolttest.Open for this package's own tests, which cannot import bolttest
// (bolttest imports this package: a cycle). Tests that need no internals go
// through bolttest in package bolt_test instead, as the contract suite does.
func MustOpenDB(tb testing.TB) *DB {
	tb.Helper()
	return mustOpen(tb, filepath.Join(tb.TempDir(), "debrief.db"))
}

func mustOpen(tb testing.TB, path string) *DB {
	tb.Helper()
	db, err := Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if !db.isClosed() {
			if err := db.Check(); err != nil {
				tb.Error(err)
			}
		}
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	return db
}

func mustUpdate(tb testing.TB, db *DB, fn func(store.Tx) error) {
	tb.Helper()
	if err := db.Update(context.Background(), fn); err != nil {
		tb.Fatal(err)
	}
}

func mustView(tb testing.TB, db *DB, fn func(store.ReadTx) error) {
	tb.Helper()
	if err := db.View(context.Background(), fn); err != nil {
		tb.Fatal(err)
	}
}

var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC)

// declare stores a new incident the way the service does.
func declare(tb testing.TB, db *DB, title string) *bot.Incident {
	tb.Helper()
	var inc *bot.Incident
	mustUpdate(tb, db, func(tx store.Tx) error {
		n, err := tx.NextIncidentNumber()
		if err != nil {
			return err
		}
		inc = &bot.Incident{
			ID: bot.IncidentID(n), Number: n, Title: title, Kind: bot.KindReal,
			Severity: bot.SEV2, Status: bot.StatusInvestigating, DeclaredAt: t0,
			Roles: map[bot.Role]bot.User{bot.Commander: {Platform: bot.Slack, ID: "U1", Name: "ada"}},
		}
		return tx.PutIncident(inc)
	})
	return inc
}

func event(id, text string, at time.Time) bot.TimelineEvent {
	return bot.TimelineEvent{
		IncidentID: id, Kind: bot.EventMessage, Text: text, RecordedAt: at,
		Author: bot.User{Platform: bot.Slack, ID: "U2", Name: "grace"},
	}
}

func timeline(tb testing.TB, db *DB, id string) []bot.TimelineEvent {
	tb.Helper()
	var evs []bot.TimelineEvent
	mustView(tb, db, func(tx store.ReadTx) error {
		var err error
		evs, err = tx.Timeline(id)
		return err
	})
	return evs
}

func texts(evs []bot.TimelineEvent) []string {
	s := make([]string, len(evs))
	for i, ev := range evs {
		s[i] = ev.Text
	}
	return s
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := bot.ErrorCode(err); got != code {
		t.Errorf("%s: error %v has code %q, want %q", what, err, got, code)
	}
}

func TestPutIncidentRejectsMismatchedID(t *testing.T) {
	db := MustOpenDB(t)
	err := db.Update(context.Background(), func(tx store.Tx) error {
		return tx.PutIncident(&bot.Incident{ID: "INC-2", Number: 3})
	})
	wantCode(t, "PutIncident(INC-2 #3)", err, bot.EINTERNAL)
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "debrief.db")
	db := mustOpen(t, path)
	inc := declare(t, db, "db latency")
	ev := event(inc.ID, "hello", t0)
	ev.DedupeKey = "Ev1"
	stored, _, err := db.Append(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, db, func(tx store.Tx) error {
		if err := tx.PutChannel(bot.Channel{Platform: bot.Slack, ID: "C1"}, inc.ID); err != nil {
			return err
		}
		if _, err := tx.AddEffect(store.Effect{Kind: "post", Lane: "slack/INC-1", Payload: json.RawMessage(`{"text":"hi"}`)}); err != nil {
			return err
		}
		return tx.PutReminder(store.Reminder{Key: "INC-1/status_update", IncidentID: inc.ID, Due: t0})
	})
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = mustOpen(t, path)
	if got := timeline(t, db, inc.ID); len(got) != 1 || got[0] != stored {
		t.Errorf("Timeline after reopen = %+v, want [%+v]", got, stored)
	}
	if _, dup, err := db.Append(context.Background(), ev); err != nil || !dup {
		t.Errorf("Append(Ev1) after reopen: dup %v, %v; want dup", dup, err)
	}
	mustView(t, db, func(tx store.ReadTx) error {
		if id, err := tx.IncidentByChannel(bot.Channel{Platform: bot.Slack, ID: "C1"}); err != nil || id != inc.ID {
			t.Errorf("IncidentByChannel after reopen = %q, %v", id, err)
		}
		if effs, err := tx.Effects(); err != nil || len(effs) != 1 {
			t.Errorf("Effects after reopen = %v, %v", effs, err)
		}
		if rs, err := tx.DueReminders(t0); err != nil || len(rs) != 1 {
			t.Errorf("DueReminders after reopen = %v, %v", rs, err)
		}
		return nil
	})
	if got := declare(t, db, "next").Number; got != 2 {
		t.Errorf("number after reopen = %d, want 2", got)
	}
	mustUpdate(t, db, func(tx store.Tx) error {
		e, err := tx.AddEffect(store.Effect{Kind: "post"})
		if err == nil && e.ID != 2 {
			t.Errorf("effect ID after reopen = %d, want 2", e.ID)
		}
		return err
	})
}

// Close must let submitted appends finish, and an append it turned away must
// not have been stored.
func TestCloseWaitsForAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "debrief.db")
	db := mustOpen(t, path)
	inc := declare(t, db, "db latency")
	const n = 64
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, _, errs[i] = db.Append(context.Background(), event(inc.ID, fmt.Sprint(i), t0))
		})
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	db = mustOpen(t, path)
	stored := map[string]bool{}
	for _, ev := range timeline(t, db, inc.ID) {
		stored[ev.Text] = true
	}
	for i, err := range errs {
		switch {
		case err == nil && !stored[fmt.Sprint(i)]:
			t.Errorf("append %d acknowledged but not stored", i)
		case err != nil && !errors.Is(err, ErrClosed):
			t.Errorf("append %d: %v, want nil or ErrClosed", i, err)
		case err != nil && stored[fmt.Sprint(i)]:
			t.Errorf("append %d refused but stored", i)
		}
	}
}

// TestBackupCancelled: a backup under an ended context writes nothing.
func TestBackupCancelled(t *testing.T) {
	db := MustOpenDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var w discard
	if _, err := db.Backup(ctx, &w); !errors.Is(err, context.Canceled) {
		t.Errorf("Backup: %v, want context.Canceled", err)
	}
	if w.n != 0 {
		t.Errorf("Backup under a cancelled context wrote %d bytes", w.n)
	}
}

type discard struct{ n int }

func (d *discard) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }

func effects(tb testing.TB, db *DB) []store.Effect {
	tb.Helper()
	var effs []store.Effect
	mustView(tb, db, func(tx store.ReadTx) error {
		var err error
		effs, err = tx.Effects()
		return err
	})
	return effs
}

func TestBackup(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	inc := declare(t, db, "db latency")
	for i := range 10 {
		if _, _, err := db.Append(ctx, event(inc.ID, fmt.Sprint(i), t0)); err != nil {
			t.Fatal(err)
		}
	}
	mustUpdate(t, db, func(tx store.Tx) error {
		_, err := tx.AddEffect(store.Effect{Kind: "post", Lane: "slack/INC-1", Payload: json.RawMessage(`{"text":"hi"}`)})
		return err
	})

	path := filepath.Join(t.TempDir(), "backup.db")
	if err := db.BackupFile(ctx, path); err != nil {
		t.Fatal(err)
	}
	// Writing on after the backup must not show up in it.
	if _, _, err := db.Append(ctx, event(inc.ID, "after", t0)); err != nil {
		t.Fatal(err)
	}
	if err := db.BackupFile(ctx, db.Path()); err == nil {
		t.Error("BackupFile onto the live database succeeded")
	}

	bak := mustOpen(t, path)
	if got, want := texts(timeline(t, bak, inc.ID)), texts(timeline(t, db, inc.ID))[:10]; !reflect.DeepEqual(got, want) {
		t.Errorf("backup timeline = %v, want %v", got, want)
	}
	if got, want := effects(t, bak), effects(t, db); !reflect.DeepEqual(got, want) {
		t.Errorf("backup effects = %+v, want %+v", got, want)
	}
	if got := declare(t, bak, "next").Number; got != 2 {
		t.Errorf("number in backup = %d, want 2", got)
	}
}

// An Append abandoned by its caller is not acknowledged, whether or not it
// went on to commit; the platform's redelivery then stores it exactly once.
func TestAppendCancelledWhileWaiting(t *testing.T) {
	db := MustOpenDB(t)
	inc := declare(t, db, "db latency")

	// Hold the writer lock so that nothing can commit meanwhile.
	started, release, updated := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		updated <- db.Update(context.Background(), func(store.Tx) error {
			close(started)
			<-release
			return nil
		})
	}()
	<-started

	ev := event(inc.ID, "abandoned", t0)
	ev.DedupeKey = "Ev-abandoned"
	ctx, cancel := context.WithCancel(context.Background())
	appended := make(chan error)
	go func() {
		_, _, err := db.Append(ctx, ev)
		appended <- err
	}()
	cancel()
	if err := <-appended; !errors.Is(err, context.Canceled) {
		t.Errorf("Append with the writer lock held, then cancelled: %v, want context.Canceled", err)
	}
	close(release)
	if err := <-updated; err != nil {
		t.Fatal(err)
	}

	if _, _, err := db.Append(context.Background(), ev); err != nil {
		t.Fatalf("redelivery: %v", err)
	}
	if got := timeline(t, db, inc.ID); len(got) != 1 {
		t.Errorf("timeline has %d entries after the redelivery, want 1", len(got))
	}
}

// TestOutboxDepth counts pending effects for the metrics, without decoding
// them.
func TestOutboxDepth(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	var ids []uint64
	mustUpdate(t, db, func(tx store.Tx) error {
		for range 3 {
			e, err := tx.AddEffect(store.Effect{Kind: "post", Lane: "slack/INC-1"})
			if err != nil {
				return err
			}
			ids = append(ids, e.ID)
		}
		return nil
	})
	mustUpdate(t, db, func(tx store.Tx) error { return tx.DeleteEffect(ids[0]) })
	if n, err := db.OutboxDepth(ctx); err != nil || n != 2 {
		t.Errorf("OutboxDepth = %d, %v, want 2", n, err)
	}
}

// TestDueIndex: moving or deleting a reminder leaves no stale key in the
// due index, which DueReminders would otherwise trip over.
func TestDueIndex(t *testing.T) {
	db := MustOpenDB(t)
	rem := func(key string, in time.Duration) store.Reminder {
		return store.Reminder{Key: key, IncidentID: "INC-1", Kind: store.RemindStatus, Due: t0.Add(in)}
	}
	mustUpdate(t, db, func(tx store.Tx) error {
		for _, r := range []store.Reminder{rem("a", time.Hour), rem("b", 2*time.Hour), rem("c", 3*time.Hour)} {
			if err := tx.PutReminder(r); err != nil {
				return err
			}
		}
		return nil
	})
	mustUpdate(t, db, func(tx store.Tx) error {
		if err := tx.PutReminder(rem("a", 4*time.Hour)); err != nil {
			return err
		}
		return tx.DeleteReminder("c")
	})
	err := db.bolt.View(func(btx *bbolt.Tx) error {
		if n := btx.Bucket(bucketDue).Stats().KeyN; n != 2 {
			t.Errorf("due index has %d keys, want 2", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMetaKeysApartFromSchema: a caller's key named "schema" is stored
// apart from the store's own schema version, so the reopen's schema check
// still passes, and values survive the reopen.
func TestMetaKeysApartFromSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "debrief.db")
	db := mustOpen(t, path)
	mustUpdate(t, db, func(tx store.Tx) error { return tx.PutMeta("github/cursor", "2026-03-02T10:00:00Z") })
	mustUpdate(t, db, func(tx store.Tx) error { return tx.PutMeta("schema", "not the schema") })
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = mustOpen(t, path)
	mustView(t, db, func(tx store.ReadTx) error {
		if v, ok, err := tx.Meta("github/cursor"); err != nil || !ok || v != "2026-03-02T10:00:00Z" {
			t.Errorf("Meta after reopen = %q, %v, %v", v, ok, err)
		}
		if v, _, _ := tx.Meta("schema"); v != "not the schema" {
			t.Errorf("Meta(schema) = %q", v)
		}
		return nil
	})
	mustUpdate(t, db, func(tx store.Tx) error {
		if err := tx.PutMeta("", "x"); err == nil {
			t.Error("PutMeta with an empty key succeeded")
		}
		return nil
	})
}

// TestOpenRefusesOtherSchema: a file written by another schema version is
// refused with both versions named, rather than misread, and left as it was.
func TestOpenRefusesOtherSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "debrief.db")
	if err := mustOpen(t, path).Close(); err != nil {
		t.Fatal(err)
	}
	bdb, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(btx *bbolt.Tx) error { return btx.Bucket(bucketMeta).Put(keySchema, []byte("99")) })
	if cerr := bdb.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}

	db, err := Open(path)
	if err == nil {
		db.Close()
		t.Fatal("Open of a schema 99 file succeeded")
	}
	if want := `schema version "99", this debrief reads "` + schemaVersion + `"`; !strings.Contains(err.Error(), want) {
		t.Errorf("Open = %v, want an error containing %q", err, want)
	}
	// The refusal released the file: a tool may open it now.
	bdb, err = bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 100 * time.Millisecond, ReadOnly: true})
	if err != nil {
		t.Fatalf("file still locked after the refused Open: %v", err)
	}
	defer bdb.Close()
	err = bdb.View(func(btx *bbolt.Tx) error {
		if v := btx.Bucket(bucketMeta).Get(keySchema); string(v) != "99" {
			t.Errorf("schema after the refused Open = %q, want 99 untouched", v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestEffectEnvelope round-trips every field of an effect's envelope.
func TestEffectEnvelope(t *testing.T) {
	db := MustOpenDB(t)
	want := store.Effect{
		Kind: "file_issue", Lane: "github/INC-1", IncidentID: "INC-1", Key: "INC-1#2",
		Payload: json.RawMessage(`{"n":2,"issue":{"title":"[INC-1] add a canary"}}`), Sent: true,
		CreatedAt: t0, NextAt: t0.Add(time.Minute), Attempts: 2, LastError: "HTTP 502",
	}
	mustUpdate(t, db, func(tx store.Tx) error {
		e, err := tx.AddEffect(want)
		want.ID = e.ID
		return err
	})
	if got := effects(t, db); len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Errorf("Effects = %+v, want %+v", got, want)
	}
}

// TestCheckAfterClose: Check tells a closed store (ErrClosed) from a
// damaged one, so that a test's cleanup can leave alone a store the test
// closed on purpose. bolttest's tests damage a file and expect Check to
// find it.
func TestCheckAfterClose(t *testing.T) {
	db := MustOpenDB(t)
	declare(t, db, "db latency")
	if err := db.Check(); err != nil {
		t.Errorf("Check of a sound store = %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Check(); !errors.Is(err, ErrClosed) {
		t.Errorf("Check after Close = %v, want ErrClosed", err)
	}
}

// TestLegacyEffect reads an outbox record written before effects were typed
// (store.LegacyEffect): it comes back as an envelope with the lane the old
// outbox derived, its pseudo-platform cleared, and the whole record as its
// payload, and it survives a retry's UpdateEffect.
func TestLegacyEffect(t *testing.T) {
	db := MustOpenDB(t)
	for id, rec := range map[uint64]string{
		1: `{"id":1,"key":"INC-1#2","kind":"file_issue","platform":"github","incident_id":"INC-1","name":"[INC-1] add a canary","text":"body","n":2,"labels":["countermeasure"],"assignee":"octocat","sent":true,"created_at":"2026-03-02T10:00:00Z","attempts":1,"next_at":"2026-03-02T10:00:02Z","last_error":"HTTP 502"}`,
		2: `{"id":2,"key":"effect-2","kind":"post","platform":"slack","incident_id":"INC-1","channel_id":"C9","text":"hello","created_at":"2026-03-02T10:00:00Z","attempts":0,"next_at":"2026-03-02T10:00:00Z"}`,
	} {
		err := db.bolt.Update(func(btx *bbolt.Tx) error { return btx.Bucket(bucketOutbox).Put(u64(id), []byte(rec)) })
		if err != nil {
			t.Fatal(err)
		}
	}
	got := effects(t, db)
	if len(got) != 2 {
		t.Fatalf("Effects = %+v, want 2", got)
	}
	issue, post := got[0], got[1]
	if issue.Kind != "file_issue" || issue.Lane != "github/INC-1" || issue.Platform != "" || !issue.Legacy || !issue.Sent ||
		issue.Key != "INC-1#2" || issue.Attempts != 1 || issue.LastError != "HTTP 502" || !issue.NextAt.Equal(time.Date(2026, 3, 2, 10, 0, 2, 0, time.UTC)) {
		t.Errorf("legacy file_issue = %+v", issue)
	}
	var old store.LegacyEffect
	if err := json.Unmarshal(issue.Payload, &old); err != nil || old.Name != "[INC-1] add a canary" || old.N != 2 || old.Assignee != "octocat" {
		t.Errorf("legacy payload = %+v, %v", old, err)
	}
	if post.Lane != "slack/C9" || post.Platform != bot.Slack || post.ChannelID != "C9" || !post.Legacy {
		t.Errorf("legacy post = %+v", post)
	}
	post.Attempts = 1
	mustUpdate(t, db, func(tx store.Tx) error { return tx.UpdateEffect(post) })
	if again := effects(t, db); !reflect.DeepEqual(again[1], post) {
		t.Errorf("after UpdateEffect = %+v, want %+v", again[1], post)
	}
}

// TestCommitErr: when the file cannot grow (a full disk), commits fail and
// CommitErr says so while reads still work; the next commit that fits
// clears it.
func TestCommitErr(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "full.db"), WithMaxSize(256<<10))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	inc := declare(t, db, "Disk full")
	if err := db.CommitErr(); err != nil {
		t.Fatalf("CommitErr on a healthy store = %v", err)
	}
	big := strings.Repeat("x", 64<<10)
	var failed error
	for i := range 64 {
		_, _, err := db.Append(context.Background(), event(inc.ID, fmt.Sprintf("%d %s", i, big), t0.Add(time.Duration(i)*time.Second)))
		if err != nil {
			failed = err
			break
		}
	}
	if failed == nil {
		t.Fatal("64 appends of 64 KiB fit in a 256 KiB file")
	}
	if err := db.CommitErr(); err == nil {
		t.Errorf("CommitErr after %v = nil", failed)
	}
	if err := db.View(context.Background(), func(store.ReadTx) error { return nil }); err != nil {
		t.Errorf("reads stopped too: %v", err)
	}
	// Space comes back (reopened without the cap): nothing acknowledged
	// was lost, and commits succeed again.
	stored := len(timeline(t, db, inc.ID))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	if got := len(timeline(t, db, inc.ID)); got != stored {
		t.Errorf("%d entries after the disk came back, want %d", got, stored)
	}
	if _, _, err := db.Append(context.Background(), event(inc.ID, "small", t0)); err != nil || db.CommitErr() != nil {
		t.Errorf("append after the disk came back = %v, CommitErr %v", err, db.CommitErr())
	}
}
