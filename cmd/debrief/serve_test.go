package main

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/debrief/debrief/workflows"
)

// orderLoop is a loop that records when its Run ends.
type orderLoop struct {
	name    string
	mu      *sync.Mutex
	stopped *[]string
	err     error
}

func (l orderLoop) Tick(context.Context, time.Time) (int, error) { return 0, nil }

func (l orderLoop) Run(ctx context.Context) error {
	if l.err != nil {
		return l.err
	}
	<-ctx.Done()
	l.mu.Lock()
	defer l.mu.Unlock()
	*l.stopped = append(*l.stopped, l.name)
	return nil
}

// TestWorkersStopInReverse: the loops stop last started first, each
// finished before the next is stopped, so the outbox (first in
// Service.Loops) stops last; a loop that fails leaves the others running.
func TestWorkersStopInReverse(t *testing.T) {
	var mu sync.Mutex
	var stopped []string
	var loops []workflows.NamedLoop
	for _, name := range []string{"outbox", "reminders", "broken", "digest"} {
		l := orderLoop{name: name, mu: &mu, stopped: &stopped}
		if name == "broken" {
			l.err = errors.New("bad schedule")
		}
		loops = append(loops, workflows.NamedLoop{Name: name, Loop: l})
	}
	stop := startWorkers(context.Background(), loops, slog.New(slog.DiscardHandler))
	stop()
	stop() // a second call does nothing
	if want := []string{"digest", "reminders", "outbox"}; !slices.Equal(stopped, want) {
		t.Errorf("stopped = %q, want %q", stopped, want)
	}
}
