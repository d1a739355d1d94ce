package workflows

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/debrief/debrief/bot"
)

// countermeasureVerbs record what the post-mortem agreed to change, each
// with an owner and a due date, and track it until done.
var countermeasureVerbs = verbs{
	bot.VerbAction: {run: (*call).action, zones: func(s *Service, ctx context.Context, _ bot.Channel, cmd bot.Command) map[string]*time.Location {
		if len(cmd.Users) != 1 {
			return nil
		}
		// The owner is nudged at the start of their own day.
		return map[string]*time.Location{cmd.Users[0].Key(): s.ZoneOf(ctx, cmd.Users[0])}
	}},
	bot.VerbActionDone: {run: (*call).actionDone, afterClose: true},
	bot.VerbActionDrop: {run: (*call).actionDrop, afterClose: true},
	bot.VerbActions:    {view: (*viewCall).actions},
}

func (c *call) action() (Reply, error) {
	if len(c.cmd.Users) != 1 {
		return Reply{}, bot.Errorf(bot.EINVALID, "Name one owner.\nUsage: %s", bot.Syntax(bot.VerbAction))
	}
	owner := c.cmd.Users[0]
	today := bot.DateOf(c.now.In(c.loc))
	// "+14d" and "tomorrow" count from the actor's today.
	c.cmd.Due = c.cmd.DueRel.Resolve(c.cmd.Due, c.now.In(c.loc))
	if c.cmd.Due.Before(today) {
		return Reply{}, bot.Errorf(bot.EINVALID, "The due date %s has passed: today is %s. Give today or a later day.", c.cmd.Due, today)
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
	if err := c.s.Nudges().schedule(c.tx, c.inc, cm, c.now); err != nil {
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

func (c *call) actionDone() (Reply, error) { return c.settle(bot.CMDone) }

func (c *call) actionDrop() (Reply, error) { return c.settle(bot.CMDropped) }

// settle marks countermeasure cmd.N done or dropped (to) and stops its
// nudges. It works after close and, named as INC-1#2, from any channel;
// there, and after close, only its owner, the commander or an admin may.
// With a tracker the issue is the record, so it is refused while the
// countermeasure has (or is getting) an issue, unless that was deleted.
func (c *call) settle(to bot.CountermeasureState) (Reply, error) {
	n := c.cmd.N
	if n < 1 || n > len(c.inc.Countermeasures) {
		return Reply{}, bot.Errorf(bot.ENOTFOUND, "%s has no countermeasure #%d.", c.inc.ID, n)
	}
	cm := &c.inc.Countermeasures[n-1]
	if (c.elsewhere || c.inc.Status == bot.StatusClosed) && cm.Owner.Key() != c.actor.Key() && !c.mayManage() {
		return Reply{}, bot.Errorf(bot.EFORBIDDEN, "Only the owner of countermeasure #%d of %s (%s), its commander or an admin can settle it here.",
			n, c.inc.ID, cm.Owner.Display())
	}
	if cm.Settled() {
		return Reply{}, bot.Errorf(bot.ECONFLICT, "Countermeasure #%d of %s is already %s.", n, c.inc.ID, cm.State)
	}
	how := "and debrief marks it done"
	if to == bot.CMDropped {
		how = "as not planned, and debrief marks it dropped"
	}
	if !cm.IssueGone {
		// With a tracker the issue is the record: settled is when it
		// closes, so the two never disagree.
		if cm.Tracker != "" {
			return Reply{}, bot.Errorf(bot.ECONFLICT, "Countermeasure #%d is tracked in %s: close the issue there %s.", n, cm.Tracker, how)
		}
		if c.s.Tracker != nil {
			return Reply{}, bot.Errorf(bot.ECONFLICT, "Countermeasure #%d is being filed as an issue: close the issue once it is there %s.", n, how)
		}
	}
	var text, news string
	switch to {
	case bot.CMDone:
		cm.State, cm.DoneAt = bot.CMDone, c.now
		text = fmt.Sprintf("countermeasure #%d done", n)
		news = fmt.Sprintf("Countermeasure #%d of %s is done: %s.", n, c.inc.ID, cm.Text)
	default:
		cm.State, cm.DroppedAt = bot.CMDropped, c.now
		text = fmt.Sprintf("countermeasure #%d dropped", n)
		news = fmt.Sprintf("Countermeasure #%d of %s is dropped: %s. It will not be done, and is not counted as done.", n, c.inc.ID, cm.Text)
	}
	if err := c.event(bot.EventAction, text); err != nil {
		return Reply{}, err
	}
	if err := c.tx.DeleteReminder(countermeasureReminderKey(c.inc.ID, n)); err != nil {
		return Reply{}, fmt.Errorf("workflows: action %s %s#%d: %w", to, c.inc.ID, n, err)
	}
	if c.elsewhere {
		// The reply goes where the command was typed; the incident's
		// channel (or, once it is archived, the announcement channel)
		// hears it too.
		if err := c.queue().postOrAnnounce(news + " (" + c.actor.Display() + ")"); err != nil {
			return Reply{}, err
		}
	}
	// A closed incident's published write-up shows its countermeasures'
	// states: keep it current.
	if c.inc.Status == bot.StatusClosed && c.s.Publisher != nil {
		if err := c.s.queuePublish(c.tx, c.inc, c.now); err != nil {
			return Reply{}, err
		}
	}
	return Reply{Text: news}, nil
}

func (c *viewCall) actions() (Reply, error) {
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
		if cm.IssueGone && !cm.Settled() {
			fmt.Fprintf(&b, " (its issue was deleted: action done or action drop %s settles it)", CountermeasureKey(c.inc.ID, cm.N))
		}
	}
	return Reply{Text: b.String(), Ephemeral: true}, nil
}
