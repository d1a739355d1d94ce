// Package answer holds the one rule Slack and Discord share about answering
// a command: the platform waits 3 seconds for the response, then shows the
// user an error ("operation_timeout", "The application did not respond"),
// even when the command went on to succeed. OrDefer runs the command and
// either answers inline, when it is done within the budget, or
// acknowledges at once and delivers the answer when it is ready (Slack
// through response_url, Discord by editing its deferred response).
//
// It is its own package because both chat adapters need it and an adapter
// never imports another (each is a translator for one outside system), and
// it is not workflows' business: the application answers a command; how
// long a platform waits for the HTTP response is the transport's. It lives
// under internal/ because nothing outside debrief should depend on it. One
// job only: no other helper goes here.
package answer

import (
	"context"
	"errors"
	"time"
)

// Within is how long a command may run before its answer is deferred.
// Slack and Discord both give 3 seconds from the moment they sent the
// request; 2 s leaves one for the network and the write of the response.
const Within = 2 * time.Second

// Limit bounds a deferred command's work. The ways back to the user expire:
// Discord's interaction token after 15 minutes, Slack's response_url after
// 30; 10 minutes fits both with room for the delivery.
const Limit = 10 * time.Minute

// ErrTooLong is what Late receives when a deferred command was still
// running at Limit: its outcome is unknown to the user, who should check
// before running it again.
var ErrTooLong = errors.New("answer: the command took too long")

// Deadline is the budget of one platform. The zero value is Within and
// Limit on the real clock.
type Deadline struct {
	// Within is the budget for an inline answer; the package's Within
	// when zero.
	Within time.Duration
	// Limit bounds the work once deferred; the package's Limit when zero.
	Limit time.Duration
	// After is the clock of the budget, time.After when nil: tests pass
	// one they fire themselves instead of waiting 2 seconds.
	After func(time.Duration) <-chan time.Time
}

// Reply is how a platform answers: each function is called at most once,
// and either Inline, or Defer and then Late.
type Reply[R any] struct {
	// Inline sends the answer as the platform's response. ctx is the
	// work's context, which outlives the request. It returns what must
	// follow once the response reached the platform (the rest of a long
	// answer), or nil.
	Inline func(ctx context.Context, r R) (then func())
	// Defer acknowledges without the answer: Slack an empty 200, Discord
	// the deferred response (type 5, "debrief is thinking").
	Defer func()
	// Late delivers a deferred answer. err is ErrTooLong, and r the zero
	// value, when the work did not end within Limit.
	Late func(ctx context.Context, r R, err error)
}

// OrDefer runs work and answers through reply within the budget: Inline
// when work returns within d.Within, else Defer at once and Late when work
// returns. work runs with a context detached from ctx (a request that ends
// must not cut off a command whose answer is still owed) and bounded by
// d.Limit. OrDefer returns once the first answer (inline or deferral) has
// been given; what remains is returned as then, for the caller to run
// after its response has been flushed (the follow-up refers to it), or nil
// when nothing remains.
func OrDefer[R any](ctx context.Context, d Deadline, work func(ctx context.Context) R, reply Reply[R]) (then func()) {
	within, limit, after := d.Within, d.Limit, d.After
	if within <= 0 {
		within = Within
	}
	if limit <= 0 {
		limit = Limit
	}
	if after == nil {
		after = time.After
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), limit)
	done := make(chan R, 1)
	go func() { done <- work(wctx) }()
	select {
	case r := <-done:
		rest := reply.Inline(wctx, r)
		if rest == nil {
			cancel()
			return nil
		}
		return func() {
			defer cancel()
			rest()
		}
	case <-after(within):
	}
	reply.Defer()
	return func() {
		defer cancel()
		select {
		case r := <-done:
			reply.Late(wctx, r, nil)
		case <-wctx.Done():
			select {
			case r := <-done: // it made it after all
				reply.Late(context.WithoutCancel(wctx), r, nil)
				return
			default:
			}
			var zero R
			// The delivery needs a live context; its HTTP client bounds it.
			reply.Late(context.WithoutCancel(wctx), zero, ErrTooLong)
		}
	}
}
