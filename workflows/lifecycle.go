package workflows

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows/outbox"
	"github.com/debrief/debrief/workflows/render"
)

// lifecycleVerbs open an incident and move it through its lifecycle
// (bot.Apply): declare, mitigate, resolve, reopen, close.
var lifecycleVerbs = verbs{
	bot.VerbDeclare: {global: func(s *Service, ctx context.Context, actor bot.User, ch bot.Channel, cmd bot.Command) (Reply, error) {
		return s.declare(ctx, actor, ch, cmd, nil)
	}},
	bot.VerbMitigate: {run: (*call).mitigate},
	bot.VerbResolve:  {run: (*call).resolve},
	bot.VerbReopen:   {run: (*call).reopen},
	bot.VerbClose:    {run: (*call).close},
}

// Declare opens an incident like /incident declare. cmd.Users[0], when
// given, is the commander (the Slack modal asks for one); otherwise the
// declarer is. seed, when not nil, is the chat message the incident was
// declared from (a Slack message shortcut): it becomes the first entry of
// the timeline.
func (s *Service) Declare(ctx context.Context, actor bot.User, ch bot.Channel, cmd bot.Command, seed *bot.TimelineEvent) (Reply, error) {
	cmd.Verb = bot.VerbDeclare
	for i := range cmd.Users {
		if cmd.Users[i].Platform == "" {
			cmd.Users[i].Platform = actor.Platform
		}
	}
	if strings.TrimSpace(cmd.Text) == "" {
		return Reply{}, bot.Errorf(bot.EINVALID, "An incident needs a title.\nUsage: %s", bot.Syntax(bot.VerbDeclare))
	}
	return s.declare(ctx, actor, ch, cmd, seed)
}

func (s *Service) declare(ctx context.Context, actor bot.User, ch bot.Channel, cmd bot.Command, seed *bot.TimelineEvent) (Reply, error) {
	now := s.now()
	commander := actor
	if len(cmd.Users) > 0 {
		commander = cmd.Users[0]
	}
	sev := cmd.Severity
	if sev == 0 {
		sev = s.Config.DefaultSeverity
	}
	if !sev.Valid() {
		sev = bot.SEV3
	}
	kind := cmd.Kind
	if kind == "" {
		kind = bot.KindReal
	}
	similar := s.similar(ctx, cmd.Text, cmd.Tags)
	var inc *bot.Incident
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		n, err := tx.NextIncidentNumber()
		if err != nil {
			return fmt.Errorf("workflows: declare: %w", err)
		}
		inc = &bot.Incident{
			ID: bot.IncidentID(n), Number: n, Title: cmd.Text, Kind: kind, Severity: sev,
			Status: bot.StatusInvestigating, Tags: cmd.Tags, DeclaredBy: actor,
			Roles:      map[bot.Role]bot.User{bot.Commander: commander},
			Responders: []bot.User{actor},
			Origin:     ch,
			StartedAt:  now, DetectedAt: now, DeclaredAt: now, AcknowledgedAt: now,
		}
		// The timeline refuses entries for incidents it does not know.
		if err := tx.PutIncident(inc); err != nil {
			return fmt.Errorf("workflows: declare %s: %w", inc.ID, err)
		}
		inc.AddResponder(commander)
		if seed != nil {
			ev := *seed
			ev.IncidentID, ev.RecordedAt = inc.ID, now
			if _, _, err := tx.AppendEvent(ev); err != nil {
				return fmt.Errorf("workflows: declare %s: seed: %w", inc.ID, err)
			}
		}
		c := &call{s: s, tx: tx, inc: inc, actor: actor, cmd: cmd, now: now, loc: s.zone()}
		if err := c.event(bot.EventLifecycle, fmt.Sprintf("declared %s %q (%s, %s); commander %s",
			inc.ID, inc.Title, inc.Severity, render.KindName(kind), commander.Display())); err != nil {
			return err
		}
		// Order matters: the outbox delivers an incident's effects on a
		// platform in ID order, and everything after create_channel waits
		// for the channel to exist.
		for _, e := range []outbox.Payload{
			CreateChannel{Name: inc.ChannelName()},
			Invite{Users: inc.Responders},
			SetTopic{Topic: render.Topic(inc)},
			Post{Text: render.Summary(inc), Pin: true},
		} {
			if err := c.effect(e); err != nil {
				return err
			}
		}
		if len(similar) > 0 {
			if err := c.post(similarText(similar)); err != nil {
				return err
			}
		}
		if err := c.announce(fmt.Sprintf("%s declared: %s (%s, %s) by %s",
			inc.ID, inc.Title, inc.Severity, render.KindName(kind), actor.Display())); err != nil {
			return err
		}
		return c.s.Reminders().scheduleStatus(tx, inc, now)
	})
	if err != nil {
		return Reply{}, err
	}
	s.kick()
	who := "you are the incident commander"
	if commander.Key() != actor.Key() {
		who = commander.Display() + " is the incident commander"
	}
	return Reply{
		Text:       fmt.Sprintf("Declared %s: %s (%s). Opening #%s; %s.", inc.ID, inc.Title, inc.Severity, inc.ChannelName(), who),
		IncidentID: inc.ID,
	}, nil
}

func (c *call) mitigate() (Reply, error) {
	if err := c.step(bot.StepMitigate, "mitigated"); err != nil {
		return Reply{}, err
	}
	return Reply{Text: fmt.Sprintf("%s is mitigated. Resolve it when the incident is over: /incident resolve [summary].", c.inc.ID)}, nil
}

func (c *call) resolve() (Reply, error) {
	text := "resolved"
	if c.cmd.Text != "" {
		c.inc.Summary = c.cmd.Text
		text += ": " + c.cmd.Text
	}
	if err := c.step(bot.StepResolve, text); err != nil {
		return Reply{}, err
	}
	if err := c.announce(fmt.Sprintf("%s resolved: %s", c.inc.ID, c.inc.Title)); err != nil {
		return Reply{}, err
	}
	if err := c.tx.DeleteReminder(reminderKey(c.inc.ID, store.RemindStatus)); err != nil {
		return Reply{}, fmt.Errorf("workflows: resolve %s: %w", c.inc.ID, err)
	}
	if err := c.s.Reminders().scheduleBooking(c.tx, c.inc, c.now); err != nil {
		return Reply{}, err
	}
	return Reply{Text: fmt.Sprintf("%s is resolved. Next: the blameless post-mortem. Book it with %s",
		c.inc.ID, bot.Syntax(bot.VerbPostmortemSchedule))}, nil
}

func (c *call) reopen() (Reply, error) {
	if err := c.step(bot.StepReopen, "reopened"); err != nil {
		return Reply{}, err
	}
	if err := c.deleteReminders(store.RemindSchedule, store.RemindMeetingDay, store.RemindMeetingSoon); err != nil {
		return Reply{}, err
	}
	if err := c.s.Reminders().scheduleStatus(c.tx, c.inc, c.now); err != nil {
		return Reply{}, err
	}
	return Reply{Text: fmt.Sprintf("%s is reopened and back to investigating.", c.inc.ID)}, nil
}

func (c *call) close() (Reply, error) {
	if !c.mayManage() {
		return Reply{}, bot.Errorf(bot.EFORBIDDEN, "Only the incident commander or an admin can close %s.", c.inc.ID)
	}
	text := "closed"
	if !c.inc.Postmortem.Held() {
		// Only a configured relaxation gets here; say so on the record.
		text = fmt.Sprintf("closed without a post-mortem review (%s may close without one by configuration)", c.inc.Severity)
	}
	if err := c.step(bot.StepClose, text); err != nil {
		return Reply{}, err
	}
	if err := c.deleteReminders(store.RemindStatus, store.RemindSchedule, store.RemindMeetingDay, store.RemindMeetingSoon); err != nil {
		return Reply{}, err
	}
	if err := c.writeupFile("The post-mortem write-up of " + c.inc.ID + "."); err != nil {
		return Reply{}, err
	}
	if err := c.announce(fmt.Sprintf("%s closed: %s. The write-up is in the incident channel.", c.inc.ID, c.inc.Title)); err != nil {
		return Reply{}, err
	}
	if c.s.Publisher != nil {
		if err := c.s.queuePublish(c.tx, c.inc, c.now); err != nil {
			return Reply{}, err
		}
	}
	for _, p := range incidentPlatforms(c.inc) {
		if c.s.Config.KeepChannelOnClose[p] {
			continue
		}
		if err := c.queue().add(outbox.Route{Platform: p}, Archive{}); err != nil {
			return Reply{}, err
		}
	}
	return Reply{Text: fmt.Sprintf("%s is closed. Thank you all.", c.inc.ID)}, nil
}

// queuePublish queues the commit of inc's write-up (Publisher): at close,
// and again when it changes after (a re-export, a countermeasure done), as
// an update that keeps the file's history.
func (s *Service) queuePublish(tx store.Tx, inc *bot.Incident, now time.Time) error {
	tl, err := tx.Timeline(inc.ID)
	if err != nil {
		return fmt.Errorf("workflows: publish %s: %w", inc.ID, err)
	}
	return s.queue(tx, inc, now).add(outbox.Route{}, Publish{
		Path: path.Join(s.PublishPath, inc.ID+".md"), Content: render.Writeup(inc, tl, s.zone()),
		Message: fmt.Sprintf("Post-mortem of %s: %s", inc.ID, inc.Title),
	})
}
