package workflows_test

import (
	"context"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

// TestCatchupsAndRecovered: Catchups names each open incident's channel
// with the last platform message recorded there; a recovered entry takes
// its place in the timeline by its platform time, and a second recovery
// of the same message stores nothing.
func TestCatchupsAndRecovered(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	inc, ch := e.declare("db down")
	e.declare("second")

	got, err := e.svc.Catchups(ctx, bot.Console)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].IncidentID != inc.ID || got[0].Channel != ch || lastMessage(got[0]) != "" || !got[0].Since.Equal(inc.DeclaredAt) {
		t.Fatalf("Catchups before any message = %+v, want %s in %s since its declaration", got, inc.ID, ch.ID)
	}

	said := e.clock.Now()
	e.clock.Advance(time.Minute)
	live := bot.TimelineEvent{Kind: bot.EventMessage, Author: alice, Text: "live", MessageID: "m2", PlatformAt: e.clock.Now(), DedupeKey: "console/m2"}
	if _, err := e.svc.Record(ctx, ch, live); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	lost := bot.TimelineEvent{Kind: bot.EventMessage, Author: bob, Text: "said while away", MessageID: "m1", PlatformAt: said, DedupeKey: "console/m1", Recovered: true}
	for range 2 {
		if _, err := e.svc.Record(ctx, ch, lost); err != nil {
			t.Fatal(err)
		}
	}
	var texts []string
	for _, ev := range e.timeline(inc.ID) {
		if ev.Kind == bot.EventMessage {
			texts = append(texts, ev.Text)
			if ev.Text == lost.Text && (!ev.Recovered || !ev.RecordedAt.Equal(said)) {
				t.Errorf("recovered entry = %+v, want Recovered at %v", ev, said)
			}
		}
	}
	if len(texts) != 2 || texts[0] != lost.Text || texts[1] != live.Text {
		t.Errorf("messages = %q, want the recovered one first, once", texts)
	}

	got, err = e.svc.Catchups(ctx, bot.Console)
	if err != nil {
		t.Fatal(err)
	}
	if lastMessage(got[0]) != "m2" || !got[0].Since.Equal(live.PlatformAt) {
		t.Errorf("Catchups = %+v, want since m2 at %v", got[0], live.PlatformAt)
	}
	if got, _ := e.svc.Catchups(ctx, bot.Slack); len(got) != 0 {
		t.Errorf("Catchups(slack) = %+v, want none: no incident has a Slack channel", got)
	}
}

// lastMessage is the ID of the last platform message among the entries a
// Catchup carries, "" when there is none.
func lastMessage(c workflows.Catchup) string {
	for i := len(c.Recent) - 1; i >= 0; i-- {
		if id := c.Recent[i].MessageID; id != "" {
			return id
		}
	}
	return ""
}
