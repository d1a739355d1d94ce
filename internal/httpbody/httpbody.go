// Package httpbody reads webhook request bodies under a size limit and a
// memory budget. The platforms' routes (Slack, Discord, GitHub) must refuse
// an oversized body with 413 before buffering it, whatever Content-Length
// claims, chunked bodies included; and since a body is read before its
// signature can be checked, anyone can make the process hold one: the
// bodies being read at once share one budget (Limiter), so that 200
// connections trickling unsigned megabytes cost at most the budget.
package httpbody

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// DefaultBudget is the bytes all unverified bodies being read at once may
// hold, process-wide (Default): 16 MiB, sixteen bodies at the largest
// limit (1 MiB), hundreds of the few-kilobyte requests the platforms send.
const DefaultBudget = 16 << 20

// DefaultWait is how long a read waits for room in the budget before it is
// refused with 503 and Retry-After: the platforms retry (Slack events,
// GitHub's redelivery) or the user sends the command again.
const DefaultWait = 2 * time.Second

// Default is the process-wide budget Read uses: one for every platform, so
// the bound holds however many platforms are on.
var Default = NewLimiter(DefaultBudget, DefaultWait)

// Limiter bounds the bytes of request bodies being read at once.
type Limiter struct {
	wait    time.Duration
	mu      sync.Mutex
	free    int64
	changed chan struct{} // closed and replaced when free grows
}

// NewLimiter returns a Limiter of total bytes whose reads wait at most
// wait for room.
func NewLimiter(total int64, wait time.Duration) *Limiter {
	return &Limiter{wait: wait, free: total, changed: make(chan struct{})}
}

// acquire takes n bytes of the budget, waiting until ctx is done.
func (l *Limiter) acquire(ctx context.Context, n int64) bool {
	for {
		l.mu.Lock()
		if l.free >= n {
			l.free -= n
			l.mu.Unlock()
			return true
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

func (l *Limiter) release(n int64) {
	l.mu.Lock()
	l.free += n
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

// Read is Default.Read.
func Read(w http.ResponseWriter, r *http.Request, max int64) (body []byte, ok bool) {
	return Default.Read(w, r, max)
}

// Read returns r's body, at most max bytes. The bytes it may hold (the
// declared Content-Length, else max) are reserved in the budget while it
// reads; when there is no room within the Limiter's wait, Read answers 503
// with Retry-After. When the body is larger than max, it answers 413; when
// it cannot be read, 400. In each case ok is false and the handler should
// return. The server's read timeouts bound how long a slow sender holds its
// reservation.
func (l *Limiter) Read(w http.ResponseWriter, r *http.Request, max int64) (body []byte, ok bool) {
	if r.ContentLength > max {
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return nil, false
	}
	need := max
	if r.ContentLength >= 0 {
		need = r.ContentLength // net/http stops the body there
	}
	ctx, cancel := context.WithTimeout(r.Context(), l.wait)
	got := l.acquire(ctx, need)
	cancel()
	if !got {
		w.Header().Set("Retry-After", strconv.Itoa(1))
		http.Error(w, "too many requests being read", http.StatusServiceUnavailable)
		return nil, false
	}
	defer l.release(need)
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
