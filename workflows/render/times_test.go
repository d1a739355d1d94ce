package render_test

import (
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows/render"
)

// stamps returns the time tokens in text, in order.
func stamps(text string) []bot.Stamp {
	var out []bot.Stamp
	bot.ExpandTimes(text, func(st bot.Stamp) string { out = append(out, st); return "" }, nil)
	return out
}

func berlin(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestAt: a time for many readers is a token of the instant whose
// fallback is When in the operator's zone.
func TestAt(t *testing.T) {
	at := time.Date(2026, 3, 2, 13, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		loc      *time.Location
		fallback string
	}{
		{time.UTC, "2026-03-02 13:00 UTC"},
		{berlin(t), "2026-03-02 14:00 CET (13:00 UTC)"},
	} {
		tok := render.At(at, tc.loc, bot.StyleDateTime, "2006-01-02 15:04 MST")
		st, ok := bot.ParseTimeToken(tok)
		if !ok || !st.At.Equal(at) || st.Style != bot.StyleDateTime || st.Fallback != tc.fallback {
			t.Errorf("At in %s = %q (%+v, %v), want %s with fallback %q", tc.loc, tok, st, ok, at, tc.fallback)
		}
	}
}

// TestSummaryTimes: the pinned summary's declare time, and a drill's
// planned start, are tokens; read as text they are in the configured zone.
func TestSummaryTimes(t *testing.T) {
	declared := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	planned := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	inc := &bot.Incident{ID: "INC-7", Title: "Disk at 90%", Severity: bot.SEV4, Kind: bot.KindDrill,
		Status: bot.StatusInvestigating, DeclaredAt: declared, DeclaredBy: grace,
		Drill: &bot.Drill{Gameday: "GD-1", ScheduledAt: planned, Plan: bot.DrillPlan{Hypothesis: "alerts fire"}}}
	s := render.Summary(inc, berlin(t))
	got := stamps(s)
	if len(got) != 2 || !got[0].At.Equal(planned) || !got[1].At.Equal(declared) {
		t.Fatalf("summary %q carries %+v, want the planned start then the declare time", s, got)
	}
	text := bot.TimeText(s)
	for _, want := range []string{"scheduled for 2026-03-02 10:30 CET (09:30 UTC)", "Declared 2026-03-02 11:00 CET (10:00 UTC) by @grace."} {
		if !strings.Contains(text, want) {
			t.Errorf("summary as text = %q, want %q", text, want)
		}
	}
}

// TestGamedayScheduledTime: the game day's start is a long-form token.
func TestGamedayScheduledTime(t *testing.T) {
	start := time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)
	s := render.GamedayScheduled(store.Gameday{ID: "GD-1", Title: "Failover", Start: start, Duration: time.Hour, ScheduledBy: grace}, time.UTC)
	got := stamps(s)
	if len(got) != 1 || !got[0].At.Equal(start) || got[0].Style != bot.StyleLongDateTime || got[0].Fallback != "Thu 2026-03-05 10:00 UTC" {
		t.Errorf("game day post %q carries %+v", s, got)
	}
}

// TestWriteupHasNoTokens: the write-up is a Markdown file, not chat: its
// times are written with their zones, never as tokens.
func TestWriteupHasNoTokens(t *testing.T) {
	inc, tl := realisticIncident(50)
	md := render.Writeup(inc, tl, berlin(t))
	if strings.ContainsAny(md, "\ufdd0\ufdd1") {
		t.Errorf("the write-up carries a time token")
	}
}

// TestTimelineLineMarks: an entry recovered from the platform's history,
// or said after close, says so beside its kind.
func TestTimelineLineMarks(t *testing.T) {
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	ev := bot.TimelineEvent{Kind: bot.EventMessage, Author: bot.User{Platform: bot.Slack, ID: "U1", Name: "ada"}, Text: "db is back", RecordedAt: at}
	for _, tc := range []struct {
		recovered, afterClose bool
		want                  string
	}{
		{false, false, "[message] db is back"},
		{true, false, "[message, recovered] db is back"},
		{false, true, "[message, after close] db is back"},
		{true, true, "[message, after close, recovered] db is back"},
	} {
		ev.Recovered, ev.AfterClose = tc.recovered, tc.afterClose
		if got := render.TimelineLine(ev, time.UTC); !strings.HasSuffix(got, tc.want) {
			t.Errorf("TimelineLine(recovered %v, after close %v) = %q, want it to end %q", tc.recovered, tc.afterClose, got, tc.want)
		}
	}
}
