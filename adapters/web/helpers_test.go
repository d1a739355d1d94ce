package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/store/bolt/bolttest"
	"github.com/debrief/debrief/workflows"
)

// t0 is the fixture's clock.
var t0 = time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

var (
	ada   = bot.User{Platform: bot.Slack, ID: "U1", Name: "ada"}
	grace = bot.User{Platform: bot.Slack, ID: "U2", Name: "grace"}
)

// archive is a real store, a real index and the Server over them.
type archive struct {
	t     testing.TB
	store store.Store
	srv   *Server
	idx   *Index
	x     *Indexer
	http  *httptest.Server
	clock time.Time // the Indexer's, an hour on per Tick
}

func newArchive(t testing.TB) *archive {
	t.Helper()
	db := bolttest.Open(t)
	idx, err := CreateIndex(filepath.Join(t.TempDir(), "index"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	cat := NewCatalog()
	cfg := workflows.DefaultConfig()
	svc := &workflows.Service{Store: db, Config: cfg}
	a := &archive{t: t, store: db, idx: idx, clock: t0}
	a.srv = &Server{Service: svc, Index: idx, Catalog: cat, Auth: Auth{Open: true}, Now: func() time.Time { return t0.Add(30 * 24 * time.Hour) }}
	a.x = &Indexer{Store: db, Index: idx, Catalog: cat}
	mux := http.NewServeMux()
	a.srv.Register(mux)
	a.http = httptest.NewServer(mux)
	t.Cleanup(a.http.Close)
	return a
}

// declare stores an incident the way workflows does, with its declare entry.
func (a *archive) declare(title string, sev bot.Severity, kind bot.Kind, tags ...string) *bot.Incident {
	a.t.Helper()
	var inc *bot.Incident
	err := a.store.Update(context.Background(), func(tx store.Tx) error {
		n, err := tx.NextIncidentNumber()
		if err != nil {
			return err
		}
		at := t0.Add(time.Duration(n) * time.Hour)
		inc = &bot.Incident{
			ID: bot.IncidentID(n), Number: n, Title: title, Kind: kind, Severity: sev,
			Status: bot.StatusInvestigating, Tags: tags, DeclaredBy: ada,
			Roles:     map[bot.Role]bot.User{bot.Commander: ada},
			StartedAt: at.Add(-20 * time.Minute), DetectedAt: at.Add(-5 * time.Minute), DeclaredAt: at,
		}
		if err := tx.PutIncident(inc); err != nil {
			return err
		}
		_, _, err = tx.AppendEvent(bot.TimelineEvent{IncidentID: inc.ID, Kind: bot.EventLifecycle, Author: ada, Text: "declared " + title, RecordedAt: at})
		return err
	})
	if err != nil {
		a.t.Fatal(err)
	}
	return inc
}

func (a *archive) put(inc *bot.Incident) {
	a.t.Helper()
	if err := a.store.Update(context.Background(), func(tx store.Tx) error { return tx.PutIncident(inc) }); err != nil {
		a.t.Fatal(err)
	}
}

func (a *archive) say(id string, kind bot.EventKind, text string, at time.Time) bot.TimelineEvent {
	a.t.Helper()
	ev, _, err := a.store.Append(context.Background(), bot.TimelineEvent{IncidentID: id, Kind: kind, Author: grace, Text: text, RecordedAt: at})
	if err != nil {
		a.t.Fatal(err)
	}
	return ev
}

// index runs the Indexer until it has nothing left to do.
func (a *archive) index() {
	a.t.Helper()
	for i := 0; ; i++ {
		a.clock = a.clock.Add(time.Hour)
		n, err := a.x.Tick(context.Background(), a.clock)
		if err != nil {
			a.t.Fatal(err)
		}
		if n == 0 && i > 0 {
			return
		}
	}
}

// get fetches path and returns the status and body.
func (a *archive) get(path string, hdr ...string) (int, string, http.Header) {
	a.t.Helper()
	req, _ := http.NewRequest("GET", a.http.URL+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

func mustContain(t testing.TB, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

func mustLack(t testing.TB, what, body string, nots ...string) {
	t.Helper()
	for _, w := range nots {
		if strings.Contains(body, w) {
			t.Errorf("%s contains %q", what, w)
		}
	}
}

func mustPrefixes(t testing.TB, ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}
