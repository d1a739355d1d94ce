package workflows

import (
	"context"
	"fmt"
	"time"

	"github.com/debrief/debrief/store"
)

// FirstTime reports whether key (a signed request's identity: Slack's
// signature, Discord's interaction ID) is seen for the first time within
// window, and remembers it durably for window from now. A signature is
// valid for a window (5 minutes on Slack and Discord); remembered that
// long, a request replayed within it, even across a restart, is told
// from a new one and not run twice (README, "Security").
//
// It commits before the request is run: a crash after it loses that one
// request, which the user sees unanswered and sends again (a new
// signature), rather than running a replay.
func (s *Service) FirstTime(ctx context.Context, key string, window time.Duration) (bool, error) {
	now := s.now()
	var seen bool
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		seen, err = tx.Remember(key, now, now.Add(window))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("workflows: remember %s: %w", key, err)
	}
	return !seen, nil
}
