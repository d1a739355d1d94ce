package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
)

// closedIncident2 takes the incident of ch through its post-mortem to
// closed.
func (e *env) closedIncident2(ch bot.Channel) (*bot.Incident, bot.Channel) {
	e.t.Helper()
	id, err := e.svc.IncidentFor(context.Background(), ch)
	if err != nil {
		e.t.Fatal(err)
	}
	e.run(alice, ch, "resolve")
	e.run(alice, ch, "postmortem schedule 2026-03-04 10:00 UTC")
	e.clock.Set(time.Date(2026, 3, 4, 11, 0, 0, 0, time.UTC))
	e.run(alice, ch, "postmortem held @alice @bob -- the queue had no age alert")
	e.run(alice, ch, "close")
	e.deliver()
	inc := e.incident(id)
	if inc.Status != bot.StatusClosed {
		e.t.Fatalf("%s is %s, want closed", inc.ID, inc.Status)
	}
	return inc, ch
}

// TestRecordAfterClose: what is said in the channel after the incident
// closed is recorded, marked after close in the timeline, and left out of
// the write-up; a message sent before the close but delivered after it (a
// retry) is not marked; a redelivery is stored once.
func TestRecordAfterClose(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, ch := e.declare("Queue stuck")
	if _, err := e.svc.Record(ctx, ch, bot.TimelineEvent{Kind: bot.EventMessage, Author: bob, Text: "queue is draining", DedupeKey: "m1"}); err != nil {
		t.Fatal(err)
	}
	inc, ch := e.closedIncident2(ch)

	e.clock.Advance(time.Hour)
	after := bot.TimelineEvent{Kind: bot.EventMessage, Author: carol, Text: "saw it again on staging", PlatformAt: e.clock.Now(), DedupeKey: "m2"}
	for range 2 { // a redelivery changes nothing
		ev, err := e.svc.Record(ctx, ch, after)
		if err != nil || !ev.AfterClose {
			t.Fatalf("Record after close = %+v, %v; want AfterClose", ev, err)
		}
	}
	late := bot.TimelineEvent{Kind: bot.EventMessage, Author: bob, Text: "sent before the close", PlatformAt: inc.ClosedAt.Add(-time.Minute), DedupeKey: "m3"}
	if ev, err := e.svc.Record(ctx, ch, late); err != nil || ev.AfterClose {
		t.Fatalf("Record of a late delivery = %+v, %v; want it not marked", ev, err)
	}

	var marked []string
	for _, ev := range e.timeline(inc.ID) {
		if ev.AfterClose {
			marked = append(marked, ev.Text)
		}
	}
	if len(marked) != 1 || marked[0] != after.Text {
		t.Errorf("entries marked after close: %q, want just %q", marked, after.Text)
	}
	r := e.run(alice, ch, "timeline")
	if !strings.Contains(r.Text, "[message, after close] saw it again on staging") || strings.Contains(r.Text, "after close] queue is draining") {
		t.Errorf("timeline = %q, want the after-close line marked", r.Text)
	}
	md, err := e.svc.Export(ctx, inc.ID, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(md, "saw it again") || !strings.Contains(md, "queue is draining") || !strings.Contains(md, "sent before the close") {
		t.Errorf("write-up keeps what was said after close, or lost what was said before:\n%s", md)
	}
}
