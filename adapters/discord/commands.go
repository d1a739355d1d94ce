package discord

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

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

// pathOf is where a verb of bot.Verbs sits in the /incident command: a
// two-word verb is a subcommand of the group its first word names; a
// one-word verb is a subcommand, or, when its word also names a group
// (Discord cannot run a group by itself), the group's subcommand its
// Alone names: "postmortem" alone is "postmortem show".
func pathOf(s *bot.VerbSpec) path {
	if g, sub, ok := strings.Cut(string(s.Verb), " "); ok {
		return path{g, sub}
	}
	if bot.Group(string(s.Verb)) {
		return path{string(s.Verb), s.Alone}
	}
	return path{sub: string(s.Verb)}
}

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

// optionsOf turns one argument of a verb into the options that ask for it:
// one, or for several people (postmortem held's attendees) one USER
// option each, "attendee", "attendee2"... up to Arg.Max (a subcommand
// takes at most 25 options).
func optionsOf(a bot.Arg) []*discordgo.ApplicationCommandOption {
	// A long text may come from the modal instead (form.go): its option
	// is never required.
	o := &discordgo.ApplicationCommandOption{Type: optString, Name: a.Name, Description: optionHelp(a), Required: a.Required && !a.Long, MaxLength: a.MaxLength()}
	switch a.Type {
	case bot.ArgSeverity:
		o.Type, o.Choices = optInteger, severityChoices()
	case bot.ArgNumber:
		one := 1.0
		o.Type, o.MinValue = optInteger, &one
	case bot.ArgUser:
		o.Type = optUser
	case bot.ArgUsers:
		o.Type = optUser
		opts := []*discordgo.ApplicationCommandOption{o}
		for i := 2; i <= a.Max; i++ {
			opts = append(opts, &discordgo.ApplicationCommandOption{Type: optUser, Name: a.Name + strconv.Itoa(i), Description: o.Description})
		}
		return opts
	}
	for _, c := range a.ChoiceValues() {
		o.Choices = append(o.Choices, &discordgo.ApplicationCommandOptionChoice{Name: c, Value: c})
	}
	return []*discordgo.ApplicationCommandOption{o}
}

// optionHelp is an option's description: Discord requires 1 to 100
// characters.
func optionHelp(a bot.Arg) string {
	d := a.Help
	if d == "" {
		d = a.Name
	}
	return bot.Truncate(d, 100)
}

// sentence capitalises a verb's short description for Discord's list.
func sentence(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return bot.Truncate(string(unicode.ToUpper(r))+s[n:], 100)
}

// Commands is the /incident command: a subcommand, with typed options,
// for every verb of bot.Verbs, in its order; two-word verbs in a
// subcommand group. Values are checked by the same grammar as on Slack:
// the options are turned back into its text by bot.VerbSpec.Compose.
func Commands() []*discordgo.ApplicationCommand {
	var top []*discordgo.ApplicationCommandOption
	groups := map[string]*discordgo.ApplicationCommandOption{}
	for _, s := range bot.Verbs {
		p := pathOf(s)
		sub := &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionSubCommand, Name: p.sub, Description: sentence(s.Short)}
		for _, a := range s.Args {
			sub.Options = append(sub.Options, optionsOf(a)...)
		}
		if p.group == "" {
			top = append(top, sub)
			continue
		}
		g := groups[p.group]
		if g == nil {
			g = &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionSubCommandGroup, Name: p.group,
				Description: sentence(p.group + " commands")}
			groups[p.group] = g
			top = append(top, g)
		}
		g.Options = append(g.Options, sub)
	}
	no := false
	return []*discordgo.ApplicationCommand{{
		Type:         discordgo.ChatApplicationCommand,
		Name:         CommandName,
		Description:  "Run an incident: declare, update, review and close it",
		DMPermission: &no,
		Options:      top,
	}}
}

// options is what an interaction gave one subcommand, by name.
type options struct {
	p    path
	spec *bot.VerbSpec
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
	o, text, err := parseInvocation(data)
	if err != nil || o == nil {
		return text, err
	}
	return o.spec.Compose(o.values())
}

// parseInvocation reads an /incident interaction: the checked options of a
// known verb, or (o nil) the text to pass on as it is.
func parseInvocation(data discordgo.ApplicationCommandInteractionData) (o *options, text string, err error) {
	if data.Name != CommandName {
		return nil, "", bot.Errorf(bot.EINVALID, "Unknown command /%s.\n%s", data.Name, bot.Help())
	}
	if len(data.Options) != 1 {
		return nil, "help", nil
	}
	top := data.Options[0]
	var p path
	var given []*discordgo.ApplicationCommandInteractionDataOption
	switch top.Type {
	case discordgo.ApplicationCommandOptionSubCommand:
		p, given = path{sub: top.Name}, top.Options
	case discordgo.ApplicationCommandOptionSubCommandGroup:
		if len(top.Options) != 1 {
			return nil, top.Name, nil
		}
		p, given = path{group: top.Name, sub: top.Options[0].Name}, top.Options[0].Options
	default:
		return nil, "", bot.Errorf(bot.EINVALID, "Unknown command %q.\n%s", top.Name, bot.Help())
	}
	def, spec := definition(p), verbs[p]
	if def == nil || spec == nil {
		return nil, p.String(), nil // the grammar says what is unknown
	}
	o = &options{p: p, spec: spec, opts: map[string]*discordgo.ApplicationCommandInteractionDataOption{}, res: data.Resolved, def: def}
	if err := o.check(given); err != nil {
		return nil, "", err
	}
	return o, "", nil
}

// verbs finds a verb by its path.
var verbs = func() map[path]*bot.VerbSpec {
	m := map[path]*bot.VerbSpec{}
	for _, s := range bot.Verbs {
		m[pathOf(s)] = s
	}
	return m
}()

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
	return &bot.Error{Code: bot.EINVALID, Message: msg + "\nUsage: " + bot.Syntax(o.spec.Verb)}
}

func (o *options) str(name string) string {
	if g := o.opts[name]; g != nil {
		s, _ := g.Value.(string)
		return s
	}
	return ""
}

// values are the answers as bot.VerbSpec.Compose takes them: text as
// typed, numbers in decimal, people as neutral mention tokens, the
// attendee options of one argument in order.
func (o *options) values() map[string][]string {
	vs := map[string][]string{}
	for _, a := range o.spec.Args {
		names := []string{a.Name}
		if a.Type == bot.ArgUsers {
			for i := 2; i <= a.Max; i++ {
				names = append(names, a.Name+strconv.Itoa(i))
			}
		}
		for _, n := range names {
			g := o.opts[n]
			if g == nil {
				continue
			}
			switch g.Type {
			case optUser:
				vs[a.Name] = append(vs[a.Name], o.mention(n))
			case optInteger:
				f, _ := g.Value.(float64)
				vs[a.Name] = append(vs[a.Name], strconv.FormatInt(int64(f), 10))
			default:
				vs[a.Name] = append(vs[a.Name], o.str(n))
			}
		}
	}
	return vs
}

// mention renders a USER option as a neutral mention token, named from the
// resolved member or user the interaction carries.
func (o *options) mention(name string) string {
	id := o.str(name)
	var u *discordgo.User
	var m *discordgo.Member
	if o.res != nil {
		u, m = o.res.Users[id], o.res.Members[id]
	}
	return mention(id, personOf(u, m))
}
