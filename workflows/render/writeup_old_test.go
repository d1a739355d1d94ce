package render

import (
	"strconv"
	"strings"
	"time"

	"github.com/debrief/debrief/bot"
)

// oldWriteup is Writeup as it was before it could stream (a copy kept to
// hold the streaming form to the same bytes): it renders the post-mortem as one Markdown document, in the spirit
// of Etsy's Morgue: the facts and Morgue's time fields (each in UTC and in
// loc), the summary and impact, the key events, the whole timeline as it
// was recorded (grouped by hour, edits and deletions shown as such), the
// meeting, the countermeasures, the contributing factors and what the
// blameless lint found. It is a pure function of its inputs, so the same
// incident always renders the same bytes.
func oldWriteup(inc *bot.Incident, tl []bot.TimelineEvent, loc *time.Location) string {
	w := &oldWriter{loc: loc}
	w.grow(len(tl))
	w.header(inc)
	w.times(inc)
	w.section("Summary", inc.Summary, bot.VerbPostmortemSummary)
	w.section("Impact", inc.Impact, bot.VerbPostmortemImpact)
	w.drill(inc)
	w.keyEvents(tl)
	w.timeline(tl)
	w.meeting(inc)
	w.countermeasures(inc)
	w.factors(inc)
	w.lint(inc)
	return w.b.String()
}

type oldWriter struct {
	b   strings.Builder
	loc *time.Location
	buf []byte
}

func (w *oldWriter) grow(events int) { w.b.Grow(4096 + events*96) }

func (w *oldWriter) s(parts ...string) {
	for _, p := range parts {
		w.b.WriteString(p)
	}
}

func (w *oldWriter) time(t time.Time, layout string) {
	w.buf = t.AppendFormat(w.buf[:0], layout)
	w.b.Write(w.buf)
}

// alsoUTC writes " (t in UTC)" when the write-up's zone is not at UTC's
// offset at t; the same time twice says nothing.
func (w *oldWriter) alsoUTC(t time.Time, layout string) {
	if SameAsUTC(t, w.loc) {
		return
	}
	w.s(" (")
	w.time(t.UTC(), layout)
	w.s(")")
}

func (w *oldWriter) header(inc *bot.Incident) {
	mark := ""
	if inc.IsDrill() {
		mark = bot.DrillMark
	}
	w.s("# ", mdText(inc.ID), ": ", mark, mdText(inc.Title), "\n\n| | |\n|---|---|\n")
	w.s("| Severity | ", inc.Severity.String(), " |\n| Kind | ", KindName(inc.Kind), " |\n| Status | ", inc.Status.Human(), " |\n")
	if len(inc.Tags) > 0 {
		w.s("| Tags | ", mdCell(strings.Join(inc.Tags, ", ")), " |\n")
	}
	for _, r := range bot.Roles {
		if u, ok := inc.Role(r); ok {
			w.s("| ", titleCase(string(r)), " | ", strings.ReplaceAll(mdName(u), "|", `\|`), " |\n")
		}
	}
	if len(inc.Responders) > 0 {
		w.s("| Responders | ", strings.ReplaceAll(users(inc.Responders), "|", `\|`), " |\n")
	}
}

// times renders Morgue's time fields and the durations derived from them:
// time undetected (MTTD: detected - started), time to resolve (MTTR:
// resolved - detected) and total impact (resolved - started).
func (w *oldWriter) times(inc *bot.Incident) {
	if IsUTC(w.loc) {
		w.s("\n## Times (UTC)\n\n| | |\n|---|---|\n")
	} else {
		w.s("\n## Times\n\n| | UTC | ", w.loc.String(), " |\n|---|---|---|\n")
	}
	for _, f := range []struct {
		name string
		at   time.Time
	}{
		{"Started", inc.StartedAt}, {"Detected", inc.DetectedAt}, {"Declared", inc.DeclaredAt},
		{"Mitigated", inc.MitigatedAt}, {"Resolved", inc.ResolvedAt}, {"Closed", inc.ClosedAt},
	} {
		w.s("| ", f.name, " | ")
		if f.at.IsZero() {
			if IsUTC(w.loc) {
				w.s("- |\n")
			} else {
				w.s("- | - |\n")
			}
			continue
		}
		if !IsUTC(w.loc) {
			w.time(f.at.UTC(), "2006-01-02 15:04")
			w.s(" | ")
		}
		w.time(f.at.In(w.loc), "2006-01-02 15:04 MST")
		w.s(" |\n")
	}
	w.s("\n| | |\n|---|---|\n")
	if inc.IsDrill() {
		// A drill's figures are measured from the injection (Hypothesis
		// vs observed) and never count as MTTD or MTTR.
		w.s("| Total (declared to resolved) | ", span(inc.DeclaredAt, inc.ResolvedAt), " |\n")
		return
	}
	w.s("| Time undetected (MTTD) | ", span(inc.StartedAt, inc.DetectedAt), " |\n")
	w.s("| Time to resolve (MTTR) | ", span(inc.DetectedAt, inc.ResolvedAt), " |\n")
	w.s("| Total impact | ", span(inc.StartedAt, inc.ResolvedAt), " |\n")
}

func (w *oldWriter) section(title, text string, v bot.Verb) {
	w.s("\n## ", title, "\n\n")
	if strings.TrimSpace(text) == "" {
		w.s("_Not written yet: `", bot.Syntax(v), "`._\n")
		return
	}
	// Written as Markdown on purpose (it is the author's prose), with
	// hidden characters made visible.
	w.s(Visible(text), "\n")
}

// keyEvents lists what was marked key (pins, the key reaction) and every
// step of the lifecycle, severity and roles: the skeleton of the story.
func (w *oldWriter) keyEvents(tl []bot.TimelineEvent) {
	w.s("\n## Key events\n\n")
	n := 0
	for _, ev := range tl {
		switch ev.Kind {
		case bot.EventKey, bot.EventLifecycle, bot.EventSeverity, bot.EventRole:
		default:
			continue
		}
		n++
		w.s("- ")
		w.time(ev.RecordedAt.In(w.loc), "2006-01-02 15:04 MST")
		w.alsoUTC(ev.RecordedAt, "15:04 UTC")
		w.s(" ", mdName(ev.Author), ": ", mdText(ev.Text), "\n")
	}
	if n == 0 {
		w.s("_None._\n")
	}
}

// timeline renders every entry, oldest first, under an hour heading. Chat
// lines are quoted as they were said; they are never linted.
func (w *oldWriter) timeline(tl []bot.TimelineEvent) {
	w.s("\n## Timeline (", w.loc.String(), ")\n\n", strconv.Itoa(len(tl)), " entries, times in ", w.loc.String(), ".\n")
	said := make(map[string]time.Time, len(tl))
	var hour time.Time
	for _, ev := range tl {
		at := ev.RecordedAt.In(w.loc)
		if h := at.Truncate(time.Hour); !h.Equal(hour) {
			hour = h
			w.s("\n### ")
			w.time(at, "2006-01-02 15:00 MST")
			w.alsoUTC(at, "15:00 UTC")
			w.s("\n\n")
		}
		w.s("- ")
		w.time(at, "15:04:05")
		w.s(" **", mdName(ev.Author), "**")
		switch ev.Kind {
		case bot.EventMessage:
			if ev.MessageID != "" {
				said[ev.MessageID] = ev.RecordedAt
			}
			w.s(": ", mdText(ev.Text))
		case bot.EventEdit:
			w.s(" edited ", w.ref(said, ev.MessageID), ": ", mdText(ev.Text))
		case bot.EventDelete:
			w.s(" deleted ", w.ref(said, ev.MessageID))
		case bot.EventFile:
			w.s(" shared ")
			if ev.URL != "" {
				w.s(mdLink(ev.Text, ev.URL))
			} else {
				w.s(mdText(ev.Text))
			}
		case bot.EventKey:
			w.s(" marked a key event: ", mdText(ev.Text))
		default:
			w.s(" \\[", mdText(string(ev.Kind)), "\\] ", mdText(ev.Text))
		}
		if ev.URL != "" && ev.Kind != bot.EventFile {
			w.s(" (", mdURL(ev.URL), ")")
		}
		w.s("\n")
	}
}

// ref names the message an edit or deletion applies to by when it was said.
func (w *oldWriter) ref(said map[string]time.Time, id string) string {
	if at, ok := said[id]; ok {
		w.buf = at.In(w.loc).AppendFormat(w.buf[:0], "15:04:05")
		return "the message of " + string(w.buf)
	}
	return "a message"
}

func (w *oldWriter) meeting(inc *bot.Incident) {
	pm := inc.Postmortem
	w.s("\n## Post-mortem meeting\n\n")
	if !pm.Scheduled() {
		w.s("_Not scheduled yet: `", bot.Syntax(bot.VerbPostmortemSchedule), "`._\n")
		return
	}
	w.s("Scheduled for ")
	w.time(pm.ScheduledAt.In(w.loc), "2006-01-02 15:04 MST")
	w.alsoUTC(pm.ScheduledAt, "2006-01-02 15:04 UTC")
	w.s(", ", Duration(pm.Duration), ".\n")
	if !pm.Held() {
		w.s("\n_Not held yet._\n")
		return
	}
	w.s("\nHeld ")
	w.time(pm.HeldAt.In(w.loc), "2006-01-02 15:04 MST")
	w.s(" with ", users(pm.Attendees), ".\n")
	if pm.Notes != "" {
		w.s("\n### Notes\n\n", Visible(pm.Notes), "\n")
	}
}

func (w *oldWriter) countermeasures(inc *bot.Incident) {
	w.s("\n## Countermeasures\n\n")
	if len(inc.Countermeasures) == 0 {
		w.s("_None recorded: `", bot.Syntax(bot.VerbAction), "`._\n")
		return
	}
	w.s("| # | Countermeasure | Owner | Due | State | Tracker |\n|---|---|---|---|---|---|\n")
	for _, cm := range inc.Countermeasures {
		tracker := "-"
		if cm.Tracker != "" {
			tracker = strings.ReplaceAll(mdURL(cm.Tracker), "|", `\|`)
		}
		w.s("| ", strconv.Itoa(cm.N), " | ", mdCell(cm.Text), " | ", strings.ReplaceAll(mdName(cm.Owner), "|", `\|`), " | ", cm.Due.String(),
			" | ", mdText(string(cm.State)), " | ", tracker, " |\n")
	}
}

func (w *oldWriter) factors(inc *bot.Incident) {
	w.s("\n## Contributing factors\n\n")
	if len(inc.Factors) == 0 {
		w.s("_To fill in: what made this possible, and why did it make sense at the time? `",
			bot.Syntax(bot.VerbPostmortemFactor), "`._\n")
		return
	}
	for _, f := range inc.Factors {
		w.s("- ", mdText(f), "\n")
	}
}

func (w *oldWriter) lint(inc *bot.Incident) {
	w.s("\n## Blameless lint\n\n")
	findings := bot.LintIncident(inc)
	if len(findings) == 0 {
		w.s("No findings in the summary, impact, notes or contributing factors.\n")
		return
	}
	for _, f := range findings {
		w.s("- ", mdText(f.String()), "\n")
	}
}

// drill renders the write-up's "Hypothesis vs observed" section of a
// drill: the plan, the measured times from the injection, the verdict.
func (w *oldWriter) drill(inc *bot.Incident) {
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

// OldWriteup is oldWriteup for the external tests.
var OldWriteup = oldWriteup
