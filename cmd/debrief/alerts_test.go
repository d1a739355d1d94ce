package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const alertToken = "al3rt"

// accepted records how long each alert request took to answer, for the
// figures TestAlertsBinary reports.
var accepted struct {
	sync.Mutex
	took []time.Duration
}

// post sends body to url with the bearer token, if any.
func post(t *testing.T, url, token string, body []byte) (int, string) {
	t.Helper()
	start := time.Now()
	defer func() {
		accepted.Lock()
		accepted.took = append(accepted.took, time.Since(start))
		accepted.Unlock()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// amAlert is one alert of an Alertmanager webhook, as version 4 writes it.
type amAlert struct {
	name, sev, instance, status, summary string
	starts, ends                         time.Time
}

// amPayload renders an Alertmanager webhook notification (version 4).
func amPayload(groupKey string, truncated int, alerts ...amAlert) []byte {
	status := "resolved"
	var as []map[string]any
	for _, a := range alerts {
		if a.status == "firing" {
			status = "firing"
		}
		ends := "0001-01-01T00:00:00Z"
		if !a.ends.IsZero() {
			ends = a.ends.Format(time.RFC3339Nano)
		}
		as = append(as, map[string]any{
			"status":       a.status,
			"labels":       map[string]string{"alertname": a.name, "severity": a.sev, "instance": a.instance, "team": "db"},
			"annotations":  map[string]string{"summary": a.summary},
			"startsAt":     a.starts.Format(time.RFC3339Nano),
			"endsAt":       ends,
			"generatorURL": "http://prometheus.example/graph?g0.expr=" + a.name,
			"fingerprint":  fmt.Sprintf("%x", a.name+a.instance),
		})
	}
	b, _ := json.Marshal(map[string]any{
		"version": "4", "groupKey": groupKey, "truncatedAlerts": truncated, "status": status, "receiver": "debrief",
		"groupLabels": map[string]string{"team": "db"}, "commonLabels": map[string]string{"team": "db"},
		"commonAnnotations": map[string]string{}, "externalURL": "http://alertmanager.example", "alerts": as,
	})
	return b
}

type alertResp struct {
	Incident  string `json:"incident"`
	Group     string `json:"group"`
	Action    string `json:"action"`
	Duplicate bool   `json:"duplicate"`
	DedupKey  string `json:"dedup_key"`
}

func decodeResp(t *testing.T, what string, status int, body string, wantStatus int) alertResp {
	t.Helper()
	var r alertResp
	if status != wantStatus || json.Unmarshal([]byte(body), &r) != nil {
		t.Fatalf("%s = %d %s, want %d", what, status, body, wantStatus)
	}
	return r
}

// TestAlertsBinary posts real-shaped Alertmanager notifications and an
// Events v2 pair to the built binary and checks incidents, timelines,
// start and detect times, and that nothing is stored twice.
func TestAlertsBinary(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		"DEBRIEF_DB": filepath.Join(dir, "debrief.db"), "DEBRIEF_ADDR": "127.0.0.1:0",
		"DEBRIEF_API_TOKEN": token, "USER": "alice", "DEBRIEF_ALERT_TOKEN": alertToken,
		"DEBRIEF_ALERT_RULES":      `declare: severity="critical"; suggest: severity="error", team=~"db|storage"; signal: severity=~"warning|info"`,
		"DEBRIEF_ALERT_TAG_LABELS": "team",
	}
	p := startProc(t, env)
	base := "http://" + p.stderr.match(t, listenRe)
	am, ev := base+"/alerts/alertmanager", base+"/alerts/events"

	// Bad input changes nothing.
	firing := amPayload(`{}:{team="db"}`, 0, amAlert{name: "HighErrorRate", sev: "critical", instance: "api-1", status: "firing",
		summary: "5xx above 5%", starts: time.Now().Add(-7 * time.Minute).Truncate(time.Second)})
	for _, c := range []struct {
		what, url, token string
		body             []byte
		want             int
	}{
		{"no token", am, "", firing, 401},
		{"wrong token", am, "nope", firing, 401},
		{"oversized", am, alertToken, bytes.Repeat([]byte(" "), 1<<20+1), 413},
		{"malformed", am, alertToken, []byte(`{"groupKey": `), 400},
		{"no groupKey", am, alertToken, []byte(`{"version":"4","alerts":[]}`), 400},
		{"unknown event_action", ev, alertToken, []byte(`{"event_action":"explode","dedup_key":"x"}`), 400},
		{"trigger without summary", ev, alertToken, []byte(`{"event_action":"trigger","payload":{"source":"x","severity":"critical"}}`), 400},
	} {
		if status, body := post(t, c.url, c.token, c.body); status != c.want {
			t.Errorf("%s = %d %s, want %d", c.what, status, body, c.want)
		}
	}
	if status, body := get(t, base+"/api/incidents", token); status != 200 || strings.Contains(body, "INC-") {
		t.Fatalf("after bad input, incidents = %d %s; want none", status, body)
	}

	// 1. Firing: a critical alert declares INC-1.
	sent := time.Now()
	status, body := post(t, am, alertToken, firing)
	r := decodeResp(t, "firing", status, body, 200)
	if r.Incident != "INC-1" || r.Action != "declare" || r.Duplicate {
		t.Fatalf("firing = %+v, want INC-1 declared", r)
	}
	p.stdout.expect(t, "[#inc-1-5xx-above-5] debrief: INC-1: 5xx above 5%")
	// 2. A redelivery: stored once.
	status, body = post(t, am, alertToken, firing)
	if r := decodeResp(t, "redelivery", status, body, 200); !r.Duplicate || r.Incident != "INC-1" {
		t.Errorf("redelivery = %+v, want a duplicate of INC-1", r)
	}
	// 3. A repeat (the same alert, its annotation refreshed): noted.
	a1 := amAlert{name: "HighErrorRate", sev: "critical", instance: "api-1", status: "firing", summary: "5xx above 6%",
		starts: time.Now().Add(-7 * time.Minute).Truncate(time.Second)}
	a1.starts = mustStart(t, firing)
	post(t, am, alertToken, amPayload(`{}:{team="db"}`, 0, a1))
	// 4. A second alert joins the group.
	a2 := amAlert{name: "HighLatency", sev: "critical", instance: "api-2", status: "firing", summary: "p99 above 2s", starts: a1.starts.Add(time.Minute)}
	post(t, am, alertToken, amPayload(`{}:{team="db"}`, 0, a1, a2))
	// 5. Partial resolve, 6. full resolve (and its redelivery).
	r1 := a1
	r1.status, r1.ends = "resolved", time.Now().Truncate(time.Second)
	post(t, am, alertToken, amPayload(`{}:{team="db"}`, 0, r1, a2))
	r2 := a2
	r2.status, r2.ends = "resolved", time.Now().Truncate(time.Second)
	full := amPayload(`{}:{team="db"}`, 0, r1, r2)
	post(t, am, alertToken, full)
	if status, body := post(t, am, alertToken, full); !strings.Contains(body, `"duplicate":true`) {
		t.Errorf("full resolve redelivered = %d %s, want a duplicate", status, body)
	}
	p.stdout.expect(t, "have resolved. If the impact is contained too: /incident mitigate")

	// 7. A truncated group of errors is suggested, and declared by hand.
	errStart := time.Now().Add(-3 * time.Minute).Truncate(time.Second)
	status, body = post(t, am, alertToken, amPayload(`{}:{team="storage"}`, 5,
		amAlert{name: "DiskFilling", sev: "error", instance: "db-3", status: "firing", summary: "disk 91% on db-3", starts: errStart}))
	sg := decodeResp(t, "suggest", status, body, 200)
	if sg.Action != "suggest" || sg.Incident != "" {
		t.Fatalf("error alert = %+v, want a suggestion", sg)
	}
	p.stdout.expect(t, "Declare: /incident declare --from "+sg.Group)
	p.send(t, "/incident declare --from "+sg.Group)
	p.stdout.expect(t, "Declared INC-2: disk 91% on db-3 (SEV2)")

	// 8. Events v2: trigger, its redelivery, resolve.
	evStart := time.Now().Add(-2 * time.Minute).UTC().Truncate(time.Second)
	trigger := fmt.Appendf(nil, `{"routing_key":"r","event_action":"trigger","dedup_key":"checkout-5xx","payload":{"summary":"Checkout 5xx","source":"lb-1","severity":"critical","timestamp":%q,"custom_details":{"rate":"7%%"}},"links":[{"href":"http://grafana.example/d/1","text":"dashboard"}]}`, evStart.Format(time.RFC3339))
	status, body = post(t, ev, alertToken, trigger)
	if r := decodeResp(t, "trigger", status, body, 202); r.Incident != "INC-3" || r.DedupKey != "checkout-5xx" {
		t.Fatalf("trigger = %+v, want INC-3", r)
	}
	status, body = post(t, ev, alertToken, trigger)
	if r := decodeResp(t, "trigger again", status, body, 202); !r.Duplicate {
		t.Errorf("trigger redelivered = %+v, want a duplicate", r)
	}
	status, body = post(t, ev, alertToken, []byte(`{"routing_key":"r","event_action":"resolve","dedup_key":"checkout-5xx"}`))
	decodeResp(t, "resolve", status, body, 202)

	// 9. A warning is only a signal; 10. a near miss from the console.
	for i := range 3 {
		post(t, am, alertToken, amPayload(`{}:{team="web"}`, 0, amAlert{name: "HighDiskUsage", sev: "warning", instance: "db-3",
			status: "firing", summary: "disk 80%", starts: time.Now().Add(time.Duration(-60+i) * time.Minute).Truncate(time.Second)}))
	}
	p.send(t, "/incident nearmiss the deploy script almost ran against prod #deploy")
	p.stdout.expect(t, "Recorded near miss NM-1.")

	// The incidents, their times, their timelines.
	var list struct {
		Incidents []struct {
			ID         string    `json:"id"`
			StartedAt  time.Time `json:"started_at"`
			DetectedAt time.Time `json:"detected_at"`
			DeclaredAt time.Time `json:"declared_at"`
			Tags       []string  `json:"tags"`
		} `json:"incidents"`
	}
	status, body = get(t, base+"/api/incidents", token)
	if err := json.Unmarshal([]byte(body), &list); err != nil || len(list.Incidents) != 3 {
		t.Fatalf("incidents = %d %s, want 3", status, body)
	}
	inc1, inc2, inc3 := list.Incidents[0], list.Incidents[1], list.Incidents[2]
	if !inc1.StartedAt.Equal(a1.starts) || inc1.DetectedAt.Before(sent.Add(-time.Second)) || inc1.DetectedAt.After(time.Now()) {
		t.Errorf("INC-1 started %v detected %v; want the alert's startsAt %v and its arrival", inc1.StartedAt, inc1.DetectedAt, a1.starts)
	}
	if !inc2.StartedAt.Equal(errStart) || !inc2.DeclaredAt.After(inc2.DetectedAt) || len(inc2.Tags) != 1 || inc2.Tags[0] != "db" {
		t.Errorf("INC-2 = %+v; want started at %v, declared after detected, tagged db (its team label)", inc2, errStart)
	}
	if !inc3.StartedAt.Equal(evStart) {
		t.Errorf("INC-3 started %v, want the event's timestamp %v", inc3.StartedAt, evStart)
	}
	for _, inc := range list.Incidents {
		t.Logf("%s: time undetected (MTTD) %s, detected to declared %s", inc.ID,
			inc.DetectedAt.Sub(inc.StartedAt).Round(time.Millisecond), inc.DeclaredAt.Sub(inc.DetectedAt).Round(time.Millisecond))
	}

	tl, _ := apiTimeline(t, base, "INC-1", token)
	var got []string
	seen := map[string]bool{}
	for _, e := range tl.Entries {
		if e.Author.ID != "alertmanager" || e.Kind != "bot_action" {
			continue
		}
		text, _, _ := strings.Cut(e.Text, " (http")
		got = append(got, text)
		if seen[e.Text] && !strings.Contains(e.Text, "repeat") {
			t.Errorf("INC-1 entry %q twice", e.Text)
		}
		seen[e.Text] = true
	}
	want := []string{
		"alert firing: HighErrorRate — 5xx above 5%",
		"alert still firing: 1 of " + groupOf(tl) + "'s alerts (repeat)",
		"alert firing: HighLatency — p99 above 2s",
		"alert resolved: HighErrorRate — 5xx above 6%",
		"alert resolved: HighLatency — p99 above 2s",
		"all alerts resolved",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("INC-1 alert entries =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	tl3, body3 := apiTimeline(t, base, "INC-3", token)
	if !strings.Contains(body3, "alert firing: Checkout 5xx (http://grafana.example/d/1)") || !strings.Contains(body3, "alert resolved: Checkout 5xx") {
		t.Errorf("INC-3 timeline lacks the trigger or the resolve:\n%s", body3)
	}
	t.Logf("timeline entries: INC-1 %d, INC-3 %d", len(tl.Entries), len(tl3.Entries))
	accepted.Lock()
	took := slices.Clone(accepted.took)
	accepted.Unlock()
	slices.Sort(took)
	t.Logf("%d alert requests (bad input included): median %s, slowest %s", len(took), took[len(took)/2].Round(time.Microsecond), took[len(took)-1].Round(time.Microsecond))

	status, body = get(t, base+"/api/signals", token)
	if status != 200 || !strings.Contains(body, `"name":"HighDiskUsage"`) || !strings.Contains(body, `"count":3`) {
		t.Errorf("signals = %d %s, want HighDiskUsage counted 3 times", status, body)
	}
	status, body = get(t, base+"/api/nearmisses", token)
	if status != 200 || !strings.Contains(body, `"id":"NM-1"`) || !strings.Contains(body, `"deploy"`) {
		t.Errorf("near misses = %d %s, want NM-1 tagged deploy", status, body)
	}
	if status, _ := get(t, base+"/api/signals", ""); status != 401 {
		t.Errorf("signals without the API token = %d, want 401", status)
	}
	p.stdin.Close()
}

func groupOf(tl timelineJSON) string {
	for _, e := range tl.Entries {
		if _, after, ok := strings.Cut(e.Text, " of AL-"); ok {
			id, _, _ := strings.Cut(after, "'")
			return "AL-" + id
		}
	}
	return "AL-?"
}

func mustStart(t *testing.T, payload []byte) time.Time {
	t.Helper()
	var m struct {
		Alerts []struct {
			StartsAt time.Time `json:"startsAt"`
		} `json:"alerts"`
	}
	if err := json.Unmarshal(payload, &m); err != nil || len(m.Alerts) == 0 {
		t.Fatalf("payload: %v", err)
	}
	return m.Alerts[0].StartsAt
}

// TestAlertRuleRefused: a rule that does not parse stops debrief at start,
// naming the variable.
func TestAlertRuleRefused(t *testing.T) {
	env := map[string]string{
		"DEBRIEF_DB": filepath.Join(t.TempDir(), "debrief.db"), "DEBRIEF_ADDR": "127.0.0.1:0",
		"DEBRIEF_ALERT_TOKEN": alertToken, "DEBRIEF_ALERT_RULES": `declare: severity=~"crit`,
	}
	code, _, stderr := runBinary(t, env)
	if code == 0 || !strings.Contains(stderr, "DEBRIEF_ALERT_RULES") {
		t.Errorf("bad rule: exit %d, stderr %q; want non-zero naming DEBRIEF_ALERT_RULES", code, stderr)
	}
}
