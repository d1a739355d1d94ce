package workflows

import (
	"context"
	"fmt"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows/render"
	"github.com/robfig/cron/v3"
)

func reminderKey(incidentID string, k store.ReminderKind) string {
	return incidentID + "/" + string(k)
}

// scheduleStatusReminder (re)sets the status-update reminder of an open
// incident one interval from now, or removes it when its severity has none.
func (s *Service) scheduleStatusReminder(tx store.Tx, inc *bot.Incident, now time.Time) error {
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

// scheduleNudge sets the reminder to schedule the post-mortem.
func (s *Service) scheduleNudge(tx store.Tx, inc *bot.Incident, now time.Time) error {
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

// Tick fires every reminder due at now, in one transaction: each fired
// reminder's message is queued in the outbox and the reminder is moved to
// its next time or deleted, together, so a reminder fires once even across
// a crash. A reminder that fell far behind (the bot was down) fires once and
// resumes from now rather than once per missed interval.
func (s *Service) Tick(ctx context.Context, now time.Time) (fired int, err error) {
	err = s.Store.Update(ctx, func(tx store.Tx) error {
		fired = 0
		due, err := tx.DueReminders(now)
		if err != nil {
			return err
		}
		for _, r := range due {
			ok, err := s.fire(tx, r, now)
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
		return 0, fmt.Errorf("workflows: reminders at %s: %w", now.Format(time.RFC3339), err)
	}
	if fired > 0 {
		s.kick()
	}
	return fired, nil
}

func (s *Service) fire(tx store.Tx, r store.Reminder, now time.Time) (bool, error) {
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
		deadline := s.scheduleDeadline(inc)
		text = fmt.Sprintf("Reminder: %s was resolved %s ago and its post-mortem is not scheduled. %s, please book it by %s: %s",
			inc.ID, now.Sub(inc.ResolvedAt).Round(time.Minute), commanderName(inc),
			deadline.Format("Mon 2006-01-02 15:04 MST"), bot.Syntax(bot.VerbPostmortemSchedule))
		// Past the deadline the nudge goes public, once: a review that
		// never happens is how the learning is lost.
		if !now.Before(deadline) && !r.Escalated {
			r.Escalated = true
			if err := s.announce(tx, inc, fmt.Sprintf("%s (%s, resolved %s) has no post-mortem scheduled; it was due by %s. Commander: %s.",
				inc.ID, inc.Severity, inc.ResolvedAt.In(s.zone()).Format("2006-01-02"),
				deadline.Format("Mon 2006-01-02 15:04 MST"), commanderName(inc)), now); err != nil {
				return false, err
			}
		}
	case store.RemindCountermeasure:
		return s.fireCountermeasure(tx, inc, r, now)
	case store.RemindMeetingDay, store.RemindMeetingSoon:
		pm := inc.Postmortem
		if inc.Status != bot.StatusReviewScheduled || !pm.ScheduledAt.After(now) {
			return false, tx.DeleteReminder(r.Key)
		}
		in := pm.ScheduledAt.Sub(now).Round(time.Minute)
		text = fmt.Sprintf("The post-mortem of %s starts in %s, at %s (%s). Blameless: we ask why it made sense at the time.",
			inc.ID, render.Duration(in), pm.ScheduledAt.In(s.zone()).Format("15:04 MST"), pm.ScheduledAt.UTC().Format("15:04 UTC"))
		if err := s.enqueuePost(tx, inc, text, now); err != nil {
			return false, err
		}
		return true, tx.DeleteReminder(r.Key) // each meeting reminder fires once
	default:
		return false, tx.DeleteReminder(r.Key)
	}
	if err := s.enqueuePost(tx, inc, text, now); err != nil {
		return false, err
	}
	r.Count++
	r.Due = r.Due.Add(every)
	if !r.Due.After(now) {
		r.Due = now.Add(every)
	}
	return true, tx.PutReminder(r)
}

// scheduleDeadline is when the post-mortem should be scheduled by: some
// working days after resolve, per severity, in the configured zone.
func (s *Service) scheduleDeadline(inc *bot.Incident) time.Time {
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

// ReminderScan is how often RunReminders looks for due reminders. The due
// times live in the store; the scan only decides how late one may fire.
const ReminderScan = "@every 30s"

// RunReminders scans for due reminders on a cron schedule until ctx is
// done. Tests call Tick with a fake time instead.
func (s *Service) RunReminders(ctx context.Context) error {
	c := cron.New()
	_, err := c.AddFunc(ReminderScan, func() {
		if _, err := s.Tick(ctx, s.now()); err != nil && ctx.Err() == nil {
			s.log().ErrorContext(ctx, "reminder scan failed", "err", err)
		}
	})
	if err != nil {
		return fmt.Errorf("workflows: reminders: %w", err)
	}
	c.Start()
	<-ctx.Done()
	<-c.Stop().Done()
	return nil
}
