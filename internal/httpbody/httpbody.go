// Package httpbody reads webhook request bodies under a size limit. The
// platforms' routes (Slack, Discord) must refuse an oversized body with 413
// before buffering it, whatever Content-Length claims, chunked bodies
// included.
package httpbody

import (
	"errors"
	"io"
	"net/http"
)

// Read returns r's body, at most max bytes. When the body is larger, Read
// answers 413; when it cannot be read, 400. In both cases ok is false and
// the handler should return.
func Read(w http.ResponseWriter, r *http.Request, max int64) (body []byte, ok bool) {
	if r.ContentLength > max {
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return nil, false
		}
		http.Error(w, "cannot read the request body", http.StatusBadRequest)
		return nil, false
	}
	return body, true
}
