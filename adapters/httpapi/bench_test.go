package httpapi_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/httpapi"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/store/bolt/bolttest"
	"github.com/debrief/debrief/workflows"
)

// BenchmarkTimelinePageAllocs serves GET .../timeline?limit=1000 (the
// longest page) of a 1000-entry timeline and reports the allocations per
// entry: a long reader's garbage is collected on the CPU the event
// acknowledgements need (README, "Benchmarks").
func BenchmarkTimelinePageAllocs(b *testing.B) {
	const n = 1000
	db := bolttest.Open(b)
	ctx := context.Background()
	ch := bot.Channel{Platform: bot.Console, ID: "inc-1"}
	err := db.Update(ctx, func(tx store.Tx) error {
		inc := &bot.Incident{ID: "INC-1", Number: 1, Title: "Checkout is down", Severity: bot.SEV2,
			Status: bot.StatusInvestigating, Kind: bot.KindReal, Origin: ch, DeclaredBy: alice,
			DeclaredAt: t0, Channels: map[bot.Platform]string{bot.Console: ch.ID}}
		if err := tx.PutIncident(inc); err != nil {
			return err
		}
		for i := range n {
			at := t0.Add(time.Duration(i) * time.Second)
			if _, _, err := tx.AppendEvent(bot.TimelineEvent{
				IncidentID: "INC-1", Kind: bot.EventMessage, Author: []bot.User{alice, bob}[i%2],
				Text:      fmt.Sprintf("checked pool wait on payments-api pod %d: p99 %d ms, still climbing", i%40, i%997),
				MessageID: fmt.Sprintf("%d.%06d", at.Unix(), i), DedupeKey: fmt.Sprintf("console/inc-1/%012d", i),
				PlatformAt: at, RecordedAt: at,
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	(&httpapi.Server{Service: &workflows.Service{Store: db, Config: workflows.DefaultConfig()},
		Log: slog.New(slog.DiscardHandler)}).Register(mux)
	req := httptest.NewRequest(http.MethodGet, "/api/incidents/INC-1/timeline?limit=1000", nil)
	b.ReportAllocs()
	b.ResetTimer()
	var allocs float64
	for b.Loop() {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("GET = %d %s", w.Code, w.Body)
		}
	}
	b.StopTimer()
	allocs = testing.AllocsPerRun(3, func() { mux.ServeHTTP(httptest.NewRecorder(), req) })
	b.ReportMetric(allocs/n, "allocs/entry")
}
