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
	// A form's fields did not pass through bot.Parse.
	cmd.Text = bot.DefuseTimes(cmd.Text)
	if seed != nil {
		s := *seed
		s.Text = bot.DefuseTimes(s.Text)
		seed = &s
	}
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
	if cmd.From != "" {
		return s.declareFrom(ctx, actor, ch, cmd)
	}
	now := s.now()
	commander := actor
	if len(cmd.Users) > 0 {
		commander = cmd.Users[0]
	}
	// Asked before the transaction: the archive's index is not the store.
	similar := s.similar(ctx, cmd.Text, cmd.Tags)
	var inc *bot.Incident
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		o := opening{commander: commander, started: now, detected: now, similar: similar}
		if seed != nil {
			o.seed = []bot.TimelineEvent{*seed}
		}
		var err error
		inc, err = s.open(tx, actor, ch, cmd, o, now)
		return err
	})
	if err != nil {
		return Reply{}, err
	}
	s.kick()
	return declared(inc, actor, commander), nil
}

// declared is the reply to a declaration.
func declared(inc *bot.Incident, actor, commander bot.User) Reply {
	who := "you are the incident commander"
	switch {
	case commander.IsZero():
		who = "nobody is the incident commander yet: take it with /incident role commander @you"
	case commander.Key() != actor.Key():
		who = commander.Display() + " is the incident commander"
	}
	return Reply{
		Text:       render.Mark(inc, fmt.Sprintf("Declared %s: %s (%s). Opening #%s; %s.", inc.ID, inc.Title, inc.Severity, inc.ChannelName(), who)),
		IncidentID: inc.ID,
	}
}

// opening is how an incident opens besides its command: who commands it
// (nobody for one an alert opened), when its impact started and when it
// was detected (MTTD is detected - started: an alert's startsAt and
// arrival, a near miss's time), and the entries its timeline starts with.
type opening struct {
	commander         bot.User
	started, detected time.Time
	seed              []bot.TimelineEvent
	// drill and participants are set for a drill a game day opens: its
	// record, and the people invited besides the commander.
	drill        *bot.Drill
	participants []bot.User
	// similar are past incidents like this one (the archive's), posted
	// after the pinned summary.
	similar []*bot.Incident
}

// open declares an incident within tx: its record, its first timeline
// entries, its channel and announcement (effects), its status reminder.
func (s *Service) open(tx store.Tx, actor bot.User, ch bot.Channel, cmd bot.Command, o opening, now time.Time) (*bot.Incident, error) {
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
	n, err := tx.NextIncidentNumber()
	if err != nil {
		return nil, fmt.Errorf("workflows: declare: %w", err)
	}
	inc := &bot.Incident{
		ID: bot.IncidentID(n), Number: n, Title: cmd.Text, Kind: kind, Severity: sev,
		Status: bot.StatusInvestigating, Tags: cmd.Tags, DeclaredBy: actor,
		Roles:      map[bot.Role]bot.User{},
		Responders: []bot.User{actor},
		Origin:     ch,
		StartedAt:  o.started, DetectedAt: o.detected, DeclaredAt: now, AcknowledgedAt: now,
	}
	if !o.commander.IsZero() {
		inc.Roles[bot.Commander] = o.commander
	} else {
		inc.Responders = nil // an alert opened it: nobody has answered yet
	}
	if o.drill != nil {
		inc.Kind, inc.Drill = bot.KindDrill, o.drill
		kind = bot.KindDrill
	}
	// The timeline refuses entries for incidents it does not know.
	if err := tx.PutIncident(inc); err != nil {
		return nil, fmt.Errorf("workflows: declare %s: %w", inc.ID, err)
	}
	if !o.commander.IsZero() {
		inc.AddResponder(o.commander)
	}
	for _, u := range o.participants {
		inc.AddResponder(u)
	}
	for _, ev := range o.seed {
		ev.IncidentID = inc.ID
		if ev.RecordedAt.IsZero() {
			ev.RecordedAt = now
		}
		if _, _, err := tx.AppendEvent(ev); err != nil {
			return nil, fmt.Errorf("workflows: declare %s: seed: %w", inc.ID, err)
		}
	}
	c := &call{s: s, tx: tx, inc: inc, actor: actor, cmd: cmd, now: now, loc: s.zone()}
	commander := "none yet"
	if !o.commander.IsZero() {
		commander = o.commander.Display()
	}
	if err := c.event(bot.EventLifecycle, fmt.Sprintf("declared %s %q (%s, %s); commander %s",
		inc.ID, inc.Title, inc.Severity, render.KindName(kind), commander)); err != nil {
		return nil, err
	}
	// Order matters: the outbox delivers an incident's effects on a
	// platform in ID order, and everything after create_channel waits
	// for the channel to exist.
	for _, e := range []outbox.Payload{
		CreateChannel{Name: inc.ChannelName()},
		Invite{Users: inc.Responders},
		SetTopic{Topic: render.Topic(inc)},
		Post{Text: render.Summary(inc, c.s.zone()), Pin: true},
	} {
		if err := c.effect(e); err != nil {
			return nil, err
		}
	}
	if len(o.similar) > 0 {
		if err := c.post(similarText(o.similar)); err != nil {
			return nil, err
		}
	}
	if err := c.announce(fmt.Sprintf("%s declared: %s (%s, %s) by %s",
		inc.ID, inc.Title, inc.Severity, render.KindName(kind), actor.Display())); err != nil {
		return nil, err
	}
	if err := c.s.Reminders().scheduleStatus(tx, inc, now); err != nil {
		return nil, err
	}
	// Again: the commander and participants joined after the first put.
	if err := tx.PutIncident(inc); err != nil {
		return nil, fmt.Errorf("workflows: declare %s: %w", inc.ID, err)
	}
	return inc, nil
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
	reply := fmt.Sprintf("%s is resolved. Next: the blameless post-mortem. Book it with %s",
		c.inc.ID, bot.Syntax(bot.VerbPostmortemSchedule))
	// The summary goes into the write-up: say now what the close gate
	// will say later, while resolving is never held up by it.
	if findings := bot.Lint("summary", c.cmd.Text, c.inc.People()); len(findings) > 0 {
		reply += "\nThe summary is not blameless yet; rewrite it with " + bot.Syntax(bot.VerbPostmortemSummary) + ".\n" +
			render.LintReport(c.inc.ID, findings)
	}
	return Reply{Text: reply}, nil
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
	return s.queue(tx, inc, now).add(outbox.Route{}, Publish{
		Path: path.Join(s.PublishPath, inc.ID+".md"), Writeup: &WriteupRef{Zone: s.zone().String()},
		Message: fmt.Sprintf("Post-mortem of %s: %s", inc.ID, inc.Title),
	})
}
