package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

// TestDocument: a document spooled to a file and one in memory read the
// same, as often as asked, with git's blob SHA of their bytes, and cut
// at the end of a line.
func TestDocument(t *testing.T) {
	const text = "# INC-1\n\nline one\nline two\n"
	dir := t.TempDir()
	spooled, err := workflows.SpoolDocument(dir, func(w io.Writer) error {
		for _, l := range strings.SplitAfter(text, "\n") {
			if _, err := io.WriteString(w, l); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, d := range map[string]*workflows.Document{"spooled": spooled, "in memory": workflows.TextDocument(text)} {
		if d.Size() != int64(len(text)) {
			t.Errorf("%s: Size = %d, want %d", name, d.Size(), len(text))
		}
		for i := range 2 {
			b, err := io.ReadAll(d.Reader())
			if err != nil || string(b) != text {
				t.Errorf("%s: read %d = %q, %v; want %q", name, i, b, err, text)
			}
		}
		// git hash-object of the text: `printf '# INC-1\n\nline one\nline two\n' | git hash-object --stdin`.
		if sha, err := d.BlobSHA(); err != nil || sha != "fd1786232f711926ac7f7bcf331c0b29b6996864" {
			t.Errorf("%s: BlobSHA = %s, %v", name, sha, err)
		}
		for _, c := range []struct {
			limit, want int64
		}{{100, int64(len(text))}, {int64(len(text)), int64(len(text))}, {20, 18}, {18, 18}, {17, 9}, {8, 8}, {7, 0}, {0, 0}} {
			if got, err := d.Cut(c.limit); err != nil || got != c.want {
				t.Errorf("%s: Cut(%d) = %d, %v; want %d", name, c.limit, got, err, c.want)
			}
		}
		if s, whole, err := d.Text(20); err != nil || s != "# INC-1\n\nline one\n" || whole {
			t.Errorf("%s: Text(20) = %q, %v, %v", name, s, whole, err)
		}
	}
	if err := spooled.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("spool files left after Close: %v", left)
	}
}

// TestDocumentHead: a document's start and a note read as one document,
// from any offset and in any chunks, with the blob SHA of those bytes,
// and the spool it reads from stays the parent's.
func TestDocumentHead(t *testing.T) {
	const text = "# INC-1\n\nline one\nline two\n"
	const note = "\n*Cut here.*\n"
	spooled, err := workflows.SpoolDocument(t.TempDir(), func(w io.Writer) error {
		_, err := io.WriteString(w, text)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer spooled.Close()
	spooled.Whole = "`debrief export INC-1`"
	for name, d := range map[string]*workflows.Document{"spooled": spooled, "in memory": workflows.TextDocument(text)} {
		for _, n := range []int64{0, 9, 18, int64(len(text))} {
			h := d.Head(n, note)
			want := text[:n] + note
			if h.Size() != int64(len(want)) {
				t.Errorf("%s: Head(%d).Size = %d, want %d", name, n, h.Size(), len(want))
			}
			// Every offset and a few chunk sizes: the head and the note
			// meet wherever a read falls.
			for off := range len(want) + 1 {
				for _, size := range []int{1, 3, 7, 64} {
					b := make([]byte, size)
					k, err := h.Reader().ReadAt(b, int64(off))
					end := min(off+size, len(want))
					if string(b[:k]) != want[off:end] || (k < size && !errors.Is(err, io.EOF)) || (k == size && err != nil) {
						t.Fatalf("%s: Head(%d).ReadAt(%d bytes at %d) = %q, %v; want %q", name, n, size, off, b[:k], err, want[off:end])
					}
				}
			}
			got, _ := io.ReadAll(h.Reader())
			wantSHA, _ := workflows.TextDocument(want).BlobSHA()
			if sha, err := h.BlobSHA(); string(got) != want || err != nil || sha != wantSHA {
				t.Errorf("%s: Head(%d) reads %q (SHA %s, %v), want %q (SHA %s)", name, n, got, sha, err, want, wantSHA)
			}
			if h.Whole != d.Whole {
				t.Errorf("%s: Head keeps Whole %q, want %q", name, h.Whole, d.Whole)
			}
			if err := h.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Closing the heads left the parent's spool readable.
	if b, err := io.ReadAll(spooled.Reader()); err != nil || string(b) != text {
		t.Errorf("the spool after its heads were closed: %q, %v", b, err)
	}
}

// TestDocumentFit: a document that fits comes back as it is; a longer
// one as its start cut at a line and the note for what it keeps, within
// the limit even when the note grows as the cut shrinks (as "1.0 MiB"
// becomes "1048000 bytes"); one whose first line cannot fit, as nil.
func TestDocumentFit(t *testing.T) {
	var b strings.Builder
	for i := range 100 {
		fmt.Fprintf(&b, "line %03d of the write-up\n", i)
	}
	text := b.String()
	d := workflows.TextDocument(text)
	if fit, n, err := d.Fit(int64(len(text)), nil); err != nil || fit != d || n != int64(len(text)) {
		t.Errorf("Fit of a document that fits = %v, %d, %v; want it whole", fit, n, err)
	}
	// The shorter the cut, the longer the note: a note measured at the
	// whole length alone would not fit after the cut.
	note := func(n int64) string { return "\n" + strings.Repeat("~", int(3000-n)/20) + "\n" }
	for _, limit := range []int64{400, 1000, 1999} {
		fit, n, err := d.Fit(limit, note)
		if err != nil || fit == nil {
			t.Fatalf("Fit(%d) = %v, %v", limit, fit, err)
		}
		b, err := io.ReadAll(fit.Reader())
		if err != nil {
			t.Fatal(err)
		}
		got := string(b)
		if fit.Size() > limit || n == 0 || got != text[:n]+note(n) || text[n-1] != '\n' {
			t.Errorf("Fit(%d) keeps %d bytes in %d (%q...), want a start cut at a line and its note within the limit", limit, n, fit.Size(), got[:min(len(got), 40)])
		}
	}
	if fit, _, err := d.Fit(20, note); err != nil || fit != nil {
		t.Errorf("Fit under the first line and its note = %v, %v; want nil", fit, err)
	}
}

// TestDocumentBlobSHAOfEmpty: the empty blob's SHA is git's well-known
// e69de29.
func TestDocumentBlobSHAOfEmpty(t *testing.T) {
	if sha, err := workflows.TextDocument("").BlobSHA(); err != nil || sha != "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391" {
		t.Errorf("BlobSHA of nothing = %s, %v", sha, err)
	}
}

// TestSpoolDocumentFails: a spool that cannot be created, or a document
// that fails while it is written, is an error naming the spool or the
// writer's failure, and leaves no file.
func TestSpoolDocumentFails(t *testing.T) {
	if _, err := workflows.SpoolDocument(filepath.Join(t.TempDir(), "missing"), func(io.Writer) error { return nil }); err == nil || !strings.Contains(err.Error(), "spool file") {
		t.Errorf("SpoolDocument in a missing folder = %v, want a spool file error", err)
	}
	dir := t.TempDir()
	boom := errors.New("timeline unreadable")
	_, err := workflows.SpoolDocument(dir, func(w io.Writer) error {
		_, _ = io.WriteString(w, "# INC-1\n")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("SpoolDocument with a failing writer = %v, want %v", err, boom)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("spool files left after a failure: %v", left)
	}
}

// TestWriteupSpoolFails: when the write-up cannot be spooled at delivery
// (its folder is gone), the file effect fails like a platform outage: it
// is not delivered, not dropped, and goes once the spool works, leaving
// no spool file behind.
func TestWriteupSpoolFails(t *testing.T) {
	e := newEnv(t)
	inc, ch := e.declare("Spool folder gone")
	e.run(bob, ch, "note the queue drained")
	spool := t.TempDir()
	e.svc.SpoolDir = filepath.Join(spool, "missing")
	e.run(alice, ch, "postmortem")
	e.deliver()
	if _, ok := e.chat.file(inc.ID + "-postmortem.md"); ok {
		t.Fatal("the write-up was posted without a spool")
	}
	var pending int
	for _, ef := range e.effects() {
		if ef.Kind == "file" {
			pending++
		}
	}
	if pending != 1 {
		t.Fatalf("%d file effects waiting, want the write-up's", pending)
	}
	e.svc.SpoolDir = spool
	e.clock.Advance(time.Hour)
	e.deliver()
	md, ok := e.chat.file(inc.ID + "-postmortem.md")
	want, err := e.svc.Export(context.Background(), inc.ID, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if !ok || md != want {
		t.Errorf("posted write-up (%d bytes, %v) is not the export (%d bytes)", len(md), ok, len(want))
	}
	if left, _ := os.ReadDir(spool); len(left) != 0 {
		t.Errorf("spool files left after delivery: %v", left)
	}
	for _, ef := range e.effects() {
		if ef.Kind == "file" {
			t.Errorf("file effect still queued after delivery: %s", ef.Payload)
		}
	}
}

// TestWriteupOnAChatWithoutFiles: a Chat that cannot attach files gets
// the write-up in a message, whole when it is short.
func TestWriteupOnAChatWithoutFiles(t *testing.T) {
	e := newEnv(t)
	e.svc.Chats[bot.Console] = &textOnly{chat: e.chat}
	inc, ch := e.declare("No files here")
	e.run(alice, ch, "postmortem")
	e.deliver()
	want, err := e.svc.Export(context.Background(), inc.ID, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	e.chat.mu.Lock()
	defer e.chat.mu.Unlock()
	var found bool
	for _, text := range e.chat.full {
		if strings.HasSuffix(text, inc.ID+"-postmortem.md:\n```\n"+want+"\n```") {
			found = true
		}
	}
	if !found {
		t.Errorf("no message carries the whole write-up; posts: %v", e.chat.full)
	}
}

// textOnly is a Chat that cannot attach files: it has chat's methods but
// for PostFile.
type textOnly struct{ chat *chat }

func (c *textOnly) CreateChannel(ctx context.Context, key, name string) (string, error) {
	return c.chat.CreateChannel(ctx, key, name)
}
func (c *textOnly) Post(ctx context.Context, key, channelID, text string) (string, error) {
	return c.chat.Post(ctx, key, channelID, text)
}
func (c *textOnly) Invite(ctx context.Context, channelID string, users []bot.User) error {
	return c.chat.Invite(ctx, channelID, users)
}
func (c *textOnly) Pin(ctx context.Context, channelID, messageID string) error {
	return c.chat.Pin(ctx, channelID, messageID)
}
func (c *textOnly) SetTopic(ctx context.Context, channelID, topic string) error {
	return c.chat.SetTopic(ctx, channelID, topic)
}
func (c *textOnly) Archive(ctx context.Context, channelID string) error {
	return c.chat.Archive(ctx, channelID)
}
