package workflows

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows/outbox"
	"github.com/robfig/cron/v3"
)

func countermeasureReminderKey(incidentID string, n int) string {
	return reminderKey(incidentID, store.RemindCountermeasure) + "/" + strconv.Itoa(n)
}

// ownerZone is the zone a countermeasure's owner is nudged in: the one they
// set with /incident tz (read now, so a change applies to the next nudge),
// else the one known when the countermeasure was recorded (their
// platform's), else the configured zone.
func (s *Service) ownerZone(tx store.ReadTx, cm bot.Countermeasure) (*time.Location, error) {
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

// scheduleCountermeasureNudge (re)sets the nudge of cm to its next time
// (bot.NextNudge), or removes it once cm is done.
func (s *Service) scheduleCountermeasureNudge(tx store.Tx, inc *bot.Incident, cm bot.Countermeasure, now time.Time) error {
	key := countermeasureReminderKey(inc.ID, cm.N)
	if cm.State == bot.CMDone || cm.Due.IsZero() {
		return tx.DeleteReminder(key)
	}
	loc, err := s.ownerZone(tx, cm)
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
func (s *Service) fireCountermeasure(tx store.Tx, inc *bot.Incident, r store.Reminder, now time.Time) (bool, error) {
	if r.N < 1 || r.N > len(inc.Countermeasures) {
		return false, tx.DeleteReminder(r.Key)
	}
	cm := inc.Countermeasures[r.N-1]
	if cm.State == bot.CMDone {
		return false, tx.DeleteReminder(r.Key)
	}
	loc, err := s.ownerZone(tx, cm)
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
	if cm.Tracker != "" {
		text += " Close its issue when it is in place: " + cm.Tracker
	} else if s.Tracker == nil {
		text += fmt.Sprintf(" When it is in place: /incident action done %d (in the incident's channel).", cm.N)
	}
	if err := s.direct(tx, inc, cm.Owner, text, now); err != nil {
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
			if err := s.direct(tx, inc, c, msg, now); err != nil {
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

// direct queues text for u alone (EffectDirect), on u's platform.
func (s *Service) direct(tx store.Tx, inc *bot.Incident, u bot.User, text string, now time.Time) error {
	return s.enqueue(tx, inc, outbox.Route{Platform: u.Platform, ChannelID: s.fallbackChannel(inc, u.Platform)}, Direct{User: u, Text: text}, now)
}

// Digest posts the weekly digest of countermeasures not yet done, overdue
// ones first, to each platform's announcement channel (Config.Announce):
// for each, the countermeasures of the incidents that live on it. A
// platform with none gets no digest. Overdue is judged in the configured
// zone at now. The digest cron (RunDigest) calls it; tests call it with a
// fake time. It returns how many digests it queued.
func (s *Service) Digest(ctx context.Context, now time.Time) (int, error) {
	today := bot.DateOf(now.In(s.zone()))
	queued := 0
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		queued = 0
		incs, err := tx.Incidents()
		if err != nil {
			return err
		}
		type item struct {
			inc *bot.Incident
			cm  bot.Countermeasure
		}
		per := map[bot.Platform][]item{}
		for _, inc := range incs {
			for _, cm := range inc.Countermeasures {
				if cm.State == bot.CMDone {
					continue
				}
				for _, p := range incidentPlatforms(inc) {
					per[p] = append(per[p], item{inc, cm})
				}
			}
		}
		platforms := make([]bot.Platform, 0, len(per))
		for p := range per {
			platforms = append(platforms, p)
		}
		sort.Slice(platforms, func(i, j int) bool { return platforms[i] < platforms[j] })
		for _, p := range platforms {
			ch := s.Config.Announce[p]
			if ch == "" {
				continue
			}
			items := per[p]
			sort.SliceStable(items, func(i, j int) bool { return items[i].cm.Due.Before(items[j].cm.Due) })
			var overdue, open strings.Builder
			nOverdue := 0
			for _, it := range items {
				line := fmt.Sprintf("\n- %s %s", it.inc.ID, it.cm.Describe())
				if late := it.cm.Due.DaysUntil(today); late > 0 {
					nOverdue++
					overdue.WriteString(line + ", " + days(late) + " overdue")
				} else {
					open.WriteString(line)
				}
			}
			var b strings.Builder
			fmt.Fprintf(&b, "Countermeasures not done yet, as of %s: %d, %d overdue.", today, len(items), nOverdue)
			if overdue.Len() > 0 {
				b.WriteString("\nOverdue:" + overdue.String())
			}
			if open.Len() > 0 {
				b.WriteString("\nOpen:" + open.String())
			}
			r := outbox.Route{Platform: p, ChannelID: ch, Key: path.Join("digest", today.String(), string(p))}
			if _, err := s.Outbox().Enqueue(tx, r, Post{Text: b.String()}, now); err != nil {
				return fmt.Errorf("workflows: digest for %s: %w", p, err)
			}
			queued++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("workflows: digest at %s: %w", now.Format(time.RFC3339), err)
	}
	if queued > 0 {
		s.kick()
	}
	return queued, nil
}

// RunDigest posts the digest on the cron schedule spec (DEBRIEF_DIGEST_CRON,
// e.g. "CRON_TZ=UTC 0 9 * * MON") until ctx is done. A digest that falls
// while debrief is down is skipped: the next one covers the same ground.
func (s *Service) RunDigest(ctx context.Context, spec string) error {
	return s.runCron(ctx, spec, "digest", func() error {
		_, err := s.Digest(ctx, s.now())
		return err
	})
}

// RunReconcile reconciles with the tracker once at start and then every
// interval until ctx is done.
func (s *Service) RunReconcile(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		return fmt.Errorf("workflows: reconcile every %s: want a positive interval", every)
	}
	run := func() error {
		_, err := s.Reconcile(ctx)
		return err
	}
	if err := run(); err != nil && ctx.Err() == nil {
		s.log().WarnContext(ctx, "reconcile failed", "platform", trackerPlatform, "err", err)
	}
	return s.runCron(ctx, "@every "+every.String(), "reconcile", run)
}

// runCron runs fn on the cron schedule spec until ctx is done, logging its
// failures; robfig/cron only decides when, the work itself is fn's.
func (s *Service) runCron(ctx context.Context, spec, name string, fn func() error) error {
	c := cron.New()
	_, err := c.AddFunc(spec, func() {
		if err := fn(); err != nil && ctx.Err() == nil {
			s.log().ErrorContext(ctx, name+" failed", "err", err)
		}
	})
	if err != nil {
		return fmt.Errorf("workflows: %s schedule %q: %w", name, spec, err)
	}
	c.Start()
	<-ctx.Done()
	<-c.Stop().Done()
	return nil
}
