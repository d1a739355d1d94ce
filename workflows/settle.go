package workflows

import (
	"context"
	"fmt"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
)

// Settle waits until no effect of incident id on platform p is due: those
// the last command queued (and those their delivery queued, such as the
// pin of a posted summary) have been delivered, or failed and wait for a
// retry. It returns ctx's error when ctx ends first. The console calls it
// after each command so that what it prints, and the channel it moves its
// user into, come before the next line is read: a script typing into the
// new channel right after declare finds it there.
func (s *Service) Settle(ctx context.Context, id string, p bot.Platform) error {
	ob := s.Outbox()
	for {
		changed := ob.Changed()
		due := false
		now := s.now()
		err := s.Store.View(ctx, func(tx store.ReadTx) error {
			effects, err := tx.Effects()
			if err != nil {
				return err
			}
			for _, e := range effects {
				if e.IncidentID == id && e.Platform == p && !e.NextAt.After(now) {
					due = true
					return nil
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("workflows: settle %s: %w", id, err)
		}
		if !due {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}
