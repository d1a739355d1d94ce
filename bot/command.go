package bot

import "time"

// Verb is the first word (or two) of an /incident command.
type Verb string

// The command verbs, documented in the README. The same words work on every platform.
const (
	VerbDeclare            Verb = "declare"
	VerbSev                Verb = "sev"
	VerbRole               Verb = "role"
	VerbStatus             Verb = "status"
	VerbNote               Verb = "note"
	VerbMitigate           Verb = "mitigate"
	VerbResolve            Verb = "resolve"
	VerbReopen             Verb = "reopen"
	VerbPostmortemSchedule Verb = "postmortem schedule"
	VerbPostmortemHeld     Verb = "postmortem held"
	VerbPostmortem         Verb = "postmortem"
	VerbPostmortemLint     Verb = "postmortem lint"
	VerbPostmortemSummary  Verb = "postmortem summary"
	VerbPostmortemImpact   Verb = "postmortem impact"
	VerbPostmortemFactor   Verb = "postmortem factor"
	VerbPostmortemStarted  Verb = "postmortem started"
	VerbPostmortemDetected Verb = "postmortem detected"
	VerbAction             Verb = "action"
	VerbActionDone         Verb = "action done"
	VerbActions            Verb = "actions"
	VerbGithub             Verb = "github"
	VerbTZ                 Verb = "tz"
	VerbClose              Verb = "close"
	VerbTimeline           Verb = "timeline"
	VerbList               Verb = "list"
	VerbHelp               Verb = "help"
)

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
	// Zone is an IANA zone name, already checked to exist: the meeting's
	// zone (postmortem schedule) or the user's zone (tz).
	Zone string
	// Duration is the meeting length (postmortem schedule), 0 when not given.
	Duration time.Duration

	// Due is the countermeasure's due date (action).
	Due Date
	// Login is the GitHub login (github).
	Login string
	// N is the countermeasure number (action done).
	N int
}

// Usage is the help text for every command, in the order help shows them.
var Usage = []struct {
	Verb  Verb
	Usage string
}{
	{VerbDeclare, `declare <title> [sev1..sev4] [drill|near-miss] [#tag...]   open an incident and its channel`},
	{VerbSev, `sev <1-4>   change the severity`},
	{VerbRole, `role <commander|comms|scribe> @user   assign a role`},
	{VerbStatus, `status <text>   post a status update`},
	{VerbNote, `note <text>   add a note to the timeline`},
	{VerbMitigate, `mitigate   the impact is contained`},
	{VerbResolve, `resolve [summary]   the incident is over`},
	{VerbReopen, `reopen   it is back`},
	{VerbPostmortemSchedule, `postmortem schedule <YYYY-MM-DD HH:MM> [IANA zone] [duration]   book the blameless review`},
	{VerbPostmortemHeld, `postmortem held @attendee... [-- notes]   the review took place`},
	{VerbPostmortem, `postmortem   post the write-up`},
	{VerbPostmortemLint, `postmortem lint   check the write-up for blame and counterfactuals`},
	{VerbPostmortemSummary, `postmortem summary <text>   what happened, for the write-up`},
	{VerbPostmortemImpact, `postmortem impact <text>   who was affected and how`},
	{VerbPostmortemFactor, `postmortem factor <text>   add a contributing factor`},
	{VerbPostmortemStarted, `postmortem started <YYYY-MM-DD HH:MM> [IANA zone]   when the impact began`},
	{VerbPostmortemDetected, `postmortem detected <YYYY-MM-DD HH:MM> [IANA zone]   when it was noticed`},
	{VerbAction, `action <text> @owner due <YYYY-MM-DD>   record a countermeasure`},
	{VerbActionDone, `action done <n>   mark countermeasure n done`},
	{VerbActions, `actions   list the countermeasures`},
	{VerbGithub, `github <login>   map yourself to a GitHub login`},
	{VerbTZ, `tz <IANA zone>   set your time zone, e.g. Europe/Berlin`},
	{VerbClose, `close   close the incident (after the post-mortem)`},
	{VerbTimeline, `timeline   show the timeline`},
	{VerbList, `list   list open incidents`},
	{VerbHelp, `help   this help`},
}

// UsageOf returns the usage line of v, prefixed with "/incident ".
func UsageOf(v Verb) string {
	for _, u := range Usage {
		if u.Verb == v {
			return "/incident " + u.Usage
		}
	}
	return ""
}
