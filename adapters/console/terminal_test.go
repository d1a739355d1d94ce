package console_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/console"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
	"golang.org/x/term"
)

// runOutbox runs the outbox loop, as serve does, until the test ends.
func runOutbox(t *testing.T, svc *workflows.Service) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = svc.Outbox().Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
}

func messages(t *testing.T, svc *workflows.Service, id string) []string {
	t.Helper()
	_, tl, err := svc.Timeline(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range tl {
		if ev.Kind == bot.EventMessage {
			got = append(got, ev.Text)
		}
	}
	return got
}

// TestScriptRightAfterDeclare: a script piped in all at once (no waiting
// for output between lines) finds the incident's channel right after the
// declare is answered: the declare's auto-join, and an explicit /join,
// both put the next messages on the record.
func TestScriptRightAfterDeclare(t *testing.T) {
	svc, _ := newService(t)
	script := strings.Join([]string{
		`/incident declare "Checkout is down" sev2`,
		"first, after the auto-join",
		"/join general",
		"/join inc-1-checkout-is-down",
		"second, after /join",
		"/quit",
	}, "\n") + "\n"
	var out lockedBuffer
	con := console.New(svc, strings.NewReader(script), &out, alice)
	con.Settle = 10 * time.Second
	svc.Chats = map[bot.Platform]workflows.Chat{bot.Console: con}
	runOutbox(t, svc)
	if err := con.Run(context.Background()); err != console.ErrQuit {
		t.Fatalf("Run = %v, want ErrQuit", err)
	}
	got := messages(t, svc, "INC-1")
	want := []string{"first, after the auto-join", "second, after /join"}
	if !slices.Equal(got, want) {
		t.Errorf("messages on the record = %q, want %q; output:\n%s", got, want, out.String())
	}
	if strings.Contains(out.String(), "not an incident channel") {
		t.Errorf("the console said the new channel is not an incident channel:\n%s", out.String())
	}
}

// drawn collects what the terminal draws, and lets the test wait for it.
type drawn struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{}
}

func (s *drawn) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Write(p)
	close(s.changed)
	s.changed = make(chan struct{})
	return len(p), nil
}

// waitFor waits until the screen shows want after offset, and returns the
// offset past it.
func (s *drawn) waitFor(t *testing.T, from int, want string) int {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		i := strings.Index(s.b.String()[from:], want)
		ch, all := s.changed, s.b.String()
		s.mu.Unlock()
		if i >= 0 {
			return from + i + len(want)
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("the screen never showed %q after %d; it shows %q", want, from, all)
		}
	}
}

// TestLineEditor: on a terminal the console reads through a line editor:
// the Up arrow recalls the last line, Ctrl-A and Ctrl-E move to the start
// and end, Ctrl-W deletes a word, and no escape sequence reaches the
// timeline. Output from the outbox is drawn above the prompt, which is
// drawn again after it.
func TestLineEditor(t *testing.T) {
	svc, _ := newService(t)
	keysR, keys := io.Pipe()
	scr := &drawn{changed: make(chan struct{})}
	tm := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{keysR, scr}, "")
	con := console.New(svc, nil, nil, alice)
	con.UseTerminal(tm)
	con.Settle = 10 * time.Second
	svc.Chats = map[bot.Platform]workflows.Chat{bot.Console: con}
	runOutbox(t, svc)
	done := make(chan error, 1)
	go func() { done <- con.Run(context.Background()) }()
	t.Cleanup(func() { keys.Close(); <-done })

	type_ := func(s string) {
		t.Helper()
		if _, err := io.WriteString(keys, s); err != nil {
			t.Fatal(err)
		}
	}
	at := scr.waitFor(t, 0, "#general> ")
	type_("/incident declare db down\r")
	at = scr.waitFor(t, at, "* joined #inc-1-db-down")
	at = scr.waitFor(t, at, "#inc-1-db-down> ")
	type_("first\r")
	type_("\x1b[A\r")                      // Up, Enter: "first" again
	type_("econd\x01s\x05 line\r")         // Ctrl-A, s, Ctrl-E: "second line"
	type_("third bad words\x17\x17word\r") // Ctrl-W twice
	type_("/incident note done\r")
	scr.waitFor(t, at, "Noted")
	want := []string{"first", "first", "second line", "third word"}
	if got := messages(t, svc, "INC-1"); !slices.Equal(got, want) {
		t.Errorf("messages = %q, want %q", got, want)
	}

	// Output arriving while a line is being typed: drawn above, then the
	// prompt and the half-typed line again.
	type_("half-typ")
	at = scr.waitFor(t, at, "half-typ")
	if _, err := con.Post(context.Background(), "k-async", "inc-1-db-down", "a reminder"); err != nil {
		t.Fatal(err)
	}
	at = scr.waitFor(t, at, "[#inc-1-db-down] debrief: a reminder\r\n")
	scr.waitFor(t, at, "#inc-1-db-down> half-typ")
}

// TestNotATerminal: /dev/null and a pipe are not terminals, so serve gives
// them plain lines with no prompt (a container without -it).
func TestNotATerminal(t *testing.T) {
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, f := range []*os.File{null, r} {
		if term.IsTerminal(int(f.Fd())) {
			t.Errorf("%s is a terminal", f.Name())
		}
	}
}
