package workflows

import (
	"context"
	"fmt"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
)

// Catchup is where an adapter starts reading one incident channel's
// history back from its platform after debrief was down or disconnected
// (README, "None lost while debrief was down"): what it finds there it
// records with Recovered set, and the dedupe keys drop what was already
// stored.
type Catchup struct {
	Channel    bot.Channel
	IncidentID string
	// Since is the platform time of the last message recorded from the
	// channel, or the incident's declaration when there is none.
	Since time.Time
	// Recent is the incident's last CatchupLookback entries, oldest first,
	// read with the rest: the messages on record whose edits and deletes
	// the adapter looks for in the history.
	Recent []bot.TimelineEvent
}

// CatchupLookback is how many of an incident's last entries a Catchup
// carries, and searches for the last platform message. Past it (a burst of
// alerts or bot notes) the catch-up starts at the declaration: longer, but
// the dedupe keys keep it exact.
const CatchupLookback = 500

// Catchups returns a Catchup for every incident not yet closed that has a
// channel on platform p, oldest incident first.
func (s *Service) Catchups(ctx context.Context, p bot.Platform) ([]Catchup, error) {
	var out []Catchup
	err := s.Store.View(ctx, func(tx store.ReadTx) error {
		after := 0
		for {
			incs, err := tx.IncidentsAfter(after, 100, store.IncidentFilter{Open: true})
			if err != nil {
				return err
			}
			if len(incs) == 0 {
				return nil
			}
			for _, inc := range incs {
				if inc.Channels[p] == "" {
					after = inc.Number
					continue
				}
				tail, _, err := tx.TimelineTail(inc.ID, CatchupLookback)
				if err != nil {
					return fmt.Errorf("workflows: catch-up %s: %w", inc.ID, err)
				}
				c := Catchup{Channel: bot.Channel{Platform: p, ID: inc.Channels[p]}, IncidentID: inc.ID, Since: inc.DeclaredAt, Recent: tail}
				for i := len(tail) - 1; i >= 0; i-- {
					ev := tail[i]
					if ev.MessageID != "" && ev.Author.Platform == p && !ev.PlatformAt.IsZero() {
						c.Since = ev.PlatformAt
						break
					}
				}
				out = append(out, c)
				after = inc.Number
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("workflows: catch-ups on %s: %w", p, err)
	}
	return out, nil
}
