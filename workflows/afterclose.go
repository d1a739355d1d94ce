package workflows

import (
	"context"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
)

// closedRecheck is how long Record trusts that an incident it saw open is
// still open before it reads it again. A close on this process forgets it
// at once (Handle); one on another replica is seen within this long.
const closedRecheck = 2 * time.Second

// closedState is what Record knows of an incident's close.
type closedState struct {
	at      time.Time // when it closed; zero while open
	checked time.Time // when it was read, on the Service's clock
}

// closedAt returns when incident id closed, zero while it is open, for
// Record to mark what is said after close (bot.TimelineEvent.AfterClose).
// A close is final (bot.Transitions has no step out of closed), so a
// closed incident is remembered for good; an open one is read again after
// closedRecheck, which keeps the message hot path to one lookup in memory.
func (s *Service) closedAt(ctx context.Context, id string) (time.Time, error) {
	now := s.now()
	if v, ok := s.closed.Load(id); ok {
		c := v.(closedState)
		if !c.at.IsZero() || now.Sub(c.checked) < closedRecheck && !now.Before(c.checked) {
			return c.at, nil
		}
	}
	var at time.Time
	err := s.Store.View(ctx, func(tx store.ReadTx) error {
		inc, err := tx.Incident(id)
		if bot.ErrorCode(err) == bot.ENOTFOUND {
			// A channel mapped before its incident was written (a
			// restore in progress): nothing says it closed.
			return nil
		}
		if err != nil {
			return err
		}
		at = inc.ClosedAt
		return nil
	})
	if err != nil {
		return time.Time{}, err
	}
	s.closed.Store(id, closedState{at: at, checked: now})
	return at, nil
}

// forgetClosed drops what closedAt knows of incident id, after a command
// on it committed: the next event reads whether it closed.
func (s *Service) forgetClosed(id string) {
	if id != "" {
		s.closed.Delete(id)
	}
}
