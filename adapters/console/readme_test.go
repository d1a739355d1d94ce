package console_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/console"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/internal/clocktest"
	"github.com/debrief/debrief/store/bolt/bolttest"
	"github.com/debrief/debrief/workflows"
)

// walkthrough returns the README's console walkthrough: each code block of
// "A whole incident in the console" (shell blocks aside), as the lines to
// type and the lines debrief prints.
func walkthrough(t *testing.T) (blocks [][]string) {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## A whole incident in the console\n")
	if !ok {
		t.Fatal("README has no console walkthrough")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var cur []string
	in := false
	for line := range strings.SplitSeq(section, "\n") {
		switch {
		case !in && line == "```":
			in, cur = true, nil
		case in && line == "```":
			in = false
			blocks = append(blocks, cur)
		case in:
			cur = append(cur, line)
		}
	}
	return blocks
}

// TestREADMEWalkthrough types the README's walkthrough into a console, on
// any day (the clock is set to a day the README cannot know), and checks
// that every line the README shows debrief printing is printed. Between
// blocks a few minutes pass, as they do for a reader ("A minute later").
func TestREADMEWalkthrough(t *testing.T) {
	blocks := walkthrough(t)
	if len(blocks) < 3 {
		t.Fatalf("README walkthrough has %d blocks", len(blocks))
	}
	for _, day := range []time.Time{
		time.Date(2031, 7, 14, 23, 58, 30, 0, time.UTC), // late on a summer day: "in 1m" crosses midnight
		time.Date(2026, 12, 31, 9, 0, 0, 0, time.UTC),
	} {
		t.Run(day.Format("2006-01-02"), func(t *testing.T) { runWalkthrough(t, blocks, day) })
	}
}

func runWalkthrough(t *testing.T, blocks [][]string, day time.Time) {
	clock := clocktest.New(day)
	svc := &workflows.Service{Store: bolttest.Open(t), Config: workflows.DefaultConfig(), Now: clock.Now}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	con := console.New(svc, inR, outW, bot.User{Platform: bot.Console, ID: "alice", Name: "alice"})
	con.Settle = 10 * time.Second
	svc.Chats = map[bot.Platform]workflows.Chat{bot.Console: con}
	runOutbox(t, svc)
	lines := make(chan string, 4096)
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	done := make(chan error, 1)
	go func() { done <- con.Run(context.Background()) }()
	t.Cleanup(func() { inW.Close(); outR.Close(); <-done })

	var printed []string
	for i, block := range blocks {
		clock.Advance(2 * time.Minute)
		var want []string
		for _, l := range block {
			switch {
			case l == "..." || l == "":
			case strings.HasPrefix(l, "[#") || strings.HasPrefix(l, "* "):
				want = append(want, l)
			default:
				if _, err := io.WriteString(inW, l+"\n"); err != nil {
					t.Fatal(err)
				}
			}
		}
		// A console command nobody has: its answer marks the end of the
		// block's output.
		mark := fmt.Sprintf("/readme-block-%d", i)
		if _, err := io.WriteString(inW, mark+"\n"); err != nil {
			t.Fatal(err)
		}
		deadline := time.After(20 * time.Second)
	read:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("output ended in block %d", i)
				}
				printed = append(printed, l)
				if strings.Contains(l, mark) {
					break read
				}
			case <-deadline:
				t.Fatalf("block %d did not finish; output:\n%s", i, strings.Join(printed, "\n"))
			}
		}
		for _, w := range want {
			found := false
			for _, p := range printed {
				found = found || p == w
			}
			if !found {
				t.Errorf("block %d: the README shows %q; debrief printed:\n%s", i, w, strings.Join(printed, "\n"))
			}
		}
	}
	inc, err := svc.Incident(context.Background(), "INC-1")
	if err != nil {
		t.Fatal(err)
	}
	if inc.Status != bot.StatusClosed {
		t.Errorf("after the walkthrough INC-1 is %s, want closed; output:\n%s", inc.Status, strings.Join(printed, "\n"))
	}
}
