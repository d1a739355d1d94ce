package web

import (
	"context"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/internal/clocktest"
)

// TestCommitToSearchable: the Run loop as `debrief serve` runs it (the
// default cadence), driven by an injected clock: an entry committed
// between two beats is searchable once the next beat's Tick is done, and
// the beats are TickEvery apart, half a second, which leaves 1.5 s of the
// README's 2 s for that Tick (BenchmarkCommitToSearchable measures it).
func TestCommitToSearchable(t *testing.T) {
	a := newArchive(t)
	inc := a.declare("queue backlog", bot.SEV2, bot.KindReal, "queue")
	a.index()
	if every := a.x.tickEvery(); every != 500*time.Millisecond {
		t.Fatalf("the default cadence is %s, want 500ms", every)
	}

	clock := clocktest.New(t0.Add(48 * time.Hour))
	ticks := make(chan time.Time)
	a.x.Ticks = ticks
	// beat moves the clock one TickEvery on and hands Run the beat. The
	// channel is unbuffered: the send returns once Run has finished its
	// previous Tick and is waiting for this one.
	beat := func() { ticks <- clock.Advance(a.x.tickEvery()) }
	// Committing does not index: the Indexer does, apart.
	a.say(inc.ID, bot.EventMessage, "the ocelot consumer is stuck", clock.Now())
	if found(t, a, "ocelot") {
		t.Fatal("ocelot searchable before any Tick")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.x.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	beat()
	beat() // the first Tick after the commit is done
	if !found(t, a, "ocelot") {
		t.Fatal("ocelot not searchable after the first Tick")
	}

	// Between two beats, early and late: a Tick may be under way as the
	// entry commits (it then indexes it or not), and the next one does.
	for i, word := range []string{"zanzibar", "quokka", "xylophone"} {
		committed := clock.Advance(time.Duration(i+1) * 300 * time.Millisecond)
		a.say(inc.ID, bot.EventMessage, "the "+word+" consumer is stuck", committed)
		beat() // at most TickEvery after the commit
		beat() // that Tick is done
		if !found(t, a, word) {
			t.Fatalf("%s not searchable after the Tick that followed its commit", word)
		}
	}
}

func found(t *testing.T, a *archive, word string) bool {
	t.Helper()
	q, err := ParseQuery(word)
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.idx.Search(context.Background(), q, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	return res.Total > 0
}
