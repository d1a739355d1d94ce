package workflows_test

import (
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
)

// TestTimesNotDoubled: in UTC, a time is said once; in another zone, UTC
// follows in parentheses. The answer is shown in the channel, so its time
// is a token (read in each reader's zone), whose fallback is the
// caller's.
func TestTimesNotDoubled(t *testing.T) {
	e := newEnv(t) // 2026-03-02 10:00 UTC
	_, ch := e.resolved("Login errors")
	r := e.run(alice, ch, "postmortem schedule 2026-03-02 14:00 UTC")
	if want := "Post-mortem of INC-1 scheduled for 2026-03-02 14:00 UTC, 1h."; bot.TimeText(r.Text) != want {
		t.Errorf("schedule in UTC = %q, want %q", bot.TimeText(r.Text), want)
	}
	wantStamps(t, r.Text, time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC))
	before := len(e.chat.Calls())
	e.deliver()
	for _, p := range e.posts(before, "Post-mortem of INC-1") {
		if strings.Contains(p, "UTC (") {
			t.Errorf("announcement shows UTC twice: %q", p)
		}
	}
	r = e.run(alice, ch, "postmortem schedule 2026-03-02 16:00 Europe/Berlin")
	if want := "rescheduled for 2026-03-02 16:00 CET (15:00 UTC), 1h."; !strings.Contains(bot.TimeText(r.Text), want) {
		t.Errorf("schedule in Berlin = %q, want %q", bot.TimeText(r.Text), want)
	}
	wantStamps(t, r.Text, time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC))
}

// wantStamps checks that text carries exactly the time tokens of want, in
// order.
func wantStamps(t *testing.T, text string, want ...time.Time) {
	t.Helper()
	var got []time.Time
	bot.ExpandTimes(text, func(st bot.Stamp) string { got = append(got, st.At); return "" }, nil)
	if len(got) != len(want) {
		t.Errorf("%q carries %d time tokens %v, want %v", text, len(got), got, want)
		return
	}
	for i := range got {
		if !got[i].Equal(want[i]) {
			t.Errorf("%q: token %d is %s, want %s", text, i, got[i], want[i])
		}
	}
}

// TestSchedulePastSaysTheEarliest: a start in the past is refused with the
// time now and the earliest start accepted, never "X is in the past; pick
// a time after X".
func TestSchedulePastSaysTheEarliest(t *testing.T) {
	e := newEnv(t)
	_, ch := e.resolved("Login errors")
	e.clock.Set(time.Date(2026, 12, 1, 23, 12, 40, 0, time.UTC))
	err := e.refuse(alice, ch, "postmortem schedule 2026-12-01 23:12 UTC", bot.EINVALID)
	want := "2026-12-01 23:12 UTC has passed: it is 23:12:40 UTC now. The earliest start accepted is 2026-12-01 23:13 UTC."
	if got := bot.ErrorMessage(err); got != want {
		t.Errorf("refusal = %q, want %q", got, want)
	}
	r := e.run(alice, ch, "postmortem schedule 2026-12-01 23:13 UTC")
	if !strings.Contains(r.Text, "23:13 UTC") {
		t.Errorf("the earliest start named was refused: %q", r.Text)
	}
}

// TestScheduleRelative: tomorrow, +3d and "in 2h" are read against the
// clock, in the actor's zone.
func TestScheduleRelative(t *testing.T) {
	e := newEnv(t)                         // 2026-03-02 10:00 UTC
	e.run(alice, general, "tz Asia/Tokyo") // already 19:00 on the 2nd there
	inc, ch := e.resolved("Login errors")
	for _, tc := range []struct {
		cmd  string
		want time.Time
	}{
		{"postmortem schedule tomorrow 09:00", time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)},
		{"postmortem schedule +3d 09:00 UTC", time.Date(2026, 3, 5, 9, 0, 0, 0, time.UTC)},
		{"postmortem schedule in 2h 30m", time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)},
	} {
		e.run(alice, ch, tc.cmd)
		if got := e.incident(inc.ID).Postmortem.ScheduledAt; !got.Equal(tc.want) {
			t.Errorf("%s: scheduled %s, want %s", tc.cmd, got.UTC(), tc.want)
		}
	}
	e.run(alice, ch, "action Add a canary stage @bob due +14d")
	if got := e.incident(inc.ID).Countermeasures[0].Due.String(); got != "2026-03-16" {
		t.Errorf("due +14d = %s, want 2026-03-16 (two weeks after the 2nd, alice's today)", got)
	}
}

// TestScheduleDSTSaid: a time that does not exist, or happens twice, in
// the meeting's zone is scheduled with a note saying which time was taken.
func TestScheduleDSTSaid(t *testing.T) {
	e := newEnv(t)
	inc, ch := e.resolved("Login errors")
	r := e.run(alice, ch, "postmortem schedule 2026-03-29 02:30 Europe/Berlin")
	if !strings.Contains(r.Text, "2026-03-29 02:30 does not exist in Europe/Berlin") || !strings.Contains(r.Text, "Taken as 03:30 CEST") {
		t.Errorf("a skipped time = %q, want it said", r.Text)
	}
	if got := e.incident(inc.ID).Postmortem.ScheduledAt; !got.Equal(time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)) {
		t.Errorf("skipped time scheduled at %s", got.UTC())
	}
	r = e.run(alice, ch, "postmortem schedule 2026-10-25 02:30 Europe/Berlin")
	if !strings.Contains(r.Text, "happens twice") || !strings.Contains(r.Text, "for the second, write 2026-10-25 01:30 UTC") {
		t.Errorf("an ambiguous time = %q, want it said", r.Text)
	}
	if got := e.incident(inc.ID).Postmortem.ScheduledAt; !got.Equal(time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)) {
		t.Errorf("ambiguous time scheduled at %s, want the first (00:30 UTC)", got.UTC())
	}
}

// TestSummaryInConfiguredZone: the pinned summary gives the declare time as
// a token whose fallback is in DEBRIEF_TZ (with UTC beside it), not UTC.
func TestSummaryInConfiguredZone(t *testing.T) {
	e := newEnv(t)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	e.cfg.Zone = berlin
	e.restart()
	before := len(e.chat.Calls())
	e.declare("Login errors")
	posts := e.posts(before, "Declared ")
	if len(posts) != 1 || !strings.Contains(posts[0], "Declared 2026-03-02 11:00 CET (10:00 UTC) by @alice.") {
		t.Errorf("summary = %q, want the declare time in Europe/Berlin", posts)
	}
	// What the chat is given is a token: each reader's own zone where
	// the platform can, the fallback above where not.
	var raw []string
	e.chat.mu.Lock()
	for i := before; i < len(e.chat.calls); i++ {
		if text, ok := e.chat.full[i]; ok && strings.Contains(text, "Declared ") {
			raw = append(raw, text)
		}
	}
	e.chat.mu.Unlock()
	if len(raw) != 1 {
		t.Fatalf("summary posts = %q", raw)
	}
	wantStamps(t, raw[0], time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
}
