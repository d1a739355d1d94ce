package bot_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
)

var (
	t0      = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC) // declared
	meeting = time.Date(2026, 3, 5, 14, 0, 0, 0, time.UTC)
	later   = meeting.Add(2 * time.Hour)
	alice   = bot.User{Platform: bot.Slack, ID: "U1", Name: "alice"}
)

// Reasons Check gives, verbatim.
const (
	notScheduled = "the post-mortem meeting has not been scheduled (postmortem schedule <YYYY-MM-DD HH:MM>)"
	notStarted   = "the post-mortem meeting has not started yet (it starts 2026-03-05 14:00 UTC)"
	notHeld      = "the post-mortem meeting has not been marked held (postmortem held @attendee... -- notes)"
	noAttendees  = "the post-mortem meeting has no attendees recorded"
)

// incidentIn returns an incident in status s whose post-mortem is what the
// lifecycle would have left there: scheduled from review_scheduled on, held
// from review_held on.
func incidentIn(s bot.Status) *bot.Incident {
	inc := &bot.Incident{ID: "INC-7", Number: 7, Title: "db down", Severity: bot.SEV2, Status: s, DeclaredAt: t0}
	switch s {
	case bot.StatusReviewScheduled:
		inc.Postmortem = bot.Postmortem{ScheduledAt: meeting, Zone: "UTC", Duration: time.Hour}
	case bot.StatusReviewHeld, bot.StatusClosed:
		inc.Postmortem = bot.Postmortem{ScheduledAt: meeting, Zone: "UTC", Duration: time.Hour,
			HeldAt: later, Attendees: []bot.User{alice}, Notes: "alert fired late"}
	}
	return inc
}

func TestCheckEveryStatusAndStep(t *testing.T) {
	const (
		inv = bot.StatusInvestigating
		mit = bot.StatusMitigated
		res = bot.StatusResolved
		sch = bot.StatusReviewScheduled
		hld = bot.StatusReviewHeld
		cls = bot.StatusClosed
	)
	tests := []struct {
		status bot.Status
		step   bot.Step
		want   bot.Refusal
	}{
		{inv, bot.StepMitigate, nil},
		{mit, bot.StepMitigate, bot.Refusal{"it is mitigated; only an incident under investigation can be marked mitigated"}},
		{res, bot.StepMitigate, bot.Refusal{"it is resolved; only an incident under investigation can be marked mitigated"}},
		{sch, bot.StepMitigate, bot.Refusal{"it is resolved and its review is scheduled; only an incident under investigation can be marked mitigated"}},
		{hld, bot.StepMitigate, bot.Refusal{"it is past its review; only an incident under investigation can be marked mitigated"}},
		{cls, bot.StepMitigate, bot.Refusal{"it is closed; only an incident under investigation can be marked mitigated"}},

		{inv, bot.StepResolve, nil},
		{mit, bot.StepResolve, nil},
		{res, bot.StepResolve, bot.Refusal{"it is resolved; only an incident under investigation or mitigated can be resolved"}},
		{sch, bot.StepResolve, bot.Refusal{"it is resolved and its review is scheduled; only an incident under investigation or mitigated can be resolved"}},
		{hld, bot.StepResolve, bot.Refusal{"it is past its review; only an incident under investigation or mitigated can be resolved"}},
		{cls, bot.StepResolve, bot.Refusal{"it is closed; only an incident under investigation or mitigated can be resolved"}},

		{inv, bot.StepReopen, bot.Refusal{"it is still under investigation; only an incident that is mitigated, resolved or waiting for its review can be reopened"}},
		{mit, bot.StepReopen, nil},
		{res, bot.StepReopen, nil},
		{sch, bot.StepReopen, nil},
		{hld, bot.StepReopen, bot.Refusal{"it is past its review; only an incident that is mitigated, resolved or waiting for its review can be reopened"}},
		{cls, bot.StepReopen, bot.Refusal{"it is closed; only an incident that is mitigated, resolved or waiting for its review can be reopened"}},

		{inv, bot.StepSchedule, bot.Refusal{"it is still under investigation; the review can be scheduled once the incident is resolved, until it is held"}},
		{mit, bot.StepSchedule, bot.Refusal{"it is mitigated; the review can be scheduled once the incident is resolved, until it is held"}},
		{res, bot.StepSchedule, nil},
		{sch, bot.StepSchedule, nil}, // a reschedule
		{hld, bot.StepSchedule, bot.Refusal{"it is past its review; the review can be scheduled once the incident is resolved, until it is held"}},
		{cls, bot.StepSchedule, bot.Refusal{"it is closed; the review can be scheduled once the incident is resolved, until it is held"}},

		{inv, bot.StepHold, bot.Refusal{"it is still under investigation; the review can be marked held once it is scheduled (postmortem schedule)"}},
		{mit, bot.StepHold, bot.Refusal{"it is mitigated; the review can be marked held once it is scheduled (postmortem schedule)"}},
		{res, bot.StepHold, bot.Refusal{"it is resolved; the review can be marked held once it is scheduled (postmortem schedule)"}},
		{sch, bot.StepHold, nil},
		{hld, bot.StepHold, bot.Refusal{"it is past its review; the review can be marked held once it is scheduled (postmortem schedule)"}},
		{cls, bot.StepHold, bot.Refusal{"it is closed; the review can be marked held once it is scheduled (postmortem schedule)"}},

		{inv, bot.StepClose, bot.Refusal{"INC-7 is investigating: resolve it first", notScheduled, notHeld}},
		{mit, bot.StepClose, bot.Refusal{"INC-7 is mitigated: resolve it first", notScheduled, notHeld}},
		{res, bot.StepClose, bot.Refusal{notScheduled, notHeld}},
		{sch, bot.StepClose, bot.Refusal{notHeld}},
		{hld, bot.StepClose, nil},
		{cls, bot.StepClose, bot.Refusal{"INC-7 is already closed"}},
	}
	if n := 6 * len(bot.Transitions); len(tests) != n {
		t.Fatalf("%d cases, want %d: one per status and step", len(tests), n)
	}
	for _, tt := range tests {
		inc := incidentIn(tt.status)
		before := *inc
		got := bot.Check(inc, tt.step, later, bot.ClosePolicy{})
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Check(%s, %s) = %q, want %q", tt.status, tt.step, got, tt.want)
		}
		if !reflect.DeepEqual(*inc, before) {
			t.Errorf("Check(%s, %s) changed the incident", tt.status, tt.step)
		}

		// Apply agrees with Check: it moves to the step's status or leaves
		// the incident alone and says why.
		err := bot.Apply(inc, tt.step, later, bot.ClosePolicy{})
		if tt.want == nil {
			if err != nil || inc.Status != bot.Transitions[tt.step].To {
				t.Errorf("Apply(%s, %s) = %v, status %s, want nil, %s", tt.status, tt.step, err, inc.Status, bot.Transitions[tt.step].To)
			}
			continue
		}
		if bot.ErrorCode(err) != bot.ECONFLICT || !reflect.DeepEqual(*inc, before) {
			t.Errorf("Apply(%s, %s) = %v (code %s), want a conflict and no change", tt.status, tt.step, err, bot.ErrorCode(err))
		}
		for _, r := range tt.want {
			if !strings.Contains(bot.ErrorMessage(err), r) {
				t.Errorf("Apply(%s, %s) message %q, want it to contain %q", tt.status, tt.step, bot.ErrorMessage(err), r)
			}
		}
	}
}

func TestCheckUnknownStep(t *testing.T) {
	inc := incidentIn(bot.StatusInvestigating)
	want := bot.Refusal{`unknown step "explode"`}
	if got := bot.Check(inc, "explode", later, bot.ClosePolicy{}); !reflect.DeepEqual(got, want) {
		t.Errorf("Check(explode) = %q, want %q", got, want)
	}
}

func TestCheckHoldBeforeMeeting(t *testing.T) {
	inc := incidentIn(bot.StatusReviewScheduled)
	want := bot.Refusal{"the post-mortem meeting starts at 2026-03-05 14:00 UTC; it cannot be held before it starts"}
	if got := bot.Check(inc, bot.StepHold, meeting.Add(-time.Minute), bot.ClosePolicy{}); !reflect.DeepEqual(got, want) {
		t.Errorf("Check(hold, a minute early) = %q, want %q", got, want)
	}
	if got := bot.Check(inc, bot.StepHold, meeting, bot.ClosePolicy{}); got != nil {
		t.Errorf("Check(hold, at the start) = %q, want nil", got)
	}
	// The reason is in UTC whatever zone the meeting was booked in.
	inc.Postmortem.ScheduledAt = meeting.In(time.FixedZone("CET", 3600))
	if got := bot.Check(inc, bot.StepHold, meeting.Add(-time.Minute), bot.ClosePolicy{}); !reflect.DeepEqual(got, want) {
		t.Errorf("Check(hold, zoned meeting) = %q, want %q", got, want)
	}
}

func TestApplyErrorMessages(t *testing.T) {
	inc := incidentIn(bot.StatusClosed)
	err := bot.Apply(inc, bot.StepClose, later, bot.ClosePolicy{})
	if want := "Cannot close INC-7: INC-7 is already closed."; bot.ErrorMessage(err) != want {
		t.Errorf("Apply(close, closed) message %q, want %q", bot.ErrorMessage(err), want)
	}
	inc = incidentIn(bot.StatusResolved)
	err = bot.Apply(inc, bot.StepClose, later, bot.ClosePolicy{})
	want := "Cannot close INC-7:\n- " + notScheduled + "\n- " + notHeld
	if bot.ErrorMessage(err) != want {
		t.Errorf("Apply(close, resolved) message %q, want %q", bot.ErrorMessage(err), want)
	}
	var e *bot.Error
	if !errors.As(err, &e) || e.Code != bot.ECONFLICT {
		t.Errorf("Apply(close, resolved) = %#v, want an *Error with code %s", err, bot.ECONFLICT)
	}
}

func TestApplyStampsTimes(t *testing.T) {
	p := bot.ClosePolicy{}
	t1, t2, t3 := t0.Add(time.Hour), t0.Add(2*time.Hour), t0.Add(3*time.Hour)

	inc := incidentIn(bot.StatusInvestigating)
	must(t, bot.Apply(inc, bot.StepMitigate, t1, p))
	if inc.Status != bot.StatusMitigated || !inc.MitigatedAt.Equal(t1) || !inc.ResolvedAt.IsZero() {
		t.Errorf("after mitigate: %s mitigated %v resolved %v", inc.Status, inc.MitigatedAt, inc.ResolvedAt)
	}
	must(t, bot.Apply(inc, bot.StepResolve, t2, p))
	if inc.Status != bot.StatusResolved || !inc.MitigatedAt.Equal(t1) || !inc.ResolvedAt.Equal(t2) {
		t.Errorf("after resolve: %s mitigated %v resolved %v, want mitigated kept", inc.Status, inc.MitigatedAt, inc.ResolvedAt)
	}

	// Resolving straight from investigating mitigates too.
	inc = incidentIn(bot.StatusInvestigating)
	must(t, bot.Apply(inc, bot.StepResolve, t2, p))
	if !inc.MitigatedAt.Equal(t2) || !inc.ResolvedAt.Equal(t2) {
		t.Errorf("resolve from investigating: mitigated %v resolved %v, want both %v", inc.MitigatedAt, inc.ResolvedAt, t2)
	}

	// Reopen forgets the mitigation, the resolution and the review, but not
	// how often the review was rescheduled (iCalendar SEQUENCE only grows).
	inc = incidentIn(bot.StatusReviewScheduled)
	inc.MitigatedAt, inc.ResolvedAt = t1, t2
	inc.Postmortem.Sequence = 3
	must(t, bot.Apply(inc, bot.StepReopen, t3, p))
	if inc.Status != bot.StatusInvestigating || !inc.MitigatedAt.IsZero() || !inc.ResolvedAt.IsZero() {
		t.Errorf("after reopen: %s mitigated %v resolved %v", inc.Status, inc.MitigatedAt, inc.ResolvedAt)
	}
	if want := (bot.Postmortem{Sequence: 3}); !reflect.DeepEqual(inc.Postmortem, want) {
		t.Errorf("after reopen: postmortem %+v, want %+v", inc.Postmortem, want)
	}
	if !inc.DeclaredAt.Equal(t0) {
		t.Errorf("after reopen: declared %v, want %v", inc.DeclaredAt, t0)
	}

	// Scheduling moves the status; the caller sets the meeting.
	inc = incidentIn(bot.StatusResolved)
	must(t, bot.Apply(inc, bot.StepSchedule, t3, p))
	if inc.Status != bot.StatusReviewScheduled || inc.Postmortem.Scheduled() {
		t.Errorf("after schedule: %s %+v", inc.Status, inc.Postmortem)
	}

	inc = incidentIn(bot.StatusReviewScheduled)
	must(t, bot.Apply(inc, bot.StepHold, later, p))
	if inc.Status != bot.StatusReviewHeld || !inc.Postmortem.HeldAt.Equal(later) || !inc.Postmortem.Held() {
		t.Errorf("after hold: %s held %v", inc.Status, inc.Postmortem.HeldAt)
	}

	inc = incidentIn(bot.StatusReviewHeld)
	closeAt := later.Add(time.Hour)
	must(t, bot.Apply(inc, bot.StepClose, closeAt, p))
	if inc.Status != bot.StatusClosed || !inc.ClosedAt.Equal(closeAt) {
		t.Errorf("after close: %s closed %v", inc.Status, inc.ClosedAt)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestCloseGate runs the close gate over every combination of the meeting's
// state and the countermeasures' completeness.
func TestCloseGate(t *testing.T) {
	type meetingState struct {
		name string
		pm   bot.Postmortem
		want []string
	}
	meetings := []meetingState{
		{"not scheduled", bot.Postmortem{}, []string{notScheduled, notHeld}},
		{"scheduled, not started", bot.Postmortem{ScheduledAt: later.Add(time.Hour)}, []string{
			"the post-mortem meeting has not started yet (it starts 2026-03-05 17:00 UTC)", notHeld}},
		{"started, not held", bot.Postmortem{ScheduledAt: meeting}, []string{notHeld}},
		{"started, held, no attendees", bot.Postmortem{ScheduledAt: meeting, HeldAt: later}, []string{noAttendees}},
		{"started, held, attendees", bot.Postmortem{ScheduledAt: meeting, HeldAt: later, Attendees: []bot.User{alice}}, nil},
		// Inconsistent states the lifecycle never produces still fail closed.
		{"not scheduled, held, attendees", bot.Postmortem{HeldAt: later, Attendees: []bot.User{alice}}, []string{notScheduled}},
		{"not started, held, no attendees", bot.Postmortem{ScheduledAt: later.Add(time.Hour), HeldAt: later}, []string{
			"the post-mortem meeting has not started yet (it starts 2026-03-05 17:00 UTC)", noAttendees}},
	}
	due := date(2026, 4, 1)
	type cmState struct {
		name string
		cms  []bot.Countermeasure
		want []string
	}
	cmStates := []cmState{
		{"none", nil, nil},
		{"complete", []bot.Countermeasure{{N: 1, Owner: alice, Due: due, State: bot.CMFiled}}, nil},
		{"no owner", []bot.Countermeasure{{N: 1, Owner: alice, Due: due}, {N: 2, Due: due}}, []string{"countermeasure #2 has no owner"}},
		{"no due", []bot.Countermeasure{{N: 1, Owner: alice}}, []string{"countermeasure #1 has no due date"}},
		{"neither", []bot.Countermeasure{{N: 3}}, []string{"countermeasure #3 has no owner", "countermeasure #3 has no due date"}},
		{"several", []bot.Countermeasure{{N: 1, Due: due}, {N: 2, Owner: alice}, {N: 3, Owner: alice, Due: due, State: bot.CMDone}},
			[]string{"countermeasure #1 has no owner", "countermeasure #2 has no due date"}},
	}
	type lintState struct {
		name    string
		summary string
		want    []string
	}
	lintStates := []lintState{
		{"clean", "The failover took 20 minutes because the replica was behind.", nil},
		// Each finding is quoted, with the sentence and the rewording hint.
		{"one finding", "We should have failed over sooner.", []string{
			`not blameless yet: summary line 1: "should have" (counterfactual) in "We should have failed over sooner.". Describe what happened and why it made sense at the time, not what did not happen.`}},
		{"two findings", "If only we had a canary; it was human error.", []string{
			`not blameless yet: summary line 1: "If only" (counterfactual) in "If only we had a canary; it was human error.". Describe what happened and why it made sense at the time, not what did not happen.`,
			`not blameless yet: summary line 1: "human error" (blame) in "If only we had a canary; it was human error.". Why did it make sense at the time? Name what in the system allowed it, not who.`}},
	}
	for _, m := range meetings {
		for _, c := range cmStates {
			for _, l := range lintStates {
				inc := incidentIn(bot.StatusReviewHeld)
				inc.Postmortem = m.pm
				inc.Countermeasures = c.cms
				inc.Summary = l.summary
				var want bot.Refusal
				want = append(want, m.want...)
				want = append(want, c.want...)
				want = append(want, l.want...)
				got := bot.Check(inc, bot.StepClose, later, bot.ClosePolicy{})
				if !reflect.DeepEqual(got, want) {
					t.Errorf("close with meeting %s, countermeasures %s, lint %s = %q, want %q", m.name, c.name, l.name, got, want)
				}

				// SkipReview waives the meeting, never the countermeasures
				// or the lint; LintWarnOnly waives the lint.
				skip := bot.ClosePolicy{SkipReview: map[bot.Severity]bool{inc.Severity: true}, LintWarnOnly: true}
				want = nil
				want = append(want, c.want...)
				if got := bot.Check(inc, bot.StepClose, later, skip); !reflect.DeepEqual(got, want) {
					t.Errorf("close skipping review and lint with meeting %s, countermeasures %s, lint %s = %q, want %q", m.name, c.name, l.name, got, want)
				}
			}
		}
	}
}

func TestCloseGateRequireFiled(t *testing.T) {
	inc := incidentIn(bot.StatusReviewHeld)
	inc.Postmortem = bot.Postmortem{ScheduledAt: meeting, HeldAt: later, Attendees: []bot.User{alice}}
	due := date(2026, 4, 1)
	inc.Countermeasures = []bot.Countermeasure{
		{N: 1, Owner: alice, Due: due, State: bot.CMOpen},
		{N: 2, Owner: alice, Due: due, State: bot.CMFiled},
		{N: 3, Owner: alice, Due: due, State: bot.CMDone},
	}
	want := bot.Refusal{"countermeasure #1 has not been filed in the tracker yet"}
	if got := bot.Check(inc, bot.StepClose, later, bot.ClosePolicy{RequireFiled: true}); !reflect.DeepEqual(got, want) {
		t.Errorf("close with a tracker = %q, want %q", got, want)
	}
	if got := bot.Check(inc, bot.StepClose, later, bot.ClosePolicy{}); got != nil {
		t.Errorf("close with no tracker = %q, want allowed", got)
	}
}

func TestClosePolicySkipReview(t *testing.T) {
	policy := bot.ClosePolicy{SkipReview: map[bot.Severity]bool{bot.SEV4: true}}
	tests := []struct {
		sev    bot.Severity
		status bot.Status
		want   bot.Refusal
	}{
		{bot.SEV4, bot.StatusResolved, nil},
		{bot.SEV4, bot.StatusReviewScheduled, nil},
		{bot.SEV4, bot.StatusInvestigating, bot.Refusal{"INC-7 is investigating: resolve it first"}},
		{bot.SEV4, bot.StatusMitigated, bot.Refusal{"INC-7 is mitigated: resolve it first"}},
		{bot.SEV4, bot.StatusClosed, bot.Refusal{"INC-7 is already closed"}},
		{bot.SEV3, bot.StatusResolved, bot.Refusal{notScheduled, notHeld}},
		{bot.SEV1, bot.StatusInvestigating, bot.Refusal{"INC-7 is investigating: resolve it first", notScheduled, notHeld}},
	}
	for _, tt := range tests {
		inc := incidentIn(tt.status)
		inc.Severity = tt.sev
		if got := bot.Check(inc, bot.StepClose, later, policy); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Check(close, %s %s) = %q, want %q", tt.sev, tt.status, got, tt.want)
		}
	}
	// And Apply closes a SEV4 straight from resolved.
	inc := incidentIn(bot.StatusResolved)
	inc.Severity = bot.SEV4
	if err := bot.Apply(inc, bot.StepClose, later, policy); err != nil || inc.Status != bot.StatusClosed || !inc.ClosedAt.Equal(later) {
		t.Errorf("Apply(close, SEV4 resolved) = %v, status %s closed %v", err, inc.Status, inc.ClosedAt)
	}
	// The zero policy skips nothing.
	inc = incidentIn(bot.StatusResolved)
	inc.Severity = bot.SEV4
	if got := bot.Check(inc, bot.StepClose, later, bot.ClosePolicy{}); got == nil {
		t.Error("Check(close, SEV4 resolved, zero policy) = nil, want refused")
	}
}

func TestRefusalError(t *testing.T) {
	r := bot.Refusal{"a", "b"}
	if got := r.Error(); got != "a; b" {
		t.Errorf("Refusal.Error() = %q, want %q", got, "a; b")
	}
}

func TestStatusHuman(t *testing.T) {
	for s, want := range map[bot.Status]string{
		bot.StatusInvestigating:   "investigating",
		bot.StatusReviewScheduled: "review scheduled",
		bot.StatusReviewHeld:      "review held",
	} {
		if got := s.Human(); got != want {
			t.Errorf("%s.Human() = %q, want %q", s, got, want)
		}
	}
}

func TestPostmortemScheduledHeld(t *testing.T) {
	var pm bot.Postmortem
	if pm.Scheduled() || pm.Held() {
		t.Errorf("zero Postmortem: scheduled %v held %v", pm.Scheduled(), pm.Held())
	}
	pm = bot.Postmortem{ScheduledAt: meeting, HeldAt: later}
	if !pm.Scheduled() || !pm.Held() {
		t.Errorf("%+v: scheduled %v held %v", pm, pm.Scheduled(), pm.Held())
	}
}

func ExampleApply() {
	inc := &bot.Incident{ID: "INC-1", Status: bot.StatusResolved}
	err := bot.Apply(inc, bot.StepClose, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), bot.ClosePolicy{})
	fmt.Println(bot.ErrorMessage(err))
	// Output:
	// Cannot close INC-1:
	// - the post-mortem meeting has not been scheduled (postmortem schedule <YYYY-MM-DD HH:MM>)
	// - the post-mortem meeting has not been marked held (postmortem held @attendee... -- notes)
}
