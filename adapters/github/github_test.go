package github_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/github"
	"github.com/debrief/debrief/adapters/github/githubtest"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

// TestFileIssueEndToEnd: a countermeasure becomes exactly one issue with the
// right title, labels (created with their colours), assignee, due line and
// marker, and the link is posted in the channel and recorded. An owner with
// no GitHub login is named in the body and still filed; a login from the
// operator's mapping file is used; one GitHub refuses to assign is dropped,
// not the issue.
func TestFileIssueEndToEnd(t *testing.T) {
	e := newEnv(t, githubtest.Config{Assignable: []string{"octocat", "hubot"}})
	e.cfg.Logins = map[string]string{"console:dave": "hubot", "console:erin": "not-a-collaborator"}
	e.restart()
	e.run(bob, general, "github octocat")
	id, ch := e.declare("Checkout is down sev2")
	e.run(alice, ch, "action Make the canary stage mandatory @bob due 2026-03-16")
	e.run(alice, ch, "action Alert on certificate expiry 30 days ahead @carol due 2026-03-20")
	e.run(alice, ch, "action Add a rate limit to the export endpoint @dave due 2026-03-20")
	e.run(alice, ch, "action Run a game-day rehearsal of the failover @erin due 2026-03-27")
	e.deliver()

	issues := e.fake.Issues()
	if len(issues) != 4 {
		t.Fatalf("%d issues, want 4: %+v", len(issues), issues)
	}
	is := issues[0]
	if is.Title != "[INC-1] Make the canary stage mandatory" {
		t.Errorf("title = %q", is.Title)
	}
	if !slices.Equal(is.Labels, []string{"countermeasure", "SEV2", "INC-1"}) {
		t.Errorf("labels = %q", is.Labels)
	}
	if !slices.Equal(is.Assignees, []string{"octocat"}) {
		t.Errorf("assignees = %q", is.Assignees)
	}
	for _, want := range []string{
		"\nDue: 2026-03-16\n", "<!-- debrief:countermeasure INC-1#1 -->", "Owner: @bob on console (GitHub @octocat)",
		"INC-1: Checkout is down", "(SEV2)", "> Make the canary stage mandatory",
		"[postmortems/INC-1.md](" + e.fake.URL + "acme/ops/blob/HEAD/postmortems/INC-1.md)",
	} {
		if !strings.Contains(is.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, is.Body)
		}
	}
	if is.Creator != "debrief-bot" || is.State != "open" {
		t.Errorf("creator %q state %q", is.Creator, is.State)
	}
	// carol has no login: named in the body, filed unassigned.
	if len(issues[1].Assignees) != 0 || !strings.Contains(issues[1].Body, "Owner: @carol on console (no GitHub login known") {
		t.Errorf("issue without a login: assignees %q body:\n%s", issues[1].Assignees, issues[1].Body)
	}
	// dave's login comes from the mapping file; erin's is refused by
	// GitHub (422) and the issue is filed unassigned.
	if !slices.Equal(issues[2].Assignees, []string{"hubot"}) || len(issues[3].Assignees) != 0 {
		t.Errorf("mapped assignees = %q and %q, want hubot and none", issues[2].Assignees, issues[3].Assignees)
	}
	for name, color := range map[string]string{"countermeasure": "0e8a16", "SEV2": "b60205", "INC-1": "c5def5"} {
		if l, ok := e.fake.Labels()[strings.ToLower(name)]; !ok || l.Auto || l.Color != color || l.Description == "" {
			t.Errorf("label %s = %+v, %v; want created by debrief with colour %s", name, l, ok, color)
		}
	}

	inc := e.incident(id)
	cm := inc.Countermeasures[0]
	if cm.State != bot.CMFiled || cm.Issue != 1 || cm.Tracker != e.fake.IssueURL(1) || cm.Assignee != "octocat" {
		t.Errorf("countermeasure after filing = %+v", cm)
	}
	if got := e.chat.since(0, "Countermeasure #1 of INC-1 is filed: "+e.fake.IssueURL(1)); len(got) != 1 || !strings.HasPrefix(got[0], "post "+ch.ID+" ") {
		t.Errorf("link posts = %q, want one in %s", got, ch.ID)
	}
	if got := timelineWith(e.timeline(id), "countermeasure #1 filed as issue #1"); len(got) != 1 || got[0].URL != e.fake.IssueURL(1) {
		t.Errorf("timeline filing entries = %+v", got)
	}
	if n := len(e.effects()); n != 0 {
		t.Errorf("%d effects left", n)
	}
	// Creating the same labels again is not needed: only the new
	// incident's label is looked up for a second incident.
	before := len(e.fake.Requests())
	_, ch2 := e.declare("Queue stuck sev2")
	e.run(alice, ch2, "action Add an alert on queue age @bob due 2026-03-20")
	e.deliver()
	var labelCalls []string
	for _, r := range e.fake.Requests()[before:] {
		if strings.Contains(r, "/labels") {
			labelCalls = append(labelCalls, r)
		}
	}
	if !slices.Equal(labelCalls, []string{"GET /repos/acme/ops/labels/INC-2", "POST /repos/acme/ops/labels"}) {
		t.Errorf("label calls for the second incident = %q", labelCalls)
	}
}

// TestCloseGateNamesUnfiled: with a tracker, close waits until every
// countermeasure is filed, and says which is not.
func TestCloseGateNamesUnfiled(t *testing.T) {
	e := newEnv(t, githubtest.Config{})
	id, ch := e.declare("Login errors")
	e.run(alice, ch, "action Add an alert on login error rate @bob due 2026-03-20")
	e.fake.FailNext(100, githubtest.Fail500, nil)
	e.deliver() // filing fails
	holdReview(e, ch)
	cmd, _ := bot.Parse("close")
	_, err := e.svc.Handle(context.Background(), alice, ch, cmd)
	if bot.ErrorCode(err) != bot.ECONFLICT || !strings.Contains(bot.ErrorMessage(err), "countermeasure #1 has not been filed in the tracker yet") {
		t.Fatalf("close with an unfiled countermeasure = %v", err)
	}
	e.fake.Inject(nil)
	e.clock.Advance(time.Minute)
	e.deliver()
	e.run(alice, ch, "close")
	if inc := e.incident(id); inc.Status != bot.StatusClosed {
		t.Errorf("status = %s", inc.Status)
	}
}

// holdReview resolves the incident and holds its post-mortem, moving the
// clock past the meeting.
func holdReview(e *env, ch bot.Channel) {
	e.t.Helper()
	e.run(alice, ch, "resolve")
	when := e.clock.Now().Add(time.Hour)
	e.run(alice, ch, "postmortem schedule "+when.Format("2006-01-02 15:04")+" UTC")
	e.clock.Set(when.Add(time.Minute))
	e.run(alice, ch, "postmortem held @alice @bob -- the alert threshold was above the failure rate")
	e.deliver()
}

// TestNeverTwice files 50 countermeasures while 30% of GitHub's answers fail
// in each of the ways it fails: 500, the ambiguous ones (created, then 502,
// a cut connection, or no answer until the client times out), secondary and
// primary rate limits, 429. Halfway, the process restarts. Every
// countermeasure becomes exactly one issue.
func TestNeverTwice(t *testing.T) {
	e := newEnv(t, githubtest.Config{MaxPerPage: 7}) // the marker search pages
	e.timeout = 300 * time.Millisecond               // a hang is a timeout, not a stall
	e.restart()
	rng := rand.New(rand.NewPCG(42, 1024))
	var mu sync.Mutex
	hangs := 0
	faults := []githubtest.Fault{githubtest.Fail500, githubtest.Fail502After, githubtest.ResetAfter,
		githubtest.SecondaryLimit, githubtest.PrimaryLimit, githubtest.TooMany, githubtest.HangAfter}
	e.fake.Inject(func(r *http.Request) githubtest.Fault {
		mu.Lock()
		defer mu.Unlock()
		if rng.Float64() >= 0.3 {
			return githubtest.None
		}
		f := faults[rng.IntN(len(faults))]
		if f == githubtest.HangAfter {
			if hangs >= 3 { // each costs a real timeout
				f = githubtest.Fail502After
			}
			hangs++
		}
		return f
	})

	const incidents, per = 5, 10
	var ids []string
	for i := range incidents {
		id, ch := e.declare(fmt.Sprintf("Incident %d sev%d", i+1, i%4+1))
		ids = append(ids, id)
		for j := range per {
			e.run(alice, ch, fmt.Sprintf("action Add an alert for failure mode %d.%d @bob due 2026-04-%02d", i+1, j+1, j+1))
		}
	}
	passes := 0
	for ; len(e.effects()) > 0 && passes < 300; passes++ {
		if passes == 15 {
			e.restart()
		}
		if _, err := e.svc.Outbox().Tick(context.Background(), e.clock.Now()); err != nil {
			t.Fatalf("Outbox.Tick: %v", err)
		}
		e.clock.Advance(11 * time.Minute) // past any backoff or Retry-After
	}
	if left := e.effects(); len(left) > 0 {
		t.Fatalf("%d effects left after %d passes, e.g. %+v", len(left), passes, left[0])
	}
	issues := e.fake.Issues()
	if len(issues) != incidents*per {
		t.Errorf("%d issues for %d countermeasures", len(issues), incidents*per)
	}
	seen := map[string]int{}
	for _, is := range issues {
		key, _ := workflows.IssueKey(is.Body)
		seen[key]++
	}
	for _, id := range ids {
		inc := e.incident(id)
		for _, cm := range inc.Countermeasures {
			key := workflows.CountermeasureKey(id, cm.N)
			if seen[key] != 1 || cm.State != bot.CMFiled || cm.Issue == 0 {
				t.Errorf("%s: %d issues, countermeasure %+v", key, seen[key], cm)
			}
		}
	}
	if got := e.chat.since(0, "is filed: "); len(got) != incidents*per {
		t.Errorf("%d filing links posted, want %d", len(got), incidents*per)
	}
	f := e.fake.Faults()
	for _, want := range faults {
		if f[want] == 0 {
			t.Errorf("no %s fault was injected: %v", want, f)
		}
	}
	t.Logf("%d passes, faults %v", passes, f)
}

// TestCrashWhileCreating: the process dies while GitHub creates the issue
// (the answer never arrives, the failure is never recorded). After the
// restart the filing looks for the issue first and finds it.
func TestCrashWhileCreating(t *testing.T) {
	e := newEnv(t, githubtest.Config{})
	_, ch := e.declare("Disk full")
	e.run(alice, ch, "action Add an alert at 80% disk @bob due 2026-03-20")
	ctx, crash := context.WithCancel(context.Background())
	e.fake.Inject(func(r *http.Request) githubtest.Fault {
		if githubtest.IsCreateIssue(r) {
			crash()
			return githubtest.HangAfter
		}
		return githubtest.None
	})
	if _, err := e.svc.Outbox().Tick(ctx, e.clock.Now()); err == nil {
		t.Fatal("Outbox.Tick survived the crash")
	}
	if eff := e.effects(); len(eff) != 1 || eff[0].Attempts != 0 || !eff[0].Sent {
		t.Fatalf("after the crash: %+v, want the filing pending, unattempted as far as the store knows, but sent", eff)
	}
	e.fake.Inject(nil)
	e.restart()
	e.deliver()
	if n := len(e.fake.Issues()); n != 1 {
		t.Errorf("%d issues after the restart, want 1", n)
	}
	if cm := e.incident("INC-1").Countermeasures[0]; cm.State != bot.CMFiled || cm.Issue != 1 {
		t.Errorf("countermeasure = %+v", cm)
	}
}

// TestErrorMapping: each way GitHub fails maps to what the outbox does about
// it: wait as asked, back off, or give up.
func TestErrorMapping(t *testing.T) {
	e := newEnv(t, githubtest.Config{RetryAfter: 90 * time.Second})
	is := workflows.Issue{Title: "t", Body: workflows.IssueMarker("INC-1#1"), Labels: []string{"countermeasure"}}
	ctx := context.Background()
	for _, c := range []struct {
		fault     githubtest.Fault
		wantAfter time.Duration // 0: not a RetryAfterError
	}{
		{githubtest.PrimaryLimit, 90 * time.Second}, // X-RateLimit-Reset on the injected clock
		{githubtest.SecondaryLimit, 90 * time.Second},
		{githubtest.TooMany, 90 * time.Second},
		{githubtest.Fail500, 0},
		{githubtest.Fail502After, 0},
		{githubtest.ResetAfter, 0},
	} {
		e.fake.FailNext(1, c.fault, githubtest.IsCreateIssue)
		_, err := e.client.FileIssue(ctx, "INC-1#1", is, false)
		var ra *workflows.RetryAfterError
		var perm *workflows.PermanentError
		switch {
		case err == nil:
			t.Errorf("%s: no error", c.fault)
		case errors.As(err, &perm):
			t.Errorf("%s: permanent error %v", c.fault, err)
		case c.wantAfter != 0 && (!errors.As(err, &ra) || ra.After != c.wantAfter):
			t.Errorf("%s: %v, want retry after %s", c.fault, err, c.wantAfter)
		case c.wantAfter == 0 && errors.As(err, &ra):
			t.Errorf("%s: %v, want a plain error for backoff", c.fault, err)
		}
	}
	e.fake.Inject(nil)
	fc := e.fake.Config()
	for name, cfg := range map[string]github.Config{
		"bad token":       {Token: "nope", Repo: "acme/ops", APIURL: e.fake.URL},
		"wrong repo":      {Token: fc.Token, Repo: "acme/nope", APIURL: e.fake.URL},
		"wrong repo (pm)": {Token: fc.Token, Repo: "acme/nope", APIURL: e.fake.URL},
	} {
		c, err := github.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if name == "wrong repo (pm)" {
			_, err = c.Publish(ctx, "k", "postmortems/INC-1.md", workflows.TextDocument("x"), "m")
		} else {
			_, err = c.FileIssue(ctx, "INC-1#1", is, false)
		}
		var perm *workflows.PermanentError
		if !errors.As(err, &perm) {
			t.Errorf("%s: %v, want a permanent error", name, err)
		}
		if strings.Contains(fmt.Sprint(err), fc.Token) {
			t.Errorf("%s: the error shows the token: %v", name, err)
		}
	}
	if _, err := e.client.FileIssue(ctx, "INC-1#2", is, false); err == nil {
		t.Error("an issue without its marker was filed")
	}
}

// TestPublish: a close commits postmortems/INC-1.md; exporting again after
// the close updates it (with the file's sha) as a second commit instead of
// failing, and a retry that finds its content already there commits nothing.
func TestPublish(t *testing.T) {
	e := newEnv(t, githubtest.Config{})
	id, ch := e.declare("Checkout is down sev2")
	e.run(alice, ch, "action Make the canary stage mandatory @bob due 2026-03-16")
	e.deliver()
	holdReview(e, ch)
	e.run(alice, ch, "close")
	e.deliver()
	h := e.fake.FileHistory("postmortems/INC-1.md")
	if len(h) != 1 || !strings.Contains(h[0].Content, "# INC-1: Checkout is down") || h[0].Message != "Post-mortem of INC-1: Checkout is down" {
		t.Fatalf("history after close = %+v", h)
	}
	if got := timelineWith(e.timeline(id), "published the write-up: "+e.fake.FileURL("postmortems/INC-1.md")); len(got) != 1 {
		t.Errorf("publish not recorded in the timeline")
	}
	e.clock.Advance(time.Hour)
	e.run(alice, ch, "postmortem") // re-export after the close
	e.deliver()
	h = e.fake.FileHistory("postmortems/INC-1.md")
	if len(h) != 2 || h[0].SHA == h[1].SHA {
		t.Fatalf("history after re-export = %d versions, want 2 distinct", len(h))
	}
	// The countermeasure is done after the close: the published write-up
	// is updated with it.
	e.closeIssue(1, "bob")
	h = e.fake.FileHistory("postmortems/INC-1.md")
	if len(h) != 3 || !strings.Contains(h[2].Content, "| done |") {
		t.Errorf("history after the countermeasure is done = %d versions; last:\n%s", len(h), h[len(h)-1].Content)
	}
	// The same content again (a retry whose first attempt committed) makes
	// no empty commit.
	if _, err := e.client.Publish(context.Background(), "k", "postmortems/INC-1.md", workflows.TextDocument(h[2].Content), "again"); err != nil {
		t.Fatal(err)
	}
	if n := len(e.fake.FileHistory("postmortems/INC-1.md")); n != 3 {
		t.Errorf("identical publish committed: %d versions", n)
	}
}
