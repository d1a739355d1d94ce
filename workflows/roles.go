package workflows

import (
	"fmt"

	"github.com/debrief/debrief/bot"
)

// roleVerbs change who does what and what is known: severity, roles,
// status updates, notes.
var roleVerbs = verbs{
	bot.VerbSev:    {run: (*call).sev},
	bot.VerbRole:   {run: (*call).role},
	bot.VerbStatus: {run: (*call).status},
	bot.VerbNote:   {run: (*call).note},
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
		if err := c.s.Reminders().scheduleStatus(c.tx, c.inc, c.now); err != nil {
			return Reply{}, err
		}
	}
	return Reply{Text: fmt.Sprintf("%s is now %s (was %s).", c.inc.ID, c.inc.Severity, old)}, nil
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
	if err := c.s.Reminders().scheduleStatus(c.tx, c.inc, c.now); err != nil {
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
