package workflows_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/debrief/debrief/adapters/gameday"
	"github.com/debrief/debrief/adapters/gameday/gamedaytest"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows"
)

const scheduleDrill = "gameday schedule 2026-03-04 14:00 UTC 2h Primary DB failover " +
	"hypothesis: checkout keeps working with < 1% errors steady: checkout error rate " +
	"fault: kill the primary target: db-1 abort: errors above 5% for 5 minutes with: @bob @carol"

// withHook gives the env's Service the real signed hook, pointed at a fake
// chaos tool on the env's clock.
func (e *env) withHook(t *testing.T) *gamedaytest.Tool {
	tool := gamedaytest.New(t, "s3cret", e.clock.Now)
	e.svc.Hook = &gameday.Hook{URL: tool.URL, Secret: []byte("s3cret"), Now: e.clock.Now, Timeout: 2 * time.Second}
	return tool
}

func (e *env) tickGamedays() int {
	e.t.Helper()
	n, err := e.svc.Gamedays().Tick(context.Background(), e.clock.Now())
	if err != nil {
		e.t.Fatalf("Gamedays.Tick: %v", err)
	}
	e.deliver()
	return n
}

func (e *env) gamedays() []store.Gameday {
	e.t.Helper()
	var gs []store.Gameday
	if err := e.db.View(context.Background(), func(tx store.ReadTx) error {
		var err error
		gs, err = tx.Gamedays()
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return gs
}

func hasEvent(tl []bot.TimelineEvent, sub string) bool {
	for _, ev := range tl {
		if strings.Contains(ev.Text, sub) {
			return true
		}
	}
	return false
}

// labelTracker files every issue and remembers its labels.
type labelTracker struct {
	mu     sync.Mutex
	labels [][]string
}

func (f *labelTracker) FileIssue(ctx context.Context, key string, is workflows.Issue, retry bool) (workflows.IssueState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.labels = append(f.labels, is.Labels)
	return workflows.IssueState{Number: 9, URL: "https://github.test/acme/ops/issues/9", Body: is.Body, ByUs: true}, nil
}

func (f *labelTracker) UpdatedIssues(context.Context, time.Time) ([]workflows.IssueState, error) {
	return nil, nil
}

// TestGamedayWholeDrill runs a game day on the injected clock: schedule
// with its invite, the reminders a day and an hour before, the drill
// opened at its time and marked as one, the injection through a fake
// chaos tool that checks the signature, detection, mitigation, the
// verdict, the held post-mortem and the close; the times measured from
// the injection are exact.
func TestGamedayWholeDrill(t *testing.T) {
	e := newEnv(t)
	tool := e.withHook(t)
	tracker := &labelTracker{}
	e.svc.Tracker = tracker
	ctx := context.Background()

	r := e.run(alice, general, scheduleDrill)
	if !strings.Contains(r.Text, "Scheduled game day GD-1") || !strings.HasPrefix(r.Text, bot.DrillMark) {
		t.Errorf("schedule reply = %q", r.Text)
	}
	e.deliver()
	if got := e.posts(0, "Game day GD-1 scheduled"); len(got) != 1 || !strings.HasPrefix(got[0], "post general [DRILL] ") ||
		!strings.Contains(got[0], "Hypothesis: checkout keeps working with < 1% errors") || !strings.Contains(got[0], "Participants: @bob, @carol") {
		t.Errorf("scheduling post = %q; calls %q", got, e.chat.Calls())
	}
	invite, ok := e.chat.file("GD-1-gameday.ics")
	if !ok {
		t.Fatalf("no invite; calls %q", e.chat.Calls())
	}
	cal, err := ics.ParseCalendar(strings.NewReader(invite))
	if err != nil {
		t.Fatalf("invite does not parse: %v\n%s", err, invite)
	}
	ev := cal.Events()[0]
	if start, err := ev.GetStartAt(); err != nil || !start.Equal(time.Date(2026, 3, 4, 14, 0, 0, 0, time.UTC)) {
		t.Errorf("invite starts %v (%v), want 2026-03-04 14:00 UTC", start, err)
	}
	if end, err := ev.GetEndAt(); err != nil || !end.Equal(time.Date(2026, 3, 4, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("invite ends %v (%v), want 2h later", end, err)
	}
	if n := len(ev.Attendees()); n != 3 {
		t.Errorf("invite has %d attendees, want alice, bob and carol", n)
	}

	// Nothing before its time; a day before, then an hour before, once each.
	if n := e.tickGamedays(); n != 0 {
		t.Errorf("Tick at scheduling = %d, want 0", n)
	}
	base := len(e.chat.Calls())
	e.clock.Set(time.Date(2026, 3, 3, 14, 0, 0, 0, time.UTC))
	if n := e.tickGamedays(); n != 1 {
		t.Errorf("Tick a day before = %d, want 1", n)
	}
	if got := e.posts(base, "Reminder: game day GD-1"); len(got) != 1 || !strings.Contains(got[0], "starts in 24h") ||
		!strings.Contains(got[0], "@alice @bob @carol") {
		t.Errorf("day reminder = %q", got)
	}
	e.clock.Advance(time.Hour)
	if n := e.tickGamedays(); n != 0 {
		t.Errorf("Tick after the day reminder = %d, want 0", n)
	}
	e.clock.Set(time.Date(2026, 3, 4, 13, 0, 0, 0, time.UTC))
	if n := e.tickGamedays(); n != 1 {
		t.Errorf("Tick an hour before = %d, want 1", n)
	}
	if got := e.posts(base, "starts in 1h"); len(got) != 1 {
		t.Errorf("hour reminder = %q", got)
	}
	e.clock.Set(time.Date(2026, 3, 4, 13, 59, 59, 0, time.UTC))
	if n := e.tickGamedays(); n != 0 {
		t.Errorf("Tick a second before = %d, want 0", n)
	}

	// At its time, the drill opens, marked as one everywhere.
	base = len(e.chat.Calls())
	e.clock.Set(time.Date(2026, 3, 4, 14, 0, 0, 0, time.UTC))
	if n := e.tickGamedays(); n != 1 {
		t.Fatalf("Tick at the start = %d, want 1", n)
	}
	gs := e.gamedays()
	if len(gs) != 1 || gs[0].IncidentID != "INC-1" {
		t.Fatalf("gamedays = %+v, want GD-1 opened as INC-1", gs)
	}
	inc := e.incident("INC-1")
	if inc.Kind != bot.KindDrill || inc.Drill == nil || inc.Drill.Gameday != "GD-1" || inc.Drill.Plan.Target != "db-1" {
		t.Fatalf("drill incident = %+v", inc)
	}
	if !inc.IsCommander(alice) {
		t.Errorf("commander = %v, want who scheduled it", inc.Roles)
	}
	calls := strings.Join(e.Calls(base), "\n")
	for _, want := range []string{
		"create inc-1-drill-primary-db-failover",
		"invite C-inc-1-drill-primary-db-failover alice,bob,carol",
		"topic C-inc-1-drill-primary-db-failover DRILL | INC-1 | SEV3 | investigating | IC @alice",
		"post C-inc-1-drill-primary-db-failover [DRILL] INC-1: Primary DB failover",
		"pin C-inc-1-drill-primary-db-failover",
	} {
		if !strings.Contains(calls, want) {
			t.Errorf("opening calls lack %q:\n%s", want, calls)
		}
	}
	if got := e.posts(base, "Hypothesis: checkout keeps working"); len(got) != 1 {
		t.Errorf("the plan is not in the pinned summary: %q", got)
	}
	ch := bot.Channel{Platform: bot.Console, ID: inc.Channels[bot.Console]}
	if hasEvent(e.timeline(inc.ID), "late") {
		t.Error("a drill opened on time says it was late")
	}

	// The injection: refused to someone who is not the commander, then
	// made, signed, through the chaos tool.
	e.clock.Advance(5 * time.Minute)
	injected := e.clock.Now()
	e.refuse(bob, ch, "gameday inject", bot.EFORBIDDEN)
	e.deliver()
	if got := tool.Requests(); len(got) != 0 {
		t.Fatalf("refused inject reached the tool: %+v", got)
	}
	r = e.run(alice, ch, "gameday inject")
	if !strings.HasPrefix(r.Text, bot.DrillMark) {
		t.Errorf("reply in a drill is not marked: %q", r.Text)
	}
	e.deliver()
	reqs := tool.Requests()
	if len(reqs) != 1 {
		t.Fatalf("tool got %d requests (refused: %q), want 1", len(reqs), tool.Refused())
	}
	want := gamedaytest.Request{Action: "inject", Drill: "INC-1", Title: "Primary DB failover", Fault: "kill the primary", Target: "db-1", At: injected}
	got := reqs[0]
	if got.Action != want.Action || got.Drill != want.Drill || got.Title != want.Title || got.Fault != want.Fault ||
		got.Target != want.Target || !got.At.Equal(want.At) || got.Delivery == "" {
		t.Errorf("tool got %+v, want %+v", got, want)
	}
	if !hasEvent(e.timeline(inc.ID), "the chaos tool answered 200 to inject") {
		t.Error("the tool's answer is not in the timeline")
	}

	// Detection 3m12s and mitigation 7m12s after the injection.
	e.clock.Advance(3*time.Minute + 12*time.Second)
	if r := e.run(bob, ch, "gameday detected checkout alert fired"); !strings.Contains(r.Text, "3m12s") {
		t.Errorf("detected reply = %q", r.Text)
	}
	e.refuse(bob, ch, "gameday detected", bot.ECONFLICT)
	e.clock.Advance(4 * time.Minute)
	e.run(alice, ch, "mitigate")
	e.clock.Advance(10 * time.Minute)
	e.run(alice, ch, "resolve replica promoted")
	e.run(alice, ch, "action add alert on replication lag before failover @bob due 2026-03-20")
	e.deliver()

	// The same gate as any incident, plus the verdict.
	e.run(alice, ch, "postmortem schedule 2026-03-05 10:00 UTC")
	e.clock.Set(time.Date(2026, 3, 5, 11, 0, 0, 0, time.UTC))
	e.run(alice, ch, "postmortem held @alice @bob @carol -- the promotion took longer than the alert threshold")
	msg := bot.ErrorMessage(e.refuse(alice, ch, "close", bot.ECONFLICT))
	if !strings.Contains(msg, "the drill has no verdict") {
		t.Errorf("close without a verdict: %q", msg)
	}
	e.refuse(bob, ch, "gameday verdict refuted it failed", bot.EFORBIDDEN)
	e.refuse(alice, ch, "gameday verdict refuted bob should have promoted the replica sooner", bot.EINVALID)
	e.run(alice, ch, "gameday verdict refuted checkout errors reached 4% for 6 minutes while the replica was promoted")
	e.deliver()
	e.run(alice, ch, "close")
	e.deliver()

	inc = e.incident("INC-1")
	d := inc.Drill
	if ttd, ok := d.TimeToDetect(); !ok || ttd != 3*time.Minute+12*time.Second {
		t.Errorf("time to detect = %v, %v, want 3m12s", ttd, ok)
	}
	if ttm, ok := d.TimeToMitigate(inc); !ok || ttm != 7*time.Minute+12*time.Second {
		t.Errorf("time to mitigate = %v, %v, want 7m12s", ttm, ok)
	}
	md, ok := e.chat.file("INC-1-postmortem.md")
	if !ok {
		t.Fatal("no write-up at close")
	}
	for _, want := range []string{
		"# INC-1: [DRILL] Primary DB failover",
		"## Hypothesis vs observed",
		"| Hypothesis | checkout keeps working with \\< 1% errors |", // Markdown-escaped: it renders as "<"
		"| Injected | 2026-03-04 14:05:00 UTC |",
		"| Time to detect (from the injection) | 3m12s |",
		"| Time to mitigate (from the injection) | 7m12s |",
		"| Verdict | the hypothesis refuted |",
		"checkout errors reached 4% for 6 minutes",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("write-up lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "MTTD") || strings.Contains(md, "MTTR") {
		t.Error("a drill's write-up counts it in MTTD/MTTR")
	}
	for _, c := range e.chat.Calls() {
		if strings.HasPrefix(c, "post "+ch.ID+" ") && !strings.HasPrefix(c, "post "+ch.ID+" [DRILL] ") {
			t.Errorf("unmarked post in the drill's channel: %q", c)
		}
	}
	tracker.mu.Lock()
	if len(tracker.labels) != 1 || !strings.Contains(strings.Join(tracker.labels[0], ","), "drill") {
		t.Errorf("countermeasure issue labels = %q, want a drill label", tracker.labels)
	}
	tracker.mu.Unlock()

	list, fig, err := e.svc.GamedayList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].TimeToDetect == nil || *list[0].TimeToDetect != 192 || *list[0].TimeToMitigate != 432 ||
		list[0].Verdict != bot.VerdictRefuted || list[0].State != "closed" {
		t.Errorf("GamedayList = %+v", list)
	}
	if fig.Run != 1 || fig.Refuted != 1 || fig.Held != 0 || *fig.MeanTimeToDetect != 192 {
		t.Errorf("figures = %+v", fig)
	}
	if r := e.run(carol, general, "gameday list"); !strings.Contains(r.Text, "GD-1") || !strings.Contains(r.Text, "detected in 3m12s") ||
		!strings.Contains(r.Text, "hypothesis refuted") {
		t.Errorf("gameday list = %q", r.Text)
	}
	if refused := tool.Refused(); len(refused) != 0 {
		t.Errorf("the tool refused our signature: %q", refused)
	}
}

// TestGamedayRestart: a drill scheduled before a restart opens after it;
// one whose time passed while debrief was down opens at start, saying how
// late, and its reminders are not sent late.
func TestGamedayRestart(t *testing.T) {
	e := newEnv(t)
	e.run(alice, general, scheduleDrill)
	e.run(alice, general, "gameday schedule 2026-03-05 09:00 Europe/Berlin Cache eviction hypothesis: p99 stays under 300ms")
	e.deliver()
	e.restart()
	e.clock.Set(time.Date(2026, 3, 4, 14, 0, 30, 0, time.UTC))
	base := len(e.chat.Calls())
	if n := e.tickGamedays(); n != 2 {
		t.Fatalf("Tick after restart = %d, want 2 (GD-1 opens, GD-2's day reminder)", n)
	}
	if gs := e.gamedays(); gs[0].IncidentID != "INC-1" || gs[1].IncidentID != "" || !gs[1].RemindedDay {
		t.Fatalf("gamedays = %+v", gs)
	}
	// GD-2's day reminder was due at 08:00 while debrief was down: it goes
	// out once, late, with the time left.
	if got := e.posts(base, "Reminder: game day GD-2 (Cache eviction) starts in 18h"); len(got) != 1 {
		t.Errorf("GD-2's late day reminder = %q", got)
	}
	if hasEvent(e.timeline("INC-1"), "late") {
		t.Error("a drill opened 30s after its time says it was late")
	}

	// Down from before GD-2's hour reminder until three hours after it.
	e.restart()
	base = len(e.chat.Calls())
	e.clock.Set(time.Date(2026, 3, 5, 11, 0, 0, 0, time.UTC)) // 09:00 CET is 08:00 UTC
	if n := e.tickGamedays(); n != 1 {
		t.Fatalf("Tick after the missed drill = %d, want 1", n)
	}
	gs := e.gamedays()
	if gs[1].IncidentID != "INC-2" {
		t.Fatalf("GD-2 = %+v, want opened as INC-2", gs[1])
	}
	if !hasEvent(e.timeline("INC-2"), "opened 3h late: the drill was due at 2026-03-05 08:00 UTC") {
		t.Errorf("the late drill does not say so: %v", e.timeline("INC-2"))
	}
	if got := e.posts(base, "This drill opened 3h late"); len(got) != 1 || !strings.Contains(got[0], "[DRILL] ") {
		t.Errorf("late post = %q", got)
	}
	if got := e.posts(base, "starts in"); len(got) != 0 {
		t.Errorf("reminders sent late: %q", got)
	}
	if n := e.tickGamedays(); n != 0 {
		t.Errorf("a second Tick = %d, want 0: each drill opens once", n)
	}
	if len(e.incident("INC-2").Responders) == 0 {
		t.Error("no responders")
	}
}

// openDrill schedules a drill a minute ahead and opens it.
func (e *env) openDrill() (*bot.Incident, bot.Channel) {
	e.t.Helper()
	now := e.clock.Now().Add(time.Minute)
	e.run(alice, general, "gameday schedule "+now.Format("2006-01-02 15:04")+" UTC Kill a node hypothesis: the service keeps serving fault: kill node-3 with: @bob")
	e.clock.Set(now)
	e.tickGamedays()
	gs := e.gamedays()
	inc := e.incident(gs[len(gs)-1].IncidentID)
	return inc, bot.Channel{Platform: bot.Console, ID: inc.Channels[bot.Console]}
}

// TestGamedayHookFailures: a chaos tool that answers 500, is down or
// hangs does not stop the drill; the failure is in the timeline, the
// inject is never sent twice, and the injection can be marked by hand. An
// abort is retried until the tool answers.
func TestGamedayHookFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		breakIt func(*gamedaytest.Tool, *gameday.Hook)
		want    string
	}{
		{"500", func(tl *gamedaytest.Tool, _ *gameday.Hook) { tl.Answer(http.StatusInternalServerError) }, "the chaos tool answered 500"},
		{"down", func(tl *gamedaytest.Tool, _ *gameday.Hook) { tl.Close() }, "request not sent"},
		{"hanging", func(tl *gamedaytest.Tool, h *gameday.Hook) { tl.Hang(); h.Timeout = 50 * time.Millisecond }, "no answer within 50ms"},
		{"wrong secret", func(_ *gamedaytest.Tool, h *gameday.Hook) { h.Secret = []byte("other") }, "the chaos tool answered 401"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			tool := e.withHook(t)
			tc.breakIt(tool, e.svc.Hook.(*gameday.Hook))
			inc, ch := e.openDrill()
			if inc.Kind != bot.KindDrill {
				t.Fatalf("the drill did not open: %+v", inc)
			}
			e.run(alice, ch, "gameday inject")
			e.deliver()
			e.clock.Advance(time.Hour)
			e.deliver()
			if n := len(e.effects()); n != 0 {
				t.Errorf("%d effects pending: a failed inject is not retried", n)
			}
			if n := len(tool.Requests()); n > 1 {
				t.Errorf("the tool got %d injects, want at most 1", n)
			}
			tl := e.timeline(inc.ID)
			if !hasEvent(tl, "could not gameday_inject on gameday-hook") || !hasEvent(tl, tc.want) || !hasEvent(tl, "gameday inject manual") {
				var texts []string
				for _, ev := range tl {
					texts = append(texts, ev.Text)
				}
				t.Errorf("timeline lacks the failure %q:\n%s", tc.want, strings.Join(texts, "\n"))
			}
			first := e.incident(inc.ID).Drill.InjectedAt
			e.refuse(alice, ch, "gameday inject", bot.ECONFLICT)
			e.clock.Advance(2 * time.Minute)
			e.run(alice, ch, "gameday inject manual killed node-3 with kubectl")
			e.deliver()
			if got := e.incident(inc.ID).Drill.InjectedAt; !got.Equal(e.clock.Now()) || got.Equal(first) {
				t.Errorf("injection by hand at %v, want %v", got, e.clock.Now())
			}
			if n := len(tool.Requests()); n > 1 {
				t.Errorf("the manual injection called the tool: %d requests", n)
			}
		})
	}

	// debrief stopped during the call: the effect was marked Sent before
	// it, so the next attempt does not call the tool again.
	t.Run("restart during the call", func(t *testing.T) {
		e := newEnv(t)
		tool := e.withHook(t)
		inc, ch := e.openDrill()
		e.run(alice, ch, "gameday inject")
		if err := e.db.Update(context.Background(), func(tx store.Tx) error {
			effs, err := tx.Effects()
			if err != nil {
				return err
			}
			for _, ef := range effs {
				if ef.Kind == "gameday_inject" {
					ef.Sent = true
					return tx.UpdateEffect(ef)
				}
			}
			t.Fatal("no gameday_inject effect queued")
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		e.restart()
		e.svc.Hook = &gameday.Hook{URL: tool.URL, Secret: []byte("s3cret"), Now: e.clock.Now}
		e.deliver()
		if n := len(tool.Requests()); n != 0 {
			t.Errorf("the inject was sent again after a restart during the call: %d requests", n)
		}
		if !hasEvent(e.timeline(inc.ID), "never called twice") {
			t.Errorf("the timeline does not say why the inject was not retried")
		}
		if n := len(e.effects()); n != 0 {
			t.Errorf("%d effects pending", n)
		}
	})

	t.Run("abort retried", func(t *testing.T) {
		e := newEnv(t)
		tool := e.withHook(t)
		_, ch := e.openDrill()
		tool.Answer(http.StatusServiceUnavailable)
		e.run(bob, ch, "gameday abort error budget burning")
		e.deliver()
		if effs := e.effects(); len(effs) != 1 || effs[0].Kind != "gameday_abort" || effs[0].Attempts != 1 {
			t.Fatalf("after a 503, effects = %+v, want the abort pending", effs)
		}
		e.refuse(alice, ch, "gameday abort", bot.ECONFLICT)
		e.refuse(alice, ch, "gameday inject", bot.ECONFLICT)
		tool.Answer(http.StatusOK)
		e.clock.Advance(time.Hour)
		e.deliver()
		if n := len(e.effects()); n != 0 {
			t.Errorf("%d effects pending after the tool recovered", n)
		}
		reqs := tool.Requests()
		if len(reqs) != 2 || reqs[0].Action != "abort" || reqs[1].Delivery != reqs[0].Delivery {
			t.Errorf("tool got %+v, want the same abort twice", reqs)
		}
	})
}

// TestGamedayBadInput: each mistake gets a clear error and changes
// nothing: no game day, no effect, no drill state.
func TestGamedayBadInput(t *testing.T) {
	e := newEnv(t)
	tool := e.withHook(t)
	for _, text := range []string{
		"gameday schedule 2026-03-01 10:00 UTC Failover hypothesis: it holds", // in the past
		"gameday schedule 2026-03-02 09:59 UTC Failover hypothesis: it holds", // a minute ago
		"gameday schedule 2028-03-02 10:00 UTC Failover hypothesis: it holds", // two years ahead
	} {
		e.refuse(alice, general, text, bot.EINVALID)
	}
	for _, text := range []string{
		"gameday schedule 2026-03-04 14:00 UTC Failover",                  // no hypothesis
		"gameday schedule 2026-03-04 14:00 UTC Failover hypothesis:",      // empty hypothesis
		"gameday schedule 2026-02-30 14:00 Failover hypothesis: x",        // no such day
		"gameday schedule 2026-03-04 25:00 Failover hypothesis: x",        // no such time
		"gameday schedule 2026-03-04 14:00 hypothesis: x",                 // no title
		"gameday schedule 2026-03-04 14:00 X hypothesis: a hypothesis: b", // twice
		"gameday schedule 2026-03-04 14:00 X hypothesis: a with: bob",     // not a mention
		"gameday verdict maybe it held",                                   // unknown verdict
		"gameday verdict held",                                            // no observation
	} {
		if _, err := bot.Parse(text); bot.ErrorCode(err) != bot.EINVALID {
			t.Errorf("Parse(%q) = %v, want EINVALID", text, err)
		}
	}
	if gs := e.gamedays(); len(gs) != 0 {
		t.Errorf("gamedays after bad input = %+v", gs)
	}
	e.deliver()
	if got := e.chat.Calls(); len(got) != 0 {
		t.Errorf("bad input caused %q", got)
	}

	// Outside any incident, and in a real incident.
	e.refuse(alice, general, "gameday abort", bot.ENOTFOUND)
	e.refuse(alice, general, "gameday inject", bot.ENOTFOUND)
	real, rch := e.declare("Checkout down")
	for _, text := range []string{"gameday abort", "gameday inject", "gameday detected", "gameday verdict held fine"} {
		e.refuse(alice, rch, text, bot.EINVALID)
	}
	if got := e.incident(real.ID); got.Drill != nil {
		t.Errorf("a real incident got drill state: %+v", got.Drill)
	}

	// In a drill, out of order.
	_, ch := e.openDrill()
	before := len(e.chat.Calls())
	e.refuse(bob, ch, "gameday detected", bot.ECONFLICT)
	e.refuse(alice, ch, "gameday verdict held all good", bot.ECONFLICT)
	e.refuse(carol, ch, "gameday inject", bot.EFORBIDDEN)
	e.deliver()
	if got := e.Calls(before); len(got) != 0 {
		t.Errorf("refused commands caused %q", got)
	}
	if n := len(tool.Requests()); n != 0 {
		t.Errorf("refused commands reached the tool %d times", n)
	}
}
