package slack_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/slack"
	"github.com/debrief/debrief/adapters/slack/slacktest"
	"github.com/debrief/debrief/workflows"
)

// TestPostFileWaitsForTheShare returns the ts of the message that shares
// the file, also when Slack shows the share only after a few files.info
// looks (it shares asynchronously), and an unknown ID rather than an error
// when it never shows: the file is in the channel, and an error would make
// the outbox upload it again.
func TestPostFileWaitsForTheShare(t *testing.T) {
	for _, c := range []struct {
		name    string
		delay   int
		want    bool // the ts is found
		waits   int  // pauses taken
		lookups int  // files.info calls
	}{
		{"at once", 0, true, 0, 1},
		{"after two looks", 2, true, 2, 3},
		{"never", 100, false, 4, 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			fake := slacktest.New()
			t.Cleanup(fake.Close)
			fake.GrantScopes(scopeNames())
			var mu sync.Mutex
			var waited []time.Duration
			// The clock fires at once: no test sleeps.
			after := func(d time.Duration) <-chan time.Time {
				mu.Lock()
				waited = append(waited, d)
				mu.Unlock()
				ch := make(chan time.Time, 1)
				ch <- time.Time{}
				return ch
			}
			sl := slack.New(&workflows.Service{}, slack.Config{BotToken: fake.BotToken, APIURL: fake.APIURL(), After: after})
			ctx, cancel := context.WithTimeout(t.Context(), waitFor)
			defer cancel()
			ch, err := sl.CreateChannel(ctx, "effect-1", "inc-1-file")
			if err != nil {
				t.Fatal(err)
			}
			fake.DelayShares(c.delay)
			id, err := sl.PostFile(ctx, "effect-2", ch, "INC-1-postmortem.md", workflows.TextDocument("# INC-1\n"), "The write-up")
			if err != nil {
				t.Fatalf("PostFile = %v, want nil: the file is shared", err)
			}
			msgs := fake.Messages(ch)
			if len(msgs) != 1 || len(msgs[0].Files) != 1 {
				t.Fatalf("messages %+v, want one sharing the file", msgs)
			}
			if want := map[bool]string{true: msgs[0].TS, false: ""}[c.want]; id != want {
				t.Errorf("PostFile = %q, want %q (the file is %s)", id, want, msgs[0].Files[0].ID)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(waited) != c.waits {
				t.Errorf("waited %v, want %d pauses", waited, c.waits)
			}
			if n := len(fake.Calls("files.info")); n != c.lookups {
				t.Errorf("%d files.info calls, want %d", n, c.lookups)
			}
		})
	}
}
