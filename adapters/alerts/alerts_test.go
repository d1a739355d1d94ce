package alerts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/alerts"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/internal/clocktest"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/store/bolt/bolttest"
	"github.com/debrief/debrief/workflows"
	"github.com/prometheus/alertmanager/notify/webhook"
	"github.com/prometheus/alertmanager/template"
)

func TestParseRules(t *testing.T) {
	rules, err := alerts.ParseRules(`declare: severity="critical"; suggest: severity="error", team=~"db|storage"; signal: severity=~"warning|info"; ignore:`)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		labels map[string]string
		want   workflows.AlertAction
	}{
		{map[string]string{"severity": "critical", "team": "web"}, workflows.AlertDeclare},
		{map[string]string{"severity": "error", "team": "storage"}, workflows.AlertSuggest},
		{map[string]string{"severity": "error", "team": "web"}, workflows.AlertIgnore},
		{map[string]string{"severity": "info"}, workflows.AlertSignal},
		{map[string]string{}, workflows.AlertIgnore},
	} {
		if got := rules.Action(tt.labels); got != tt.want {
			t.Errorf("Action(%v) = %s, want %s", tt.labels, got, tt.want)
		}
	}
	// Without an ignore-all last rule, what no rule matches is ignored.
	rules, _ = alerts.ParseRules(`declare: severity="critical"`)
	if got := rules.Action(map[string]string{"severity": "warning"}); got != workflows.AlertIgnore {
		t.Errorf("unmatched = %s, want ignore", got)
	}
	if got := alerts.DefaultRules.Action(map[string]string{"a": "b"}); got != workflows.AlertSignal {
		t.Errorf("default rules = %s, want signal", got)
	}

	path := filepath.Join(t.TempDir(), "rules")
	if err := os.WriteFile(path, []byte("# from a file\ndeclare: severity=\"critical\"\n\nsignal:\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if rules, err := alerts.ParseRules("@" + path); err != nil || len(rules) != 2 {
		t.Errorf("rules from a file = %v, %v; want 2", rules, err)
	}

	for _, bad := range []string{
		`declare severity="critical"`, `page: severity="critical"`, `declare: severity=~"crit`, `declare: =x`, ` ; `, "@/nonexistent/rules",
	} {
		if _, err := alerts.ParseRules(bad); err == nil {
			t.Errorf("ParseRules(%q) = nil error, want one", bad)
		}
	}
}

func TestFromEnv(t *testing.T) {
	svc := &workflows.Service{}
	for _, tt := range []struct {
		env     map[string]string
		on      bool
		wantErr string
	}{
		{env: map[string]string{}},
		{env: map[string]string{"DEBRIEF_ALERT_TOKEN": "t"}, on: true},
		{env: map[string]string{"DEBRIEF_ALERT_RULES": "signal:"}, wantErr: "DEBRIEF_ALERT_TOKEN"},
		{env: map[string]string{"DEBRIEF_ALERT_TOKEN": "t", "DEBRIEF_ALERT_RULES": `declare: x=~"(`}, wantErr: "DEBRIEF_ALERT_RULES"},
		{env: map[string]string{"DEBRIEF_ALERT_TOKEN": "t", "DEBRIEF_ALERT_SEVERITIES": "critical=SEV9"}, wantErr: "DEBRIEF_ALERT_SEVERITIES"},
	} {
		c, err := alerts.FromEnv(context.Background(), func(k string) string { return tt.env[k] }, svc, nil)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("FromEnv(%v) = %v, want an error naming %s", tt.env, err, tt.wantErr)
			}
			continue
		}
		if err != nil || (c != nil) != tt.on {
			t.Errorf("FromEnv(%v) = %v, %v; want on %v", tt.env, c, err, tt.on)
		}
	}
}

// server is the alert routes on a real store.
func server(t *testing.T) (*httptest.Server, *workflows.Service) {
	t.Helper()
	db := bolttest.Open(t)
	clock := clocktest.New(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	svc := &workflows.Service{Store: db, Config: workflows.DefaultConfig(), Now: clock.Now}
	rules, _ := alerts.ParseRules(`declare: severity="critical"; signal:`)
	h := &alerts.Handler{Service: svc, Token: "tok", Rules: rules, Severities: alerts.DefaultSeverities, TagLabels: []string{"team"}, Now: clock.Now}
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, svc
}

func send(t *testing.T, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// grafana is what Grafana's webhook contact point sends: Alertmanager's
// fields and more (orgId, title, state, message, values...).
const grafana = `{
  "receiver": "debrief", "status": "firing", "orgId": 1,
  "alerts": [{
    "status": "firing",
    "labels": {"alertname": "HighCPU", "severity": "critical", "team": "payments", "grafana_folder": "prod"},
    "annotations": {"summary": "CPU above 90% on pay-1"},
    "startsAt": "2026-03-02T09:50:00Z", "endsAt": "0001-01-01T00:00:00Z",
    "generatorURL": "https://grafana.example/alerting/grafana/abc/view",
    "fingerprint": "8f0ac0a2a4b7d1e3", "silenceURL": "https://grafana.example/alerting/silence/new",
    "dashboardURL": "https://grafana.example/d/1", "panelURL": "https://grafana.example/d/1?viewPanel=2",
    "values": {"B": 93.1}, "valueString": "[ var='B' value=93.1 ]"
  }],
  "groupLabels": {"alertname": "HighCPU"}, "commonLabels": {"alertname": "HighCPU"}, "commonAnnotations": {},
  "externalURL": "https://grafana.example/", "version": "1", "groupKey": "{}:{alertname=\"HighCPU\"}",
  "truncatedAlerts": 0, "title": "[FIRING:1] HighCPU", "state": "alerting", "message": "..."
}`

func TestGrafana(t *testing.T) {
	srv, svc := server(t)
	// Grafana writes version "1", its own payload's revision: accepted.
	status, resp := send(t, srv.URL+"/alerts/alertmanager", "tok", grafana)
	if status != 200 || !strings.Contains(resp, `"incident":"INC-1"`) {
		t.Fatalf("grafana = %d %s, want INC-1", status, resp)
	}
	inc, err := svc.Incident(context.Background(), "INC-1")
	if err != nil {
		t.Fatal(err)
	}
	if inc.Title != "CPU above 90% on pay-1" || inc.Severity != bot.SEV1 || len(inc.Tags) != 1 || inc.Tags[0] != "payments" ||
		!inc.StartedAt.Equal(time.Date(2026, 3, 2, 9, 50, 0, 0, time.UTC)) {
		t.Errorf("INC-1 = %+v", inc)
	}
}

// TestBadInput: every refusal stores nothing.
func TestBadInput(t *testing.T) {
	srv, svc := server(t)
	am, ev := srv.URL+"/alerts/alertmanager", srv.URL+"/alerts/events"
	for _, tt := range []struct {
		what, url, token, body string
		want                   int
		reason                 string
	}{
		{"no token", am, "", grafana, 401, "bearer token"},
		{"wrong token", am, "tok2", grafana, 401, "bearer token"},
		{"oversized", am, "tok", `{"x":"` + strings.Repeat("a", alerts.MaxBody) + `"}`, 413, ""},
		{"malformed", am, "tok", `{"alerts": [`, 400, "malformed JSON"},
		{"wrong types", am, "tok", `{"groupKey": 4}`, 400, "malformed JSON"},
		{"not a notification", am, "tok", `{"hello": "world"}`, 400, "groupKey"},
		{"another version", am, "tok", `{"version":"3","groupKey":"g","alerts":[]}`, 400, "version 4"},
		{"events no token", ev, "", `{"event_action":"trigger"}`, 401, "bearer token"},
		{"events malformed", ev, "tok", `{"event_action":`, 400, "malformed JSON"},
		{"no event_action", ev, "tok", `{"dedup_key":"x"}`, 400, "event_action is missing"},
		{"unknown event_action", ev, "tok", `{"event_action":"escalate","dedup_key":"x"}`, 400, `unknown event_action`},
		{"trigger without payload", ev, "tok", `{"event_action":"trigger"}`, 400, "payload.summary"},
		{"bad severity", ev, "tok", `{"event_action":"trigger","payload":{"summary":"s","source":"x","severity":"sev1"}}`, 400, "payload.severity"},
		{"bad timestamp", ev, "tok", `{"event_action":"trigger","payload":{"summary":"s","source":"x","severity":"critical","timestamp":"yesterday"}}`, 400, "RFC 3339"},
		{"resolve without key", ev, "tok", `{"event_action":"resolve"}`, 400, "dedup_key"},
	} {
		status, body := send(t, tt.url, tt.token, tt.body)
		if status != tt.want || !strings.Contains(body, tt.reason) {
			t.Errorf("%s = %d %s, want %d with %q", tt.what, status, body, tt.want, tt.reason)
		}
	}
	var groups, sigs int
	err := svc.Store.View(context.Background(), func(tx store.ReadTx) error {
		incs, _ := tx.Incidents()
		s, _ := tx.Signals()
		groups, sigs = len(incs), len(s)
		return nil
	})
	if err != nil || groups != 0 || sigs != 0 {
		t.Errorf("after bad input: %d incidents, %d signals, %v; want nothing stored", groups, sigs, err)
	}
}

// TestEvents: a trigger opens, an acknowledge is noted, a resolve
// resolves, and a trigger without a dedup_key gets one.
func TestEvents(t *testing.T) {
	srv, svc := server(t)
	ev := srv.URL + "/alerts/events"
	status, body := send(t, ev, "tok", `{"event_action":"trigger","payload":{"summary":"Checkout 5xx","source":"lb-1","severity":"critical"}}`)
	if status != 202 || !strings.Contains(body, `"dedup_key":"`) || !strings.Contains(body, `"incident":"INC-1"`) {
		t.Fatalf("trigger = %d %s", status, body)
	}
	key := body[strings.Index(body, `"dedup_key":"`)+len(`"dedup_key":"`):]
	key = key[:strings.IndexByte(key, '"')]
	for _, action := range []string{"acknowledge", "resolve"} {
		if status, body := send(t, ev, "tok", `{"event_action":"`+action+`","dedup_key":"`+key+`"}`); status != 202 {
			t.Errorf("%s = %d %s", action, status, body)
		}
	}
	if status, body := send(t, ev, "tok", `{"event_action":"resolve","dedup_key":"never-triggered"}`); status != 202 || !strings.Contains(body, `"action":"ignore"`) {
		t.Errorf("resolve of an unknown key = %d %s, want accepted and ignored", status, body)
	}
	_, tl, err := svc.Timeline(context.Background(), "INC-1")
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, e := range tl {
		if e.Kind == bot.EventBot && e.Author.ID == "events" {
			texts = append(texts, e.Text)
		}
	}
	want := "alert firing: Checkout 5xx\nalert acknowledged at the source\nalert resolved: Checkout 5xx\nall alerts resolved"
	if got := strings.Join(texts, "\n"); got != want {
		t.Errorf("timeline =\n%s\nwant\n%s", got, want)
	}
}

// TestMessageMatchesWebhook: what Alertmanager's notify/webhook.Message
// encodes, Message decodes whole, and encodes the same again.
func TestMessageMatchesWebhook(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 50, 0, 0, time.UTC)
	want := webhook.Message{
		Data: &template.Data{
			Receiver: "debrief", Status: "firing", ExternalURL: "http://am.example",
			Alerts: template.Alerts{{Status: "firing", Labels: template.KV{"alertname": "A"}, Annotations: template.KV{"summary": "s"},
				StartsAt: at, EndsAt: at.Add(time.Hour), GeneratorURL: "http://prom.example", Fingerprint: "f"}},
			GroupLabels: template.KV{"a": "b"}, CommonLabels: template.KV{"c": "d"}, CommonAnnotations: template.KV{"e": "f"},
		},
		Version: "4", GroupKey: `{}:{a="b"}`, TruncatedAlerts: 3,
	}
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var got alerts.Message
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	again, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(b) {
		t.Errorf("Message encodes\n%s\nwebhook.Message encodes\n%s", again, b)
	}
}
