package workflows_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

// resolved declares an incident as alice with bob and carol as responders
// and resolves it.
func (e *env) resolved(title string) (*bot.Incident, bot.Channel) {
	e.t.Helper()
	inc, ch := e.declare(title)
	e.run(alice, ch, "role scribe @bob")
	e.run(alice, ch, "role comms @carol")
	e.run(alice, ch, "resolve")
	e.deliver()
	return inc, ch
}

// TestScheduleInZones books meetings in several zones, across the DST
// changes of March 2026 (US: the 8th, EU: the 29th), and checks the instant
// and each responder's local time in the announcement.
func TestScheduleInZones(t *testing.T) {
	e := newEnv(t)
	e.run(bob, general, "tz America/New_York")
	e.run(carol, general, "tz Asia/Tokyo")
	inc, ch := e.resolved("Login errors")

	cases := []struct {
		cmd     string
		wantUTC time.Time
		locals  []string
	}{
		// New York switched to EDT (UTC-4) on Sunday 8 March.
		{"postmortem schedule 2026-03-09 10:00 America/New_York", time.Date(2026, 3, 9, 14, 0, 0, 0, time.UTC),
			[]string{"@alice: Mon 14:00 UTC", "@bob: Mon 10:00 EDT", "@carol: Mon 23:00 JST"}},
		// Berlin is still CET (UTC+1) on Friday 27 March...
		{"postmortem schedule 2026-03-27 10:00 Europe/Berlin 45m", time.Date(2026, 3, 27, 9, 0, 0, 0, time.UTC),
			[]string{"@alice: Fri 09:00 UTC", "@bob: Fri 05:00 EDT", "@carol: Fri 18:00 JST"}},
		// ...and CEST (UTC+2) on Monday 30 March.
		{"postmortem schedule 2026-03-30 10:00 Europe/Berlin", time.Date(2026, 3, 30, 8, 0, 0, 0, time.UTC),
			[]string{"@alice: Mon 08:00 UTC", "@bob: Mon 04:00 EDT", "@carol: Mon 17:00 JST"}},
		// No zone: the actor's (bob: New York).
		{"postmortem schedule 2026-03-10 09:30", time.Date(2026, 3, 10, 13, 30, 0, 0, time.UTC),
			[]string{"@bob: Tue 09:30 EDT"}},
	}
	for i, c := range cases {
		before := len(e.chat.Calls())
		e.run(bob, ch, c.cmd)
		e.deliver()
		got := e.incident(inc.ID).Postmortem
		if !got.ScheduledAt.Equal(c.wantUTC) || got.Sequence != i {
			t.Errorf("%s: scheduled %s seq %d, want %s seq %d", c.cmd, got.ScheduledAt.UTC(), got.Sequence, c.wantUTC, i)
		}
		msgs := strings.Join(e.posts(before, "Post-mortem of INC-1"), "\n")
		for _, l := range c.locals {
			if !strings.Contains(msgs, l) {
				t.Errorf("%s: announcement lacks %q:\n%s", c.cmd, l, msgs)
			}
		}
	}
	e.refuse(bob, ch, "postmortem schedule 2026-03-01 10:00 UTC", bot.EINVALID)
}

// TestInviteParsesBack reads the attached .ics back with the library and
// checks UID, UTC start, attendees and SEQUENCE across a reschedule.
func TestInviteParsesBack(t *testing.T) {
	e := newEnv(t)
	_, ch := e.resolved("Queue stuck")
	var uid string
	for seq, c := range []struct {
		cmd   string
		start time.Time
	}{
		{"postmortem schedule 2026-03-04 15:00 Europe/Berlin 90m", time.Date(2026, 3, 4, 14, 0, 0, 0, time.UTC)},
		{"postmortem schedule 2026-03-05 09:00 America/New_York", time.Date(2026, 3, 5, 14, 0, 0, 0, time.UTC)},
	} {
		e.run(alice, ch, c.cmd)
		e.deliver()
		raw, ok := e.chat.file("INC-1-postmortem.ics")
		if !ok {
			t.Fatalf("%s: no invite attached; calls %q", c.cmd, e.chat.Calls())
		}
		cal, err := ics.ParseCalendar(strings.NewReader(raw))
		if err != nil {
			t.Fatalf("parse invite: %v\n%s", err, raw)
		}
		if m := cal.CalendarProperties; len(m) == 0 || !strings.Contains(raw, "METHOD:REQUEST") {
			t.Errorf("invite is not a REQUEST:\n%s", raw)
		}
		evs := cal.Events()
		if len(evs) != 1 {
			t.Fatalf("invite has %d events", len(evs))
		}
		ev := evs[0]
		if uid == "" {
			uid = ev.Id()
		} else if ev.Id() != uid {
			t.Errorf("UID changed on reschedule: %q -> %q", uid, ev.Id())
		}
		start, err := ev.GetStartAt()
		if err != nil || !start.Equal(c.start) || !strings.Contains(raw, "DTSTART:"+c.start.Format("20060102T150405Z")) {
			t.Errorf("%s: DTSTART %s (%v), want %s in UTC", c.cmd, start, err, c.start)
		}
		if p := ev.GetProperty(ics.ComponentPropertySequence); p == nil || p.Value != []string{"0", "1"}[seq] {
			t.Errorf("%s: SEQUENCE = %v, want %d", c.cmd, p, seq)
		}
		var cns []string
		for _, a := range ev.Attendees() {
			cns = append(cns, a.ICalParameters["CN"]...)
		}
		if strings.Join(cns, ",") != "alice,bob,carol" {
			t.Errorf("attendees %q, want alice,bob,carol", cns)
		}
		if org := ev.GetProperty(ics.ComponentPropertyOrganizer); org == nil || org.ICalParameters["CN"][0] != "alice" {
			t.Errorf("organizer = %+v, want the commander", org)
		}
	}
}

// TestMeetingReminders: 24 h and 15 min before the meeting, once each,
// across a restart; rescheduling moves them.
func TestMeetingReminders(t *testing.T) {
	e := newEnv(t)
	_, ch := e.resolved("Cert expired") // Monday 2 March, 10:00 UTC
	e.run(alice, ch, "postmortem schedule 2026-03-04 10:00 UTC")
	base := len(e.chat.Calls())

	steps := []struct {
		advance time.Duration
		want    int
		what    string
	}{
		{23*time.Hour + 59*time.Minute, 0, "just before 24 h ahead"},
		{time.Minute, 1, "24 h ahead"},
		{time.Minute, 0, "again"},
		{23*time.Hour + 43*time.Minute, 0, "16 min ahead"},
		{time.Minute, 1, "15 min ahead"},
		{20 * time.Minute, 0, "after the start"},
	}
	for i, s := range steps {
		e.clock.Advance(s.advance)
		if i == 3 {
			e.restart()
		}
		if n := e.tick(); n != s.want {
			t.Fatalf("%s (%s): fired %d, want %d", s.what, e.clock.Now().Format(time.RFC3339), n, s.want)
		}
	}
	got := e.posts(base, "starts in")
	if len(got) != 2 || !strings.Contains(got[0], "starts in 24h") || !strings.Contains(got[1], "starts in 15m") {
		t.Errorf("meeting reminders = %q", got)
	}
}

// TestScheduleDeadline: a SEV2 resolved on a Thursday must be scheduled
// within 2 working days (by Monday): the nudge comes daily and, past the
// deadline, is announced once.
func TestScheduleDeadline(t *testing.T) {
	e := newEnv(t)
	e.cfg.Announce = map[bot.Platform]string{bot.Console: "incidents"}
	e.restart()
	e.clock.Advance(3 * 24 * time.Hour) // Thursday 5 March
	_, ch := e.declare("Billing job skipped sev2")
	e.run(alice, ch, "resolve")
	e.deliver()
	base := len(e.chat.Calls())
	for day := 1; day <= 5; day++ { // Fri, Sat, Sun, Mon (deadline), Tue
		e.clock.Advance(24 * time.Hour)
		if day == 3 {
			e.restart()
		}
		if n := e.tick(); n != 1 {
			t.Fatalf("day %d: fired %d nudges, want 1", day, n)
		}
	}
	nudges := e.posts(base, "please book it by Mon 2026-03-09 10:00 UTC")
	if len(nudges) != 5 {
		t.Errorf("nudges = %d, want 5 naming the deadline: %q", len(nudges), e.Calls(base))
	}
	overdue := e.posts(base, "has no post-mortem scheduled")
	if len(overdue) != 1 || !strings.HasPrefix(overdue[0], "post incidents ") {
		t.Errorf("overdue announcements = %q, want one in #incidents", overdue)
	}
}

func (e *env) Calls(from int) []string { return e.chat.Calls()[from:] }

// TestHeldLint: blameful notes are refused by default and accepted with a
// warning when the lint is configured to warn.
func TestHeldLint(t *testing.T) {
	for _, warnOnly := range []bool{false, true} {
		e := newEnv(t)
		e.cfg.Policy.LintWarnOnly = warnOnly
		e.restart()
		inc, ch := e.resolved("Disk full")
		e.run(alice, ch, "postmortem schedule 2026-03-02 11:00 UTC")
		e.clock.Advance(2 * time.Hour)
		text := "postmortem held @alice @bob -- bob forgot to rotate the logs; we should have alerted on disk"
		if !warnOnly {
			err := e.refuse(alice, ch, text, bot.EINVALID)
			for _, want := range []string{`"bob forgot" (blame)`, `"should have" (counterfactual)`, "Why did it make sense at the time?"} {
				if !strings.Contains(bot.ErrorMessage(err), want) {
					t.Errorf("refusal %q lacks %q", bot.ErrorMessage(err), want)
				}
			}
			if got := e.incident(inc.ID); got.Postmortem.Held() {
				t.Errorf("refused notes were recorded: %+v", got.Postmortem)
			}
			e.run(alice, ch, "postmortem held @alice @bob -- log rotation depended on a cron job nobody owned")
			continue
		}
		r := e.run(alice, ch, text)
		if !strings.Contains(r.Text, "Warning: Blameless lint of INC-1: 2 findings.") {
			t.Errorf("held with warn-only lint = %q", r.Text)
		}
		if got := e.incident(inc.ID); !got.Postmortem.Held() {
			t.Error("notes not recorded under warn-only lint")
		}
	}
}

type publisher struct {
	mu    sync.Mutex
	fail  int
	files map[string]string
}

func (p *publisher) Publish(ctx context.Context, key, path string, doc *workflows.Document, message string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail > 0 {
		p.fail--
		return "", errors.New("HTTP 502")
	}
	b, err := io.ReadAll(doc.Reader())
	if err != nil {
		return "", err
	}
	content := string(b)
	p.files[path] = content
	return "https://github.test/acme/ops/blob/main/" + path, nil
}

// TestCloseGateEndToEnd walks the gate: each close attempt names exactly
// what is missing, and the close that succeeds posts the write-up,
// announces it and publishes it.
func TestCloseGateEndToEnd(t *testing.T) {
	e := newEnv(t)
	e.cfg.Announce = map[bot.Platform]string{bot.Console: "incidents"}
	pub := &publisher{fail: 1, files: map[string]string{}}
	e.restart()
	e.svc.Publisher, e.svc.PublishPath = pub, "postmortems/"
	inc, ch := e.resolved("Checkout 502s sev1 drill")
	if inc.Kind != bot.KindDrill {
		t.Fatalf("kind = %s, want drill: drills obey the same gate", inc.Kind)
	}
	e.run(alice, ch, "postmortem summary Bob caused the outage with a bad deploy")
	e.run(alice, ch, "action add a canary stage @bob due 2026-03-20")

	attempts := []struct {
		before func()
		want   []string
	}{
		{nil, []string{"has not been scheduled", "has not been marked held", `"Bob caused" (blame) in "Bob caused the outage with a bad deploy"`}},
		{func() { e.run(alice, ch, "postmortem schedule 2026-03-02 12:00 UTC") },
			[]string{"has not started yet", "has not been marked held", `"Bob caused" (blame) in "Bob caused the outage with a bad deploy"`}},
		{func() { e.clock.Advance(3 * time.Hour) }, []string{"has not been marked held", `"Bob caused" (blame) in "Bob caused the outage with a bad deploy"`}},
		{func() { e.run(alice, ch, "postmortem held @alice @bob @carol -- the deploy went out without a canary") },
			[]string{`"Bob caused" (blame) in "Bob caused the outage with a bad deploy"`}},
		{func() { e.run(alice, ch, "postmortem summary A deploy without a canary broke checkout for 12 minutes") }, nil},
	}
	for i, a := range attempts {
		if a.before != nil {
			a.before()
		}
		if a.want == nil {
			break
		}
		msg := bot.ErrorMessage(e.refuse(alice, ch, "close", bot.ECONFLICT))
		got := strings.Count(msg, "\n- ")
		if got == 0 && msg != "" {
			got = 1 // a single reason stands on the first line
		}
		if got != len(a.want) {
			t.Errorf("attempt %d: %d reasons, want %d:\n%s", i, got, len(a.want), msg)
		}
		for _, w := range a.want {
			if !strings.Contains(msg, w) {
				t.Errorf("attempt %d: refusal lacks %q:\n%s", i, w, msg)
			}
		}
	}
	base := len(e.chat.Calls())
	e.run(alice, ch, "close")
	e.deliver()
	md, ok := e.chat.file("INC-1-postmortem.md")
	if !ok || !strings.Contains(md, "## Contributing factors") || !strings.Contains(md, "| Status | closed |") {
		t.Fatalf("write-up not posted on close; calls %q", e.Calls(base))
	}
	if got := e.posts(base, "INC-1 closed"); len(got) != 1 || !strings.HasPrefix(got[0], "post incidents ") {
		t.Errorf("close announcement = %q", got)
	}
	if len(pub.files) != 0 {
		t.Fatal("published despite a failing publisher")
	}
	e.clock.Advance(time.Minute)
	e.deliver()
	if got := pub.files["postmortems/INC-1.md"]; got != md {
		t.Errorf("published write-up differs from the posted one (%d vs %d bytes)", len(got), len(md))
	}
	tl := e.timeline(inc.ID)
	if last := tl[len(tl)-1]; !strings.Contains(last.Text, "published the write-up: https://github.test/acme/ops/blob/main/postmortems/INC-1.md") {
		t.Errorf("last timeline entry = %+v", last)
	}
}

// TestImpactTimes sets when the impact started and was detected, which
// drive MTTD, MTTR and total impact in the write-up.
func TestImpactTimes(t *testing.T) {
	e := newEnv(t)
	inc, ch := e.declare("Slow search") // declared 10:00 UTC
	e.clock.Advance(50 * time.Minute)
	e.run(alice, ch, "resolve")
	e.run(alice, ch, "postmortem started 2026-03-02 10:15 Europe/Berlin") // 09:15 UTC
	e.run(alice, ch, "postmortem detected 2026-03-02 09:40 UTC")
	e.refuse(alice, ch, "postmortem detected 2026-03-02 09:00 UTC", bot.EINVALID) // before it started
	e.refuse(alice, ch, "postmortem detected 2026-03-02 10:30 UTC", bot.EINVALID) // after the declaration
	e.refuse(alice, ch, "postmortem started 2026-03-03 09:00 UTC", bot.EINVALID)  // in the future
	e.run(alice, ch, "postmortem impact Search p99 above 5 s for EU users")
	e.run(alice, ch, "postmortem factor The index rebuild ran at peak time")
	md, err := e.svc.Export(context.Background(), inc.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(md, "| UTC | UTC |") || strings.Contains(md, "UTC (") {
		t.Errorf("the write-up in UTC shows UTC twice:\n%s", md)
	}
	for _, want := range []string{
		"## Times (UTC)\n",
		"| Started | 2026-03-02 09:15 UTC |",
		"| Detected | 2026-03-02 09:40 UTC |",
		"| Time undetected (MTTD) | 25m |",
		"| Time to resolve (MTTR) | 1h10m |",
		"| Total impact | 1h35m |",
		"## Impact\n\nSearch p99 above 5 s for EU users\n",
		"## Contributing factors\n\n- The index rebuild ran at peak time\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("write-up lacks %q:\n%s", want, md)
		}
	}
	r := e.run(alice, ch, "postmortem lint")
	if !strings.Contains(r.Text, "no blameless-lint findings") {
		t.Errorf("lint = %q", r.Text)
	}
	r = e.run(alice, ch, "postmortem factor Someone should have load-tested it")
	if !strings.Contains(r.Text, `"should have" (counterfactual)`) {
		t.Errorf("factor with a counterfactual = %q, want the finding shown", r.Text)
	}
}

// TestPostmortemCommandPostsWriteup: /incident postmortem posts the current
// write-up, even after close.
func TestPostmortemCommandPostsWriteup(t *testing.T) {
	e := newEnv(t)
	_, ch := e.declare("Webhooks delayed sev4")
	e.run(alice, ch, "postmortem")
	e.deliver()
	if md, ok := e.chat.file("INC-1-postmortem.md"); !ok || !strings.HasPrefix(md, "# INC-1: Webhooks delayed") {
		t.Errorf("write-up not posted: %q", e.chat.Calls())
	}
	var _ workflows.Publisher = (*publisher)(nil)
}
