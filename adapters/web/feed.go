package web

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"sort"
	"time"

	"github.com/debrief/debrief/bot"
)

// feedSize is how many closed post-mortems the feed carries.
const feedSize = 50

type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Title   string      `xml:"title"`
	ID      string      `xml:"id"`
	Updated string      `xml:"updated"`
	Link    []atomLink  `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr,omitempty"`
}

type atomEntry struct {
	Title   string     `xml:"title"`
	ID      string     `xml:"id"`
	Updated string     `xml:"updated"`
	Link    atomLink   `xml:"link"`
	Author  atomAuthor `xml:"author"`
	Summary atomText   `xml:"summary"`
}

type atomAuthor struct {
	Name string `xml:"name"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Text string `xml:",chardata"`
}

// feed is the closed post-mortems, last closed first, as Atom. Every text
// is character data, escaped by encoding/xml, and typed "text", so a reader
// shows it as typed.
func (s *Server) feed(w http.ResponseWriter, r *http.Request) {
	var closed []*bot.Incident
	for _, inc := range s.Catalog.All() {
		if inc.Status == bot.StatusClosed {
			closed = append(closed, inc)
		}
	}
	sort.SliceStable(closed, func(i, j int) bool { return closed[i].ClosedAt.After(closed[j].ClosedAt) })
	if len(closed) > feedSize {
		closed = closed[:feedSize]
	}
	base := (&url.URL{Scheme: "http", Host: r.Host}).String()
	if r.TLS != nil {
		base = (&url.URL{Scheme: "https", Host: r.Host}).String()
	}
	f := atomFeed{Title: "debrief: closed post-mortems", ID: base + "/feed.atom", Link: []atomLink{{Href: base + "/feed.atom", Rel: "self"}, {Href: base + "/"}}}
	updated := time.Unix(0, 0).UTC()
	for _, inc := range closed {
		if inc.ClosedAt.After(updated) {
			updated = inc.ClosedAt
		}
		author := inc.DeclaredBy.Name
		if c, ok := inc.Role(bot.Commander); ok {
			author = c.Name
		}
		if author == "" {
			author = "debrief"
		}
		summary := inc.Summary
		if summary == "" {
			summary = inc.Postmortem.Notes
		}
		f.Entries = append(f.Entries, atomEntry{
			Title:   inc.ID + " " + inc.Severity.String() + ": " + inc.Title,
			ID:      base + "/incidents/" + inc.ID,
			Updated: inc.ClosedAt.UTC().Format(time.RFC3339),
			Link:    atomLink{Href: base + "/incidents/" + inc.ID},
			Author:  atomAuthor{Name: author},
			Summary: atomText{Type: "text", Text: summary},
		})
	}
	f.Updated = updated.UTC().Format(time.RFC3339)
	out, err := xml.MarshalIndent(f, "", "  ")
	if err != nil {
		s.internal(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(out)
}
