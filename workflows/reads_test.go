package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows"
	"github.com/debrief/debrief/workflows/outbox"
	"github.com/debrief/debrief/workflows/render"
)

// TestReadCommandsDoNotWaitForWriters holds the store's write transaction
// open and runs every command that only reads: each must answer, because
// it runs in a read transaction (handler.view, or a global that reads
// through Store.View), never queued behind the writers.
func TestReadCommandsDoNotWaitForWriters(t *testing.T) {
	e := newEnv(t)
	_, ch := e.declare("Reads stay off the write path")
	e.run(alice, ch, "action Add a canary stage @bob due 2026-03-20")
	ctx := context.Background()
	held, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- e.db.Update(ctx, func(store.Tx) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	for _, c := range []struct {
		ch   bot.Channel
		text string
		want string
	}{
		{ch, "timeline", "Timeline of INC-1"},
		{ch, "actions", "Countermeasures of INC-1"},
		{ch, "postmortem lint", "blameless-lint"},
		{general, "list", "1 incidents not yet closed"},
		{general, "help", "/incident"},
		{general, "gameday list", "No game days yet"},
	} {
		answered := make(chan workflows.Reply, 1)
		go func() { answered <- e.run(alice, c.ch, c.text) }()
		select {
		case r := <-answered:
			if !strings.Contains(r.Text, c.want) {
				t.Errorf("%s = %q, want it to contain %q", c.text, r.Text, c.want)
			}
		case <-time.After(10 * time.Second):
			close(release)
			t.Fatalf("%s waited for the write transaction: it does not run in a read transaction", c.text)
		}
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestTimelineCommandShowsTheTail: /incident timeline shows the last 30
// entries and counts them all, read by a reverse cursor.
func TestTimelineCommandShowsTheTail(t *testing.T) {
	e := newEnv(t)
	inc, ch := e.declare("A long one")
	for i := range 100 {
		if _, err := e.svc.Record(context.Background(), ch, bot.TimelineEvent{Kind: bot.EventMessage, Author: bob,
			Text: fmt.Sprintf("line %03d", i), DedupeKey: fmt.Sprintf("k%03d", i)}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Second)
	}
	total := len(e.timeline(inc.ID))
	r := e.run(alice, ch, "timeline")
	lines := strings.Split(r.Text, "\n")
	if want := fmt.Sprintf("Timeline of INC-1 (%d entries, times in UTC), last 30", total); lines[0] != want {
		t.Errorf("heading = %q, want %q", lines[0], want)
	}
	if len(lines) != 31 || !strings.HasSuffix(lines[1], "line 070") || !strings.HasSuffix(lines[30], "line 099") {
		t.Errorf("timeline shows %d lines, from %q to %q; want line 070 to line 099", len(lines)-1, lines[1], lines[len(lines)-1])
	}
	// A closed incident's timeline still reads; writes are refused.
	e.run(alice, ch, "resolve")
	e.refuse(bob, bot.Channel{Platform: bot.Console, ID: "nowhere"}, "timeline", bot.ENOTFOUND)
}

// TestWriteupEffectsCarryAReference: closing with a publisher queues the
// write-up's file and its publication as references (the incident and the
// zone), not copies of the document; both are rendered at delivery and
// are the export's bytes.
func TestWriteupEffectsCarryAReference(t *testing.T) {
	e := newEnv(t)
	pub := &publisher{files: map[string]string{}}
	e.svc.Publisher, e.svc.PublishPath = pub, "postmortems"
	e.cfg.Policy.SkipReview = map[bot.Severity]bool{bot.SEV4: true}
	e.svc.Config = e.cfg
	inc, ch := e.declare("Webhooks delayed sev4")
	for i := range 50 {
		e.run(bob, ch, fmt.Sprintf("note step %d of a long investigation", i))
	}
	e.run(alice, ch, "resolve the queue drained")
	e.run(alice, ch, "close")
	var refs int
	for _, ef := range e.effects() {
		if ef.Kind != "file" && ef.Kind != "publish" {
			continue
		}
		refs++
		if len(ef.Payload) > 512 || !strings.Contains(string(ef.Payload), `"writeup":{"zone":"UTC"}`) || strings.Contains(string(ef.Payload), "content") {
			t.Errorf("%s effect carries %d bytes: %s; want a reference", ef.Kind, len(ef.Payload), ef.Payload)
		}
	}
	if refs != 2 {
		t.Fatalf("%d write-up effects queued at close, want the file and the publication", refs)
	}
	want, err := e.svc.Export(context.Background(), inc.ID, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	e.deliver()
	if md, _ := e.chat.file("INC-1-postmortem.md"); md != want {
		t.Errorf("posted write-up (%d bytes) is not the export (%d bytes)", len(md), len(want))
	}
	if md := pub.files["postmortems/INC-1.md"]; md != want || !strings.Contains(md, "step 49 of a long") {
		t.Errorf("published write-up (%d bytes) is not the export (%d bytes)", len(md), len(want))
	}
}

// TestWriteupEffectsQueuedWithTheDocument: a file or a publication queued
// by the previous version, with the document in the payload, is delivered
// with that document, as before.
func TestWriteupEffectsQueuedWithTheDocument(t *testing.T) {
	e := newEnv(t)
	pub := &publisher{files: map[string]string{}}
	e.svc.Publisher = pub
	inc, _ := e.declare("Queued before the upgrade")
	err := e.db.Update(context.Background(), func(tx store.Tx) error {
		o := e.svc.Outbox()
		if _, err := o.Enqueue(tx, outbox.Route{Platform: bot.Console, IncidentID: inc.ID}, workflows.PostFile{
			Name: "INC-1-postmortem.md", Content: "# the document as it was queued", Comment: "old"}, e.clock.Now()); err != nil {
			return err
		}
		_, err := o.Enqueue(tx, outbox.Route{IncidentID: inc.ID}, workflows.Publish{
			Path: "INC-1.md", Content: "# published as queued", Message: "old"}, e.clock.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e.deliver()
	if md, _ := e.chat.file("INC-1-postmortem.md"); md != "# the document as it was queued" {
		t.Errorf("posted %q, want the queued document", md)
	}
	if md := pub.files["INC-1.md"]; md != "# published as queued" {
		t.Errorf("published %q, want the queued document", md)
	}
}

// TestExportPagesTheTimeline: the export of a timeline longer than a page
// (read a page per read transaction) is the write-up of the whole
// timeline read at once, and entries committed after it began are not in
// it.
func TestExportPagesTheTimeline(t *testing.T) {
	e := newEnv(t)
	inc, _ := e.declare("Longer than a page")
	err := e.db.Update(context.Background(), func(tx store.Tx) error {
		for i := range 2500 {
			at := e.clock.Now().Add(time.Duration(i) * time.Second)
			kind := bot.EventMessage
			if i%100 == 1 {
				kind = bot.EventEdit
			}
			if _, _, err := tx.AppendEvent(bot.TimelineEvent{IncidentID: inc.ID, Kind: kind, Author: bob, Text: fmt.Sprint("said ", i),
				MessageID: fmt.Sprint("m", i/2*2), RecordedAt: at, PlatformAt: at}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := render.Writeup(e.incident(inc.ID), e.timeline(inc.ID), time.UTC)
	var b strings.Builder
	stop := errors.New("stop")
	w := writerFunc(func(p []byte) (int, error) {
		if b.Len() == 0 {
			// Entries committed once the export has begun are not in it.
			if _, err := e.svc.Record(context.Background(), bot.Channel{Platform: bot.Console, ID: inc.Channels[bot.Console]},
				bot.TimelineEvent{Kind: bot.EventMessage, Author: bob, Text: "too late", DedupeKey: "late"}); err != nil {
				return 0, err
			}
		}
		b.Write(p)
		return len(p), nil
	})
	if err := e.svc.WriteExport(context.Background(), w, inc.ID, time.UTC); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != want {
		t.Errorf("export (%d bytes) differs from the write-up of the whole timeline (%d bytes)", len(got), len(want))
	}
	if err := e.svc.WriteExport(context.Background(), writerFunc(func([]byte) (int, error) { return 0, stop }), inc.ID, time.UTC); !errors.Is(err, stop) {
		t.Errorf("export to a failing writer = %v, want its error", err)
	}
	if err := e.svc.WriteExport(context.Background(), &b, "INC-9", time.UTC); bot.ErrorCode(err) != bot.ENOTFOUND {
		t.Errorf("export of INC-9 = %v, want not found", err)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
