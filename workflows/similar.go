package workflows

import (
	"context"
	"fmt"
	"strings"

	"github.com/debrief/debrief/bot"
)

// SimilarFinder finds past incidents like a new one (its title's words,
// its tags), best first: the archive's search index (adapters/web) is one.
// When an incident is declared, up to three are posted in its channel with
// their still-open countermeasures, because a repeat is the moment a
// forgotten countermeasure matters.
type SimilarFinder interface {
	// Similar returns up to n incidents like inc, inc itself excluded.
	Similar(ctx context.Context, inc *bot.Incident, n int) ([]*bot.Incident, error)
}

// similarOnDeclare is how many similar incidents a declare posts.
const similarOnDeclare = 3

// similar asks s.Similar about a new incident titled title with tags, before
// the declare's transaction (a search holds no write lock); nothing when
// there is no finder or it fails, which is logged: a declare never fails
// for want of the archive.
func (s *Service) similar(ctx context.Context, title string, tags []string) []*bot.Incident {
	if s.Similar == nil {
		return nil
	}
	found, err := s.Similar.Similar(ctx, &bot.Incident{Title: title, Tags: tags}, similarOnDeclare)
	if err != nil {
		s.log().WarnContext(ctx, "similar incidents", "err", err)
		return nil
	}
	return found
}

// similarText is the message that lists them.
func similarText(incs []*bot.Incident) string {
	var b strings.Builder
	b.WriteString("Similar past incidents:")
	for _, inc := range incs {
		fmt.Fprintf(&b, "\n- %s %s (%s, %s)", inc.ID, inc.Title, inc.Severity, inc.Status.Human())
		for _, cm := range inc.Countermeasures {
			if !cm.Settled() {
				fmt.Fprintf(&b, "\n  - still open: %s", cm.Describe())
			}
		}
	}
	return b.String()
}
