package discord

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"

	"github.com/bwmarrin/discordgo"
	"github.com/debrief/debrief/bot"
)

// CommandName is the application command debrief registers.
const CommandName = "incident"

// path names a subcommand: a group ("postmortem", "action") or none, and
// the subcommand.
type path struct{ group, sub string }

func (p path) String() string {
	if p.group == "" {
		return p.sub
	}
	return p.group + " " + p.sub
}

// verbPaths maps every verb of bot.Usage to its subcommand. Discord does
// not let a command with subcommand groups be run bare, so "postmortem"
// alone is "postmortem show", and "action <text>" is "action add".
var verbPaths = map[bot.Verb]path{
	bot.VerbDeclare:            {"", "declare"},
	bot.VerbSev:                {"", "sev"},
	bot.VerbRole:               {"", "role"},
	bot.VerbStatus:             {"", "status"},
	bot.VerbNote:               {"", "note"},
	bot.VerbMitigate:           {"", "mitigate"},
	bot.VerbResolve:            {"", "resolve"},
	bot.VerbReopen:             {"", "reopen"},
	bot.VerbPostmortem:         {"postmortem", "show"},
	bot.VerbPostmortemSchedule: {"postmortem", "schedule"},
	bot.VerbPostmortemHeld:     {"postmortem", "held"},
	bot.VerbPostmortemLint:     {"postmortem", "lint"},
	bot.VerbPostmortemSummary:  {"postmortem", "summary"},
	bot.VerbPostmortemImpact:   {"postmortem", "impact"},
	bot.VerbPostmortemFactor:   {"postmortem", "factor"},
	bot.VerbPostmortemStarted:  {"postmortem", "started"},
	bot.VerbPostmortemDetected: {"postmortem", "detected"},
	bot.VerbAction:             {"action", "add"},
	bot.VerbActionDone:         {"action", "done"},
	bot.VerbActions:            {"", "actions"},
	bot.VerbGithub:             {"", "github"},
	bot.VerbTZ:                 {"", "tz"},
	bot.VerbClose:              {"", "close"},
	bot.VerbTimeline:           {"", "timeline"},
	bot.VerbList:               {"", "list"},
	bot.VerbHelp:               {"", "help"},
}

// maxAttendees is how many people postmortem held names: one required
// USER option and the rest optional (a subcommand takes at most 25
// options, and a review with more people than this lists the rest in the
// notes).
const maxAttendees = 10

// Option types, for brevity.
const (
	optString  = discordgo.ApplicationCommandOptionString
	optInteger = discordgo.ApplicationCommandOptionInteger
	optUser    = discordgo.ApplicationCommandOptionUser
)

func severityChoices() []*discordgo.ApplicationCommandOptionChoice {
	var cs []*discordgo.ApplicationCommandOptionChoice
	for s := bot.SEV1; s <= bot.SEV4; s++ {
		name := s.String()
		switch s {
		case bot.SEV1:
			name += " (worst)"
		case bot.SEV4:
			name += " (minor)"
		}
		cs = append(cs, &discordgo.ApplicationCommandOptionChoice{Name: name, Value: int(s)})
	}
	return cs
}

func choices(values ...string) []*discordgo.ApplicationCommandOptionChoice {
	var cs []*discordgo.ApplicationCommandOptionChoice
	for _, v := range values {
		cs = append(cs, &discordgo.ApplicationCommandOptionChoice{Name: v, Value: v})
	}
	return cs
}

func str(name, desc string, required bool) *discordgo.ApplicationCommandOption {
	return &discordgo.ApplicationCommandOption{Type: optString, Name: name, Description: desc, Required: required}
}

func user(name, desc string, required bool) *discordgo.ApplicationCommandOption {
	return &discordgo.ApplicationCommandOption{Type: optUser, Name: name, Description: desc, Required: required}
}

func dateOpt(desc string) *discordgo.ApplicationCommandOption {
	o := str("date", desc+" (YYYY-MM-DD)", true)
	o.MaxLength = 10
	return o
}

func timeOpt(desc string) *discordgo.ApplicationCommandOption {
	o := str("time", desc+" (HH:MM)", true)
	o.MaxLength = 5
	return o
}

func zoneOpt(desc string) *discordgo.ApplicationCommandOption {
	o := str("zone", desc, false)
	o.MaxLength = 64
	return o
}

func sub(name, desc string, opts ...*discordgo.ApplicationCommandOption) *discordgo.ApplicationCommandOption {
	return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionSubCommand, Name: name, Description: desc, Options: opts}
}

func group(name, desc string, subs ...*discordgo.ApplicationCommandOption) *discordgo.ApplicationCommandOption {
	return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionSubCommandGroup, Name: name, Description: desc, Options: subs}
}

// Commands is the /incident command with a subcommand, and typed options,
// for every command of bot.Usage. Values are checked by the same grammar
// as on Slack: the options are turned back into its text.
func Commands() []*discordgo.ApplicationCommand {
	title := str("title", "What is wrong, e.g. Checkout is down", true)
	title.MaxLength = bot.MaxTitle
	sevOpt := &discordgo.ApplicationCommandOption{Type: optInteger, Name: "severity", Description: "SEV1 is the worst", Choices: severityChoices()}
	declareSev := *sevOpt
	sevOpt.Required = true
	kind := str("kind", "A real incident (default), a rehearsal or a near miss", false)
	kind.Choices = choices("real", "drill", "near-miss")
	role := str("role", "The role", true)
	role.Choices = choices(string(bot.Commander), string(bot.Comms), string(bot.Scribe))

	held := []*discordgo.ApplicationCommandOption{user("attendee", "Who attended", true)}
	for i := 2; i <= maxAttendees; i++ {
		held = append(held, user("attendee"+strconv.Itoa(i), "Who else attended", false))
	}
	held = append(held, str("notes", "What the review found", false))
	minOne := 1.0
	number := &discordgo.ApplicationCommandOption{Type: optInteger, Name: "number", Description: "The countermeasure's number (actions lists them)", Required: true, MinValue: &minOne}
	due := str("due", "Due date (YYYY-MM-DD)", true)
	due.MaxLength = 10
	login := str("login", "Your GitHub login", true)
	login.MaxLength = 39
	tz := zoneOpt("IANA zone, e.g. Europe/Berlin")
	tz.Required = true

	no := false
	return []*discordgo.ApplicationCommand{{
		Type:         discordgo.ChatApplicationCommand,
		Name:         CommandName,
		Description:  "Run an incident: declare, update, review and close it",
		DMPermission: &no,
		Options: []*discordgo.ApplicationCommandOption{
			sub("declare", "Open an incident and its channel; you become the commander", title, &declareSev, kind,
				str("tags", "Tags, e.g. #payments #eu", false)),
			sub("sev", "Change the severity", sevOpt),
			sub("role", "Assign a role (commander or admin only)", role, user("user", "Who takes it", true)),
			sub("status", "Post a status update", str("text", "The update", true)),
			sub("note", "Add a note to the timeline", str("text", "The note", true)),
			sub("mitigate", "The impact is contained"),
			sub("resolve", "The incident is over", str("summary", "What ended it", false)),
			sub("reopen", "It is back"),
			group("postmortem", "The blameless post-mortem",
				sub("show", "Post the write-up"),
				sub("schedule", "Book the blameless review", dateOpt("Day"), timeOpt("Start"),
					zoneOpt("IANA zone, e.g. Europe/Berlin (default: yours)"), str("duration", "e.g. 45m (default 1h)", false)),
				sub("held", "The review took place", held...),
				sub("lint", "Check the write-up for blame and counterfactuals"),
				sub("summary", "What happened, for the write-up", str("text", "The summary", true)),
				sub("impact", "Who was affected and how", str("text", "The impact", true)),
				sub("factor", "Add a contributing factor", str("text", "The factor", true)),
				sub("started", "When the impact began", dateOpt("Day"), timeOpt("Time"), zoneOpt("IANA zone (default: yours)")),
				sub("detected", "When it was noticed", dateOpt("Day"), timeOpt("Time"), zoneOpt("IANA zone (default: yours)")),
			),
			group("action", "Countermeasures",
				sub("add", "Record a countermeasure", str("text", "What will be done", true), user("owner", "Who owns it", true), due),
				sub("done", "Mark a countermeasure done", number),
			),
			sub("actions", "List the countermeasures"),
			sub("github", "Map yourself to a GitHub login", login),
			sub("tz", "Set your time zone", tz),
			sub("close", "Close the incident (after the post-mortem)"),
			sub("timeline", "Show the timeline"),
			sub("list", "List open incidents"),
			sub("help", "The commands"),
		},
	}}
}

// options is what an interaction gave one subcommand, by name.
type options struct {
	p    path
	verb bot.Verb
	opts map[string]*discordgo.ApplicationCommandInteractionDataOption
	res  *discordgo.ApplicationCommandInteractionDataResolved
	def  *discordgo.ApplicationCommandOption
}

// commandText turns an /incident interaction into the text bot.Parse
// reads, so that the grammar, its checks and its error messages stay in
// one place. Option types are checked against the registered definition
// first: Discord enforces them, but a forged or stale payload must still
// get usage help, never a panic. A subcommand debrief does not know is
// passed on as words, and the grammar answers it.
func commandText(data discordgo.ApplicationCommandInteractionData) (string, error) {
	if data.Name != CommandName {
		return "", bot.Errorf(bot.EINVALID, "Unknown command /%s.\n%s", data.Name, bot.Help())
	}
	if len(data.Options) != 1 {
		return "help", nil
	}
	top := data.Options[0]
	var p path
	var given []*discordgo.ApplicationCommandInteractionDataOption
	switch top.Type {
	case discordgo.ApplicationCommandOptionSubCommand:
		p, given = path{sub: top.Name}, top.Options
	case discordgo.ApplicationCommandOptionSubCommandGroup:
		if len(top.Options) != 1 {
			return top.Name, nil
		}
		p, given = path{group: top.Name, sub: top.Options[0].Name}, top.Options[0].Options
	default:
		return "", bot.Errorf(bot.EINVALID, "Unknown command %q.\n%s", top.Name, bot.Help())
	}
	def := definition(p)
	verb, known := verbOf(p)
	if def == nil || !known {
		return p.String(), nil // the grammar says what is unknown
	}
	o := &options{p: p, verb: verb, opts: map[string]*discordgo.ApplicationCommandInteractionDataOption{}, res: data.Resolved, def: def}
	if err := o.check(given); err != nil {
		return "", err
	}
	return o.text()
}

func verbOf(p path) (bot.Verb, bool) {
	for v, q := range verbPaths {
		if q == p {
			return v, true
		}
	}
	return "", false
}

// commandDef is the registered definition, built once.
var commandDef = Commands()[0]

func definition(p path) *discordgo.ApplicationCommandOption {
	opts := commandDef.Options
	if p.group != "" {
		var g *discordgo.ApplicationCommandOption
		for _, o := range opts {
			if o.Name == p.group && o.Type == discordgo.ApplicationCommandOptionSubCommandGroup {
				g = o
			}
		}
		if g == nil {
			return nil
		}
		opts = g.Options
	}
	for _, o := range opts {
		if o.Name == p.sub && o.Type == discordgo.ApplicationCommandOptionSubCommand {
			return o
		}
	}
	return nil
}

// check validates the given options against the definition: known names,
// each once, of the declared type, and the required ones present.
func (o *options) check(given []*discordgo.ApplicationCommandInteractionDataOption) error {
	for _, g := range given {
		var d *discordgo.ApplicationCommandOption
		for _, x := range o.def.Options {
			if x.Name == g.Name {
				d = x
			}
		}
		switch {
		case d == nil:
			return o.invalid(fmt.Sprintf("Unknown option %q for %s.", g.Name, o.p))
		case o.opts[g.Name] != nil:
			return o.invalid(fmt.Sprintf("The %s option is given twice.", g.Name))
		case g.Type != d.Type || !valueFits(g):
			return o.invalid(fmt.Sprintf("The %s option must be %s.", g.Name, typeName(d.Type)))
		}
		o.opts[g.Name] = g
	}
	for _, x := range o.def.Options {
		if x.Required && o.opts[x.Name] == nil {
			return o.invalid(fmt.Sprintf("Missing the %s option.", x.Name))
		}
	}
	return nil
}

func typeName(t discordgo.ApplicationCommandOptionType) string {
	switch t {
	case optInteger:
		return "a whole number"
	case optUser:
		return "a person"
	}
	return "text"
}

// valueFits reports whether the option's JSON value has its type's shape:
// a string for text and people (a snowflake), a whole number for
// integers.
func valueFits(g *discordgo.ApplicationCommandInteractionDataOption) bool {
	switch g.Type {
	case optString:
		_, ok := g.Value.(string)
		return ok
	case optUser:
		s, ok := g.Value.(string)
		return ok && isSnowflake(s)
	case optInteger:
		f, ok := g.Value.(float64)
		return ok && f == math.Trunc(f) && math.Abs(f) < 1<<53
	}
	return false
}

func (o *options) invalid(msg string) error {
	return &bot.Error{Code: bot.EINVALID, Message: msg + "\nUsage: " + bot.Syntax(o.verb)}
}

func (o *options) has(name string) bool { return o.opts[name] != nil }

func (o *options) str(name string) string {
	if g := o.opts[name]; g != nil {
		s, _ := g.Value.(string)
		return s
	}
	return ""
}

func (o *options) int(name string) int64 {
	if g := o.opts[name]; g != nil {
		f, _ := g.Value.(float64)
		return int64(f)
	}
	return 0
}

// word returns a one-word option (a date, a zone, a login): the grammar
// splits at spaces, so a value with a space or a quote in it would shift
// the words after it.
func (o *options) word(name string) (string, error) {
	s := strings.TrimSpace(o.str(name))
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || isQuote(r) }) {
		return "", o.invalid(fmt.Sprintf("The %s option must be one word, got %q.", name, s))
	}
	return s, nil
}

// mention renders a USER option as <@id|name>, named from the resolved
// member or user the interaction carries.
func (o *options) mention(name string) string {
	id := o.str(name)
	var u *discordgo.User
	var m *discordgo.Member
	if o.res != nil {
		u, m = o.res.Users[id], o.res.Members[id]
	}
	if u == nil {
		return "<@" + id + ">"
	}
	return mention(id, personOf(u, m))
}

func isQuote(r rune) bool { return r == '"' || r == '“' || r == '”' }

// quoted writes s as one quoted word, which the grammar takes literally
// (never a severity, kind, tag or mention); text that holds a quote
// already is passed as typed.
func quoted(s string) string {
	if strings.ContainsFunc(s, isQuote) {
		return s
	}
	return `"` + s + `"`
}

// text builds the grammar's text for the subcommand.
func (o *options) text() (string, error) {
	w := []string{string(o.verb)}
	add := func(s ...string) {
		for _, x := range s {
			if x != "" {
				w = append(w, x)
			}
		}
	}
	words := func(names ...string) error {
		for _, n := range names {
			v, err := o.word(n)
			if err != nil {
				return err
			}
			add(v)
		}
		return nil
	}
	switch o.verb {
	case bot.VerbDeclare:
		add(quoted(strings.TrimSpace(o.str("title"))))
		if o.has("severity") {
			s := bot.Severity(o.int("severity"))
			if !s.Valid() {
				return "", o.invalid(fmt.Sprintf("Unknown severity %d: give 1 to 4 (1 is the worst).", o.int("severity")))
			}
			add("sev" + strconv.Itoa(int(s)))
		}
		switch k := o.str("kind"); k {
		case "", "real":
		case "drill", "near-miss":
			add(k)
		default:
			return "", o.invalid(fmt.Sprintf("Unknown kind %q: real, drill or near-miss.", k))
		}
		for _, t := range strings.Fields(o.str("tags")) {
			if !strings.HasPrefix(t, "#") {
				t = "#" + t
			}
			if !validTag(t[1:]) {
				return "", o.invalid(fmt.Sprintf("Invalid tag %q: letters, digits, '-', '_' and '.'.", t))
			}
			add(t)
		}
	case bot.VerbSev:
		add(strconv.FormatInt(o.int("severity"), 10))
	case bot.VerbRole:
		if err := words("role"); err != nil {
			return "", err
		}
		add(o.mention("user"))
	case bot.VerbStatus, bot.VerbNote, bot.VerbPostmortemSummary, bot.VerbPostmortemImpact, bot.VerbPostmortemFactor:
		add(o.str("text"))
	case bot.VerbResolve:
		add(o.str("summary"))
	case bot.VerbPostmortemSchedule:
		if err := words("date", "time", "zone", "duration"); err != nil {
			return "", err
		}
	case bot.VerbPostmortemStarted, bot.VerbPostmortemDetected:
		if err := words("date", "time", "zone"); err != nil {
			return "", err
		}
	case bot.VerbPostmortemHeld:
		add(o.mention("attendee"))
		for i := 2; i <= maxAttendees; i++ {
			if n := "attendee" + strconv.Itoa(i); o.has(n) {
				add(o.mention(n))
			}
		}
		if notes := strings.TrimSpace(o.str("notes")); notes != "" {
			add("--", notes)
		}
	case bot.VerbAction:
		add(quoted(strings.TrimSpace(o.str("text"))), o.mention("owner"), "due")
		if err := words("due"); err != nil {
			return "", err
		}
	case bot.VerbActionDone:
		add(strconv.FormatInt(o.int("number"), 10))
	case bot.VerbGithub:
		if err := words("login"); err != nil {
			return "", err
		}
	case bot.VerbTZ:
		if err := words("zone"); err != nil {
			return "", err
		}
	}
	return strings.Join(w, " "), nil
}

// validTag is the grammar's tag charset.
func validTag(s string) bool {
	if s == "" || runeLen(s) > 64 {
		return false
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '_' && r != '.' {
			return false
		}
	}
	return true
}
