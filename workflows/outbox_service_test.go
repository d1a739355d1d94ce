package workflows_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

// TestOutboxRetriesWithBackoff fails the platform three times, then lets it
// succeed, restarting the process in the middle: the channel is created
// once, and nothing is attempted before its backoff has passed.
func TestOutboxRetriesWithBackoff(t *testing.T) {
	e := newEnv(t)
	e.chat.failNext(3, errors.New("HTTP 500"))
	e.run(alice, general, "declare Payments flapping sev1")

	var waits []time.Duration
	for attempt := 1; attempt <= 3; attempt++ {
		if n, err := e.svc.Outbox().Tick(context.Background(), e.clock.Now()); err != nil || n != 0 {
			t.Fatalf("pass %d: delivered %d, err %v; want 0 while failing", attempt, n, err)
		}
		eff := e.effects()
		if len(eff) != 4 { // create, invite, topic, post
			t.Fatalf("outbox has %d effects, want 4: %+v", len(eff), eff)
		}
		create := eff[0]
		if create.Kind != (workflows.CreateChannel{}).EffectKind() || create.Attempts != attempt || create.LastError != "HTTP 500" {
			t.Fatalf("after attempt %d: %+v", attempt, create)
		}
		wait := create.NextAt.Sub(e.clock.Now())
		waits = append(waits, wait)
		// Not due yet: a pass just before NextAt attempts nothing.
		e.clock.Advance(wait - time.Millisecond)
		before := len(e.chat.Calls())
		if _, err := e.svc.Outbox().Tick(context.Background(), e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if after := len(e.chat.Calls()); after != before {
			t.Fatalf("attempted before the backoff passed: %q", e.chat.Calls()[before:])
		}
		e.clock.Advance(time.Millisecond)
		if attempt == 2 {
			e.restart()
		}
	}
	// Rand is fixed at 0.5: waits are 3/4 of 2s, 4s, 8s.
	if want := []time.Duration{1500 * time.Millisecond, 3 * time.Second, 6 * time.Second}; !reflect.DeepEqual(waits, want) {
		t.Errorf("waits = %v, want %v", waits, want)
	}
	e.deliver()
	if got := e.chat.succeeded(); len(got) != 5 || got[0] != "create inc-1-payments-flapping" {
		t.Errorf("calls after recovery = %q", got)
	}
	creates := 0
	for _, c := range e.chat.succeeded() {
		if strings.HasPrefix(c, "create ") {
			creates++
		}
	}
	if creates != 1 {
		t.Errorf("channel created %d times, want once", creates)
	}
	if n := len(e.effects()); n != 0 {
		t.Errorf("%d effects left", n)
	}
}

func TestOutboxRetryAfter(t *testing.T) {
	e := newEnv(t)
	_, ch := e.declare("Rate limited")
	e.chat.failNext(1, &workflows.RetryAfterError{After: 42 * time.Second, Err: errors.New("429")})
	e.run(alice, ch, "status still looking")
	e.deliver()
	eff := e.effects()
	if len(eff) != 1 || eff[0].NextAt.Sub(e.clock.Now()) != 42*time.Second {
		t.Fatalf("after 429: %+v, want one effect due in exactly 42s", eff)
	}
	e.clock.Advance(41 * time.Second)
	e.deliver()
	if len(e.effects()) != 1 {
		t.Fatal("delivered before Retry-After passed")
	}
	e.clock.Advance(time.Second)
	e.deliver()
	if len(e.effects()) != 0 {
		t.Fatal("not delivered after Retry-After")
	}
}

// TestOutboxKeepsChannelOrder checks that a failing effect holds back the
// later effects of the same channel but not those of another.
func TestOutboxKeepsChannelOrder(t *testing.T) {
	e := newEnv(t)
	_, ch1 := e.declare("First")
	_, ch2 := e.declare("Second")
	base := len(e.chat.Calls())
	e.run(alice, ch1, "status one")
	e.run(alice, ch1, "sev 2")
	e.run(alice, ch2, "status two")
	e.chat.failNext(1, errors.New("boom"))
	e.deliver()
	got := e.chat.Calls()[base:]
	want := []string{
		"FAILED topic " + ch1.ID + " INC-1 | SEV3 | investigating | IC @alice | one",
		"topic " + ch2.ID + " INC-2 | SEV3 | investigating | IC @alice | two",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("calls:\n got %q\nwant %q", got, want)
	}
	e.clock.Advance(time.Minute)
	e.deliver()
	got = e.chat.Calls()[base+2:]
	want = []string{
		"topic " + ch1.ID + " INC-1 | SEV3 | investigating | IC @alice | one",
		"topic " + ch1.ID + " INC-1 | SEV2 | investigating | IC @alice | one",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("calls after retry:\n got %q\nwant %q", got, want)
	}
}

func TestOutboxPermanentFailure(t *testing.T) {
	e := newEnv(t)
	inc, ch := e.declare("Gone channel")
	e.chat.failNext(1, &workflows.PermanentError{Err: errors.New("channel_not_found")})
	e.run(alice, ch, "status hello")
	e.deliver()
	if n := len(e.effects()); n != 0 {
		t.Fatalf("%d effects left after a permanent failure", n)
	}
	tl := e.timeline(inc.ID)
	last := tl[len(tl)-1]
	if last.Kind != bot.EventBot || !strings.Contains(last.Text, "could not topic") || !strings.Contains(last.Text, "channel_not_found") {
		t.Errorf("last timeline entry = %+v, want the drop recorded", last)
	}
}

// TestOutboxWaitsForPlatform keeps effects for a platform with no Chat
// configured until one is.
func TestOutboxWaitsForPlatform(t *testing.T) {
	e := newEnv(t)
	e.svc.Chats = nil
	e.run(alice, general, "declare Nobody listening")
	e.deliver()
	if n := len(e.effects()); n != 4 {
		t.Fatalf("outbox has %d effects, want all 4 kept", n)
	}
	e.restart()
	e.deliver()
	if n := len(e.effects()); n != 0 {
		t.Fatalf("outbox has %d effects after the platform came back", n)
	}
}
