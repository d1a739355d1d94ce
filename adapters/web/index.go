package web

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/standard"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/debrief/debrief/bot"
)

// Index is the archive's full-text index: one document per incident (its
// title, summary, impact, factors, meeting notes and countermeasures) and
// one per timeline entry. It is derived data: the store is the source of
// truth, the Indexer feeds it from committed entries, and Reindex rebuilds
// it from scratch (`debrief reindex`).
type Index struct {
	idx bleve.Index
	// sortLimit is the const sortLimit; tests lower it.
	sortLimit int
}

// The document types and fields. Entries carry their incident's severity,
// kind and tags so that `sev:1 tag:db disk` filters entries in the index;
// the Indexer feeds an incident's entries again when those change.
const (
	typeIncident = "incident"
	typeEntry    = "entry"

	fText     = "text"     // what is searched and highlighted
	fTitle    = "title"    // the incident's title, shown with every hit
	fIncident = "incident" // the incident's ID
	fSeq      = "seq"      // the entry's Seq; 0 for the incident document
	fSev      = "sev"      // "1".."4"
	fKind     = "kind"     // bot.Kind
	fTag      = "tag"      // each tag
	fAt       = "at"       // the entry's time; the incident's declaration
)

// cursorKey is where the Indexer keeps, inside the index and in the same
// batch as the documents, the last Seq of an incident it has indexed: a
// crash between the two cannot lose entries or index them twice.
func cursorKey(id string) []byte { return []byte("cursor/" + id) }

func newMapping() mapping.IndexMapping {
	// No field goes into bleve's composite _all field (every query names
	// its field), and none but at keeps doc values (nothing else sorts or
	// facets): both would only grow the index the searches read.
	field := func(f *mapping.FieldMapping, store bool) *mapping.FieldMapping {
		f.Store = store
		f.IncludeInAll = false
		f.DocValues = false
		return f
	}
	// text keeps term vectors: phrase queries and the highlights need the
	// positions.
	text := field(bleve.NewTextFieldMapping(), true)
	text.Analyzer = standard.Name
	text.IncludeTermVectors = true
	// Filters match whole values. Tags keep their frequencies and norms:
	// Similar ranks by them.
	filter := func(store, scored bool) *mapping.FieldMapping {
		f := field(bleve.NewKeywordFieldMapping(), store)
		f.Analyzer = keyword.Name
		f.IncludeTermVectors = false
		f.SkipFreqNorm = !scored
		return f
	}
	title := field(bleve.NewTextFieldMapping(), true)
	title.Index = false
	title.IncludeTermVectors = false

	doc := bleve.NewDocumentStaticMapping()
	doc.AddFieldMappingsAt(fText, text)
	doc.AddFieldMappingsAt(fTitle, title)
	doc.AddFieldMappingsAt(fIncident, filter(true, false))
	doc.AddFieldMappingsAt(fSev, filter(false, false))
	doc.AddFieldMappingsAt(fKind, filter(false, false))
	doc.AddFieldMappingsAt(fTag, filter(false, true))
	doc.AddFieldMappingsAt(fSeq, field(bleve.NewNumericFieldMapping(), true))
	// at keeps doc values: a search with fewer than sortLimit matches
	// sorts them by it, newest first.
	at := field(bleve.NewDateTimeFieldMapping(), true)
	at.DocValues = true
	doc.AddFieldMappingsAt(fAt, at)

	m := bleve.NewIndexMapping()
	m.DefaultAnalyzer = standard.Name
	m.AddDocumentMapping(typeIncident, doc)
	m.AddDocumentMapping(typeEntry, doc)
	m.DefaultMapping = doc
	return m
}

// OpenIndex opens the index folder at path, creating it when missing.
func OpenIndex(path string) (*Index, error) {
	idx, err := bleve.OpenUsing(path, runtimeConfig())
	if errors.Is(err, bleve.ErrorIndexPathDoesNotExist) {
		idx, err = bleve.NewUsing(path, newMapping(), scorch.Name, scorch.Name, runtimeConfig())
	}
	if err != nil {
		return nil, fmt.Errorf("web: open index %s: %w", path, err)
	}
	return &Index{idx: idx, sortLimit: sortLimit}, nil
}

// runtimeConfig is how the index is opened. bleve waits for the lock of
// another process without end unless given bolt_timeout. unsafe_batch
// lets a batch return once it is searchable, before its segment is
// fsynced: an index batch carries its incidents' cursors, so a crash that
// loses a batch loses its cursors with it, and the Indexer feeds the same
// entries again from the store under the same document IDs. Durability
// is the store's; waiting for the index's fsync made a reindex 10 times
// slower.
func runtimeConfig() map[string]any {
	return map[string]any{"bolt_timeout": "1s", "unsafe_batch": true}
}

// CreateIndex makes a new, empty index at path, removing what was there.
func CreateIndex(path string) (*Index, error) {
	if err := os.RemoveAll(path); err != nil {
		return nil, fmt.Errorf("web: remove index %s: %w", path, err)
	}
	idx, err := bleve.NewUsing(path, newMapping(), scorch.Name, scorch.Name, runtimeConfig())
	if err != nil {
		return nil, fmt.Errorf("web: create index %s: %w", path, err)
	}
	return &Index{idx: idx, sortLimit: sortLimit}, nil
}

// Close closes the index.
func (x *Index) Close() error { return x.idx.Close() }

// cursor returns the last Seq of incident id that the index holds.
func (x *Index) cursor(id string) (uint64, error) {
	v, err := x.idx.GetInternal(cursorKey(id))
	if err != nil || v == nil {
		return 0, err
	}
	return strconv.ParseUint(string(v), 10, 64)
}

// incidentDoc is what the index keeps of an incident.
func incidentDoc(inc *bot.Incident) map[string]any {
	parts := []string{inc.Title, inc.Summary, inc.Impact, inc.LastStatus, inc.Postmortem.Notes}
	parts = append(parts, inc.Factors...)
	for _, cm := range inc.Countermeasures {
		parts = append(parts, cm.Text)
	}
	d := facets(inc)
	d["_type"] = typeIncident
	d[fText] = strings.Join(nonEmpty(parts), "\n")
	d[fSeq] = 0
	d[fAt] = inc.DeclaredAt
	return d
}

// entryDoc is what the index keeps of a timeline entry.
func entryDoc(inc *bot.Incident, ev bot.TimelineEvent) map[string]any {
	d := facets(inc)
	d["_type"] = typeEntry
	d[fText] = ev.Text
	d[fSeq] = ev.Seq
	d[fAt] = ev.RecordedAt
	return d
}

func facets(inc *bot.Incident) map[string]any {
	return map[string]any{
		fIncident: inc.ID,
		fTitle:    inc.Title,
		fSev:      strconv.Itoa(int(inc.Severity)),
		fKind:     string(inc.Kind),
		fTag:      inc.Tags,
	}
}

func nonEmpty(ss []string) []string {
	out := ss[:0]
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func entryID(incidentID string, seq uint64) string {
	return incidentID + "/" + strconv.FormatUint(seq, 10)
}

// Hit is one search result: an incident, or a moment in its timeline.
type Hit struct {
	IncidentID string
	Title      string
	Seq        uint64 // 0 for the incident itself
	At         time.Time
	// Snippet is the text around the first match, cut into plain and
	// matched pieces: the template escapes each, so a highlight can never
	// carry markup from what a user typed.
	Snippet []Piece
}

// Piece is a run of a snippet; Match marks a matched word.
type Piece struct {
	Text  string
	Match bool
}

// Results is one page of hits.
type Results struct {
	Hits []Hit
	// Total is how many documents match; when Sorted is false, at least
	// as many do, and More says whether a next page has hits.
	Total  uint64
	Sorted bool
	More   bool
	Took   time.Duration
}

// sortLimit is how many matches a search sorts. Sorting or ranking a
// query's matches means visiting every one of them, and over 1M timeline
// entries a common word matches 100k: 30 ms and more (README, "The
// archive's benchmarks"). A query matching fewer is counted exactly and
// listed newest first; one matching more is listed in the index's order,
// and the search stops at the page's last hit.
const sortLimit = 1000

// Search runs q and returns hits [from, from+size).
//
// It asks the index three times, each cheap. How many match, up to
// sortLimit: unscored and without positions, so that the index
// intersects the terms as bitmaps and stops at the limit (a phrase counts
// as its words in any order there, a superset). Which match: all of them,
// sorted newest first, when fewer than sortLimit; else only as far as the
// page. Then the page's documents by ID. The matched words are found in
// the page's texts here, not by the index: asking the index for their
// positions makes it walk every matching term's postings.
func (x *Index) Search(ctx context.Context, q Query, from, size int) (Results, error) {
	start := time.Now()
	run := func(req *bleve.SearchRequest) (*bleve.SearchResult, error) {
		res, err := x.idx.SearchInContext(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("web: search: %w", err)
		}
		return res, nil
	}
	// Only the last of sortLimit matches is returned, so that counting
	// loads no document.
	count := bleve.NewSearchRequestOptions(q.superset(), 1, x.sortLimit-1, false)
	count.Score = bleve.ScoreNone
	counted, err := run(count)
	if err != nil {
		return Results{}, err
	}
	out := Results{Sorted: counted.Total < uint64(x.sortLimit)}
	var which *bleve.SearchRequest
	if out.Sorted {
		which = bleve.NewSearchRequestOptions(q.bleve(), max(1, int(counted.Total)), 0, false)
		which.SortBy([]string{"-" + fAt, "_id"})
	} else {
		// One more than the page tells whether there is a next one.
		which = bleve.NewSearchRequestOptions(q.bleve(), size+1, from, false)
	}
	which.Score = bleve.ScoreNone
	found, err := run(which)
	if err != nil {
		return Results{}, err
	}
	var ids []string
	for _, h := range found.Hits {
		ids = append(ids, h.ID)
	}
	if out.Sorted {
		out.Total = found.Total
		ids = ids[min(from, len(ids)):min(from+size, len(ids))]
	} else {
		if len(ids) > size {
			ids, out.More = ids[:size], true
		}
		// At least: the words alone were counted to the limit, and a
		// phrase only as its words.
		out.Total = uint64(from + len(ids))
		if len(q.Phrases) == 0 {
			out.Total = max(out.Total, counted.Total)
		}
	}
	if len(ids) == 0 {
		out.Took = time.Since(start)
		return out, nil
	}
	page := bleve.NewSearchRequestOptions(bleve.NewDocIDQuery(ids), len(ids), 0, false)
	page.Score = bleve.ScoreNone
	page.Fields = []string{fIncident, fTitle, fSeq, fAt, fText}
	docs, err := run(page)
	if err != nil {
		return Results{}, err
	}
	byID := make(map[string]*search.DocumentMatch, len(docs.Hits))
	for _, h := range docs.Hits {
		byID[h.ID] = h
	}
	terms := q.terms()
	for _, id := range ids {
		if h := byID[id]; h != nil {
			out.Hits = append(out.Hits, hitOf(h, terms))
		}
	}
	out.Took = time.Since(start)
	return out, nil
}

func hitOf(h *search.DocumentMatch, terms map[string]bool) Hit {
	hit := Hit{}
	hit.IncidentID, _ = h.Fields[fIncident].(string)
	hit.Title, _ = h.Fields[fTitle].(string)
	if f, ok := h.Fields[fSeq].(float64); ok {
		hit.Seq = uint64(f)
	}
	if s, ok := h.Fields[fAt].(string); ok {
		hit.At, _ = time.Parse(time.RFC3339, s)
	}
	text, _ := h.Fields[fText].(string)
	hit.Snippet = snippet(text, matches(text, terms), 240)
	return hit
}

// Similar returns up to n incidents like inc (its title's words, its
// tags), best first, inc itself excluded.
func (x *Index) Similar(ctx context.Context, inc *bot.Incident, n int) ([]string, error) {
	var should []query.Query
	if words := strings.Join(strings.Fields(inc.Title), " "); words != "" {
		m := bleve.NewMatchQuery(words)
		m.SetField(fText)
		should = append(should, m)
	}
	for _, t := range inc.Tags {
		tq := bleve.NewTermQuery(t)
		tq.SetField(fTag)
		tq.SetBoost(2)
		should = append(should, tq)
	}
	if len(should) == 0 {
		return nil, nil
	}
	self := bleve.NewTermQuery(inc.ID)
	self.SetField(fIncident)
	bq := bleve.NewBooleanQuery()
	// A must of a disjunction: with a must beside them, should clauses
	// alone would be optional, and every incident would be "similar".
	bq.AddMust(incidentsOnly(), bleve.NewDisjunctionQuery(should...))
	bq.AddMustNot(self)
	req := bleve.NewSearchRequestOptions(bq, n*4, 0, false)
	req.Fields = []string{fIncident, fSeq}
	res, err := x.idx.SearchInContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("web: similar to %s: %w", inc.ID, err)
	}
	var ids []string
	seen := map[string]bool{}
	for _, h := range res.Hits {
		id, _ := h.Fields[fIncident].(string)
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		ids = append(ids, id)
		if len(ids) == n {
			break
		}
	}
	return ids, nil
}

// DocCount is how many documents the index holds.
func (x *Index) DocCount() (uint64, error) { return x.idx.DocCount() }

// incidentsOnly matches the incident documents (Seq 0), not entries.
func incidentsOnly() query.Query {
	zero, yes := 0.0, true
	q := bleve.NewNumericRangeInclusiveQuery(&zero, &zero, &yes, &yes)
	q.SetField(fSeq)
	return q
}

// Compact merges the index's segments. A search walks every segment, and
// a reindex leaves dozens that the background merger takes minutes to
// fold: searches right after it were twice as slow (README, "The
// archive's benchmarks").
func (x *Index) Compact(ctx context.Context) error {
	adv, err := x.idx.Advanced()
	if err != nil {
		return fmt.Errorf("web: compact index: %w", err)
	}
	s, ok := adv.(*scorch.Scorch)
	if !ok {
		return nil
	}
	if err := s.ForceMerge(ctx, nil); err != nil {
		return fmt.Errorf("web: compact index: %w", err)
	}
	return nil
}

// Sync returns once everything indexed so far is on disk: batches return
// before that (runtimeConfig), and closing the index drops what is not.
func (x *Index) Sync(ctx context.Context) error {
	b := x.idx.NewBatch()
	b.SetInternal([]byte("synced"), []byte(time.Now().UTC().Format(time.RFC3339Nano)))
	done := make(chan error, 1)
	b.SetPersistedCallback(func(err error) { done <- err })
	if err := x.idx.Batch(b); err != nil {
		return fmt.Errorf("web: sync index: %w", err)
	}
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("web: sync index: %w", err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
