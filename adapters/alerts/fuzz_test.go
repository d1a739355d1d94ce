package alerts_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/alerts"
	"github.com/debrief/debrief/internal/clocktest"
	"github.com/debrief/debrief/store/bolt/bolttest"
	"github.com/debrief/debrief/workflows"
)

// alertmanagerV4 is a notification as Alertmanager's webhook sends it.
const alertmanagerV4 = `{"version":"4","groupKey":"{}:{alertname=\"DiskFull\"}","truncatedAlerts":0,
"status":"firing","receiver":"debrief","groupLabels":{"alertname":"DiskFull"},
"commonLabels":{"alertname":"DiskFull","severity":"critical"},"commonAnnotations":{"summary":"disk full on db-1"},
"externalURL":"http://am:9093","alerts":[{"status":"firing","labels":{"alertname":"DiskFull","severity":"critical","team":"db"},
"annotations":{"summary":"disk full on db-1"},"startsAt":"2026-03-02T09:50:00Z","endsAt":"0001-01-01T00:00:00Z",
"generatorURL":"http://prom/graph","fingerprint":"a1b2"}]}`

// FuzzAlerts: whatever a holder of the token sends to either alert route
// is answered 2xx, 400 or 413, never a 5xx and never a panic: a payload
// that cannot be stored is refused with a reason, not retried forever by
// Alertmanager.
func FuzzAlerts(f *testing.F) {
	for _, seed := range []string{
		alertmanagerV4, grafana, `{"alerts": [`, `{"version":"3"}`, `{}`, `null`,
		strings.Replace(alertmanagerV4, `"firing"`, `"resolved"`, -1),
		strings.Replace(alertmanagerV4, `2026-03-02T09:50:00Z`, `99999-01-01T00:00:00Z`, 1),
		`{"event_action":"trigger","dedup_key":"k","payload":{"summary":"s","source":"x","severity":"critical","timestamp":"2026-03-02T09:55:00Z"}}`,
		`{"event_action":"resolve","dedup_key":"k"}`,
		`{"event_action":"acknowledge","dedup_key":"k","payload":{"summary":"\u202e\u001b[2J","source":"x","severity":"info"}}`,
	} {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	db := bolttest.Open(f)
	clock := clocktest.New(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	svc := &workflows.Service{Store: db, Config: workflows.DefaultConfig(), Now: clock.Now}
	rules, err := alerts.ParseRules(`declare: severity="critical"; suggest: severity="error"; signal:`)
	if err != nil {
		f.Fatal(err)
	}
	h := &alerts.Handler{Service: svc, Token: "tok", Rules: rules, Severities: alerts.DefaultSeverities, TagLabels: []string{"team"}, Now: clock.Now}
	mux := http.NewServeMux()
	h.Register(mux)
	f.Fuzz(func(t *testing.T, body string, alertmanager bool) {
		path := "/alerts/events"
		if alertmanager {
			path = "/alerts/alertmanager"
		}
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer tok")
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		switch c := rec.Code; {
		case c >= 200 && c < 300:
		case c == http.StatusBadRequest && rec.Body.Len() > 0:
		case c == http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("POST %s %q = %d %q, want 2xx, 400 with a reason, or 413", path, body, c, rec.Body)
		}
	})
}
