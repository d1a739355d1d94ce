package bot_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/debrief/debrief/bot"
)

func date(y int, m time.Month, d int) bot.Date { return bot.Date{Year: y, Month: m, Day: d} }

func TestParse(t *testing.T) {
	alice := bot.User{ID: "alice", Name: "alice"}
	slackAlice := bot.User{ID: "U024BE7LH", Name: "alice"}
	tests := []struct {
		in   string
		want bot.Command
	}{
		// help
		{"", bot.Command{Verb: bot.VerbHelp}},
		{"   \t\n", bot.Command{Verb: bot.VerbHelp}},
		{"help", bot.Command{Verb: bot.VerbHelp}},
		{"HELP", bot.Command{Verb: bot.VerbHelp}},
		{"help declare", bot.Command{Verb: bot.VerbHelp, Text: "declare"}},

		// declare
		{"declare db is down", bot.Command{Verb: bot.VerbDeclare, Text: "db is down", Kind: bot.KindReal}},
		{`declare "db is down" sev1`, bot.Command{Verb: bot.VerbDeclare, Text: "db is down", Severity: bot.SEV1, Kind: bot.KindReal}},
		{"declare “db is down” sev1", bot.Command{Verb: bot.VerbDeclare, Text: "db is down", Severity: bot.SEV1, Kind: bot.KindReal}},
		{"declare ”db is down” SEV2", bot.Command{Verb: bot.VerbDeclare, Text: "db is down", Severity: bot.SEV2, Kind: bot.KindReal}},
		{`declare "  spaced   out  "`, bot.Command{Verb: bot.VerbDeclare, Text: "  spaced   out  ", Kind: bot.KindReal}},
		{"Declare db   is\tdown P2", bot.Command{Verb: bot.VerbDeclare, Text: "db is down", Severity: bot.SEV2, Kind: bot.KindReal}},
		{"declare db is down 3", bot.Command{Verb: bot.VerbDeclare, Text: "db is down 3", Kind: bot.KindReal}},
		{"declare db is down p4", bot.Command{Verb: bot.VerbDeclare, Text: "db is down", Severity: bot.SEV4, Kind: bot.KindReal}},
		{"declare failover test drill", bot.Command{Verb: bot.VerbDeclare, Text: "failover test", Kind: bot.KindDrill}},
		{"declare cert almost expired near-miss", bot.Command{Verb: bot.VerbDeclare, Text: "cert almost expired", Kind: bot.KindNearMiss}},
		{"declare cert almost expired nearmiss", bot.Command{Verb: bot.VerbDeclare, Text: "cert almost expired", Kind: bot.KindNearMiss}},
		{"declare cert almost expired NEAR_MISS", bot.Command{Verb: bot.VerbDeclare, Text: "cert almost expired", Kind: bot.KindNearMiss}},
		{"declare db down #DB #storage sev2 drill #db", bot.Command{Verb: bot.VerbDeclare, Text: "db down", Severity: bot.SEV2, Kind: bot.KindDrill, Tags: []string{"db", "storage"}}},
		{"declare db down #db #eu-west.1", bot.Command{Verb: bot.VerbDeclare, Text: "db down", Kind: bot.KindReal, Tags: []string{"db", "eu-west.1"}}},
		// Platform markup is text: the adapter turns a channel link into #name.
		{"declare db down <#C024BE7LH|db>", bot.Command{Verb: bot.VerbDeclare, Text: "db down <#C024BE7LH|db>", Kind: bot.KindReal}},
		// Mention tokens in a title read as @name.
		{`declare "login fails for @{U1|alice}" sev2`, bot.Command{Verb: bot.VerbDeclare, Text: "login fails for @alice", Severity: bot.SEV2, Kind: bot.KindReal}},
		// Only trailing words are options; a second severity or kind ends the scan.
		{"declare sev1 pager storm", bot.Command{Verb: bot.VerbDeclare, Text: "sev1 pager storm", Kind: bot.KindReal}},
		{"declare disk full on node 4 sev2", bot.Command{Verb: bot.VerbDeclare, Text: "disk full on node 4", Severity: bot.SEV2, Kind: bot.KindReal}},
		{"declare disk full on node 4", bot.Command{Verb: bot.VerbDeclare, Text: "disk full on node 4", Kind: bot.KindReal}},
		{"declare disk full P1", bot.Command{Verb: bot.VerbDeclare, Text: "disk full", Severity: bot.SEV1, Kind: bot.KindReal}},
		{"declare fire drill drill", bot.Command{Verb: bot.VerbDeclare, Text: "fire drill", Kind: bot.KindDrill}},
		{"declare #1 customer is down", bot.Command{Verb: bot.VerbDeclare, Text: "#1 customer is down", Kind: bot.KindReal}},
		// Quoted words are never options.
		{`declare "sev1"`, bot.Command{Verb: bot.VerbDeclare, Text: "sev1", Kind: bot.KindReal}},
		{`declare outage "drill" "#tag"`, bot.Command{Verb: bot.VerbDeclare, Text: "outage drill #tag", Kind: bot.KindReal}},
		{`declare api "v2 beta" down`, bot.Command{Verb: bot.VerbDeclare, Text: "api v2 beta down", Kind: bot.KindReal}},
		// A quote inside a word is literal.
		{`declare 3.5" floppy melted`, bot.Command{Verb: bot.VerbDeclare, Text: `3.5" floppy melted`, Kind: bot.KindReal}},
		{"declare x <#C024BE7LH> #bad!tag #" + strings.Repeat("t", 65), bot.Command{Verb: bot.VerbDeclare, Text: "x <#C024BE7LH> #bad!tag #" + strings.Repeat("t", 65), Kind: bot.KindReal}},
		{"declare Datenbank überlastet", bot.Command{Verb: bot.VerbDeclare, Text: "Datenbank überlastet", Kind: bot.KindReal}},
		{"declare " + strings.Repeat("é", 200), bot.Command{Verb: bot.VerbDeclare, Text: strings.Repeat("é", 200), Kind: bot.KindReal}},

		// sev
		{"sev 2", bot.Command{Verb: bot.VerbSev, Severity: bot.SEV2}},
		{"sev sev2", bot.Command{Verb: bot.VerbSev, Severity: bot.SEV2}},
		{"SEV P1", bot.Command{Verb: bot.VerbSev, Severity: bot.SEV1}},
		{"severity 4", bot.Command{Verb: bot.VerbSev, Severity: bot.SEV4}},
		{"sev3", bot.Command{Verb: bot.VerbSev, Severity: bot.SEV3}},

		// role, with every mention form
		{"role commander @alice", bot.Command{Verb: bot.VerbRole, Role: bot.Commander, Users: []bot.User{alice}}},
		{"role IC @{U024BE7LH|alice}", bot.Command{Verb: bot.VerbRole, Role: bot.Commander, Users: []bot.User{slackAlice}}},
		{"role comms @{U024BE7LH}", bot.Command{Verb: bot.VerbRole, Role: bot.Comms, Users: []bot.User{{ID: "U024BE7LH"}}}},
		{"role scribe @{80351110224678912}", bot.Command{Verb: bot.VerbRole, Role: bot.Scribe, Users: []bot.User{{ID: "80351110224678912"}}}},
		{"role Scribe @{29:1a-B_c.d|Zoë}", bot.Command{Verb: bot.VerbRole, Role: bot.Scribe, Users: []bot.User{{ID: "29:1a-B_c.d", Name: "Zoë"}}}},
		{"role commander @jean-luc.picard_2", bot.Command{Verb: bot.VerbRole, Role: bot.Commander, Users: []bot.User{{ID: "jean-luc.picard_2", Name: "jean-luc.picard_2"}}}},
		{"role communications @zoë", bot.Command{Verb: bot.VerbRole, Role: bot.Comms, Users: []bot.User{{ID: "zoë", Name: "zoë"}}}},

		// status, note, resolve: free text as typed
		{"status rolling back the deploy", bot.Command{Verb: bot.VerbStatus, Text: "rolling back the deploy"}},
		{"status paged @{U1|alice} and @{U2}, @{bad", bot.Command{Verb: bot.VerbStatus, Text: "paged @alice and @U2, @{bad"}},
		{`status   it's "mostly" fine  `, bot.Command{Verb: bot.VerbStatus, Text: `it's "mostly" fine`}},
		{`note the 3.5" drive is "fine`, bot.Command{Verb: bot.VerbNote, Text: `the 3.5" drive is "fine`}},
		{"NOTE line one\nline two", bot.Command{Verb: bot.VerbNote, Text: "line one\nline two"}},
		{"resolve", bot.Command{Verb: bot.VerbResolve}},
		{"resolve  rolled back v2.3  ", bot.Command{Verb: bot.VerbResolve, Text: "rolled back v2.3"}},

		// no-argument verbs
		{"mitigate", bot.Command{Verb: bot.VerbMitigate}},
		{"Reopen", bot.Command{Verb: bot.VerbReopen}},
		{"actions", bot.Command{Verb: bot.VerbActions}},
		{"close ", bot.Command{Verb: bot.VerbClose}},
		{"timeline", bot.Command{Verb: bot.VerbTimeline}},
		{"LIST", bot.Command{Verb: bot.VerbList}},

		// postmortem schedule
		{"postmortem schedule 2026-03-10 14:00", bot.Command{Verb: bot.VerbPostmortemSchedule, Date: date(2026, 3, 10), Time: bot.Clock{Hour: 14}}},
		{"postmortem schedule 2026-03-10 9:05 Europe/Berlin", bot.Command{Verb: bot.VerbPostmortemSchedule, Date: date(2026, 3, 10), Time: bot.Clock{Hour: 9, Minute: 5}, Zone: "Europe/Berlin"}},
		{"PostMortem Schedule 2026-03-10 23:59 UTC 45m", bot.Command{Verb: bot.VerbPostmortemSchedule, Date: date(2026, 3, 10), Time: bot.Clock{Hour: 23, Minute: 59}, Zone: "UTC", Duration: 45 * time.Minute}},
		{"postmortem schedule 2026-03-10 00:00 1h30m America/New_York", bot.Command{Verb: bot.VerbPostmortemSchedule, Date: date(2026, 3, 10), Zone: "America/New_York", Duration: 90 * time.Minute}},
		{"postmortem schedule 2024-02-29 10:00 60", bot.Command{Verb: bot.VerbPostmortemSchedule, Date: date(2024, 2, 29), Time: bot.Clock{Hour: 10}, Duration: time.Hour}},
		{"postmortem schedule 2026-03-10 10:00 8h", bot.Command{Verb: bot.VerbPostmortemSchedule, Date: date(2026, 3, 10), Time: bot.Clock{Hour: 10}, Duration: 8 * time.Hour}},
		{"post-mortem schedule 2026-03-10 10:00", bot.Command{Verb: bot.VerbPostmortemSchedule, Date: date(2026, 3, 10), Time: bot.Clock{Hour: 10}}},
		{"pm schedule 2026-03-10 10:00", bot.Command{Verb: bot.VerbPostmortemSchedule, Date: date(2026, 3, 10), Time: bot.Clock{Hour: 10}}},

		// postmortem held
		{"postmortem held @alice", bot.Command{Verb: bot.VerbPostmortemHeld, Users: []bot.User{alice}}},
		{"postmortem HELD @alice @{U024BE7LH|alice} @{U1} @{42} @{43}",
			bot.Command{Verb: bot.VerbPostmortemHeld, Users: []bot.User{alice, slackAlice, {ID: "U1"}, {ID: "42"}, {ID: "43"}}}},
		{"postmortem held @alice, @bob, @alice -- the alert   fired late\nretry: yes",
			bot.Command{Verb: bot.VerbPostmortemHeld, Users: []bot.User{alice, {ID: "bob", Name: "bob"}}, Text: "the alert   fired late\nretry: yes"}},
		{"postmortem held @alice --", bot.Command{Verb: bot.VerbPostmortemHeld, Users: []bot.User{alice}}},
		{"postmortem held @alice --notes -- here", bot.Command{Verb: bot.VerbPostmortemHeld, Users: []bot.User{alice}, Text: "notes -- here"}},
		{"postmortem held @alice -- thanks @{U1|bob}", bot.Command{Verb: bot.VerbPostmortemHeld, Users: []bot.User{alice}, Text: "thanks @bob"}},
		{`postmortem held @alice — it's "fine"`, bot.Command{Verb: bot.VerbPostmortemHeld, Users: []bot.User{alice}, Text: `it's "fine"`}},
		{"postmortem held @alice – short dash", bot.Command{Verb: bot.VerbPostmortemHeld, Users: []bot.User{alice}, Text: "short dash"}},

		// action
		{"action add a retry @alice due 2026-04-01", bot.Command{Verb: bot.VerbAction, Text: "add a retry", Users: []bot.User{alice}, Due: date(2026, 4, 1)}},
		{"ACTION add a retry @{U024BE7LH|alice} DUE 2026-04-01", bot.Command{Verb: bot.VerbAction, Text: "add a retry", Users: []bot.User{slackAlice}, Due: date(2026, 4, 1)}},
		{"action add a retry @{42} due 2026-04-01", bot.Command{Verb: bot.VerbAction, Text: "add a retry", Users: []bot.User{{ID: "42"}}, Due: date(2026, 4, 1)}},
		{"action pair with @{U2|bob} @{U024BE7LH|alice} due 2026-04-01", bot.Command{Verb: bot.VerbAction, Text: "pair with @bob", Users: []bot.User{slackAlice}, Due: date(2026, 4, 1)}},
		{"action add a retry due 2026-04-01 @alice", bot.Command{Verb: bot.VerbAction, Text: "add a retry", Users: []bot.User{alice}, Due: date(2026, 4, 1)}},
		{"action pair with @bob on due diligence @alice due 2026-04-01",
			bot.Command{Verb: bot.VerbAction, Text: "pair with @bob on due diligence", Users: []bot.User{alice}, Due: date(2026, 4, 1)}},
		{`action "page @bob when due" @alice due 2026-04-01`, bot.Command{Verb: bot.VerbAction, Text: "page @bob when due", Users: []bot.User{alice}, Due: date(2026, 4, 1)}},
		{"action done 3", bot.Command{Verb: bot.VerbActionDone, N: 3}},
		{"action done #3", bot.Command{Verb: bot.VerbActionDone, N: 3}},
		{"action done INC-12#3", bot.Command{Verb: bot.VerbActionDone, N: 3, Incident: "INC-12"}},
		{"action done inc-12#3", bot.Command{Verb: bot.VerbActionDone, N: 3, Incident: "INC-12"}},
		{"action drop INC-1#2", bot.Command{Verb: bot.VerbActionDrop, N: 2, Incident: "INC-1"}},
		{"action drop 2", bot.Command{Verb: bot.VerbActionDrop, N: 2}},
		{"action drop 2 INC-4", bot.Command{Verb: bot.VerbActionDrop, N: 2, Incident: "INC-4"}},
		{"action DONE #12", bot.Command{Verb: bot.VerbActionDone, N: 12}},

		// github
		{"github octocat", bot.Command{Verb: bot.VerbGithub, Login: "octocat"}},
		{"github @Octo-Cat", bot.Command{Verb: bot.VerbGithub, Login: "Octo-Cat"}},
		{"github " + strings.Repeat("a", 39), bot.Command{Verb: bot.VerbGithub, Login: strings.Repeat("a", 39)}},

		// tz
		{"tz Europe/Berlin", bot.Command{Verb: bot.VerbTZ, Zone: "Europe/Berlin"}},
		{"tz UTC", bot.Command{Verb: bot.VerbTZ, Zone: "UTC"}},
		{"timezone Asia/Kolkata", bot.Command{Verb: bot.VerbTZ, Zone: "Asia/Kolkata"}},
	}
	for _, tt := range tests {
		got, err := bot.Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q) error %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		in   string
		want string // a substring of the message
	}{
		{"foo", `Unknown command "foo".`},
		{"sev5", `Unknown command "sev5".`},
		{"\xff", "not valid UTF-8"},

		{"declare", "Missing the title"},
		{"declare sev1 drill #db", "Missing the title"},
		{`declare ""`, "Missing the title"},
		{`declare "   " sev2`, "Missing the title"},
		{`declare "db is down sev1`, "Unterminated quote"},
		{`declare “db is down sev1`, "Unterminated quote"},
		{"declare " + strings.Repeat("a", 201), "The title is too long: 201 characters, at most 200."},
		{"declare " + strings.Repeat("word ", 41), "The title is too long"},
		{"declare \"two\nlines\"", "one line"},
		{"declare bell\x07", "one line"},

		{`sev "2`, "Unterminated quote"},
		{`role "ic @a`, "Unterminated quote"},
		{`postmortem schedule "2026-03-10 10:00`, "Unterminated quote"},
		{`github "x`, "Unterminated quote"},
		{`tz "UTC`, "Unterminated quote"},
		{"sev", "Missing the severity"},
		{"sev 5", `Unknown severity "5"`},
		{"sev 0", `Unknown severity "0"`},
		{"sev sevp2", `Unknown severity "sevp2"`},
		{"sev high", `Unknown severity "high"`},
		{"sev 2 now", `Unexpected "now"`},

		{"role", "Missing the role"},
		{"role boss @alice", `Unknown role "boss"`},
		{"role commander", "Missing the person"},
		{"role commander alice", `"alice" is not a mention`},
		{"role commander @", `"@" is not a mention`},
		{"role commander @here", `"@here" is not a mention`},
		// Platform markup is not the grammar's: adapters translate it.
		{"role commander <@U024BE7LH|alice>", `"<@U024BE7LH|alice>" is not a mention`},
		{"role commander <@123>", `"<@123>" is not a mention`},
		{"role commander <@!123>", `"<@!123>" is not a mention`},
		{"role commander <@&123>", `"<@&123>" is not a mention`},
		{"role commander @{}", `"@{}" is not a mention`},
		{"role commander @{U1|}", `is not a mention`},
		{"role commander @{U1|a b}", `is not a mention`},
		{"role commander @{U1|a<b>}", `is not a mention`},
		{"role commander @{U/1}", `is not a mention`},
		{"role commander @{U1", `is not a mention`},
		{"role commander #db", `is not a mention`},
		{"role commander @alice @bob", `Unexpected "@bob"`},

		{"status", "Missing the status text."},
		{"status   ", "Missing the status text."},
		{"note", "Missing the note text."},

		{"mitigate now", `Unexpected "now": mitigate takes no arguments.`},
		{"reopen it", "reopen takes no arguments"},
		{"actions all", "actions takes no arguments"},
		{"close INC-4", "close takes no arguments"},
		{"timeline full", "timeline takes no arguments"},
		{"list all", "list takes no arguments"},

		{"postmortem frobnicate", "Unknown postmortem step"},
		{"postmortem lint now", "takes no arguments"},
		{"postmortem impact", "Missing the impact text"},
		{"postmortem started", "Missing the date and time."},
		{"postmortem started 2026-03-01", "Missing the time: give HH:MM"},
		{"postmortem started 2026-03-01 25:00", "Invalid time"},
		{"postmortem detected 2026-02-30 10:00", "Invalid date"},
		{"postmortem detected 2026-03-01 10:00 Mars/Base", "Unknown time zone"},
		{"postmortem detected 2026-03-01 10:00 UTC extra", "Unexpected"},
		{"postmortem cancel", `Unknown postmortem step "cancel"`},
		{"postmortem schedule", "Missing the date and start time."},
		{"postmortem schedule someday 10:00", `Invalid date "someday"`},
		{"postmortem schedule +3x 10:00", `Invalid start "+3x"`},
		{"postmortem schedule in soon", `Invalid start in "soon"`},
		{"postmortem schedule in 30s", `Invalid start in "30s"`},
		{"action x @bob due someday", `Invalid due date "someday"`},
		{"postmortem schedule 2026-02-30 10:00", `Invalid date "2026-02-30"`},
		{"postmortem schedule 2026-3-10 10:00", `Invalid date "2026-3-10"`},
		{"postmortem schedule 2026-03-10", "Missing the start time"},
		{"postmortem schedule 2026-03-10 24:00", `Invalid time "24:00"`},
		{"postmortem schedule 2026-03-10 12:60", `Invalid time "12:60"`},
		{"postmortem schedule 2026-03-10 1200", `Invalid time "1200"`},
		{"postmortem schedule 2026-03-10 12:5", `Invalid time "12:5"`},
		{"postmortem schedule 2026-03-10 -1:30", `Invalid time "-1:30"`},
		{"postmortem schedule 2026-03-10 10:00 Mars/Olympus", `Unknown time zone "Mars/Olympus"`},
		{"postmortem schedule 2026-03-10 10:00 Local", `Unknown time zone "Local"`},
		{"postmortem schedule 2026-03-10 10:00 ../../etc/passwd", `Unknown time zone`},
		{"postmortem schedule 2026-03-10 10:00 UTC Europe/Berlin", `Unexpected "Europe/Berlin": give one time zone.`},
		{"postmortem schedule 2026-03-10 10:00 0m", `Invalid duration "0m"`},
		{"postmortem schedule 2026-03-10 10:00 0", `Invalid duration "0"`},
		{"postmortem schedule 2026-03-10 10:00 8h1m", `Invalid duration "8h1m"`},
		{"postmortem schedule 2026-03-10 10:00 481", `Invalid duration "481"`},
		{"postmortem schedule 2026-03-10 10:00 99999999999999999999", `Invalid duration`},
		{"postmortem schedule 2026-03-10 10:00 45min", `Invalid duration "45min"`},
		{"postmortem schedule 2026-03-10 10:00 45m 1h", `Unexpected "1h": give one duration.`},
		{"postmortem held", "Missing the attendees"},
		{"postmortem held -- notes only", "Missing the attendees"},
		{"postmortem held alice", `"alice" is not a mention`},
		{"postmortem held @alice and @bob", `"and" is not a mention`},

		{"action", "Missing the countermeasure"},
		{"action add a retry", "Missing the owner: mention who owns it.\nUsage: /incident action <text> @owner due <YYYY-MM-DD>"},
		{"action add a retry due 2026-04-01", "Missing the owner"},
		{`action add a retry "@alice" due 2026-04-01`, "Missing the owner"},
		{"action add a retry @alice", "Missing the due date"},
		{"action add a retry @alice due", "Missing the due date"},
		{"action add a retry @alice by 2026-04-01", "Missing the due date"},
		{"action add a retry @alice due friday", `Invalid due date "friday"`},
		{"action add a retry @alice due 2026-02-30", `Invalid due date "2026-02-30"`},
		{"action add a retry @alice due @bob", `Invalid due date "@bob"`},
		{"action @alice due 2026-04-01", "Missing the countermeasure text"},
		{`action "" @alice due 2026-04-01`, "Missing the countermeasure text"},
		{"action add a retry @alice soon due 2026-04-01", `Unexpected "soon" after the owner`},
		{`action "add a retry @alice due 2026-04-01`, "Unterminated quote"},
		{"action done", "Missing the countermeasure number"},
		{"action done first", `Invalid countermeasure number "first"`},
		{"action done 0", `Invalid countermeasure number "0"`},
		{"action done -1", `Invalid countermeasure number "-1"`},
		{"action done +1", `Invalid countermeasure number "+1"`},
		{"action done 99999999999999999999", `Invalid countermeasure number`},
		{"action done 1 2", `Invalid incident "2"`},
		{"action done INC-1", `Invalid countermeasure number "INC-1"`},
		{"action done INC-1#", `Invalid countermeasure number "INC-1#"`},
		{"action done INC-#2", `Invalid countermeasure number "INC-#2"`},
		{"action done 1#2", `Invalid countermeasure number "1#2"`},
		{"action done INC-1#0", `Invalid countermeasure number "INC-1#0"`},
		{"action done INC-1#2#3", `Invalid countermeasure number "INC-1#2#3"`},
		{"action drop INC-x#2", `Invalid countermeasure number "INC-x#2"`},
		{"action drop", "Missing the countermeasure number"},
		{"action drop 2 INC-x", `Invalid incident "INC-x"`},
		{"action drop INC-1#2 INC-3", `Unexpected "INC-3"`},

		{"github", "Missing the GitHub login"},
		{"github -octo", `Invalid GitHub login "-octo"`},
		{"github octo-", `Invalid GitHub login "octo-"`},
		{"github oc--to", `Invalid GitHub login "oc--to"`},
		{"github oc_to", `Invalid GitHub login "oc_to"`},
		{"github @", `Invalid GitHub login "@"`},
		{"github " + strings.Repeat("a", 40), `Invalid GitHub login`},
		{"github octo cat", `Unexpected "cat"`},

		{"tz", "Missing the time zone"},
		{"tz Local", `Unknown time zone "Local"`},
		{"tz Europe/Atlantis", `Unknown time zone "Europe/Atlantis"`},
		{"tz /etc/localtime", `Unknown time zone`},
		{"tz UTC Europe/Berlin", `Unexpected "Europe/Berlin"`},
	}
	for _, tt := range tests {
		got, err := bot.Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q) = %+v, want an error containing %q", tt.in, got, tt.want)
			continue
		}
		var e *bot.Error
		if !errors.As(err, &e) || e.Code != bot.EINVALID {
			t.Errorf("Parse(%q) error %v, want an *Error with code %s", tt.in, err, bot.EINVALID)
			continue
		}
		if !strings.Contains(e.Message, tt.want) {
			t.Errorf("Parse(%q) message %q, want it to contain %q", tt.in, e.Message, tt.want)
		}
		if !strings.Contains(e.Message, "Usage:") {
			t.Errorf("Parse(%q) message %q shows no usage", tt.in, e.Message)
		}
	}
}

// TestParseUsage checks that each malformed command shows the usage line of
// its own verb, without the description.
func TestParseUsage(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"declare", "\nUsage: /incident declare <title> [sev1..sev4] [drill|near-miss] [#tag...] [--from NM-n|AL-id]"},
		{"sev", "\nUsage: /incident sev <1-4>"},
		{"role", "\nUsage: /incident role <commander|comms|scribe> @user"},
		{"status", "\nUsage: /incident status <text>"},
		{"note", "\nUsage: /incident note <text>"},
		{"mitigate x", "\nUsage: /incident mitigate"},
		{"reopen x", "\nUsage: /incident reopen"},
		{"postmortem impact", "\nUsage: /incident postmortem impact <text>"},
		{"postmortem schedule", "\nUsage: /incident postmortem schedule <YYYY-MM-DD HH:MM> [IANA zone] [duration]"},
		{"postmortem held", "\nUsage: /incident postmortem held @attendee... [-- notes]"},
		{"action", "\nUsage: /incident action <text> @owner due <YYYY-MM-DD>"},
		{"action done", "\nUsage: /incident action done <n|INC-n#n>"},
		{"actions x", "\nUsage: /incident actions"},
		{"github", "\nUsage: /incident github <login>"},
		{"tz", "\nUsage: /incident tz <IANA zone>"},
		{"close x", "\nUsage: /incident close"},
		{"timeline x", "\nUsage: /incident timeline"},
		{"list x", "\nUsage: /incident list"},
	}
	for _, tt := range tests {
		_, err := bot.Parse(tt.in)
		msg := bot.ErrorMessage(err)
		if !strings.HasSuffix(msg, tt.want) {
			t.Errorf("Parse(%q) message %q, want it to end with %q", tt.in, msg, tt.want)
		}
	}
}

func TestParseUnknownShowsHelp(t *testing.T) {
	_, err := bot.Parse("frobnicate the thing")
	want := "Unknown command \"frobnicate\".\n" + bot.Help()
	if got := bot.ErrorMessage(err); got != want {
		t.Errorf("Parse(frobnicate) message %q, want %q", got, want)
	}
	long := strings.Repeat("x", 1000)
	_, err = bot.Parse(long)
	if msg := bot.ErrorMessage(err); strings.Contains(msg, long) || !strings.Contains(msg, `"xxxx`) {
		t.Errorf("Parse(long word) message %q, want the word shortened", msg)
	}
}

func TestHelp(t *testing.T) {
	h := bot.Help()
	lines := strings.Split(h, "\n")
	if lines[0] != bot.HelpHeading || len(lines) != len(bot.Verbs)+1 {
		t.Fatalf("Help() = %q, want a heading and one line per command", h)
	}
	// A verb whose usage makes the help longer than one Discord message
	// must say less.
	if n := utf8.RuneCountInString(h); n > bot.MaxHelp {
		t.Errorf("Help() is %d characters, more than %d: shorten the usage lines", n, bot.MaxHelp)
	}
	for i, s := range bot.Verbs {
		want := "/incident " + s.Usage + "   " + s.Short
		if lines[i+1] != s.Usage+"   "+s.Short {
			t.Errorf("Help() line %d = %q, want %q", i+1, lines[i+1], s.Usage+"   "+s.Short)
		}
		if bot.UsageOf(s.Verb) != want {
			t.Errorf("UsageOf(%s) = %q, want %q", s.Verb, bot.UsageOf(s.Verb), want)
		}
		// Error messages show the syntax only: it ends where three spaces
		// start the description.
		if got := bot.Syntax(s.Verb); got != "/incident "+s.Usage || strings.Contains(s.Usage, "   ") {
			t.Errorf("Syntax(%s) = %q, want the usage without the description", s.Verb, got)
		}
		if !strings.HasPrefix(s.Usage, string(s.Verb)) {
			t.Errorf("usage of %s %q does not start with its words", s.Verb, s.Usage)
		}
	}
	if got := bot.UsageOf("nope"); got != "" {
		t.Errorf("UsageOf(nope) = %q, want empty", got)
	}
}

// TestParseVerbs checks that every verb of Verbs parses from its own words
// and a value of each required argument, written by Compose from a sample
// of its type: a verb added to the table is covered without a change here.
func TestParseVerbs(t *testing.T) {
	sample := map[bot.ArgType]string{
		bot.ArgText: "x", bot.ArgSeverity: "2", bot.ArgRole: "ic", bot.ArgKind: "drill", bot.ArgTags: "#t",
		bot.ArgUser: "@a", bot.ArgUsers: "@{U1|b}", bot.ArgDate: "2026-01-01", bot.ArgTime: "10:00",
		bot.ArgZone: "Europe/Berlin", bot.ArgDuration: "45m", bot.ArgNumber: "1", bot.ArgLogin: "octocat",
	}
	for _, s := range bot.Verbs {
		values := map[string][]string{}
		for _, a := range s.Args {
			v := sample[a.Type]
			if a.Type == bot.ArgChoice {
				v = a.Choices[0]
			}
			if v == "" {
				t.Fatalf("no sample for argument %s of %s", a.Name, s.Verb)
			}
			if a.Required {
				values[a.Name] = []string{v}
			}
		}
		in, err := s.Compose(values)
		if err != nil {
			t.Errorf("Compose(%s, %v) error %v", s.Verb, values, err)
			continue
		}
		got, err := bot.Parse(in)
		if err != nil || got.Verb != s.Verb {
			t.Errorf("Parse(%q) = %+v, %v, want verb %q", in, got, err, s.Verb)
		}
		// Every alias of the words reads the same.
		for alias, word := range map[string]string{"severity": "sev", "timezone": "tz", "pm": "postmortem", "post-mortem": "postmortem"} {
			if rest, ok := strings.CutPrefix(in, word); ok && (rest == "" || rest[0] == ' ') {
				if got, err := bot.Parse(strings.ToUpper(alias) + rest); err != nil || got.Verb != s.Verb {
					t.Errorf("Parse(%q) = %+v, %v, want verb %q", alias+rest, got, err, s.Verb)
				}
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "help", "declare db is down", `declare "db is down" sev1 drill #db`,
		"declare “db” P2 near-miss", `declare "unterminated`, "declare " + strings.Repeat("a", 201),
		"sev 2", "sev2", "sev 9", "role ic @{U024BE7LH|alice}", "role comms <@!123>", "role scribe @bob",
		"role x", "status ok", "note", "resolve fixed", "mitigate", "mitigate now", "reopen",
		"postmortem schedule 2026-03-10 14:00 Europe/Berlin 45m", "postmortem schedule 2026-02-30 25:00",
		"postmortem schedule 2026-03-10 10:00 ../../x", "postmortem held @a @{U1} -- notes",
		"postmortem held -- x", "postmortem held @a — notes", "action fix @a due 2026-04-01",
		"action fix due", "action done 3", "action done x", "actions", "github octocat", "github -x",
		"tz UTC", "tz Local", "close", "timeline", "list", "foo", "\xff\xfe", "<@", "@", "#", `"`, "“",
		"declare <#C1|x> <#> <@&1>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cmd, err := bot.Parse(s)
		if err != nil {
			e, ok := err.(*bot.Error)
			if !ok || e.Code != bot.EINVALID || e.Message == "" {
				t.Fatalf("Parse(%q) error %#v, want an *Error with code %s and a message", s, err, bot.EINVALID)
			}
			return
		}
		if bot.UsageOf(cmd.Verb) == "" {
			t.Fatalf("Parse(%q) verb %q has no usage", s, cmd.Verb)
		}
		for _, u := range cmd.Users {
			if u.ID == "" || u.Platform != "" {
				t.Fatalf("Parse(%q) user %+v, want an ID and no platform", s, u)
			}
		}
		switch cmd.Verb {
		case bot.VerbDeclare:
			if strings.TrimSpace(cmd.Text) == "" || utf8.RuneCountInString(cmd.Text) > bot.MaxTitle {
				t.Fatalf("Parse(%q) title %q, want 1 to %d characters", s, cmd.Text, bot.MaxTitle)
			}
			if cmd.Severity != 0 && !cmd.Severity.Valid() {
				t.Fatalf("Parse(%q) severity %d", s, cmd.Severity)
			}
		case bot.VerbSev:
			if !cmd.Severity.Valid() {
				t.Fatalf("Parse(%q) severity %d", s, cmd.Severity)
			}
		case bot.VerbRole, bot.VerbAction:
			if len(cmd.Users) != 1 {
				t.Fatalf("Parse(%q) users %+v, want one", s, cmd.Users)
			}
		case bot.VerbPostmortemHeld:
			if len(cmd.Users) == 0 {
				t.Fatalf("Parse(%q) has no attendees", s)
			}
		case bot.VerbPostmortemSchedule:
			if cmd.Date.IsZero() || cmd.Time.Hour > 23 || cmd.Time.Minute > 59 || cmd.Duration < 0 || cmd.Duration > bot.MaxMeeting {
				t.Fatalf("Parse(%q) = %+v", s, cmd)
			}
		case bot.VerbActionDone:
			if cmd.N <= 0 {
				t.Fatalf("Parse(%q) n = %d", s, cmd.N)
			}
		}
		if cmd.Verb == bot.VerbAction && (cmd.Due.IsZero() || strings.TrimSpace(cmd.Text) == "") {
			t.Fatalf("Parse(%q) = %+v, want text and a due date", s, cmd)
		}
	})
}

// BenchmarkParseLarge guards against quadratic work on pasted walls of
// text: each input is about 1 MB.
func BenchmarkParseLarge(b *testing.B) {
	var tags, users, words strings.Builder
	for i := range 100000 {
		fmt.Fprintf(&tags, " #t%d", i)
		fmt.Fprintf(&users, " @u%d", i)
		fmt.Fprintf(&words, " w%d", i)
	}
	inputs := map[string]string{
		"declare tags":  "declare x" + tags.String(),
		"declare words": "declare" + words.String(),
		"held":          "postmortem held" + users.String() + " -- notes",
		"action":        "action" + words.String() + users.String() + " due 2026-01-01",
		"quotes":        "declare" + strings.Repeat(` "a"`, 200000),
		"note":          "note" + words.String(),
	}
	for name, in := range inputs {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				bot.Parse(in)
			}
		})
	}
}
