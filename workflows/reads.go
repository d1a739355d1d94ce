package workflows

import (
	"bytes"
	"context"
	"fmt"
	"io"
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
	bot.VerbTimeline: {view: (*viewCall).timeline},
}

// list shows the incidents not yet closed, reading them a page at a time
// (IncidentsAfter), each page in its own short read transaction.
func (s *Service) list(ctx context.Context, _ bot.User, _ bot.Channel, _ bot.Command) (Reply, error) {
	var b strings.Builder
	n := 0
	open := store.IncidentFilter{Open: true}
	for after := 0; ; {
		var page []*bot.Incident
		err := s.Store.View(ctx, func(tx store.ReadTx) error {
			var err error
			page, err = tx.IncidentsAfter(after, incidentPage, open)
			return err
		})
		if err != nil {
			return Reply{}, fmt.Errorf("workflows: list: %w", err)
		}
		for _, inc := range page {
			n++
			fmt.Fprintf(&b, "\n%s %s [%s] %s", inc.ID, inc.Severity, inc.Status.Human(), render.Mark(inc, inc.Title))
		}
		if len(page) < incidentPage {
			break
		}
		after = page[len(page)-1].Number
	}
	if n == 0 {
		return Reply{Text: "No incidents are in progress.", Ephemeral: true}, nil
	}
	return Reply{Text: fmt.Sprintf("%d incidents not yet closed:%s", n, b.String()), Ephemeral: true}, nil
}

// incidentPage is how many incidents one read transaction of list decodes.
const incidentPage = 500

// timelineShown is how many recent entries /incident timeline shows in
// chat; the export and the API have all of them.
const timelineShown = 30

// timeline shows the last entries, read by a reverse cursor
// (TimelineTail): the same cost at ten entries or a million.
func (c *viewCall) timeline() (Reply, error) {
	tl, total, err := c.tx.TimelineTail(c.inc.ID, timelineShown)
	if err != nil {
		return Reply{}, fmt.Errorf("workflows: timeline %s: %w", c.inc.ID, err)
	}
	loc := c.loc
	var b strings.Builder
	fmt.Fprintf(&b, "Timeline of %s (%d entries, times in %s)", c.inc.ID, total, loc)
	if total > len(tl) {
		fmt.Fprintf(&b, ", last %d", len(tl))
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

// TimelineAfter returns at most limit entries of the incident's timeline
// after cursor c (store.ReadTx.TimelineAfter), in one short read
// transaction: the API reads long timelines this way, a chunk at a time.
func (s *Service) TimelineAfter(ctx context.Context, id string, c store.TimelineCursor, limit int) ([]bot.TimelineEvent, error) {
	var evs []bot.TimelineEvent
	err := s.Store.View(ctx, func(tx store.ReadTx) error {
		var err error
		evs, err = tx.TimelineAfter(id, c, limit)
		return err
	})
	return evs, err
}

// TimelineKeysAfter finds where a page of at most limit entries after
// cursor c ends, reading keys only (store.ReadTx.TimelineKeysAfter), in
// one short read transaction.
func (s *Service) TimelineKeysAfter(ctx context.Context, id string, c store.TimelineCursor, limit int) (end store.TimelineCursor, n int, more bool, err error) {
	err = s.Store.View(ctx, func(tx store.ReadTx) error {
		var err error
		end, n, more, err = tx.TimelineKeysAfter(id, c, limit)
		return err
	})
	return end, n, more, err
}

// IncidentsAfter returns at most limit incidents numbered above after
// that f selects (every one for the zero filter), by number, in one read
// transaction (store.ReadTx.IncidentsAfter).
func (s *Service) IncidentsAfter(ctx context.Context, after, limit int, f store.IncidentFilter) ([]*bot.Incident, error) {
	var incs []*bot.Incident
	err := s.Store.View(ctx, func(tx store.ReadTx) error {
		var err error
		incs, err = tx.IncidentsAfter(after, limit, f)
		return err
	})
	return incs, err
}

// Timeline returns the incident and its timeline, oldest first. It holds
// the whole timeline: for tests and short ones; the routes and the export
// read pages (TimelineAfter, WriteExport).
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
// configured zone when nil) with UTC alongside. It holds the whole
// document: WriteExport streams it.
func (s *Service) Export(ctx context.Context, id string, loc *time.Location) (string, error) {
	var b strings.Builder
	if err := s.WriteExport(ctx, &b, id, loc); err != nil {
		return "", err
	}
	return b.String(), nil
}

// WriteExport writes the incident's write-up (Export's bytes) to w,
// reading its timeline a page at a time, each page in its own short read
// transaction: memory stays that of a page at any length, and no read
// transaction waits on w (a bbolt read transaction held open keeps the
// file from growing, and with it every commit).
func (s *Service) WriteExport(ctx context.Context, w io.Writer, id string, loc *time.Location) error {
	n, ok := bot.ParseIncidentID(id)
	if !ok {
		return bot.Errorf(bot.ENOTFOUND, "No incident %q.", id)
	}
	if loc == nil {
		loc = s.zone()
	}
	inc, upTo, err := s.snapshot(ctx, bot.IncidentID(n))
	if err != nil {
		return err
	}
	// Each page is rendered into pending in its turn (BulkRead) and
	// written to w after it: a slow reader of w holds up no other long
	// read. pending holds a page's Markdown at most.
	var pending bytes.Buffer
	drain := func() error {
		_, err := w.Write(pending.Bytes())
		pending.Reset()
		return err
	}
	if err := render.WriteWriteup(&pending, inc, s.entries(ctx, inc.ID, upTo, drain), loc); err != nil {
		return err
	}
	return drain()
}

// snapshot reads the incident and how many entries its timeline holds,
// which is the Seq of its last one, in one read transaction.
func (s *Service) snapshot(ctx context.Context, id string) (*bot.Incident, uint64, error) {
	var inc *bot.Incident
	var total int
	err := s.Store.View(ctx, func(tx store.ReadTx) error {
		var err error
		if inc, err = tx.Incident(id); err != nil {
			return err
		}
		_, total, err = tx.TimelineTail(id, 0)
		return err
	})
	return inc, uint64(total), err
}

// readPage is how many timeline entries one read transaction of a
// streamed read (the write-up, the export) takes.
const readPage = 1000

// entries reads the incident's timeline page by page, in Timeline's order,
// each page in its own read transaction, and yields the entries whose Seq
// is at most upTo: Seq numbers entries 1, 2, 3... in commit order, so
// these are exactly the entries committed when the incident was read
// (snapshot). The write-up's two passes see the same entries, and they
// agree with the incident, as one transaction would have, without holding
// one open for the whole document. Each page is read and handed over in
// a turn of the long reads (BulkRead); after runs after each turn.
func (s *Service) entries(ctx context.Context, id string, upTo uint64, after func() error) render.Entries {
	return func(fn func([]bot.TimelineEvent) error) error {
		var c store.TimelineCursor
		var seen uint64
		for seen < upTo {
			done, err := s.BulkRead(ctx)
			if err != nil {
				return err
			}
			var page []bot.TimelineEvent
			err = s.Store.View(ctx, func(tx store.ReadTx) error {
				var err error
				page, err = tx.TimelineAfter(id, c, readPage)
				return err
			})
			if err != nil {
				done()
				return fmt.Errorf("workflows: timeline %s: %w", id, err)
			}
			if len(page) == 0 {
				return nil
			}
			c = store.CursorOf(page[len(page)-1])
			last := len(page) < readPage
			kept := page[:0]
			for _, ev := range page {
				if ev.Seq <= upTo {
					kept = append(kept, ev)
				}
			}
			seen += uint64(len(kept))
			err = s.yieldPages(ctx, kept, fn)
			done()
			if err != nil {
				return err
			}
			if err := after(); err != nil {
				return err
			}
			if last {
				return nil
			}
		}
		return nil
	}
}

// yieldStep is how many entries a long read renders between two steps
// aside (StepAside). A goroutine that never yields keeps its CPU until the
// runtime preempts it, up to 10 ms later; on a machine of two cores, with
// the garbage collector on the other, the acknowledgement made ready
// meanwhile waits that long (README, "Benchmarks"). A step of 100 entries
// is about a tenth of a millisecond of rendering.
const yieldStep = 100

// yieldPages hands page to fn in steps of yieldStep entries, stepping
// aside for the event appends between them: the pages an Entries yields
// are its own to cut, and the write-up's bytes do not depend on where
// they are cut.
func (s *Service) yieldPages(ctx context.Context, page []bot.TimelineEvent, fn func([]bot.TimelineEvent) error) error {
	for len(page) > 0 {
		n := min(len(page), yieldStep)
		if err := fn(page[:n]); err != nil {
			return err
		}
		page = page[n:]
		if len(page) > 0 {
			if err := s.StepAside(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// ChangesNothing reports whether the command line text only reads: a verb
// run in a read transaction (handler.view), or one of the global reads.
// Adapters skip the replay check (FirstTime) for these: a replayed read
// changes nothing and answers only whoever the platform answers, and the
// check is a write, which a replica cut off from its quorum cannot make
// while its reads still answer (README, "Running three replicas").
func ChangesNothing(text string) bool {
	// By the verb alone: the arguments may still be in the platform's
	// markup, and a verb whose arguments fail to parse is refused anyway.
	v, ok := bot.VerbOf(text)
	if !ok {
		return false
	}
	switch v {
	case bot.VerbHelp, bot.VerbList, bot.VerbGamedayList:
		return true
	}
	h, ok := handlers[v]
	return ok && h.view != nil
}

// findPage is how many entries one read transaction of FindBack takes.
const findPage = 500

// FindBack walks the incident's timeline back from its newest entry, a
// page per read transaction, and returns the first entry match accepts:
// what an edit or a delete refers to is almost always recent, and a long
// timeline is never held in one transaction or in memory to find it.
func (s *Service) FindBack(ctx context.Context, incidentID string, match func(bot.TimelineEvent) bool) (bot.TimelineEvent, bool, error) {
	var c store.TimelineCursor
	for {
		var page []bot.TimelineEvent
		err := s.Store.View(ctx, func(tx store.ReadTx) error {
			var err error
			page, err = tx.TimelineBefore(incidentID, c, findPage)
			return err
		})
		if err != nil {
			return bot.TimelineEvent{}, false, fmt.Errorf("workflows: find in %s: %w", incidentID, err)
		}
		for i := len(page) - 1; i >= 0; i-- {
			if match(page[i]) {
				return page[i], true, nil
			}
		}
		if len(page) < findPage {
			return bot.TimelineEvent{}, false, nil
		}
		c = store.CursorOf(page[0])
	}
}
