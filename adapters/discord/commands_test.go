package discord

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
	"github.com/debrief/debrief/bot"
)

// TestEveryVerbHasASubcommand: each verb of bot.Verbs can be run on
// Discord, and each subcommand is one of them; the schema is derived, so
// this guards the derivation (paths are unique, groups hold their verbs).
func TestEveryVerbHasASubcommand(t *testing.T) {
	for _, s := range bot.Verbs {
		p := pathOf(s)
		if definition(p) == nil {
			t.Errorf("verb %q maps to %q, which is not registered", s.Verb, p)
		}
		if verbs[p] != s {
			t.Errorf("path %q finds %v, want verb %q", p, verbs[p], s.Verb)
		}
	}
	n := 0
	for _, o := range commandDef.Options {
		subs := []*discordgo.ApplicationCommandOption{o}
		group := ""
		if o.Type == discordgo.ApplicationCommandOptionSubCommandGroup {
			subs, group = o.Options, o.Name
		}
		for _, s := range subs {
			n++
			if verbs[path{group, s.Name}] == nil {
				t.Errorf("subcommand %q is no verb of bot.Verbs", path{group, s.Name})
			}
		}
	}
	if n != len(bot.Verbs) {
		t.Errorf("%d subcommands for %d verbs", n, len(bot.Verbs))
	}
	for p, want := range map[path]bot.Verb{
		{"", "sev"}:                  bot.VerbSev,
		{"postmortem", "show"}:       bot.VerbPostmortem,
		{"postmortem", "schedule"}:   bot.VerbPostmortemSchedule,
		{"action", "add"}:            bot.VerbAction,
		{"action", "done"}:           bot.VerbActionDone,
		{"", "help"}:                 bot.VerbHelp,
		{"postmortem", "postmortem"}: "",
		{"", "postmortem"}:           "",
	} {
		got := bot.Verb("")
		if s := verbs[p]; s != nil {
			got = s.Verb
		}
		if got != want {
			t.Errorf("verb at %q = %q, want %q", p, got, want)
		}
	}
}

// TestCommandsSchema: the derived definition is one Discord accepts
// (https://discord.com/developers/docs/interactions/application-commands):
// names and descriptions within bounds, at most 25 options, required
// options first; and each argument of the table is asked with its type.
func TestCommandsSchema(t *testing.T) {
	name := regexp.MustCompile(`^[-_\p{Ll}\p{N}]{1,32}$`)
	var walk func(where string, opts []*discordgo.ApplicationCommandOption)
	walk = func(where string, opts []*discordgo.ApplicationCommandOption) {
		if len(opts) > 25 {
			t.Errorf("%s has %d options, at most 25", where, len(opts))
		}
		seen := map[string]bool{}
		optional := false
		for _, o := range opts {
			if !name.MatchString(o.Name) || seen[o.Name] {
				t.Errorf("%s: option name %q is invalid or repeated", where, o.Name)
			}
			seen[o.Name] = true
			if n := utf8.RuneCountInString(o.Description); n < 1 || n > 100 {
				t.Errorf("%s %s: description %q has %d characters", where, o.Name, o.Description, n)
			}
			if o.Required && optional {
				t.Errorf("%s: required option %s after an optional one", where, o.Name)
			}
			optional = optional || !o.Required
			walk(where+" "+o.Name, o.Options)
		}
	}
	walk("/incident", commandDef.Options)

	type want struct {
		typ      discordgo.ApplicationCommandOptionType
		required bool
		choices  int
	}
	for p, opts := range map[path]map[string]want{
		{"", "declare"}:            {"title": {optString, true, 0}, "severity": {optInteger, false, 4}, "kind": {optString, false, 3}, "tags": {optString, false, 0}},
		{"", "sev"}:                {"severity": {optInteger, true, 4}},
		{"", "role"}:               {"role": {optString, true, 3}, "user": {optUser, true, 0}},
		{"postmortem", "held"}:     {"attendee": {optUser, true, 0}, "attendee10": {optUser, false, 0}, "notes": {optString, false, 0}},
		{"postmortem", "schedule"}: {"date": {optString, true, 0}, "time": {optString, true, 0}, "zone": {optString, false, 0}, "duration": {optString, false, 0}},
		{"action", "add"}:          {"text": {optString, true, 0}, "owner": {optUser, true, 0}, "due": {optString, true, 0}},
		{"action", "done"}:         {"number": {optInteger, true, 0}},
		{"", "github"}:             {"login": {optString, true, 0}},
	} {
		def := definition(p)
		if def == nil {
			t.Errorf("%s is not registered", p)
			continue
		}
		for n, w := range opts {
			i := slices.IndexFunc(def.Options, func(o *discordgo.ApplicationCommandOption) bool { return o.Name == n })
			if i < 0 {
				t.Errorf("%s has no option %s", p, n)
				continue
			}
			o := def.Options[i]
			if o.Type != w.typ || o.Required != w.required || len(o.Choices) != w.choices {
				t.Errorf("%s option %s = type %d required %t, %d choices; want %d %t %d", p, n, o.Type, o.Required, len(o.Choices), w.typ, w.required, w.choices)
			}
		}
	}
	if held := definition(path{"postmortem", "held"}); len(held.Options) != 11 {
		t.Errorf("postmortem held has %d options, want 10 attendees and the notes", len(held.Options))
	}
	if title := definition(path{"", "declare"}).Options[0]; title.MaxLength != bot.MaxTitle {
		t.Errorf("declare title MaxLength = %d, want %d", title.MaxLength, bot.MaxTitle)
	}
}

func opt(name string, typ discordgo.ApplicationCommandOptionType, v any) *discordgo.ApplicationCommandInteractionDataOption {
	return &discordgo.ApplicationCommandInteractionDataOption{Name: name, Type: typ, Value: v}
}

func invocation(group, sub string, opts ...*discordgo.ApplicationCommandInteractionDataOption) discordgo.ApplicationCommandInteractionData {
	s := &discordgo.ApplicationCommandInteractionDataOption{Name: sub, Type: discordgo.ApplicationCommandOptionSubCommand, Options: opts}
	top := s
	if group != "" {
		top = &discordgo.ApplicationCommandInteractionDataOption{Name: group, Type: discordgo.ApplicationCommandOptionSubCommandGroup,
			Options: []*discordgo.ApplicationCommandInteractionDataOption{s}}
	}
	return discordgo.ApplicationCommandInteractionData{Name: "incident", Options: []*discordgo.ApplicationCommandInteractionDataOption{top},
		Resolved: &discordgo.ApplicationCommandInteractionDataResolved{
			Users: map[string]*discordgo.User{
				"111": {ID: "111", Username: "bob", GlobalName: "Bob Dylan"},
				"222": {ID: "222", Username: "carol"},
			},
			Members: map[string]*discordgo.Member{"222": {Nick: "Carol S"}},
		}}
}

// TestCommandText: options become the grammar's text, and the grammar
// reads them as meant: a title is literal (its words are never a severity
// or a tag), the typed options become the trailing words, people become
// mentions with a one-word name.
func TestCommandText(t *testing.T) {
	s, i, u := optString, optInteger, optUser
	for _, tc := range []struct {
		data discordgo.ApplicationCommandInteractionData
		text string
		want bot.Command
	}{
		{invocation("", "declare", opt("title", s, "Disk full on node sev2 #x"), opt("severity", i, 4.0), opt("kind", s, "drill"), opt("tags", s, "#db eu")),
			`declare "Disk full on node sev2 #x" sev4 drill #db #eu`,
			bot.Command{Verb: bot.VerbDeclare, Text: "Disk full on node sev2 #x", Severity: bot.SEV4, Kind: bot.KindDrill, Tags: []string{"db", "eu"}}},
		{invocation("", "declare", opt("title", s, `Checkout "v2" down`)),
			`declare Checkout "v2" down`,
			bot.Command{Verb: bot.VerbDeclare, Text: "Checkout v2 down", Kind: bot.KindReal}},
		{invocation("", "sev", opt("severity", i, 1.0)), "sev sev1", bot.Command{Verb: bot.VerbSev, Severity: bot.SEV1}},
		{invocation("", "role", opt("role", s, "comms"), opt("user", u, "111")), "role comms @{111|bob}",
			bot.Command{Verb: bot.VerbRole, Role: bot.Comms, Users: []bot.User{{ID: "111", Name: "bob"}}}},
		{invocation("", "status", opt("text", s, `  "quoted" & <b>  `)), `status   "quoted" & <b>  `,
			bot.Command{Verb: bot.VerbStatus, Text: `"quoted" & <b>`}},
		{invocation("", "resolve"), "resolve", bot.Command{Verb: bot.VerbResolve}},
		{invocation("postmortem", "show"), "postmortem", bot.Command{Verb: bot.VerbPostmortem}},
		{invocation("postmortem", "schedule", opt("date", s, "2026-03-04"), opt("time", s, "14:00"), opt("duration", s, "45m")),
			"postmortem schedule 2026-03-04 14:00 45m",
			bot.Command{Verb: bot.VerbPostmortemSchedule, Date: bot.Date{Year: 2026, Month: 3, Day: 4}, Time: bot.Clock{Hour: 14}, Duration: 45 * 60e9}},
		{invocation("postmortem", "held", opt("attendee", u, "111"), opt("attendee3", u, "222"), opt("notes", s, "the canary was skipped")),
			"postmortem held @{111|bob} @{222|carol} -- the canary was skipped",
			bot.Command{Verb: bot.VerbPostmortemHeld, Users: []bot.User{{ID: "111", Name: "bob"}, {ID: "222", Name: "carol"}}, Text: "the canary was skipped"}},
		{invocation("action", "add", opt("text", s, "done right: make the canary mandatory"), opt("owner", u, "111"), opt("due", s, "2026-03-16")),
			`action "done right: make the canary mandatory" @{111|bob} due 2026-03-16`,
			bot.Command{Verb: bot.VerbAction, Text: "done right: make the canary mandatory", Users: []bot.User{{ID: "111", Name: "bob"}}, Due: bot.Date{Year: 2026, Month: 3, Day: 16}}},
		{invocation("action", "done", opt("number", i, 3.0)), "action done 3", bot.Command{Verb: bot.VerbActionDone, N: 3}},
		{invocation("", "tz", opt("zone", s, "Europe/Berlin")), "tz Europe/Berlin", bot.Command{Verb: bot.VerbTZ, Zone: "Europe/Berlin"}},
		{invocation("", "github", opt("login", s, "octocat")), "github octocat", bot.Command{Verb: bot.VerbGithub, Login: "octocat"}},
		{invocation("", "close"), "close", bot.Command{Verb: bot.VerbClose}},
	} {
		got, err := commandText(tc.data)
		if err != nil || got != tc.text {
			t.Errorf("commandText(%s) = %q, %v, want %q", describe(tc.data), got, err, tc.text)
			continue
		}
		c, err := bot.Parse(got)
		if err != nil || !reflect.DeepEqual(c, tc.want) {
			t.Errorf("Parse(%q) = %+v, %v, want %+v", got, c, err, tc.want)
		}
	}
}

func describe(d discordgo.ApplicationCommandInteractionData) string {
	var b strings.Builder
	var walk func(os []*discordgo.ApplicationCommandInteractionDataOption)
	walk = func(os []*discordgo.ApplicationCommandInteractionDataOption) {
		for _, o := range os {
			b.WriteString(" " + o.Name)
			if o.Value != nil {
				fmt.Fprintf(&b, "=%v", o.Value)
			}
			walk(o.Options)
		}
	}
	walk(d.Options)
	return "/" + d.Name + b.String()
}
