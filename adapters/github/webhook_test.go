package github_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/github"
	"github.com/debrief/debrief/adapters/github/githubtest"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows"
)

// filed declares an incident with one countermeasure owned by bob, due
// Wednesday 11 March, and files it as issue #1.
func filed(e *env) (string, bot.Channel) {
	e.t.Helper()
	id, ch := e.declare("Checkout is down sev2")
	e.run(alice, ch, "action Make the canary stage mandatory @bob due 2026-03-11")
	e.deliver()
	if cm := e.incident(id).Countermeasures[0]; cm.State != bot.CMFiled {
		e.t.Fatalf("countermeasure not filed: %+v", cm)
	}
	return id, ch
}

func reminders(e *env) []store.Reminder {
	e.t.Helper()
	var out []store.Reminder
	err := e.db.View(context.Background(), func(tx store.ReadTx) error {
		var err error
		out, err = tx.DueReminders(time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// lists returns the requests that list issues (the reconcile also asks,
// once, who the token is).
func lists(reqs []string) []string {
	var out []string
	for _, r := range reqs {
		if strings.HasPrefix(r, "GET /repos/") && strings.HasSuffix(r, "/issues") {
			out = append(out, r)
		}
	}
	return out
}

func hasNudge(e *env) bool {
	for _, r := range reminders(e) {
		if r.Kind == store.RemindCountermeasure {
			return true
		}
	}
	return false
}

// TestWebhookClose: a signed "closed" delivery marks the countermeasure
// done, records it, thanks the owner in the channel and stops the nudges;
// the same delivery again is handled once.
func TestWebhookClose(t *testing.T) {
	e := newEnv(t, githubtest.Config{})
	id, ch := filed(e)
	if !hasNudge(e) {
		t.Fatal("no nudge scheduled for the countermeasure")
	}
	base := e.chat.len()
	d := e.closeIssue(1, "octocat")

	inc := e.incident(id)
	if cm := inc.Countermeasures[0]; cm.State != bot.CMDone || cm.DoneAt.IsZero() {
		t.Errorf("countermeasure after close = %+v", cm)
	}
	done := timelineWith(e.timeline(id), "countermeasure #1 done: issue #1 closed by @octocat")
	if len(done) != 1 || done[0].Author.ID != "octocat" || done[0].Author.Platform != "github" {
		t.Errorf("timeline = %+v", done)
	}
	thanks := e.chat.since(base, "Thank you @bob: countermeasure #1 of INC-1 is done")
	if len(thanks) != 1 || !strings.HasPrefix(thanks[0], "post "+ch.ID) {
		t.Errorf("thanks = %q", thanks)
	}
	if hasNudge(e) {
		t.Error("the nudge survived the close")
	}
	// Redelivered (GitHub's "Redeliver" button), even after a restart:
	// nothing new.
	e.restart()
	if code := e.send(d); code != 200 {
		t.Errorf("redelivery = %d", code)
	}
	e.deliver()
	if n := len(timelineWith(e.timeline(id), "done: issue #1 closed")); n != 1 {
		t.Errorf("%d done entries after a redelivery", n)
	}
	if n := len(e.chat.since(base, "Thank you")); n != 1 {
		t.Errorf("%d thanks after a redelivery", n)
	}
	// Weeks later: no nudge ever comes.
	for range 30 {
		e.clock.Advance(24 * time.Hour)
		e.tick()
	}
	if got := e.chat.since(base, "direct bob"); len(got) != 0 {
		t.Errorf("nudges after the issue closed: %q", got)
	}
}

// TestWebhookRefused: forged, unsigned, mis-signed or oversized deliveries,
// and any delivery while no secret is configured, are refused and change
// nothing.
func TestWebhookRefused(t *testing.T) {
	e := newEnv(t, githubtest.Config{})
	id, _ := filed(e)
	e.fake.Update(1, func(is *githubtest.Issue) { is.State = "closed" })
	d := e.fake.IssueEvent("closed", 1, "mallory")
	before := len(e.timeline(id))
	ctx := context.Background()

	forged := d
	forged.Payload = bytes.Replace(d.Payload, []byte(`"mallory"`), []byte(`"octocat"`), 1)
	big := d
	big.Payload = append(bytes.Clone(d.Payload), bytes.Repeat([]byte(" "), github.MaxWebhookBody)...)
	for name, c := range map[string]struct {
		sig  string
		d    githubtest.Delivery
		want int
	}{
		"unsigned":         {"", d, http.StatusUnauthorized},
		"wrong secret":     {githubtest.Sign([]byte("guess"), d.Payload), d, http.StatusUnauthorized},
		"tampered payload": {githubtest.Sign(e.secret, d.Payload), forged, http.StatusUnauthorized},
		"not hex":          {"sha256=zz", d, http.StatusUnauthorized},
		"sha1 only":        {"sha1=" + strings.Repeat("0", 40), d, http.StatusUnauthorized},
		"oversized":        {githubtest.Sign(e.secret, big.Payload), big, http.StatusRequestEntityTooLarge},
	} {
		code, err := githubtest.SendSigned(ctx, e.hook.URL, c.d, c.sig)
		if err != nil || code != c.want {
			t.Errorf("%s: %d, %v; want %d", name, code, err, c.want)
		}
	}
	// A webhook without a secret configured refuses even a "valid"
	// unsigned delivery: unsigned would let anyone close countermeasures.
	open := &github.Webhook{Service: e.svc}
	for _, sig := range []string{"", githubtest.Sign(nil, d.Payload)} {
		req, _ := http.NewRequest(http.MethodPost, "/github/webhook", bytes.NewReader(d.Payload))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "issues")
		if sig != "" {
			req.Header.Set("X-Hub-Signature-256", sig)
		}
		rec := httptest.NewRecorder()
		open.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("no secret configured, signature %q: %d, want 401", sig, rec.Code)
		}
	}
	if cm := e.incident(id).Countermeasures[0]; cm.State != bot.CMFiled {
		t.Errorf("countermeasure changed by a refused delivery: %+v", cm)
	}
	if after := len(e.timeline(id)); after != before {
		t.Errorf("timeline grew from %d to %d", before, after)
	}
}

// TestWebhookIgnores: pings, other events, other actions and issues that
// are not countermeasures are answered 200 and change nothing.
func TestWebhookIgnores(t *testing.T) {
	e := newEnv(t, githubtest.Config{})
	id, _ := filed(e)
	before := len(e.timeline(id))
	if code := e.send(githubtest.Ping()); code != 200 {
		t.Errorf("ping = %d", code)
	}
	if code := e.send(githubtest.Delivery{ID: "x", Event: "push", Payload: []byte(`{"ref":"refs/heads/main"}`)}); code != 200 {
		t.Errorf("push = %d", code)
	}
	if code := e.send(e.fake.IssueEvent("labeled", 1, "octocat")); code != 200 {
		t.Errorf("labeled = %d", code)
	}
	// An issue without a marker is not a countermeasure.
	other := e.fake.IssueEvent("closed", 1, "octocat")
	other.Payload = bytes.Replace(other.Payload, []byte("debrief:countermeasure"), []byte("something:else"), 1)
	if code := e.send(other); code != 200 {
		t.Errorf("unknown issue = %d", code)
	}
	if code := e.send(githubtest.Delivery{ID: "y", Event: "issues", Payload: []byte(`{"action":`)}); code != http.StatusBadRequest {
		t.Errorf("malformed = %d", code)
	}
	if after := len(e.timeline(id)); after != before {
		t.Errorf("timeline grew from %d to %d", before, after)
	}
}

// TestWebhookEditsReopenAssign: the Due: line moves the due date and the
// nudges; reopening brings the nudges back; assignment is recorded; a late
// delivery older than what was applied is ignored.
func TestWebhookEditsReopenAssign(t *testing.T) {
	e := newEnv(t, githubtest.Config{})
	id, _ := filed(e)
	e.clock.Advance(time.Hour)
	e.fake.Update(1, func(is *githubtest.Issue) {
		is.Body = strings.Replace(is.Body, "Due: 2026-03-11", "Due: 2026-03-25", 1)
	})
	if code := e.send(e.fake.IssueEvent("edited", 1, "bob-gh")); code != 200 {
		t.Fatalf("edited = %d", code)
	}
	cm := e.incident(id).Countermeasures[0]
	if cm.Due != (bot.Date{Year: 2026, Month: 3, Day: 25}) {
		t.Errorf("due after edit = %s", cm.Due)
	}
	if got := timelineWith(e.timeline(id), "due date moved from 2026-03-11 to 2026-03-25 by @bob-gh"); len(got) != 1 {
		t.Errorf("due change not recorded")
	}
	for _, r := range reminders(e) {
		if r.Kind == store.RemindCountermeasure && !r.Due.Equal(time.Date(2026, 3, 23, 9, 0, 0, 0, time.UTC)) {
			t.Errorf("nudge at %s, want Monday 23 March 09:00 (two days before the new date)", r.Due)
		}
	}

	e.clock.Advance(time.Hour)
	e.fake.Update(1, func(is *githubtest.Issue) { is.Assignees = []string{"hubot"} })
	if code := e.send(e.fake.IssueEvent("assigned", 1, "octocat")); code != 200 {
		t.Fatal(code)
	}
	if cm := e.incident(id).Countermeasures[0]; cm.Assignee != "hubot" {
		t.Errorf("assignee = %q", cm.Assignee)
	}

	e.clock.Advance(time.Hour)
	closed := e.closeIssue(1, "hubot")
	e.clock.Advance(time.Hour)
	e.fake.Update(1, func(is *githubtest.Issue) { is.State = "open" })
	reopened := e.fake.IssueEvent("reopened", 1, "octocat")
	if code := e.send(reopened); code != 200 {
		t.Fatal(code)
	}
	if cm := e.incident(id).Countermeasures[0]; cm.State != bot.CMFiled || !hasNudge(e) {
		t.Errorf("after reopen: %+v, nudge %v", cm, hasNudge(e))
	}
	// The close's delivery arrives again late (GitHub redelivers in any
	// order): it is older than the reopen and changes nothing.
	if code := e.send(closed); code != 200 {
		t.Fatal(code)
	}
	stale := e.fake.IssueEvent("closed", 1, "octocat")
	stale.Payload = bytes.Replace(stale.Payload, []byte(`"state":"open"`), []byte(`"state":"closed"`), 1)
	stale.Payload = bytes.Replace(stale.Payload, []byte(e.clock.Now().UTC().Format(time.RFC3339)),
		[]byte(e.clock.Now().Add(-2*time.Hour).UTC().Format(time.RFC3339)), -1)
	if code := e.send(stale); code != 200 {
		t.Fatal(code)
	}
	if cm := e.incident(id).Countermeasures[0]; cm.State != bot.CMFiled {
		t.Errorf("a stale close was applied: %+v", cm)
	}
}

// TestReconcileCatchesMissedWebhook: GitHub never redelivers a failed
// webhook; the reconcile lists the countermeasure issues updated since the
// last sync, page by page, and applies what was missed, once.
func TestReconcileCatchesMissedWebhook(t *testing.T) {
	e := newEnv(t, githubtest.Config{MaxPerPage: 2})
	id, ch := e.declare("Checkout is down sev2")
	for i := 1; i <= 5; i++ {
		e.run(alice, ch, "action Add an alert for case "+string(rune('0'+i))+" @bob due 2026-03-11")
	}
	e.deliver()
	ctx := context.Background()
	if n, err := e.svc.Reconciler().Tick(ctx, e.clock.Now()); err != nil || n != 0 {
		t.Fatalf("first reconcile = %d, %v; want nothing to change", n, err)
	}
	base := e.chat.len()
	e.clock.Advance(time.Hour)
	// Closed on GitHub while debrief was down: no webhook arrives.
	e.fake.Update(4, func(is *githubtest.Issue) { is.State = "closed" })
	e.restart()
	before := len(e.fake.Requests())
	n, err := e.svc.Reconciler().Tick(ctx, e.clock.Now())
	if err != nil || n != 1 {
		t.Fatalf("reconcile = %d, %v; want the missed close", n, err)
	}
	e.deliver()
	if cm := e.incident(id).Countermeasures[3]; cm.State != bot.CMDone {
		t.Errorf("countermeasure #4 = %+v", cm)
	}
	if got := e.chat.since(base, "Thank you @bob: countermeasure #4"); len(got) != 1 {
		t.Errorf("thanks = %q", got)
	}
	// since is inclusive and the cursor was 10:00, when all five were
	// filed: three pages of two.
	if got := lists(e.fake.Requests()[before:]); len(got) != 3 {
		t.Errorf("reconcile requests = %q", got)
	}
	// The cursor moved to 11:00: the next sync lists #4 and what changed
	// after it, one page.
	e.clock.Advance(time.Hour)
	e.fake.Update(2, func(is *githubtest.Issue) { is.State = "closed" })
	before = len(e.fake.Requests())
	if n, err := e.svc.Reconciler().Tick(ctx, e.clock.Now()); err != nil || n != 1 {
		t.Fatalf("reconcile after #2 closed = %d, %v", n, err)
	}
	if got := lists(e.fake.Requests()[before:]); len(got) != 1 {
		t.Errorf("reconcile requests after the cursor moved = %q", got)
	}
	e.deliver()
	// Nothing new: nothing happens.
	if n, err := e.svc.Reconciler().Tick(ctx, e.clock.Now()); err != nil || n != 0 {
		t.Errorf("reconcile with nothing new = %d, %v", n, err)
	}
	if got := e.chat.since(base, "Thank you"); len(got) != 2 {
		t.Errorf("thanks after the reconciles = %q, want #4 and #2 once each", got)
	}
	// A webhook for the same close, late: nothing new either.
	if code := e.send(e.fake.IssueEvent("closed", 4, "bob")); code != 200 {
		t.Fatal(code)
	}
	if n := len(timelineWith(e.timeline(id), "countermeasure #4 done")); n != 1 {
		t.Errorf("%d done entries", n)
	}
}

// TestReconcileFromScratch: the first reconcile (no cursor) pages through
// every countermeasure issue.
func TestReconcileFromScratch(t *testing.T) {
	e := newEnv(t, githubtest.Config{MaxPerPage: 2})
	id, ch := e.declare("Checkout is down sev2")
	for i := 1; i <= 5; i++ {
		e.run(alice, ch, "action Add an alert for case "+string(rune('0'+i))+" @bob due 2026-03-11")
	}
	e.deliver()
	for _, n := range []int{1, 5} {
		e.fake.Update(n, func(is *githubtest.Issue) { is.State = "closed" })
	}
	before := len(e.fake.Requests())
	if n, err := e.svc.Reconciler().Tick(context.Background(), e.clock.Now()); err != nil || n != 2 {
		t.Fatalf("reconcile = %d, %v; want 2", n, err)
	}
	if pages := len(lists(e.fake.Requests()[before:])); pages != 3 {
		t.Errorf("%d list requests for 5 issues at 2 per page, want 3", pages)
	}
	var states []bot.CountermeasureState
	for _, cm := range e.incident(id).Countermeasures {
		states = append(states, cm.State)
	}
	want := []bot.CountermeasureState{bot.CMDone, bot.CMFiled, bot.CMFiled, bot.CMFiled, bot.CMDone}
	if !reflect.DeepEqual(states, want) {
		t.Errorf("states = %v, want %v", states, want)
	}
}

// TestFileUnfiled: countermeasures recorded before the tracker was
// configured are filed at the next start, once.
func TestFileUnfiled(t *testing.T) {
	e := newEnv(t, githubtest.Config{})
	e.svc.Tracker = nil // GitHub not configured yet
	_, ch := e.declare("Checkout is down sev2")
	e.run(alice, ch, "action Add an alert on checkout errors @bob due 2026-03-11")
	e.deliver()
	e.restart() // now it is
	for range 2 {
		if _, err := e.svc.FileUnfiled(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	e.deliver()
	if _, err := e.svc.FileUnfiled(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.deliver()
	if n := len(e.fake.Issues()); n != 1 {
		t.Errorf("%d issues, want 1", n)
	}
}

// TestWebhookSpoofedMarker: a signed delivery for someone else's issue
// whose body carries a copy of a countermeasure's marker and a new Due:
// line changes nothing, by webhook or by reconcile; the countermeasure's
// own issue still does. Before the countermeasure is tied to its issue,
// only an issue created by the bot's token counts.
func TestWebhookSpoofedMarker(t *testing.T) {
	e := newEnv(t, githubtest.Config{})
	id, _ := filed(e)
	own, _ := e.fake.Issue(1)
	spoof := strings.Replace(own.Body, "Due: 2026-03-11", "Due: 2027-01-01", 1)
	n := e.fake.Open("mallory", "totally unrelated", spoof, bot.IssueLabel)
	e.fake.Update(n, func(is *githubtest.Issue) { is.State = "closed" })
	before := len(e.timeline(id))
	if code := e.send(e.fake.IssueEvent("closed", n, "mallory")); code != 200 {
		t.Fatalf("spoofed delivery = %d, want 200 (ignored)", code)
	}
	e.deliver()
	if _, err := e.svc.Reconciler().Tick(context.Background(), e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	cm := e.incident(id).Countermeasures[0]
	if cm.State != bot.CMFiled || cm.Due.String() != "2026-03-11" || cm.Issue != 1 {
		t.Errorf("countermeasure after a spoofed marker = %+v", cm)
	}
	if after := len(e.timeline(id)); after != before {
		t.Errorf("timeline grew from %d to %d: %+v", before, after, e.timeline(id)[before:])
	}
	// The real issue still closes it.
	e.closeIssue(1, "octocat")
	if cm := e.incident(id).Countermeasures[0]; cm.State != bot.CMDone {
		t.Errorf("own issue's close ignored: %+v", cm)
	}
}

// TestWebhookMarkerBeforeFiling: while a countermeasure is not yet tied to
// an issue (its filing not yet delivered), an issue someone else created
// with its marker does not tie it; the filing then creates the real one.
func TestWebhookMarkerBeforeFiling(t *testing.T) {
	e := newEnv(t, githubtest.Config{})
	id, ch := e.declare("Checkout is down sev2")
	e.run(alice, ch, "action Make the canary stage mandatory @bob due 2026-03-11")
	body := "spoof\n\nDue: 2026-03-11\n\n" + workflows.IssueMarker(workflows.CountermeasureKey(id, 1)) + "\n"
	n := e.fake.Open("mallory", "spoof", body, bot.IssueLabel)
	e.fake.Update(n, func(is *githubtest.Issue) { is.State = "closed" })
	if code := e.send(e.fake.IssueEvent("closed", n, "mallory")); code != 200 {
		t.Fatalf("spoofed delivery = %d", code)
	}
	if _, err := e.svc.Reconciler().Tick(context.Background(), e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if cm := e.incident(id).Countermeasures[0]; cm.Issue != 0 || cm.State == bot.CMDone {
		t.Fatalf("countermeasure tied to mallory's issue: %+v", cm)
	}
	e.deliver()
	cm := e.incident(id).Countermeasures[0]
	if cm.Issue == n || cm.Issue == 0 || cm.State != bot.CMFiled {
		t.Errorf("after filing: %+v (mallory's is #%d)", cm, n)
	}
}
