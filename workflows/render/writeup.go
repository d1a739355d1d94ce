package render

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/debrief/debrief/bot"
)

// Writeup renders the post-mortem as one Markdown document, in the spirit
// of Etsy's Morgue: the facts and Morgue's time fields (each in UTC and in
// loc), the summary and impact, the key events, the whole timeline as it
// was recorded (grouped by hour, edits and deletions shown as such), the
// meeting, the countermeasures, the contributing factors and what the
// blameless lint found. It is a pure function of its inputs, so the same
// incident always renders the same bytes: the bytes WriteWriteup streams.
//
// What was said after close (bot.TimelineEvent.AfterClose) is not part of
// it: the write-up is the record as it stood when the incident closed.
func Writeup(inc *bot.Incident, tl []bot.TimelineEvent, loc *time.Location) string {
	var b strings.Builder
	b.Grow(4096 + len(tl)*96)
	w := &writer{out: &b, loc: loc}
	_ = w.writeup(inc, Slice(tl)) // a Slice and a Builder never fail
	return b.String()
}

// Entries is a timeline read a page at a time, oldest first: it calls fn
// with each page in turn and returns fn's first error, or its own. Each
// call must yield the same entries: WriteWriteup reads it twice (the key
// events, then every entry), so that neither pass holds the timeline.
type Entries func(fn func(page []bot.TimelineEvent) error) error

// Slice is Entries over a timeline held in memory, in one page.
func Slice(tl []bot.TimelineEvent) Entries {
	return func(fn func([]bot.TimelineEvent) error) error { return fn(tl) }
}

// WriteWriteup writes Writeup's bytes to out, reading the timeline from tl
// page by page: what it holds is a page and the IDs of the messages that
// edits and deletions refer to, whatever the timeline's length.
func WriteWriteup(out io.Writer, inc *bot.Incident, tl Entries, loc *time.Location) error {
	bw := bufio.NewWriterSize(out, 64<<10)
	w := &writer{out: bw, loc: loc, flush: bw.Flush}
	if err := w.writeup(inc, tl); err != nil {
		return err
	}
	return bw.Flush()
}

func (w *writer) writeup(inc *bot.Incident, tl Entries) error {
	tl = beforeClose(tl)
	w.header(inc)
	w.times(inc)
	w.section("Summary", inc.Summary, bot.VerbPostmortemSummary)
	w.section("Impact", inc.Impact, bot.VerbPostmortemImpact)
	w.drill(inc)
	n, refs, err := w.keyEvents(tl)
	if err != nil {
		return err
	}
	if err := w.timeline(tl, n, refs); err != nil {
		return err
	}
	w.meeting(inc)
	w.countermeasures(inc)
	w.factors(inc)
	w.lint(inc)
	return nil
}

// stringWriter is where a writer writes: a strings.Builder, or a
// bufio.Writer whose sticky error flush reports.
type stringWriter interface {
	io.Writer
	io.StringWriter
}

type writer struct {
	out stringWriter
	loc *time.Location
	buf []byte
	// flush, when set, pushes what is buffered out after each page and
	// reports the first write error, so that a reader gone away stops the
	// render at the next page rather than at the end.
	flush func() error
	names map[bot.User]string
}

// name is mdName(u), remembered for the first maxNames authors: a
// timeline's authors are few and each renders a line per entry, and the
// name's allocation is garbage collected on the CPU the acknowledgements
// need (README, "Benchmarks").
func (w *writer) name(u bot.User) string {
	if n, ok := w.names[u]; ok {
		return n
	}
	n := mdName(u)
	if w.names == nil {
		w.names = map[bot.User]string{}
	}
	if len(w.names) < maxNames {
		w.names[u] = n
	}
	return n
}

// maxNames bounds writer.names, whatever the timeline.
const maxNames = 256

// page ends a page of the timeline.
func (w *writer) page() error {
	if w.flush == nil {
		return nil
	}
	return w.flush()
}

func (w *writer) s(parts ...string) {
	for _, p := range parts {
		_, _ = w.out.WriteString(p)
	}
}

func (w *writer) time(t time.Time, layout string) {
	w.buf = t.AppendFormat(w.buf[:0], layout)
	_, _ = w.out.Write(w.buf)
}

// alsoUTC writes " (t in UTC)" when the write-up's zone is not at UTC's
// offset at t; the same time twice says nothing.
func (w *writer) alsoUTC(t time.Time, layout string) {
	if SameAsUTC(t, w.loc) {
		return
	}
	w.s(" (")
	w.time(t.UTC(), layout)
	w.s(")")
}

// IsUTC reports whether loc is UTC by name ("UTC", "Etc/UTC"...), for
// tables whose columns cannot come and go with the offset.
func IsUTC(loc *time.Location) bool {
	switch loc.String() {
	case "UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu":
		return true
	}
	return false
}

func (w *writer) header(inc *bot.Incident) {
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
func (w *writer) times(inc *bot.Incident) {
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

func span(from, to time.Time) string {
	if from.IsZero() || to.IsZero() {
		return "-"
	}
	d := to.Sub(from).Round(time.Minute)
	if d < time.Minute {
		return to.Sub(from).Round(time.Second).String()
	}
	return Duration(d)
}

// Duration renders whole minutes without the zero units Go prints: 1h,
// 45m, 1h30m.
func Duration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func (w *writer) section(title, text string, v bot.Verb) {
	w.s("\n## ", title, "\n\n")
	if strings.TrimSpace(text) == "" {
		w.s("_Not written yet: `", bot.Syntax(v), "`._\n")
		return
	}
	// Written as Markdown on purpose (it is the author's prose), with
	// hidden characters made visible.
	w.s(Visible(text), "\n")
}

// beforeClose is tl without the entries said after close; a page with
// none is passed on as it is (the common case: no copy).
func beforeClose(tl Entries) Entries {
	return func(fn func([]bot.TimelineEvent) error) error {
		return tl(func(page []bot.TimelineEvent) error {
			for i, ev := range page {
				if !ev.AfterClose {
					continue
				}
				kept := append(make([]bot.TimelineEvent, 0, len(page)-1), page[:i]...)
				for _, ev := range page[i+1:] {
					if !ev.AfterClose {
						kept = append(kept, ev)
					}
				}
				return fn(kept)
			}
			return fn(page)
		})
	}
}

// keyEvents lists what was marked key (pins, the key reaction) and every
// step of the lifecycle, severity and roles: the skeleton of the story. It
// also counts the entries, which the timeline's heading names, and
// collects the messages edits and deletions refer to, the only ones the
// timeline must remember.
func (w *writer) keyEvents(tl Entries) (n int, refs map[string]bool, err error) {
	w.s("\n## Key events\n\n")
	keys := 0
	refs = map[string]bool{}
	err = tl(func(page []bot.TimelineEvent) error {
		n += len(page)
		for _, ev := range page {
			switch ev.Kind {
			case bot.EventEdit, bot.EventDelete:
				refs[ev.MessageID] = true
				continue
			case bot.EventKey, bot.EventLifecycle, bot.EventSeverity, bot.EventRole:
			default:
				continue
			}
			keys++
			w.s("- ")
			w.time(ev.RecordedAt.In(w.loc), "2006-01-02 15:04 MST")
			w.alsoUTC(ev.RecordedAt, "15:04 UTC")
			w.s(" ", w.name(ev.Author), ": ", mdText(ev.Text), "\n")
		}
		return w.page()
	})
	if err != nil {
		return 0, nil, err
	}
	if keys == 0 {
		w.s("_None._\n")
	}
	return n, refs, nil
}

// timeline renders every entry, oldest first, under an hour heading. Chat
// lines are quoted as they were said; they are never linted. n is how
// many entries tl holds; refs the message IDs edits and deletions name.
func (w *writer) timeline(tl Entries, n int, refs map[string]bool) error {
	w.s("\n## Timeline (", w.loc.String(), ")\n\n", strconv.Itoa(n), " entries, times in ", w.loc.String(), ".\n")
	said := make(map[string]time.Time, len(refs))
	var hour time.Time
	return tl(func(page []bot.TimelineEvent) error {
		for _, ev := range page {
			w.entry(ev, said, refs, &hour)
		}
		return w.page()
	})
}

func (w *writer) entry(ev bot.TimelineEvent, said map[string]time.Time, refs map[string]bool, hour *time.Time) {
	at := ev.RecordedAt.In(w.loc)
	if h := at.Truncate(time.Hour); !h.Equal(*hour) {
		*hour = h
		w.s("\n### ")
		w.time(at, "2006-01-02 15:00 MST")
		w.alsoUTC(at, "15:00 UTC")
		w.s("\n\n")
	}
	w.s("- ")
	w.time(at, "15:04:05")
	w.s(" **", w.name(ev.Author), "**")
	switch ev.Kind {
	case bot.EventMessage:
		if ev.MessageID != "" && refs[ev.MessageID] {
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

// ref names the message an edit or deletion applies to by when it was said.
func (w *writer) ref(said map[string]time.Time, id string) string {
	if at, ok := said[id]; ok {
		w.buf = at.In(w.loc).AppendFormat(w.buf[:0], "15:04:05")
		return "the message of " + string(w.buf)
	}
	return "a message"
}

func (w *writer) meeting(inc *bot.Incident) {
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

func (w *writer) countermeasures(inc *bot.Incident) {
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

func (w *writer) factors(inc *bot.Incident) {
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

func (w *writer) lint(inc *bot.Incident) {
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

func users(us []bot.User) string {
	names := make([]string, len(us))
	for i, u := range us {
		names[i] = mdName(u)
	}
	return strings.Join(names, ", ")
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
