package workflows

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// A long read's turn waits for the appends in flight: BulkRead returns
// only once the last one has ended, never before.
func TestBulkReadWaitsForAppends(t *testing.T) {
	s := &Service{}
	s.inflight.begin()
	s.inflight.begin()
	var ended atomic.Bool
	got := make(chan bool)
	go func() {
		done, err := s.BulkRead(context.Background())
		if err != nil {
			t.Error(err)
		}
		got <- ended.Load()
		done()
	}()
	s.inflight.end()
	ended.Store(true)
	s.inflight.end()
	if !<-got {
		t.Fatal("BulkRead began its turn while an append was in flight")
	}
	// Nothing in flight: a turn begins at once, and again after it ends.
	for range 2 {
		done, err := s.BulkRead(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		done()
	}
}

// Under appends that never let up, a reader waits, and still moves: it
// waits its bound and no longer.
func TestStepAsideIsBounded(t *testing.T) {
	var a appends
	a.begin()
	defer a.end()
	begin := time.Now()
	if err := a.settle(context.Background(), time.Millisecond); err != nil {
		t.Fatalf("settle = %v", err)
	}
	// A timer never fires early: a reader that did not wait for the
	// append in flight returns sooner.
	if took := time.Since(begin); took < time.Millisecond {
		t.Errorf("settle returned after %s with an append in flight, want it to wait its bound", took)
	}
}

// A reader whose request ends stops waiting, says why, and gives its turn
// back.
func TestBulkReadCancelled(t *testing.T) {
	s := &Service{}
	s.inflight.begin()
	defer s.inflight.end()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.BulkRead(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("BulkRead = %v, want context.Canceled", err)
	}
	if n := len(s.bulk); n != 0 {
		t.Fatalf("%d turns still held after a cancelled BulkRead", n)
	}
}
