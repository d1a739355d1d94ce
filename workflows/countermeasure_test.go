package workflows_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

// TestActionRefusals: a countermeasure is refused, with the reason and
// nothing changed, when it has no owner or due date, is due in the past, or
// is not a countermeasure at all.
func TestActionRefusals(t *testing.T) {
	e := newEnv(t)
	inc, ch := e.declare("Checkout is down")
	before, beforeTL := e.incident(inc.ID), e.timeline(inc.ID)
	for _, c := range []struct {
		text string
		want string // in the reply
	}{
		{"action add a canary stage due 2026-03-20", "Missing the owner"},
		{"action add a canary stage @bob", "Missing the due date"},
		{"action add a canary stage @bob due 2026-03-01", "has passed: today is 2026-03-02"},
		{"action Be more careful @bob due 2026-03-20", "is not a countermeasure: it asks people to be careful"},
		{"action pay more attention to the dashboards @bob due 2026-03-20", "asks people to pay attention"},
		{"action Don't do that again @bob due 2026-03-20", "asks people to not do it again"},
		{"action be less stupid @bob due 2026-03-20", "asks people to be smarter"},
		{"action Retrain the on-call @bob due 2026-03-20", "asks people to be trained again"},
		{"action Double-check the config @bob due 2026-03-20", "asks people to check again by hand"},
	} {
		r := e.svc.Execute(context.Background(), alice, ch, c.text)
		if !r.Ephemeral || !strings.Contains(r.Text, c.want) {
			t.Errorf("%q: reply %q, want an ephemeral refusal containing %q", c.text, r.Text, c.want)
		}
		if strings.Contains(c.want, "not a countermeasure") && !strings.Contains(r.Text, "an automated test, an alert, a review rule, or a game-day rehearsal") {
			t.Errorf("%q: reply %q does not suggest real countermeasures", c.text, r.Text)
		}
	}
	if after := e.incident(inc.ID); !reflect.DeepEqual(after, before) {
		t.Errorf("incident changed:\n got %+v\nwant %+v", after, before)
	}
	if after := e.timeline(inc.ID); len(after) != len(beforeTL) {
		t.Errorf("timeline grew from %d to %d", len(beforeTL), len(after))
	}
}

// mentions returns the posts since call index from that mention who: how
// nudges reach people on a chat that cannot message them directly.
func (e *env) mentions(from int, who string) []string {
	return e.posts(from, "@"+who+" ")
}

// TestNudgesWithoutTracker: with no tracker, the owner is nudged in the
// incident channel (this chat cannot message people directly), told how to
// mark it done; action done stops the nudges. Once the incident is closed
// and archived, nudges go to the announcement channel.
func TestNudgesWithoutTracker(t *testing.T) {
	e := newEnv(t)
	e.cfg.Announce = map[bot.Platform]string{bot.Console: "incidents"}
	e.restart()
	inc, ch := e.declare("Queue stuck")
	e.run(alice, ch, "action Add an alert on queue age @bob due 2026-03-04") // a Wednesday
	e.run(alice, ch, "action Add a dead-letter queue @carol due 2026-03-05")
	base := len(e.chat.Calls())
	e.clock.Advance(23 * time.Hour) // Tuesday 09:00 UTC: carol's heads-up; bob's passed before he got the action
	e.tick()
	if got := e.mentions(base, "carol"); len(got) != 1 || !strings.HasPrefix(got[0], "post "+ch.ID+" @carol Heads-up: countermeasure #2 of INC-1 is due in 2 days") {
		t.Errorf("carol's heads-up = %q", got)
	}
	if got := e.mentions(base, "bob"); len(got) != 0 {
		t.Errorf("bob nudged on Tuesday: %q", got)
	}
	e.clock.Advance(24 * time.Hour) // Wednesday 09:00: bob's due day
	e.tick()
	got := e.mentions(base, "bob")
	if len(got) != 1 || !strings.HasPrefix(got[0], "post "+ch.ID+" @bob Countermeasure #1 of INC-1 is due today") ||
		!strings.Contains(got[0], "/incident action done 1") {
		t.Fatalf("bob's nudge = %q", got)
	}
	e.run(bob, ch, "action done 1")

	// Close the incident; carol's nudge now goes to #incidents.
	e.run(alice, ch, "resolve")
	e.run(alice, ch, "postmortem schedule 2026-03-04 10:00 UTC")
	e.clock.Advance(time.Hour + time.Minute)
	e.run(alice, ch, "postmortem held @alice @bob @carol -- the queue had no age alert")
	e.run(alice, ch, "close")
	e.deliver()
	base = len(e.chat.Calls())
	e.clock.Advance(22*time.Hour + 59*time.Minute) // Thursday 09:00: carol's due day
	e.tick()
	if got := e.mentions(base, "bob"); len(got) != 0 {
		t.Errorf("nudges after action done: %q", got)
	}
	if got := e.mentions(base, "carol"); len(got) != 1 || !strings.HasPrefix(got[0], "post incidents @carol Countermeasure #2 of INC-1 is due today") {
		t.Errorf("nudge after close = %q, want it in #incidents", got)
	}
	if inc := e.incident(inc.ID); inc.Countermeasures[0].State != bot.CMDone {
		t.Errorf("countermeasure #1 = %+v", inc.Countermeasures[0])
	}
}

// trackerStub files nothing: it makes the service behave as configured with
// a tracker.
type trackerStub struct{}

func (trackerStub) FileIssue(ctx context.Context, key string, is workflows.Issue, retry bool) (workflows.IssueState, error) {
	return workflows.IssueState{}, context.DeadlineExceeded
}

func (trackerStub) UpdatedIssues(ctx context.Context, since time.Time) ([]workflows.IssueState, error) {
	return nil, nil
}

// TestActionDoneWithTracker: with a tracker, the issue is the record, so
// action done is refused with where to close it instead.
func TestActionDoneWithTracker(t *testing.T) {
	e := newEnv(t)
	e.svc.Tracker = trackerStub{}
	_, ch := e.declare("Queue stuck")
	r := e.run(alice, ch, "action Add an alert on queue age @bob due 2026-03-04")
	if !strings.Contains(r.Text, "Filing it as an issue") {
		t.Errorf("reply = %q", r.Text)
	}
	err := e.refuse(bob, ch, "action done 1", bot.ECONFLICT)
	if !strings.Contains(bot.ErrorMessage(err), "close the issue once it is there") {
		t.Errorf("refusal = %q", bot.ErrorMessage(err))
	}
	eff := e.effects()
	if len(eff) != 1 || eff[0].Kind != (workflows.FileIssue{}).EffectKind() || eff[0].Key != "INC-1#1" || eff[0].Lane != "github/INC-1" {
		t.Fatalf("effects = %+v, want the filing", eff)
	}
}

// TestDigest: the weekly digest lists what is not done, overdue first, in
// each platform's announcement channel, and nothing when all is done.
func TestDigest(t *testing.T) {
	e := newEnv(t)
	e.cfg.Announce = map[bot.Platform]string{bot.Console: "incidents"}
	e.restart()
	_, ch1 := e.declare("Queue stuck")
	e.run(alice, ch1, "action Add an alert on queue age @bob due 2026-03-04")
	e.run(alice, ch1, "action Add a dead-letter queue @carol due 2026-03-20")
	_, ch2 := e.declare("Login errors")
	e.run(alice, ch2, "action Add a login canary @alice due 2026-03-06")
	e.run(alice, ch2, "action Rate limit the login endpoint @bob due 2026-03-05")
	e.run(bob, ch2, "action done 2")
	e.deliver()
	base := len(e.chat.Calls())
	now := time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC) // the next Monday
	e.clock.Advance(now.Sub(e.clock.Now()))
	if n, err := e.svc.Digests("").Tick(context.Background(), now); err != nil || n != 1 {
		t.Fatalf("Digest = %d, %v", n, err)
	}
	e.deliver()
	got := e.posts(base, "Countermeasures not done yet")
	if len(got) != 1 {
		t.Fatalf("digests = %q", got)
	}
	want := "post incidents Countermeasures not done yet, as of 2026-03-09: 3, 2 overdue.\n" +
		"Overdue:\n" +
		"- INC-1 #1 Add an alert on queue age (owner @bob, due 2026-03-04), 5 days overdue\n" +
		"- INC-2 #1 Add a login canary (owner @alice, due 2026-03-06), 3 days overdue\n" +
		"Open:\n" +
		"- INC-1 #2 Add a dead-letter queue (owner @carol, due 2026-03-20)"
	if got[0] != want {
		t.Errorf("digest:\n%s\nwant:\n%s", got[0], want)
	}
	for _, c := range []struct {
		ch bot.Channel
		n  int
	}{{ch1, 1}, {ch1, 2}, {ch2, 1}} {
		e.run(alice, c.ch, "action done "+string(rune('0'+c.n)))
	}
	if n, err := e.svc.Digests("").Tick(context.Background(), now.Add(7*24*time.Hour)); err != nil || n != 0 {
		t.Errorf("Digest with everything done = %d, %v; want none", n, err)
	}
}

// TestIssueMarkerAndDue parses what the issue body carries.
func TestIssueMarkerAndDue(t *testing.T) {
	body := "Countermeasure #3\n\nOwner: @bob\n**Due:** 2026-04-01\n\n" + workflows.IssueMarker("INC-42#3") + "\n"
	key, ok := workflows.IssueKey(body)
	if !ok || key != "INC-42#3" {
		t.Errorf("IssueKey = %q, %v", key, ok)
	}
	if id, n, ok := workflows.ParseCountermeasureKey(key); !ok || id != "INC-42" || n != 3 {
		t.Errorf("ParseCountermeasureKey(%q) = %q, %d, %v", key, id, n, ok)
	}
	if d, ok := workflows.IssueDue(body); !ok || d != (bot.Date{Year: 2026, Month: 4, Day: 1}) {
		t.Errorf("IssueDue = %s, %v", d, ok)
	}
	for _, bad := range []string{"INC-42", "INC-x#1", "INC-4#0", "#3", ""} {
		if _, _, ok := workflows.ParseCountermeasureKey(bad); ok {
			t.Errorf("ParseCountermeasureKey(%q) accepted", bad)
		}
	}
	for _, b := range []string{"no due line", "Due: 2026-02-30", "Overdue: 2026-04-01", "The due: 2026-04-01 line is not at the start"} {
		if d, ok := workflows.IssueDue(b); ok {
			t.Errorf("IssueDue(%q) = %s", b, d)
		}
	}
}

// TestTrackerRequiresFiling: configuring a tracker is enough for the close
// gate to demand that every countermeasure be filed; nothing in the
// configuration has to switch it on.
func TestTrackerRequiresFiling(t *testing.T) {
	e := newEnv(t)
	if e.cfg.Policy.RequireFiled {
		t.Fatal("the default policy already requires filing")
	}
	e.svc.Tracker = trackerStub{}
	_, ch := e.resolved("Unfiled countermeasure")
	e.run(alice, ch, "action add a canary stage @bob due 2026-03-20")
	e.run(alice, ch, "postmortem schedule 2026-03-02 12:00 UTC")
	e.clock.Advance(3 * time.Hour)
	e.run(alice, ch, "postmortem held @alice @bob -- the deploy went out without a canary")
	msg := bot.ErrorMessage(e.refuse(alice, ch, "close", bot.ECONFLICT))
	if !strings.Contains(msg, "countermeasure #1 has not been filed in the tracker yet") {
		t.Errorf("refusal = %q, want the unfiled countermeasure", msg)
	}
}

// TestDigestYearAgo: the digest lists the incidents declared a year ago
// this week, with links into the archive, even when no countermeasure is
// open; incidents of other weeks are not listed.
func TestDigestYearAgo(t *testing.T) {
	e := newEnv(t)
	e.cfg.Announce = map[bot.Platform]string{bot.Console: "incidents"}
	e.cfg.ArchiveURL = "https://debrief.example.com/"
	e.restart()
	start := e.clock.Now()
	e.declare("Queue stuck")
	e.clock.Advance(20 * 24 * time.Hour)
	e.declare("Login errors")
	e.deliver()
	base := len(e.chat.Calls())
	now := start.AddDate(1, 0, -2)
	e.clock.Advance(now.Sub(e.clock.Now()))
	if n, err := e.svc.Digests("").Tick(context.Background(), now); err != nil || n != 1 {
		t.Fatalf("Digest = %d, %v", n, err)
	}
	e.deliver()
	got := e.posts(base, "A year ago this week")
	want := fmt.Sprintf("post incidents A year ago this week:\n- INC-1 Queue stuck (SEV3, declared %s) https://debrief.example.com/incidents/INC-1", bot.DateOf(start))
	if len(got) != 1 || got[0] != want {
		t.Errorf("digest = %q, want %q", got, want)
	}
}
