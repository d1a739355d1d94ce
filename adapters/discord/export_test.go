package discord

import "context"

// WaitCatchUps waits until n catch-up passes are done in all.
func (d *Discord) WaitCatchUps(ctx context.Context, n int) error { return d.waitCatchUps(ctx, n) }

// CatchUps is how many catch-up passes are done.
func (d *Discord) CatchUps() int {
	d.catchups.mu.Lock()
	defer d.catchups.mu.Unlock()
	return d.catchups.passes
}

// SetWave sets how many messages the catch-up records at once, and
// returns what puts it back.
func SetWave(n int) (restore func()) {
	old := wave
	wave = n
	return func() { wave = old }
}
