// Package gamedaytest is a fake chaos tool for game days: an httptest
// server that checks each request's X-Debrief-Signature the way the README
// documents it (HMAC-SHA256 of "<t>.<body>" with the shared secret,
// compared in constant time, t within Tolerance of its clock), records the
// requests it accepted and answers as told (a status, or never).
package gamedaytest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Request is one request the tool accepted.
type Request struct {
	Action   string    `json:"action"`
	Drill    string    `json:"drill"`
	Title    string    `json:"title"`
	Fault    string    `json:"fault"`
	Target   string    `json:"target"`
	At       time.Time `json:"at"`
	Delivery string    `json:"-"`
}

// Tool is the fake chaos tool.
type Tool struct {
	*httptest.Server
	Secret []byte
	// Now is the receiver's clock; Tolerance how far a signature's
	// timestamp may be from it (5 minutes, Stripe's default).
	Now       func() time.Time
	Tolerance time.Duration

	mu       sync.Mutex
	requests []Request
	refused  []string
	status   int
	hang     chan struct{}
	changed  chan struct{} // closed and replaced at each accepted request
}

// New starts a tool that accepts requests signed with secret and answers
// 200. It is closed at the test's end.
func New(t interface {
	Cleanup(func())
}, secret string, now func() time.Time) *Tool {
	tl := &Tool{Secret: []byte(secret), Now: now, Tolerance: 5 * time.Minute, status: http.StatusOK, changed: make(chan struct{})}
	tl.Server = httptest.NewServer(http.HandlerFunc(tl.serve))
	t.Cleanup(func() {
		tl.mu.Lock()
		if tl.hang != nil {
			close(tl.hang)
			tl.hang = nil
		}
		tl.mu.Unlock()
		tl.Server.Close()
	})
	return tl
}

// Answer makes the tool answer status to what it accepts from now on.
func (tl *Tool) Answer(status int) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.status = status
}

// Hang makes the tool never answer (until the test ends).
func (tl *Tool) Hang() {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if tl.hang == nil {
		tl.hang = make(chan struct{})
	}
}

// Requests returns the requests accepted so far.
func (tl *Tool) Requests() []Request {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return append([]Request(nil), tl.requests...)
}

// Wait returns the accepted requests once there are at least n, or the
// context's error: for callers whose deliveries run on their own
// goroutine (serve's outbox).
func (tl *Tool) Wait(ctx context.Context, n int) ([]Request, error) {
	for {
		tl.mu.Lock()
		reqs, ch := append([]Request(nil), tl.requests...), tl.changed
		tl.mu.Unlock()
		if len(reqs) >= n {
			return reqs, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return reqs, fmt.Errorf("gamedaytest: %d requests, want %d: %w", len(reqs), n, ctx.Err())
		}
	}
}

// Refused returns why requests were refused (401), in order.
func (tl *Tool) Refused() []string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return append([]string(nil), tl.refused...)
}

func (tl *Tool) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := Verify(tl.Secret, r.Header.Get("X-Debrief-Signature"), body, tl.Now(), tl.Tolerance); err != nil {
		tl.mu.Lock()
		tl.refused = append(tl.refused, err.Error())
		tl.mu.Unlock()
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var req Request
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req.Delivery = r.Header.Get("X-Debrief-Delivery")
	tl.mu.Lock()
	tl.requests = append(tl.requests, req)
	close(tl.changed)
	tl.changed = make(chan struct{})
	status, hang := tl.status, tl.hang
	tl.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"status":%d,"experiment":"exp-%d"}`, status, len(tl.Requests()))
}

// Verify checks header (t=<unix>,v1=<hex>) against body with secret, as
// the README tells a receiver to: recompute HMAC-SHA256 over "<t>.<body>",
// compare in constant time, refuse a t more than tolerance from now.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs []string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	if ts == "" || len(sigs) == 0 {
		return errors.New("no signature")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("bad timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("timestamp %s is %s from now", ts, d)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "." + string(body)))
	want := mac.Sum(nil)
	for _, s := range sigs {
		got, err := hex.DecodeString(s)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("signature mismatch")
}
