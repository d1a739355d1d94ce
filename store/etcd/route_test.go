package etcd_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/store/etcd"
)

// routedPair returns a receiver (appending itself) and a sender routing
// to it over HTTP, on one cluster, and the receiver's server.
func routedPair(t *testing.T) (recv, send *etcd.Routed, srv *httptest.Server) {
	t.Helper()
	ss := replicas(t, 2)
	var err error
	recv, err = ss[0].Route(context.Background(), func() string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	srv = httptest.NewServer(recv.Handler())
	t.Cleanup(srv.Close)
	send, err = ss[1].Route(context.Background(), func() string { return srv.URL })
	if err != nil {
		t.Fatal(err)
	}
	return recv, send, srv
}

func timelineOf(t *testing.T, s store.Store, id string) []bot.TimelineEvent {
	t.Helper()
	var evs []bot.TimelineEvent
	err := s.View(context.Background(), func(tx store.ReadTx) error {
		var err error
		evs, err = tx.Timeline(id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestRouted: appends sent from two replicas to the receiver are stored
// once each, numbered 1..N, and a redelivery through either replica
// returns the entry first stored.
func TestRouted(t *testing.T) {
	recv, send, _ := routedPair(t)
	inc := declare(t, recv.Store)
	ctx := context.Background()
	var wg sync.WaitGroup
	const each = 20
	for i, s := range []store.Store{recv, send} {
		wg.Go(func() {
			for k := range each {
				ev := bot.TimelineEvent{IncidentID: inc.ID, Kind: bot.EventMessage, Text: fmt.Sprintf("r%d %d", i, k),
					RecordedAt: t0.Add(time.Duration(k) * time.Second), DedupeKey: fmt.Sprintf("slack/C1/%d.%d", i, k)}
				if _, dup, err := s.Append(ctx, ev); err != nil || dup {
					t.Errorf("Append(%q) = dup %v, %v", ev.Text, dup, err)
				}
			}
		})
	}
	wg.Wait()
	sent, fellBack := send.Routed()
	if sent != each || fellBack != 0 {
		t.Errorf("Routed() = %d sent, %d fell back; want %d, 0", sent, fellBack, each)
	}
	evs := timelineOf(t, recv, inc.ID)
	if len(evs) != 2*each {
		t.Fatalf("timeline has %d entries, want %d", len(evs), 2*each)
	}
	seqs := map[uint64]bool{}
	for _, ev := range evs {
		seqs[ev.Seq] = true
	}
	for seq := uint64(1); seq <= 2*each; seq++ {
		if !seqs[seq] {
			t.Errorf("no entry has Seq %d", seq)
		}
	}
	// A redelivery of what the receiver stored, through the sender.
	again := bot.TimelineEvent{IncidentID: inc.ID, Kind: bot.EventMessage, Text: "r0 3", RecordedAt: t0.Add(time.Hour), DedupeKey: "slack/C1/0.3"}
	got, dup, err := send.Append(ctx, again)
	if err != nil || !dup || got.Text != "r0 3" || got.Seq == 0 || got.DedupeKey != again.DedupeKey {
		t.Errorf("redelivery through the sender = %+v dup %v, %v; want the stored entry, dup", got, dup, err)
	}
	// An unknown incident is the receiver's coded error, at the sender.
	_, _, err = send.Append(ctx, bot.TimelineEvent{IncidentID: "INC-99", Kind: bot.EventMessage, Text: "x", RecordedAt: t0, DedupeKey: "slack/C9/1"})
	if bot.ErrorCode(err) != bot.ENOTFOUND {
		t.Errorf("append to INC-99 through the sender: %v, want ENOTFOUND", err)
	}
	if _, fellBack := send.Routed(); fellBack != 0 {
		t.Errorf("%d appends fell back, want 0", fellBack)
	}
}

// TestRoutedFallsBack: with the receiver gone, or failing, the sender
// appends itself; an event without a dedupe key is never sent.
func TestRoutedFallsBack(t *testing.T) {
	recv, send, srv := routedPair(t)
	inc := declare(t, recv.Store)
	ctx := context.Background()
	if _, _, err := send.Append(ctx, bot.TimelineEvent{IncidentID: inc.ID, Kind: bot.EventNote, Text: "no key", RecordedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if sent, _ := send.Routed(); sent != 0 {
		t.Errorf("an event without a dedupe key was sent (%d)", sent)
	}
	srv.Close()
	if _, _, err := send.Append(ctx, bot.TimelineEvent{IncidentID: inc.ID, Kind: bot.EventMessage, Text: "receiver gone", RecordedAt: t0, DedupeKey: "k1"}); err != nil {
		t.Fatal(err)
	}
	if sent, fellBack := send.Routed(); sent != 1 || fellBack != 1 {
		t.Errorf("Routed() = %d sent, %d fell back; want 1, 1", sent, fellBack)
	}
	if evs := timelineOf(t, recv, inc.ID); len(evs) != 2 || evs[1].Text != "receiver gone" {
		t.Errorf("timeline = %+v, want the note and the message", evs)
	}
}

// TestRouteRefused: requests that are not signed with the cluster's
// secret, stale, malformed, oversized or not POSTs are refused and store
// nothing.
func TestRouteRefused(t *testing.T) {
	recv, _, srv := routedPair(t)
	inc := declare(t, recv.Store)
	body := fmt.Sprintf(`{"event":{"incident_id":%q,"kind":"message","text":"forged","at":"2026-03-01T10:00:00Z"},"dedupe_key":"k"}`, inc.ID)
	now := strconv.FormatInt(time.Now().Unix(), 10)
	stale := strconv.FormatInt(time.Now().Add(-2*time.Minute).Unix(), 10)
	for _, c := range []struct {
		name, method, body, ts, sig string
		want                        int
	}{
		{"unsigned", "POST", body, now, "", http.StatusUnauthorized},
		{"wrong signature", "POST", body, now, strings.Repeat("ab", 32), http.StatusUnauthorized},
		{"no timestamp", "POST", body, "", strings.Repeat("ab", 32), http.StatusUnauthorized},
		{"stale", "POST", body, stale, strings.Repeat("ab", 32), http.StatusUnauthorized},
		{"GET", "GET", "", now, "", http.StatusMethodNotAllowed},
		{"oversized", "POST", strings.Repeat(" ", 2<<20), now, "", http.StatusRequestEntityTooLarge},
	} {
		req, err := http.NewRequest(c.method, srv.URL+etcd.RoutePath, bytes.NewReader([]byte(c.body)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Debrief-Route-Timestamp", c.ts)
		req.Header.Set("X-Debrief-Route-Signature", c.sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: %d, want %d", c.name, resp.StatusCode, c.want)
		}
	}
	if evs := timelineOf(t, recv, inc.ID); len(evs) != 0 {
		t.Errorf("refused requests stored %+v", evs)
	}
}
