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
	"github.com/debrief/debrief/workflows/render"
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
// with none gets no digest. Overdue is judged in the configured zone at
// now. It returns how many digests it queued.
func (d *Digest) Tick(ctx context.Context, now time.Time) (int, error) {
	s := d.s
	today := bot.DateOf(now.In(s.zone()))
	// What the digests say is read in a read transaction: it decodes every
	// incident, which no writer should wait for. Only the queueing writes.
	texts := map[bot.Platform][]string{}
	err := s.Store.View(ctx, func(tx store.ReadTx) error {
		clear(texts)
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
				if cm.Settled() { // done, or dropped: nothing to chase
					continue
				}
				for _, p := range incidentPlatforms(inc) {
					per[p] = append(per[p], item{inc, cm})
				}
			}
		}
		for p, items := range per {
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
			texts[p] = append(texts[p], b.String())
		}
		// A year ago this week, as Morgue's anniversary mails: the
		// incidents declared in the seven days from this day a year ago.
		from, to := now.AddDate(-1, 0, 0), now.AddDate(-1, 0, 7)
		yearAgo := map[bot.Platform]*strings.Builder{}
		for _, inc := range incs {
			if inc.DeclaredAt.Before(from) || !inc.DeclaredAt.Before(to) {
				continue
			}
			for _, p := range incidentPlatforms(inc) {
				b := yearAgo[p]
				if b == nil {
					b = &strings.Builder{}
					b.WriteString("A year ago this week:")
					yearAgo[p] = b
				}
				fmt.Fprintf(b, "\n- %s %s (%s, declared %s)", inc.ID, inc.Title, inc.Severity, render.At(inc.DeclaredAt, s.zone(), bot.StyleDate, "2006-01-02"))
				if s.Config.ArchiveURL != "" {
					b.WriteString(" " + strings.TrimSuffix(s.Config.ArchiveURL, "/") + "/incidents/" + inc.ID)
				}
			}
		}
		for p, b := range yearAgo {
			texts[p] = append(texts[p], b.String())
		}
		return s.weakSignals(tx, texts, now)
	})
	if err != nil {
		return 0, fmt.Errorf("workflows: digest at %s: %w", now.Format(time.RFC3339), err)
	}
	queued := 0
	err = s.Store.Update(ctx, func(tx store.Tx) error {
		queued = 0
		platforms := make([]bot.Platform, 0, len(texts))
		for p := range texts {
			platforms = append(platforms, p)
		}
		sort.Slice(platforms, func(i, j int) bool { return platforms[i] < platforms[j] })
		for _, p := range platforms {
			ch := s.Config.Announce[p]
			if ch == "" {
				continue
			}
			r := outbox.Route{Platform: p, ChannelID: ch, Key: path.Join("digest", today.String(), string(p))}
			if _, err := s.Outbox().Enqueue(tx, r, Post{Text: strings.Join(texts[p], "\n\n")}, now); err != nil {
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

// DigestSignals is how many never-declared signals the digest lists, and
// the window their firings are counted in.
const (
	DigestSignals      = 5
	DigestSignalWindow = 30 * 24 * time.Hour
)

// weakSignals adds to texts the week's near misses (on the platform they
// were recorded on) and the signals that fired most in DigestSignalWindow
// without ever becoming an incident (where alert incidents live), at least
// twice: once is noise, twice is a pattern.
func (s *Service) weakSignals(tx store.ReadTx, texts map[bot.Platform][]string, now time.Time) error {
	nms, err := tx.NearMisses()
	if err != nil {
		return fmt.Errorf("workflows: digest near misses: %w", err)
	}
	week := now.Add(-7 * 24 * time.Hour)
	lines := map[bot.Platform][]string{}
	for _, nm := range nms {
		if nm.RecordedAt.Before(week) || nm.RecordedAt.After(now) {
			continue
		}
		line := fmt.Sprintf("\n- %s %s (%s)", nm.ID, headline(nm.Text, 120), nm.Reporter.Display())
		if nm.IncidentID != "" {
			line += ", declared as " + nm.IncidentID
		}
		lines[nm.Channel.Platform] = append(lines[nm.Channel.Platform], line)
	}
	for p, ls := range lines {
		texts[p] = append(texts[p], fmt.Sprintf("Near misses this week: %d.%s", len(ls), strings.Join(ls, "")))
	}
	sigs, err := tx.Signals()
	if err != nil {
		return fmt.Errorf("workflows: digest signals: %w", err)
	}
	type counted struct {
		sig store.Signal
		n   int
	}
	var top []counted
	since := now.Add(-DigestSignalWindow)
	for _, sg := range sigs {
		if len(sg.IncidentIDs) > 0 {
			continue
		}
		n := 0
		for _, at := range sg.Fires {
			if !at.Before(since) && !at.After(now) {
				n++
			}
		}
		if n >= 2 {
			top = append(top, counted{sg, n})
		}
	}
	if len(top) == 0 {
		return nil
	}
	sort.SliceStable(top, func(i, j int) bool { return top[i].n > top[j].n })
	if len(top) > DigestSignals {
		top = top[:DigestSignals]
	}
	var b strings.Builder
	b.WriteString("Signals that fired most without becoming an incident:")
	for _, c := range top {
		fmt.Fprintf(&b, "\n- %s: fired %d times in 30 days, never declared", signalName(c.sig), c.n)
	}
	p := s.alertOrigin().Platform
	texts[p] = append(texts[p], b.String())
	return nil
}

// signalName is an alert's name and its telling label: "HighDiskUsage on
// db-3".
func signalName(sg store.Signal) string {
	for _, l := range []string{"instance", "host", "source", "service", "job"} {
		if v := sg.Labels[l]; v != "" {
			return sg.Name + " on " + v
		}
	}
	return sg.Name
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
