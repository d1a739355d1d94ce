package workflows

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
)

func countermeasureReminderKey(incidentID string, n int) string {
	return reminderKey(incidentID, store.RemindCountermeasure) + "/" + strconv.Itoa(n)
}

// ownerZone is the zone a countermeasure's owner is nudged in: the one they
// set with /incident tz (read now, so a change applies to the next nudge),
// else the one known when the countermeasure was recorded (their
// platform's), else the configured zone.
func (n *Nudges) ownerZone(tx store.ReadTx, cm bot.Countermeasure) (*time.Location, error) {
	s := n.s
	p, err := tx.UserPrefs(cm.Owner.Key())
	if err != nil {
		return nil, fmt.Errorf("workflows: zone of %s: %w", cm.Owner.Key(), err)
	}
	for _, name := range []string{p.Zone, cm.Zone} {
		if name == "" {
			continue
		}
		if loc, err := time.LoadLocation(name); err == nil {
			return loc, nil
		}
	}
	return s.zone(), nil
}

// schedule (re)sets the nudge of cm to its next time
// (bot.NextNudge), or removes it once cm is done.
func (n *Nudges) schedule(tx store.Tx, inc *bot.Incident, cm bot.Countermeasure, now time.Time) error {
	key := countermeasureReminderKey(inc.ID, cm.N)
	if cm.Settled() || cm.Due.IsZero() {
		return tx.DeleteReminder(key)
	}
	loc, err := n.ownerZone(tx, cm)
	if err != nil {
		return err
	}
	r := store.Reminder{Key: key, IncidentID: inc.ID, Kind: store.RemindCountermeasure, N: cm.N, Due: bot.NextNudge(cm.Due, now, loc)}
	if err := tx.PutReminder(r); err != nil {
		return fmt.Errorf("workflows: nudge %s#%d: %w", inc.ID, cm.N, err)
	}
	return nil
}

// fireCountermeasure nudges the owner of the countermeasure r is about and
// moves r to the next nudge, or deletes it when the countermeasure is done.
// From EscalateAfter days overdue on, the incident commander is told too,
// once: the weekly digest keeps it visible after that.
func (n *Nudges) fireCountermeasure(tx store.Tx, inc *bot.Incident, r store.Reminder, now time.Time) (bool, error) {
	s := n.s
	if r.N < 1 || r.N > len(inc.Countermeasures) {
		return false, tx.DeleteReminder(r.Key)
	}
	cm := inc.Countermeasures[r.N-1]
	if cm.Settled() {
		return false, tx.DeleteReminder(r.Key)
	}
	loc, err := n.ownerZone(tx, cm)
	if err != nil {
		return false, err
	}
	today := bot.DateOf(now.In(loc))
	late := cm.Due.DaysUntil(today) // > 0: overdue by that many days
	due := cm.Due.String() + " (" + cm.Due.Weekday().String()[:3] + ")"
	var text string
	switch {
	case late < 0:
		text = fmt.Sprintf("Heads-up: countermeasure #%d of %s is due in %s, on %s: %s.", cm.N, inc.ID, days(-late), due, cm.Text)
	case late == 0:
		text = fmt.Sprintf("Countermeasure #%d of %s is due today: %s.", cm.N, inc.ID, cm.Text)
	default:
		text = fmt.Sprintf("Countermeasure #%d of %s is %s overdue (due %s): %s.", cm.N, inc.ID, days(late), due, cm.Text)
	}
	ref := CountermeasureKey(inc.ID, cm.N)
	switch {
	case cm.IssueGone:
		text += fmt.Sprintf(" Its issue was deleted: settle it with /incident action done %s (or action drop %s), from any channel.", ref, ref)
	case cm.Tracker != "":
		text += " Close its issue when it is in place: " + cm.Tracker
	case s.Tracker == nil:
		text += fmt.Sprintf(" When it is in place: /incident action done %d in the incident's channel, or /incident action done %s anywhere.", cm.N, ref)
	}
	if err := s.queue(tx, inc, now).direct(cm.Owner, text); err != nil {
		return false, err
	}
	if after := s.Config.EscalateAfter; after > 0 && late >= after && !r.Escalated {
		r.Escalated = true
		if c, ok := inc.Role(bot.Commander); ok {
			msg := fmt.Sprintf("Countermeasure #%d of %s, owned by %s, is %s overdue (due %s): %s.",
				cm.N, inc.ID, cm.Owner.Display(), days(late), due, cm.Text)
			if cm.Tracker != "" {
				msg += " " + cm.Tracker
			}
			if err := s.queue(tx, inc, now).direct(c, msg); err != nil {
				return false, err
			}
		}
	}
	r.Count++
	r.Due = bot.NextNudge(cm.Due, now, loc)
	return true, tx.PutReminder(r)
}

func days(n int) string {
	if n == 1 {
		return "1 day"
	}
	return strconv.Itoa(n) + " days"
}

// Nudges is the loop that nudges countermeasure owners before and after
// their due dates (bot.NextNudge), directly where the platform can, and
// tells the commander once a countermeasure is long overdue.
type Nudges struct{ s *Service }

// Nudges returns the Service's countermeasure nudge loop.
func (s *Service) Nudges() *Nudges { return &Nudges{s: s} }

// Tick fires the countermeasure nudges due at now (fireDue) and returns
// how many fired.
func (n *Nudges) Tick(ctx context.Context, now time.Time) (int, error) {
	return n.s.fireDue(ctx, now, "nudges", func(k store.ReminderKind) bool { return k == store.RemindCountermeasure }, n.fire)
}

// Run scans for due nudges every ReminderScan until ctx is done.
func (n *Nudges) Run(ctx context.Context) error {
	return n.s.runCron(ctx, ReminderScan, "nudges", func() error {
		_, err := n.Tick(ctx, n.s.now())
		return err
	})
}

// fire fires the nudge r, or deletes it when its incident is gone.
func (n *Nudges) fire(tx store.Tx, r store.Reminder, now time.Time) (bool, error) {
	inc, err := tx.Incident(r.IncidentID)
	if bot.ErrorCode(err) == bot.ENOTFOUND {
		return false, tx.DeleteReminder(r.Key)
	}
	if err != nil {
		return false, err
	}
	return n.fireCountermeasure(tx, inc, r, now)
}
