package web

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/standard"
	"github.com/blevesearch/bleve/v2/registry"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/debrief/debrief/bot"
)

// maxQuery bounds a search query: a longer one is refused, not truncated,
// so that nobody gets results for a query they did not type.
const maxQuery = 512

// Query is a parsed search: words and "phrases" that must all match, and
// filters (sev:1, kind:drill, tag:db, before:/after: dates).
type Query struct {
	Words   []string
	Phrases []string
	Sev     bot.Severity
	Kind    bot.Kind
	Tag     string
	After   time.Time // inclusive, a day's start in UTC
	Before  time.Time // exclusive, a day's start in UTC
}

// ParseQuery reads what a user typed into the search box. The error is
// for the user: it says what is wrong.
func ParseQuery(s string) (Query, error) {
	var q Query
	if len(s) > maxQuery {
		return q, fmt.Errorf("the query is %d bytes; at most %d are searched", len(s), maxQuery)
	}
	if !utf8.ValidString(s) {
		return q, fmt.Errorf("the query is not valid UTF-8")
	}
	rest := strings.TrimSpace(s)
	for rest != "" {
		if rest[0] == '"' {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return q, fmt.Errorf("a quoted phrase is not closed: add the closing \"")
			}
			if p := strings.TrimSpace(rest[1 : 1+end]); p != "" {
				q.Phrases = append(q.Phrases, p)
			}
			rest = strings.TrimSpace(rest[2+end:])
			continue
		}
		word, after, _ := strings.Cut(rest, " ")
		rest = strings.TrimSpace(after)
		if err := q.add(word); err != nil {
			return q, err
		}
	}
	if !q.After.IsZero() && !q.Before.IsZero() && !q.After.Before(q.Before) {
		return q, fmt.Errorf("after:%s is not before before:%s", q.After.Format(time.DateOnly), q.Before.Format(time.DateOnly))
	}
	return q, nil
}

func (q *Query) add(word string) error {
	key, val, ok := strings.Cut(word, ":")
	if !ok || val == "" {
		q.Words = append(q.Words, word)
		return nil
	}
	switch strings.ToLower(key) {
	case "sev":
		sev, ok := bot.ParseSeverity(val)
		if !ok {
			return fmt.Errorf("sev:%s: the severity is 1 to 4", val)
		}
		q.Sev = sev
	case "kind":
		k, ok := parseKind(val)
		if !ok {
			return fmt.Errorf("kind:%s: the kind is real, drill or near_miss", val)
		}
		q.Kind = k
	case "tag":
		t, ok := bot.ParseTag("#" + strings.TrimPrefix(val, "#"))
		if !ok {
			return fmt.Errorf("tag:%s is not a tag", val)
		}
		q.Tag = t
	case "after", "before":
		d, err := time.Parse(time.DateOnly, val)
		if err != nil {
			return fmt.Errorf("%s:%s: dates are YYYY-MM-DD", key, val)
		}
		if strings.EqualFold(key, "after") {
			q.After = d
		} else {
			q.Before = d
		}
	default:
		q.Words = append(q.Words, word)
	}
	return nil
}

func parseKind(s string) (bot.Kind, bool) {
	switch strings.ToLower(strings.ReplaceAll(s, "-", "_")) {
	case "real":
		return bot.KindReal, true
	case "drill", "gameday", "game_day":
		return bot.KindDrill, true
	case "near_miss", "nearmiss":
		return bot.KindNearMiss, true
	}
	return "", false
}

// Empty reports whether q asks for nothing at all.
func (q Query) Empty() bool {
	return len(q.Words) == 0 && len(q.Phrases) == 0 && q.Sev == 0 && q.Kind == "" && q.Tag == "" && q.After.IsZero() && q.Before.IsZero()
}

// bleve builds the index query: every word and phrase must match the text,
// and every filter its field.
func (q Query) bleve() query.Query { return q.build(false) }

// superset is bleve with each phrase's words required in any order: it
// matches everything bleve does, and is counted as bitmaps, without
// reading the words' positions.
func (q Query) superset() query.Query { return q.build(true) }

// build makes a flat conjunction of term queries, one per word as the
// text field's analyzer cuts it: bleve intersects a conjunction of terms
// as bitmaps when it needs no score and no positions (Index.Search), and
// a match query per word would hide the terms behind a conjunction of one.
// A word the analyzer drops (a stop word such as "the") requires nothing.
func (q Query) build(loosePhrases bool) query.Query {
	var must []query.Query
	term := func(field, v string) {
		t := bleve.NewTermQuery(v)
		t.SetField(field)
		must = append(must, t)
	}
	for _, w := range q.Words {
		for _, tok := range analyze(w) {
			term(fText, tok)
		}
	}
	for _, p := range q.Phrases {
		if loosePhrases {
			for _, tok := range analyze(p) {
				term(fText, tok)
			}
			continue
		}
		m := bleve.NewMatchPhraseQuery(p)
		m.SetField(fText)
		must = append(must, m)
	}
	if q.Sev != 0 {
		term(fSev, fmt.Sprint(int(q.Sev)))
	}
	if q.Kind != "" {
		term(fKind, string(q.Kind))
	}
	if q.Tag != "" {
		term(fTag, q.Tag)
	}
	if !q.After.IsZero() || !q.Before.IsZero() {
		r := bleve.NewDateRangeQuery(q.After, q.Before)
		r.SetField(fAt)
		must = append(must, r)
	}
	switch len(must) {
	case 0:
		return bleve.NewMatchNoneQuery()
	case 1:
		// A conjunction of one clause costs a second searcher per hit.
		return must[0]
	}
	return bleve.NewConjunctionQuery(must...)
}

// textAnalyzer is the text field's analyzer (newMapping).
var textAnalyzer = func() analysis.Analyzer {
	a, err := registry.NewCache().AnalyzerNamed(standard.Name)
	if err != nil {
		panic(fmt.Sprintf("web: the %s analyzer: %v", standard.Name, err))
	}
	return a
}()

// terms is every term the text must hold for q: what a snippet marks.
func (q Query) terms() map[string]bool {
	out := map[string]bool{}
	for _, s := range append(slices.Clone(q.Words), q.Phrases...) {
		for _, t := range analyze(s) {
			out[t] = true
		}
	}
	return out
}

// matches finds the terms in text, as the text field's analyzer cuts it:
// where the index would say they are.
func matches(text string, terms map[string]bool) search.Locations {
	var locs search.Locations
	for _, tok := range textAnalyzer.Analyze([]byte(text)) {
		if terms[string(tok.Term)] {
			locs = append(locs, &search.Location{Start: uint64(tok.Start), End: uint64(tok.End)})
		}
	}
	return locs
}

// analyze cuts s into the terms the index holds for it.
func analyze(s string) []string {
	var out []string
	for _, tok := range textAnalyzer.Analyze([]byte(s)) {
		out = append(out, string(tok.Term))
	}
	return out
}

// snippet cuts about width bytes of text around the first match and marks
// every match inside it. Offsets come from the index, in bytes of text.
func snippet(text string, locs search.Locations, width int) []Piece {
	type span struct{ start, end int }
	var spans []span
	for _, l := range locs {
		s, e := int(l.Start), int(l.End)
		if s >= 0 && e <= len(text) && s < e {
			spans = append(spans, span{s, e})
		}
	}
	// Sort and drop overlaps.
	for i := 1; i < len(spans); i++ {
		for j := i; j > 0 && spans[j].start < spans[j-1].start; j-- {
			spans[j], spans[j-1] = spans[j-1], spans[j]
		}
	}
	lo, hi := 0, min(len(text), width)
	if len(spans) > 0 {
		lo = max(0, spans[0].start-width/3)
		hi = min(len(text), lo+width)
	}
	lo, hi = runeStart(text, lo), runeStart(text, hi)
	var out []Piece
	if lo > 0 {
		out = append(out, Piece{Text: "…"})
	}
	at := lo
	for _, sp := range spans {
		if sp.start < at || sp.end > hi {
			continue
		}
		if sp.start > at {
			out = append(out, Piece{Text: text[at:sp.start]})
		}
		out = append(out, Piece{Text: text[sp.start:sp.end], Match: true})
		at = sp.end
	}
	if at < hi {
		out = append(out, Piece{Text: text[at:hi]})
	}
	if hi < len(text) {
		out = append(out, Piece{Text: "…"})
	}
	return out
}

// runeStart moves i back to the start of the rune it falls in.
func runeStart(s string, i int) int {
	for i > 0 && i < len(s) && !utf8.RuneStart(s[i]) {
		i--
	}
	return i
}
