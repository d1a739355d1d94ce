package httpbody_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/internal/httpbody"
)

func TestRead(t *testing.T) {
	const max = 16
	for _, c := range []struct {
		name    string
		body    io.Reader
		length  int64
		status  int
		wantOK  bool
		content string
	}{
		{"small", strings.NewReader("hello"), 5, http.StatusOK, true, "hello"},
		{"exactly max", strings.NewReader(strings.Repeat("x", max)), max, http.StatusOK, true, strings.Repeat("x", max)},
		{"declared too large", strings.NewReader("x"), max + 1, http.StatusRequestEntityTooLarge, false, ""},
		{"chunked too large", strings.NewReader(strings.Repeat("x", max+1)), -1, http.StatusRequestEntityTooLarge, false, ""},
		{"broken", io.MultiReader(strings.NewReader("x"), errReader{}), -1, http.StatusBadRequest, false, ""},
	} {
		r := httptest.NewRequest(http.MethodPost, "/", c.body)
		r.ContentLength = c.length
		w := httptest.NewRecorder()
		body, ok := httpbody.Read(w, r, max)
		if ok != c.wantOK || string(body) != c.content || w.Code != c.status {
			t.Errorf("%s: Read = %q, %v, status %d; want %q, %v, %d", c.name, body, ok, w.Code, c.content, c.wantOK, c.status)
		}
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

// TestLimiterBounds: while bodies being read hold the budget, another read
// waits, and is refused with 503 and Retry-After when no room comes within
// the wait; once a read ends, its bytes are free again. Without the bound,
// each slow unsigned body would hold its megabyte.
func TestLimiterBounds(t *testing.T) {
	const max = 1 << 10
	l := httpbody.NewLimiter(2*max, 50*time.Millisecond)
	// Two slow senders, each declaring max bytes, sending nothing yet.
	var holds []*io.PipeWriter
	done := make(chan bool, 2)
	for range 2 {
		pr, pw := io.Pipe()
		holds = append(holds, pw)
		r := httptest.NewRequest(http.MethodPost, "/", pr)
		r.ContentLength = max
		go func() {
			_, ok := l.Read(httptest.NewRecorder(), r, max)
			done <- ok
		}()
	}
	// Let both reserve.
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("x"))
		r.ContentLength = 1
		w := httptest.NewRecorder()
		if _, ok := l.Read(w, r, max); !ok {
			if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
				t.Fatalf("refused with %d, Retry-After %q; want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a third read got room while two full bodies held the budget")
		}
	}
	// One sender finishes: a small read gets room again.
	_, _ = holds[0].Write(make([]byte, max))
	_ = holds[0].Close()
	if !<-done {
		t.Fatal("the finished body was refused")
	}
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("hello"))
	r.ContentLength = 5
	if body, ok := l.Read(httptest.NewRecorder(), r, max); !ok || string(body) != "hello" {
		t.Errorf("after a release: %q, %v", body, ok)
	}
	_ = holds[1].CloseWithError(io.ErrUnexpectedEOF)
	<-done
}
