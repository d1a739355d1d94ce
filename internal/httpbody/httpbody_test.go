package httpbody_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
