package bot

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Verb is the first word (or two) of an /incident command.
type Verb string

// The command verbs, documented in the README. The same words work on every
// platform. Each is declared, with its usage and arguments, in Verbs below.
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
	VerbActionDrop         Verb = "action drop"
	VerbActions            Verb = "actions"
	VerbGithub             Verb = "github"
	VerbTZ                 Verb = "tz"
	VerbGamedaySchedule    Verb = "gameday schedule"
	VerbGamedayInject      Verb = "gameday inject"
	VerbGamedayAbort       Verb = "gameday abort"
	VerbGamedayDetected    Verb = "gameday detected"
	VerbGamedayVerdict     Verb = "gameday verdict"
	VerbGamedayList        Verb = "gameday list"
	VerbClose              Verb = "close"
	VerbTimeline           Verb = "timeline"
	VerbList               Verb = "list"
	VerbHelp               Verb = "help"
	VerbNearMiss           Verb = "nearmiss"
)

// A VerbSpec declares one /incident verb, once, in the manner of the Go
// tool's cmd/go/internal/base.Command: its words, its usage line, its
// arguments and their types. Parse, Help, UsageOf and Syntax read the
// table Verbs; so do the platforms that describe commands as forms (the
// Discord application command and its options are derived from it, and
// its answers are written back as text by Compose). Adding a verb is one
// entry here and one handler in workflows.
type VerbSpec struct {
	// Verb is the verb's words, lower case: one ("sev") or two
	// ("postmortem schedule"). A two-word verb's first word names a
	// group; it may also be a verb of its own ("postmortem", "action").
	Verb Verb
	// Usage is the syntax after "/incident ", as help shows it.
	Usage string
	// Short is the one-line description, lower case, no period.
	Short string
	// Args are the arguments in the order they are written. Required
	// ones come first; a text argument takes the rest of the line and is
	// last, unless the verb's own Parse reads it.
	Args []Arg
	// Glued means the verb's word may be written glued to a value of its
	// first argument when the whole word reads as that value: sev2.
	Glued bool
	// Alone names the verb beside its two-word siblings where a platform
	// cannot run a group's word by itself (a Discord subcommand group):
	// "postmortem" alone is "postmortem show", "action <text>" is
	// "action add".
	Alone string
	// Parse reads the arguments (the text after the verb's words), only
	// for a verb whose grammar the argument types cannot express; nil
	// means the arguments are read by type, in order.
	Parse func(rest string) (Command, error)
}

// ArgType is what an argument holds. It decides how a word of it is read
// and checked, what a form asks for, and what a bad value is told.
type ArgType int

// The argument types.
const (
	// ArgText is free text: the rest of the line as typed (trimmed), or,
	// in a verb with its own Parse, words up to the next argument.
	ArgText ArgType = iota + 1
	ArgSeverity
	ArgRole
	ArgKind
	// ArgChoice is one of Arg.Choices, into Command.Choice.
	ArgChoice
	// ArgTags is any number of #words.
	ArgTags
	ArgUser
	// ArgUsers is one or more people.
	ArgUsers
	ArgDate
	// ArgTime is a time of day, HH:MM.
	ArgTime
	ArgZone
	// ArgDuration is a meeting length: minutes or a Go duration, at most
	// MaxMeeting.
	ArgDuration
	// ArgNumber is a whole number from 1, into Command.N.
	ArgNumber
	// ArgLogin is a GitHub login, into Command.Login.
	ArgLogin
)

// Arg is one argument of a verb.
type Arg struct {
	// Name is the argument's name in a form (Discord's option name).
	Name string
	Type ArgType
	// Required arguments must be given; they come before optional ones.
	Required bool
	// Help describes the argument in a form, one line.
	Help string
	// Noun is what messages call the argument ("Missing the <noun>");
	// empty means the type's own word (severity, person, time zone...).
	Noun string
	// Keyword is the word written before the value: "due" in action,
	// "--" before the notes of postmortem held.
	Keyword string
	// Choices are the values of an ArgChoice.
	Choices []string
	// Default is the choice that leaving the argument out means: a form
	// that answers it writes nothing.
	Default string
	// Max is how many people a form offers for ArgUsers.
	Max int
	// MaxLen bounds the value's length in a form; 0 means the type's own
	// bound, if it has one.
	MaxLen int
	// Long marks a text that may run to paragraphs (the parts of a
	// drill's plan): a form asks it in a text area, and Discord, whose
	// options are one line, asks the long ones in a modal when none was
	// given as an option. A required long text is then required by the
	// grammar, not by Discord's option list.
	Long bool
}

// Verbs is every verb, in the order help shows them.
var Verbs = []*VerbSpec{
	{Verb: VerbDeclare, Usage: "declare <title> [sev1..sev4] [drill|near-miss] [#tag...] [--from NM-n|AL-id]", Short: "open an incident and its channel",
		Args: []Arg{
			{Name: "title", Type: ArgText, Required: true, Help: "What is wrong, e.g. Checkout is down", MaxLen: MaxTitle},
			{Name: "severity", Type: ArgSeverity, Help: "SEV1 is the worst"},
			{Name: "kind", Type: ArgKind, Help: "A real incident (default), a rehearsal or a near miss", Default: string(KindReal)},
			{Name: "tags", Type: ArgTags, Help: "Tags, e.g. #payments #eu"},
			{Name: "from", Type: ArgText, Keyword: "--from", Help: "Open it from a near miss or an alert group, e.g. NM-7", MaxLen: 40},
		},
		Parse: parseDeclare},
	{Verb: VerbNearMiss, Usage: "nearmiss <what happened> [#tag...]", Short: "record a near miss (no incident, no channel)",
		Args: []Arg{
			{Name: "text", Type: ArgText, Required: true, Noun: "near miss text", Help: "What almost went wrong", MaxLen: MaxNearMiss},
			{Name: "tags", Type: ArgTags, Help: "Tags, e.g. #payments #eu"},
		},
		Parse: parseNearMiss},
	{Verb: VerbSev, Usage: "sev <1-4>", Short: "change the severity", Glued: true,
		Args: []Arg{{Name: "severity", Type: ArgSeverity, Required: true, Help: "SEV1 is the worst"}}},
	{Verb: VerbRole, Usage: "role <commander|comms|scribe> @user", Short: "assign a role",
		Args: []Arg{{Name: "role", Type: ArgRole, Required: true, Help: "The role"}, {Name: "user", Type: ArgUser, Required: true, Help: "Who takes it"}}},
	{Verb: VerbStatus, Usage: "status <text>", Short: "post a status update",
		Args: []Arg{{Name: "text", Type: ArgText, Required: true, Noun: "status text", Help: "The update"}}},
	{Verb: VerbNote, Usage: "note <text>", Short: "add a note to the timeline",
		Args: []Arg{{Name: "text", Type: ArgText, Required: true, Noun: "note text", Help: "The note"}}},
	{Verb: VerbMitigate, Usage: "mitigate", Short: "the impact is contained"},
	{Verb: VerbResolve, Usage: "resolve [summary]", Short: "the incident is over",
		Args: []Arg{{Name: "summary", Type: ArgText, Help: "What ended it"}}},
	{Verb: VerbReopen, Usage: "reopen", Short: "it is back"},
	{Verb: VerbPostmortemSchedule, Usage: "postmortem schedule <YYYY-MM-DD HH:MM> [IANA zone] [duration]", Short: "book the blameless review",
		Args: []Arg{
			{Name: "date", Type: ArgDate, Required: true, Help: "Day: YYYY-MM-DD, today, tomorrow or +3d"},
			{Name: "time", Type: ArgTime, Required: true, Noun: "start time", Help: "Start (HH:MM)"},
			{Name: "zone", Type: ArgZone, Help: "IANA zone, e.g. Europe/Berlin (default: yours)"},
			{Name: "duration", Type: ArgDuration, Help: "e.g. 45m (default 1h)"},
		},
		Parse: parseSchedule},
	{Verb: VerbPostmortemHeld, Usage: "postmortem held @attendee... [-- notes]", Short: "the review took place",
		Args: []Arg{
			{Name: "attendee", Type: ArgUsers, Required: true, Noun: "attendees", Help: "Who attended", Max: 10},
			{Name: "notes", Type: ArgText, Keyword: "--", Help: "What the review found"},
		},
		Parse: parseHeld},
	{Verb: VerbPostmortem, Usage: "postmortem", Short: "post the write-up", Alone: "show"},
	{Verb: VerbPostmortemLint, Usage: "postmortem lint", Short: "check the write-up for blame and counterfactuals"},
	{Verb: VerbPostmortemSummary, Usage: "postmortem summary <text>", Short: "what happened, for the write-up",
		Args: []Arg{{Name: "text", Type: ArgText, Required: true, Noun: "summary text", Help: "The summary"}}},
	{Verb: VerbPostmortemImpact, Usage: "postmortem impact <text>", Short: "who was affected and how",
		Args: []Arg{{Name: "text", Type: ArgText, Required: true, Noun: "impact text", Help: "The impact"}}},
	{Verb: VerbPostmortemFactor, Usage: "postmortem factor <text>", Short: "add a contributing factor",
		Args: []Arg{{Name: "text", Type: ArgText, Required: true, Noun: "factor text", Help: "The factor"}}},
	{Verb: VerbPostmortemStarted, Usage: "postmortem started <YYYY-MM-DD HH:MM> [IANA zone]", Short: "when the impact began",
		Args: instantArgs},
	{Verb: VerbPostmortemDetected, Usage: "postmortem detected <YYYY-MM-DD HH:MM> [IANA zone]", Short: "when it was noticed",
		Args: instantArgs},
	{Verb: VerbAction, Usage: "action <text> @owner due <YYYY-MM-DD>", Short: "record a countermeasure", Alone: "add",
		Args: []Arg{
			{Name: "text", Type: ArgText, Required: true, Noun: "countermeasure text", Help: "What will be done"},
			{Name: "owner", Type: ArgUser, Required: true, Noun: "owner", Help: "Who owns it"},
			{Name: "due", Type: ArgDate, Required: true, Keyword: "due", Noun: "due date", Help: "Due date: YYYY-MM-DD, tomorrow or +14d"},
		},
		Parse: parseAction},
	{Verb: VerbActionDone, Usage: "action done <n|INC-n#n>", Short: "countermeasure n is done",
		Args: cmRefArgs, Parse: func(rest string) (Command, error) { return parseCountermeasureRef(VerbActionDone, rest) }},
	{Verb: VerbActionDrop, Usage: "action drop <n|INC-n#n>", Short: "it will not be done",
		Args: cmRefArgs, Parse: func(rest string) (Command, error) { return parseCountermeasureRef(VerbActionDrop, rest) }},
	{Verb: VerbActions, Usage: "actions", Short: "list the countermeasures"},
	{Verb: VerbGithub, Usage: "github <login>", Short: "map yourself to a GitHub login",
		Args: []Arg{{Name: "login", Type: ArgLogin, Required: true, Help: "Your GitHub login"}}},
	{Verb: VerbTZ, Usage: "tz <IANA zone>", Short: "set your time zone, e.g. Europe/Berlin",
		Args: []Arg{{Name: "zone", Type: ArgZone, Required: true, Help: "IANA zone, e.g. Europe/Berlin"}}},
	{Verb: VerbGamedaySchedule, Usage: "gameday schedule <YYYY-MM-DD HH:MM> <title> hypothesis: <text> [zone:|duration:|steady:|fault:|target:|abort:|with: ...]",
		Short: "plan a drill",
		Args: []Arg{
			{Name: "date", Type: ArgDate, Required: true, Help: "Day (YYYY-MM-DD)"},
			{Name: "time", Type: ArgTime, Required: true, Noun: "start time", Help: "Start (HH:MM)"},
			{Name: "title", Type: ArgText, Required: true, Help: "What is rehearsed, e.g. Primary database failover", MaxLen: MaxTitle},
			{Name: "hypothesis", Type: ArgText, Required: true, Keyword: "hypothesis:", Help: "What should hold, e.g. checkout keeps working with < 1% errors", MaxLen: MaxPlanText, Long: true},
			{Name: "zone", Type: ArgZone, Keyword: "zone:", Help: "IANA zone, e.g. Europe/Berlin (default: yours)"},
			{Name: "duration", Type: ArgDuration, Keyword: "duration:", Help: "e.g. 2h (default 1h)"},
			{Name: "steady", Type: ArgText, Keyword: "steady:", Noun: "steady state", Help: "The steady state to watch", MaxLen: MaxPlanText, Long: true},
			{Name: "fault", Type: ArgText, Keyword: "fault:", Help: "The fault to inject", MaxLen: MaxPlanText, Long: true},
			{Name: "target", Type: ArgText, Keyword: "target:", Help: "Where it is injected", MaxLen: MaxPlanText, Long: true},
			{Name: "abort", Type: ArgText, Keyword: "abort:", Noun: "abort criteria", Help: "When to stop early", MaxLen: MaxPlanText, Long: true},
			{Name: "participants", Type: ArgUsers, Keyword: "with:", Help: "Who takes part", Max: 10},
		},
		Parse: parseGamedaySchedule},
	{Verb: VerbGamedayInject, Usage: "gameday inject [manual] [note]", Short: "inject the fault",
		Args: []Arg{
			{Name: "how", Type: ArgChoice, Choices: []string{"hook", "manual"}, Default: "hook", Help: "Call the chaos hook (default) or record a fault injected by hand"},
			{Name: "note", Type: ArgText, Help: "What was injected, if it differs from the plan"},
		},
		Parse: parseGamedayInject},
	{Verb: VerbGamedayAbort, Usage: "gameday abort [reason]", Short: "stop the drill",
		Args: []Arg{{Name: "reason", Type: ArgText, Help: "Why it was stopped"}}},
	{Verb: VerbGamedayDetected, Usage: "gameday detected [note]", Short: "the fault is noticed",
		Args: []Arg{{Name: "note", Type: ArgText, Help: "How it was noticed"}}},
	{Verb: VerbGamedayVerdict, Usage: "gameday verdict <held|refuted> <observed>", Short: "hypothesis held?",
		Args: []Arg{
			{Name: "verdict", Type: ArgChoice, Required: true, Choices: Verdicts, Help: "Whether the hypothesis held"},
			{Name: "observed", Type: ArgText, Required: true, Noun: "observation", Help: "What happened", MaxLen: MaxPlanText},
		}},
	{Verb: VerbGamedayList, Usage: "gameday list", Short: "drills"},
	{Verb: VerbClose, Usage: "close", Short: "close the incident (after the post-mortem)"},
	{Verb: VerbTimeline, Usage: "timeline", Short: "show the timeline"},
	{Verb: VerbList, Usage: "list", Short: "list open incidents"},
	// help keeps what follows it (help declare) without declaring an
	// argument: a form would offer a field that changes nothing.
	{Verb: VerbHelp, Usage: "help", Short: "this help",
		Parse: func(rest string) (Command, error) { return Command{Verb: VerbHelp, Text: strings.TrimSpace(rest)}, nil }},
}

// cmRefArgs name a countermeasure: its number in the incident's channel,
// and its incident anywhere else (after close, from the announcement
// channel or a DM). Typed, that is INC-1#2 (parseCountermeasureRef); a
// form asks the two apart and writes "2 INC-1".
var cmRefArgs = []Arg{
	{Name: "number", Type: ArgNumber, Required: true, Noun: "countermeasure number", Help: "The countermeasure's number (actions lists them)"},
	{Name: "incident", Type: ArgText, Noun: "incident", Help: "Its incident, e.g. INC-1: outside the incident's channel or after close", MaxLen: 20},
}

var instantArgs = []Arg{
	{Name: "date", Type: ArgDate, Required: true, Help: "Day: YYYY-MM-DD, today, tomorrow or +3d"},
	{Name: "time", Type: ArgTime, Required: true, Help: "Time (HH:MM)"},
	{Name: "zone", Type: ArgZone, Help: "IANA zone (default: yours)"},
}

// wordAliases are other spellings of a verb's first word.
var wordAliases = map[string]string{
	"severity":    "sev",
	"timezone":    "tz",
	"post-mortem": "postmortem",
	"pm":          "postmortem",
}

var (
	byVerb = map[Verb]*VerbSpec{}
	groups = map[string]bool{} // first words of two-word verbs
)

func init() {
	for _, s := range Verbs {
		byVerb[s.Verb] = s
		if g, _, ok := strings.Cut(string(s.Verb), " "); ok {
			groups[g] = true
		}
	}
}

// Lookup returns the declaration of v, nil when there is none.
func Lookup(v Verb) *VerbSpec { return byVerb[v] }

// Group reports whether word is the first word of two-word verbs
// ("postmortem", "action").
func Group(word string) bool { return groups[word] }

// UsageOf returns the help line of v: its usage prefixed with "/incident ",
// then three spaces and its description; "" for an unknown verb.
func UsageOf(v Verb) string {
	s := byVerb[v]
	if s == nil {
		return ""
	}
	return "/incident " + s.Usage + "   " + s.Short
}

// Syntax is v's usage line without its description: "/incident sev <1-4>".
func Syntax(v Verb) string {
	s := byVerb[v]
	if s == nil {
		return ""
	}
	return "/incident " + s.Usage
}

// HelpHeading opens Help.
const HelpHeading = "Usage: /incident <command>, one of:"

// Help is the help text: a heading, then every verb's usage and
// description, in table order. The lines leave out "/incident ", which
// the heading says once, so that the whole help (with an "Unknown
// command" before it) fits in one Discord message (MaxHelp).
func Help() string {
	var b strings.Builder
	b.WriteString(HelpHeading)
	for _, s := range Verbs {
		b.WriteString("\n")
		b.WriteString(s.Usage + "   " + s.Short)
	}
	return b.String()
}

// MaxHelp is the most characters Help may take: Discord cuts a message at
// 2000 characters, and an unknown command's answer puts up to 100 before
// it. A longer help would arrive in two messages.
const MaxHelp = 1900

// HelpOn answers "help [topic]": with no topic, the whole help; with a
// verb's words ("help postmortem schedule", or an alias: "help pm
// schedule", "help severity"), that verb's usage, and with a group's word
// ("help action"), the usage of every verb of the group. A topic that names
// no verb gets the whole help, after a note saying so.
func HelpOn(topic string) string {
	words := strings.Fields(strings.ToLower(topic))
	if len(words) > 0 && words[0] == "/incident" {
		words = words[1:]
	}
	if len(words) == 0 {
		return Help()
	}
	if w, ok := wordAliases[words[0]]; ok {
		words[0] = w
	}
	var usage []string
	if Lookup(Verb(strings.Join(words, " "))) != nil {
		usage = append(usage, UsageOf(Verb(strings.Join(words, " "))))
	}
	if len(words) == 1 && Group(words[0]) {
		for _, s := range Verbs {
			if g, _, ok := strings.Cut(string(s.Verb), " "); ok && g == words[0] {
				usage = append(usage, UsageOf(s.Verb))
			}
		}
	}
	if len(usage) == 0 {
		return fmt.Sprintf("There is no command %s; here is the whole help.\n%s", quote(topic), Help())
	}
	return "Usage:\n" + strings.Join(usage, "\n")
}

// parse reads the arguments of s from rest.
func (s *VerbSpec) parse(rest string) (Command, error) {
	if s.Parse != nil {
		return s.Parse(rest)
	}
	return s.parseArgs(rest)
}

// parseArgs reads the arguments by type: the required ones in order, then
// a text argument as the rest of the line, or the optional ones in any
// order, each word going to the first one whose type claims it (a word
// starting with a digit is a duration, any other a zone).
func (s *VerbSpec) parseArgs(rest string) (Command, error) {
	cmd := Command{Verb: s.Verb}
	i := 0
	for ; i < len(s.Args) && s.Args[i].Required && s.Args[i].Type != ArgText; i++ {
		tok, after, ok := nextToken(rest)
		if !ok {
			return Command{}, unterminated(s.Verb)
		}
		if tok == (token{}) {
			return Command{}, invalid(missing(s.Args[i:]), s.Verb)
		}
		if msg := s.Args[i].set(&cmd, tok.text); msg != "" {
			return Command{}, invalid(msg, s.Verb)
		}
		rest = after
	}
	if i < len(s.Args) && s.Args[i].Type == ArgText {
		t := strings.TrimSpace(rest)
		if t == "" && s.Args[i].Required {
			return Command{}, invalid(missing(s.Args[i:]), s.Verb)
		}
		cmd.Text = plainMentions(t)
		return cmd, nil
	}
	optional := s.Args[i:]
	given := make([]bool, len(optional))
	for {
		tok, after, ok := nextToken(rest)
		if !ok {
			return Command{}, unterminated(s.Verb)
		}
		if tok == (token{}) {
			return cmd, nil
		}
		rest = after
		j := -1
		for k, a := range optional {
			if a.claims(tok.text) {
				if j < 0 || given[j] && !given[k] {
					j = k
				}
			}
		}
		switch {
		case len(s.Args) == 0:
			return Command{}, invalid(fmt.Sprintf("Unexpected %s: %s takes no arguments.", quote(tok.text), s.Verb), s.Verb)
		case j < 0:
			return Command{}, invalid(fmt.Sprintf("Unexpected %s: give just the %s.", quote(tok.text), s.Args[len(s.Args)-1].noun()), s.Verb)
		case given[j]:
			return Command{}, invalid(fmt.Sprintf("Unexpected %s: give one %s.", quote(tok.text), optional[j].noun()), s.Verb)
		}
		given[j] = true
		if msg := optional[j].set(&cmd, tok.text); msg != "" {
			return Command{}, invalid(msg, s.Verb)
		}
	}
}

// missing says which required arguments are missing: "Missing the date
// and time.", or with a hint when it is one: "Missing the severity: give
// 1 to 4 (1 is the worst)."
func missing(args []Arg) string {
	var nouns []string
	for _, a := range args {
		if a.Required {
			nouns = append(nouns, a.noun())
		}
	}
	if len(nouns) == 1 {
		if h := args[0].hint(); h != "" {
			return "Missing the " + nouns[0] + ": " + h + "."
		}
	}
	return "Missing the " + strings.Join(nouns, " and ") + "."
}

// noun is what messages call the argument.
func (a Arg) noun() string {
	if a.Noun != "" {
		return a.Noun
	}
	switch a.Type {
	case ArgSeverity:
		return "severity"
	case ArgRole:
		return "role"
	case ArgKind:
		return "kind"
	case ArgTags:
		return "tags"
	case ArgUser:
		return "person"
	case ArgUsers:
		return "people"
	case ArgDate:
		return "date"
	case ArgTime:
		return "time"
	case ArgZone:
		return "time zone"
	case ArgDuration:
		return "duration"
	case ArgNumber:
		return "number"
	case ArgLogin:
		return "GitHub login"
	}
	return a.Name
}

// hint says what a good value looks like.
func (a Arg) hint() string {
	switch a.Type {
	case ArgSeverity:
		return "give 1 to 4 (1 is the worst)"
	case ArgRole, ArgKind, ArgChoice:
		return "use " + orList(a.ChoiceValues())
	case ArgUser, ArgUsers:
		return "mention them, e.g. @alice"
	case ArgDate:
		return "give an existing day as YYYY-MM-DD, or today, tomorrow, +3d"
	case ArgTime:
		return "give HH:MM, e.g. 14:30"
	case ArgZone:
		return "give an IANA name such as Europe/Berlin or UTC"
	case ArgDuration:
		return "give minutes or hours such as 45m or 1h30m, at most " + formatDuration(MaxMeeting)
	case ArgNumber:
		return "give a whole number from 1, as actions shows it"
	}
	return ""
}

// ChoiceValues lists the values a choice argument (role, kind, choice)
// accepts, for forms that offer them; nil for other types.
func (a Arg) ChoiceValues() []string {
	switch a.Type {
	case ArgRole:
		vs := make([]string, len(Roles))
		for i, r := range Roles {
			vs[i] = string(r)
		}
		return vs
	case ArgKind:
		return []string{string(KindReal), string(KindDrill), "near-miss"}
	case ArgChoice:
		return a.Choices
	}
	return nil
}

// MaxLength is the longest value a form should accept; 0 when unbounded.
func (a Arg) MaxLength() int {
	if a.MaxLen != 0 {
		return a.MaxLen
	}
	switch a.Type {
	case ArgDate:
		return len("2006-01-02")
	case ArgTime:
		return len("15:04")
	case ArgZone:
		return 64
	case ArgLogin:
		return 39
	}
	return 0
}

func orList(vs []string) string {
	switch len(vs) {
	case 0:
		return ""
	case 1:
		return vs[0]
	}
	return strings.Join(vs[:len(vs)-1], ", ") + " or " + vs[len(vs)-1]
}

// claims reports whether a word given after the required arguments is for
// a. Only zones and durations are told apart by their first character;
// any other optional type takes any word.
func (a Arg) claims(word string) bool {
	digit := word != "" && word[0] >= '0' && word[0] <= '9'
	switch a.Type {
	case ArgDuration:
		return digit
	case ArgZone:
		return !digit
	}
	return true
}

// set reads word as a value of a into cmd. It returns what is wrong with
// the word, or "".
func (a Arg) set(cmd *Command, word string) string {
	bad := func(what string) string {
		return fmt.Sprintf("%s %s %s: %s.", what, a.noun(), quote(word), a.hint())
	}
	switch a.Type {
	case ArgSeverity:
		s, ok := ParseSeverity(word)
		if !ok {
			return bad("Unknown")
		}
		cmd.Severity = s
	case ArgRole:
		r, ok := ParseRole(word)
		if !ok {
			return bad("Unknown")
		}
		cmd.Role = r
	case ArgKind:
		k, ok := parseKind(word)
		if strings.EqualFold(word, string(KindReal)) {
			k, ok = KindReal, true
		}
		if !ok {
			return bad("Unknown")
		}
		cmd.Kind = k
	case ArgChoice:
		for _, c := range a.Choices {
			if strings.EqualFold(word, c) {
				cmd.Choice = c
				return ""
			}
		}
		return bad("Unknown")
	case ArgTags:
		t, ok := ParseTag(word)
		if !ok {
			return fmt.Sprintf("Invalid tag %s: letters, digits, '-', '_' and '.'.", quote(word))
		}
		cmd.Tags = append(cmd.Tags, t)
	case ArgUser, ArgUsers:
		u, ok := ParseMention(word)
		if !ok {
			return fmt.Sprintf("%s is not a mention: mention the person, e.g. @alice.", quote(word))
		}
		cmd.Users = append(cmd.Users, u)
	case ArgDate:
		d, rel, ok := parseDay(word)
		if !ok {
			return bad("Invalid")
		}
		cmd.Date, cmd.DateRel = d, rel
	case ArgTime:
		c, ok := parseClock(word)
		if !ok {
			return fmt.Sprintf("Invalid time %s: give HH:MM from 00:00 to 23:59.", quote(word))
		}
		cmd.Time = c
	case ArgZone:
		if !validZone(word) {
			return bad("Unknown")
		}
		cmd.Zone = word
	case ArgDuration:
		d, ok := parseMeetingDuration(word)
		if !ok {
			return bad("Invalid")
		}
		cmd.Duration = d
	case ArgNumber:
		s := strings.TrimPrefix(word, "#") // "#3" is 3, as the bot writes it
		n, err := strconv.Atoi(s)
		if !allDigits(s) || err != nil || n <= 0 {
			return bad("Invalid")
		}
		cmd.N = n
	case ArgLogin:
		login := strings.TrimPrefix(word, "@")
		if !validLogin(login) {
			return fmt.Sprintf("Invalid GitHub login %s: letters, digits and single hyphens, at most 39 characters.", quote(word))
		}
		cmd.Login = login
	case ArgText:
		cmd.Text = plainMentions(word)
	}
	return ""
}

// Compose writes a form's answers as the text Parse reads, so that the
// grammar, its checks and its messages stay in one place. values holds
// each argument's answers by Arg.Name: text as typed, numbers in decimal,
// people as MentionToken, several people as several values. A text
// argument followed by others is quoted, so its words are never read as
// them; values the grammar could misread (a severity out of range would
// become part of a title) are checked here, with the grammar's messages.
func (s *VerbSpec) Compose(values map[string][]string) (string, error) {
	w := []string{string(s.Verb)}
	for i, a := range s.Args {
		var words []string
		for _, v := range values[a.Name] {
			x, msg := a.compose(v, i == len(s.Args)-1)
			if msg != "" {
				return "", invalid(msg, s.Verb)
			}
			if x != "" {
				words = append(words, x)
			}
		}
		if len(words) == 0 {
			if a.Required && len(values[a.Name]) == 0 {
				return "", invalid(fmt.Sprintf("Missing the %s option.", a.Name), s.Verb)
			}
			continue
		}
		if a.Keyword != "" {
			w = append(w, a.Keyword)
		}
		w = append(w, words...)
	}
	return strings.Join(w, " "), nil
}

// compose writes one answer for a; last tells whether a is the verb's last
// argument.
func (a Arg) compose(v string, last bool) (string, string) {
	switch a.Type {
	case ArgText:
		if last {
			if strings.TrimSpace(v) == "" {
				return "", ""
			}
			return v, ""
		}
		return quoteWord(strings.TrimSpace(v)), ""
	case ArgTags:
		var tags []string
		for _, t := range strings.Fields(v) {
			if !strings.HasPrefix(t, "#") {
				t = "#" + t
			}
			if _, ok := ParseTag(t); !ok {
				return "", fmt.Sprintf("Invalid tag %s: letters, digits, '-', '_' and '.'.", quote(t))
			}
			tags = append(tags, t)
		}
		return strings.Join(tags, " "), ""
	case ArgUser, ArgUsers:
		if _, ok := ParseMention(v); !ok {
			return "", fmt.Sprintf("The %s option must be a person.", a.Name)
		}
		return v, ""
	}
	// Every other type is one word: a space or a quote in it would shift
	// the words after it.
	v = strings.TrimSpace(v)
	if strings.ContainsFunc(v, func(r rune) bool { return unicode.IsSpace(r) || isQuote(r) }) {
		return "", fmt.Sprintf("The %s option must be one word, got %q.", a.Name, v)
	}
	switch a.Type {
	case ArgSeverity:
		if v == "" {
			return "", ""
		}
		sev, ok := ParseSeverity(v)
		if !ok {
			return "", fmt.Sprintf("Unknown severity %s: %s.", quote(v), a.hint())
		}
		return strings.ToLower(sev.String()), ""
	case ArgRole, ArgKind, ArgChoice:
		if v == "" || a.Default != "" && strings.EqualFold(v, a.Default) {
			return "", ""
		}
		var c Command
		if msg := a.set(&c, v); msg != "" {
			return "", msg
		}
	}
	return v, ""
}

// quoteWord writes s as one quoted word, which the grammar takes literally
// (never a severity, kind, tag or mention). Text that holds a quote already
// cannot be quoted and is written as typed.
func quoteWord(s string) string {
	if strings.ContainsFunc(s, isQuote) {
		return s
	}
	return `"` + s + `"`
}
