package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/debrief/debrief/adapters/console"
	"github.com/debrief/debrief/workflows"
)

// fakeComponent runs until stopped, or fails when told to; it notes when
// it was stopped in a log shared with the others.
type fakeComponent struct {
	name string
	fail chan error // Run returns what is sent here
	log  *stopLog
}

type stopLog struct {
	mu  sync.Mutex
	got []string
}

func (l *stopLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, s)
}

func (f *fakeComponent) Register(*http.ServeMux) {}
func (f *fakeComponent) Ready() error            { return nil }
func (f *fakeComponent) Run(ctx context.Context) error {
	select {
	case err := <-f.fail:
		f.log.add(f.name + " failed")
		return err
	case <-ctx.Done():
		f.log.add(f.name + " stopped")
		return nil
	}
}

// TestRunComponents: the intake stops first, then the components, last
// started first, each finished before the next is stopped; what ends the
// run is a cancelled context, a component's failure (returned), or the
// console's /quit (not an error). A component that ends early and fine
// leaves the others running.
func TestRunComponents(t *testing.T) {
	for _, tc := range []struct {
		name    string
		end     func(cancel context.CancelFunc, comps []*fakeComponent)
		wantErr error
		want    []string
	}{
		{"signal", func(cancel context.CancelFunc, _ []*fakeComponent) { cancel() }, nil,
			[]string{"intake stopped", "c stopped", "b stopped", "a stopped"}},
		{"failure", func(_ context.CancelFunc, c []*fakeComponent) { c[1].fail <- errBoom }, errBoom,
			[]string{"b failed", "intake stopped", "c stopped", "a stopped"}},
		{"quit", func(_ context.CancelFunc, c []*fakeComponent) { c[0].fail <- console.ErrQuit }, nil,
			[]string{"a failed", "intake stopped", "c stopped", "b stopped"}},
		{"early end", func(_ context.CancelFunc, c []*fakeComponent) {
			c[0].fail <- nil
			c[2].fail <- errBoom // proves the loop went on after a's end
		}, errBoom, []string{"a failed", "c failed", "intake stopped", "b stopped"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := &stopLog{}
			var fakes []*fakeComponent
			var comps []component
			for _, n := range []string{"a", "b", "c"} {
				f := &fakeComponent{name: n, fail: make(chan error), log: log}
				fakes, comps = append(fakes, f), append(comps, f)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				done <- runComponents(ctx, comps, func() <-chan error { return nil }, func() { log.add("intake stopped") },
					slog.New(slog.DiscardHandler))
			}()
			tc.end(cancel, fakes)
			if err := <-done; !errors.Is(err, tc.wantErr) {
				t.Errorf("runComponents = %v, want %v", err, tc.wantErr)
			}
			if !slices.Equal(log.got, tc.want) {
				t.Errorf("order = %q, want %q", log.got, tc.want)
			}
		})
	}
}

var errBoom = errors.New("boom")

// TestPlug: an adapter that is not configured returns a nil pointer, which
// must not become a non-nil component in the list.
func TestPlug(t *testing.T) {
	off := plug(func(context.Context, func(string) string, *workflows.Service, *slog.Logger) (*fakeComponent, error) {
		return nil, nil
	})
	if c, err := off(context.Background(), nil, nil, nil); c != nil || err != nil {
		t.Errorf("plug(off) = %v, %v; want nil, nil", c, err)
	}
	bad := plug(func(context.Context, func(string) string, *workflows.Service, *slog.Logger) (*fakeComponent, error) {
		return &fakeComponent{}, fmt.Errorf("X_TOKEN: refused")
	})
	if c, err := bad(context.Background(), nil, nil, nil); c != nil || err == nil {
		t.Errorf("plug(bad) = %v, %v; want nil and the error", c, err)
	}
}
