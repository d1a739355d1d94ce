package workflows

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows/outbox"
)

// Digest is the loop that posts the weekly digest of countermeasures not
// yet done on its cron schedule (DEBRIEF_DIGEST_CRON).
type Digest struct {
	s *Service
	// spec is the cron schedule, e.g. "CRON_TZ=UTC 0 9 * * MON".
	spec string
}

// Digests returns the Service's digest loop on the cron schedule spec.
func (s *Service) Digests(spec string) *Digest { return &Digest{s: s, spec: spec} }

// Tick posts the digest of countermeasures not yet done, overdue ones
// first, to each platform's announcement channel (Config.Announce): for
// each, the countermeasures of the incidents that live on it. A platform
// with none gets no digest, unless it had incidents a year ago this week,
// which the digest lists too (with links into the archive when
// Config.ArchiveURL is set). Overdue is judged in the configured zone at
// now. It returns how many digests it queued.
func (d *Digest) Tick(ctx context.Context, now time.Time) (int, error) {
	s := d.s
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
		// A year ago this week, as Morgue's anniversary mails: the
		// incidents declared in the seven days from this day a year ago.
		yearAgo := map[bot.Platform][]*bot.Incident{}
		from, to := now.AddDate(-1, 0, 0), now.AddDate(-1, 0, 7)
		for _, inc := range incs {
			if !inc.DeclaredAt.Before(from) && inc.DeclaredAt.Before(to) {
				for _, p := range incidentPlatforms(inc) {
					yearAgo[p] = append(yearAgo[p], inc)
				}
			}
		}
		platforms := make([]bot.Platform, 0, len(per))
		for p := range per {
			platforms = append(platforms, p)
		}
		for p := range yearAgo {
			if _, ok := per[p]; !ok {
				platforms = append(platforms, p)
			}
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
			if len(items) > 0 {
				fmt.Fprintf(&b, "Countermeasures not done yet, as of %s: %d, %d overdue.", today, len(items), nOverdue)
			}
			if overdue.Len() > 0 {
				b.WriteString("\nOverdue:" + overdue.String())
			}
			if open.Len() > 0 {
				b.WriteString("\nOpen:" + open.String())
			}
			if ago := yearAgo[p]; len(ago) > 0 {
				if b.Len() > 0 {
					b.WriteString("\n")
				}
				b.WriteString("A year ago this week:")
				for _, inc := range ago {
					fmt.Fprintf(&b, "\n- %s %s (%s, declared %s)", inc.ID, inc.Title, inc.Severity, bot.DateOf(inc.DeclaredAt.In(s.zone())))
					if s.Config.ArchiveURL != "" {
						b.WriteString(" " + strings.TrimSuffix(s.Config.ArchiveURL, "/") + "/incidents/" + inc.ID)
					}
				}
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

// Run posts the digest on its cron schedule until ctx is done. A digest
// that falls while debrief is down is skipped: the next one covers the
// same ground.
func (d *Digest) Run(ctx context.Context) error {
	return d.s.runCron(ctx, d.spec, "digest", func() error {
		_, err := d.Tick(ctx, d.s.now())
		return err
	})
}
