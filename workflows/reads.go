package workflows

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows/render"
)

// readVerbs show what is recorded; they change nothing.
var readVerbs = verbs{
	bot.VerbHelp: {global: func(_ *Service, _ context.Context, _ bot.User, _ bot.Channel, cmd bot.Command) (Reply, error) {
		return Reply{Text: bot.HelpOn(cmd.Text), Ephemeral: true}, nil
	}},
	bot.VerbList:     {global: (*Service).list},
	bot.VerbTimeline: {run: (*call).timeline, readOnly: true},
}

// list shows the incidents not yet closed.
func (s *Service) list(ctx context.Context, _ bot.User, _ bot.Channel, _ bot.Command) (Reply, error) {
	incs, err := s.Incidents(ctx)
	if err != nil {
		return Reply{}, err
	}
	var b strings.Builder
	n := 0
	for _, inc := range incs {
		if inc.Status == bot.StatusClosed {
			continue
		}
		n++
		fmt.Fprintf(&b, "\n%s %s [%s] %s", inc.ID, inc.Severity, inc.Status.Human(), render.Mark(inc, inc.Title))
	}
	if n == 0 {
		return Reply{Text: "No incidents are in progress.", Ephemeral: true}, nil
	}
	return Reply{Text: fmt.Sprintf("%d incidents not yet closed:%s", n, b.String()), Ephemeral: true}, nil
}

// timelineShown is how many recent entries /incident timeline shows in
// chat; the export and the API have all of them.
const timelineShown = 30

func (c *call) timeline() (Reply, error) {
	tl, err := c.tx.Timeline(c.inc.ID)
	if err != nil {
		return Reply{}, fmt.Errorf("workflows: timeline %s: %w", c.inc.ID, err)
	}
	loc := c.loc
	var b strings.Builder
	fmt.Fprintf(&b, "Timeline of %s (%d entries, times in %s)", c.inc.ID, len(tl), loc)
	if len(tl) > timelineShown {
		fmt.Fprintf(&b, ", last %d", timelineShown)
		tl = tl[len(tl)-timelineShown:]
	}
	for _, ev := range tl {
		b.WriteString("\n")
		b.WriteString(render.TimelineLine(ev, loc))
	}
	return Reply{Text: b.String(), Ephemeral: true}, nil
}

// Incident returns the incident with the given ID ("INC-4" or "4").
func (s *Service) Incident(ctx context.Context, id string) (*bot.Incident, error) {
	n, ok := bot.ParseIncidentID(id)
	if !ok {
		return nil, bot.Errorf(bot.ENOTFOUND, "No incident %q.", id)
	}
	var inc *bot.Incident
	err := s.Store.View(ctx, func(tx store.ReadTx) error {
		var err error
		inc, err = tx.Incident(bot.IncidentID(n))
		return err
	})
	return inc, err
}

// Incidents returns every incident, oldest first.
func (s *Service) Incidents(ctx context.Context) ([]*bot.Incident, error) {
	var incs []*bot.Incident
	err := s.Store.View(ctx, func(tx store.ReadTx) error {
		var err error
		incs, err = tx.Incidents()
		return err
	})
	return incs, err
}

// Timeline returns the incident and its timeline, oldest first.
func (s *Service) Timeline(ctx context.Context, id string) (*bot.Incident, []bot.TimelineEvent, error) {
	n, ok := bot.ParseIncidentID(id)
	if !ok {
		return nil, nil, bot.Errorf(bot.ENOTFOUND, "No incident %q.", id)
	}
	var inc *bot.Incident
	var tl []bot.TimelineEvent
	err := s.Store.View(ctx, func(tx store.ReadTx) error {
		var err error
		if inc, err = tx.Incident(bot.IncidentID(n)); err != nil {
			return err
		}
		tl, err = tx.Timeline(inc.ID)
		return err
	})
	return inc, tl, err
}

// Export renders the incident's post-mortem write-up, times in loc (the
// configured zone when nil) with UTC alongside.
func (s *Service) Export(ctx context.Context, id string, loc *time.Location) (string, error) {
	inc, tl, err := s.Timeline(ctx, id)
	if err != nil {
		return "", err
	}
	if loc == nil {
		loc = s.zone()
	}
	return render.Writeup(inc, tl, loc), nil
}
