package workflows

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// maxStepAside bounds how long a long read waits for the appends in flight
// to commit before it reads on: under a steady stream of appends with no
// gap between them, readers still move.
const maxStepAside = 10 * time.Millisecond

// appends counts Record's appends in flight, so that long reads can step
// aside while one commits. On a machine of two cores, a reader that keeps
// a core busy slows the commit's fsync itself (the filesystem's work needs
// a CPU too), not only the goroutines that wait for one: a reader that
// merely yields (runtime.Gosched) gives the CPU back to whoever is ready,
// but leaves no core idle for the kernel. A reader that waits, for a
// millisecond, until the acknowledgements in flight are done does (README,
// "Benchmarks": the ack p99 under readers).
type appends struct {
	mu sync.Mutex
	n  int
	// idle is closed when n drops to zero; nil while it is zero.
	idle chan struct{}
}

func (a *appends) begin() {
	a.mu.Lock()
	if a.n == 0 {
		a.idle = make(chan struct{})
	}
	a.n++
	a.mu.Unlock()
}

func (a *appends) end() {
	a.mu.Lock()
	a.n--
	if a.n == 0 {
		close(a.idle)
		a.idle = nil
	}
	a.mu.Unlock()
}

// settle waits until no append is in flight, at most max, or until ctx
// ends. With none in flight it only yields the CPU.
func (a *appends) settle(ctx context.Context, max time.Duration) error {
	a.mu.Lock()
	idle := a.idle
	a.mu.Unlock()
	if idle == nil {
		runtime.Gosched()
		return ctx.Err()
	}
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	case <-ctx.Done():
	}
	return ctx.Err()
}

// BulkRead waits for a turn to read and render one page of a long read
// (the API's timeline pages, the export, the write-up) and returns the
// function that ends it. There are GOMAXPROCS-1 turns (at least one): a
// long read is CPU work that can wait a moment, and on a machine of two
// cores, two of them side by side would leave no CPU to the event
// acknowledgements, which cannot. A turn is a page's, never a whole
// read's, so long reads take turns page by page. A turn begins once the
// appends in flight have committed (StepAside).
func (s *Service) BulkRead(ctx context.Context) (func(), error) {
	s.bulkOnce.Do(func() { s.bulk = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)-1)) })
	select {
	case s.bulk <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := s.StepAside(ctx); err != nil {
		<-s.bulk
		return nil, err
	}
	return func() { <-s.bulk }, nil
}

// StepAside is what a long read does between two steps of its work: it
// waits until the event appends in flight have committed, for at most
// maxStepAside, and otherwise yields the CPU. It returns ctx's error if
// ctx has ended.
func (s *Service) StepAside(ctx context.Context) error {
	return s.inflight.settle(ctx, maxStepAside)
}
