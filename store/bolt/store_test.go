package bolt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	bbolt "go.etcd.io/bbolt"
)

// MustOpenDB opens a fresh database in a temporary directory. At cleanup it
// checks the file's consistency and closes it, like bbolt's btesting.
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

func TestIncidents(t *testing.T) {
	db := MustOpenDB(t)
	var want []string
	for _, title := range []string{"db latency", "login down", "disk full"} {
		want = append(want, declare(t, db, title).ID)
	}
	if want[0] != "INC-1" || want[2] != "INC-3" {
		t.Fatalf("IDs = %v, want INC-1..INC-3", want)
	}
	// Replacing the oldest must not move it to the end.
	mustUpdate(t, db, func(tx store.Tx) error {
		inc, err := tx.Incident("INC-1")
		if err != nil {
			return err
		}
		inc.Status = bot.StatusMitigated
		return tx.PutIncident(inc)
	})

	mustView(t, db, func(tx store.ReadTx) error {
		incs, err := tx.Incidents()
		if err != nil {
			return err
		}
		var got []string
		for _, inc := range incs {
			got = append(got, inc.ID)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Incidents() = %v, want %v", got, want)
		}
		inc, err := tx.Incident("inc-1")
		if err != nil {
			return err
		}
		if inc.Status != bot.StatusMitigated || inc.Title != "db latency" || inc.Roles[bot.Commander].Name != "ada" {
			t.Errorf("Incident(inc-1) = %+v", inc)
		}
		for _, id := range []string{"INC-9", "nonsense", ""} {
			_, err := tx.Incident(id)
			wantCode(t, fmt.Sprintf("Incident(%q)", id), err, bot.ENOTFOUND)
		}
		_, err = tx.Incident("INC-9")
		if got := bot.ErrorMessage(err); got != "No incident INC-9." {
			t.Errorf("Incident(INC-9) message = %q", got)
		}
		return nil
	})
}

func TestPutIncidentRejectsMismatchedID(t *testing.T) {
	db := MustOpenDB(t)
	err := db.Update(context.Background(), func(tx store.Tx) error {
		return tx.PutIncident(&bot.Incident{ID: "INC-2", Number: 3})
	})
	wantCode(t, "PutIncident(INC-2 #3)", err, bot.EINTERNAL)
}

func TestPutIncidentBumpsNumbers(t *testing.T) {
	db := MustOpenDB(t)
	mustUpdate(t, db, func(tx store.Tx) error {
		return tx.PutIncident(&bot.Incident{ID: "INC-41", Number: 41})
	})
	if got := declare(t, db, "next").Number; got != 42 {
		t.Errorf("number after importing INC-41 = %d, want 42", got)
	}
}

func TestChannels(t *testing.T) {
	db := MustOpenDB(t)
	inc := declare(t, db, "db latency")
	slack := bot.Channel{Platform: bot.Slack, ID: "C1"}
	mustUpdate(t, db, func(tx store.Tx) error { return tx.PutChannel(slack, inc.ID) })

	mustView(t, db, func(tx store.ReadTx) error {
		id, err := tx.IncidentByChannel(slack)
		if err != nil || id != inc.ID {
			t.Errorf("IncidentByChannel(%v) = %q, %v, want %q", slack, id, err, inc.ID)
		}
		// Same ID on another platform is another channel.
		other := bot.Channel{Platform: bot.Discord, ID: "C1"}
		_, err = tx.IncidentByChannel(other)
		wantCode(t, "IncidentByChannel(discord C1)", err, bot.ENOTFOUND)
		if got := bot.ErrorMessage(err); got != "This channel is not an incident channel." {
			t.Errorf("IncidentByChannel message = %q", got)
		}
		return nil
	})
	err := db.Update(context.Background(), func(tx store.Tx) error {
		return tx.PutChannel(bot.Channel{Platform: bot.Slack, ID: "C2"}, "INC-9")
	})
	wantCode(t, "PutChannel(INC-9)", err, bot.ENOTFOUND)
}

func TestTimelineOrder(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	inc := declare(t, db, "db latency")
	if got := timeline(t, db, inc.ID); got == nil || len(got) != 0 {
		t.Errorf("Timeline of a new incident = %#v, want empty", got)
	}

	// Same RecordedAt keeps insertion order (by Seq); earlier sorts first.
	for _, ev := range []bot.TimelineEvent{
		event(inc.ID, "b1", t0.Add(2*time.Second)),
		event(inc.ID, "a", t0.Add(time.Second)),
		event(inc.ID, "b2", t0.Add(2*time.Second)),
		event(inc.ID, "first", t0),
	} {
		if _, _, err := db.Append(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	mustUpdate(t, db, func(tx store.Tx) error {
		_, _, err := tx.AppendEvent(event(inc.ID, "b3", t0.Add(2*time.Second)))
		return err
	})
	got := timeline(t, db, inc.ID)
	if want := []string{"first", "a", "b1", "b2", "b3"}; !reflect.DeepEqual(texts(got), want) {
		t.Errorf("Timeline = %v, want %v", texts(got), want)
	}
	if got[2].Seq >= got[3].Seq || got[3].Seq >= got[4].Seq {
		t.Errorf("Seq of b1, b2, b3 = %d, %d, %d, want increasing", got[2].Seq, got[3].Seq, got[4].Seq)
	}

	err := db.View(ctx, func(tx store.ReadTx) error {
		_, err := tx.Timeline("INC-9")
		return err
	})
	wantCode(t, "Timeline(INC-9)", err, bot.ENOTFOUND)
}

func TestAppendReturnsStored(t *testing.T) {
	db := MustOpenDB(t)
	inc := declare(t, db, "db latency")
	in := event("inc-1", "hello", t0)
	in.PlatformAt = t0.Add(-time.Second)
	in.MessageID, in.URL, in.DedupeKey = "1700000000.000100", "https://x/y", "Ev1"
	stored, dup, err := db.Append(context.Background(), in)
	if err != nil || dup {
		t.Fatalf("Append = %v, %v", dup, err)
	}
	want := in
	want.IncidentID, want.Seq = inc.ID, 1
	if !reflect.DeepEqual(stored, want) {
		t.Errorf("Append returned\n%+v, want\n%+v", stored, want)
	}
	if got := timeline(t, db, inc.ID); len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Errorf("Timeline = %+v, want [%+v]", got, want)
	}
}

func TestAppendRefuses(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	inc := declare(t, db, "db latency")

	_, _, err := db.Append(ctx, event("INC-9", "x", t0))
	wantCode(t, "Append(INC-9)", err, bot.ENOTFOUND)
	_, _, err = db.Append(ctx, event("garbage", "x", t0))
	wantCode(t, "Append(garbage)", err, bot.ENOTFOUND)
	_, _, err = db.Append(ctx, event(inc.ID, "x", time.Time{}))
	wantCode(t, "Append(zero RecordedAt)", err, bot.EINTERNAL)
	err = db.Update(ctx, func(tx store.Tx) error {
		_, _, err := tx.AppendEvent(event("INC-9", "x", t0))
		return err
	})
	wantCode(t, "AppendEvent(INC-9)", err, bot.ENOTFOUND)

	if got := timeline(t, db, inc.ID); len(got) != 0 {
		t.Errorf("Timeline after refused appends = %v, want empty", texts(got))
	}
}

// A refused entry must not fail the others committed with it.
func TestAppendRefusalIsolatedInBatch(t *testing.T) {
	db := MustOpenDB(t)
	inc := declare(t, db, "db latency")
	var wg sync.WaitGroup
	errs := make([]error, 32)
	for i := range errs {
		wg.Go(func() {
			id := inc.ID
			if i%2 == 1 {
				id = "INC-9"
			}
			_, _, errs[i] = db.Append(context.Background(), event(id, fmt.Sprint(i), t0))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if want := map[bool]string{false: "", true: bot.ENOTFOUND}[i%2 == 1]; bot.ErrorCode(err) != want {
			t.Errorf("append %d: %v, want code %q", i, err, want)
		}
	}
	if got := len(timeline(t, db, inc.ID)); got != 16 {
		t.Errorf("timeline has %d entries, want 16", got)
	}
}

func TestAppendDedupe(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	inc := declare(t, db, "db latency")

	ev := event(inc.ID, "first delivery", t0)
	ev.DedupeKey = "Ev123"
	first, dup, err := db.Append(ctx, ev)
	if err != nil || dup {
		t.Fatalf("first Append: dup %v, %v", dup, err)
	}
	ev.Text, ev.RecordedAt = "redelivery", t0.Add(time.Minute)
	again, dup, err := db.Append(ctx, ev)
	if err != nil || !dup {
		t.Fatalf("second Append: dup %v, %v, want dup", dup, err)
	}
	if !reflect.DeepEqual(again, first) {
		t.Errorf("second Append returned\n%+v, want the first entry\n%+v", again, first)
	}

	// The same index serves AppendEvent, and a key first seen earlier in
	// the same transaction.
	mustUpdate(t, db, func(tx store.Tx) error {
		got, dup, err := tx.AppendEvent(ev)
		if err != nil || !dup || got.Seq != first.Seq {
			t.Errorf("AppendEvent(Ev123) = seq %d, dup %v, %v; want seq %d, dup", got.Seq, dup, err, first.Seq)
		}
		ev2 := event(inc.ID, "in tx", t0)
		ev2.DedupeKey = "Ev124"
		a, _, err := tx.AppendEvent(ev2)
		if err != nil {
			return err
		}
		ev2.Text = "in tx again"
		b, dup, err := tx.AppendEvent(ev2)
		if err != nil || !dup || b != a {
			t.Errorf("AppendEvent(Ev124) twice = %+v, %v, %v; want %+v, dup", b, dup, err, a)
		}
		return nil
	})
	if got, want := texts(timeline(t, db, inc.ID)), []string{"first delivery", "in tx"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Timeline = %v, want %v", got, want)
	}
}

func TestAppendDedupeConcurrent(t *testing.T) {
	db := MustOpenDB(t)
	inc := declare(t, db, "db latency")
	const n = 16
	type result struct {
		ev  bot.TimelineEvent
		dup bool
		err error
	}
	res := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ev := event(inc.ID, fmt.Sprint("delivery ", i), t0)
			ev.DedupeKey = "Ev-same"
			res[i].ev, res[i].dup, res[i].err = db.Append(context.Background(), ev)
		})
	}
	wg.Wait()
	fresh := 0
	for i, r := range res {
		if r.err != nil {
			t.Fatalf("append %d: %v", i, r.err)
		}
		if !r.dup {
			fresh++
		}
		if r.ev != res[0].ev {
			t.Errorf("append %d returned %+v, append 0 %+v", i, r.ev, res[0].ev)
		}
	}
	if fresh != 1 {
		t.Errorf("%d appends were not duplicates, want 1", fresh)
	}
	if got := timeline(t, db, inc.ID); len(got) != 1 {
		t.Errorf("timeline has %d entries, want 1", len(got))
	}
}

func TestAppendConcurrent(t *testing.T) {
	db := MustOpenDB(t)
	incs := []*bot.Incident{declare(t, db, "a"), declare(t, db, "b")}
	const writers, each = 64, 8
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				ev := event(incs[w%2].ID, fmt.Sprintf("w%d-%d", w, i), t0.Add(time.Duration(i)*time.Millisecond))
				ev.DedupeKey = fmt.Sprintf("Ev-w%d-%d", w, i)
				if _, dup, err := db.Append(context.Background(), ev); err != nil || dup {
					t.Errorf("Append(%s) = dup %v, %v", ev.Text, dup, err)
				}
			}
		})
	}
	wg.Wait()
	seen := map[string]int{}
	for _, inc := range incs {
		seqs := map[uint64]bool{}
		for _, ev := range timeline(t, db, inc.ID) {
			seen[ev.Text]++
			if seqs[ev.Seq] {
				t.Errorf("%s: seq %d twice", inc.ID, ev.Seq)
			}
			seqs[ev.Seq] = true
		}
	}
	if len(seen) != writers*each {
		t.Errorf("%d distinct entries, want %d", len(seen), writers*each)
	}
	for text, n := range seen {
		if n != 1 {
			t.Errorf("%s stored %d times", text, n)
		}
	}
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

func TestCancelledContext(t *testing.T) {
	db := MustOpenDB(t)
	inc := declare(t, db, "db latency")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := db.Append(ctx, event(inc.ID, "x", t0)); !errors.Is(err, context.Canceled) {
		t.Errorf("Append: %v, want context.Canceled", err)
	}
	called := false
	if err := db.Update(ctx, func(store.Tx) error { called = true; return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Update: %v, want context.Canceled", err)
	}
	if err := db.View(ctx, func(store.ReadTx) error { called = true; return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("View: %v, want context.Canceled", err)
	}
	if _, err := db.Backup(ctx, new(discard)); !errors.Is(err, context.Canceled) {
		t.Errorf("Backup: %v, want context.Canceled", err)
	}
	if called {
		t.Error("fn ran under a cancelled context")
	}
	if got := timeline(t, db, inc.ID); len(got) != 0 {
		t.Errorf("timeline = %v, want empty", texts(got))
	}
}

type discard struct{ n int }

func (d *discard) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }

func TestUserPrefs(t *testing.T) {
	db := MustOpenDB(t)
	mustView(t, db, func(tx store.ReadTx) error {
		p, err := tx.UserPrefs("slack:U1")
		if err != nil || p != (store.UserPrefs{Key: "slack:U1"}) {
			t.Errorf("UserPrefs of a stranger = %+v, %v", p, err)
		}
		return nil
	})
	want := store.UserPrefs{Key: "slack:U1", Zone: "Europe/Berlin", GitHub: "ada"}
	mustUpdate(t, db, func(tx store.Tx) error { return tx.PutUserPrefs(want) })
	mustView(t, db, func(tx store.ReadTx) error {
		if p, err := tx.UserPrefs("slack:U1"); err != nil || p != want {
			t.Errorf("UserPrefs = %+v, %v, want %+v", p, err, want)
		}
		return nil
	})
}

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

func TestOutbox(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	var added []store.Effect
	mustUpdate(t, db, func(tx store.Tx) error {
		for _, e := range []store.Effect{
			{Kind: "create_channel", Lane: "slack/INC-1", Platform: bot.Slack, Payload: json.RawMessage(`{"name":"inc-1-db"}`), CreatedAt: t0},
			{Kind: "post", Lane: "slack/INC-1", Platform: bot.Slack, Payload: json.RawMessage(`{"text":"hello"}`), Key: "custom"},
			{Kind: "pin", Lane: "slack/INC-1", Platform: bot.Slack, Payload: json.RawMessage(`{"message_id":"m1"}`)},
		} {
			e, err := tx.AddEffect(e)
			if err != nil {
				return err
			}
			added = append(added, e)
		}
		return nil
	})
	for i, want := range []struct {
		id  uint64
		key string
	}{{1, "effect-1"}, {2, "custom"}, {3, "effect-3"}} {
		if added[i].ID != want.id || added[i].Key != want.key {
			t.Errorf("effect %d: ID %d key %q, want %d %q", i, added[i].ID, added[i].Key, want.id, want.key)
		}
	}
	if got := effects(t, db); !reflect.DeepEqual(got, added) {
		t.Errorf("Effects = %+v, want %+v", got, added)
	}

	retry := added[1]
	retry.Attempts, retry.LastError, retry.NextAt = 1, "rate limited", t0.Add(time.Minute)
	mustUpdate(t, db, func(tx store.Tx) error {
		if err := tx.UpdateEffect(retry); err != nil {
			return err
		}
		if err := tx.DeleteEffect(added[0].ID); err != nil {
			return err
		}
		return tx.DeleteEffect(added[0].ID) // a repeated acknowledgement
	})
	if got, want := effects(t, db), []store.Effect{retry, added[2]}; !reflect.DeepEqual(got, want) {
		t.Errorf("Effects = %+v, want %+v", got, want)
	}
	if n, err := db.OutboxDepth(ctx); err != nil || n != 2 {
		t.Errorf("OutboxDepth = %d, %v, want 2", n, err)
	}
	err := db.Update(ctx, func(tx store.Tx) error { return tx.UpdateEffect(added[0]) })
	wantCode(t, "UpdateEffect(delivered)", err, bot.ENOTFOUND)

	// IDs are never reused, even after the newest is delivered.
	mustUpdate(t, db, func(tx store.Tx) error {
		if err := tx.DeleteEffect(added[2].ID); err != nil {
			return err
		}
		e, err := tx.AddEffect(store.Effect{Kind: "post"})
		if err == nil && e.ID != 4 {
			t.Errorf("next effect ID = %d, want 4", e.ID)
		}
		return err
	})
}

func due(tb testing.TB, db *DB, now time.Time) []string {
	tb.Helper()
	var keys []string
	mustView(tb, db, func(tx store.ReadTx) error {
		rs, err := tx.DueReminders(now)
		for _, r := range rs {
			keys = append(keys, r.Key)
		}
		return err
	})
	return keys
}

func TestReminders(t *testing.T) {
	db := MustOpenDB(t)
	rem := func(key string, in time.Duration) store.Reminder {
		return store.Reminder{Key: key, IncidentID: "INC-1", Kind: store.RemindStatus, Due: t0.Add(in)}
	}
	mustUpdate(t, db, func(tx store.Tx) error {
		for _, r := range []store.Reminder{rem("b", 2*time.Hour), rem("a", time.Hour), rem("c", 3*time.Hour)} {
			if err := tx.PutReminder(r); err != nil {
				return err
			}
		}
		return nil
	})
	for _, tc := range []struct {
		now  time.Duration
		want []string
	}{
		{0, nil},
		{time.Hour - 1, nil},
		{time.Hour, []string{"a"}},
		{2 * time.Hour, []string{"a", "b"}},
		{24 * time.Hour, []string{"a", "b", "c"}},
	} {
		if got := due(t, db, t0.Add(tc.now)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("DueReminders(t0+%v) = %v, want %v", tc.now, got, tc.want)
		}
	}

	// Moving "a" later must drop its old place in the due index.
	moved := rem("a", 4*time.Hour)
	moved.Count = 1
	mustUpdate(t, db, func(tx store.Tx) error {
		if err := tx.PutReminder(moved); err != nil {
			return err
		}
		if err := tx.DeleteReminder("c"); err != nil {
			return err
		}
		return tx.DeleteReminder("never-was")
	})
	if got, want := due(t, db, t0.Add(24*time.Hour)), []string{"b", "a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("DueReminders after move and delete = %v, want %v", got, want)
	}
	mustView(t, db, func(tx store.ReadTx) error {
		if r, ok, err := tx.Reminder("a"); err != nil || !ok || r != moved {
			t.Errorf("Reminder(a) = %+v, %v, %v, want %+v", r, ok, err, moved)
		}
		if _, ok, err := tx.Reminder("c"); err != nil || ok {
			t.Errorf("Reminder(c) after delete: ok %v, %v", ok, err)
		}
		return nil
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

func TestUpdateRollback(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	inc := declare(t, db, "db latency")
	refused := bot.Errorf(bot.ECONFLICT, "Cannot close INC-1.")
	err := db.Update(ctx, func(tx store.Tx) error {
		n, err := tx.NextIncidentNumber()
		if err != nil {
			return err
		}
		if err := tx.PutIncident(&bot.Incident{ID: bot.IncidentID(n), Number: n, Title: "ghost"}); err != nil {
			return err
		}
		inc.Status = bot.StatusClosed
		if err := tx.PutIncident(inc); err != nil {
			return err
		}
		if err := tx.PutChannel(bot.Channel{Platform: bot.Slack, ID: "C9"}, inc.ID); err != nil {
			return err
		}
		ev := event(inc.ID, "ghost", t0)
		ev.DedupeKey = "Ev-ghost"
		if _, _, err := tx.AppendEvent(ev); err != nil {
			return err
		}
		if _, err := tx.AddEffect(store.Effect{Kind: "post"}); err != nil {
			return err
		}
		if err := tx.PutReminder(store.Reminder{Key: "k", Due: t0}); err != nil {
			return err
		}
		if err := tx.PutUserPrefs(store.UserPrefs{Key: "slack:U1", Zone: "UTC"}); err != nil {
			return err
		}
		return refused
	})
	var got *bot.Error
	if !errors.As(err, &got) || got != refused {
		t.Fatalf("Update returned %v, want the *bot.Error from fn", err)
	}

	mustView(t, db, func(tx store.ReadTx) error {
		incs, err := tx.Incidents()
		if err != nil || len(incs) != 1 || incs[0].Status != bot.StatusInvestigating {
			t.Errorf("Incidents after rollback = %+v, %v", incs, err)
		}
		_, err = tx.IncidentByChannel(bot.Channel{Platform: bot.Slack, ID: "C9"})
		wantCode(t, "IncidentByChannel after rollback", err, bot.ENOTFOUND)
		if evs, err := tx.Timeline(inc.ID); err != nil || len(evs) != 0 {
			t.Errorf("Timeline after rollback = %v, %v", texts(evs), err)
		}
		if effs, err := tx.Effects(); err != nil || len(effs) != 0 {
			t.Errorf("Effects after rollback = %+v, %v", effs, err)
		}
		if rs, err := tx.DueReminders(t0.Add(time.Hour)); err != nil || len(rs) != 0 {
			t.Errorf("DueReminders after rollback = %+v, %v", rs, err)
		}
		if p, err := tx.UserPrefs("slack:U1"); err != nil || p.Zone != "" {
			t.Errorf("UserPrefs after rollback = %+v, %v", p, err)
		}
		return nil
	})
	// The rolled-back dedupe key must not swallow the real delivery.
	ev := event(inc.ID, "real", t0)
	ev.DedupeKey = "Ev-ghost"
	if _, dup, err := db.Append(ctx, ev); err != nil || dup {
		t.Errorf("Append(Ev-ghost) after rollback: dup %v, %v", dup, err)
	}
	if n, err := db.OutboxDepth(ctx); err != nil || n != 0 {
		t.Errorf("OutboxDepth = %d, %v, want 0", n, err)
	}
}

func TestViewIsReadOnly(t *testing.T) {
	db := MustOpenDB(t)
	err := db.View(context.Background(), func(rtx store.ReadTx) error {
		_, err := rtx.(store.Tx).AddEffect(store.Effect{})
		return err
	})
	if err == nil {
		t.Error("AddEffect in View succeeded")
	}
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

// TestMeta stores bookkeeping values (the GitHub sync cursor) that survive a
// reopen, roll back with their transaction, and cannot touch the schema.
func TestMeta(t *testing.T) {
	path := filepath.Join(t.TempDir(), "debrief.db")
	db := mustOpen(t, path)
	mustView(t, db, func(tx store.ReadTx) error {
		if v, ok, err := tx.Meta("github/cursor"); err != nil || ok || v != "" {
			t.Errorf("Meta of a missing key = %q, %v, %v", v, ok, err)
		}
		return nil
	})
	mustUpdate(t, db, func(tx store.Tx) error { return tx.PutMeta("github/cursor", "2026-03-02T10:00:00Z") })
	mustUpdate(t, db, func(tx store.Tx) error { return tx.PutMeta("schema", "not the schema") })
	boom := errors.New("boom")
	err := db.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.PutMeta("github/cursor", "rolled back"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = mustOpen(t, path) // the schema check passes: "schema" is the store's own key
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
