package discord_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/discord"
	"github.com/debrief/debrief/adapters/discord/discordtest"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store/bolt/bolttest"
)

// sleeps is the catch-up's injected wait: it returns at once, notes how
// long it was asked to wait, and tells the fake that the bucket had time
// to refill.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

func withSleeps(s *sleeps) option {
	return func(c *discord.Config, fake *discordtest.Server) {
		c.Sleep = func(ctx context.Context, d time.Duration) error {
			s.mu.Lock()
			s.d = append(s.d, d)
			s.mu.Unlock()
			fake.BucketWaited()
			return ctx.Err()
		}
	}
}

// missed is what people do in an incident channel while debrief is away,
// and what the timeline must then hold.
type missed struct {
	said    []string // texts of new messages, in the order said
	edited  string   // a message on record before, edited meanwhile
	deleted string   // the text of a message on record before, deleted meanwhile
	redo    string   // the ID of a message said meanwhile, to redeliver
	alert   string   // the text of a webhook's embed-only message
}

// before says what is on record before debrief goes away: a message to
// edit, one to delete, and a thread.
func (h *harness) before(ch string) (edit, del, thread string) {
	h.t.Helper()
	first := h.say(h.alice, ch, "before: checkout is down")
	edit = h.say(h.bob, ch, "before: rolling back teh deploy")
	del = h.say(h.carol, ch, "before: wrong channel")
	thread, err := h.fake.StartThread(h.ctx, h.bob, ch, first, "db")
	h.do("thread", err)
	h.say(h.bob, thread, "before: in the thread")
	return edit, del, thread
}

// whileAway does, with the fake Away, what debrief misses: messages in
// the channel, in the old thread and in a new one, a file, an edit and a
// delete of messages on record.
func (h *harness) whileAway(ch, edit, del, thread string) missed {
	h.t.Helper()
	h.fake.Away(true)
	defer h.fake.Away(false)
	m := missed{edited: "before: rolling back the deploy", deleted: "before: wrong channel"}
	say := func(user, where, text string) string {
		id := h.say(user, where, text)
		m.said = append(m.said, text)
		return id
	}
	m.redo = say(h.alice, ch, "away: replica lag 40s")
	_, err := h.fake.PostWebhook(h.ctx, ch, "Alertmanager", "", json.RawMessage(`[{"type":"rich","title":"[FIRING:1] ReplicaLag",
		"description":"replica lag above 30s","color":15158332,"fields":[{"name":"instance","value":"db-2","inline":true}]}]`))
	h.do("webhook", err)
	m.alert = "[FIRING:1] ReplicaLag\nreplica lag above 30s\ninstance: db-2"
	say(h.bob, thread, "away: in the old thread")
	h.do("edit", h.fake.Edit(h.ctx, ch, edit, m.edited))
	h.do("delete", h.fake.Delete(h.ctx, ch, del))
	nt, err := h.fake.StartThread(h.ctx, h.carol, ch, m.redo, "lag")
	h.do("new thread", err)
	say(h.carol, nt, "away: in a new thread")
	_, err = h.fake.ShareFile(h.ctx, h.carol, ch, "away.png", "")
	h.do("file", err)
	m.said = append(m.said, "away.png")
	say(h.alice, ch, "away: failover done")
	return m
}

// checkRecovered checks that the timeline holds every missed message once,
// marked recovered, in the order said; the edit and the delete once each;
// and what was on record before once, not marked.
func (h *harness) checkRecovered(m missed) {
	h.t.Helper()
	tl := h.timeline("INC-1")
	var got []string
	var last time.Time
	for _, ev := range tl {
		if !ev.Recovered {
			if strings.HasPrefix(ev.Text, "away") {
				h.t.Errorf("%q recorded live, want recovered", ev.Text)
			}
			continue
		}
		if ev.Kind == bot.EventMessage || ev.Kind == bot.EventFile {
			got = append(got, ev.Text)
			if ev.PlatformAt.Before(last) {
				h.t.Errorf("%q (%v) after a later message (%v)", ev.Text, ev.PlatformAt, last)
			}
			last = ev.PlatformAt
		}
	}
	if strings.Join(got, "|") != strings.Join(m.said, "|") {
		h.t.Errorf("recovered messages:\n%q\nwant, in order:\n%q", got, m.said)
	}
	if ev, ok := find(tl, bot.EventBot, m.alert); !ok || !ev.Recovered || count(tl, m.alert) != 1 || ev.Author.Name != "Alertmanager" {
		h.t.Errorf("webhook alert %q: %+v (%d times), want it once, by Alertmanager, recovered", m.alert, ev, count(tl, m.alert))
	}
	if ev, ok := find(tl, bot.EventEdit, m.edited); !ok || !ev.Recovered || count(tl, m.edited) != 1 || ev.Author.Name != "bob" {
		h.t.Errorf("edit %q: %+v (%d times), want it once, by bob, recovered", m.edited, ev, count(tl, m.edited))
	}
	n := 0
	for _, ev := range tl {
		if ev.Kind == bot.EventDelete && ev.Text == m.deleted {
			n++
			if !ev.Recovered || ev.Author.Name != "Carol Shaw" {
				h.t.Errorf("delete: %+v, want Carol Shaw's message, recovered", ev)
			}
		}
	}
	if n != 1 {
		h.t.Errorf("the delete of %q is on record %d times, want once", m.deleted, n)
	}
	for _, text := range []string{"before: checkout is down", "before: rolling back teh deploy", "before: in the thread"} {
		if ev, _ := find(tl, bot.EventMessage, text); count(tl, text) != 1 || ev.Recovered {
			h.t.Errorf("%q is on record %d times (recovered %t), want once, live", text, count(tl, text), ev.Recovered)
		}
	}
}

// TestCatchUpAfterRestart: debrief stops (the component is closed and the
// database reopened on the same file); people talk, edit, delete and use
// threads meanwhile; after the start every one of those is in the
// timeline once, marked recovered, in order. A redelivered
// MESSAGE_CREATE, and another catch-up after a RESUME, store nothing
// again.
func TestCatchUpAfterRestart(t *testing.T) {
	h, ch := declared(t, overGateway)
	edit, del, thread := h.before(ch)

	h.stop()
	path := h.db.Path()
	bolttest.Close(t, h.db)
	m := h.whileAway(ch, edit, del, thread)
	// Debrief's clock is past Discord's: recovered entries take their
	// place by their platform time.
	h.clock.Set(time.Now().Add(time.Hour))
	h.boot(bolttest.OpenPath(t, path))
	ctx, cancel := h.waitCtx()
	defer cancel()
	if err := h.dc.WaitCatchUps(ctx, 1); err != nil {
		t.Fatal(err)
	}
	h.checkRecovered(m)
	size := len(h.timeline("INC-1"))

	h.do("redeliver", h.fake.Redeliver(ctx, ch, m.redo))
	h.fake.SendReconnect()
	if err := h.dc.WaitCatchUps(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if n := len(h.timeline("INC-1")); n != size {
		t.Errorf("after a redelivery and a second catch-up the timeline has %d entries, want %d:\n%v", n, size, entries(h.timeline("INC-1")[size:]))
	}
	h.checkRecovered(m)
}

// TestCatchUpAfterLostSession: the connection drops and Discord refuses
// the RESUME (INVALID_SESSION, d=false): what was said meanwhile is never
// replayed. The bot identifies anew and reads it back.
func TestCatchUpAfterLostSession(t *testing.T) {
	h, ch := declared(t, overGateway)
	edit, del, thread := h.before(ch)
	passes := h.dc.CatchUps()

	release := h.fake.LoseSession()
	m := h.whileAway(ch, edit, del, thread)
	h.clock.Set(time.Now().Add(time.Hour))
	release()
	ctx, cancel := h.waitCtx()
	defer cancel()
	if err := h.fake.WaitIdentifies(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if err := h.dc.WaitCatchUps(ctx, passes+1); err != nil {
		t.Fatal(err)
	}
	if rs := h.fake.Resumes(); len(rs) != 1 || rs[0].Replayed != 0 {
		t.Errorf("resumes = %+v, want one, refused", rs)
	}
	h.checkRecovered(m)
	size := len(h.timeline("INC-1"))
	h.do("redeliver", h.fake.Redeliver(ctx, ch, m.redo))
	if n := len(h.timeline("INC-1")); n != size {
		t.Errorf("a redelivered message was stored again: %d entries, want %d", n, size)
	}
}

// TestCatchUpTenThousand: 10,000 messages said while debrief was stopped
// are read back in pages of 100 under Discord's rate limits (a bucket of 5
// calls emptied and waited out, two 429s with retry_after), on the
// injected clock: no call comes into an empty bucket. Meanwhile live
// events are recorded: with the history held mid catch-up, a message said
// live is acknowledged and on record before the catch-up ends.
func TestCatchUpTenThousand(t *testing.T) {
	n := 10000
	if raceEnabled {
		n = 2000 // some 40 s at 10,000 with -race: race_test.go
	}
	var waits sleeps
	h, ch := declared(t, overGateway, withSleeps(&waits))
	h.stop()
	path := h.db.Path()
	bolttest.Close(t, h.db)
	for i := range n {
		h.fake.PostQuietly(h.bob, ch, fmt.Sprintf("missed %05d", i))
	}
	h.fake.SetBucket(discordtest.Bucket{Limit: 5, ResetAfter: 1.5})
	h.fake.Inject(discordtest.Fault{Route: discordtest.RouteListMessages, Status: 429, RetryAfter: 2.5, Times: 2})
	release := h.fake.Hold(discordtest.RouteListMessages)
	h.clock.Set(time.Now().Add(time.Hour))
	start := time.Now()
	h.boot(bolttest.OpenPath(t, path))
	ctx, cancel := h.waitCtx()
	defer cancel()
	if err := h.fake.WaitHeldCall(ctx, discordtest.RouteListMessages); err != nil {
		t.Fatal(err)
	}
	h.say(h.alice, ch, "live during the catch-up")
	if tl := h.timeline("INC-1"); count(tl, "live during the catch-up") != 1 || h.dc.CatchUps() != 0 {
		t.Fatalf("live message not on record while the catch-up runs (catch-ups done: %d)", h.dc.CatchUps())
	}
	release()
	// Under the race detector JSON decoding is many times slower: the
	// wait is the harness's, not waitFor.
	if err := h.dc.WaitCatchUps(h.ctx, 1); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)

	tl := h.timeline("INC-1")
	i := 0
	for _, ev := range tl {
		if ev.Kind != bot.EventMessage || !strings.HasPrefix(ev.Text, "missed ") {
			continue
		}
		if want := fmt.Sprintf("missed %05d", i); ev.Text != want || !ev.Recovered {
			t.Fatalf("recovered message %d = %q (recovered %t), want %q", i, ev.Text, ev.Recovered, want)
		}
		i++
	}
	if i != n {
		t.Errorf("%d messages recovered, want %d", i, n)
	}
	calls := h.fake.Calls(discordtest.RouteListMessages)
	var limited, rateWaits, bucketWaits int
	for _, c := range calls {
		if c.Status == 429 {
			limited++
		}
	}
	for _, d := range waits.got() {
		switch d {
		case 2500 * time.Millisecond:
			rateWaits++
		case 1500 * time.Millisecond:
			bucketWaits++
		}
	}
	// A slow machine may miss heartbeats, reconnect and catch up again
	// (a few pages more): at least every page, once.
	pages := len(calls) - limited
	if limited != 2 || rateWaits != 2 || pages < n/100+1 || bucketWaits < pages/5-1 || h.fake.EarlyCalls() != 0 {
		t.Errorf("%d calls (%d answered 429), waits %v: want two 429s waited out, %d pages, a wait every 5 calls, none early (%d early)",
			len(calls), limited, waits.got(), n/100+1, h.fake.EarlyCalls())
	}
	t.Logf("%d messages recovered in %s (%d pages, %d waits asked, none slept)", n, took.Round(time.Millisecond), pages, len(waits.got()))
}

// TestCatchUpRefused: a channel whose history the bot may no longer read
// (Missing Access) is skipped with a warning and changes nothing; the
// other incident's channel is caught up, through a 502 tried again after
// a backoff on the injected wait.
func TestCatchUpRefused(t *testing.T) {
	var waits sleeps
	h, ch1 := declared(t, overGateway, withSleeps(&waits))
	if kind, reply := h.invoke(h.alice, h.fake.General(), cmd("declare", discordtest.Str("title", "Search is slow"), discordtest.Int("severity", 3))); kind != "in_channel" {
		t.Fatalf("declare = %s %q", kind, reply)
	}
	h.deliver()
	ch2 := h.incident("INC-2").Channels[bot.Discord]
	before := len(h.timeline("INC-1"))

	h.stop()
	path := h.db.Path()
	bolttest.Close(t, h.db)
	h.fake.Away(true)
	h.say(h.bob, ch1, "away: in a channel the bot cannot read")
	h.say(h.bob, ch2, "away: in a channel the bot can read")
	h.fake.Away(false)
	h.fake.SetOverwrite(ch1, discordtest.Overwrite{ID: h.fake.BotUserID, Type: discordtest.OverwriteMember, Deny: discordtest.PermViewChannel})
	h.fake.Inject(discordtest.Fault{Route: discordtest.RouteListMessages, Status: 502, Times: 1})
	h.boot(bolttest.OpenPath(t, path))
	ctx, cancel := h.waitCtx()
	defer cancel()
	if err := h.dc.WaitCatchUps(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if n := len(h.timeline("INC-1")); n != before {
		t.Errorf("INC-1's timeline went from %d to %d entries, want unchanged", before, n)
	}
	if !strings.Contains(h.logs.String(), "catch-up of a channel stopped") || !strings.Contains(h.logs.String(), "Missing Access") {
		t.Errorf("no warning naming Missing Access in the log")
	}
	if ev, ok := find(h.timeline("INC-2"), bot.EventMessage, "away: in a channel the bot can read"); !ok || !ev.Recovered {
		t.Errorf("INC-2's missed message not recovered: %+v", ev)
	}
	if len(waits.got()) == 0 {
		t.Errorf("the 502 was tried again without a backoff")
	}
}

// TestCatchUpArchivedThread: a thread archived while debrief was away is
// not in the active list and is not read; its messages on record are not
// taken for deleted.
func TestCatchUpArchivedThread(t *testing.T) {
	h, ch := declared(t, overGateway)
	_, _, thread := h.before(ch)
	h.stop()
	path := h.db.Path()
	bolttest.Close(t, h.db)
	if err := h.fake.ArchiveThread(thread); err != nil {
		t.Fatal(err)
	}
	h.boot(bolttest.OpenPath(t, path))
	ctx, cancel := h.waitCtx()
	defer cancel()
	if err := h.dc.WaitCatchUps(ctx, 1); err != nil {
		t.Fatal(err)
	}
	for _, ev := range h.timeline("INC-1") {
		if ev.Kind == bot.EventDelete {
			t.Errorf("delete on record: %+v, want none", ev)
		}
	}
}
