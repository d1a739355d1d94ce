package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows"
)

func alertNotice(key string, action workflows.AlertAction, alerts ...workflows.Alert) workflows.AlertNotice {
	for i := range alerts {
		alerts[i].Action = action
		if alerts[i].Labels == nil {
			alerts[i].Labels = map[string]string{"alertname": alerts[i].Name, "instance": "db-3"}
		}
		if alerts[i].Fingerprint == "" {
			alerts[i].Fingerprint = "fp-" + alerts[i].Name
		}
	}
	return workflows.AlertNotice{Source: "alertmanager", Key: key, Alerts: alerts, Link: "http://am.example"}
}

func (e *env) alerts(n workflows.AlertNotice) workflows.AlertOutcome {
	e.t.Helper()
	out, err := e.svc.Alerts(context.Background(), n)
	if err != nil {
		e.t.Fatalf("Alerts(%s): %v", n.Key, err)
	}
	return out
}

func alertTexts(tl []bot.TimelineEvent) []string {
	var out []string
	for _, ev := range tl {
		if ev.Author.ID == "alertmanager" && ev.Kind == bot.EventBot {
			text, _, _ := strings.Cut(ev.Text, " (http")
			out = append(out, text)
		}
	}
	return out
}

// TestAlertRepeatAndRedelivery: the same notification within the
// redelivery window is stored once; after it, it is a repeat, noted.
func TestAlertRepeatAndRedelivery(t *testing.T) {
	e := newEnv(t)
	started := e.clock.Now().Add(-9 * time.Minute)
	n := alertNotice("g1", workflows.AlertDeclare, workflows.Alert{Name: "HighErrorRate", Summary: "5xx above 5%", Firing: true, StartsAt: started, Severity: bot.SEV1})
	out := e.alerts(n)
	if out.IncidentID != "INC-1" || out.Duplicate {
		t.Fatalf("first notice = %+v, want INC-1", out)
	}
	e.clock.Advance(time.Minute)
	if out := e.alerts(n); !out.Duplicate || out.IncidentID != "INC-1" {
		t.Errorf("redelivery = %+v, want a duplicate", out)
	}
	e.clock.Advance(4 * time.Hour) // Alertmanager's default repeat_interval
	if out := e.alerts(n); out.Duplicate || out.Entries != 1 {
		t.Errorf("repeat = %+v, want one entry", out)
	}
	inc, err := e.svc.Incident(context.Background(), "INC-1")
	if err != nil {
		t.Fatal(err)
	}
	if !inc.StartedAt.Equal(started) || !inc.DetectedAt.Equal(e.clock.Now().Add(-4*time.Hour-time.Minute)) {
		t.Errorf("INC-1 started %v detected %v; want the alert's start and the first arrival", inc.StartedAt, inc.DetectedAt)
	}
	if _, ok := inc.Role(bot.Commander); ok || inc.Severity != bot.SEV1 || inc.Title != "5xx above 5%" {
		t.Errorf("INC-1 = %+v; want no commander, SEV1, the summary as title", inc)
	}
	got := strings.Join(alertTexts(e.timeline("INC-1")), "\n")
	want := "alert firing: HighErrorRate — 5xx above 5%\nalert still firing: 1 of " + workflows.GroupID("alertmanager", "g1") + "'s alerts (repeat)"
	if got != want {
		t.Errorf("alert entries =\n%s\nwant\n%s", got, want)
	}
	sigs, err := e.svc.Signals(context.Background())
	if err != nil || len(sigs) != 1 || sigs[0].Count != 1 || len(sigs[0].IncidentIDs) != 1 {
		t.Errorf("signals = %+v, %v; want one firing, counted once, declared", sigs, err)
	}
}

// TestAlertSuggestAndSignal: suggest posts one Declare offer; signals only
// count, once per firing; declare --from opens the group with its times.
func TestAlertSuggestAndSignal(t *testing.T) {
	e := newEnv(t)
	start := e.clock.Now().Add(-3 * time.Minute)
	sg := e.alerts(alertNotice("g2", workflows.AlertSuggest, workflows.Alert{Name: "DiskFilling", Firing: true, StartsAt: start, Severity: bot.SEV2}))
	e.clock.Advance(10 * time.Minute)
	e.alerts(alertNotice("g2", workflows.AlertSuggest, workflows.Alert{Name: "DiskFilling", Firing: true, StartsAt: start, Severity: bot.SEV2, Summary: "91%"}))
	e.deliver()
	offers := 0
	for _, c := range e.chat.Calls() {
		if strings.HasPrefix(c, "post general Alert "+sg.GroupID) {
			offers++
		}
	}
	if sg.Action != workflows.AlertSuggest || sg.IncidentID != "" || offers != 1 {
		t.Fatalf("suggest = %+v, %d offers in %q; want one offer, no incident", sg, offers, e.chat.Calls())
	}
	e.refuse(alice, general, "declare --from AL-0000000000", bot.ENOTFOUND)
	r := e.run(alice, general, "declare --from "+sg.GroupID)
	inc, err := e.svc.Incident(context.Background(), r.IncidentID)
	if err != nil {
		t.Fatal(err)
	}
	if !inc.StartedAt.Equal(start) || !inc.DetectedAt.Equal(start.Add(3*time.Minute)) || inc.Severity != bot.SEV2 || !inc.IsCommander(alice) {
		t.Errorf("declared from %s: %+v; want its start, its first arrival, SEV2, alice commanding", sg.GroupID, inc)
	}
	e.refuse(alice, general, "declare --from "+sg.GroupID, bot.ECONFLICT)

	for i := range 3 {
		e.clock.Advance(time.Hour)
		st := e.clock.Now().Add(-time.Minute)
		e.alerts(alertNotice("g3", workflows.AlertSignal, workflows.Alert{Name: "HighDiskUsage", Firing: true, StartsAt: st}))
		// The same firing again, later: not a new firing.
		e.clock.Advance(10 * time.Minute)
		e.alerts(alertNotice("g3", workflows.AlertSignal, workflows.Alert{Name: "HighDiskUsage", Firing: true, StartsAt: st, Summary: "again " + string(rune('a'+i))}))
	}
	sigs, _ := e.svc.Signals(context.Background())
	if len(sigs) != 2 || sigs[0].Name != "HighDiskUsage" || sigs[0].Count != 3 || len(sigs[0].IncidentIDs) != 0 {
		t.Errorf("signals = %+v; want HighDiskUsage fired 3 times, never declared, first", sigs)
	}
	if ignored := e.alerts(alertNotice("g4", workflows.AlertIgnore, workflows.Alert{Name: "Watchdog", Firing: true, StartsAt: start})); ignored.GroupID == "" || ignored.Action != workflows.AlertIgnore {
		t.Errorf("ignored = %+v", ignored)
	}
	if sigs, _ := e.svc.Signals(context.Background()); len(sigs) != 2 {
		t.Errorf("an ignored alert was counted: %+v", sigs)
	}
}

// TestAllResolved: when every alert of the group has resolved, the
// channel hears it and is pointed at mitigate; the incident stays open.
func TestAllResolved(t *testing.T) {
	e := newEnv(t)
	start := e.clock.Now().Add(-time.Minute)
	a := workflows.Alert{Name: "A", Firing: true, StartsAt: start, Severity: bot.SEV1}
	b := workflows.Alert{Name: "B", Firing: true, StartsAt: start, Severity: bot.SEV1}
	e.alerts(alertNotice("g", workflows.AlertDeclare, a))
	e.deliver()
	e.clock.Advance(time.Minute)
	e.alerts(alertNotice("g", workflows.AlertDeclare, a, b))
	e.clock.Advance(time.Minute)
	ra, rb := a, b
	ra.Firing, ra.EndsAt = false, e.clock.Now()
	e.alerts(alertNotice("g", workflows.AlertDeclare, ra, b))
	e.deliver()
	for _, c := range e.chat.Calls() {
		if strings.Contains(c, "have resolved") {
			t.Fatalf("told all resolved while B still fires: %q", c)
		}
	}
	e.clock.Advance(time.Minute)
	rb.Firing, rb.EndsAt = false, e.clock.Now()
	e.alerts(alertNotice("g", workflows.AlertDeclare, ra, rb))
	e.deliver()
	told := false
	for _, c := range e.chat.Calls() {
		told = told || strings.Contains(c, "have resolved. If the impact is contained too: /incident mitigate")
	}
	inc, _ := e.svc.Incident(context.Background(), "INC-1")
	if !told || inc.Status != bot.StatusInvestigating {
		t.Errorf("after the last resolve: told %v, status %s; want told, still investigating", told, inc.Status)
	}
	// Alertmanager repeats a resolved notification too: nothing new.
	e.clock.Advance(5 * time.Hour)
	if out := e.alerts(alertNotice("g", workflows.AlertDeclare, ra, rb)); out.Duplicate || out.Entries != 0 {
		t.Errorf("resolved again, later = %+v; want no entries", out)
	}
	got := strings.Join(alertTexts(e.timeline("INC-1")), "\n")
	want := "alert firing: A\nalert firing: B\nalert resolved: A\nalert resolved: B\nall alerts resolved"
	if got != want {
		t.Errorf("entries =\n%s\nwant\n%s", got, want)
	}
}

// TestNearMisses: recorded from any channel, once per marked message,
// promoted once with its text and time, listed in the digest.
func TestNearMisses(t *testing.T) {
	e := newEnv(t)
	e.cfg.Announce = map[bot.Platform]string{bot.Console: "announce"}
	e.restart()
	r := e.run(bob, general, "nearmiss the deploy script nearly ran against prod #deploy #Prod")
	if !strings.Contains(r.Text, "NM-1") {
		t.Fatalf("nearmiss reply %q, want NM-1", r.Text)
	}
	at := e.clock.Now().Add(-time.Hour)
	marked := store.NearMiss{Text: "rm -rf on the wrong host, caught in review", Reporter: alice, Author: carol, Channel: general,
		At: at, Permalink: "https://chat.example/m/1", Source: "console/general/1"}
	nm, dup, err := e.svc.RecordNearMiss(context.Background(), marked)
	if err != nil || dup || nm.ID != "NM-2" {
		t.Fatalf("RecordNearMiss = %+v, %v, %v", nm, dup, err)
	}
	if again, dup, err := e.svc.RecordNearMiss(context.Background(), marked); err != nil || !dup || again.ID != "NM-2" {
		t.Errorf("the same message again = %+v, %v, %v; want NM-2 as a duplicate", again, dup, err)
	}
	if _, _, err := e.svc.RecordNearMiss(context.Background(), store.NearMiss{Text: "  ", Reporter: alice, Channel: general}); bot.ErrorCode(err) != bot.EINVALID {
		t.Errorf("an empty near miss = %v, want EINVALID", err)
	}
	e.refuse(alice, general, "declare --from NM-9", bot.ENOTFOUND)
	d := e.run(alice, general, "declare --from NM-2 sev2")
	inc, _ := e.svc.Incident(context.Background(), d.IncidentID)
	if inc.Title != marked.Text || !inc.StartedAt.Equal(at) || !inc.DetectedAt.Equal(at) || inc.Severity != bot.SEV2 {
		t.Errorf("promoted = %+v; want the near miss's text and time", inc)
	}
	if tl := e.timeline(inc.ID); len(tl) == 0 || !strings.Contains(tl[0].Text, "near miss NM-2") || tl[0].URL != marked.Permalink || tl[0].Author != carol {
		t.Errorf("promoted timeline starts %+v; want the near miss by its author with its permalink", tl)
	}
	e.refuse(alice, general, "declare --from NM-2", bot.ECONFLICT)
	nms, _ := e.svc.NearMisses(context.Background())
	if len(nms) != 2 || nms[0].Tags[1] != "prod" || nms[1].IncidentID != inc.ID {
		t.Errorf("near misses = %+v", nms)
	}
	e.deliver()
	// The digest lists the week's near misses and a signal fired twice,
	// never declared.
	for i := range 2 {
		e.alerts(alertNotice("sig", workflows.AlertSignal, workflows.Alert{Name: "HighDiskUsage", Firing: true, StartsAt: e.clock.Now().Add(time.Duration(i) * time.Second)}))
		e.clock.Advance(time.Hour)
	}
	if _, err := e.svc.Digests("").Tick(context.Background(), e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.deliver()
	var digest string
	for i, c := range e.chat.Calls() {
		if strings.HasPrefix(c, "post announce Near misses") {
			digest = e.chat.full[i]
		}
	}
	for _, want := range []string{"Near misses this week: 2.", "- NM-1 the deploy script nearly ran against prod (@bob)", "declared as " + inc.ID,
		"Signals that fired most without becoming an incident:\n- HighDiskUsage on db-3: fired 2 times in 30 days, never declared"} {
		if !strings.Contains(digest, want) {
			t.Errorf("digest lacks %q:\n%s", want, digest)
		}
	}
}
