package discord_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/discord"
	"github.com/debrief/debrief/store/bolt/bolttest"
)

// BenchmarkCatchUp measures the catch-up after a restart: 2,000 messages
// said while debrief was stopped, read back from the fake (20 pages) and
// recorded on a fsynced bbolt file, from the start of the component to
// the end of its catch-up. In the same run it measures the baseline: the
// same catch-up recording one message after the other (a wave of 1), as
// the gateway records live events. It reports both rates and their ratio
// (x_of_sequential).
//
//	go test -run xxx -bench CatchUp -benchtime 5x ./adapters/discord/
func BenchmarkCatchUp(b *testing.B) {
	const n = 2000
	run := func(b *testing.B, wave int) float64 {
		defer discord.SetWave(wave)()
		h, ch := declared(b, overGateway)
		var total time.Duration
		for i := 0; i < b.N; i++ {
			h.stop()
			path := h.db.Path()
			bolttest.Close(b, h.db)
			for j := range n {
				h.fake.PostQuietly(h.bob, ch, fmt.Sprintf("missed %d.%05d", i, j))
			}
			h.clock.Set(time.Now().Add(time.Hour))
			start := time.Now()
			h.boot(bolttest.OpenPath(b, path))
			if err := h.dc.WaitCatchUps(h.ctx, 1); err != nil {
				b.Fatal(err)
			}
			total += time.Since(start)
		}
		return float64(n*b.N) / total.Seconds()
	}
	var waves, sequential float64
	b.Run("sequential", func(b *testing.B) {
		sequential = run(b, 1)
		b.ReportMetric(sequential, "msgs/s")
	})
	b.Run("waves", func(b *testing.B) {
		waves = run(b, 64)
		b.ReportMetric(waves, "msgs/s")
		if sequential > 0 {
			b.ReportMetric(waves/sequential, "x_of_sequential")
		}
	})
}
