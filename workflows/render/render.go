// Package render turns an incident into the texts people read: the channel
// topic, the pinned summary, a timeline line, the post-mortem write-up
// (Markdown, in the spirit of Etsy's Morgue) and the meeting's iCalendar
// invite. Every function is pure: the same incident renders the same bytes,
// which the golden test of the write-up relies on.
package render

import (
	"fmt"
	"strings"
	"time"

	"github.com/debrief/debrief/bot"
)

// Topic is the incident channel's topic: what a newcomer needs at a glance.
func Topic(inc *bot.Incident) string {
	parts := []string{inc.ID, inc.Severity.String(), inc.Status.Human()}
	if inc.IsDrill() {
		parts = append([]string{"DRILL"}, parts...)
	}
	if c, ok := inc.Role(bot.Commander); ok {
		parts = append(parts, "IC "+c.Display())
	}
	if inc.LastStatus != "" {
		parts = append(parts, inc.LastStatus)
	}
	return strings.Join(parts, " | ")
}

// Summary is the pinned first message of an incident channel. A channel
// has many readers, so its times are time tokens (At): each reader sees
// them in their own zone where the platform can show that, and in loc
// (the operator's DEBRIEF_TZ, with UTC beside it when it differs)
// elsewhere.
func Summary(inc *bot.Incident, loc *time.Location) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s%s: %s\nSeverity: %s | Kind: %s | Status: %s\n", Mark(inc, ""), inc.ID, inc.Title,
		inc.Severity, KindName(inc.Kind), inc.Status.Human())
	if d := inc.Drill; d != nil {
		fmt.Fprintf(&b, "This is a drill (game day %s), scheduled for %s. The plan:\n%s\n", d.Gameday,
			At(d.ScheduledAt, loc, bot.StyleDateTime, "2006-01-02 15:04 MST"), Plan(d.Plan))
	}
	if c, ok := inc.Role(bot.Commander); ok {
		fmt.Fprintf(&b, "Commander: %s\n", c.Display())
	}
	fmt.Fprintf(&b, "Declared %s by %s.\n", At(inc.DeclaredAt, loc, bot.StyleDateTime, "2006-01-02 15:04 MST"), inc.DeclaredBy.Display())
	b.WriteString("Everything said here is recorded in the timeline. /incident help lists the commands.")
	return b.String()
}

// KindName names an incident kind for people: real, drill, near miss.
func KindName(k bot.Kind) string {
	switch k {
	case bot.KindDrill:
		return "drill"
	case bot.KindNearMiss:
		return "near miss"
	}
	return "real"
}

// AfterCloseMark labels a timeline entry said after the incident closed
// (bot.TimelineEvent.AfterClose); RecoveredMark one read back from the
// platform's history after debrief was away (bot.TimelineEvent.Recovered).
const (
	AfterCloseMark = "after close"
	RecoveredMark  = "recovered"
)

// Marks returns the labels an entry carries beside its kind.
func Marks(ev bot.TimelineEvent) []string {
	var m []string
	if ev.AfterClose {
		m = append(m, AfterCloseMark)
	}
	if ev.Recovered {
		m = append(m, RecoveredMark)
	}
	return m
}

// TimelineLine renders one timeline entry for chat and the console, its
// kind followed by its marks: "[message, recovered]".
func TimelineLine(ev bot.TimelineEvent, loc *time.Location) string {
	kind := strings.Join(append([]string{string(ev.Kind)}, Marks(ev)...), ", ")
	s := fmt.Sprintf("%s %s [%s] %s", ev.RecordedAt.In(loc).Format("2006-01-02 15:04:05"), ev.Author.Display(), kind, ev.Text)
	if ev.URL != "" {
		s += " " + ev.URL
	}
	return s
}

// LintReport lists the blameless lint's findings about incident id.
func LintReport(id string, findings []bot.Finding) string {
	var b strings.Builder
	if len(findings) == 1 {
		fmt.Fprintf(&b, "Blameless lint of %s: 1 finding.", id)
	} else {
		fmt.Fprintf(&b, "Blameless lint of %s: %d findings.", id, len(findings))
	}
	for _, f := range findings {
		b.WriteString("\n- " + f.String())
	}
	return b.String()
}

// SameAsUTC reports whether loc reads like UTC at t (its offset is zero
// then), so that showing UTC beside it would say the same time twice.
func SameAsUTC(t time.Time, loc *time.Location) bool {
	_, off := t.In(loc).Zone()
	return off == 0
}

// When renders t in loc with layout, followed by the UTC time of day in
// parentheses ("14:00 CET (13:00 UTC)") only when loc's offset at t is not
// zero: "23:04 UTC (23:04 UTC)" helps nobody.
func When(t time.Time, loc *time.Location, layout string) string {
	s := t.In(loc).Format(layout)
	if !SameAsUTC(t, loc) {
		s += t.UTC().Format(" (15:04 UTC)")
	}
	return s
}

// At writes t for a message many people read (a channel post, an answer
// in the channel) as a time token (bot.TimeToken) in style: Slack and
// Discord show it in each reader's own zone, and where nothing can (the
// console, a topic, a notification's plain text) it reads as When(t, loc,
// layout). Text that is not chat (a GitHub issue, the write-up, the
// timeline) takes When, or bot.TimeText of a text with tokens.
func At(t time.Time, loc *time.Location, style bot.TimeStyle, layout string) string {
	return bot.TimeToken(bot.Stamp{At: t, Style: style, Fallback: When(t, loc, layout)})
}
