package bot

import (
	"fmt"
	"strings"
	"time"
)

// Status is where an incident is in its lifecycle:
//
//	investigating -> mitigated -> resolved -> review scheduled -> review held -> closed
//	      ^________________ reopen _____________|
type Status string

// The statuses, in lifecycle order.
const (
	StatusInvestigating   Status = "investigating"
	StatusMitigated       Status = "mitigated"
	StatusResolved        Status = "resolved"
	StatusReviewScheduled Status = "review_scheduled"
	StatusReviewHeld      Status = "review_held"
	StatusClosed          Status = "closed"
)

// Human renders the status for chat: "review scheduled".
func (s Status) Human() string { return strings.ReplaceAll(string(s), "_", " ") }

// Step is a lifecycle transition a command asks for.
type Step string

// The steps.
const (
	StepMitigate Step = "mitigate"
	StepResolve  Step = "resolve"
	StepReopen   Step = "reopen"
	StepSchedule Step = "schedule review"
	StepHold     Step = "hold review"
	StepClose    Step = "close"
)

// Transitions is the lifecycle table: for each step, the statuses it may be
// taken from and the status it leads to. Rescheduling a review is a schedule
// step from review_scheduled to itself.
var Transitions = map[Step]struct {
	From []Status
	To   Status
}{
	StepMitigate: {[]Status{StatusInvestigating}, StatusMitigated},
	StepResolve:  {[]Status{StatusInvestigating, StatusMitigated}, StatusResolved},
	StepReopen:   {[]Status{StatusMitigated, StatusResolved, StatusReviewScheduled}, StatusInvestigating},
	StepSchedule: {[]Status{StatusResolved, StatusReviewScheduled}, StatusReviewScheduled},
	StepHold:     {[]Status{StatusReviewScheduled}, StatusReviewHeld},
	StepClose:    {[]Status{StatusReviewHeld}, StatusClosed},
}

// Postmortem is the blameless review meeting and its outcome.
type Postmortem struct {
	// ScheduledAt is the meeting's start; zero until scheduled.
	ScheduledAt time.Time     `json:"scheduled_at,omitzero"`
	Zone        string        `json:"zone,omitempty"` // IANA zone it was scheduled in
	Duration    time.Duration `json:"duration,omitempty"`
	// Sequence counts reschedules, for iCalendar's SEQUENCE.
	Sequence  int       `json:"sequence,omitempty"`
	HeldAt    time.Time `json:"held_at,omitzero"`
	Attendees []User    `json:"attendees,omitempty"`
	Notes     string    `json:"notes,omitempty"`
}

// Scheduled reports whether the meeting has a start time.
func (p Postmortem) Scheduled() bool { return !p.ScheduledAt.IsZero() }

// Held reports whether the meeting was marked held.
func (p Postmortem) Held() bool { return !p.HeldAt.IsZero() }

// CountermeasureState tracks a countermeasure until it is settled, done
// or dropped:
//
//	open -> filed (an issue exists) -> done (the issue was closed as completed)
//	          |  ^______ reopen _______|
//	          +-> dropped (closed as not planned) -> filed again on reopen
//
// Without a tracker, or once its issue was deleted, a countermeasure is
// settled by hand: action done <n> or action drop <n>.
type CountermeasureState string

// The countermeasure states.
const (
	CMOpen  CountermeasureState = "open"
	CMFiled CountermeasureState = "filed" // an issue exists in the tracker
	CMDone  CountermeasureState = "done"
	// CMDropped is a countermeasure the team decided not to do (its issue
	// closed as not planned, or action drop): settled, no more nudges,
	// and never counted as done.
	CMDropped CountermeasureState = "dropped"
)

// Settled reports whether cm needs nothing more: done or dropped. Nudges,
// the digest and "still open" lists skip settled countermeasures; only
// done ones count as done.
func (cm Countermeasure) Settled() bool { return cm.State == CMDone || cm.State == CMDropped }

// Countermeasure is an action agreed to prevent recurrence.
type Countermeasure struct {
	N     int                 `json:"n"` // 1-based within the incident
	Text  string              `json:"text"`
	Owner User                `json:"owner"`
	Due   Date                `json:"due"`
	State CountermeasureState `json:"state"`
	// Tracker is the issue's reference (URL) once filed.
	Tracker string `json:"tracker,omitempty"`
	// Issue is the issue's number in the tracker once filed.
	Issue int `json:"issue,omitempty"`
	// Assignee is the tracker login the issue is assigned to; empty when
	// the owner has no known login (the issue then names them).
	Assignee string `json:"assignee,omitempty"`
	// TrackerAt is the tracker's last-update time of the issue state
	// applied here; older news about the issue (a late webhook, a stale
	// reconcile page) is ignored.
	TrackerAt time.Time `json:"tracker_at,omitzero"`
	// Zone is the owner's IANA zone when it was recorded, for nudging them
	// at the start of their day when their own setting is unknown.
	Zone    string    `json:"zone,omitempty"`
	AddedBy User      `json:"added_by"`
	AddedAt time.Time `json:"added_at"`
	DoneAt  time.Time `json:"done_at,omitzero"`
	// DroppedAt is when it was dropped (CMDropped).
	DroppedAt time.Time `json:"dropped_at,omitzero"`
	// Repo is the tracker repository ("owner/name") of Issue when the issue
	// was transferred out of the configured one; empty while it is there.
	Repo string `json:"repo,omitempty"`
	// IssueGone is set when its issue was deleted: nothing in the tracker
	// can settle it any more, so action done and action drop do.
	IssueGone bool `json:"issue_gone,omitempty"`
}

// ClosePolicy says, per severity, whether the post-mortem gate applies.
// The zero value requires a held review for every severity: relaxing it is a
// configuration choice, never a default.
type ClosePolicy struct {
	// SkipReview lists severities that may close straight from resolved.
	SkipReview map[Severity]bool
	// LintWarnOnly makes blameless-lint findings a warning instead of a
	// reason to refuse the close.
	LintWarnOnly bool
	// RequireFiled demands that every countermeasure be filed in the
	// tracker. The application sets it whenever a tracker is configured, so
	// that an incident does not close before its countermeasures are tracked.
	RequireFiled bool
}

// Refusal explains why a step is refused: each string is one unmet condition.
type Refusal []string

// Check says why step may not be taken on inc at now under policy, or nil if
// it may. It does not change inc.
func Check(inc *Incident, step Step, now time.Time, policy ClosePolicy) Refusal {
	t, ok := Transitions[step]
	if !ok {
		return Refusal{fmt.Sprintf("unknown step %q", step)}
	}
	if step == StepClose {
		return checkClose(inc, now, policy)
	}
	for _, s := range t.From {
		if inc.Status == s {
			if step == StepHold && now.Before(inc.Postmortem.ScheduledAt) {
				return Refusal{fmt.Sprintf("the post-mortem meeting starts at %s; it cannot be held before it starts",
					inc.Postmortem.ScheduledAt.UTC().Format("2006-01-02 15:04 MST"))}
			}
			return nil
		}
	}
	return Refusal{fmt.Sprintf("it is %s; %s", describeStatus(inc.Status), requirement[step])}
}

// describeStatus says where an incident is, as a person would: "it is
// still under investigation", "it is past its review".
func describeStatus(s Status) string {
	switch s {
	case StatusInvestigating:
		return "still under investigation"
	case StatusReviewScheduled:
		return "resolved and its review is scheduled"
	case StatusReviewHeld:
		return "past its review"
	}
	return s.Human()
}

// requirement says when a step can be taken, for its refusal. It follows
// Transitions; TestCheck holds the two together.
var requirement = map[Step]string{
	StepMitigate: "only an incident under investigation can be marked mitigated",
	StepResolve:  "only an incident under investigation or mitigated can be resolved",
	StepReopen:   "only an incident that is mitigated, resolved or waiting for its review can be reopened",
	StepSchedule: "the review can be scheduled once the incident is resolved, until it is held",
	StepHold:     "the review can be marked held once it is scheduled (postmortem schedule)",
}

// stepAction names what a step does to incident id, for "Cannot ...".
func stepAction(step Step, id string) string {
	switch step {
	case StepMitigate:
		return "mark " + id + " mitigated"
	case StepSchedule:
		return "schedule the review of " + id
	case StepHold:
		return "mark the review of " + id + " held"
	}
	return string(step) + " " + id
}

func checkClose(inc *Incident, now time.Time, policy ClosePolicy) Refusal {
	var r Refusal
	switch inc.Status {
	case StatusClosed:
		return Refusal{inc.ID + " is already closed"}
	case StatusInvestigating, StatusMitigated:
		r = append(r, fmt.Sprintf("%s is %s: resolve it first", inc.ID, inc.Status.Human()))
	}
	if !policy.SkipReview[inc.Severity] {
		pm := inc.Postmortem
		switch {
		case !pm.Scheduled():
			r = append(r, "the post-mortem meeting has not been scheduled (postmortem schedule <YYYY-MM-DD HH:MM>)")
		case now.Before(pm.ScheduledAt):
			r = append(r, fmt.Sprintf("the post-mortem meeting has not started yet (it starts %s)",
				pm.ScheduledAt.UTC().Format("2006-01-02 15:04 MST")))
		}
		if !pm.Held() {
			r = append(r, "the post-mortem meeting has not been marked held (postmortem held @attendee... -- notes)")
		} else if len(pm.Attendees) == 0 {
			r = append(r, "the post-mortem meeting has no attendees recorded")
		}
	}
	if inc.Drill != nil && inc.Drill.Verdict == "" {
		r = append(r, "the drill has no verdict (gameday verdict held|refuted <observed>)")
	}
	for _, cm := range inc.Countermeasures {
		if cm.Owner.IsZero() {
			r = append(r, fmt.Sprintf("countermeasure #%d has no owner", cm.N))
		}
		if cm.Due.IsZero() {
			r = append(r, fmt.Sprintf("countermeasure #%d has no due date", cm.N))
		}
		if policy.RequireFiled && cm.State == CMOpen {
			r = append(r, fmt.Sprintf("countermeasure #%d has not been filed in the tracker yet", cm.N))
		}
	}
	if !policy.LintWarnOnly {
		// Each finding is quoted with its rewording hint: "2 findings"
		// sends people to another command to learn what to fix.
		for _, f := range LintIncident(inc) {
			r = append(r, "not blameless yet: "+f.String())
		}
	}
	return r
}

// Error joins the conditions, for logs.
func (r Refusal) Error() string {
	return strings.Join(r, "; ")
}

// Apply takes step on inc at now: it checks the step, then moves the status
// and stamps the time. The returned error is an *Error with code ECONFLICT
// listing every unmet condition.
func Apply(inc *Incident, step Step, now time.Time, policy ClosePolicy) error {
	if r := Check(inc, step, now, policy); r != nil {
		if len(r) == 1 {
			msg := fmt.Sprintf("Cannot %s: %s", stepAction(step, inc.ID), r[0])
			if !strings.HasSuffix(msg, ".") && !strings.HasSuffix(msg, "?") {
				msg += "."
			}
			return &Error{Code: ECONFLICT, Message: msg}
		}
		return Errorf(ECONFLICT, "Cannot %s:\n- %s", stepAction(step, inc.ID), strings.Join(r, "\n- "))
	}
	inc.Status = Transitions[step].To
	switch step {
	case StepMitigate:
		inc.MitigatedAt = now
	case StepResolve:
		if inc.MitigatedAt.IsZero() {
			inc.MitigatedAt = now
		}
		inc.ResolvedAt = now
	case StepReopen:
		inc.MitigatedAt, inc.ResolvedAt = time.Time{}, time.Time{}
		inc.Postmortem = Postmortem{Sequence: inc.Postmortem.Sequence}
	case StepHold:
		inc.Postmortem.HeldAt = now
	case StepClose:
		inc.ClosedAt = now
	}
	return nil
}
