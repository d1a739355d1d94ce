// Package gameday calls the chaos tool of game days (README, "Game days"):
// debrief POSTs {"action":"inject"|"abort",...} to DEBRIEF_GAMEDAY_HOOK,
// signed with DEBRIEF_GAMEDAY_SECRET in the header
//
//	X-Debrief-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">
//
// the scheme Stripe's webhooks use: the receiver recomputes the MAC over
// the timestamp and the body, compares in constant time and refuses a
// timestamp too far from its clock, so that a captured request cannot be
// replayed later. X-Debrief-Delivery carries the effect's key, which is
// the same on every attempt, for receivers that want to tell a retry.
//
// gamedaytest is a fake chaos tool that checks the signature the way the
// README documents it.
package gameday

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/debrief/debrief/workflows"
)

// The headers of a hook request.
const (
	SignatureHeader = "X-Debrief-Signature"
	DeliveryHeader  = "X-Debrief-Delivery"
)

// DefaultTimeout bounds one call: a drill waits for its chaos tool no
// longer than this, and an inject that got no answer is not sent again.
const DefaultTimeout = 10 * time.Second

// maxAnswer is how much of the tool's answer is read and recorded.
const maxAnswer = 4 << 10

// Hook is the chaos tool's endpoint. It implements workflows.Hook.
type Hook struct {
	// URL is DEBRIEF_GAMEDAY_HOOK; Secret is DEBRIEF_GAMEDAY_SECRET.
	URL    string
	Secret []byte
	// Client makes the calls; http.DefaultClient when nil. Timeout bounds
	// each (DefaultTimeout when zero).
	Client  *http.Client
	Timeout time.Duration
	// Now is the clock the signature's timestamp is read from.
	Now func() time.Time
}

var _ workflows.Hook = (*Hook)(nil)

// Sign returns the X-Debrief-Signature value of body sent at t with secret.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Call POSTs req, signed, and returns the tool's answer whatever its
// status. An error means there was none: it wraps workflows.ErrNotSent
// when the connection could not even be made.
func (h *Hook) Call(ctx context.Context, key string, req workflows.HookRequest) (workflows.HookAnswer, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return workflows.HookAnswer{}, fmt.Errorf("gameday hook: %w", err)
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return workflows.HookAnswer{}, fmt.Errorf("gameday hook: %w", err)
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", "debrief")
	r.Header.Set(SignatureHeader, Sign(h.Secret, now(), body))
	r.Header.Set(DeliveryHeader, key)
	client := h.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(r)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return workflows.HookAnswer{}, fmt.Errorf("gameday hook %s: %w: %v", redact(h.URL), workflows.ErrNotSent, op.Err)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return workflows.HookAnswer{}, fmt.Errorf("gameday hook %s: no answer within %s", redact(h.URL), timeout)
		}
		return workflows.HookAnswer{}, fmt.Errorf("gameday hook %s: %w", redact(h.URL), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return workflows.HookAnswer{}, fmt.Errorf("gameday hook %s: answer %d: %w", redact(h.URL), resp.StatusCode, err)
	}
	text := string(b)
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "?")
	}
	return workflows.HookAnswer{Status: resp.StatusCode, Body: text}, nil
}

// redact drops what the hook URL may carry that is a secret (user info,
// query), for errors that end up in the timeline.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(the hook URL)"
	}
	u.User, u.RawQuery = nil, ""
	return u.String()
}

// Component is the chaos hook in `debrief serve`: it only joins the
// Service (the calls are outbox effects); it has no routes and nothing
// to run.
type Component struct{}

// FromEnv reads DEBRIEF_GAMEDAY_HOOK and DEBRIEF_GAMEDAY_SECRET and returns
// nil when the hook is not set. A hook that is not an http(s) URL, or one
// without a secret, is an error naming the variable: an unsigned request
// to a tool that breaks things must not go out.
func FromEnv(_ context.Context, getenv func(string) string, svc *workflows.Service, log *slog.Logger) (*Component, error) {
	raw := strings.TrimSpace(getenv("DEBRIEF_GAMEDAY_HOOK"))
	secret := getenv("DEBRIEF_GAMEDAY_SECRET")
	if raw == "" {
		return nil, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("DEBRIEF_GAMEDAY_HOOK=%q: not an http(s) URL", redact(raw))
	}
	if secret == "" {
		return nil, errors.New("DEBRIEF_GAMEDAY_HOOK is set without DEBRIEF_GAMEDAY_SECRET: the chaos tool's requests must be signed")
	}
	svc.Hook = &Hook{URL: raw, Secret: []byte(secret), Now: svc.Now}
	if log != nil {
		log.Info("gameday hook enabled", "platform", "gameday-hook", "url", redact(raw))
	}
	return &Component{}, nil
}

// Register adds no routes: the hook is called, it does not call.
func (*Component) Register(*http.ServeMux) {}

// Run waits for ctx: the calls are the outbox's.
func (*Component) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// Ready is always nil: a chaos tool that is down fails a drill's
// injection, which the timeline records, and nothing else.
func (*Component) Ready() error { return nil }
