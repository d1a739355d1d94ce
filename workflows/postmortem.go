package workflows

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
)

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

// meetingMessage announces the meeting with each responder's local time.
func (c *call) meetingMessage(verb string) string {
	pm := c.inc.Postmortem
	var b strings.Builder
	fmt.Fprintf(&b, "Post-mortem of %s %s: %s (%s), %s. The invite is attached.",
		c.inc.ID, verb, pm.ScheduledAt.In(c.scheduleLoc()).Format("Mon 2006-01-02 15:04 MST"),
		pm.ScheduledAt.UTC().Format("15:04 UTC"), humanDuration(pm.Duration))
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

func (c *call) scheduleLoc() *time.Location {
	if loc, err := time.LoadLocation(c.inc.Postmortem.Zone); err == nil {
		return loc
	}
	return time.UTC
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

func (c *call) deleteReminders(kinds ...store.ReminderKind) error {
	for _, k := range kinds {
		if err := c.tx.DeleteReminder(reminderKey(c.inc.ID, k)); err != nil {
			return fmt.Errorf("workflows: %s reminders: %w", c.inc.ID, err)
		}
	}
	return nil
}

// writeupFile queues the write-up as a file in the incident's channels.
func (c *call) writeupFile(comment string) error {
	tl, err := c.tx.Timeline(c.inc.ID)
	if err != nil {
		return fmt.Errorf("workflows: write-up %s: %w", c.inc.ID, err)
	}
	md := Writeup(c.inc, tl, c.s.zone())
	return c.effect(PostFile{Name: c.inc.ID + "-postmortem.md", Content: md, Comment: comment})
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

func (c *call) lint() (Reply, error) {
	findings := bot.LintIncident(c.inc)
	if len(findings) == 0 {
		return Reply{Text: "The write-up of " + c.inc.ID + " has no blameless-lint findings.", Ephemeral: true}, nil
	}
	return Reply{Text: lintReport(c.inc.ID, findings), Ephemeral: true}, nil
}

func lintReport(id string, findings []bot.Finding) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Blameless lint of %s: %d finding(s).", id, len(findings))
	for _, f := range findings {
		b.WriteString("\n- " + f.String())
	}
	return b.String()
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
		reply += "\n" + lintReport(c.inc.ID, findings)
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
	at := c.cmd.Date.At(c.cmd.Time.Hour, c.cmd.Time.Minute, loc)
	started, detected := c.inc.StartedAt, c.inc.DetectedAt
	what := "started"
	if c.cmd.Verb == bot.VerbPostmortemStarted {
		started = at
	} else {
		detected, what = at, "detected"
	}
	switch {
	case at.After(c.now):
		return Reply{}, bot.Errorf(bot.EINVALID, "%s is in the future.", at.Format("2006-01-02 15:04 MST"))
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
	return Reply{Text: fmt.Sprintf("%s %s at %s (%s).", c.inc.ID, what, at.Format("2006-01-02 15:04 MST"), at.UTC().Format("15:04 UTC")), Ephemeral: true}, nil
}
