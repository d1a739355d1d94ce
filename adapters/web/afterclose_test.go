package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
)

// TestAfterCloseAndDropped: an entry said after close is shown marked so
// in the archive's timeline, the others are not; a dropped countermeasure
// counts in the statistics apart, not as done, and is not "still open".
func TestAfterCloseAndDropped(t *testing.T) {
	a := newArchive(t)
	inc := a.declare("Queue stuck", bot.SEV2, bot.KindReal, "queue")
	a.say(inc.ID, bot.EventMessage, "draining the queue by hand", t0.Add(time.Hour))
	inc.Status, inc.ResolvedAt, inc.ClosedAt = bot.StatusClosed, t0.Add(2*time.Hour), t0.Add(3*time.Hour)
	inc.Countermeasures = []bot.Countermeasure{
		{N: 1, Text: "Alert on queue age", Owner: grace, Due: bot.Date{Year: 2025, Month: 4, Day: 1}, State: bot.CMDropped, DroppedAt: t0.Add(4 * time.Hour)},
	}
	a.put(inc)
	if _, _, err := a.store.Append(context.Background(), bot.TimelineEvent{IncidentID: inc.ID, Kind: bot.EventMessage, Author: grace,
		Text: "saw it again on staging", RecordedAt: t0.Add(5 * time.Hour), AfterClose: true}); err != nil {
		t.Fatal(err)
	}
	a.declare("Queue stuck again", bot.SEV3, bot.KindReal, "queue")
	a.index()

	_, body, _ := a.get("/incidents/" + inc.ID)
	mustContain(t, inc.ID, body, `class="entry message after-close"`, `<span class="mark">after close</span>`, "saw it again on staging", "dropped")
	if n := strings.Count(body, "after close</span>"); n != 1 {
		t.Errorf("%d entries marked after close, want 1:\n%s", n, body)
	}
	_, body, _ = a.get("/stats")
	mustContain(t, "stats", body, "<th>Dropped (not done)</th><td>1</td>", "<th>Done on time</th><td>0</td>", "<th>Done late</th><td>0</td>", "<th>Overdue</th><td>0</td>")
	_, body, _ = a.get("/incidents/INC-2")
	mustLack(t, "INC-2", body, "still open")
}
