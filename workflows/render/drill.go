package render

import (
	"fmt"
	"strings"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
)

// Mark prefixes text about inc with bot.DrillMark when inc is a drill, once.
func Mark(inc *bot.Incident, text string) string {
	if inc == nil || !inc.IsDrill() || strings.HasPrefix(text, bot.DrillMark) {
		return text
	}
	return bot.DrillMark + text
}

// Plan renders a drill's plan, one part a line, for the pinned summary,
// the scheduling message and the invite.
func Plan(p bot.DrillPlan) string {
	var b strings.Builder
	for _, f := range []struct{ name, text string }{
		{"Hypothesis", p.Hypothesis}, {"Steady state", p.SteadyState}, {"Fault", p.Fault},
		{"Target", p.Target}, {"Abort if", p.AbortCriteria},
	} {
		if f.text != "" {
			fmt.Fprintf(&b, "%s: %s\n", f.name, f.text)
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// GamedayScheduled is the message posted where a game day was scheduled:
// its start is a time token (At) that reads as loc where no platform
// shows it in the reader's zone.
func GamedayScheduled(g store.Gameday, loc *time.Location) string {
	var b strings.Builder
	when := At(g.Start, loc, bot.StyleLongDateTime, "Mon 2006-01-02 15:04 MST")
	fmt.Fprintf(&b, "%sGame day %s scheduled: %s\nOpens as a drill incident at %s, for %s. Scheduled by %s.",
		bot.DrillMark, g.ID, g.Title, when, Duration(g.Duration), g.ScheduledBy.Display())
	if len(g.Participants) > 0 {
		b.WriteString("\nParticipants: " + users(g.Participants))
	}
	b.WriteString("\n" + Plan(g.Plan))
	return b.String()
}

// GamedayInvite renders a game day as an RFC 5545 iCalendar request, like
// the post-mortem's Invite and with its writer (same escaping of every
// kind of field, CRLF, folding): a stable UID per game day and
// installation (InviteUID), times in UTC, people under the reserved
// .invalid domain. golang-ical wrote it before; its parameter values are
// backslash-escaped, which RFC 5545 has no such thing as, and a newline
// in a name ended the line.
func GamedayInvite(g store.Gameday, install string, now time.Time) string {
	var w icsWriter
	w.line("BEGIN", "", "VCALENDAR")
	w.line("VERSION", "", "2.0")
	w.line("PRODID", "", "-//debrief//debrief//EN")
	w.line("METHOD", "", "REQUEST")
	w.line("BEGIN", "", "VEVENT")
	w.line("UID", "", icsText(InviteUID(g.ID, "gameday", install)))
	w.line("DTSTAMP", "", icsTime(now))
	w.line("DTSTART", "", icsTime(g.Start))
	w.line("DTEND", "", icsTime(g.Start.Add(g.Duration)))
	w.line("SUMMARY", "", icsText(fmt.Sprintf("%sGame day %s: %s", bot.DrillMark, g.ID, g.Title)))
	w.line("DESCRIPTION", "", icsText(fmt.Sprintf("A rehearsed failure: debrief opens a drill incident at the start.\n%s\nScheduled in %s.",
		Plan(g.Plan), g.Zone)))
	w.line("ORGANIZER", ";CN="+icsParam(displayName(g.ScheduledBy)), calAddress(g.ScheduledBy))
	for _, u := range append([]bot.User{g.ScheduledBy}, g.Participants...) {
		w.line("ATTENDEE", ";CN="+icsParam(displayName(u))+";PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT;RSVP=TRUE", calAddress(u))
	}
	w.line("END", "", "VEVENT")
	w.line("END", "", "VCALENDAR")
	return w.b.String()
}

// drill renders the write-up's "Hypothesis vs observed" section of a
// drill: the plan, the measured times from the injection, the verdict.
func (w *writer) drill(inc *bot.Incident) {
	d := inc.Drill
	if d == nil {
		return
	}
	w.s("\n## Hypothesis vs observed\n\n")
	if d.Gameday != "" {
		w.s("This was a drill (game day ", d.Gameday, "), not a real incident: it does not count in the real incidents' figures.\n\n")
	}
	w.s("| | |\n|---|---|\n")
	for _, f := range []struct{ name, text string }{
		{"Hypothesis", d.Plan.Hypothesis}, {"Steady state", d.Plan.SteadyState}, {"Fault", d.Plan.Fault},
		{"Target", d.Plan.Target}, {"Abort criteria", d.Plan.AbortCriteria},
	} {
		if f.text != "" {
			w.s("| ", f.name, " | ", mdCell(f.text), " |\n")
		}
	}
	for _, f := range []struct {
		name string
		at   time.Time
	}{{"Injected", d.InjectedAt}, {"Detected", d.DetectedAt}, {"Aborted", d.AbortedAt}} {
		if !f.at.IsZero() {
			w.s("| ", f.name, " | ")
			w.time(f.at.UTC(), "2006-01-02 15:04:05 UTC")
			w.s(" |\n")
		}
	}
	w.s("| Time to detect (from the injection) | ", measured(d.TimeToDetect()), " |\n")
	w.s("| Time to mitigate (from the injection) | ", measured(d.TimeToMitigate(inc)), " |\n")
	switch d.Verdict {
	case "":
		w.s("| Verdict | _not given yet: `", bot.Syntax(bot.VerbGamedayVerdict), "`_ |\n")
	default:
		w.s("| Verdict | the hypothesis ", string(d.Verdict), " |\n")
	}
	if d.Observed != "" {
		w.s("\n### Observed\n\n", d.Observed, "\n")
	}
}

// measured renders a time measured from the injection, exactly to the
// second: drills are timed on purpose.
func measured(d time.Duration, ok bool) string {
	if !ok {
		return "-"
	}
	return d.Round(time.Second).String()
}
