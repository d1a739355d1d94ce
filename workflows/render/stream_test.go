package render_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows/render"
)

// pages is Entries over tl cut into pages of n entries: how the store
// hands a timeline over.
func pages(tl []bot.TimelineEvent, n int) render.Entries {
	return func(fn func([]bot.TimelineEvent) error) error {
		for i := 0; i < len(tl); i += n {
			if err := fn(tl[i:min(i+n, len(tl))]); err != nil {
				return err
			}
		}
		return nil
	}
}

// TestWriteupStreamsTheSameBytes holds the streaming write-up to the
// renderer it replaced (OldWriteup, which held the whole timeline): the
// same bytes for the same incident, whatever the page size, in UTC and in
// a zone with UTC alongside, for a drill and for the fuzzer's incident.
func TestWriteupStreamsTheSameBytes(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	type tc struct {
		name string
		inc  *bot.Incident
		tl   []bot.TimelineEvent
	}
	inc, tl := realisticIncident(1000)
	drill, dtl := realisticIncident(50)
	drill.Kind = bot.KindDrill
	drill.Drill = &bot.Drill{Gameday: "GD-1", Plan: bot.DrillPlan{Hypothesis: "checkout holds"}, InjectedAt: drill.DeclaredAt}
	finc, ftl := fuzzIncident("a *title*", "grace", "said \x1b[31m <b>", "https://x.test/a)")
	// An edit of a message said later, and a deletion of one never said.
	odd := append([]bot.TimelineEvent{
		{Seq: 100, Kind: bot.EventEdit, Author: omar, Text: "early", MessageID: "later", RecordedAt: inc.DeclaredAt.Add(-time.Hour)},
		{Seq: 101, Kind: bot.EventDelete, Author: omar, MessageID: "never", RecordedAt: inc.DeclaredAt.Add(-time.Hour)},
	}, tl[:40]...)
	odd = append(odd, bot.TimelineEvent{Seq: 102, Kind: bot.EventMessage, Author: omar, Text: "x", MessageID: "later", RecordedAt: inc.DeclaredAt.Add(time.Hour)})
	for _, c := range []tc{{"realistic", inc, tl}, {"drill", drill, dtl}, {"fuzz", finc, ftl}, {"empty", inc, nil}, {"odd refs", inc, odd}} {
		for _, loc := range []*time.Location{time.UTC, berlin} {
			want := render.OldWriteup(c.inc, c.tl, loc)
			if got := render.Writeup(c.inc, c.tl, loc); got != want {
				t.Errorf("%s in %s: Writeup differs from the old renderer at byte %d", c.name, loc, diffAt(got, want))
			}
			for _, n := range []int{1, 7, 1000} {
				var b strings.Builder
				if err := render.WriteWriteup(&b, c.inc, pages(c.tl, n), loc); err != nil {
					t.Fatalf("%s: WriteWriteup: %v", c.name, err)
				}
				if got := b.String(); got != want {
					t.Errorf("%s in %s, pages of %d: WriteWriteup differs from the old renderer at byte %d", c.name, loc, n, diffAt(got, want))
				}
			}
		}
	}
}

func diffAt(a, b string) int {
	for i := 0; i < min(len(a), len(b)); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	w.n++
	return 0, errors.New("reader went away")
}

// TestWriteupStreamStops: a write that fails stops the render at the next
// page, and an error from the timeline's source is returned as it is.
func TestWriteupStreamStops(t *testing.T) {
	inc, tl := realisticIncident(5000)
	read := 0
	src := func(fn func([]bot.TimelineEvent) error) error {
		return pages(tl, 10)(func(p []bot.TimelineEvent) error { read++; return fn(p) })
	}
	w := &failingWriter{}
	if err := render.WriteWriteup(w, inc, src, time.UTC); err == nil || !strings.Contains(err.Error(), "went away") {
		t.Fatalf("WriteWriteup to a failing writer = %v, want its error", err)
	}
	if read > 20 {
		t.Errorf("read %d pages after the writer failed; want the render to stop at the next page", read)
	}
	boom := errors.New("store closed")
	bad := func(fn func([]bot.TimelineEvent) error) error { return fmt.Errorf("page 3: %w", boom) }
	if err := render.WriteWriteup(&strings.Builder{}, inc, bad, time.UTC); !errors.Is(err, boom) {
		t.Fatalf("WriteWriteup with a failing source = %v, want %v", err, boom)
	}
}

// TestVisibleWriter: what goes through a VisibleWriter, in any chunks,
// comes out as Visible of the whole.
func TestVisibleWriter(t *testing.T) {
	in := "plain line\nesc \x1b[31m red\n\u202eevil\u202c\nbad \xff utf8\ttab\nlast, no newline \x07"
	for _, n := range []int{1, 2, 3, 5, 64, len(in)} {
		var b strings.Builder
		v := &render.VisibleWriter{W: &b}
		for i := 0; i < len(in); i += n {
			if _, err := v.Write([]byte(in[i:min(i+n, len(in))])); err != nil {
				t.Fatal(err)
			}
		}
		if err := v.Close(); err != nil {
			t.Fatal(err)
		}
		if got, want := b.String(), render.Visible(in); got != want {
			t.Errorf("chunks of %d: got %q, want %q", n, got, want)
		}
	}
}
