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
)

// call is one command being handled inside a read-write transaction.
type call struct {
	s     *Service
	tx    store.Tx
	inc   *bot.Incident
	actor bot.User
	cmd   bot.Command
	now   time.Time
	// loc is the actor's zone, looked up before the transaction because a
	// platform may have to be asked; zones are the responders' (schedule).
	loc   *time.Location
	zones map[string]*time.Location
}

type handler struct {
	fn func(*call) (Reply, error)
	// readOnly handlers work on closed incidents and do not change the
	// incident (they may still queue a post).
	readOnly bool
}

// incidentCommands are the verbs that act on the incident of the channel
// they are typed in.
var incidentCommands = map[bot.Verb]handler{
	bot.VerbSev:                {fn: (*call).sev},
	bot.VerbRole:               {fn: (*call).role},
	bot.VerbStatus:             {fn: (*call).status},
	bot.VerbNote:               {fn: (*call).note},
	bot.VerbMitigate:           {fn: (*call).mitigate},
	bot.VerbResolve:            {fn: (*call).resolve},
	bot.VerbReopen:             {fn: (*call).reopen},
	bot.VerbPostmortemSchedule: {fn: (*call).schedule},
	bot.VerbPostmortemHeld:     {fn: (*call).held},
	bot.VerbAction:             {fn: (*call).action},
	bot.VerbActionDone:         {fn: (*call).actionDone},
	bot.VerbActions:            {fn: (*call).actions, readOnly: true},
	bot.VerbClose:              {fn: (*call).close},
	bot.VerbTimeline:           {fn: (*call).timeline, readOnly: true},
	bot.VerbPostmortem:         {fn: (*call).postmortem, readOnly: true},
	bot.VerbPostmortemLint:     {fn: (*call).lint, readOnly: true},
	bot.VerbPostmortemSummary:  {fn: (*call).text},
	bot.VerbPostmortemImpact:   {fn: (*call).text},
	bot.VerbPostmortemFactor:   {fn: (*call).text},
	bot.VerbPostmortemStarted:  {fn: (*call).instant},
	bot.VerbPostmortemDetected: {fn: (*call).instant},
}

// event appends a timeline entry authored by the actor.
func (c *call) event(kind bot.EventKind, text string) error {
	_, _, err := c.tx.AppendEvent(bot.TimelineEvent{
		IncidentID: c.inc.ID, Kind: kind, Author: c.actor, Text: text,
		PlatformAt: c.now, RecordedAt: c.now,
	})
	if err != nil {
		return fmt.Errorf("workflows: timeline %s: %w", c.inc.ID, err)
	}
	return nil
}

// effect queues p into the incident's channel on every platform the
// incident has one on (or will have: the origin platform).
func (c *call) effect(p outbox.Payload) error {
	for _, pl := range incidentPlatforms(c.inc) {
		if err := c.s.enqueue(c.tx, c.inc, outbox.Route{Platform: pl}, p, c.now); err != nil {
			return err
		}
	}
	return nil
}

// post queues a message to the incident's channels.
func (c *call) post(text string) error {
	return c.effect(Post{Text: text})
}

// announce queues a message to each platform's announcement channel.
func (c *call) announce(text string) error {
	return c.s.announce(c.tx, c.inc, text, c.now)
}

func (c *call) topic() error {
	return c.effect(SetTopic{Topic: Topic(c.inc)})
}

func incidentPlatforms(inc *bot.Incident) []bot.Platform {
	ps := []bot.Platform{inc.Origin.Platform}
	for p := range inc.Channels {
		if p != inc.Origin.Platform {
			ps = append(ps, p)
		}
	}
	return ps
}

func (s *Service) announce(tx store.Tx, inc *bot.Incident, text string, now time.Time) error {
	for _, p := range incidentPlatforms(inc) {
		ch := s.Config.Announce[p]
		if ch == "" {
			continue
		}
		if err := s.enqueue(tx, inc, outbox.Route{Platform: p, ChannelID: ch}, Post{Text: text}, now); err != nil {
			return err
		}
	}
	return nil
}

// Topic is the incident channel's topic: what a newcomer needs at a glance.
func Topic(inc *bot.Incident) string {
	parts := []string{inc.ID, inc.Severity.String(), inc.Status.Human()}
	if c, ok := inc.Role(bot.Commander); ok {
		parts = append(parts, "IC "+c.Display())
	}
	if inc.LastStatus != "" {
		parts = append(parts, inc.LastStatus)
	}
	return strings.Join(parts, " | ")
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
			inc.ID, inc.Title, inc.Severity, kindName(kind), commander.Display())); err != nil {
			return err
		}
		// Order matters: the outbox delivers an incident's effects on a
		// platform in ID order, and everything after create_channel waits
		// for the channel to exist.
		for _, e := range []outbox.Payload{
			CreateChannel{Name: inc.ChannelName()},
			Invite{Users: inc.Responders},
			SetTopic{Topic: Topic(inc)},
			Post{Text: Summary(inc), Pin: true},
		} {
			if err := c.effect(e); err != nil {
				return err
			}
		}
		if err := c.announce(fmt.Sprintf("%s declared: %s (%s, %s) by %s",
			inc.ID, inc.Title, inc.Severity, kindName(kind), actor.Display())); err != nil {
			return err
		}
		return c.s.scheduleStatusReminder(tx, inc, now)
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

func kindName(k bot.Kind) string {
	switch k {
	case bot.KindDrill:
		return "drill"
	case bot.KindNearMiss:
		return "near miss"
	}
	return "real"
}

// Summary is the pinned first message of an incident channel.
func Summary(inc *bot.Incident) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\nSeverity: %s | Kind: %s | Status: %s\n", inc.ID, inc.Title,
		inc.Severity, kindName(inc.Kind), inc.Status.Human())
	if c, ok := inc.Role(bot.Commander); ok {
		fmt.Fprintf(&b, "Commander: %s\n", c.Display())
	}
	fmt.Fprintf(&b, "Declared %s by %s.\n", inc.DeclaredAt.UTC().Format("2006-01-02 15:04 MST"), inc.DeclaredBy.Display())
	b.WriteString("Everything said here is recorded in the timeline. /incident help lists the commands.")
	return b.String()
}

func (c *call) sev() (Reply, error) {
	old := c.inc.Severity
	if c.cmd.Severity == old {
		return Reply{}, bot.Errorf(bot.ECONFLICT, "%s is already %s.", c.inc.ID, old)
	}
	c.inc.Severity = c.cmd.Severity
	text := fmt.Sprintf("severity %s -> %s", old, c.inc.Severity)
	if err := c.event(bot.EventSeverity, text); err != nil {
		return Reply{}, err
	}
	if err := c.topic(); err != nil {
		return Reply{}, err
	}
	if err := c.announce(fmt.Sprintf("%s %s: %s by %s", c.inc.ID, c.inc.Title, text, c.actor.Display())); err != nil {
		return Reply{}, err
	}
	if c.inc.Open() {
		if err := c.s.scheduleStatusReminder(c.tx, c.inc, c.now); err != nil {
			return Reply{}, err
		}
	}
	return Reply{Text: fmt.Sprintf("%s is now %s (was %s).", c.inc.ID, c.inc.Severity, old)}, nil
}

// mayManage reports whether the actor may close the incident or change its
// roles: its commander, or an admin.
func (c *call) mayManage() bool {
	return c.inc.IsCommander(c.actor) || c.s.isAdmin(c.actor)
}

func (c *call) role() (Reply, error) {
	if !c.mayManage() {
		return Reply{}, bot.Errorf(bot.EFORBIDDEN, "Only the incident commander or an admin can assign roles in %s.", c.inc.ID)
	}
	if len(c.cmd.Users) != 1 {
		return Reply{}, bot.Errorf(bot.EINVALID, "Name one person.\nUsage: %s", bot.Syntax(bot.VerbRole))
	}
	u := c.cmd.Users[0]
	if c.inc.Roles == nil {
		c.inc.Roles = map[bot.Role]bot.User{}
	}
	c.inc.Roles[c.cmd.Role] = u
	c.inc.AddResponder(u)
	if err := c.event(bot.EventRole, fmt.Sprintf("%s is now %s", u.Display(), c.cmd.Role)); err != nil {
		return Reply{}, err
	}
	if err := c.effect(Invite{Users: []bot.User{u}}); err != nil {
		return Reply{}, err
	}
	if c.cmd.Role == bot.Commander {
		if err := c.topic(); err != nil {
			return Reply{}, err
		}
	}
	return Reply{Text: fmt.Sprintf("%s is now the %s of %s.", u.Display(), c.cmd.Role, c.inc.ID)}, nil
}

func (c *call) status() (Reply, error) {
	if !c.inc.Open() {
		return Reply{}, bot.Errorf(bot.ECONFLICT, "%s is %s; status updates are for open incidents (use note).", c.inc.ID, c.inc.Status.Human())
	}
	c.inc.LastStatus = c.cmd.Text
	if err := c.event(bot.EventStatus, c.cmd.Text); err != nil {
		return Reply{}, err
	}
	if err := c.topic(); err != nil {
		return Reply{}, err
	}
	// A status update answers the reminder: the next one is a full
	// interval away.
	if err := c.s.scheduleStatusReminder(c.tx, c.inc, c.now); err != nil {
		return Reply{}, err
	}
	return Reply{Text: fmt.Sprintf("Status update for %s from %s: %s", c.inc.ID, c.actor.Display(), c.cmd.Text)}, nil
}

func (c *call) note() (Reply, error) {
	if err := c.event(bot.EventNote, c.cmd.Text); err != nil {
		return Reply{}, err
	}
	return Reply{Text: "Noted in the timeline of " + c.inc.ID + ".", Ephemeral: true}, nil
}

// step applies a lifecycle step, records it and refreshes the topic.
func (c *call) step(st bot.Step, text string) error {
	if err := bot.Apply(c.inc, st, c.now, c.s.policy()); err != nil {
		return err
	}
	if err := c.event(bot.EventLifecycle, text); err != nil {
		return err
	}
	return c.topic()
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
	if err := c.s.scheduleNudge(c.tx, c.inc, c.now); err != nil {
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
	if err := c.s.scheduleStatusReminder(c.tx, c.inc, c.now); err != nil {
		return Reply{}, err
	}
	return Reply{Text: fmt.Sprintf("%s is reopened and back to investigating.", c.inc.ID)}, nil
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
	at := c.cmd.Date.At(c.cmd.Time.Hour, c.cmd.Time.Minute, loc)
	if !at.After(c.now) {
		return Reply{}, bot.Errorf(bot.EINVALID, "%s is in the past; pick a time after %s.",
			at.Format("2006-01-02 15:04 MST"), c.now.In(loc).Format("2006-01-02 15:04 MST"))
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
	when := at.Format("2006-01-02 15:04 MST")
	if loc != time.UTC {
		when += at.UTC().Format(" (15:04 UTC)")
	}
	when += ", " + humanDuration(dur)
	if err := c.event(bot.EventLifecycle, "post-mortem "+verb+" for "+when); err != nil {
		return Reply{}, err
	}
	if err := c.topic(); err != nil {
		return Reply{}, err
	}
	if err := c.post(c.meetingMessage(verb)); err != nil {
		return Reply{}, err
	}
	if err := c.effect(PostFile{Name: c.inc.ID + "-postmortem.ics", Content: Invitation(c.inc, c.now),
		Comment: "Calendar invite for the post-mortem of " + c.inc.ID}); err != nil {
		return Reply{}, err
	}
	if err := c.deleteReminders(store.RemindSchedule); err != nil {
		return Reply{}, err
	}
	if err := c.scheduleMeetingReminders(); err != nil {
		return Reply{}, err
	}
	return Reply{Text: fmt.Sprintf("Post-mortem of %s %s for %s.", c.inc.ID, verb, when)}, nil
}

func (c *call) held() (Reply, error) {
	if len(c.cmd.Users) == 0 {
		return Reply{}, bot.Errorf(bot.EINVALID, "Name who attended.\nUsage: %s", bot.Syntax(bot.VerbPostmortemHeld))
	}
	findings := bot.Lint("notes", c.cmd.Text, append(c.inc.People(), userNames(c.cmd.Users)...))
	if len(findings) > 0 && !c.s.Config.Policy.LintWarnOnly {
		return Reply{}, bot.Errorf(bot.EINVALID, "These notes are not blameless yet; rewrite them and run the command again.\n%s",
			strings.TrimPrefix(lintReport(c.inc.ID, findings), "Blameless lint of "+c.inc.ID+": "))
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
		text += "\nWarning: " + lintReport(c.inc.ID, findings)
	}
	return Reply{Text: text}, nil
}

func (c *call) action() (Reply, error) {
	if len(c.cmd.Users) != 1 {
		return Reply{}, bot.Errorf(bot.EINVALID, "Name one owner.\nUsage: %s", bot.Syntax(bot.VerbAction))
	}
	owner := c.cmd.Users[0]
	today := bot.DateOf(c.now.In(c.loc))
	if c.cmd.Due.Before(today) {
		return Reply{}, bot.Errorf(bot.EINVALID, "The due date %s is in the past; today is %s.", c.cmd.Due, today)
	}
	if err := bot.CheckCountermeasure(c.cmd.Text); err != nil {
		return Reply{}, err
	}
	cm := bot.Countermeasure{
		N: len(c.inc.Countermeasures) + 1, Text: c.cmd.Text, Owner: owner, Due: c.cmd.Due,
		State: bot.CMOpen, AddedBy: c.actor, AddedAt: c.now,
	}
	if loc := c.zones[owner.Key()]; loc != nil {
		cm.Zone = loc.String()
	}
	c.inc.Countermeasures = append(c.inc.Countermeasures, cm)
	if err := c.event(bot.EventAction, fmt.Sprintf("countermeasure #%d: %s (owner %s, due %s)", cm.N, cm.Text, owner.Display(), cm.Due)); err != nil {
		return Reply{}, err
	}
	if err := c.s.scheduleCountermeasureNudge(c.tx, c.inc, cm, c.now); err != nil {
		return Reply{}, err
	}
	text := fmt.Sprintf("Countermeasure #%d of %s: %s. Owner %s, due %s.", cm.N, c.inc.ID, cm.Text, owner.Display(), cm.Due)
	if c.s.Tracker != nil {
		if err := c.s.fileIssue(c.tx, c.inc, cm, c.now, false); err != nil {
			return Reply{}, err
		}
		text += " Filing it as an issue; the link follows here."
	}
	return Reply{Text: text}, nil
}

func (c *call) actionDone() (Reply, error) {
	n := c.cmd.N
	if n < 1 || n > len(c.inc.Countermeasures) {
		return Reply{}, bot.Errorf(bot.ENOTFOUND, "%s has no countermeasure #%d.", c.inc.ID, n)
	}
	cm := &c.inc.Countermeasures[n-1]
	if cm.State == bot.CMDone {
		return Reply{}, bot.Errorf(bot.ECONFLICT, "Countermeasure #%d is already done.", n)
	}
	// With a tracker the issue is the record: done is when it closes, so
	// the two never disagree.
	if cm.Tracker != "" {
		return Reply{}, bot.Errorf(bot.ECONFLICT, "Countermeasure #%d is tracked in %s: close the issue there and debrief marks it done.", n, cm.Tracker)
	}
	if c.s.Tracker != nil {
		return Reply{}, bot.Errorf(bot.ECONFLICT, "Countermeasure #%d is being filed as an issue: close the issue once it is there, and debrief marks it done.", n)
	}
	cm.State, cm.DoneAt = bot.CMDone, c.now
	if err := c.event(bot.EventAction, fmt.Sprintf("countermeasure #%d done", n)); err != nil {
		return Reply{}, err
	}
	if err := c.tx.DeleteReminder(countermeasureReminderKey(c.inc.ID, n)); err != nil {
		return Reply{}, fmt.Errorf("workflows: action done %s#%d: %w", c.inc.ID, n, err)
	}
	return Reply{Text: fmt.Sprintf("Countermeasure #%d of %s is done: %s.", n, c.inc.ID, cm.Text)}, nil
}

func (c *call) actions() (Reply, error) {
	if len(c.inc.Countermeasures) == 0 {
		return Reply{Text: c.inc.ID + " has no countermeasures yet. " + bot.Syntax(bot.VerbAction), Ephemeral: true}, nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Countermeasures of %s:", c.inc.ID)
	for _, cm := range c.inc.Countermeasures {
		fmt.Fprintf(&b, "\n#%d [%s] %s (owner %s", cm.N, cm.State, cm.Text, cm.Owner.Display())
		if cm.Assignee != "" {
			b.WriteString(", GitHub @" + cm.Assignee)
		}
		fmt.Fprintf(&b, ", due %s)", cm.Due)
		if cm.Tracker != "" {
			b.WriteString(" " + cm.Tracker)
		}
	}
	return Reply{Text: b.String(), Ephemeral: true}, nil
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
		if err := c.s.enqueue(c.tx, c.inc, outbox.Route{Platform: p}, Archive{}, c.now); err != nil {
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
	return s.enqueue(tx, inc, outbox.Route{}, Publish{
		Path: path.Join(s.PublishPath, inc.ID+".md"), Content: Writeup(inc, tl, s.zone()),
		Message: fmt.Sprintf("Post-mortem of %s: %s", inc.ID, inc.Title),
	}, now)
}

// timelineShown is how many recent entries /incident timeline shows in
// chat; the export and the API have all of them.
const timelineShown = 30

func (c *call) timeline() (Reply, error) {
	tl, err := c.tx.Timeline(c.inc.ID)
	if err != nil {
		return Reply{}, fmt.Errorf("workflows: timeline %s: %w", c.inc.ID, err)
	}
	loc := c.loc
	var b strings.Builder
	fmt.Fprintf(&b, "Timeline of %s (%d entries, times in %s)", c.inc.ID, len(tl), loc)
	if len(tl) > timelineShown {
		fmt.Fprintf(&b, ", last %d", timelineShown)
		tl = tl[len(tl)-timelineShown:]
	}
	for _, ev := range tl {
		b.WriteString("\n")
		b.WriteString(TimelineLine(ev, loc))
	}
	return Reply{Text: b.String(), Ephemeral: true}, nil
}

// TimelineLine renders one entry for chat and the console.
func TimelineLine(ev bot.TimelineEvent, loc *time.Location) string {
	s := fmt.Sprintf("%s %s [%s] %s", ev.RecordedAt.In(loc).Format("2006-01-02 15:04:05"), ev.Author.Display(), ev.Kind, ev.Text)
	if ev.URL != "" {
		s += " " + ev.URL
	}
	return s
}

func (s *Service) list(ctx context.Context) (Reply, error) {
	incs, err := s.Incidents(ctx)
	if err != nil {
		return Reply{}, err
	}
	var b strings.Builder
	n := 0
	for _, inc := range incs {
		if inc.Status == bot.StatusClosed {
			continue
		}
		n++
		fmt.Fprintf(&b, "\n%s %s [%s] %s", inc.ID, inc.Severity, inc.Status.Human(), inc.Title)
	}
	if n == 0 {
		return Reply{Text: "No incidents are in progress.", Ephemeral: true}, nil
	}
	return Reply{Text: fmt.Sprintf("%d incidents not yet closed:%s", n, b.String()), Ephemeral: true}, nil
}

func (s *Service) setPrefs(ctx context.Context, actor bot.User, cmd bot.Command) (Reply, error) {
	var text string
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		p, err := tx.UserPrefs(actor.Key())
		if err != nil {
			return fmt.Errorf("workflows: prefs %s: %w", actor.Key(), err)
		}
		p.Key = actor.Key()
		if cmd.Verb == bot.VerbTZ {
			p.Zone = cmd.Zone
			text = fmt.Sprintf("Your time zone is now %s; times are shown to you there.", cmd.Zone)
		} else {
			p.GitHub = cmd.Login
			text = fmt.Sprintf("You are @%s on GitHub; countermeasures you own are assigned to you there.", cmd.Login)
		}
		return tx.PutUserPrefs(p)
	})
	if err != nil {
		return Reply{}, err
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
