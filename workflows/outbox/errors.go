package outbox

import (
	"fmt"
	"time"
)

// RetryAfterError says the far side asked us to wait (HTTP 429 with
// Retry-After, Discord's retry_after). The outbox waits exactly that long.
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("retry after %s: %v", e.After, e.Err)
}

func (e *RetryAfterError) Unwrap() error { return e.Err }

// PermanentError marks a failure that retrying cannot fix (the channel was
// deleted, the bot was removed). The effect is dropped, and the drop is
// recorded in the incident's timeline so that nothing vanishes silently.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Curve is an exponential backoff: the step doubles from First after each
// failed attempt up to Max, and the wait is drawn in [step/2, step) so that
// many clients failing together do not retry together. The outbox uses it
// for effects, the Discord gateway for reconnects: debrief retries one way.
type Curve struct {
	First, Max time.Duration
}

// Wait returns the wait after the given number of failed attempts (1 or
// more); j is in [0,1).
func (c Curve) Wait(attempts int, j float64) time.Duration {
	d := c.First
	for i := 1; i < attempts && d < c.Max; i++ {
		d *= 2
	}
	d = min(d, c.Max)
	return d/2 + time.Duration(j*float64(d/2))
}

// effects is the curve of effects that fail without a Retry-After: from
// 2 s to 10 min.
var effects = Curve{First: 2 * time.Second, Max: 10 * time.Minute}

// Backoff returns the wait of an effect after the given number of failed
// attempts, on the effects' curve; j is in [0,1).
func Backoff(attempts int, j float64) time.Duration { return effects.Wait(attempts, j) }
