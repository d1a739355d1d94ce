package bot_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/debrief/debrief/bot"
)

// TestVerbsTable checks the rules the derivations rely on: every verb is
// declared once and looked up by its words; required arguments come first
// (Discord refuses a required option after an optional one); a text
// argument read by type is last; argument names are unique per verb.
func TestVerbsTable(t *testing.T) {
	seen := map[bot.Verb]bool{}
	for _, s := range bot.Verbs {
		if seen[s.Verb] {
			t.Errorf("verb %q declared twice", s.Verb)
		}
		seen[s.Verb] = true
		if bot.Lookup(s.Verb) != s {
			t.Errorf("Lookup(%q) does not find its entry", s.Verb)
		}
		if s.Usage == "" || s.Short == "" || strings.ToLower(string(s.Verb)) != string(s.Verb) {
			t.Errorf("verb %q: usage %q, short %q: want both, and lower-case words", s.Verb, s.Usage, s.Short)
		}
		if g, _, _ := strings.Cut(string(s.Verb), " "); g == string(s.Verb) && bot.Group(g) && s.Alone == "" {
			t.Errorf("verb %q is also a group: it needs Alone for platforms that cannot run a group", s.Verb)
		}
		optional := false
		names := map[string]bool{}
		for i, a := range s.Args {
			if a.Required && optional {
				t.Errorf("verb %q: required argument %q after an optional one", s.Verb, a.Name)
			}
			optional = optional || !a.Required
			if a.Type == bot.ArgText && s.Parse == nil && i != len(s.Args)-1 {
				t.Errorf("verb %q: text argument %q is not last", s.Verb, a.Name)
			}
			if a.Name == "" || names[a.Name] {
				t.Errorf("verb %q: argument name %q empty or repeated", s.Verb, a.Name)
			}
			names[a.Name] = true
		}
	}
	if bot.Lookup("nope") != nil {
		t.Errorf("Lookup(nope) found an entry")
	}
}

// TestCompose: a form's answers become the words the grammar reads, and
// the grammar reads them as meant.
func TestCompose(t *testing.T) {
	for _, tc := range []struct {
		verb   bot.Verb
		values map[string][]string
		text   string
		want   bot.Command
	}{
		{bot.VerbDeclare, map[string][]string{"title": {" Disk full on node sev2 #x "}, "severity": {"4"}, "kind": {"drill"}, "tags": {"#db eu"}},
			`declare "Disk full on node sev2 #x" sev4 drill #db #eu`,
			bot.Command{Verb: bot.VerbDeclare, Text: "Disk full on node sev2 #x", Severity: bot.SEV4, Kind: bot.KindDrill, Tags: []string{"db", "eu"}}},
		{bot.VerbDeclare, map[string][]string{"title": {"x"}, "kind": {"real"}}, `declare "x"`, bot.Command{Verb: bot.VerbDeclare, Text: "x", Kind: bot.KindReal}},
		{bot.VerbSev, map[string][]string{"severity": {"2"}}, "sev sev2", bot.Command{Verb: bot.VerbSev, Severity: bot.SEV2}},
		{bot.VerbRole, map[string][]string{"role": {"comms"}, "user": {"@{42|bob}"}}, "role comms @{42|bob}",
			bot.Command{Verb: bot.VerbRole, Role: bot.Comms, Users: []bot.User{{ID: "42", Name: "bob"}}}},
		{bot.VerbStatus, map[string][]string{"text": {` it's "fine" `}}, `status  it's "fine" `, bot.Command{Verb: bot.VerbStatus, Text: `it's "fine"`}},
		{bot.VerbResolve, map[string][]string{"summary": {"  "}}, "resolve", bot.Command{Verb: bot.VerbResolve}},
		{bot.VerbPostmortem, nil, "postmortem", bot.Command{Verb: bot.VerbPostmortem}},
		{bot.VerbPostmortemSchedule, map[string][]string{"date": {"2026-03-04"}, "time": {"14:00"}, "duration": {"45m"}, "zone": {"UTC"}},
			"postmortem schedule 2026-03-04 14:00 UTC 45m",
			bot.Command{Verb: bot.VerbPostmortemSchedule, Date: bot.Date{Year: 2026, Month: 3, Day: 4}, Time: bot.Clock{Hour: 14}, Zone: "UTC", Duration: 45 * 60e9}},
		{bot.VerbPostmortemHeld, map[string][]string{"attendee": {"@{1|a}", "@{2}"}, "notes": {"the canary -- was skipped"}},
			"postmortem held @{1|a} @{2} -- the canary -- was skipped",
			bot.Command{Verb: bot.VerbPostmortemHeld, Users: []bot.User{{ID: "1", Name: "a"}, {ID: "2"}}, Text: "the canary -- was skipped"}},
		{bot.VerbAction, map[string][]string{"text": {"page @bob when due"}, "owner": {"@{1|a}"}, "due": {"2026-03-16"}},
			`action "page @bob when due" @{1|a} due 2026-03-16`,
			bot.Command{Verb: bot.VerbAction, Text: "page @bob when due", Users: []bot.User{{ID: "1", Name: "a"}}, Due: bot.Date{Year: 2026, Month: 3, Day: 16}}},
		{bot.VerbActionDone, map[string][]string{"number": {"3"}}, "action done 3", bot.Command{Verb: bot.VerbActionDone, N: 3}},
	} {
		got, err := bot.Lookup(tc.verb).Compose(tc.values)
		if err != nil || got != tc.text {
			t.Errorf("Compose(%s, %v) = %q, %v, want %q", tc.verb, tc.values, got, err, tc.text)
			continue
		}
		cmd, err := bot.Parse(got)
		if err != nil || !reflect.DeepEqual(cmd, tc.want) {
			t.Errorf("Parse(%q) = %+v, %v, want %+v", got, cmd, err, tc.want)
		}
	}
}

func TestComposeInvalid(t *testing.T) {
	for _, tc := range []struct {
		verb   bot.Verb
		values map[string][]string
		want   string
	}{
		{bot.VerbDeclare, map[string][]string{"title": {"x"}, "severity": {"7"}}, `Unknown severity "7": give 1 to 4`},
		{bot.VerbDeclare, map[string][]string{"title": {"x"}, "kind": {"fire"}}, `Unknown kind "fire": use real, drill or near-miss.`},
		{bot.VerbDeclare, map[string][]string{"title": {"x"}, "tags": {"#ok #no!"}}, `Invalid tag "#no!"`},
		{bot.VerbDeclare, map[string][]string{}, "Missing the title option."},
		{bot.VerbRole, map[string][]string{"role": {"boss"}, "user": {"@{1}"}}, `Unknown role "boss"`},
		{bot.VerbRole, map[string][]string{"role": {"ic"}, "user": {"<@1>"}}, "The user option must be a person."},
		{bot.VerbPostmortemSchedule, map[string][]string{"date": {"2026-03-04 14:00"}, "time": {"14:00"}}, `The date option must be one word, got "2026-03-04 14:00".`},
		{bot.VerbTZ, map[string][]string{"zone": {`"UTC`}}, "must be one word"},
	} {
		_, err := bot.Lookup(tc.verb).Compose(tc.values)
		var e *bot.Error
		if !errors.As(err, &e) || e.Code != bot.EINVALID || !strings.Contains(e.Message, tc.want) || !strings.Contains(e.Message, "\nUsage: "+bot.Syntax(tc.verb)) {
			t.Errorf("Compose(%s, %v) error %v, want EINVALID containing %q and the usage", tc.verb, tc.values, err, tc.want)
		}
	}
}

func TestMentionToken(t *testing.T) {
	for _, tc := range []struct {
		u    bot.User
		want string
		back bot.User
	}{
		{bot.User{ID: "U024BE7LH", Name: "alice"}, "@{U024BE7LH|alice}", bot.User{ID: "U024BE7LH", Name: "alice"}},
		{bot.User{ID: "80351110224678912"}, "@{80351110224678912}", bot.User{ID: "80351110224678912"}},
		{bot.User{ID: "1", Name: "Bob Dylan"}, "@{1}", bot.User{ID: "1"}},
		{bot.User{ID: "1", Name: "a}b"}, "@{1}", bot.User{ID: "1"}},
		{bot.User{Platform: bot.Slack, ID: "1", Name: "zoë"}, "@{1|zoë}", bot.User{ID: "1", Name: "zoë"}},
	} {
		got := bot.MentionToken(tc.u)
		if got != tc.want {
			t.Errorf("MentionToken(%+v) = %q, want %q", tc.u, got, tc.want)
		}
		if back, ok := bot.ParseMention(got + ","); !ok || back != tc.back {
			t.Errorf("ParseMention(%q) = %+v, %t, want %+v", got+",", back, ok, tc.back)
		}
	}
	if got := bot.MentionName("Bob Dylan", "", "bob"); got != "bob" {
		t.Errorf("MentionName(Bob Dylan, bob) = %q, want bob", got)
	}
	for _, s := range []string{"<@U1|alice>", "<@U1>", "<@!1>", "@here", "@{U1|a|b}", "@{U 1}", "@{" + strings.Repeat("1", bot.MaxMentionID+1) + "}", "#ops"} {
		if u, ok := bot.ParseMention(s); ok {
			t.Errorf("ParseMention(%q) = %+v, want no mention", s, u)
		}
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"héllo wörld", 6, "héllo…"},
		{"short", 6, "short"},
		{"abc", 0, ""},
		{"abc", 1, "…"},
	} {
		if got := bot.Truncate(tc.in, tc.n); got != tc.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func FuzzMentionToken(f *testing.F) {
	f.Add("U024BE7LH", "alice")
	f.Add("1", "Bob Dylan")
	f.Add("", "}")
	f.Fuzz(func(t *testing.T, id, name string) {
		tok := bot.MentionToken(bot.User{ID: id, Name: name})
		u, ok := bot.ParseMention(tok)
		if ok != bot.ValidMentionID(id) {
			t.Fatalf("ParseMention(MentionToken(%q, %q) = %q) ok %t, want %t", id, name, tok, ok, !ok)
		}
		if ok && (u.ID != id || u.Name != bot.MentionName(name)) {
			t.Fatalf("ParseMention(%q) = %+v, want ID %q and name %q", tok, u, id, bot.MentionName(name))
		}
		if cmd, err := bot.Parse("role ic " + tok); ok && (err != nil || cmd.Users[0].ID != id) {
			t.Fatalf("Parse(role ic %s) = %+v, %v", tok, cmd, err)
		}
	})
}
