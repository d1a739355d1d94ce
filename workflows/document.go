package workflows

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Document is a file an effect delivers (the write-up, a meeting's .ics),
// given to the sinks (FilePoster, Publisher) as something to read, never
// as one string: a million-entry incident's write-up is about 91 MB of
// Markdown, and a sink that needs it several times (its length up front,
// its git blob SHA, its bytes) reads it again instead of holding it.
//
// A long document is spooled to a temporary file (SpoolDocument), once per
// delivery attempt, and removed by Close; a short one (an invite, a record
// queued with its Content) stays in memory behind the same type
// (TextDocument). Its methods are safe for concurrent use.
type Document struct {
	// Whole says where the whole document can be read, for a sink that
	// can deliver only part of it (Discord's attachment limit); empty
	// when it is nowhere else.
	Whole string

	size int64
	at   io.ReaderAt
	file *os.File // the spool, nil for a document in memory
	path string   // the spool's name while it still has one

	shaOnce sync.Once
	sha     string
	shaErr  error
}

// TextDocument returns a document holding s.
func TextDocument(s string) *Document {
	return &Document{size: int64(len(s)), at: strings.NewReader(s)}
}

// SpoolDocument writes a document with write into a new temporary file in
// dir (os.TempDir() when empty) and returns it, to be read as often as
// needed until Close removes the file. The file is unlinked at once where
// the system allows (it lives on while open), so that a crash leaves none
// behind. An error creating or writing the file is returned wrapped; no
// file is left.
func SpoolDocument(dir string, write func(io.Writer) error) (*Document, error) {
	f, err := os.CreateTemp(dir, "debrief-document-*")
	if err != nil {
		return nil, fmt.Errorf("workflows: spool file: %w", err)
	}
	d := &Document{file: f, at: f, path: f.Name()}
	if os.Remove(d.path) == nil {
		d.path = ""
	}
	cw := &countingWriter{w: f}
	if err := write(cw); err != nil {
		d.Close()
		return nil, err
	}
	d.size = cw.n
	return d, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil {
		return n, fmt.Errorf("workflows: spool file: %w", err)
	}
	return n, nil
}

// Size is the document's length in bytes.
func (d *Document) Size() int64 { return d.size }

// Reader returns a new reader of the whole document, from its start:
// each call's is independent of the others'.
func (d *Document) Reader() *io.SectionReader { return io.NewSectionReader(d.at, 0, d.size) }

// BlobSHA returns git's object ID of the document as a blob: the SHA-1 of
// "blob <size>\x00" and the bytes, which is what GitHub's contents API
// calls a file's sha. With it a publisher sees that a file already holds
// the document without downloading the file. It is computed on the first
// call, reading the document once (the header needs the length, known
// only once the document is written), and remembered.
func (d *Document) BlobSHA() (string, error) {
	d.shaOnce.Do(func() {
		h := sha1.New()
		h.Write([]byte("blob " + strconv.FormatInt(d.size, 10) + "\x00"))
		if _, err := io.Copy(h, d.Reader()); err != nil {
			d.shaErr = fmt.Errorf("workflows: read document: %w", err)
			return
		}
		d.sha = hex.EncodeToString(h.Sum(nil))
	})
	return d.sha, d.shaErr
}

// Cut returns the length of the longest start of the document that ends
// at the end of a line and is at most limit bytes: the whole document
// when it fits, 0 when not even its first line does. A platform that
// takes at most limit bytes sends that much.
func (d *Document) Cut(limit int64) (int64, error) {
	if d.size <= limit {
		return d.size, nil
	}
	if limit <= 0 {
		return 0, nil
	}
	// Look for the last newline before limit, a window at a time from the
	// limit back: a document of lines finds one in the first window.
	const window = 64 << 10
	buf := make([]byte, window)
	for end := limit; end > 0; {
		start := max(end-window, 0)
		n, err := d.at.ReadAt(buf[:end-start], start)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("workflows: read document: %w", err)
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// Head returns the document's first n bytes followed by tail: what a sink
// with a size limit sends (a start cut at a line by Cut, and a note of
// its own). It reads d's bytes where they are, copying none, and keeps
// d's Whole; d must stay open while it is read, and closing the head
// closes nothing.
func (d *Document) Head(n int64, tail string) *Document {
	n = min(max(n, 0), d.size)
	return &Document{
		Whole: d.Whole,
		size:  n + int64(len(tail)),
		at:    headReaderAt{head: io.NewSectionReader(d.at, 0, n), tail: tail},
	}
}

// Fit returns what a sink that takes at most limit bytes sends of d: d
// itself when it fits; else its longest start that ends at a line,
// followed by the note tail(n) says for the n bytes kept (Head), all
// within limit. It returns nil when not even the first line fits with
// its note. n is how much of d is kept.
func (d *Document) Fit(limit int64, tail func(n int64) string) (fit *Document, n int64, err error) {
	if d.size <= limit {
		return d, d.size, nil
	}
	// A note's length varies a little with n (its digits): measured at
	// the whole length first, then again at each cut until it fits.
	budget := limit - int64(len(tail(d.size)))
	for {
		n, err := d.Cut(budget)
		if err != nil || n == 0 {
			return nil, 0, err
		}
		note := tail(n)
		if n+int64(len(note)) <= limit {
			return d.Head(n, note), n, nil
		}
		budget = min(budget-1, limit-int64(len(note)))
	}
}

// headReaderAt reads head, then tail, as one.
type headReaderAt struct {
	head *io.SectionReader
	tail string
}

func (h headReaderAt) ReadAt(p []byte, off int64) (int, error) {
	hs := h.head.Size()
	n := 0
	if off < hs {
		want := min(int64(len(p)), hs-off)
		k, err := h.head.ReadAt(p[:want], off)
		if int64(k) < want {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF // the document shrank under us
			}
			return k, err
		}
		n = k
	}
	if n == len(p) {
		return n, nil
	}
	k, err := strings.NewReader(h.tail).ReadAt(p[n:], off+int64(n)-hs)
	return n + k, err
}

// Text returns the document's first limit bytes at most, cut at the end
// of a line (Cut), and whether that is the whole of it: for a sink that
// can only post text.
func (d *Document) Text(limit int64) (string, bool, error) {
	n, err := d.Cut(limit)
	if err != nil {
		return "", false, err
	}
	var b strings.Builder
	b.Grow(int(n))
	if _, err := io.Copy(&b, io.NewSectionReader(d.at, 0, n)); err != nil {
		return "", false, fmt.Errorf("workflows: read document: %w", err)
	}
	return b.String(), n == d.size, nil
}

// Close removes the spool file, if any. A document in memory needs none.
func (d *Document) Close() error {
	if d.file == nil {
		return nil
	}
	err := d.file.Close()
	if d.path != "" {
		if rerr := os.Remove(d.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	}
	d.file = nil
	return err
}
