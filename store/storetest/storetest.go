// Package storetest is the storage contract's test suite: what every
// store.Store must do, written once against the interfaces in package store
// and run by each implementation's tests, the way litestream runs one suite
// against every replica client. store/bolt runs it on bbolt; a store on
// etcd runs the same suite.
//
// It tests only what the contract documents and a caller can see through
// store.Store, store.Tx and store.ReadTx. What belongs to one
// implementation (file layout, locking, schema versions, group commit,
// Close, backups, reopening a file) is tested beside that implementation.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
)

// Run runs the contract suite, each test as a subtest with a store of its
// own from open. open must return a new, empty store, and arrange with
// t.Cleanup to close it (and, where the implementation can, to check its
// consistency).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	for _, tc := range []struct {
		name string
		test func(t *testing.T, s store.Store)
	}{
		{"Incidents", testIncidents},
		{"IncidentNumbers", testIncidentNumbers},
		{"Channels", testChannels},
		{"TimelineOrder", testTimelineOrder},
		{"TimelinePages", testTimelinePages},
		{"TimelineCursors", testTimelineCursors},
		{"IncidentsAfter", testIncidentsAfter},
		{"IncidentsAfterOddValues", testIncidentsAfterOddValues},
		{"TimelineKeysAfter", testTimelineKeysAfter},
		{"CursorsSeeOwnWrites", testCursorsSeeOwnWrites},
		{"AppendReturnsStored", testAppendReturnsStored},
		{"AppendRefuses", testAppendRefuses},
		{"AppendRefusalIsolated", testAppendRefusalIsolated},
		{"AppendConcurrent", testAppendConcurrent},
		{"Dedupe", testDedupe},
		{"DedupeAcrossIncidents", testDedupeAcrossIncidents},
		{"DedupeConcurrent", testDedupeConcurrent},
		{"CancelledContext", testCancelledContext},
		{"UserPrefs", testUserPrefs},
		{"Outbox", testOutbox},
		{"Reminders", testReminders},
		{"Meta", testMeta},
		{"Gamedays", testGamedays},
		{"Remember", testRemember},
		{"Rollback", testRollback},
		{"ViewIsReadOnly", testViewIsReadOnly},
		{"WeakSignals", testWeakSignals},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, open(t)) })
	}
}

// t0 is the suite's clock: stores take times from their callers, never
// from time.Now.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC)

func update(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func view(t *testing.T, s store.Store, fn func(store.ReadTx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// declare stores a new incident the way workflows does: the next number,
// then PutIncident.
func declare(t *testing.T, s store.Store, title string) *bot.Incident {
	t.Helper()
	var inc *bot.Incident
	update(t, s, func(tx store.Tx) error {
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

func timeline(t *testing.T, s store.Store, id string) []bot.TimelineEvent {
	t.Helper()
	var evs []bot.TimelineEvent
	view(t, s, func(tx store.ReadTx) error {
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

func testIncidents(t *testing.T, s store.Store) {
	var want []string
	for _, title := range []string{"db latency", "login down", "disk full"} {
		want = append(want, declare(t, s, title).ID)
	}
	if want[0] != "INC-1" || want[2] != "INC-3" {
		t.Fatalf("IDs = %v, want INC-1..INC-3", want)
	}
	// Replacing the oldest must not move it to the end.
	update(t, s, func(tx store.Tx) error {
		inc, err := tx.Incident("INC-1")
		if err != nil {
			return err
		}
		inc.Status = bot.StatusMitigated
		return tx.PutIncident(inc)
	})

	view(t, s, func(tx store.ReadTx) error {
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
		// IDs are read as bot.ParseIncidentID reads them.
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

// testIncidentNumbers: numbers count 1, 2, 3; one taken by a transaction
// that rolls back is handed out again; one stored from elsewhere (an
// import) is never handed out again.
func testIncidentNumbers(t *testing.T, s store.Store) {
	if got := declare(t, s, "first").Number; got != 1 {
		t.Errorf("first number = %d, want 1", got)
	}
	boom := errors.New("boom")
	err := s.Update(context.Background(), func(tx store.Tx) error {
		n, err := tx.NextIncidentNumber()
		if err != nil {
			return err
		}
		if n != 2 {
			t.Errorf("second number = %d, want 2", n)
		}
		if err := tx.PutIncident(&bot.Incident{ID: bot.IncidentID(n), Number: n, Title: "ghost"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want the error from fn", err)
	}
	if got := declare(t, s, "second").Number; got != 2 {
		t.Errorf("number after a rolled-back declare = %d, want 2 again", got)
	}
	update(t, s, func(tx store.Tx) error {
		return tx.PutIncident(&bot.Incident{ID: "INC-41", Number: 41, Title: "imported"})
	})
	if got := declare(t, s, "next").Number; got != 42 {
		t.Errorf("number after importing INC-41 = %d, want 42", got)
	}
}

func testChannels(t *testing.T, s store.Store) {
	inc := declare(t, s, "db latency")
	slack := bot.Channel{Platform: bot.Slack, ID: "C1"}
	update(t, s, func(tx store.Tx) error { return tx.PutChannel(slack, inc.ID) })

	view(t, s, func(tx store.ReadTx) error {
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
	err := s.Update(context.Background(), func(tx store.Tx) error {
		return tx.PutChannel(bot.Channel{Platform: bot.Slack, ID: "C2"}, "INC-9")
	})
	wantCode(t, "PutChannel(INC-9)", err, bot.ENOTFOUND)
}

func testTimelineOrder(t *testing.T, s store.Store) {
	ctx := context.Background()
	inc := declare(t, s, "db latency")
	if got := timeline(t, s, inc.ID); got == nil || len(got) != 0 {
		t.Errorf("Timeline of a new incident = %#v, want empty, not nil", got)
	}

	// Same RecordedAt keeps insertion order (by Seq); earlier sorts first,
	// whichever way it was appended.
	for _, ev := range []bot.TimelineEvent{
		event(inc.ID, "b1", t0.Add(2*time.Second)),
		event(inc.ID, "a", t0.Add(time.Second)),
		event(inc.ID, "b2", t0.Add(2*time.Second)),
		event(inc.ID, "first", t0),
	} {
		if _, _, err := s.Append(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	update(t, s, func(tx store.Tx) error {
		_, _, err := tx.AppendEvent(event(inc.ID, "b3", t0.Add(2*time.Second)))
		return err
	})
	got := timeline(t, s, inc.ID)
	if want := []string{"first", "a", "b1", "b2", "b3"}; !reflect.DeepEqual(texts(got), want) {
		t.Fatalf("Timeline = %v, want %v", texts(got), want)
	}
	if got[2].Seq >= got[3].Seq || got[3].Seq >= got[4].Seq {
		t.Errorf("Seq of b1, b2, b3 = %d, %d, %d, want increasing", got[2].Seq, got[3].Seq, got[4].Seq)
	}

	err := s.View(ctx, func(tx store.ReadTx) error {
		_, err := tx.Timeline("INC-9")
		return err
	})
	wantCode(t, "Timeline(INC-9)", err, bot.ENOTFOUND)
}

// testAppendReturnsStored: Append answers with the entry as stored (Seq
// set, the incident ID canonical), and the timeline reads back the same,
// DedupeKey included.
func testAppendReturnsStored(t *testing.T, s store.Store) {
	inc := declare(t, s, "db latency")
	in := event("inc-1", "hello", t0)
	in.PlatformAt = t0.Add(-time.Second)
	in.MessageID, in.URL, in.DedupeKey = "1700000000.000100", "https://x/y", "Ev1"
	stored, dup, err := s.Append(context.Background(), in)
	if err != nil || dup {
		t.Fatalf("Append = dup %v, %v", dup, err)
	}
	if stored.Seq == 0 {
		t.Errorf("Append returned Seq 0, want the Seq the store assigned")
	}
	want := in
	want.IncidentID, want.Seq = inc.ID, stored.Seq
	if !reflect.DeepEqual(stored, want) {
		t.Errorf("Append returned\n%+v, want\n%+v", stored, want)
	}
	if got := timeline(t, s, inc.ID); len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Errorf("Timeline = %+v, want [%+v]", got, want)
	}
}

func testAppendRefuses(t *testing.T, s store.Store) {
	ctx := context.Background()
	inc := declare(t, s, "db latency")

	_, _, err := s.Append(ctx, event("INC-9", "x", t0))
	wantCode(t, "Append(INC-9)", err, bot.ENOTFOUND)
	_, _, err = s.Append(ctx, event("garbage", "x", t0))
	wantCode(t, "Append(garbage)", err, bot.ENOTFOUND)
	// An entry without a time is a bug in the caller, not the user's
	// mistake: an internal error.
	_, _, err = s.Append(ctx, event(inc.ID, "x", time.Time{}))
	wantCode(t, "Append(zero RecordedAt)", err, bot.EINTERNAL)
	err = s.Update(ctx, func(tx store.Tx) error {
		_, _, err := tx.AppendEvent(event("INC-9", "x", t0))
		return err
	})
	wantCode(t, "AppendEvent(INC-9)", err, bot.ENOTFOUND)

	if got := timeline(t, s, inc.ID); len(got) != 0 {
		t.Errorf("Timeline after refused appends = %v, want empty", texts(got))
	}
}

// testAppendRefusalIsolated: concurrent appends may share a commit; one
// refused must not fail the others.
func testAppendRefusalIsolated(t *testing.T, s store.Store) {
	inc := declare(t, s, "db latency")
	var wg sync.WaitGroup
	errs := make([]error, 32)
	for i := range errs {
		wg.Go(func() {
			id := inc.ID
			if i%2 == 1 {
				id = "INC-9"
			}
			_, _, errs[i] = s.Append(context.Background(), event(id, fmt.Sprint(i), t0))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if want := map[bool]string{false: "", true: bot.ENOTFOUND}[i%2 == 1]; bot.ErrorCode(err) != want {
			t.Errorf("append %d: %v, want code %q", i, err, want)
		}
	}
	if got := len(timeline(t, s, inc.ID)); got != 16 {
		t.Errorf("timeline has %d entries, want 16", got)
	}
}

// testAppendConcurrent: every acknowledged append is stored once, with a
// Seq of its own within its incident.
func testAppendConcurrent(t *testing.T, s store.Store) {
	incs := []*bot.Incident{declare(t, s, "a"), declare(t, s, "b")}
	const writers, each = 64, 8
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				ev := event(incs[w%2].ID, fmt.Sprintf("w%d-%d", w, i), t0.Add(time.Duration(i)*time.Millisecond))
				ev.DedupeKey = fmt.Sprintf("Ev-w%d-%d", w, i)
				if _, dup, err := s.Append(context.Background(), ev); err != nil || dup {
					t.Errorf("Append(%s) = dup %v, %v", ev.Text, dup, err)
				}
			}
		})
	}
	wg.Wait()
	seen := map[string]int{}
	for _, inc := range incs {
		seqs := map[uint64]bool{}
		for _, ev := range timeline(t, s, inc.ID) {
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

// testDedupe: a redelivery (same DedupeKey) writes nothing and is answered
// with the entry first stored, through Append and AppendEvent alike, even
// when the first delivery is earlier in the same transaction.
func testDedupe(t *testing.T, s store.Store) {
	ctx := context.Background()
	inc := declare(t, s, "db latency")

	ev := event(inc.ID, "first delivery", t0)
	ev.DedupeKey = "Ev123"
	first, dup, err := s.Append(ctx, ev)
	if err != nil || dup {
		t.Fatalf("first Append: dup %v, %v", dup, err)
	}
	ev.Text, ev.RecordedAt = "redelivery", t0.Add(time.Minute)
	again, dup, err := s.Append(ctx, ev)
	if err != nil || !dup {
		t.Fatalf("second Append: dup %v, %v, want dup", dup, err)
	}
	if !reflect.DeepEqual(again, first) {
		t.Errorf("second Append returned\n%+v, want the first entry\n%+v", again, first)
	}

	update(t, s, func(tx store.Tx) error {
		got, dup, err := tx.AppendEvent(ev)
		if err != nil || !dup || !reflect.DeepEqual(got, first) {
			t.Errorf("AppendEvent(Ev123) = %+v, dup %v, %v; want %+v, dup", got, dup, err, first)
		}
		ev2 := event(inc.ID, "in tx", t0)
		ev2.DedupeKey = "Ev124"
		a, _, err := tx.AppendEvent(ev2)
		if err != nil {
			return err
		}
		ev2.Text = "in tx again"
		b, dup, err := tx.AppendEvent(ev2)
		if err != nil || !dup || !reflect.DeepEqual(b, a) {
			t.Errorf("AppendEvent(Ev124) twice = %+v, %v, %v; want %+v, dup", b, dup, err, a)
		}
		return nil
	})
	if got, want := texts(timeline(t, s, inc.ID)), []string{"first delivery", "in tx"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Timeline = %v, want %v", got, want)
	}
}

// testDedupeAcrossIncidents: a platform event is stored once however it
// comes back, even naming another incident (a message moved, a channel
// remapped): the check spans every incident.
func testDedupeAcrossIncidents(t *testing.T, s store.Store) {
	ctx := context.Background()
	one, two := declare(t, s, "one"), declare(t, s, "two")
	ev := event(one.ID, "said in one", t0)
	ev.DedupeKey = "C1/1700000000.000100"
	first, _, err := s.Append(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	ev.IncidentID, ev.Text = two.ID, "again, for two"
	got, dup, err := s.Append(ctx, ev)
	if err != nil || !dup || !reflect.DeepEqual(got, first) {
		t.Errorf("Append to %s of a key stored for %s = %+v, dup %v, %v; want %+v, dup", two.ID, one.ID, got, dup, err, first)
	}
	update(t, s, func(tx store.Tx) error {
		got, dup, err := tx.AppendEvent(ev)
		if err != nil || !dup || !reflect.DeepEqual(got, first) {
			t.Errorf("AppendEvent to %s of a key stored for %s = %+v, dup %v, %v; want %+v, dup", two.ID, one.ID, got, dup, err, first)
		}
		return nil
	})
	if got := timeline(t, s, two.ID); len(got) != 0 {
		t.Errorf("Timeline(%s) = %v, want empty", two.ID, texts(got))
	}
	if got := timeline(t, s, one.ID); len(got) != 1 {
		t.Errorf("Timeline(%s) = %v, want one entry", one.ID, texts(got))
	}
}

// testDedupeConcurrent: redeliveries racing the first delivery store one
// entry, and all of them are answered with it.
func testDedupeConcurrent(t *testing.T, s store.Store) {
	inc := declare(t, s, "db latency")
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
			res[i].ev, res[i].dup, res[i].err = s.Append(context.Background(), ev)
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
		if !reflect.DeepEqual(r.ev, res[0].ev) {
			t.Errorf("append %d returned %+v, append 0 %+v", i, r.ev, res[0].ev)
		}
	}
	if fresh != 1 {
		t.Errorf("%d appends were not duplicates, want 1", fresh)
	}
	if got := timeline(t, s, inc.ID); len(got) != 1 {
		t.Errorf("timeline has %d entries, want 1", len(got))
	}
}

// testCancelledContext: nothing runs, and nothing is stored, under a
// context that has already ended.
func testCancelledContext(t *testing.T, s store.Store) {
	inc := declare(t, s, "db latency")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.Append(ctx, event(inc.ID, "x", t0)); !errors.Is(err, context.Canceled) {
		t.Errorf("Append: %v, want context.Canceled", err)
	}
	called := false
	if err := s.Update(ctx, func(store.Tx) error { called = true; return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Update: %v, want context.Canceled", err)
	}
	if err := s.View(ctx, func(store.ReadTx) error { called = true; return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("View: %v, want context.Canceled", err)
	}
	if called {
		t.Error("fn ran under a cancelled context")
	}
	if got := timeline(t, s, inc.ID); len(got) != 0 {
		t.Errorf("timeline = %v, want empty", texts(got))
	}
}

func testUserPrefs(t *testing.T, s store.Store) {
	view(t, s, func(tx store.ReadTx) error {
		p, err := tx.UserPrefs("slack:U1")
		if err != nil || p != (store.UserPrefs{Key: "slack:U1"}) {
			t.Errorf("UserPrefs of a stranger = %+v, %v, want the zero value with its key", p, err)
		}
		return nil
	})
	want := store.UserPrefs{Key: "slack:U1", Zone: "Europe/Berlin", GitHub: "ada"}
	update(t, s, func(tx store.Tx) error { return tx.PutUserPrefs(want) })
	changed := want
	changed.Zone = "Asia/Kolkata"
	update(t, s, func(tx store.Tx) error { return tx.PutUserPrefs(changed) })
	view(t, s, func(tx store.ReadTx) error {
		if p, err := tx.UserPrefs("slack:U1"); err != nil || p != changed {
			t.Errorf("UserPrefs = %+v, %v, want %+v", p, err, changed)
		}
		// Keys are per platform.
		if p, err := tx.UserPrefs("discord:U1"); err != nil || p.Zone != "" {
			t.Errorf("UserPrefs(discord:U1) = %+v, %v, want nothing set", p, err)
		}
		return nil
	})
}

func effects(t *testing.T, s store.Store) []store.Effect {
	t.Helper()
	var effs []store.Effect
	view(t, s, func(tx store.ReadTx) error {
		var err error
		effs, err = tx.Effects()
		return err
	})
	return effs
}

// testOutbox holds every test of the outbox record: IDs and keys assigned
// in order, every field kept, update and delete (repeatable), IDs never
// reused. It is the one place to adapt when the record changes shape.
func testOutbox(t *testing.T, s store.Store) {
	ctx := context.Background()
	var added []store.Effect
	update(t, s, func(tx store.Tx) error {
		for _, e := range []store.Effect{
			{Kind: "create_channel", Lane: "slack/INC-1", Platform: bot.Slack, Payload: json.RawMessage(`{"name":"inc-1-db"}`), CreatedAt: t0},
			{Kind: "post", Lane: "slack/INC-1", Platform: bot.Slack, Payload: json.RawMessage(`{"text":"hello"}`), Key: "custom"},
			// Every field of the envelope set, so that none is lost on
			// the way.
			{
				Kind: "file_issue", Lane: "github/INC-1", Platform: bot.Slack, IncidentID: "INC-1", ChannelID: "C1",
				Key: "INC-1#2", Payload: json.RawMessage(`{"n":2,"issue":{"title":"[INC-1] add a canary"}}`), Sent: true,
				CreatedAt: t0, Attempts: 1, NextAt: t0.Add(time.Minute), LastError: "rate limited",
			},
		} {
			e, err := tx.AddEffect(e)
			if err != nil {
				return err
			}
			added = append(added, e)
		}
		return nil
	})
	// IDs grow in the order effects are added (Effects lists them in that
	// order); an effect without a key is keyed by its ID.
	if !(0 < added[0].ID && added[0].ID < added[1].ID && added[1].ID < added[2].ID) {
		t.Errorf("effect IDs = %d, %d, %d, want increasing from 1", added[0].ID, added[1].ID, added[2].ID)
	}
	for i, want := range []string{fmt.Sprint("effect-", added[0].ID), "custom", "INC-1#2"} {
		if added[i].Key != want {
			t.Errorf("effect %d: key %q, want %q", i, added[i].Key, want)
		}
	}
	if got := effects(t, s); !reflect.DeepEqual(got, added) {
		t.Errorf("Effects = %+v, want %+v", got, added)
	}

	retry := added[1]
	retry.Attempts, retry.LastError, retry.NextAt = 1, "rate limited", t0.Add(time.Minute)
	update(t, s, func(tx store.Tx) error {
		if err := tx.UpdateEffect(retry); err != nil {
			return err
		}
		if err := tx.DeleteEffect(added[0].ID); err != nil {
			return err
		}
		return tx.DeleteEffect(added[0].ID) // a repeated acknowledgement
	})
	if got, want := effects(t, s), []store.Effect{retry, added[2]}; !reflect.DeepEqual(got, want) {
		t.Errorf("Effects after update and delete = %+v, want %+v", got, want)
	}
	err := s.Update(ctx, func(tx store.Tx) error { return tx.UpdateEffect(added[0]) })
	wantCode(t, "UpdateEffect(delivered)", err, bot.ENOTFOUND)

	// IDs are never reused, even after the newest is delivered: a reused
	// ID would reuse the key "effect-<ID>", and the far side would take a
	// new request for a retry of the old one.
	update(t, s, func(tx store.Tx) error {
		if err := tx.DeleteEffect(added[2].ID); err != nil {
			return err
		}
		e, err := tx.AddEffect(store.Effect{Kind: "post", Lane: "slack/INC-1"})
		if err == nil && e.ID <= added[2].ID {
			t.Errorf("next effect ID = %d, want more than %d", e.ID, added[2].ID)
		}
		return err
	})
}

func due(t *testing.T, s store.Store, now time.Time) []string {
	t.Helper()
	var keys []string
	view(t, s, func(tx store.ReadTx) error {
		rs, err := tx.DueReminders(now)
		for _, r := range rs {
			keys = append(keys, r.Key)
		}
		return err
	})
	return keys
}

// testReminders: DueReminders lists what is due at or before now, earliest
// first; moving or deleting a reminder moves or drops it from that list.
func testReminders(t *testing.T, s store.Store) {
	rem := func(key string, in time.Duration) store.Reminder {
		return store.Reminder{Key: key, IncidentID: "INC-1", Kind: store.RemindStatus, Due: t0.Add(in)}
	}
	update(t, s, func(tx store.Tx) error {
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
		if got := due(t, s, t0.Add(tc.now)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("DueReminders(t0+%v) = %v, want %v", tc.now, got, tc.want)
		}
	}

	moved := rem("a", 4*time.Hour)
	moved.Count, moved.Escalated = 1, true
	update(t, s, func(tx store.Tx) error {
		if err := tx.PutReminder(moved); err != nil {
			return err
		}
		if err := tx.DeleteReminder("c"); err != nil {
			return err
		}
		return tx.DeleteReminder("never-was")
	})
	if got, want := due(t, s, t0.Add(24*time.Hour)), []string{"b", "a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("DueReminders after move and delete = %v, want %v", got, want)
	}
	if got := due(t, s, t0.Add(time.Hour)); got != nil {
		t.Errorf("DueReminders(t0+1h) after moving a to t0+4h = %v, want none", got)
	}
	view(t, s, func(tx store.ReadTx) error {
		if r, ok, err := tx.Reminder("a"); err != nil || !ok || !reflect.DeepEqual(r, moved) {
			t.Errorf("Reminder(a) = %+v, %v, %v, want %+v", r, ok, err, moved)
		}
		if _, ok, err := tx.Reminder("c"); err != nil || ok {
			t.Errorf("Reminder(c) after delete: ok %v, %v", ok, err)
		}
		return nil
	})
}

// testMeta: bookkeeping values are read back, replaced, and roll back with
// their transaction.
func testMeta(t *testing.T, s store.Store) {
	view(t, s, func(tx store.ReadTx) error {
		if v, ok, err := tx.Meta("github/cursor"); err != nil || ok || v != "" {
			t.Errorf("Meta of a missing key = %q, %v, %v", v, ok, err)
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error { return tx.PutMeta("github/cursor", "2026-03-01T10:00:00Z") })
	update(t, s, func(tx store.Tx) error { return tx.PutMeta("github/cursor", "2026-03-02T10:00:00Z") })
	boom := errors.New("boom")
	err := s.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.PutMeta("github/cursor", "rolled back"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want the error from fn", err)
	}
	view(t, s, func(tx store.ReadTx) error {
		if v, ok, err := tx.Meta("github/cursor"); err != nil || !ok || v != "2026-03-02T10:00:00Z" {
			t.Errorf("Meta = %q, %v, %v, want the last committed value", v, ok, err)
		}
		return nil
	})
}

// testGamedays: game days come back by number, whole (times and the plan
// included), replaced in place, and roll back with their transaction.
func testGamedays(t *testing.T, s store.Store) {
	view(t, s, func(tx store.ReadTx) error {
		if gs, err := tx.Gamedays(); err != nil || len(gs) != 0 {
			t.Errorf("Gamedays of an empty store = %v, %v", gs, err)
		}
		return nil
	})
	gd := func(n int, title string) store.Gameday {
		return store.Gameday{
			ID: fmt.Sprintf("GD-%d", n), Number: n, Title: title, Start: t0.Add(time.Duration(n) * 24 * time.Hour),
			Duration: 2 * time.Hour, Zone: "Europe/Berlin",
			Plan:        bot.DrillPlan{Hypothesis: "checkout keeps working", Fault: "kill the primary"},
			ScheduledBy: bot.User{Platform: bot.Slack, ID: "U1", Name: "alice"}, Origin: bot.Channel{Platform: bot.Slack, ID: "C1"},
			Participants: []bot.User{{Platform: bot.Slack, ID: "U2", Name: "bob"}}, ScheduledAt: t0,
		}
	}
	// Put out of order, and number 10 after 9: the order is numeric.
	for _, n := range []int{10, 2, 1, 9} {
		update(t, s, func(tx store.Tx) error { return tx.PutGameday(gd(n, "drill")) })
	}
	opened := gd(2, "drill")
	opened.IncidentID, opened.RemindedDay, opened.RemindedHour = "INC-4", true, true
	update(t, s, func(tx store.Tx) error { return tx.PutGameday(opened) })
	boom := errors.New("boom")
	if err := s.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.PutGameday(gd(3, "rolled back")); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want the error from fn", err)
	}
	update(t, s, func(tx store.Tx) error {
		if err := tx.PutGameday(store.Gameday{ID: "GD-0"}); err == nil {
			t.Error("PutGameday of number 0 succeeded")
		}
		return nil
	})
	view(t, s, func(tx store.ReadTx) error {
		gs, err := tx.Gamedays()
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, g := range gs {
			ids = append(ids, g.ID)
		}
		if want := []string{"GD-1", "GD-2", "GD-9", "GD-10"}; !reflect.DeepEqual(ids, want) {
			t.Fatalf("Gamedays = %v, want %v", ids, want)
		}
		if got := gs[1]; got.IncidentID != "INC-4" || !got.RemindedHour || got.Plan != opened.Plan || !got.Start.Equal(opened.Start) ||
			len(got.Participants) != 1 || got.Participants[0] != opened.Participants[0] {
			t.Errorf("Gamedays[1] = %+v, want %+v", got, opened)
		}
		return nil
	})
}

// testRollback: when fn fails, none of its writes happen, and fn's error
// comes back as it was, so that a *bot.Error keeps its code and message.
func testRollback(t *testing.T, s store.Store) {
	ctx := context.Background()
	inc := declare(t, s, "db latency")
	refused := bot.Errorf(bot.ECONFLICT, "Cannot close INC-1.")
	err := s.Update(ctx, func(tx store.Tx) error {
		n, err := tx.NextIncidentNumber()
		if err != nil {
			return err
		}
		if err := tx.PutIncident(&bot.Incident{ID: bot.IncidentID(n), Number: n, Title: "ghost"}); err != nil {
			return err
		}
		closed := *inc
		closed.Status = bot.StatusClosed
		if err := tx.PutIncident(&closed); err != nil {
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
		if _, err := tx.AddEffect(store.Effect{Kind: "post", Lane: "slack/INC-1"}); err != nil {
			return err
		}
		if err := tx.PutReminder(store.Reminder{Key: "k", Due: t0}); err != nil {
			return err
		}
		if err := tx.PutUserPrefs(store.UserPrefs{Key: "slack:U1", Zone: "UTC"}); err != nil {
			return err
		}
		if err := tx.PutMeta("k", "v"); err != nil {
			return err
		}
		return refused
	})
	var got *bot.Error
	if !errors.As(err, &got) || got != refused {
		t.Fatalf("Update returned %v, want the *bot.Error from fn", err)
	}

	view(t, s, func(tx store.ReadTx) error {
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
		if _, ok, err := tx.Meta("k"); err != nil || ok {
			t.Errorf("Meta after rollback: ok %v, %v", ok, err)
		}
		return nil
	})
	// The rolled-back dedupe key must not swallow the real delivery.
	ev := event(inc.ID, "real", t0)
	ev.DedupeKey = "Ev-ghost"
	if _, dup, err := s.Append(ctx, ev); err != nil || dup {
		t.Errorf("Append(Ev-ghost) after rollback: dup %v, %v; want stored", dup, err)
	}
}

// testViewIsReadOnly: a View cannot write, even through a ReadTx that also
// has Tx's methods.
func testViewIsReadOnly(t *testing.T, s store.Store) {
	var wrote bool
	err := s.View(context.Background(), func(rtx store.ReadTx) error {
		if tx, ok := rtx.(store.Tx); ok {
			wrote = tx.PutMeta("k", "written in a View") == nil
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if wrote {
		t.Error("PutMeta in a View succeeded")
	}
}

// testRemember: a key is seen until it expires, then new again; expired
// keys are forgotten; what a rolled-back transaction remembered is not;
// and it survives in the store (a restart is the implementation's test).
func testRemember(t *testing.T, s store.Store) {
	remember := func(key string, now, expires time.Time) bool {
		t.Helper()
		var seen bool
		update(t, s, func(tx store.Tx) error {
			var err error
			seen, err = tx.Remember(key, now, expires)
			return err
		})
		return seen
	}
	window := 5 * time.Minute
	if remember("slack/sig/a", t0, t0.Add(window)) {
		t.Error("a new key was seen")
	}
	if !remember("slack/sig/a", t0.Add(time.Minute), t0.Add(time.Minute+window)) {
		t.Error("a key remembered a minute ago was not seen")
	}
	if remember("slack/sig/b", t0.Add(time.Minute), t0.Add(time.Minute+window)) {
		t.Error("another key was seen")
	}
	// At its expiry a key is new again, and remembered anew.
	if remember("slack/sig/a", t0.Add(window), t0.Add(2*window)) {
		t.Error("an expired key was seen")
	}
	if !remember("slack/sig/a", t0.Add(window+time.Second), t0.Add(2*window)) {
		t.Error("a key remembered anew was not seen")
	}
	// Many expired keys are forgotten as later calls go, and none of
	// them is seen.
	for i := range 50 {
		remember(fmt.Sprintf("discord/%d", i), t0, t0.Add(time.Second))
	}
	later := t0.Add(time.Hour)
	for i := range 50 {
		if remember(fmt.Sprintf("discord/%d", i), later, later.Add(window)) {
			t.Errorf("discord/%d: expired but seen", i)
		}
	}
	// A rolled-back transaction remembers nothing.
	boom := errors.New("boom")
	err := s.Update(context.Background(), func(tx store.Tx) error {
		if _, err := tx.Remember("rolled/back", t0, t0.Add(window)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want boom", err)
	}
	if remember("rolled/back", t0, t0.Add(window)) {
		t.Error("a key remembered by a rolled-back transaction was seen")
	}
	err = s.Update(context.Background(), func(tx store.Tx) error {
		_, err := tx.Remember("", t0, t0.Add(window))
		return err
	})
	if err == nil {
		t.Error("Remember with an empty key succeeded")
	}
}

// testTimelinePages: TimelinePage cuts the timeline in Timeline's order
// with its total; TimelineSince follows Seq (commit order), whatever the
// RecordedAt; TimelineLens names every incident with its length.
func testTimelinePages(t *testing.T, s store.Store) {
	ctx := context.Background()
	inc := declare(t, s, "db latency")
	empty := declare(t, s, "quiet")
	// Appended out of time order: Seq 1..5 are c, a, e, b, d.
	for _, ev := range []bot.TimelineEvent{
		event(inc.ID, "c", t0.Add(3*time.Second)),
		event(inc.ID, "a", t0.Add(1*time.Second)),
		event(inc.ID, "e", t0.Add(5*time.Second)),
		event(inc.ID, "b", t0.Add(2*time.Second)),
		event(inc.ID, "d", t0.Add(4*time.Second)),
	} {
		if _, _, err := s.Append(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	view(t, s, func(tx store.ReadTx) error {
		for _, tc := range []struct {
			offset, limit int
			want          []string
		}{
			{0, 2, []string{"a", "b"}},
			{2, 2, []string{"c", "d"}},
			{4, 2, []string{"e"}},
			{3, 1, []string{"d"}},
			{0, 10, []string{"a", "b", "c", "d", "e"}},
			{5, 2, []string{}},
			{99, 2, []string{}},
		} {
			page, total, err := tx.TimelinePage(inc.ID, tc.offset, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if got := texts(page); total != 5 || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("TimelinePage(%d, %d) = %v, %d, want %v, 5", tc.offset, tc.limit, got, total, tc.want)
			}
		}
		page, total, err := tx.TimelinePage(empty.ID, 0, 10)
		if err != nil || total != 0 || page == nil || len(page) != 0 {
			t.Errorf("TimelinePage(empty) = %v, %d, %v, want [], 0, nil", page, total, err)
		}

		for _, tc := range []struct {
			after uint64
			limit int
			want  []string
		}{
			{0, 2, []string{"c", "a"}},
			{2, 2, []string{"e", "b"}},
			{3, 10, []string{"b", "d"}},
			{0, 10, []string{"c", "a", "e", "b", "d"}},
			{5, 10, []string{}},
		} {
			evs, err := tx.TimelineSince(inc.ID, tc.after, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if got := texts(evs); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("TimelineSince(%d, %d) = %v, want %v", tc.after, tc.limit, got, tc.want)
			}
			for i, ev := range evs {
				if ev.Seq != tc.after+uint64(i)+1 {
					t.Errorf("TimelineSince(%d, %d)[%d].Seq = %d, want %d", tc.after, tc.limit, i, ev.Seq, tc.after+uint64(i)+1)
				}
			}
		}

		lens, err := tx.TimelineLens()
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]uint64{inc.ID: 5, empty.ID: 0}; !reflect.DeepEqual(lens, want) {
			t.Errorf("TimelineLens = %v, want %v", lens, want)
		}

		_, _, err = tx.TimelinePage("INC-99", 0, 1)
		wantCode(t, "TimelinePage(INC-99)", err, bot.ENOTFOUND)
		_, err = tx.TimelineSince("INC-99", 0, 1)
		wantCode(t, "TimelineSince(INC-99)", err, bot.ENOTFOUND)
		return nil
	})
}

// testTimelineCursors: TimelineAfter walks the timeline in Timeline's
// order page by page from the zero cursor, whatever order the entries were
// appended in; TimelineTail is the last entries, in the same order.
func testTimelineCursors(t *testing.T, s store.Store) {
	ctx := context.Background()
	inc := declare(t, s, "db latency")
	empty := declare(t, s, "quiet")
	// Two entries share a time: Seq breaks the tie.
	for _, ev := range []bot.TimelineEvent{
		event(inc.ID, "c", t0.Add(3*time.Second)),
		event(inc.ID, "a", t0.Add(1*time.Second)),
		event(inc.ID, "e", t0.Add(5*time.Second)),
		event(inc.ID, "b", t0.Add(2*time.Second)),
		event(inc.ID, "b2", t0.Add(2*time.Second)),
		event(inc.ID, "d", t0.Add(4*time.Second)),
	} {
		if _, _, err := s.Append(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"a", "b", "b2", "c", "d", "e"}
	view(t, s, func(tx store.ReadTx) error {
		// Walked page by page from the zero cursor, forward (each page's
		// last entry continues) and back (each page's first one does),
		// every entry comes once, in order.
		for _, walk := range []struct {
			name     string
			read     func(store.TimelineCursor, int) ([]bot.TimelineEvent, error)
			backward bool
		}{
			{"TimelineAfter", func(c store.TimelineCursor, n int) ([]bot.TimelineEvent, error) {
				return tx.TimelineAfter(inc.ID, c, n)
			}, false},
			{"TimelineBefore", func(c store.TimelineCursor, n int) ([]bot.TimelineEvent, error) {
				return tx.TimelineBefore(inc.ID, c, n)
			}, true},
		} {
			for _, limit := range []int{1, 2, 4, 6, 10} {
				var got []string
				var c store.TimelineCursor
				for pages := 0; ; pages++ {
					if pages > len(want) {
						t.Fatalf("%s(limit %d) does not end", walk.name, limit)
					}
					page, err := walk.read(c, limit)
					if err != nil {
						t.Fatal(err)
					}
					if len(page) > limit {
						t.Fatalf("%s(limit %d) returned %d entries", walk.name, limit, len(page))
					}
					if len(page) == 0 {
						break
					}
					if walk.backward {
						got = append(texts(page), got...)
						c = store.CursorOf(page[0])
					} else {
						got = append(got, texts(page)...)
						c = store.CursorOf(page[len(page)-1])
					}
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s pages of %d = %v, want %v", walk.name, limit, got, want)
				}
			}
		}
		if page, err := tx.TimelineBefore(empty.ID, store.TimelineCursor{}, 10); err != nil || page == nil || len(page) != 0 {
			t.Errorf("TimelineBefore(empty) = %v, %v, want [], nil", page, err)
		}
		if _, err := tx.TimelineBefore("INC-99", store.TimelineCursor{}, 1); bot.ErrorCode(err) != bot.ENOTFOUND {
			t.Errorf("TimelineBefore(INC-99) = %v, want ENOTFOUND", err)
		}
		for _, tc := range []struct {
			n    int
			want []string
		}{
			{0, []string{}},
			{1, []string{"e"}},
			{3, []string{"c", "d", "e"}},
			{6, want},
			{99, want},
		} {
			tail, total, err := tx.TimelineTail(inc.ID, tc.n)
			if err != nil {
				t.Fatal(err)
			}
			if got := texts(tail); total != 6 || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("TimelineTail(%d) = %v, %d, want %v, 6", tc.n, got, total, tc.want)
			}
		}
		if page, err := tx.TimelineAfter(empty.ID, store.TimelineCursor{}, 10); err != nil || page == nil || len(page) != 0 {
			t.Errorf("TimelineAfter(empty) = %v, %v, want [], nil", page, err)
		}
		if tail, total, err := tx.TimelineTail(empty.ID, 10); err != nil || total != 0 || len(tail) != 0 {
			t.Errorf("TimelineTail(empty) = %v, %d, %v, want [], 0, nil", tail, total, err)
		}
		_, err := tx.TimelineAfter("INC-99", store.TimelineCursor{}, 1)
		wantCode(t, "TimelineAfter(INC-99)", err, bot.ENOTFOUND)
		_, _, err = tx.TimelineTail("INC-99", 1)
		wantCode(t, "TimelineTail(INC-99)", err, bot.ENOTFOUND)
		return nil
	})
}

// testCursorsSeeOwnWrites: in a transaction that appended entries (one in
// the past, among the committed ones, and two after them) and put an
// incident, the cursor reads see those writes in their places, and return
// no more than asked.
func testCursorsSeeOwnWrites(t *testing.T, s store.Store) {
	ctx := context.Background()
	inc := declare(t, s, "db latency")
	for i, text := range []string{"a", "c", "e"} {
		if _, _, err := s.Append(ctx, event(inc.ID, text, t0.Add(time.Duration(2*i+1)*time.Second))); err != nil {
			t.Fatal(err)
		}
	}
	err := s.Update(ctx, func(tx store.Tx) error {
		for _, ev := range []bot.TimelineEvent{
			event(inc.ID, "b", t0.Add(2*time.Second)),
			event(inc.ID, "f", t0.Add(6*time.Second)),
			event(inc.ID, "g", t0.Add(7*time.Second)),
		} {
			if _, _, err := tx.AppendEvent(ev); err != nil {
				return err
			}
		}
		for _, tc := range []struct {
			n    int
			want []string
		}{{1, []string{"g"}}, {2, []string{"f", "g"}}, {4, []string{"c", "e", "f", "g"}}, {9, []string{"a", "b", "c", "e", "f", "g"}}} {
			tail, total, err := tx.TimelineTail(inc.ID, tc.n)
			if err != nil {
				return err
			}
			if got := texts(tail); total != 6 || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("TimelineTail(%d) in the transaction = %v, %d, want %v, 6", tc.n, got, total, tc.want)
			}
		}
		page, err := tx.TimelineAfter(inc.ID, store.TimelineCursor{}, 2)
		if err != nil {
			return err
		}
		if got := texts(page); !reflect.DeepEqual(got, []string{"a", "b"}) {
			t.Errorf("TimelineAfter(start, 2) in the transaction = %v, want [a b]", got)
		}
		page, err = tx.TimelineAfter(inc.ID, store.CursorOf(page[1]), 3)
		if err != nil {
			return err
		}
		if got := texts(page); !reflect.DeepEqual(got, []string{"c", "e", "f"}) {
			t.Errorf("TimelineAfter(b, 3) in the transaction = %v, want [c e f]", got)
		}
		since, err := tx.TimelineSince(inc.ID, 3, 2)
		if err != nil {
			return err
		}
		if got := texts(since); !reflect.DeepEqual(got, []string{"b", "f"}) {
			t.Errorf("TimelineSince(3, 2) in the transaction = %v, want [b f]", got)
		}
		n, err := tx.NextIncidentNumber()
		if err != nil {
			return err
		}
		if err := tx.PutIncident(&bot.Incident{ID: bot.IncidentID(n), Number: n, Title: "in tx", Kind: bot.KindReal,
			Severity: bot.SEV2, Status: bot.StatusInvestigating, DeclaredAt: t0}); err != nil {
			return err
		}
		incs, err := tx.IncidentsAfter(0, 5, store.IncidentFilter{})
		if err != nil {
			return err
		}
		if len(incs) != 2 || incs[1].Title != "in tx" {
			t.Errorf("IncidentsAfter in the transaction = %d incidents, want 2, the new one last", len(incs))
		}
		if incs, err := tx.IncidentsAfter(0, 1, store.IncidentFilter{}); err != nil || len(incs) != 1 {
			t.Errorf("IncidentsAfter(0, 1) in the transaction = %d incidents, %v, want 1", len(incs), err)
		}
		// The filter sees the incident put in this transaction, and the
		// status it was given here rather than the one committed.
		if incs, err := tx.IncidentsAfter(0, 5, store.IncidentFilter{Status: bot.StatusInvestigating}); err != nil || len(incs) != 2 {
			t.Errorf("IncidentsAfter(investigating) in the transaction = %d incidents, %v, want 2", len(incs), err)
		}
		first, err := tx.Incident(inc.ID)
		if err != nil {
			return err
		}
		first.Status = bot.StatusClosed
		if err := tx.PutIncident(first); err != nil {
			return err
		}
		if incs, err := tx.IncidentsAfter(0, 5, store.IncidentFilter{Open: true}); err != nil || len(incs) != 1 || incs[0].Title != "in tx" {
			t.Errorf("IncidentsAfter(open) after closing %s in the transaction = %d incidents, %v, want the new one alone", inc.ID, len(incs), err)
		}
		// TimelineKeysAfter counts this transaction's entries in their
		// places too: a, b (new), c, e, f (new), g (new).
		if end, n, more, err := tx.TimelineKeysAfter(inc.ID, store.TimelineCursor{}, 2); err != nil || n != 2 || !more || !end.At.Equal(t0.Add(2*time.Second)) {
			t.Errorf("TimelineKeysAfter(start, 2) in the transaction = %v, %d, %v, %v; want b's cursor, 2, more", end, n, more, err)
		}
		if end, n, more, err := tx.TimelineKeysAfter(inc.ID, store.TimelineCursor{}, 6); err != nil || n != 6 || more || !end.At.Equal(t0.Add(7*time.Second)) {
			t.Errorf("TimelineKeysAfter(start, 6) in the transaction = %v, %d, %v, %v; want g's cursor, 6, no more", end, n, more, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testIncidentsAfter: IncidentsAfter pages the incidents by number, and
// its filter selects what IncidentFilter.Match does, does not shorten a
// page while more incidents match, and follows each incident's changes.
func testIncidentsAfter(t *testing.T, s store.Store) {
	// Seven incidents: numbers 1..7, declared an hour apart, the fourth
	// in another zone.
	kinds := []bot.Kind{bot.KindReal, bot.KindDrill, bot.KindNearMiss, bot.KindReal, bot.KindReal, bot.KindDrill, bot.KindReal}
	sevs := []bot.Severity{bot.SEV1, bot.SEV2, bot.SEV3, bot.SEV4, bot.SEV2, bot.SEV2, bot.SEV1}
	statuses := []bot.Status{bot.StatusInvestigating, bot.StatusResolved, bot.StatusClosed, bot.StatusMitigated,
		bot.StatusClosed, bot.StatusReviewScheduled, bot.StatusReviewHeld}
	var all []string
	update(t, s, func(tx store.Tx) error {
		for i := range 7 {
			n, err := tx.NextIncidentNumber()
			if err != nil {
				return err
			}
			at := t0.Add(time.Duration(i) * time.Hour)
			if i == 3 {
				at = at.In(time.FixedZone("IST", 5*3600+1800))
			}
			inc := &bot.Incident{ID: bot.IncidentID(n), Number: n, Title: fmt.Sprintf("incident %d", i),
				Kind: kinds[i], Severity: sevs[i], Status: statuses[i], DeclaredAt: at}
			all = append(all, inc.ID)
			if err := tx.PutIncident(inc); err != nil {
				return err
			}
		}
		return nil
	})
	ids := func(incs []*bot.Incident) []string {
		out := []string{}
		for _, inc := range incs {
			out = append(out, inc.ID)
		}
		return out
	}
	check := func(t *testing.T, cases []incidentsCase) {
		t.Helper()
		view(t, s, func(tx store.ReadTx) error {
			for _, tc := range cases {
				incs, err := tx.IncidentsAfter(tc.after, tc.limit, tc.f)
				if err != nil {
					t.Fatal(err)
				}
				if got := ids(incs); !reflect.DeepEqual(got, tc.want) {
					t.Errorf("IncidentsAfter(%d, %d, %+v) = %v, want %v", tc.after, tc.limit, tc.f, got, tc.want)
				}
				for _, inc := range incs {
					if !tc.f.Match(inc) {
						t.Errorf("IncidentsAfter(%+v) returned %s, which the filter does not select", tc.f, inc.ID)
					}
				}
			}
			return nil
		})
	}
	var none store.IncidentFilter
	check(t, []incidentsCase{
		{0, 3, none, all[:3]},
		{3, 3, none, all[3:6]},
		{6, 3, none, all[6:]},
		{7, 3, none, []string{}},
		{0, 0, none, []string{}},
		{-5, 2, none, all[:2]},
		{0, 9, store.IncidentFilter{Status: bot.StatusClosed}, []string{all[2], all[4]}},
		{0, 1, store.IncidentFilter{Status: bot.StatusClosed}, []string{all[2]}},
		{3, 9, store.IncidentFilter{Status: bot.StatusClosed}, []string{all[4]}},
		{0, 9, store.IncidentFilter{Open: true}, []string{all[0], all[1], all[3], all[5], all[6]}},
		{1, 2, store.IncidentFilter{Open: true}, []string{all[1], all[3]}},
		{0, 9, store.IncidentFilter{Severity: bot.SEV2}, []string{all[1], all[4], all[5]}},
		{0, 9, store.IncidentFilter{Kind: bot.KindDrill}, []string{all[1], all[5]}},
		{0, 9, store.IncidentFilter{Kind: bot.KindReal, Open: true, Severity: bot.SEV1}, []string{all[0], all[6]}},
		// Since is "at or after", to the nanosecond, whatever the zone
		// the incident was declared in.
		{0, 9, store.IncidentFilter{Since: t0.Add(3 * time.Hour)}, all[3:]},
		{0, 9, store.IncidentFilter{Since: t0.Add(3*time.Hour + time.Nanosecond)}, all[4:]},
		{0, 9, store.IncidentFilter{Since: t0.Add(3*time.Hour - time.Nanosecond).In(time.FixedZone("", -7*3600))}, all[3:]},
		{0, 2, store.IncidentFilter{Since: t0.Add(90 * time.Minute), Severity: bot.SEV2}, []string{all[4], all[5]}},
		// Matches nothing; matches only the oldest; only the newest.
		{0, 9, store.IncidentFilter{Status: bot.StatusResolved, Kind: bot.KindReal}, []string{}},
		{0, 9, store.IncidentFilter{Since: t0.Add(100 * time.Hour)}, []string{}},
		{0, 9, store.IncidentFilter{Status: bot.StatusInvestigating}, []string{all[0]}},
		{1, 9, store.IncidentFilter{Status: bot.StatusInvestigating}, []string{}},
		{0, 1, store.IncidentFilter{Status: bot.StatusReviewHeld}, []string{all[6]}},
	})
	// The index follows the incidents: closing the first and reopening
	// the fifth move them between the filters.
	update(t, s, func(tx store.Tx) error {
		for id, st := range map[string]bot.Status{all[0]: bot.StatusClosed, all[4]: bot.StatusInvestigating} {
			inc, err := tx.Incident(id)
			if err != nil {
				return err
			}
			inc.Status = st
			if err := tx.PutIncident(inc); err != nil {
				return err
			}
		}
		return nil
	})
	check(t, []incidentsCase{
		{0, 9, store.IncidentFilter{Status: bot.StatusClosed}, []string{all[0], all[2]}},
		{0, 9, store.IncidentFilter{Status: bot.StatusInvestigating}, []string{all[4]}},
		{0, 9, store.IncidentFilter{Open: true, Severity: bot.SEV1}, []string{all[6]}},
	})
	// A transaction that rolls back leaves the index as it was.
	err := s.Update(context.Background(), func(tx store.Tx) error {
		inc, err := tx.Incident(all[1])
		if err != nil {
			return err
		}
		inc.Status = bot.StatusClosed
		if err := tx.PutIncident(inc); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	if err == nil {
		t.Fatal("Update returned nil, want its fn's error")
	}
	check(t, []incidentsCase{{0, 9, store.IncidentFilter{Status: bot.StatusClosed}, []string{all[0], all[2]}}})
}

// testIncidentsAfterOddValues: a status or kind the store's index has no
// name for (one a later bot adds), or that holds the characters an index
// might separate its fields with, is filtered as IncidentFilter.Match
// says: found when it matches, not when it does not.
func testIncidentsAfterOddValues(t *testing.T, s store.Store) {
	update(t, s, func(tx store.Tx) error {
		for i, inc := range []*bot.Incident{
			{Kind: bot.KindReal, Status: "paused"},
			{Kind: "rehearsal", Status: bot.StatusClosed},
			{Kind: bot.KindReal, Status: bot.StatusClosed},
			{Kind: "a/1/2", Status: "x/y\x00", Severity: bot.SEV1},
		} {
			inc.Number, inc.ID, inc.DeclaredAt = i+1, bot.IncidentID(i+1), t0
			if inc.Severity == 0 {
				inc.Severity = bot.SEV3
			}
			if err := tx.PutIncident(inc); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx store.ReadTx) error {
		for _, tc := range []struct {
			f    store.IncidentFilter
			want []string
		}{
			{store.IncidentFilter{Status: "paused"}, []string{"INC-1"}},
			{store.IncidentFilter{Open: true}, []string{"INC-1", "INC-4"}},
			{store.IncidentFilter{Status: bot.StatusClosed}, []string{"INC-2", "INC-3"}},
			{store.IncidentFilter{Kind: "rehearsal"}, []string{"INC-2"}},
			{store.IncidentFilter{Kind: bot.KindReal}, []string{"INC-1", "INC-3"}},
			{store.IncidentFilter{Kind: bot.KindDrill}, []string{}},
			{store.IncidentFilter{Kind: "a/1/2"}, []string{"INC-4"}},
			{store.IncidentFilter{Status: "x/y\x00", Severity: bot.SEV1}, []string{"INC-4"}},
			{store.IncidentFilter{Severity: bot.SEV2}, []string{}},
			{store.IncidentFilter{Since: t0}, []string{"INC-1", "INC-2", "INC-3", "INC-4"}},
		} {
			incs, err := tx.IncidentsAfter(0, 10, tc.f)
			if err != nil {
				return err
			}
			got := []string{}
			for _, inc := range incs {
				got = append(got, inc.ID)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("IncidentsAfter(%+v) = %v, want %v", tc.f, got, tc.want)
			}
		}
		return nil
	})
}

type incidentsCase struct {
	after, limit int
	f            store.IncidentFilter
	want         []string
}

// testTimelineKeysAfter: TimelineKeysAfter ends a page where TimelineAfter
// does, from every cursor and at every length, late entries (recovered,
// keyed well before the last) included, and says whether more follow,
// also when the page ends exactly at the timeline's end.
func testTimelineKeysAfter(t *testing.T, s store.Store) {
	ctx := context.Background()
	inc := declare(t, s, "db latency")
	empty := declare(t, s, "quiet")
	for i := range 8 {
		if _, _, err := s.Append(ctx, event(inc.ID, fmt.Sprint("live ", i), t0.Add(time.Duration(10+i)*time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	// Recovered after downtime: keyed at their platform time, before
	// every live entry or between two, one sharing a live entry's time.
	for i, at := range []time.Duration{time.Minute, 12*time.Minute + 30*time.Second, 14 * time.Minute, 2 * time.Minute} {
		ev := event(inc.ID, fmt.Sprint("recovered ", i), t0.Add(at))
		ev.Recovered = true
		if _, _, err := s.Append(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	all := timeline(t, s, inc.ID)
	if len(all) != 12 {
		t.Fatalf("timeline holds %d entries, want 12", len(all))
	}
	view(t, s, func(tx store.ReadTx) error {
		cursors := []store.TimelineCursor{{}}
		for _, ev := range all {
			cursors = append(cursors, store.CursorOf(ev))
		}
		for ci, c := range cursors {
			for _, limit := range []int{0, 1, 2, 5, 12 - ci, 12 - ci + 1, 12, 100} {
				if limit < 0 {
					continue
				}
				end, n, more, err := tx.TimelineKeysAfter(inc.ID, c, limit)
				if err != nil {
					t.Fatal(err)
				}
				page, err := tx.TimelineAfter(inc.ID, c, limit)
				if err != nil {
					t.Fatal(err)
				}
				wantEnd, wantMore := c, ci+len(page) < len(all)
				if len(page) > 0 {
					wantEnd = store.CursorOf(page[len(page)-1])
				}
				if n != len(page) || more != wantMore || !end.At.Equal(wantEnd.At) || end.Seq != wantEnd.Seq {
					t.Errorf("TimelineKeysAfter(after entry %d, %d) = %v, %d, more %v; want %v, %d, more %v",
						ci, limit, end, n, more, wantEnd, len(page), wantMore)
				}
			}
		}
		// The end it returns continues where TimelineAfter's last entry
		// does.
		end, _, _, err := tx.TimelineKeysAfter(inc.ID, store.TimelineCursor{}, 5)
		if err != nil {
			t.Fatal(err)
		}
		next, err := tx.TimelineAfter(inc.ID, end, 1)
		if err != nil || len(next) != 1 || next[0].Text != all[5].Text {
			t.Errorf("TimelineAfter(end of 5 keys) = %v, %v; want %q", texts(next), err, all[5].Text)
		}
		if end, n, more, err := tx.TimelineKeysAfter(empty.ID, store.TimelineCursor{}, 10); err != nil || n != 0 || more || !end.IsZero() {
			t.Errorf("TimelineKeysAfter(empty) = %v, %d, %v, %v; want the zero cursor, 0, no more", end, n, more, err)
		}
		_, _, _, err = tx.TimelineKeysAfter("INC-99", store.TimelineCursor{}, 1)
		wantCode(t, "TimelineKeysAfter(INC-99)", err, bot.ENOTFOUND)
		return nil
	})
}
