package httpapi_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/debrief/debrief/adapters/httpapi"
)

// TestHealthzReady: /healthz answers 503 with the reason while a component
// (a chat platform, the tracker) is not ready, and 200 again once it is.
func TestHealthzReady(t *testing.T) {
	f := newFixture(t, "secret")
	var down atomic.Bool
	down.Store(true)
	mux := http.NewServeMux()
	(&httpapi.Server{Service: f.svc, Ready: func() error {
		if down.Load() {
			return errors.New("slack: socket mode disconnected; reconnecting")
		}
		return nil
	}}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func() (int, string) {
		resp, err := http.Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := get(); status != http.StatusServiceUnavailable || !strings.Contains(body, "slack: socket mode disconnected") {
		t.Errorf("GET /healthz with a component down = %d %q, want 503 naming it", status, body)
	}
	down.Store(false)
	if status, body := get(); status != http.StatusOK || strings.TrimSpace(body) != `{"ready":true,"leader":true}` {
		t.Errorf("GET /healthz with every component ready = %d %q, want 200 ok", status, body)
	}
}
