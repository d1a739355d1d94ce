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
	_ Loop = (*Gamedays)(nil)
)

// NamedLoop is a Loop with the name cmd logs it under.
type NamedLoop struct {
	Name string
	Loop
}

// Loops returns the loops cmd runs for this Service, in the order to start
// them: the outbox first, then the loops that queue effects for it (the
// reminders, the countermeasure nudges, the digest on the cron schedule
// digestSpec, the game days, and, with a Tracker, the reconcile every ReconcileEvery).
// cmd stops them in reverse, so that the outbox stops last and nothing is
// queued after it has stopped (its last bounded pass at shutdown is
// cmd's).
func (s *Service) Loops(digestSpec string) []NamedLoop {
	loops := []NamedLoop{
		{"outbox", s.Outbox()},
		{"reminders", s.Reminders()},
		{"nudges", s.Nudges()},
		{"digest", s.Digests(digestSpec)},
		{"gamedays", s.Gamedays()},
	}
	if s.Tracker != nil {
		loops = append(loops, NamedLoop{"reconcile", s.Reconciler()})
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
