package workflows

import (
	"context"
	"fmt"
	"time"

	"github.com/debrief/debrief/workflows/outbox"
	"github.com/robfig/cron/v3"
)

// Loop is one of the application's periodic jobs. Tick does one pass at
// now, synchronously: tests call it with a fake clock and nothing sleeps.
// Run repeats it until ctx is done; it is the only part that waits on the
// wall clock, and cmd starts it.
type Loop interface {
	Tick(ctx context.Context, now time.Time) (int, error)
	Run(ctx context.Context) error
}

var (
	_ Loop = (*outbox.Outbox)(nil)
	_ Loop = (*Reminders)(nil)
	_ Loop = (*Nudges)(nil)
	_ Loop = (*Digest)(nil)
	_ Loop = (*Reconciler)(nil)
)

// Loops returns the loops cmd runs for this Service: the outbox, the
// reminders, the countermeasure nudges, the digest on the cron schedule
// digestSpec, and, with a Tracker, the reconcile every reconcileEvery.
func (s *Service) Loops(digestSpec string, reconcileEvery time.Duration) map[string]Loop {
	loops := map[string]Loop{
		"outbox": s.Outbox(), "reminders": s.Reminders(), "nudges": s.Nudges(), "digest": s.Digests(digestSpec),
	}
	if s.Tracker != nil {
		loops["reconcile"] = s.Reconciler(reconcileEvery)
	}
	return loops
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
