package github_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/github/githubtest"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

// refuse runs text as u in ch and returns its error, failing the test
// when it succeeds or has another code than want.
func (e *env) refuse(u bot.User, ch bot.Channel, text, want string) error {
	e.t.Helper()
	cmd, err := bot.Parse(text)
	if err != nil {
		e.t.Fatalf("Parse(%q): %v", text, err)
	}
	_, err = e.svc.Handle(context.Background(), u, ch, cmd)
	if bot.ErrorCode(err) != want {
		e.t.Fatalf("%s: %q = %v, want %s", u.ID, text, err, want)
	}
	return err
}

// TestWebhookNotPlanned: an issue closed as not planned (state_reason
// not_planned, as GitHub's "Close as not planned" sends it) drops the
// countermeasure: not done, said in the channel, nudges stopped; reopened,
// it is filed again and nudged; closed as completed after, it is done.
func TestWebhookNotPlanned(t *testing.T) {
	e := newEnv(t, githubtest.Config{})
	id, ch := filed(e)
	base := e.chat.len()
	e.clock.Advance(time.Hour)
	e.fake.Update(1, func(is *githubtest.Issue) { is.State, is.StateReason = "closed", "not_planned" })
	d := e.fake.IssueEvent("closed", 1, "octocat")
	var payload struct {
		Issue struct {
			StateReason string `json:"state_reason"`
		} `json:"issue"`
	}
	if err := json.Unmarshal(d.Payload, &payload); err != nil || payload.Issue.StateReason != "not_planned" {
		t.Fatalf("the delivery does not say not_planned: %s", d.Payload)
	}
	if code := e.send(d); code != 200 {
		t.Fatalf("webhook = %d", code)
	}
	e.deliver()
	cm := e.incident(id).Countermeasures[0]
	if cm.State != bot.CMDropped || cm.DroppedAt.IsZero() || !cm.DoneAt.IsZero() {
		t.Errorf("countermeasure closed as not planned = %+v, want dropped and not done", cm)
	}
	if got := timelineWith(e.timeline(id), "countermeasure #1 dropped: issue #1 closed as not planned by @octocat"); len(got) != 1 {
		t.Errorf("timeline = %+v", e.timeline(id))
	}
	if got := e.chat.since(base, "Countermeasure #1 of INC-1 is dropped"); len(got) != 1 || !strings.HasPrefix(got[0], "post "+ch.ID) {
		t.Errorf("channel told = %q", got)
	}
	if got := e.chat.since(base, "Thank you"); len(got) != 0 {
		t.Errorf("thanked for a dropped countermeasure: %q", got)
	}
	if hasNudge(e) {
		t.Error("a dropped countermeasure is still nudged")
	}
	if r := e.run(alice, ch, "actions"); !strings.Contains(r.Text, "#1 [dropped]") {
		t.Errorf("actions = %q", r.Text)
	}
	// Redelivered: once.
	if code := e.send(d); code != 200 || len(timelineWith(e.timeline(id), "dropped")) != 1 {
		t.Errorf("redelivery = %d; dropped entries %d", code, len(timelineWith(e.timeline(id), "dropped")))
	}

	e.clock.Advance(time.Hour)
	e.fake.Update(1, func(is *githubtest.Issue) { is.State = "open" })
	if code := e.send(e.fake.IssueEvent("reopened", 1, "octocat")); code != 200 {
		t.Fatal(code)
	}
	if cm := e.incident(id).Countermeasures[0]; cm.State != bot.CMFiled || !cm.DroppedAt.IsZero() || !hasNudge(e) {
		t.Errorf("reopened = %+v (nudged %v), want filed and nudged", cm, hasNudge(e))
	}
	e.clock.Advance(time.Hour)
	e.closeIssue(1, "octocat") // completed
	if cm := e.incident(id).Countermeasures[0]; cm.State != bot.CMDone {
		t.Errorf("closed as completed = %+v", cm)
	}
}

// twoFiled declares an incident with two countermeasures owned by bob,
// filed as issues #1 and #2.
func twoFiled(e *env) (string, bot.Channel) {
	e.t.Helper()
	id, ch := e.declare("Checkout is down sev2")
	e.run(alice, ch, "action Make the canary stage mandatory @bob due 2026-03-11")
	e.run(alice, ch, "action Alert on the queue's age @bob due 2026-03-13")
	e.deliver()
	for _, cm := range e.incident(id).Countermeasures {
		if cm.State != bot.CMFiled {
			e.t.Fatalf("countermeasure not filed: %+v", cm)
		}
	}
	return id, ch
}

// TestWebhookTransferred: a transferred delivery (changes.new_issue and
// changes.new_repository, as GitHub sends it) moves the countermeasure to
// its issue's new repository and number; events from there (an
// organisation's webhook) then close it, while the same number in a third
// repository, marker copied, changes nothing.
func TestWebhookTransferred(t *testing.T) {
	e := newEnv(t, githubtest.Config{})
	id, ch := twoFiled(e)
	base := e.chat.len()
	e.clock.Advance(time.Hour)
	n := e.fake.Transfer(2, "acme/platform")
	if n != 1 {
		t.Fatalf("transferred issue is #%d in acme/platform, want #1", n)
	}
	d := e.fake.TransferEvent(2, "octocat")
	if !strings.Contains(string(d.Payload), `"new_issue"`) || !strings.Contains(string(d.Payload), `"new_repository"`) {
		t.Fatalf("payload = %s", d.Payload)
	}
	if code := e.send(d); code != 200 {
		t.Fatalf("webhook = %d", code)
	}
	e.deliver()
	cm := e.incident(id).Countermeasures[1]
	want := e.fake.URL + "acme/platform/issues/1"
	if cm.Issue != 1 || cm.Repo != "acme/platform" || cm.Tracker != want || cm.State != bot.CMFiled {
		t.Errorf("countermeasure #2 after the transfer = %+v, want acme/platform#1 at %s", cm, want)
	}
	if got := timelineWith(e.timeline(id), "countermeasure #2: its issue #2 was transferred to acme/platform#1 by @octocat"); len(got) != 1 {
		t.Errorf("timeline = %+v", e.timeline(id))
	}
	if got := e.chat.since(base, "Countermeasure #2 of INC-1 is now tracked in "+want); len(got) != 1 || !strings.HasPrefix(got[0], "post "+ch.ID) {
		t.Errorf("channel told = %q", got)
	}
	if code := e.send(d); code != 200 || len(timelineWith(e.timeline(id), "transferred")) != 1 {
		t.Errorf("redelivery = %d, recorded twice", code)
	}
	// Countermeasure #1 still lives at acme/ops#1: a close of acme/ops#1
	// is its, and not #2's (also #1, in acme/platform).
	e.clock.Advance(time.Hour)
	e.closeIssue(1, "octocat")
	inc := e.incident(id)
	if inc.Countermeasures[0].State != bot.CMDone || inc.Countermeasures[1].State != bot.CMFiled {
		t.Errorf("after closing acme/ops#1: %+v", inc.Countermeasures)
	}
	// A copy of #2's marker on issue #1 of some other repository.
	spoof := e.fake.IssueEventIn("acme/platform", "closed", 1, "mallory")
	spoof.Payload = []byte(strings.ReplaceAll(string(spoof.Payload), "acme/platform", "evil/fork"))
	if code := e.send(spoof); code != 200 || e.incident(id).Countermeasures[1].State != bot.CMFiled {
		t.Errorf("a close in evil/fork = %d, countermeasure %+v", code, e.incident(id).Countermeasures[1])
	}
	// Closed where it lives now.
	e.fake.UpdateIn("acme/platform", 1, func(is *githubtest.Issue) { is.State = "closed" })
	if code := e.send(e.fake.IssueEventIn("acme/platform", "closed", 1, "octocat")); code != 200 {
		t.Fatal(code)
	}
	if cm := e.incident(id).Countermeasures[1]; cm.State != bot.CMDone {
		t.Errorf("closed in acme/platform = %+v", cm)
	}
	if hasNudge(e) {
		t.Error("nudges survive both closes")
	}
}

// TestWebhookDeleted: a deleted delivery tells the owner in the channel,
// keeps no dead link, and lets action done or action drop settle the
// countermeasure although GitHub is configured; its nudges say how, and
// stop once it is settled.
func TestWebhookDeleted(t *testing.T) {
	e := newEnv(t, githubtest.Config{})
	id, ch := twoFiled(e)
	// Before the deletion the issue is the record.
	e.refuse(bob, ch, "action done 1", bot.ECONFLICT)
	base := e.chat.len()
	e.fake.Delete(1)
	if code := e.send(e.fake.IssueEvent("deleted", 1, "admin")); code != 200 {
		t.Fatal(code)
	}
	e.deliver()
	cm := e.incident(id).Countermeasures[0]
	if !cm.IssueGone || cm.Tracker != "" || cm.State != bot.CMFiled {
		t.Errorf("countermeasure after its issue was deleted = %+v", cm)
	}
	if got := timelineWith(e.timeline(id), "countermeasure #1: its issue #1 was deleted by @admin"); len(got) != 1 {
		t.Errorf("timeline = %+v", e.timeline(id))
	}
	told := e.chat.since(base, "@bob: the issue of countermeasure #1 of INC-1")
	if len(told) != 1 || !strings.HasPrefix(told[0], "post "+ch.ID) || !strings.Contains(told[0], "/incident action done INC-1#1") {
		t.Errorf("owner told = %q", told)
	}
	if r := e.run(alice, ch, "actions"); !strings.Contains(r.Text, "(its issue was deleted: action done or action drop INC-1#1 settles it)") {
		t.Errorf("actions = %q", r.Text)
	}
	// The nudge on its day says how to settle it.
	e.clock.Set(time.Date(2026, 3, 11, 9, 0, 0, 0, time.UTC))
	e.tick()
	if got := e.chat.since(base, "direct bob Countermeasure #1 of INC-1 is due today"); len(got) != 1 || !strings.Contains(got[0], "action done INC-1#1") {
		t.Errorf("nudge = %q", got)
	}
	// The other one is still GitHub's.
	e.refuse(bob, ch, "action drop 2", bot.ECONFLICT)
	r := e.run(bob, general, "action drop INC-1#1")
	if !strings.Contains(r.Text, "Countermeasure #1 of INC-1 is dropped") {
		t.Errorf("reply = %q", r.Text)
	}
	e.deliver()
	if cm := e.incident(id).Countermeasures[0]; cm.State != bot.CMDropped {
		t.Errorf("dropped by hand = %+v", cm)
	}
	after := e.chat.len()
	for range 10 {
		e.clock.Advance(24 * time.Hour)
		e.tick()
	}
	if got := e.chat.since(after, "Countermeasure #1 of INC-1"); len(got) != 0 {
		t.Errorf("nudged after it was dropped: %q", got)
	}
}

// TestReconcileMovedAndDeleted: with no webhook at all, the reconcile
// reads the issues it cannot list: GitHub's 301 for a transferred issue is
// followed to its new repository and number, a 410 is a deleted issue.
// Transferred ones are read at every tick after that, so their close is
// seen; the rest only every workflows.SweepEvery.
func TestReconcileMovedAndDeleted(t *testing.T) {
	e := newEnv(t, githubtest.Config{})
	id, ch := twoFiled(e)
	ctx := context.Background()
	base := e.chat.len()
	e.clock.Advance(time.Hour)
	e.fake.Delete(1)
	e.fake.Transfer(2, "acme/platform")
	e.restart()
	before := len(e.fake.Requests())
	n, err := e.svc.Reconciler().Tick(ctx, e.clock.Now())
	if err != nil || n != 2 {
		t.Fatalf("reconcile = %d, %v; want the deletion and the transfer", n, err)
	}
	e.deliver()
	reqs := strings.Join(e.fake.Requests()[before:], "\n")
	for _, want := range []string{"GET /repos/acme/ops/issues/1", "GET /repos/acme/ops/issues/2", "GET /repos/acme/platform/issues/1"} {
		if !strings.Contains(reqs, want) {
			t.Errorf("requests lack %q:\n%s", want, reqs)
		}
	}
	inc := e.incident(id)
	if cm := inc.Countermeasures[0]; !cm.IssueGone || cm.Tracker != "" {
		t.Errorf("deleted = %+v", cm)
	}
	if cm := inc.Countermeasures[1]; cm.Repo != "acme/platform" || cm.Issue != 1 {
		t.Errorf("transferred = %+v", cm)
	}
	if got := e.chat.since(base, "@bob: the issue of countermeasure #1 of INC-1"); len(got) != 1 || !strings.HasPrefix(got[0], "post "+ch.ID) {
		t.Errorf("owner told = %q", got)
	}
	// Closed in its new repository: the next tick reads it there, and
	// only there (no sweep for another 6 hours).
	e.clock.Advance(10 * time.Minute)
	e.fake.UpdateIn("acme/platform", 1, func(is *githubtest.Issue) { is.State, is.StateReason = "closed", "not_planned" })
	before = len(e.fake.Requests())
	if n, err := e.svc.Reconciler().Tick(ctx, e.clock.Now()); err != nil || n != 1 {
		t.Fatalf("reconcile after the close in acme/platform = %d, %v", n, err)
	}
	if cm := e.incident(id).Countermeasures[1]; cm.State != bot.CMDropped {
		t.Errorf("closed as not planned in acme/platform = %+v", cm)
	}
	for _, r := range e.fake.Requests()[before:] {
		if strings.HasPrefix(r, "GET /repos/acme/ops/issues/") {
			t.Errorf("swept again within %s: %s", workflows.SweepEvery, r)
		}
	}
	// Nothing new: nothing changes, nothing is said twice.
	if n, err := e.svc.Reconciler().Tick(ctx, e.clock.Now()); err != nil || n != 0 {
		t.Errorf("reconcile with nothing new = %d, %v", n, err)
	}
	if got := e.chat.since(base, "was deleted"); len(got) != 1 {
		t.Errorf("told %d times: %q", len(got), got)
	}
}

// TestWebhookTransferredMalformed: a signed transferred delivery without
// changes.new_issue is refused with 400 and changes nothing.
func TestWebhookTransferredMalformed(t *testing.T) {
	e := newEnv(t, githubtest.Config{})
	id, _ := filed(e)
	before := e.incident(id).Countermeasures[0]
	d := e.fake.IssueEvent("transferred", 1, "octocat") // no changes object
	if code := e.send(d); code != 400 {
		t.Errorf("transferred without changes.new_issue = %d, want 400", code)
	}
	if after := e.incident(id).Countermeasures[0]; after != before {
		t.Errorf("countermeasure changed: %+v -> %+v", before, after)
	}
	if got := timelineWith(e.timeline(id), "transferred"); len(got) != 0 {
		t.Errorf("timeline = %+v", got)
	}
}
