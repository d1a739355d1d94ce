// Package clocktest is a settable clock for tests, in the spirit of
// tailscale's tstest.Clock: the code under test reads Now, the test moves
// time forward, and nothing sleeps waiting for a reminder or a backoff.
package clocktest

import (
	"sync"
	"time"
)

// Clock is safe for concurrent use: handlers read it while the test moves it.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a clock stopped at t.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time; pass it as the code's Now function.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t, backwards too.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock forward by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}
