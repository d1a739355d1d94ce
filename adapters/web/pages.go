package web

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/yuin/goldmark"
)

// Row is one incident in the list.
type Row struct {
	*bot.Incident
	TTR         time.Duration
	OpenActions int
}

func rowOf(inc *bot.Incident) Row {
	r := Row{Incident: inc, OpenActions: openActions(inc)}
	if !inc.ResolvedAt.IsZero() {
		r.TTR = inc.ResolvedAt.Sub(started(inc))
	}
	return r
}

// started is when the incident began: StartedAt when known, else when it
// was declared.
func started(inc *bot.Incident) time.Time {
	if !inc.StartedAt.IsZero() {
		return inc.StartedAt
	}
	return inc.DeclaredAt
}

func openActions(inc *bot.Incident) int {
	n := 0
	for _, cm := range inc.Countermeasures {
		if !cm.Settled() {
			n++
		}
	}
	return n
}

type listPage struct {
	Page
	Rows   []Row
	Total  int
	Pager  Pager
	Filter listFilter
}

type listFilter struct {
	Sev, Kind, Status, Tag, From, To string
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	n, err := pageNumber(r)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	f := listFilter{
		Sev: r.FormValue("sev"), Kind: r.FormValue("kind"), Status: r.FormValue("status"),
		Tag: trimTag(r.FormValue("tag")), From: r.FormValue("from"), To: r.FormValue("to"),
	}
	keep, err := f.match()
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	size := s.ListSize
	if size <= 0 {
		size = 50
	}
	var rows []Row
	total := 0
	for _, inc := range s.Catalog.All() {
		if !keep(inc) {
			continue
		}
		if total >= (n-1)*size && total < n*size {
			rows = append(rows, rowOf(inc))
		}
		total++
	}
	if n > 1 && (n-1)*size >= total {
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("There is no page %d: the list has %d.", n, max(1, (total+size-1)/size)))
		return
	}
	s.render(w, r, "list", listPage{Page: s.page(r, "Incidents"), Rows: rows, Total: total, Pager: pager(r, n, total, size), Filter: f})
}

// match turns the list's filters into a predicate; the error is for the
// reader.
func (f listFilter) match() (func(*bot.Incident) bool, error) {
	var sev bot.Severity
	if f.Sev != "" {
		v, ok := bot.ParseSeverity(f.Sev)
		if !ok {
			return nil, fmt.Errorf("severity %q: choose 1 to 4", f.Sev)
		}
		sev = v
	}
	var kind bot.Kind
	if f.Kind != "" {
		k, ok := parseKind(f.Kind)
		if !ok {
			return nil, fmt.Errorf("kind %q: choose real, drill or near miss", f.Kind)
		}
		kind = k
	}
	status := bot.Status(f.Status)
	switch status {
	case "", bot.StatusInvestigating, bot.StatusMitigated, bot.StatusResolved, bot.StatusReviewScheduled, bot.StatusReviewHeld, bot.StatusClosed:
	default:
		return nil, fmt.Errorf("status %q is not a status", f.Status)
	}
	tag := strings.ToLower(f.Tag)
	var from, to time.Time
	var err error
	if f.From != "" {
		if from, err = time.Parse(time.DateOnly, f.From); err != nil {
			return nil, fmt.Errorf("from %q: dates are YYYY-MM-DD", f.From)
		}
	}
	if f.To != "" {
		if to, err = time.Parse(time.DateOnly, f.To); err != nil {
			return nil, fmt.Errorf("to %q: dates are YYYY-MM-DD", f.To)
		}
		to = to.AddDate(0, 0, 1)
	}
	return func(inc *bot.Incident) bool {
		switch {
		case sev != 0 && inc.Severity != sev,
			kind != "" && inc.Kind != kind,
			status != "" && inc.Status != status,
			tag != "" && !hasTag(inc, tag),
			!from.IsZero() && inc.DeclaredAt.Before(from),
			!to.IsZero() && !inc.DeclaredAt.Before(to):
			return false
		}
		return true
	}, nil
}

func hasTag(inc *bot.Incident, tag string) bool {
	for _, t := range inc.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

type searchPage struct {
	Page
	Results Results
	Pager   Pager
	Error   string
}

const searchSize = 20

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	raw := r.FormValue("q")
	p := searchPage{Page: s.page(r, "Search")}
	p.Q = raw
	n, err := pageNumber(r)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if len(raw) > maxQuery {
		s.fail(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("The query is %d bytes; at most %d are searched.", len(raw), maxQuery))
		return
	}
	q, err := ParseQuery(raw)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		p.Error = err.Error()
		s.render(w, r, "search", p)
		return
	}
	if q.Empty() {
		s.render(w, r, "search", p)
		return
	}
	if n > 500 {
		s.fail(w, r, http.StatusBadRequest, "Results go 500 pages deep at most: narrow the search.")
		return
	}
	idx := s.index()
	if idx == nil {
		s.fail(w, r, http.StatusServiceUnavailable, "The search index is opening: try again in a moment.")
		return
	}
	res, err := idx.Search(r.Context(), q, (n-1)*searchSize, searchSize)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if n > 1 && len(res.Hits) == 0 {
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("There is no page %d of these results.", n))
		return
	}
	p.Results = res
	if res.Sorted {
		p.Pager = pager(r, n, int(res.Total), searchSize)
	} else {
		// How many pages there are is not known: the search stopped at
		// this one (Index.Search).
		seen := (n-1)*searchSize + len(res.Hits)
		if res.More {
			seen++
		}
		p.Pager = pager(r, n, seen, searchSize)
		p.Pager.Of = 0
	}
	s.render(w, r, "search", p)
}

type incidentPage struct {
	Page
	Inc        *bot.Incident
	Undetected time.Duration
	TTM, TTR   time.Duration
	Writeup    template.HTML
	Entries    []Entry
	Total      int
	Pager      Pager
	Similar    []Row
}

// Entry is a timeline entry as the page shows it.
type Entry struct {
	bot.TimelineEvent
	Key bool // a key event, highlighted
}

// keyKinds are the entries highlighted in a timeline: marked key, and the
// steps of the lifecycle and the severity.
var keyKinds = map[bot.EventKind]bool{bot.EventKey: true, bot.EventLifecycle: true, bot.EventSeverity: true}

func (s *Server) incident(w http.ResponseWriter, r *http.Request) {
	num, ok := bot.ParseIncidentID(r.PathValue("id"))
	if !ok {
		s.fail(w, r, http.StatusNotFound, "No incident "+r.PathValue("id")+".")
		return
	}
	id := bot.IncidentID(num)
	n, err := pageNumber(r)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	size := s.TimelineSize
	if size <= 0 {
		size = 200
	}
	// A link to an entry (?seq=) opens the page it is on: Seq follows
	// commit order, and so, nearly always, does the timeline, so the page
	// is (seq-1)/size, or its neighbour for an entry stored out of order.
	var seq uint64
	if v := r.FormValue("seq"); v != "" {
		if _, err := fmt.Sscan(v, &seq); err != nil || seq == 0 {
			s.fail(w, r, http.StatusBadRequest, "seq must be a number from 1")
			return
		}
		n = int((seq-1)/uint64(size)) + 1
	}
	var inc *bot.Incident
	var evs []bot.TimelineEvent
	var total int
	err = s.store().View(r.Context(), func(tx store.ReadTx) error {
		var err error
		if inc, err = tx.Incident(id); err != nil {
			return err
		}
		evs, total, err = tx.TimelinePage(id, (n-1)*size, size)
		if err != nil || seq == 0 || containsSeq(evs, seq) {
			return err
		}
		for _, k := range []int{n - 1, n + 1} {
			if k < 1 {
				continue
			}
			other, _, err := tx.TimelinePage(id, (k-1)*size, size)
			if err != nil {
				return err
			}
			if containsSeq(other, seq) {
				evs, n = other, k
				return nil
			}
		}
		return nil
	})
	if bot.ErrorCode(err) == bot.ENOTFOUND {
		s.fail(w, r, http.StatusNotFound, "No incident "+id+".")
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if n > 1 && len(evs) == 0 {
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("There is no page %d of %s's timeline: it has %d.", n, id, max(1, (total+size-1)/size)))
		return
	}
	p := incidentPage{Page: s.page(r, id+" "+inc.Title), Inc: inc, Total: total, Pager: pager(r, n, total, size)}
	if !inc.DetectedAt.IsZero() && !inc.StartedAt.IsZero() {
		p.Undetected = inc.DetectedAt.Sub(inc.StartedAt)
	}
	if !inc.MitigatedAt.IsZero() {
		p.TTM = inc.MitigatedAt.Sub(started(inc))
	}
	if !inc.ResolvedAt.IsZero() {
		p.TTR = inc.ResolvedAt.Sub(started(inc))
	}
	if p.Writeup, err = writeup(inc); err != nil {
		s.internal(w, r, err)
		return
	}
	for _, ev := range evs {
		p.Entries = append(p.Entries, Entry{TimelineEvent: ev, Key: keyKinds[ev.Kind]})
	}
	similar, err := s.similar(r.Context(), inc, 3)
	if err != nil {
		s.log().WarnContext(r.Context(), "similar incidents", "incident", id, "err", err)
	}
	for _, other := range similar {
		p.Similar = append(p.Similar, rowOf(other))
	}
	s.render(w, r, "incident", p)
}

func containsSeq(evs []bot.TimelineEvent, seq uint64) bool {
	for _, ev := range evs {
		if ev.Seq == seq {
			return true
		}
	}
	return false
}

// md renders Markdown with goldmark's defaults: raw HTML is dropped and
// dangerous link schemes are refused, so what a user typed stays text.
var md = goldmark.New()

// writeup renders the post-mortem's prose from Markdown.
func writeup(inc *bot.Incident) (template.HTML, error) {
	var src strings.Builder
	section := func(title, body string) {
		if strings.TrimSpace(body) != "" {
			fmt.Fprintf(&src, "### %s\n\n%s\n\n", title, body)
		}
	}
	section("Summary", inc.Summary)
	section("Impact", inc.Impact)
	if len(inc.Factors) > 0 {
		var b strings.Builder
		for _, f := range inc.Factors {
			fmt.Fprintf(&b, "- %s\n", f)
		}
		section("Contributing factors", b.String())
	}
	section("Review notes", inc.Postmortem.Notes)
	var out bytes.Buffer
	if err := md.Convert([]byte(src.String()), &out); err != nil {
		return "", fmt.Errorf("web: markdown of %s: %w", inc.ID, err)
	}
	// goldmark without html.WithUnsafe escapes text and omits raw HTML.
	return template.HTML(out.String()), nil //nolint:gosec // see above
}

// similar looks up the index's similar incidents in the catalog.
func (s *Server) similar(ctx context.Context, inc *bot.Incident, n int) ([]*bot.Incident, error) {
	idx := s.index()
	if idx == nil {
		return nil, nil
	}
	ids, err := idx.Similar(ctx, inc, n)
	if err != nil {
		return nil, err
	}
	var out []*bot.Incident
	for _, id := range ids {
		if other := s.Catalog.Get(id); other != nil {
			out = append(out, other)
		}
	}
	return out, nil
}
