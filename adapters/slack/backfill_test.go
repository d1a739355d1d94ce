package slack_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/slack"
	"github.com/debrief/debrief/adapters/slack/slacktest"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/store/bolt/bolttest"
	"github.com/debrief/debrief/workflows"
)

// downtime is what the channel sees while debrief is away: messages,
// edits and deletes of messages it had stored and of new ones, thread
// replies in an old thread and a new one, a shared message, a file. It
// returns the texts the timeline must then have, each once, in order, and
// an event to redeliver live afterwards.
type downtime struct {
	want      []entry
	redeliver []string // event IDs
}

// before is what the channel said while debrief was up: stored live.
type before struct {
	edited, deleted, parent, replyGone, replyEdited string
}

func talkLive(h *harness, ch string) before {
	var b before
	h.say(alice, ch, "one: checkout errors at 4%")
	b.edited = h.say(bob, ch, "two: it is the datbase")
	b.deleted = h.say(alice, ch, "three: ignore this")
	b.parent = h.say(carol, ch, "thread: what changed at 09:10?")
	var d slacktest.Delivery
	var err error
	b.replyGone, d, err = h.fake.Reply(h.ctx, bob, ch, b.parent, "reply: the pool size, I think")
	h.ok("reply", d, err)
	b.replyEdited, d, err = h.fake.Reply(h.ctx, alice, ch, b.parent, "reply: deploy 812 at 09:08")
	h.ok("reply", d, err)
	return b
}

func talkWhileDown(t *testing.T, h *harness, ch string, b before) downtime {
	t.Helper()
	var dt downtime
	must := func(_ slacktest.Delivery, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	say := func(user, text string) string {
		t.Helper()
		ts, _, err := h.fake.Say(h.ctx, user, ch, text)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	say(alice, "down 1: failing over to the replica")
	dt.redeliver = append(dt.redeliver, h.fake.LastEventID())
	must(h.fake.Edit(h.ctx, ch, b.edited, "two: it is the database"))
	dt.redeliver = append(dt.redeliver, h.fake.LastEventID())
	must(h.fake.Delete(h.ctx, ch, b.deleted))
	_, _, err := h.fake.Reply(h.ctx, carol, ch, b.parent, "down reply: pool was cut from 20 to 5")
	if err != nil {
		t.Fatal(err)
	}
	must(h.fake.Edit(h.ctx, ch, b.replyEdited, "reply: deploy 812 at 09:07"))
	must(h.fake.Delete(h.ctx, ch, b.replyGone))
	must(h.fake.Delete(h.ctx, ch, b.parent)) // it has replies: a tombstone
	typo := say(bob, "down 2: failover compelte")
	must(h.fake.Edit(h.ctx, ch, typo, "down 2: failover complete"))
	p2 := say(alice, "down 3: new thread for the write-up")
	if _, _, err := h.fake.Reply(h.ctx, bob, ch, p2, "down 3 reply: I'll take notes"); err != nil {
		t.Fatal(err)
	}
	gone := say(carol, "down 4: said and deleted while away")
	must(h.fake.Delete(h.ctx, ch, gone))
	if _, _, err := h.fake.Post(h.ctx, "", ch, "", map[string]any{"subtype": "bot_message", "bot_id": "B0CI", "username": "ci",
		"attachments": []any{map[string]any{"fallback": "down 5: Build #813 passed", "color": "good"}}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.fake.ShareFile(h.ctx, bob, ch, "down-6-graph.png", ""); err != nil {
		t.Fatal(err)
	}
	dt.redeliver = append(dt.redeliver, h.fake.LastEventID())
	// The order the timeline must show them in: by when they happened.
	dt.want = []entry{
		{bot.EventMessage, "alice", "down 1: failing over to the replica"},
		{bot.EventEdit, "bob", "two: it is the database"},
		{bot.EventMessage, "Carol Shaw", "down reply: pool was cut from 20 to 5"},
		{bot.EventEdit, "alice", "reply: deploy 812 at 09:07"},
		{bot.EventMessage, "bob", "down 2: failover complete"},
		{bot.EventEdit, "bob", "down 2: failover complete"},
		{bot.EventMessage, "alice", "down 3: new thread for the write-up"},
		{bot.EventMessage, "bob", "down 3 reply: I'll take notes"},
		{bot.EventBot, "ci", "> down 5: Build #813 passed"},
		{bot.EventFile, "bob", "down-6-graph.png"},
		// When a message was deleted is not in the history: the deletes
		// are recorded when found, after what was said. The tombstone is
		// in the history, read first.
		{bot.EventDelete, "Carol Shaw", "thread: what changed at 09:10?"},
		{bot.EventDelete, "alice", "three: ignore this"},
		{bot.EventDelete, "bob", "reply: the pool size, I think"},
	}
	return dt
}

// checkRecovered checks that the recovered entries are exactly want, in
// order, and that nothing else in the timeline repeats a message.
func checkRecovered(t *testing.T, tl []bot.TimelineEvent, want []entry) {
	t.Helper()
	var got []entry
	keys := map[string]int{}
	for _, ev := range tl {
		if ev.Recovered {
			got = append(got, entry{ev.Kind, ev.Author.Name, ev.Text})
		}
		if ev.MessageID != "" && ev.Kind != bot.EventKey {
			keys[fmt.Sprintf("%s %s %s", ev.Kind, ev.MessageID, ev.Text)]++
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("recovered entries:\n%s\nwant:\n%s", joinEntries(got), joinEntries(want))
	}
	for k, n := range keys {
		if n > 1 {
			t.Errorf("%q stored %d times", k, n)
		}
	}
	for i := 1; i < len(tl); i++ {
		if tl[i].RecordedAt.Before(tl[i-1].RecordedAt) {
			t.Errorf("timeline out of order at %d: %v after %v", i, tl[i].RecordedAt, tl[i-1].RecordedAt)
		}
	}
}

func joinEntries(es []entry) string {
	var b strings.Builder
	for _, e := range es {
		b.WriteString("  " + e.String() + "\n")
	}
	return b.String()
}

// TestBackfillAfterRestart: debrief stops (the bbolt file is closed), the
// channel goes on talking, editing, deleting and replying, and Slack's
// retries run out; debrief starts again on the same file and Run reads
// the channel back: every one of them is in the timeline once, marked
// recovered, in order. Slack redelivering some of those events live
// afterwards stores nothing more, and a second backfill finds nothing.
func TestBackfillAfterRestart(t *testing.T) {
	h := newHarness(t, overHTTP)
	h.clock.Set(time.Now().UTC().Add(-time.Minute)) // the fake's ts are real times
	h.command(alice, h.fake.General(), "declare Checkout is down sev2")
	h.deliver()
	ch := h.incident("INC-1").Channels[bot.Slack]
	b := talkLive(h, ch)
	liveCount := len(h.timeline("INC-1"))

	// Stop: the store is closed, and Slack delivers nothing.
	path := h.db.Path()
	h.web.Close()
	bolttest.Close(t, h.db)
	h.fake.Offline(true)
	dt := talkWhileDown(t, h, ch, b)
	h.fake.Offline(false)

	// Start on the same file, the way debrief serve does: Run.
	h.clock.Set(time.Now().UTC().Add(time.Minute))
	db := bolttest.OpenPath(t, path)
	cfg := workflows.DefaultConfig()
	cfg.Announce = map[bot.Platform]string{bot.Slack: h.announce}
	svc := &workflows.Service{Store: db, Config: cfg, Now: h.clock.Now, Rand: func() float64 { return 0.5 }, Log: h.svc.Log}
	backfills := make(chan backfillRun, 4)
	sl := slack.New(svc, slack.Config{BotToken: h.fake.BotToken, SigningSecret: h.fake.SigningSecret, APIURL: h.fake.APIURL(),
		Log: h.svc.Log, OnBackfill: func(st slack.BackfillStats, err error) { backfills <- backfillRun{st, err} }})
	svc.Chats = map[bot.Platform]workflows.Chat{bot.Slack: sl}
	if err := sl.Start(h.ctx); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	sl.Register(mux)
	web := httptest.NewServer(mux)
	defer web.Close()
	h.fake.Target(web.URL)
	rctx, stop := context.WithCancel(h.ctx)
	ran := make(chan error, 1)
	go func() { ran <- sl.Run(rctx) }()
	defer func() {
		stop()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	var r backfillRun
	select {
	case r = <-backfills:
	case <-time.After(waitFor):
		t.Fatal("no backfill at start")
	}
	if r.err != nil {
		t.Fatalf("backfill: %v", r.err)
	}
	_, tl, err := svc.Timeline(h.ctx, "INC-1")
	if err != nil {
		t.Fatal(err)
	}
	checkRecovered(t, tl, dt.want)
	if len(tl) != liveCount+len(dt.want) {
		t.Errorf("timeline has %d entries, want %d live and %d recovered:\n%s", len(tl), liveCount, len(dt.want), joinEntries(entries(tl)))
	}
	t.Logf("backfill after restart: %+v", r.stats)

	// Slack's late retries of events the backfill recorded: stored once.
	for _, id := range dt.redeliver {
		d, err := h.fake.Redeliver(h.ctx, id)
		h.ok("redeliver "+id, d, err)
	}
	again, err := sl.Backfill(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again.Messages+again.Edits+again.Deletes != 0 {
		t.Errorf("second backfill recorded %+v, want nothing", again)
	}
	_, tl, err = svc.Timeline(h.ctx, "INC-1")
	if err != nil {
		t.Fatal(err)
	}
	checkRecovered(t, tl, dt.want)
	if len(tl) != liveCount+len(dt.want) {
		t.Errorf("after redeliveries the timeline has %d entries, want %d:\n%s", len(tl), liveCount+len(dt.want), joinEntries(entries(tl)))
	}
}

// TestBackfillAfterReconnect: Slack drops the Socket Mode connection;
// while it is down the channel talks; on the reconnect the backfill reads
// it back. A live redelivery afterwards is stored once.
func TestBackfillAfterReconnect(t *testing.T) {
	h := newHarness(t, overSocket)
	h.clock.Set(time.Now().UTC().Add(-time.Minute))
	h.command(alice, h.fake.General(), "declare Checkout is down sev2")
	h.deliver()
	ch := h.incident("INC-1").Channels[bot.Slack]
	b := talkLive(h, ch)
	liveCount := len(h.timeline("INC-1"))

	// The reconnect waits until the channel has talked.
	h.fake.Hang("apps.connections.open")
	h.fake.Offline(true)
	h.fake.Disconnect()
	dt := talkWhileDown(t, h, ch, b)
	h.fake.Offline(false)
	h.clock.Set(time.Now().UTC().Add(time.Minute))
	h.fake.Unhang()
	if err := h.fake.WaitConnections(h.ctx, 2); err != nil {
		t.Fatal(err)
	}
	if r := h.backfilled(); r.err != nil {
		t.Fatalf("backfill on reconnect: %v", r.err)
	}
	tl := h.timeline("INC-1")
	checkRecovered(t, tl, dt.want)
	if len(tl) != liveCount+len(dt.want) {
		t.Errorf("timeline has %d entries, want %d:\n%s", len(tl), liveCount+len(dt.want), joinEntries(entries(tl)))
	}
	for _, id := range dt.redeliver {
		d, err := h.fake.Redeliver(h.ctx, id)
		h.ok("redeliver "+id, d, err)
	}
	if tl := h.timeline("INC-1"); len(tl) != liveCount+len(dt.want) {
		t.Errorf("after redeliveries the timeline has %d entries, want %d", len(tl), liveCount+len(dt.want))
	}
}

// TestBackfillRateLimited: Slack answers 429 with Retry-After; the
// backfill waits that long on the adapter's clock (no test sleeps) and
// goes on.
func TestBackfillRateLimited(t *testing.T) {
	var waits []time.Duration
	h := newHarness(t, overHTTP, func(c *slack.Config) {
		c.After = func(d time.Duration) <-chan time.Time {
			waits = append(waits, d)
			ch := make(chan time.Time, 1)
			ch <- time.Now()
			return ch
		}
	})
	h.clock.Set(time.Now().UTC().Add(-time.Minute))
	h.command(alice, h.fake.General(), "declare Checkout is down sev2")
	h.deliver()
	ch := h.incident("INC-1").Channels[bot.Slack]
	h.fake.Offline(true)
	ts, _, err := h.fake.Say(h.ctx, alice, ch, "said while down")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.fake.Reply(h.ctx, bob, ch, ts, "replied while down"); err != nil {
		t.Fatal(err)
	}
	h.fake.Offline(false)
	h.fake.Inject(slacktest.Fault{Method: "conversations.history", Times: 2, Status: http.StatusTooManyRequests, RetryAfter: 30})
	h.fake.Inject(slacktest.Fault{Method: "conversations.replies", Times: 1, Status: http.StatusTooManyRequests, RetryAfter: 5})
	waits = nil
	st, err := h.sl.Backfill(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.RateLimited != 3 || fmt.Sprint(waits) != "[30s 30s 5s]" {
		t.Errorf("rate limited %d times, waited %v; want 3 waits of 30s 30s 5s", st.RateLimited, waits)
	}
	tl := h.timeline("INC-1")
	for _, text := range []string{"said while down", "replied while down"} {
		if ev, ok := find(tl, bot.EventMessage, text); !ok || !ev.Recovered {
			t.Errorf("%q not recovered: %v", text, entries(tl))
		}
	}
}

// TestBigBackfillKeepsLiveEvents: a channel with 10k messages missed is
// read back beside the live events: while the backfill is held between
// two pages of history, a live message is acknowledged and recorded;
// then the backfill ends with all 10k once.
func TestBigBackfillKeepsLiveEvents(t *testing.T) {
	missed := 10000
	if raceDetector {
		missed = 2000 // still ten pages; see race_test.go
	}
	gate := &pageGate{base: http.DefaultTransport, at: 3, reached: make(chan struct{}), release: make(chan struct{})}
	h := newHarness(t, overHTTP, func(c *slack.Config) { c.HTTPClient = &http.Client{Transport: gate, Timeout: time.Minute} })
	h.clock.Set(time.Now().UTC().Add(-time.Minute))
	h.command(alice, h.fake.General(), "declare Checkout is down sev2")
	h.deliver()
	ch := h.incident("INC-1").Channels[bot.Slack]
	if err := h.fake.Backdate(bob, ch, missed); err != nil {
		t.Fatal(err)
	}
	h.clock.Set(time.Now().UTC().Add(time.Hour))

	type result struct {
		st   slack.BackfillStats
		err  error
		took time.Duration
	}
	done := make(chan result, 1)
	go func() {
		start := time.Now()
		st, err := h.sl.Backfill(h.ctx)
		done <- result{st, err, time.Since(start)}
	}()
	select {
	case <-gate.reached:
	case <-time.After(waitFor):
		t.Fatal("the backfill never reached its third page")
	}
	// The backfill is mid-way, waiting for Slack: a live event is
	// acknowledged and recorded all the same.
	h.say(alice, ch, "live while the backfill runs")
	tl := h.timeline("INC-1")
	if _, ok := find(tl, bot.EventMessage, "live while the backfill runs"); !ok {
		t.Error("the live message was acknowledged but not recorded")
	}
	select {
	case r := <-done:
		t.Fatalf("the backfill ended before its third page was answered: %+v %v", r.st, r.err)
	default:
	}
	close(gate.release)
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	tl = h.timeline("INC-1")
	n := 0
	seen := map[string]bool{}
	for _, ev := range tl {
		if ev.Recovered && ev.Author.ID == bob {
			n++
			if seen[ev.MessageID] {
				t.Fatalf("%s recovered twice", ev.MessageID)
			}
			seen[ev.MessageID] = true
		}
	}
	// The bot's own summary, never echoed live here, is recovered too.
	if n != missed || r.st.Messages != missed+1 {
		t.Errorf("recovered %d (stats %+v), want %d", n, r.st, missed)
	}
	t.Logf("backfilled %d messages in %s over %d calls", missed, r.took.Round(time.Millisecond), r.st.Calls)
}

// pageGate holds the at-th conversations.history call until release is
// closed, and says when it got there.
type pageGate struct {
	base             http.RoundTripper
	at               int32
	n                atomic.Int32
	reached, release chan struct{}
}

func (g *pageGate) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/conversations.history") && g.n.Add(1) == g.at {
		close(g.reached)
		select {
		case <-g.release:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	return g.base.RoundTrip(r)
}

// BenchmarkBackfill is the backfill's figure: 10k messages missed in one
// channel read back from the fake (50 pages of history, blocks and all)
// into a fresh store, as messages per second, next to the reference of
// the same 10k entries committed straight through Service.Record by 64
// writers: what reading, translating and paging cost on top of storing.
func BenchmarkBackfill(b *testing.B) {
	const missed = 10000
	fake := slacktest.New()
	b.Cleanup(fake.Close)
	fake.AddUser(slacktest.User{ID: bob, Name: "bob", TZ: "UTC"})
	ch := fake.AddChannel("inc-1-bench", bob, bob, fake.BotUserID)
	declared := time.Now().Add(-time.Minute)
	if err := fake.Backdate(bob, ch, missed); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	open := func() *workflows.Service {
		db := bolttest.Open(b)
		err := db.Update(ctx, func(tx store.Tx) error {
			n, err := tx.NextIncidentNumber()
			if err != nil {
				return err
			}
			inc := &bot.Incident{ID: bot.IncidentID(n), Number: n, Title: "bench", Severity: bot.SEV2,
				Status: bot.StatusInvestigating, Kind: bot.KindReal, DeclaredAt: declared,
				Channels: map[bot.Platform]string{bot.Slack: ch}}
			if err := tx.PutIncident(inc); err != nil {
				return err
			}
			return tx.PutChannel(bot.Channel{Platform: bot.Slack, ID: ch}, inc.ID)
		})
		if err != nil {
			b.Fatal(err)
		}
		return &workflows.Service{Store: db, Config: workflows.DefaultConfig()}
	}
	var refEvents []bot.TimelineEvent
	for _, m := range fake.Messages(ch) {
		refEvents = append(refEvents, bot.TimelineEvent{Kind: bot.EventMessage, Author: bot.User{Platform: bot.Slack, ID: bob, Name: "bob"},
			Text: m.Text, MessageID: m.TS, DedupeKey: "slack/" + ch + "/" + m.TS, Recovered: true})
	}
	var debRates, refRates []float64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		svc := open()
		start := time.Now()
		var wg sync.WaitGroup
		sem := make(chan struct{}, 64)
		for _, ev := range refEvents {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				if _, err := svc.Record(ctx, bot.Channel{Platform: bot.Slack, ID: ch}, ev); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
		refRates = append(refRates, float64(len(refEvents))/time.Since(start).Seconds())

		svc = open()
		sl := slack.New(svc, slack.Config{BotToken: fake.BotToken, APIURL: fake.APIURL(), SigningSecret: fake.SigningSecret})
		b.StartTimer()
		start = time.Now()
		st, err := sl.Backfill(ctx)
		if err != nil || st.Messages != missed {
			b.Fatalf("backfill = %+v, %v", st, err)
		}
		debRates = append(debRates, missed/time.Since(start).Seconds())
	}
	b.StopTimer()
	d, r := median(debRates), median(refRates)
	b.ReportMetric(d, "msgs/s")
	b.ReportMetric(r, "ref_msgs/s")
	b.ReportMetric(d/r, "x_of_ref")
	b.ReportMetric(missed/d, "s/10k")
}

// TestBackfillChannelGone: an incident channel deleted by hand (every
// call answers channel_not_found) is logged and skipped, changing nothing
// in its timeline, and the other channels are still read back; a Slack
// answering 500 fails the run, to be tried again, and recovers nothing
// twice when it is.
func TestBackfillChannelGone(t *testing.T) {
	h := newHarness(t, overHTTP)
	h.clock.Set(time.Now().UTC().Add(-time.Minute))
	h.command(alice, h.fake.General(), "declare Checkout is down sev2")
	h.command(alice, h.fake.General(), "declare Search is slow sev3")
	h.deliver()
	gone, ch := h.incident("INC-1").Channels[bot.Slack], h.incident("INC-2").Channels[bot.Slack]
	h.say(alice, gone, "said before the channel was deleted")
	before := entries(h.timeline("INC-1"))
	h.fake.Offline(true)
	if _, _, err := h.fake.Say(h.ctx, bob, ch, "said while down"); err != nil {
		t.Fatal(err)
	}
	h.fake.Offline(false)
	h.fake.DeleteChannel(gone)

	h.fake.Inject(slacktest.Fault{Method: "conversations.history", Times: 2, Status: http.StatusInternalServerError})
	if _, err := h.sl.Backfill(h.ctx); err == nil || !strings.Contains(err.Error(), "INC-2") {
		t.Errorf("backfill with Slack answering 500 = %v, want an error naming INC-2", err)
	}
	st, err := h.sl.Backfill(h.ctx)
	if err != nil {
		t.Fatalf("backfill with a deleted channel = %v, want it skipped", err)
	}
	// Its summary, which the fake never echoed live, is recovered too.
	if st.Channels != 1 || st.Messages != 2 {
		t.Errorf("stats = %+v, want INC-2's channel read, its summary and message recovered", st)
	}
	if ev, ok := find(h.timeline("INC-2"), bot.EventMessage, "said while down"); !ok || !ev.Recovered {
		t.Errorf("INC-2 not read back: %v", entries(h.timeline("INC-2")))
	}
	if got := entries(h.timeline("INC-1")); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Errorf("INC-1 changed: %v, was %v", got, before)
	}
	if !strings.Contains(h.logs.String(), "backfill: the channel cannot be read back") || !strings.Contains(h.logs.String(), "channel_not_found") {
		t.Errorf("the deleted channel was not logged:\n%s", h.logs.String())
	}
}
