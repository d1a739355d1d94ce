package workflows

import (
	"context"
	"fmt"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows/outbox"
	"github.com/debrief/debrief/workflows/render"
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
	// elsewhere is set when the command named its incident (INC-1#2) from
	// a channel that is not the incident's: the announcement channel, a DM.
	elsewhere bool
}

// handler runs one verb. Each verb family's file declares its verbs in a
// table of its own; handlers merges them, so a new verb is one entry and
// one function in its family's file.
type handler struct {
	// run handles a verb that acts on the incident of the channel it is
	// typed in, inside one read-write transaction that saves the incident
	// after it.
	run func(*call) (Reply, error)
	// readOnly run handlers also work on closed incidents, and do not save
	// the incident (they may still queue a post).
	readOnly bool
	// afterClose handlers also work on closed incidents, and save them: a
	// countermeasure is settled long after its incident closed. Their
	// incident may be named in the command (bot.Command.Incident), so that
	// they run from any channel.
	afterClose bool
	// view handles a verb that only reads the incident of the channel it
	// is typed in (timeline, actions, postmortem lint), instead of run: in
	// a read transaction (Store.View), so that it never holds up the
	// writers, nor they it. It works on closed incidents too. Its viewCall
	// has a store.ReadTx: the compiler keeps it from writing.
	view func(*viewCall) (Reply, error)
	// global handles a verb that needs no incident channel (declare,
	// list, help, preferences), instead of run.
	global func(s *Service, ctx context.Context, actor bot.User, ch bot.Channel, cmd bot.Command) (Reply, error)
	// zones, optional, looks up before the transaction the zones run needs
	// (call.zones): platforms may have to be asked, which no transaction
	// should wait for.
	zones func(s *Service, ctx context.Context, ch bot.Channel, cmd bot.Command) map[string]*time.Location
}

// viewCall is one command that only reads, handled inside a read-only
// transaction.
type viewCall struct {
	s     *Service
	tx    store.ReadTx
	inc   *bot.Incident
	actor bot.User
	cmd   bot.Command
	now   time.Time
	loc   *time.Location
}

// verbs is a verb family's table.
type verbs map[bot.Verb]handler

// handlers is every verb's handler, from the families' tables.
var handlers = merge(lifecycleVerbs, roleVerbs, postmortemVerbs, countermeasureVerbs, prefsVerbs, readVerbs, gamedayVerbs, nearMissVerbs)

// merge joins the families' tables; a verb claimed twice is a programming
// error, found at start.
func merge(families ...verbs) verbs {
	all := verbs{}
	for _, f := range families {
		for v, h := range f {
			if _, dup := all[v]; dup {
				panic("workflows: verb " + string(v) + " has two handlers")
			}
			all[v] = h
		}
	}
	return all
}

// incidentOf returns the incident cmd acts on: the one it names
// (action done INC-1#2), for a verb whose handler runs after close, else
// the one living in ch.
func (s *Service) incidentOf(tx store.ReadTx, ch bot.Channel, cmd bot.Command, h handler) (*bot.Incident, error) {
	if cmd.Incident == "" || !h.afterClose {
		inc, err := s.incidentIn(tx, ch)
		if bot.ErrorCode(err) == bot.ENOTFOUND && h.afterClose {
			return nil, bot.Errorf(bot.ENOTFOUND, "This is not an incident channel: name the incident too, e.g. /incident %s INC-1#%d.", cmd.Verb, max(cmd.N, 1))
		}
		return inc, err
	}
	inc, err := tx.Incident(cmd.Incident)
	if bot.ErrorCode(err) == bot.ENOTFOUND {
		return nil, bot.Errorf(bot.ENOTFOUND, "There is no incident %s.", cmd.Incident)
	}
	return inc, err
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

// queue is the effect queue of the call's incident and transaction.
func (c *call) queue() queue { return c.s.queue(c.tx, c.inc, c.now) }

// effect queues p into the incident's channels (queue.everywhere).
func (c *call) effect(p outbox.Payload) error { return c.queue().everywhere(p) }

// post queues a message to the incident's channels.
func (c *call) post(text string) error { return c.queue().post(text) }

// announce queues a message to each platform's announcement channel.
func (c *call) announce(text string) error { return c.queue().announce(text) }

// topic queues the incident's topic, refreshed, to its channels.
func (c *call) topic() error {
	return c.effect(SetTopic{Topic: render.Topic(c.inc)})
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

// mayManage reports whether the actor may close the incident or change its
// roles: its commander, or an admin.
func (c *call) mayManage() bool {
	return c.inc.IsCommander(c.actor) || c.s.isAdmin(c.actor)
}

func (c *call) deleteReminders(kinds ...store.ReminderKind) error {
	for _, k := range kinds {
		if err := c.tx.DeleteReminder(reminderKey(c.inc.ID, k)); err != nil {
			return fmt.Errorf("workflows: %s reminders: %w", c.inc.ID, err)
		}
	}
	return nil
}
