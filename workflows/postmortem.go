package workflows

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows/render"
)

// postmortemVerbs book and hold the blameless post-mortem and write its
// parts.
var postmortemVerbs = verbs{
	bot.VerbPostmortemSchedule: {run: (*call).schedule, zones: func(s *Service, ctx context.Context, ch bot.Channel, _ bot.Command) map[string]*time.Location {
		return s.responderZones(ctx, ch)
	}},
	bot.VerbPostmortemHeld:     {run: (*call).held},
	bot.VerbPostmortem:         {run: (*call).postmortem, readOnly: true},
	bot.VerbPostmortemLint:     {view: (*viewCall).lint},
	bot.VerbPostmortemSummary:  {run: (*call).text},
	bot.VerbPostmortemImpact:   {run: (*call).text},
	bot.VerbPostmortemFactor:   {run: (*call).text},
	bot.VerbPostmortemStarted:  {run: (*call).instant},
	bot.VerbPostmortemDetected: {run: (*call).instant},
}

func (c *call) schedule() (Reply, error) {
	var loc *time.Location
	if c.cmd.Zone != "" {
		l, err := time.LoadLocation(c.cmd.Zone)
		if err != nil {
			return Reply{}, bot.Errorf(bot.EINVALID, "Unknown time zone %q.", c.cmd.Zone)
		}
		loc = l
	} else {
		loc = c.loc
	}
	at, note := c.wallTime(loc)
	if !at.After(c.now) {
		// Meetings start on the minute: the earliest one accepted is
		// the next minute, which is what the message names.
		earliest := c.now.Truncate(time.Minute).Add(time.Minute)
		return Reply{}, bot.Errorf(bot.EINVALID, "%s has passed: it is %s now. The earliest start accepted is %s.",
			at.In(loc).Format("2006-01-02 15:04 MST"), c.now.In(loc).Format("15:04:05 MST"), earliest.In(loc).Format("2006-01-02 15:04 MST"))
	}
	dur := c.cmd.Duration
	if dur == 0 {
		dur = c.s.Config.MeetingDuration
	}
	re := c.inc.Postmortem.Scheduled()
	if err := bot.Apply(c.inc, bot.StepSchedule, c.now, c.s.policy()); err != nil {
		return Reply{}, err
	}
	if re {
		c.inc.Postmortem.Sequence++
	}
	c.inc.Postmortem.ScheduledAt = at
	c.inc.Postmortem.Zone = loc.String()
	c.inc.Postmortem.Duration = dur
	verb := "scheduled"
	if re {
		verb = "rescheduled"
	}
	when := render.When(at, loc, "2006-01-02 15:04 MST") + ", " + render.Duration(dur)
	if err := c.event(bot.EventLifecycle, "post-mortem "+verb+" for "+when); err != nil {
		return Reply{}, err
	}
	if err := c.topic(); err != nil {
		return Reply{}, err
	}
	if err := c.post(c.meetingMessage(verb)); err != nil {
		return Reply{}, err
	}
	install, err := installID(c.tx)
	if err != nil {
		return Reply{}, err
	}
	if err := c.effect(PostFile{Name: c.inc.ID + "-postmortem.ics", Content: render.Invite(c.inc, install, c.now),
		Comment: "Calendar invite for the post-mortem of " + c.inc.ID}); err != nil {
		return Reply{}, err
	}
	if err := c.deleteReminders(store.RemindSchedule); err != nil {
		return Reply{}, err
	}
	if err := c.scheduleMeetingReminders(); err != nil {
		return Reply{}, err
	}
	// The answer is shown in the channel: its time is a token, read in
	// the caller's zone where no platform shows the reader's.
	text := fmt.Sprintf("Post-mortem of %s %s for %s, %s.", c.inc.ID, verb,
		render.At(at, loc, bot.StyleDateTime, "2006-01-02 15:04 MST"), render.Duration(dur))
	if note != "" {
		text += "\n" + note
	}
	return Reply{Text: text}, nil
}

// wallTime is the instant the command's day and time (or its "in 2h")
// name in loc, and what must be said about it: a time the clocks skip or
// pass twice that night is never taken silently (bot.LocalTime).
func (c *call) wallTime(loc *time.Location) (time.Time, string) {
	if c.cmd.In > 0 {
		return c.now.Add(c.cmd.In).Truncate(time.Minute).In(loc), ""
	}
	day := c.cmd.DateRel.Resolve(c.cmd.Date, c.now.In(loc))
	return bot.LocalTime(day, c.cmd.Time.Hour, c.cmd.Time.Minute, loc)
}

func (c *call) held() (Reply, error) {
	if len(c.cmd.Users) == 0 {
		return Reply{}, bot.Errorf(bot.EINVALID, "Name who attended.\nUsage: %s", bot.Syntax(bot.VerbPostmortemHeld))
	}
	findings := bot.Lint("notes", c.cmd.Text, append(c.inc.People(), userNames(c.cmd.Users)...))
	if len(findings) > 0 && !c.s.Config.Policy.LintWarnOnly {
		return Reply{}, bot.Errorf(bot.EINVALID, "These notes are not blameless yet; rewrite them and run the command again.\n%s",
			strings.TrimPrefix(render.LintReport(c.inc.ID, findings), "Blameless lint of "+c.inc.ID+": "))
	}
	if err := bot.Apply(c.inc, bot.StepHold, c.now, c.s.policy()); err != nil {
		return Reply{}, err
	}
	c.inc.Postmortem.Attendees = c.cmd.Users
	c.inc.Postmortem.Notes = c.cmd.Text
	names := make([]string, len(c.cmd.Users))
	for i, u := range c.cmd.Users {
		names[i] = u.Display()
	}
	if err := c.event(bot.EventLifecycle, "post-mortem held with "+strings.Join(names, ", ")); err != nil {
		return Reply{}, err
	}
	if err := c.topic(); err != nil {
		return Reply{}, err
	}
	if err := c.deleteReminders(store.RemindMeetingDay, store.RemindMeetingSoon); err != nil {
		return Reply{}, err
	}
	text := fmt.Sprintf("Post-mortem of %s held with %s. The commander can now close it once the countermeasures are in.",
		c.inc.ID, strings.Join(names, ", "))
	if len(findings) > 0 {
		text += "\nWarning: " + render.LintReport(c.inc.ID, findings)
	}
	return Reply{Text: text}, nil
}

// responderZones looks up, before a command's transaction, the zone of
// every responder of the incident in ch: the meeting is announced in each
// person's local time, and platforms may have to be asked.
func (s *Service) responderZones(ctx context.Context, ch bot.Channel) map[string]*time.Location {
	var responders []bot.User
	_ = s.Store.View(ctx, func(tx store.ReadTx) error {
		inc, err := s.incidentIn(tx, ch)
		if err == nil {
			responders = inc.Responders
		}
		return nil // the command itself reports a missing incident
	})
	zones := make(map[string]*time.Location, len(responders))
	for _, u := range responders {
		zones[u.Key()] = s.ZoneOf(ctx, u)
	}
	return zones
}

// meetingMessage announces the meeting: its start as a time token (each
// reader sees their own zone where the platform can show it, the
// operator's elsewhere), then each responder's local time, so that people
// see who is asked to meet at night.
func (c *call) meetingMessage(verb string) string {
	pm := c.inc.Postmortem
	var b strings.Builder
	fmt.Fprintf(&b, "Post-mortem of %s %s: %s, %s. The invite is attached.",
		c.inc.ID, verb, render.At(pm.ScheduledAt, c.s.zone(), bot.StyleLongDateTime, "Mon 2006-01-02 15:04 MST"), render.Duration(pm.Duration))
	type local struct{ who, when string }
	var locals []local
	for _, u := range c.inc.Responders {
		loc := c.zones[u.Key()]
		if loc == nil {
			loc = c.s.zone()
		}
		locals = append(locals, local{u.Display(), pm.ScheduledAt.In(loc).Format("Mon 15:04 MST")})
	}
	sort.SliceStable(locals, func(i, j int) bool { return locals[i].who < locals[j].who })
	for _, l := range locals {
		fmt.Fprintf(&b, "\n%s: %s", l.who, l.when)
	}
	return b.String()
}

// scheduleMeetingReminders (re)sets the reminders before the meeting; one
// whose time has already passed is not set.
func (c *call) scheduleMeetingReminders() error {
	for kind, before := range c.s.Config.MeetingReminders {
		key := reminderKey(c.inc.ID, kind)
		due := c.inc.Postmortem.ScheduledAt.Add(-before)
		var err error
		if due.After(c.now) {
			err = c.tx.PutReminder(store.Reminder{Key: key, IncidentID: c.inc.ID, Kind: kind, Due: due})
		} else {
			err = c.tx.DeleteReminder(key)
		}
		if err != nil {
			return fmt.Errorf("workflows: meeting reminder %s: %w", c.inc.ID, err)
		}
	}
	return nil
}

// writeupFile queues the write-up as a file in the incident's channels:
// a reference, rendered at delivery (WriteupRef), so that the write
// transaction neither reads the timeline nor stores a copy of it.
func (c *call) writeupFile(comment string) error {
	return c.effect(PostFile{Name: c.inc.ID + "-postmortem.md", Writeup: &WriteupRef{Zone: c.s.zone().String()}, Comment: comment})
}

func (c *call) postmortem() (Reply, error) {
	if err := c.writeupFile("Post-mortem write-up of " + c.inc.ID + " as of now."); err != nil {
		return Reply{}, err
	}
	// A closed incident's write-up is published; exporting it again
	// updates the published file.
	if c.inc.Status == bot.StatusClosed && c.s.Publisher != nil {
		if err := c.s.queuePublish(c.tx, c.inc, c.now); err != nil {
			return Reply{}, err
		}
		return Reply{Text: fmt.Sprintf("Posting the write-up of %s and publishing it again.", c.inc.ID), Ephemeral: true}, nil
	}
	return Reply{Text: fmt.Sprintf("Posting the write-up of %s.", c.inc.ID), Ephemeral: true}, nil
}

func (c *viewCall) lint() (Reply, error) {
	findings := bot.LintIncident(c.inc)
	if len(findings) == 0 {
		return Reply{Text: "The write-up of " + c.inc.ID + " has no blameless-lint findings.", Ephemeral: true}, nil
	}
	return Reply{Text: render.LintReport(c.inc.ID, findings), Ephemeral: true}, nil
}

// text sets one of the write-up's texts and records it.
func (c *call) text() (Reply, error) {
	var what string
	switch c.cmd.Verb {
	case bot.VerbPostmortemSummary:
		c.inc.Summary, what = c.cmd.Text, "summary"
	case bot.VerbPostmortemImpact:
		c.inc.Impact, what = c.cmd.Text, "impact"
	case bot.VerbPostmortemFactor:
		c.inc.Factors = append(c.inc.Factors, c.cmd.Text)
		what = fmt.Sprintf("contributing factor #%d", len(c.inc.Factors))
	}
	if err := c.event(bot.EventNote, "post-mortem "+what+": "+c.cmd.Text); err != nil {
		return Reply{}, err
	}
	reply := fmt.Sprintf("Recorded the %s of %s.", what, c.inc.ID)
	if findings := bot.Lint(what, c.cmd.Text, c.inc.People()); len(findings) > 0 {
		reply += "\n" + render.LintReport(c.inc.ID, findings)
	}
	return Reply{Text: reply, Ephemeral: true}, nil
}

// instant sets when the impact started or was detected: responders often
// learn it only afterwards, and MTTD and MTTR are measured from them.
func (c *call) instant() (Reply, error) {
	loc := c.loc
	if c.cmd.Zone != "" {
		l, err := time.LoadLocation(c.cmd.Zone)
		if err != nil {
			return Reply{}, bot.Errorf(bot.EINVALID, "Unknown time zone %q.", c.cmd.Zone)
		}
		loc = l
	}
	at, note := c.wallTime(loc)
	started, detected := c.inc.StartedAt, c.inc.DetectedAt
	what := "started"
	if c.cmd.Verb == bot.VerbPostmortemStarted {
		started = at
	} else {
		detected, what = at, "detected"
	}
	switch {
	case at.After(c.now):
		return Reply{}, bot.Errorf(bot.EINVALID, "%s is in the future: it is %s now.", at.In(loc).Format("2006-01-02 15:04 MST"), c.now.In(loc).Format("15:04 MST"))
	case detected.Before(started):
		return Reply{}, bot.Errorf(bot.EINVALID, "It cannot be detected (%s) before it started (%s).",
			detected.In(loc).Format("2006-01-02 15:04 MST"), started.In(loc).Format("2006-01-02 15:04 MST"))
	case detected.After(c.inc.DeclaredAt):
		return Reply{}, bot.Errorf(bot.EINVALID, "It cannot be detected (%s) after it was declared (%s).",
			detected.In(loc).Format("2006-01-02 15:04 MST"), c.inc.DeclaredAt.In(loc).Format("2006-01-02 15:04 MST"))
	}
	c.inc.StartedAt, c.inc.DetectedAt = started, detected
	if err := c.event(bot.EventNote, fmt.Sprintf("impact %s at %s", what, at.UTC().Format("2006-01-02 15:04 UTC"))); err != nil {
		return Reply{}, err
	}
	text := fmt.Sprintf("%s %s at %s.", c.inc.ID, what, render.When(at, loc, "2006-01-02 15:04 MST"))
	if note != "" {
		text += "\n" + note
	}
	return Reply{Text: text, Ephemeral: true}, nil
}

func userNames(us []bot.User) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.Name, u.ID)
	}
	return out
}
