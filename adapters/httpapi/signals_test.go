package httpapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows"
)

// TestWeakSignals: GET /api/nearmisses and GET /api/signals, snake_case,
// behind the token; fired_30d counts the last 30 days only, declared says
// whether the alert ever became an incident.
func TestWeakSignals(t *testing.T) {
	f := newFixture(t, "tok")
	ctx := context.Background()
	general := bot.Channel{Platform: bot.Console, ID: "general"}
	if _, _, err := f.svc.RecordNearMiss(ctx, store.NearMiss{Text: "almost dropped the prod table", Tags: []string{"db"}, Reporter: alice, Channel: general,
		Source: "console/general/7"}); err != nil {
		t.Fatal(err)
	}
	old := f.svc.Now().Add(-40 * 24 * time.Hour)
	for _, at := range []time.Time{old, f.svc.Now(), f.svc.Now().Add(time.Minute)} {
		if _, err := f.svc.Alerts(ctx, workflows.AlertNotice{Source: "alertmanager", Key: "g", Alerts: []workflows.Alert{{
			Fingerprint: "f", Name: "HighDiskUsage", Labels: map[string]string{"alertname": "HighDiskUsage", "instance": "db-3"},
			Firing: true, StartsAt: at, Action: workflows.AlertSignal,
		}}}); err != nil {
			t.Fatal(err)
		}
	}
	// The first firing was counted 40 days ago: move its count back.
	err := f.svc.Store.Update(ctx, func(tx store.Tx) error {
		sigs, err := tx.Signals()
		if err != nil || len(sigs) != 1 {
			t.Fatalf("signals = %v, %v", sigs, err)
		}
		sigs[0].Fires[0] = old
		return tx.PutSignal(sigs[0])
	})
	if err != nil {
		t.Fatal(err)
	}

	nm := f.getJSON(t, "/api/nearmisses", "tok", 200)
	list, _ := nm["near_misses"].([]any)
	if len(list) != 1 {
		t.Fatalf("near_misses = %v", nm)
	}
	first := list[0].(map[string]any)
	if first["id"] != "NM-1" || first["text"] != "almost dropped the prod table" || first["source"] != nil || first["recorded_at"] == nil {
		t.Errorf("near miss = %v; want NM-1 with its text and time, no source", first)
	}
	sg := f.getJSON(t, "/api/signals", "tok", 200)
	sigs, _ := sg["signals"].([]any)
	if len(sigs) != 1 {
		t.Fatalf("signals = %v", sg)
	}
	s := sigs[0].(map[string]any)
	if s["name"] != "HighDiskUsage" || s["count"] != 3.0 || s["fired_30d"] != 2.0 || s["declared"] != false {
		t.Errorf("signal = %v; want HighDiskUsage, count 3, fired_30d 2, never declared", s)
	}
	for _, path := range []string{"/api/nearmisses", "/api/signals"} {
		if resp, body := f.get(t, path, "wrong"); resp.StatusCode != 401 || !strings.Contains(string(body), "unauthorized") {
			t.Errorf("GET %s with a wrong token = %d %s", path, resp.StatusCode, body)
		}
	}
}
