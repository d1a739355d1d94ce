package bot

import "time"

// Clock is a wall-clock time of day with no zone.
type Clock struct {
	Hour, Minute int
}

// Command is a parsed /incident command, independent of the platform it came
// from. Which fields are set depends on Verb.
type Command struct {
	Verb Verb

	// Text is the title (declare), the status or note text, the resolve
	// summary, the countermeasure text (action) or the meeting notes
	// (postmortem held, after "--").
	Text string

	// Severity is set by declare (0 when not given) and sev.
	Severity Severity
	// Kind is set by declare: "drill" or "near-miss" among its words; real
	// otherwise.
	Kind Kind
	// Tags are the #words of declare, without the '#'.
	Tags []string

	// Role is set by role.
	Role Role
	// Users are the mentioned people, in order: the role holder, the
	// attendees of postmortem held, the owner of action. Their Platform is
	// empty: the caller knows which platform the command came from.
	Users []User

	// Date and Time are the meeting start of postmortem schedule, or the
	// instant of postmortem started/detected: a wall clock in Zone (or,
	// when Zone is empty, in the actor's zone).
	Date Date
	Time Clock
	// DateRel is set instead of Date when the day was written relative
	// to today ("tomorrow", "+3d"); resolve it with DateRel.Resolve.
	DateRel RelDay
	// In is the meeting start written relative to now (postmortem
	// schedule in 2h); Date and Time are unset then.
	In time.Duration
	// Zone is an IANA zone name, already checked to exist: the meeting's
	// zone (postmortem schedule) or the user's zone (tz).
	Zone string
	// Duration is the meeting length (postmortem schedule), 0 when not given.
	Duration time.Duration

	// Due is the countermeasure's due date (action).
	Due Date
	// DueRel is set instead of Due for a relative due date ("+14d").
	DueRel RelDay
	// Login is the GitHub login (github).
	Login string
	// N is the countermeasure number (action done, action drop).
	N int
	// Incident is the incident a countermeasure reference names ("INC-1"
	// of action done INC-1#2), for running it outside the incident's
	// channel or after close; "" when only the number was given.
	Incident string
	// Plan is the plan of gameday schedule; Text is its title.
	Plan DrillPlan

	// Choice is the value of an ArgChoice argument, as declared in its
	// Choices.
	Choice string
	// From is what declare --from opens the incident from: a near miss
	// ("NM-7") or an alert group ("AL-…"), as typed, upper-cased.
	From string
}
