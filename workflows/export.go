package workflows

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/debrief/debrief/bot"
)

// Export renders the incident's Markdown summary with its full timeline,
// times in loc (DEBRIEF_TZ) with UTC alongside.
func (s *Service) Export(ctx context.Context, id string, loc *time.Location) (string, error) {
	inc, tl, err := s.Timeline(ctx, id)
	if err != nil {
		return "", err
	}
	if loc == nil {
		loc = s.zone()
	}
	return Markdown(inc, tl, loc), nil
}

// Markdown renders an incident and its timeline as a Markdown document.
func Markdown(inc *bot.Incident, tl []bot.TimelineEvent, loc *time.Location) string {
	var b strings.Builder
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return fmt.Sprintf("%s (%s)", t.In(loc).Format("2006-01-02 15:04:05 MST"), t.UTC().Format("15:04:05 UTC"))
	}
	fmt.Fprintf(&b, "# %s: %s\n\n", inc.ID, inc.Title)
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| Severity | %s |\n| Kind | %s |\n| Status | %s |\n", inc.Severity, kindName(inc.Kind), inc.Status.Human())
	if len(inc.Tags) > 0 {
		fmt.Fprintf(&b, "| Tags | %s |\n", strings.Join(inc.Tags, ", "))
	}
	for _, r := range bot.Roles {
		if u, ok := inc.Role(r); ok {
			fmt.Fprintf(&b, "| %s | %s |\n", titleCase(string(r)), u.Display())
		}
	}
	for _, f := range []struct {
		name string
		at   time.Time
	}{
		{"Started", inc.StartedAt}, {"Detected", inc.DetectedAt}, {"Declared", inc.DeclaredAt},
		{"Mitigated", inc.MitigatedAt}, {"Resolved", inc.ResolvedAt}, {"Closed", inc.ClosedAt},
	} {
		fmt.Fprintf(&b, "| %s | %s |\n", f.name, stamp(f.at))
	}
	if !inc.ResolvedAt.IsZero() {
		fmt.Fprintf(&b, "| Time to resolve | %s |\n", inc.ResolvedAt.Sub(inc.DetectedAt).Round(time.Second))
	}
	if inc.Summary != "" {
		fmt.Fprintf(&b, "\n## Summary\n\n%s\n", inc.Summary)
	}
	if pm := inc.Postmortem; pm.Scheduled() {
		fmt.Fprintf(&b, "\n## Post-mortem meeting\n\nScheduled: %s\n", stamp(pm.ScheduledAt))
		if pm.Held() {
			names := make([]string, len(pm.Attendees))
			for i, u := range pm.Attendees {
				names[i] = u.Display()
			}
			fmt.Fprintf(&b, "\nHeld: %s with %s\n", stamp(pm.HeldAt), strings.Join(names, ", "))
		}
		if pm.Notes != "" {
			fmt.Fprintf(&b, "\n%s\n", pm.Notes)
		}
	}
	if len(inc.Countermeasures) > 0 {
		b.WriteString("\n## Countermeasures\n\n| # | Countermeasure | Owner | Due | State |\n|---|---|---|---|---|\n")
		for _, cm := range inc.Countermeasures {
			fmt.Fprintf(&b, "| %d | %s | %s | %s | %s |\n", cm.N, mdCell(cm.Text), cm.Owner.Display(), cm.Due, cm.State)
		}
	}
	fmt.Fprintf(&b, "\n## Timeline (%s)\n\n", loc)
	for _, ev := range tl {
		fmt.Fprintf(&b, "- %s **%s** _%s_ %s", ev.RecordedAt.In(loc).Format("2006-01-02 15:04:05"), ev.Author.Display(), ev.Kind, mdLine(ev.Text))
		if ev.URL != "" {
			fmt.Fprintf(&b, " (%s)", ev.URL)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// mdLine keeps a chat message on one list item.
func mdLine(s string) string { return strings.ReplaceAll(s, "\n", " / ") }

// mdCell keeps text inside one table cell.
func mdCell(s string) string { return strings.ReplaceAll(mdLine(s), "|", `\|`) }
