package etcd

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Routing appends to one replica.
//
// Every append bumps its incident's Seq counter (see the package comment),
// so replicas appending to one incident at once conflict on it: the
// winner is the replica whose member is etcd's leader, the others retry,
// and their tail latency is the length of that queue (0.6 to 1.7 s at p99
// at 500 events a second, README "Running three replicas"). A Routed store
// sends its keyed appends to one replica instead (the leader, in cmd),
// over HTTP: there they join that replica's group commit, and only one
// process bumps the counters. Routing is an optimization, never a
// condition of correctness: the receiver appends as any replica would
// (the Txn's conditions still hold the dedupe key and the Seq), and when
// it cannot be reached in time the sender appends itself. Only appends
// with a dedupe key are sent, so that one whose answer is lost (the
// receiver paused, then resumed) and appended again by the sender is
// still stored once.

// RoutePath is where a replica serves the appends routed to it.
const RoutePath = "/cluster/append"

// routeTimeout bounds a routed append before the sender appends itself: an
// append commits in milliseconds, so this long means the receiver is gone
// or paused.
const routeTimeout = time.Second

// routeWindow is how old a routed request's timestamp may be: replicas'
// clocks must agree within it.
const routeWindow = time.Minute

// routeBodyLimit bounds a routed request (one timeline entry).
const routeBodyLimit = 1 << 20

var _ store.Store = (*Routed)(nil)

// Routed is a Store whose keyed appends are sent to the replica target
// names. It is safe for concurrent use.
type Routed struct {
	*Store
	target func() string
	secret []byte
	client *http.Client

	sent, fellBack atomic.Uint64
}

// Route returns s with its keyed appends sent to target(), the base URL of
// the replica that commits them ("" while this replica is that one, or no
// one is). Requests are signed with a secret kept in the cluster (created
// on first use), which only those who can read the cluster know: they
// could write the timeline directly anyway.
func (s *Store) Route(ctx context.Context, target func() string) (*Routed, error) {
	secret, err := s.routeSecret(ctx)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// At hundreds of appends a second, Go's default of 2 idle connections
	// per host would open a connection for nearly every one.
	tr.MaxIdleConnsPerHost = 256
	return &Routed{Store: s, target: target, secret: secret, client: &http.Client{Transport: tr}}, nil
}

// routeSecret reads the routing secret, creating it if there is none.
func (s *Store) routeSecret(ctx context.Context) ([]byte, error) {
	k := s.key("route", "secret")
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("store: etcd: route secret: %w", err)
	}
	mine := hex.EncodeToString(b)
	resp, err := s.cli.Txn(requireLeader(ctx)).
		If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).
		Then(clientv3.OpPut(k, mine)).
		Else(clientv3.OpGet(k)).
		Commit()
	if err != nil {
		return nil, fmt.Errorf("store: etcd: route secret: %w", err)
	}
	if resp.Succeeded {
		return []byte(mine), nil
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) != 1 || len(kvs[0].Value) == 0 {
		return nil, fmt.Errorf("store: etcd: route secret: %s is empty", k)
	}
	return kvs[0].Value, nil
}

// Routed reports how many appends were sent to another replica, and how
// many of those were appended here after all (the receiver unreachable or
// failing).
func (r *Routed) Routed() (sent, fellBack uint64) { return r.sent.Load(), r.fellBack.Load() }

// routedAppend is a routed request's body; the dedupe key travels beside
// the event, whose JSON leaves it out.
type routedAppend struct {
	Event     bot.TimelineEvent `json:"event"`
	DedupeKey string            `json:"dedupe_key"`
}

// routedAnswer is the receiver's answer: the stored entry, or the
// coded error (bot.Error) that Append returned.
type routedAnswer struct {
	Event   bot.TimelineEvent `json:"event"`
	Dup     bool              `json:"dup"`
	Code    string            `json:"code,omitempty"`
	Message string            `json:"message,omitempty"`
}

// Append sends ev to the target replica when it has a dedupe key and there
// is one, and appends it here otherwise, or when the target does not
// answer within routeTimeout, or answers with anything but the entry or a
// coded error. It returns once etcd has committed, as Store.Append does.
func (r *Routed) Append(ctx context.Context, ev bot.TimelineEvent) (bot.TimelineEvent, bool, error) {
	to := ""
	if ev.DedupeKey != "" {
		to = r.target()
	}
	if to == "" {
		return r.Store.Append(ctx, ev)
	}
	r.sent.Add(1)
	stored, dup, ok, err := r.send(ctx, to, ev)
	if ok {
		return stored, dup, err
	}
	if err := ctx.Err(); err != nil {
		return bot.TimelineEvent{}, false, err
	}
	r.fellBack.Add(1)
	return r.Store.Append(ctx, ev)
}

// send makes the routed request; ok is false when the answer says nothing
// about the entry (no answer, or the receiver could not commit).
func (r *Routed) send(ctx context.Context, to string, ev bot.TimelineEvent) (stored bot.TimelineEvent, dup, ok bool, err error) {
	body, err := json.Marshal(routedAppend{Event: ev, DedupeKey: ev.DedupeKey})
	if err != nil {
		return bot.TimelineEvent{}, false, true, fmt.Errorf("store: etcd: route append: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, routeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, to+RoutePath, bytes.NewReader(body))
	if err != nil {
		return bot.TimelineEvent{}, false, false, nil
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Debrief-Route-Timestamp", ts)
	req.Header.Set("X-Debrief-Route-Signature", routeSignature(r.secret, ts, body))
	resp, err := r.client.Do(req)
	if err != nil {
		return bot.TimelineEvent{}, false, false, nil
	}
	defer func() { _ = resp.Body.Close() }()
	var a routedAnswer
	if err := json.NewDecoder(io.LimitReader(resp.Body, routeBodyLimit)).Decode(&a); err != nil {
		return bot.TimelineEvent{}, false, false, nil
	}
	switch resp.StatusCode {
	case http.StatusOK:
		a.Event.DedupeKey = ev.DedupeKey
		return a.Event, a.Dup, true, nil
	case http.StatusUnprocessableEntity:
		return bot.TimelineEvent{}, false, true, bot.Errorf(a.Code, "%s", a.Message)
	}
	return bot.TimelineEvent{}, false, false, nil
}

// routeSignature is hex HMAC-SHA256 of "<timestamp>:<body>" under secret.
func routeSignature(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{':'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Handler serves the appends routed to this replica (POST RoutePath): a
// request signed with the cluster's secret within routeWindow, whose event
// has a dedupe key, is appended here (never routed on) and answered with
// the stored entry (200), or the coded error Append returned (422), or 503
// when it could not be committed; anything else is refused (401, 400, 405,
// 413) and changes nothing. A replayed request is a redelivery: stored
// once.
func (r *Routed) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, routeBodyLimit))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		ts := req.Header.Get("X-Debrief-Route-Timestamp")
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || time.Since(time.Unix(sec, 0)).Abs() > routeWindow {
			http.Error(w, "missing or stale timestamp", http.StatusUnauthorized)
			return
		}
		want := routeSignature(r.secret, ts, body)
		if !hmac.Equal([]byte(want), []byte(req.Header.Get("X-Debrief-Route-Signature"))) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var in routedAppend
		if err := json.Unmarshal(body, &in); err != nil || in.DedupeKey == "" {
			http.Error(w, "want {event, dedupe_key}", http.StatusBadRequest)
			return
		}
		in.Event.DedupeKey = in.DedupeKey
		stored, dup, err := r.Store.Append(req.Context(), in.Event)
		a := routedAnswer{Event: stored, Dup: dup}
		status := http.StatusOK
		if err != nil {
			var be *bot.Error
			if errors.As(err, &be) {
				a, status = routedAnswer{Code: be.Code, Message: be.Message}, http.StatusUnprocessableEntity
			} else {
				a, status = routedAnswer{Code: bot.EINTERNAL, Message: "append failed"}, http.StatusServiceUnavailable
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(a)
	})
}
