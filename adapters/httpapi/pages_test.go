package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
)

// page is one page of GET /api/incidents/{id}/timeline.
type page struct {
	IncidentID string `json:"incident_id"`
	Next       string `json:"next"`
	More       bool   `json:"more"`
	Entries    []struct {
		Seq  uint64 `json:"seq"`
		Text string `json:"text"`
	} `json:"entries"`
}

func (f *fixture) page(t *testing.T, path string) (page, http.Header) {
	t.Helper()
	resp, body := f.get(t, path, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d %s", path, resp.StatusCode, body)
	}
	if strings.Contains(string(body), "\n  ") {
		t.Errorf("GET %s is indented; want compact JSON:\n%s", path, body)
	}
	var p page
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
	return p, resp.Header
}

func (f *fixture) say(t *testing.T, text string) {
	t.Helper()
	ch := bot.Channel{Platform: bot.Console, ID: "inc-1-checkout-is-down"}
	if _, err := f.svc.Record(context.Background(), ch, bot.TimelineEvent{Kind: bot.EventMessage, Author: bob, Text: text, DedupeKey: text}); err != nil {
		t.Fatal(err)
	}
}

// TestTimelinePages walks a timeline by its cursor, two entries a page,
// while entries are appended between the pages: every entry comes exactly
// once, in order, the Link header names the next page while more follow,
// and the last page's "next" still continues (with nothing, until more is
// said).
func TestTimelinePages(t *testing.T) {
	f := newFixture(t, "")
	for i := range 5 {
		f.say(t, fmt.Sprint("before ", i))
	}
	var seqs []uint64
	path := "/api/incidents/INC-1/timeline?limit=2"
	pages := 0
	for {
		p, h := f.page(t, path)
		pages++
		if len(p.Entries) > 2 {
			t.Fatalf("page %d has %d entries, want at most 2", pages, len(p.Entries))
		}
		for _, e := range p.Entries {
			seqs = append(seqs, e.Seq)
		}
		if pages == 2 {
			f.say(t, "during the walk")
		}
		link := h.Get("Link")
		if !p.More {
			if link != "" {
				t.Errorf("last page has Link %q", link)
			}
			if p.Next == "" {
				t.Fatal("the last page has no next cursor to continue from")
			}
			break
		}
		if p.Next == "" || !strings.HasSuffix(link, `>; rel="next"`) || !strings.Contains(link, "after="+url.QueryEscape(p.Next)) || !strings.Contains(link, "limit=2") {
			t.Fatalf("page %d: next %q, Link %q", pages, p.Next, link)
		}
		path = strings.TrimSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
		if pages > 20 {
			t.Fatal("the walk does not end")
		}
	}
	want := []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	if !slices.Equal(seqs, want) {
		t.Errorf("walked seqs %v, want %v: each entry once, in order", seqs, want)
	}
	// The last cursor tails the timeline: what is said after it comes next.
	last, _ := f.page(t, "/api/incidents/INC-1/timeline?limit=2")
	p, _ := f.page(t, "/api/incidents/INC-1/timeline?after="+last.Next+"&limit=1000")
	if len(p.Entries) != 9 {
		t.Errorf("after the first page: %d entries, want 9", len(p.Entries))
	}
	end := p.Next
	if p, _ = f.page(t, "/api/incidents/INC-1/timeline?after="+end); len(p.Entries) != 0 || p.More || p.Next != end {
		t.Errorf("past the end: %+v, want nothing, and the same cursor to ask from again", p)
	}
	f.say(t, "later")
	if p, _ = f.page(t, "/api/incidents/INC-1/timeline?after="+end); len(p.Entries) != 1 || p.Entries[0].Text != "later" {
		t.Errorf("after the end once more is said: %+v", p)
	}
	// The default page is 100 entries.
	for i := range 120 {
		f.say(t, fmt.Sprint("bulk ", i))
	}
	if p, h := f.page(t, "/api/incidents/INC-1/timeline"); len(p.Entries) != 100 || !p.More || h.Get("Link") == "" {
		t.Errorf("default page: %d entries, more %v, Link %q; want 100, more, a link", len(p.Entries), p.More, h.Get("Link"))
	}
}

// TestPagesBadInput: a cursor or limit that is not one is a 400 with a
// reason, and a filter that names nothing too.
func TestPagesBadInput(t *testing.T) {
	f := newFixture(t, "")
	for _, q := range []string{
		"/api/incidents/INC-1/timeline?after=%21%21%21", "/api/incidents/INC-1/timeline?after=AAAA",
		"/api/incidents/INC-1/timeline?after=" + strings.Repeat("A", 23),
		"/api/incidents/INC-1/timeline?limit=0", "/api/incidents/INC-1/timeline?limit=-3",
		"/api/incidents/INC-1/timeline?limit=ten", "/api/incidents/INC-1/timeline?limit=1001",
		"/api/incidents?limit=0", "/api/incidents?limit=5000", "/api/incidents?after=x", "/api/incidents?after=-1",
		"/api/incidents?status=burning", "/api/incidents?severity=sev9", "/api/incidents?kind=fake",
		"/api/incidents?since=yesterday", "/api/incidents?since=2026-13-01",
		"/api/incidents?status=open,closed", "/api/incidents?since=2026-03-02T10:00:00",
		"/api/incidents?severity=SEV1&kind=real&status=nope", "/api/incidents?kind=drill&after=1.5",
	} {
		v := f.getJSON(t, q, "", http.StatusBadRequest)
		if v["code"] != "invalid" || !strings.Contains(v["error"].(string), "=") {
			t.Errorf("GET %s = %v, want an invalid error naming the parameter", q, v)
		}
	}
}

// TestIncidentPages walks the incidents a page at a time and filters
// them.
func TestIncidentPages(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	general := bot.Channel{Platform: bot.Console, ID: "general"}
	for i := range 3 {
		if r := f.svc.Execute(ctx, alice, general, fmt.Sprintf("declare Third wave %d sev3", i)); r.IncidentID == "" {
			t.Fatalf("declare: %+v", r)
		}
	}
	var ids []string
	path := "/api/incidents?limit=2"
	for range 10 {
		resp, body := f.get(t, path, "")
		var l struct {
			Next, Link string
			More       bool
			Incidents  []struct{ ID string }
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &l) != nil {
			t.Fatalf("GET %s = %d %s", path, resp.StatusCode, body)
		}
		for _, inc := range l.Incidents {
			ids = append(ids, inc.ID)
		}
		link := resp.Header.Get("Link")
		if !l.More {
			if link != "" {
				t.Errorf("last page has Link %q", link)
			}
			break
		}
		path = strings.TrimSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
	}
	if want := []string{"INC-1", "INC-2", "INC-3", "INC-4", "INC-5"}; !slices.Equal(ids, want) {
		t.Errorf("walked %v, want %v", ids, want)
	}
	for q, want := range map[string][]string{
		"severity=sev3":                         {"INC-3", "INC-4", "INC-5"},
		"severity=SEV4&kind=near_miss":          {"INC-2"},
		"kind=real&limit=2":                     {"INC-1", "INC-3"},
		"status=investigating&severity=1":       {"INC-1"},
		"status=closed":                         nil,
		"status=open&after=3":                   {"INC-4", "INC-5"},
		"since=2026-03-02T10:00:05Z&severity=3": {"INC-3", "INC-4", "INC-5"},
		"since=2026-03-03":                      nil,
	} {
		v := f.getJSON(t, "/api/incidents?"+q, "", http.StatusOK)
		var got []string
		for _, inc := range v["incidents"].([]any) {
			got = append(got, inc.(map[string]any)["id"].(string))
		}
		if !slices.Equal(got, want) {
			t.Errorf("GET /api/incidents?%s = %v, want %v", q, got, want)
		}
	}
	// A filtered page's next page keeps the filter.
	resp, body := f.get(t, "/api/incidents?severity=3&limit=1", "")
	link := resp.Header.Get("Link")
	if resp.StatusCode != http.StatusOK || !strings.Contains(link, "severity=3") || !strings.Contains(link, "after=3") {
		t.Fatalf("GET severity=3, limit=1 = %d %s, Link %q; want a link to after=3 with the filter", resp.StatusCode, body, link)
	}
	v := f.getJSON(t, strings.TrimSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`), "", http.StatusOK)
	if incs := v["incidents"].([]any); len(incs) != 1 || incs[0].(map[string]any)["id"] != "INC-4" {
		t.Errorf("the next page of severity=3 = %v, want INC-4", v)
	}
}

// TestTimelinePageEnds: a page that ends exactly at the timeline's end
// says no more follow and links nothing, one a single entry short says
// more; an entry recovered after downtime (keyed at its platform time,
// among the older ones) comes in its place, once, in the page that reaches
// it; and every page's entries run up to its "next" cursor, no further.
func TestTimelinePageEnds(t *testing.T) {
	f := newFixture(t, "")
	for i := range 6 {
		f.say(t, fmt.Sprint("line ", i))
	}
	all, _ := f.page(t, "/api/incidents/INC-1/timeline?limit=1000")
	total := len(all.Entries)
	if all.More {
		t.Fatalf("a page of 1000 of %d entries says more follow", total)
	}
	for _, tc := range []struct {
		limit int
		more  bool
	}{{total, false}, {total - 1, true}, {total + 1, false}, {1, true}} {
		p, h := f.page(t, fmt.Sprintf("/api/incidents/INC-1/timeline?limit=%d", tc.limit))
		if n := min(tc.limit, total); len(p.Entries) != n || p.More != tc.more || (h.Get("Link") != "") != tc.more {
			t.Errorf("limit=%d of %d: %d entries, more %v, Link %q; want %d, more %v", tc.limit, total, len(p.Entries), p.More, h.Get("Link"), n, tc.more)
		}
		// The next page starts right after this one's last entry.
		if rest, _ := f.page(t, "/api/incidents/INC-1/timeline?limit=1000&after="+p.Next); len(p.Entries)+len(rest.Entries) != total || rest.More {
			t.Errorf("limit=%d: %d entries, then %d after its next cursor; want %d in all", tc.limit, len(p.Entries), len(rest.Entries), total)
		}
	}

	// Recovered: said a moment after the third entry, recorded now.
	ch := bot.Channel{Platform: bot.Console, ID: "inc-1-checkout-is-down"}
	var third struct {
		At time.Time `json:"at"`
	}
	_, body := f.get(t, "/api/incidents/INC-1/timeline?limit=3", "")
	var head struct {
		Entries []json.RawMessage `json:"entries"`
	}
	if err := json.Unmarshal(body, &head); err != nil || len(head.Entries) != 3 || json.Unmarshal(head.Entries[2], &third) != nil {
		t.Fatalf("first three entries: %s, %v", body, err)
	}
	said := third.At.Add(time.Millisecond)
	if _, err := f.svc.Record(context.Background(), ch, bot.TimelineEvent{Kind: bot.EventMessage, Author: bob, Text: "said while away",
		MessageID: "m-away", PlatformAt: said, DedupeKey: "console/m-away", Recovered: true}); err != nil {
		t.Fatal(err)
	}
	var texts []string
	path := "/api/incidents/INC-1/timeline?limit=2"
	for range 20 {
		p, h := f.page(t, path)
		for _, e := range p.Entries {
			texts = append(texts, e.Text)
		}
		if !p.More {
			break
		}
		path = strings.TrimSuffix(strings.TrimPrefix(h.Get("Link"), "<"), `>; rel="next"`)
	}
	if len(texts) != total+1 || texts[3] != "said while away" {
		t.Errorf("walked %q; want %d entries, the recovered one fourth", texts, total+1)
	}
}

// between is the real store with one write injected right after the first
// read that looks for a page's end (TimelineKeysAfter), before the page's
// entries are read: what a concurrent Record may do.
type between struct {
	store.Store
	write func()
}

func (b *between) View(ctx context.Context, fn func(store.ReadTx) error) error {
	var sawKeys bool
	err := b.Store.View(ctx, func(tx store.ReadTx) error { return fn(keysSeen{tx, &sawKeys}) })
	if sawKeys && b.write != nil {
		w := b.write
		b.write = nil
		w()
	}
	return err
}

type keysSeen struct {
	store.ReadTx
	saw *bool
}

func (k keysSeen) TimelineKeysAfter(id string, c store.TimelineCursor, limit int) (store.TimelineCursor, int, bool, error) {
	*k.saw = true
	return k.ReadTx.TimelineKeysAfter(id, c, limit)
}

// TestTimelinePageRecoveredMeanwhile: an entry recovered between the pass
// that finds a page's end and the one that writes its entries, keyed
// before that end, is written in the page (one entry longer than asked)
// rather than skipped by the next cursor.
func TestTimelinePageRecoveredMeanwhile(t *testing.T) {
	f := newFixture(t, "")
	for i := range 4 {
		f.say(t, fmt.Sprint("line ", i))
	}
	first, _ := f.page(t, "/api/incidents/INC-1/timeline?limit=1000")
	var at struct {
		Entries []struct {
			At time.Time `json:"at"`
		} `json:"entries"`
	}
	if _, body := f.get(t, "/api/incidents/INC-1/timeline?limit=2", ""); json.Unmarshal(body, &at) != nil || len(at.Entries) != 2 {
		t.Fatalf("first two entries: %s", body)
	}
	ch := bot.Channel{Platform: bot.Console, ID: "inc-1-checkout-is-down"}
	f.svc.Store = &between{Store: f.db, write: func() {
		if _, err := f.svc.Record(context.Background(), ch, bot.TimelineEvent{Kind: bot.EventMessage, Author: bob, Text: "said while away",
			MessageID: "m-away", PlatformAt: at.Entries[0].At.Add(time.Millisecond), DedupeKey: "console/m-away", Recovered: true}); err != nil {
			t.Error(err)
		}
	}}
	p, _ := f.page(t, "/api/incidents/INC-1/timeline?limit=3")
	var got []string
	for _, e := range p.Entries {
		got = append(got, e.Text)
	}
	want := []string{first.Entries[0].Text, "said while away", first.Entries[1].Text, first.Entries[2].Text}
	if !slices.Equal(got, want) || !p.More {
		t.Errorf("page of 3 with an entry recovered meanwhile = %q, more %v; want %q, more", got, p.More, want)
	}
	rest, _ := f.page(t, "/api/incidents/INC-1/timeline?limit=1000&after="+p.Next)
	if len(rest.Entries) != len(first.Entries)-3 || rest.Entries[0].Text != first.Entries[3].Text {
		t.Errorf("after the page: %d entries from %q; want %d from %q", len(rest.Entries), rest.Entries[0].Text, len(first.Entries)-3, first.Entries[3].Text)
	}
}
