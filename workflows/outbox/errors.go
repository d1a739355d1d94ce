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

// Backoff bounds for effects that fail without a Retry-After.
const (
	backoffBase = 2 * time.Second
	backoffMax  = 10 * time.Minute
)

// Backoff returns the wait after the given number of failed attempts:
// exponential from 2 s, capped at 10 min, with jitter in [d/2, d) so that
// many clients failing together do not retry together. j is in [0,1). The
// outbox uses it for effects; the Discord gateway for reconnects.
func Backoff(attempts int, j float64) time.Duration {
	d := backoffBase
	for i := 1; i < attempts && d < backoffMax; i++ {
		d *= 2
	}
	d = min(d, backoffMax)
	return d/2 + time.Duration(j*float64(d/2))
}
