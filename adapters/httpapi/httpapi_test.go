package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/httpapi"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/store/bolt"
	"github.com/debrief/debrief/store/bolt/bolttest"
	"github.com/debrief/debrief/workflows"
	"github.com/prometheus/client_golang/prometheus"
)

var (
	alice = bot.User{Platform: bot.Console, ID: "alice", Name: "alice"}
	bob   = bot.User{Platform: bot.Console, ID: "bob", Name: "bob"}
	t0    = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
)

// chat accepts every effect; channels are named after the request.
type chat struct{}

func (chat) CreateChannel(_ context.Context, _, name string) (string, error) { return name, nil }
func (chat) Post(_ context.Context, key, _, _ string) (string, error)        { return key, nil }
func (chat) Invite(context.Context, string, []bot.User) error                { return nil }
func (chat) Pin(context.Context, string, string) error                       { return nil }
func (chat) SetTopic(context.Context, string, string) error                  { return nil }
func (chat) Archive(context.Context, string) error                           { return nil }

type fixture struct {
	svc *workflows.Service
	db  *bolt.DB
	srv *httptest.Server
	log *bytes.Buffer
	now time.Time
}

// newFixture serves the routes over a real store holding INC-1 (declared,
// two messages, a severity change) and INC-2 (declared, nothing else).
func newFixture(t *testing.T, token string) *fixture {
	t.Helper()
	db := bolttest.Open(t)
	f := &fixture{db: db, log: &bytes.Buffer{}, now: t0}
	var mu sync.Mutex
	reg := prometheus.NewRegistry()
	f.svc = &workflows.Service{
		Store: db, Config: workflows.DefaultConfig(),
		Chats: map[bot.Platform]workflows.Chat{bot.Console: chat{}},
		Now: func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			f.now = f.now.Add(time.Second)
			return f.now
		},
		Metrics: workflows.NewMetrics(reg),
	}
	ctx := context.Background()
	general := bot.Channel{Platform: bot.Console, ID: "general"}
	if r := f.svc.Execute(ctx, alice, general, `declare "Checkout is down" sev2`); r.IncidentID != "INC-1" {
		t.Fatalf("declare: %+v", r)
	}
	if _, err := f.svc.Outbox().Tick(ctx, f.svc.Now()); err != nil {
		t.Fatal(err)
	}
	ch := bot.Channel{Platform: bot.Console, ID: "inc-1-checkout-is-down"}
	for i, m := range []struct {
		who  bot.User
		text string
	}{{alice, "payments returns 502"}, {bob, "I see it too"}} {
		if _, err := f.svc.Record(ctx, ch, bot.TimelineEvent{
			Kind: bot.EventMessage, Author: m.who, Text: m.text, DedupeKey: fmt.Sprint("m", i),
		}); err != nil {
			t.Fatal(err)
		}
	}
	if r := f.svc.Execute(ctx, bob, ch, "sev 1"); r.Ephemeral {
		t.Fatalf("sev: %+v", r)
	}
	if r := f.svc.Execute(ctx, bob, general, "declare near miss: disk at 90% sev4 near-miss"); r.IncidentID != "INC-2" {
		t.Fatalf("declare: %+v", r)
	}

	mux := http.NewServeMux()
	(&httpapi.Server{
		Service: f.svc, Token: token, Gatherer: reg, Backup: db.Backup,
		Log: slog.New(slog.NewTextHandler(f.log, nil)),
	}).Register(mux)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) get(t *testing.T, path, token string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// getJSON checks the status and decodes the body generically, so that the
// test sees the field names exactly as a client does.
func (f *fixture) getJSON(t *testing.T, path, token string, wantStatus int) map[string]any {
	t.Helper()
	resp, body := f.get(t, path, token)
	if resp.StatusCode != wantStatus {
		t.Fatalf("GET %s = %d %s, want %d", path, resp.StatusCode, body, wantStatus)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s Content-Type = %q, want application/json", path, ct)
	}
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
	return v
}

func TestHealthz(t *testing.T) {
	f := newFixture(t, "secret")
	resp, body := f.get(t, "/healthz", "")
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != `{"ready":true,"leader":true}` {
		t.Errorf("GET /healthz = %d %q, want 200 ok (no token needed)", resp.StatusCode, body)
	}
	if err := f.db.Close(); err != nil {
		t.Fatal(err)
	}
	resp, _ = f.get(t, "/healthz", "")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET /healthz with the store closed = %d, want 503", resp.StatusCode)
	}
}

func TestMetrics(t *testing.T) {
	f := newFixture(t, "secret")
	resp, body := f.get(t, "/metrics", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d", resp.StatusCode)
	}
	for _, want := range []string{
		`debrief_commands_total{code="ok",verb="declare"} 2`,
		`debrief_commands_total{code="ok",verb="sev"} 1`,
		`debrief_timeline_events_appended_total 2`,
		`debrief_outbox_delivered_total{kind="create_channel"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestIncidents(t *testing.T) {
	f := newFixture(t, "")
	v := f.getJSON(t, "/api/incidents", "", http.StatusOK)
	list, ok := v["incidents"].([]any)
	if !ok || len(list) != 2 {
		t.Fatalf("incidents = %v, want 2 of them", v["incidents"])
	}
	inc := list[0].(map[string]any)
	for k, want := range map[string]any{
		"id": "INC-1", "number": 1.0, "title": "Checkout is down", "severity": "SEV1",
		"status": "investigating", "kind": "real",
		"declared_at": "2026-03-02T10:00:01Z",
	} {
		if inc[k] != want {
			t.Errorf("incidents[0].%s = %#v, want %#v", k, inc[k], want)
		}
	}
	if got := inc["channels"].(map[string]any)["console"]; got != "inc-1-checkout-is-down" {
		t.Errorf("channels.console = %v", got)
	}
	if got := inc["roles"].(map[string]any)["commander"].(map[string]any)["id"]; got != "alice" {
		t.Errorf("roles.commander.id = %v", got)
	}
	for _, k := range []string{"mitigated_at", "resolved_at", "closed_at"} {
		if _, ok := inc[k]; ok {
			t.Errorf("incidents[0] has %s before it happened", k)
		}
	}
	if second := list[1].(map[string]any); second["kind"] != "near_miss" || second["severity"] != "SEV4" {
		t.Errorf("incidents[1] = %v, want a SEV4 near_miss", second)
	}
	// Every key a client sees is snake_case.
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if path != "channels" && path != "roles" && k != strings.ToLower(k) {
					t.Errorf("key %q in %s is not snake_case", k, path)
				}
				walk(k, e)
			}
		case []any:
			for _, e := range v {
				walk(path, e)
			}
		}
	}
	walk("", v)
}

func TestIncident(t *testing.T) {
	f := newFixture(t, "")
	for _, id := range []string{"INC-1", "inc-1", "1"} {
		v := f.getJSON(t, "/api/incidents/"+id, "", http.StatusOK)
		if v["id"] != "INC-1" || v["severity"] != "SEV1" {
			t.Errorf("GET /api/incidents/%s = id %v severity %v", id, v["id"], v["severity"])
		}
	}
	for _, id := range []string{"INC-9", "nope", "0"} {
		v := f.getJSON(t, "/api/incidents/"+id, "", http.StatusNotFound)
		if v["code"] != "not_found" || v["error"] == "" {
			t.Errorf("GET /api/incidents/%s = %v, want a not_found error", id, v)
		}
	}
}

func TestTimeline(t *testing.T) {
	f := newFixture(t, "")
	v := f.getJSON(t, "/api/incidents/INC-1/timeline", "", http.StatusOK)
	if v["incident_id"] != "INC-1" {
		t.Errorf("incident_id = %v", v["incident_id"])
	}
	entries := v["entries"].([]any)
	var got []string
	var last time.Time
	for _, e := range entries {
		e := e.(map[string]any)
		at, err := time.Parse(time.RFC3339Nano, e["at"].(string))
		if err != nil {
			t.Errorf("at = %v: %v", e["at"], err)
		}
		if at.Before(last) {
			t.Errorf("entry %v is older than the one before it", e)
		}
		last = at
		got = append(got, fmt.Sprintf("%s %s %s", e["kind"], e["author"].(map[string]any)["id"], e["text"]))
	}
	want := []string{
		`lifecycle alice declared INC-1 "Checkout is down" (SEV2, real); commander @alice`,
		"bot_action debrief opened channel #inc-1-checkout-is-down on console",
		"message alice payments returns 502",
		"message bob I see it too",
		"severity bob severity SEV2 -> SEV1",
	}
	if !slices.Equal(got, want) {
		t.Errorf("timeline =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	v = f.getJSON(t, "/api/incidents/INC-7/timeline", "", http.StatusNotFound)
	if v["code"] != "not_found" {
		t.Errorf("unknown incident's timeline = %v", v)
	}
}

func TestPostmortemMarkdown(t *testing.T) {
	f := newFixture(t, "")
	resp, body := f.get(t, "/api/incidents/INC-1/postmortem.md", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/markdown") {
		t.Errorf("Content-Type = %q", ct)
	}
	for _, want := range []string{"# INC-1: Checkout is down", "| Severity | SEV1 |", "payments returns 502"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("postmortem.md lacks %q:\n%s", want, body)
		}
	}
	resp, _ = f.get(t, "/api/incidents/INC-5/postmortem.md", "")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown incident's postmortem.md = %d, want 404", resp.StatusCode)
	}
}

func TestToken(t *testing.T) {
	f := newFixture(t, "s3cret")
	for _, path := range []string{
		"/api/incidents", "/api/incidents/INC-1", "/api/incidents/INC-1/timeline", "/api/incidents/INC-1/postmortem.md",
		"/api/gamedays",
	} {
		for _, tok := range []string{"", "wrong", "s3cre", "S3CRET", "s3cret2"} {
			resp, body := f.get(t, path, tok)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("GET %s with token %q = %d, want 401", path, tok, resp.StatusCode)
				continue
			}
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("GET %s 401 has no WWW-Authenticate", path)
			}
			var e struct{ Code, Error string }
			if err := json.Unmarshal(body, &e); err != nil || e.Code != "unauthorized" || e.Error == "" {
				t.Errorf("GET %s 401 body = %s, want a JSON error", path, body)
			}
		}
		if resp, _ := f.get(t, path, "s3cret"); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s with the token = %d, want 200", path, resp.StatusCode)
		}
	}
	// Other schemes are not a bearer token.
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/api/incidents", nil)
	req.SetBasicAuth("x", "s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("basic auth = %d, want 401", resp.StatusCode)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	f := newFixture(t, "")
	resp, err := http.Post(f.srv.URL+"/api/incidents", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /api/incidents = %d, want 405", resp.StatusCode)
	}
}

// errStore fails every read with err, to check how each kind of error is
// answered.
type errStore struct{ err error }

func (s errStore) Update(context.Context, func(store.Tx) error) error   { return s.err }
func (s errStore) View(context.Context, func(store.ReadTx) error) error { return s.err }
func (s errStore) Append(context.Context, bot.TimelineEvent) (bot.TimelineEvent, bool, error) {
	return bot.TimelineEvent{}, false, s.err
}

func TestErrorStatus(t *testing.T) {
	for _, tc := range []struct {
		err     error
		status  int
		code    string
		message string
	}{
		{bot.Errorf(bot.ENOTFOUND, "No incident."), 404, "not_found", "No incident."},
		{bot.Errorf(bot.EINVALID, "Bad."), 400, "invalid", "Bad."},
		{bot.Errorf(bot.EFORBIDDEN, "No."), 403, "forbidden", "No."},
		{fmt.Errorf("wrapped: %w", bot.Errorf(bot.ECONFLICT, "Closed.")), 409, "conflict", "Closed."},
		{errors.New("bbolt: /var/lib/debrief.db: disk on fire"), 500, "internal", "Internal error: the operators have the details in the log."},
	} {
		var logs bytes.Buffer
		mux := http.NewServeMux()
		(&httpapi.Server{
			Service: &workflows.Service{Store: errStore{tc.err}},
			Log:     slog.New(slog.NewTextHandler(&logs, nil)),
		}).Register(mux)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/incidents/INC-1", nil))
		var e struct{ Code, Error string }
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
			t.Fatalf("%v: body %s: %v", tc.err, rec.Body, err)
		}
		if rec.Code != tc.status || e.Code != tc.code || e.Error != tc.message {
			t.Errorf("%v: got %d %+v, want %d %s %q", tc.err, rec.Code, e, tc.status, tc.code, tc.message)
		}
		if tc.status == 500 && !strings.Contains(logs.String(), "disk on fire") {
			t.Errorf("internal error not logged: %q", logs.String())
		}
		if tc.status != 500 && logs.Len() != 0 {
			t.Errorf("%v logged as a failure: %q", tc.err, logs.String())
		}
	}
}

// TestBackup downloads the database from the running server and reads the
// incidents back from the copy; without the token it gets nothing.
func TestBackup(t *testing.T) {
	f := newFixture(t, "s3cret")
	if resp, body := f.get(t, "/api/backup", ""); resp.StatusCode != http.StatusUnauthorized || bytes.Contains(body, []byte("Checkout")) {
		t.Fatalf("backup without token = %d, %d bytes", resp.StatusCode, len(body))
	}
	resp, body := f.get(t, "/api/backup", "s3cret")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("backup = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	db := bolttest.OpenPath(t, path)
	if err := db.Check(); err != nil {
		t.Errorf("copy fails the consistency check: %v", err)
	}
	var titles []string
	err := db.View(context.Background(), func(tx store.ReadTx) error {
		incs, err := tx.Incidents()
		for _, inc := range incs {
			titles = append(titles, inc.Title)
		}
		return err
	})
	if err != nil || !slices.Equal(titles, []string{"Checkout is down", "near miss: disk at 90%"}) {
		t.Errorf("incidents in the copy = %q, %v", titles, err)
	}
}

// TestGamedays: GET /api/gamedays lists a drill that ran, with its
// measurements and verdict, and one upcoming; the drill's incident has
// its drill fields; the real incidents' list says which is the drill.
func TestGamedays(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	general := bot.Channel{Platform: bot.Console, ID: "general"}
	for _, text := range []string{
		"gameday schedule 2026-03-02 10:05 UTC Failover hypothesis: checkout keeps working fault: kill the primary",
		"gameday schedule 2026-03-09 10:00 UTC Cache eviction hypothesis: p99 under 300ms",
	} {
		if r := f.svc.Execute(ctx, alice, general, text); r.Ephemeral {
			t.Fatalf("%s: %+v", text, r)
		}
	}
	if n, err := f.svc.Gamedays().Tick(ctx, t0.Add(5*time.Minute)); err != nil || n != 1 {
		t.Fatalf("Tick = %d, %v", n, err)
	}
	if _, err := f.svc.Outbox().Tick(ctx, t0.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	ch := bot.Channel{Platform: bot.Console, ID: "inc-3-drill-failover"}
	for _, text := range []string{"gameday inject", "gameday detected", "mitigate", "gameday verdict held checkout stayed up"} {
		if r := f.svc.Execute(ctx, alice, ch, text); r.Ephemeral {
			t.Fatalf("%s: %+v", text, r)
		}
	}
	v := f.getJSON(t, "/api/gamedays", "", http.StatusOK)
	list, ok := v["gamedays"].([]any)
	if !ok || len(list) != 2 {
		t.Fatalf("gamedays = %v", v)
	}
	up, ran := list[0].(map[string]any), list[1].(map[string]any)
	if up["id"] != "GD-2" || up["state"] != "scheduled" || up["start"] != "2026-03-09T10:00:00Z" {
		t.Errorf("upcoming = %v", up)
	}
	// The fixture's clock moves a second per reading.
	if ran["id"] != "GD-1" || ran["incident_id"] != "INC-3" || ran["verdict"] != "held" || ran["state"] != "mitigated" ||
		ran["time_to_detect_seconds"] != 1.0 || ran["time_to_mitigate_seconds"] != 2.0 ||
		ran["plan"].(map[string]any)["fault"] != "kill the primary" {
		t.Errorf("ran = %v", ran)
	}
	fig := v["figures"].(map[string]any)
	if fig["held"] != 1.0 || fig["run"] != 1.0 || fig["scheduled"] != 1.0 || fig["mean_time_to_detect_seconds"] != 1.0 {
		t.Errorf("figures = %v", fig)
	}
	inc := f.getJSON(t, "/api/incidents/INC-3", "", http.StatusOK)
	drill, ok := inc["drill"].(map[string]any)
	if inc["kind"] != "drill" || !ok || drill["gameday"] != "GD-1" || drill["verdict"] != "held" || drill["time_to_detect_seconds"] != 1.0 {
		t.Errorf("INC-3 = %v", inc)
	}
	if real := f.getJSON(t, "/api/incidents/INC-1", "", http.StatusOK); real["drill"] != nil {
		t.Errorf("a real incident has drill fields: %v", real["drill"])
	}
}

// TestUnknownAPIRoute: what no route takes under /api/ is answered in JSON
// like the rest of the API: 404 for an unknown path, 405 for a known path
// with another method than GET.
func TestUnknownAPIRoute(t *testing.T) {
	f := newFixture(t, "")
	v := f.getJSON(t, "/api/nope", "", http.StatusNotFound)
	if v["code"] != "not_found" || !strings.Contains(v["error"].(string), "GET /api/nope") {
		t.Errorf("GET /api/nope = %v", v)
	}
	f.getJSON(t, "/api/incidents/INC-1/nope", "", http.StatusNotFound)
	resp, err := http.Post(f.srv.URL+"/api/incidents/INC-1", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /api/incidents/INC-1 = %d %q Allow %q, want a JSON 405", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Allow"))
	}
	// With a token, an unknown route is no way around it.
	g := newFixture(t, "s3cret")
	g.getJSON(t, "/api/nope", "", http.StatusUnauthorized)
}

// TestNoHTMLEscaping: the JSON is not HTML: "->" and "<" are written as
// they are, not as \u003e and \u003c.
func TestNoHTMLEscaping(t *testing.T) {
	f := newFixture(t, "")
	_, body := f.get(t, "/api/incidents/INC-1/timeline", "")
	if !strings.Contains(string(body), "severity SEV2 -> SEV1") || strings.Contains(string(body), `\u003e`) {
		t.Errorf("timeline JSON escapes HTML characters:\n%s", body)
	}
}

// TestLoopbackOnly: without a token, beyond loopback, the API and the
// backup answer 403 to other addresses and still serve loopback; /healthz
// stays open.
func TestLoopbackOnly(t *testing.T) {
	db := bolttest.Open(t)
	mux := http.NewServeMux()
	(&httpapi.Server{Service: &workflows.Service{Store: db}, LoopbackOnly: true, Backup: db.Backup}).Register(mux)
	for _, c := range []struct {
		path, remote string
		want         int
	}{
		{"/api/backup", "192.0.2.7:4242", http.StatusForbidden},
		{"/api/incidents", "[2001:db8::1]:4242", http.StatusForbidden},
		{"/api/backup", "127.0.0.1:4242", http.StatusOK},
		{"/api/incidents", "[::1]:4242", http.StatusOK},
		{"/healthz", "192.0.2.7:4242", http.StatusOK},
	} {
		req := httptest.NewRequest(http.MethodGet, c.path, nil)
		req.RemoteAddr = c.remote
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("GET %s from %s = %d, want %d", c.path, c.remote, rec.Code, c.want)
		}
		if c.want == http.StatusForbidden && !strings.Contains(rec.Body.String(), "DEBRIEF_API_TOKEN") {
			t.Errorf("GET %s from %s: %q does not say what to set", c.path, c.remote, rec.Body)
		}
	}
}

// TestHealthzCommitsFail: a store that reads but cannot commit (the disk is
// full) is not ready, and /healthz says why.
func TestHealthzCommitsFail(t *testing.T) {
	db := bolttest.Open(t, bolt.WithMaxSize(128<<10))
	mux := http.NewServeMux()
	(&httpapi.Server{Service: &workflows.Service{Store: db}, Commits: db.CommitErr}).Register(mux)
	health := func() (int, string) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := health(); code != 200 {
		t.Fatalf("healthz on a healthy store = %d %q", code, body)
	}
	big := strings.Repeat("x", 64<<10)
	var err error
	for i := 0; err == nil && i < 64; i++ {
		err = db.Update(context.Background(), func(tx store.Tx) error {
			return tx.PutMeta(fmt.Sprint("fill/", i), big)
		})
	}
	if err == nil {
		t.Fatal("the capped store never filled")
	}
	if code, body := health(); code != http.StatusServiceUnavailable || !strings.Contains(body, "cannot commit") {
		t.Errorf("healthz while commits fail = %d %q, want 503 saying why", code, body)
	}
}
