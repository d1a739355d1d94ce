package workflows

import (
	"context"
	"fmt"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows/render"
)

func reminderKey(incidentID string, k store.ReminderKind) string {
	return incidentID + "/" + string(k)
}

// scheduleStatus (re)sets the status-update reminder of an open
// incident one interval from now, or removes it when its severity has none.
func (r *Reminders) scheduleStatus(tx store.Tx, inc *bot.Incident, now time.Time) error {
	s := r.s
	key := reminderKey(inc.ID, store.RemindStatus)
	every := s.Config.StatusEvery[inc.Severity]
	var err error
	if every <= 0 {
		err = tx.DeleteReminder(key)
	} else {
		err = tx.PutReminder(store.Reminder{Key: key, IncidentID: inc.ID, Kind: store.RemindStatus, Due: now.Add(every)})
	}
	if err != nil {
		return fmt.Errorf("workflows: status reminder %s: %w", inc.ID, err)
	}
	return nil
}

// scheduleBooking sets the reminder to schedule the post-mortem.
func (rs *Reminders) scheduleBooking(tx store.Tx, inc *bot.Incident, now time.Time) error {
	s := rs.s
	every := s.Config.ScheduleNudgeEvery
	if every <= 0 {
		return nil
	}
	r := store.Reminder{Key: reminderKey(inc.ID, store.RemindSchedule), IncidentID: inc.ID, Kind: store.RemindSchedule, Due: now.Add(every)}
	if err := tx.PutReminder(r); err != nil {
		return fmt.Errorf("workflows: schedule nudge %s: %w", inc.ID, err)
	}
	return nil
}

// Reminders is the loop that fires the incidents' reminders: a status
// update asked for while an incident is open, the post-mortem to schedule
// after resolve (announced once past its deadline), and the meeting 24 h
// and 15 min before it starts. Countermeasure nudges are Nudges'.
type Reminders struct{ s *Service }

// Reminders returns the Service's reminder loop.
func (s *Service) Reminders() *Reminders { return &Reminders{s: s} }

// Tick fires the incident reminders due at now (fireDue) and returns how
// many fired.
func (r *Reminders) Tick(ctx context.Context, now time.Time) (int, error) {
	return r.s.fireDue(ctx, now, "reminders", func(k store.ReminderKind) bool { return k != store.RemindCountermeasure }, r.fire)
}

// Run fires what is due at once, then scans for due reminders every
// ReminderScan until ctx is done. Firing at once matters on a cluster: a
// replica that becomes the leader (cmd/debrief/cluster.go) fires what came
// due during the failover without waiting for its first scan.
func (r *Reminders) Run(ctx context.Context) error {
	if ctx.Err() == nil {
		if _, err := r.Tick(ctx, r.s.now()); err != nil && ctx.Err() == nil {
			r.s.log().ErrorContext(ctx, "reminders failed", "err", err)
		}
	}
	return r.s.runCron(ctx, ReminderScan, "reminders", func() error {
		_, err := r.Tick(ctx, r.s.now())
		return err
	})
}

// fireDue fires, in one transaction, each reminder due at now whose kind is
// mine: its message is queued in the outbox and the reminder is moved to
// its next time or deleted, together, so a reminder fires once even across
// a crash. A reminder that fell far behind (the bot was down) fires once
// and resumes from now rather than once per missed interval.
func (s *Service) fireDue(ctx context.Context, now time.Time, what string, mine func(store.ReminderKind) bool,
	fire func(store.Tx, store.Reminder, time.Time) (bool, error)) (fired int, err error) {
	err = s.Store.Update(ctx, func(tx store.Tx) error {
		fired = 0
		due, err := tx.DueReminders(now)
		if err != nil {
			return err
		}
		for _, r := range due {
			if !mine(r.Kind) {
				continue
			}
			ok, err := fire(tx, r, now)
			if err != nil {
				return err
			}
			if ok {
				fired++
				s.metrics().ReminderFires.WithLabelValues(string(r.Kind)).Inc()
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("workflows: %s at %s: %w", what, now.Format(time.RFC3339), err)
	}
	if fired > 0 {
		s.kick()
	}
	return fired, nil
}

// fire fires reminder r: its message is queued and r moved to its next
// time, or deleted when it no longer applies.
func (rs *Reminders) fire(tx store.Tx, r store.Reminder, now time.Time) (bool, error) {
	s := rs.s
	inc, err := tx.Incident(r.IncidentID)
	if bot.ErrorCode(err) == bot.ENOTFOUND {
		return false, tx.DeleteReminder(r.Key)
	}
	if err != nil {
		return false, err
	}
	var text string
	var every time.Duration
	switch r.Kind {
	case store.RemindStatus:
		every = s.Config.StatusEvery[inc.Severity]
		if !inc.Open() || every <= 0 {
			return false, tx.DeleteReminder(r.Key)
		}
		text = fmt.Sprintf("Reminder: %s is %s with no status update for %s. %s, please post one: /incident status <what we know, what we are doing>",
			inc.ID, inc.Severity, every, commanderName(inc))
	case store.RemindSchedule:
		every = s.Config.ScheduleNudgeEvery
		if inc.Status != bot.StatusResolved || every <= 0 {
			return false, tx.DeleteReminder(r.Key)
		}
		deadline := rs.deadline(inc)
		text = fmt.Sprintf("Reminder: %s was resolved %s ago and its post-mortem is not scheduled. %s, please book it by %s: %s",
			inc.ID, now.Sub(inc.ResolvedAt).Round(time.Minute), commanderName(inc),
			render.At(deadline, s.zone(), bot.StyleLongDateTime, "Mon 2006-01-02 15:04 MST"), bot.Syntax(bot.VerbPostmortemSchedule))
		// Past the deadline the nudge goes public, once: a review that
		// never happens is how the learning is lost.
		if !now.Before(deadline) && !r.Escalated {
			r.Escalated = true
			if err := s.queue(tx, inc, now).announce(fmt.Sprintf("%s (%s, resolved %s) has no post-mortem scheduled; it was due by %s. Commander: %s.",
				inc.ID, inc.Severity, render.At(inc.ResolvedAt, s.zone(), bot.StyleDate, "2006-01-02"),
				render.At(deadline, s.zone(), bot.StyleLongDateTime, "Mon 2006-01-02 15:04 MST"), commanderName(inc))); err != nil {
				return false, err
			}
		}
	case store.RemindMeetingDay, store.RemindMeetingSoon:
		pm := inc.Postmortem
		if inc.Status != bot.StatusReviewScheduled || !pm.ScheduledAt.After(now) {
			return false, tx.DeleteReminder(r.Key)
		}
		in := pm.ScheduledAt.Sub(now).Round(time.Minute)
		text = fmt.Sprintf("The post-mortem of %s starts in %s, at %s. Blameless: we ask why it made sense at the time.",
			inc.ID, render.Duration(in), render.At(pm.ScheduledAt, s.zone(), bot.StyleTime, "15:04 MST"))
		if err := s.queue(tx, inc, now).post(text); err != nil {
			return false, err
		}
		return true, tx.DeleteReminder(r.Key) // each meeting reminder fires once
	default:
		return false, tx.DeleteReminder(r.Key)
	}
	if err := s.queue(tx, inc, now).post(text); err != nil {
		return false, err
	}
	r.Count++
	r.Due = r.Due.Add(every)
	if !r.Due.After(now) {
		r.Due = now.Add(every)
	}
	return true, tx.PutReminder(r)
}

// deadline is when the post-mortem should be scheduled by: some
// working days after resolve, per severity, in the configured zone.
func (r *Reminders) deadline(inc *bot.Incident) time.Time {
	s := r.s
	days, ok := s.Config.ScheduleWithin[inc.Severity]
	if !ok {
		days = 5
	}
	return bot.AddWorkingDays(inc.ResolvedAt, days, s.zone())
}

func commanderName(inc *bot.Incident) string {
	if c, ok := inc.Role(bot.Commander); ok {
		return c.Display()
	}
	return "Commander"
}

// ReminderScan is how often the reminder and nudge loops look for due
// reminders. The due times live in the store; the scan only decides how
// late one may fire.
const ReminderScan = "@every 30s"
