package web

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
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
func (q Query) bleve() query.Query {
	var must []query.Query
	for _, w := range q.Words {
		m := bleve.NewMatchQuery(w)
		m.SetField(fText)
		m.SetOperator(query.MatchQueryOperatorAnd)
		must = append(must, m)
	}
	for _, p := range q.Phrases {
		m := bleve.NewMatchPhraseQuery(p)
		m.SetField(fText)
		must = append(must, m)
	}
	term := func(field, v string) {
		t := bleve.NewTermQuery(v)
		t.SetField(field)
		must = append(must, t)
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
