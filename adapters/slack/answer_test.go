package slack_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/slack"
	"github.com/debrief/debrief/bot"
)

// budget is the clock of the 3-second rule, fired by the test: the budget
// is over when the test says so, never by waiting.
type budget chan time.Time

func (b budget) option(c *slack.Config) { c.After = func(time.Duration) <-chan time.Time { return b } }

// TestDeferredCommand: a slash command still running when its budget is
// over (the disk is slow) is acknowledged with an empty 200 at once, as
// Slack wants within 3 seconds, and its answer follows through the
// command's response_url. Over both transports.
func TestDeferredCommand(t *testing.T) {
	for _, m := range []mode{overHTTP, overSocket} {
		t.Run(string(m), func(t *testing.T) {
			b := make(budget)
			h := newHarness(t, m, b.option)
			// Declare answers inline: the budget never fires for it.
			if kind, reply := h.command(alice, h.fake.General(), "declare Checkout is down sev2"); kind != "in_channel" {
				t.Fatalf("declare = %s %q", kind, reply)
			}
			h.deliver()
			ch := h.incident("INC-1").Channels[bot.Slack]

			release := h.store.hold()
			type result struct {
				status int
				body   string
				err    error
			}
			got := make(chan result, 1)
			go func() {
				d, err := h.fake.Command(h.ctx, alice, ch, "sev 1")
				got <- result{d.Status, string(d.Body), err}
			}()
			b <- time.Time{} // the budget is spent while the store holds the command
			r := <-got
			release()
			if r.err != nil || r.status != http.StatusOK || r.body != "" {
				t.Fatalf("first answer = %d %q (%v), want an empty 200", r.status, r.body, r.err)
			}
			ctx, cancel := context.WithTimeout(h.ctx, waitFor)
			defer cancel()
			resp, err := h.fake.WaitResponse(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if resp.ResponseType != "in_channel" || resp.Text != "INC-1 is now SEV1 (was SEV2)." || !strings.HasPrefix(resp.Path, "/commands/") {
				t.Errorf("deferred answer = %+v, want in_channel %q on the command's response_url", resp, "INC-1 is now SEV1 (was SEV2).")
			}
			if h.incident("INC-1").Severity != 1 {
				t.Errorf("the deferred command did not take effect")
			}
		})
	}
}

// gatedUsers holds users.info requests until released, counting those in
// flight: a slow Slack the test controls.
type gatedUsers struct {
	base    http.RoundTripper
	mu      sync.Mutex
	flying  int
	arrived chan int // the count in flight after each arrival
	release chan struct{}
}

func (g *gatedUsers) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/users.info") {
		g.mu.Lock()
		g.flying++
		n := g.flying
		g.mu.Unlock()
		g.arrived <- n
		<-g.release
		g.mu.Lock()
		g.flying--
		g.mu.Unlock()
	}
	return g.base.RoundTrip(r)
}

// TestLookupsTogether: the actor and the people a command mentions are
// looked up at once, so the command waits for the slowest users.info, not
// for the sum. One after the other, the third request would start only
// when the first two had timed out (2 × 1.5 s).
func TestLookupsTogether(t *testing.T) {
	g := &gatedUsers{base: http.DefaultTransport, arrived: make(chan int, 8), release: make(chan struct{})}
	h := newHarness(t, overHTTP, func(c *slack.Config) { c.HTTPClient = &http.Client{Transport: g, Timeout: time.Minute} })
	done := make(chan string, 1)
	go func() {
		_, reply := h.command(alice, h.fake.General(), "role scribe <@"+bob+"|bob> <@"+carol+"|carol>")
		done <- reply
	}()
	ctx, cancel := context.WithTimeout(h.ctx, time.Second)
	defer cancel()
	for most := 0; most < 3; {
		select {
		case n := <-g.arrived:
			most = max(most, n)
		case <-ctx.Done():
			close(g.release)
			t.Fatalf("at most %d users.info requests in flight at once, want 3 (actor and two mentions)", most)
		}
	}
	close(g.release)
	if reply := <-done; reply == "" {
		t.Errorf("no answer to the command")
	}
}
