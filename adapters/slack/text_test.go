package slack

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/slack/slacktest"
	"github.com/debrief/debrief/bot"
)

func TestCommandText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"sev 1", "sev 1"},
		{`declare "A &amp; B &lt;3 &gt;" sev2`, `declare "A & B <3 >" sev2`},
		{"role comms <@U024BE7LH|alice>", "role comms <@U024BE7LH|alice>"},
		// A typed "<@U1>" arrives escaped and is a mention once decoded,
		// the same as one picked from the list.
		{"role comms &lt;@U1&gt;", "role comms <@U1>"},
		{"declare x <#C1|ops&amp;dev> &amp;", "declare x <#C1|ops&amp;dev> &"},
		{"note &amp;amp;", "note &amp;"},
		{"note <unclosed &amp;", "note <unclosed &"},
	} {
		if got := commandText(tc.in); got != tc.want {
			t.Errorf("commandText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestNeutralText: Slack's mentions and channel links become the neutral
// forms bot.Parse reads, and the grammar reads them as meant; other markup
// and typed text stay as they are.
func TestNeutralText(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		cmd      bot.Command
	}{
		{"role comms <@U024BE7LH|alice>", "role comms @{U024BE7LH|alice}",
			bot.Command{Verb: bot.VerbRole, Role: bot.Comms, Users: []bot.User{{ID: "U024BE7LH", Name: "alice"}}}},
		{"role comms <@U024BE7LH>", "role comms @{U024BE7LH}",
			bot.Command{Verb: bot.VerbRole, Role: bot.Comms, Users: []bot.User{{ID: "U024BE7LH"}}}},
		// A name the token cannot carry is dropped, the ID kept.
		{"role comms <@U1|Bob Dylan>", "role comms @{U1}", bot.Command{Verb: bot.VerbRole, Role: bot.Comms, Users: []bot.User{{ID: "U1"}}}},
		{"declare db down <#C024BE7LH|db> <#C1|eu&amp;west> <#C2>", "declare db down #db #eu&west <#C2>",
			bot.Command{Verb: bot.VerbDeclare, Text: "db down #db #eu&west <#C2>", Kind: bot.KindReal}},
		{"postmortem held <@U1|alice> <@U2> -- see <https://x|docs> <3", "postmortem held @{U1|alice} @{U2} -- see <https://x|docs> <3",
			bot.Command{Verb: bot.VerbPostmortemHeld, Users: []bot.User{{ID: "U1", Name: "alice"}, {ID: "U2"}}, Text: "see <https://x|docs> <3"}},
		{"status paging <@U1|alice> <!here>", "status paging @{U1|alice} <!here>", bot.Command{Verb: bot.VerbStatus, Text: "paging @alice <!here>"}},
		{"role comms <@U/1>", "role comms <@U/1>", bot.Command{}},
		{"note broken <@U1", "note broken <@U1", bot.Command{Verb: bot.VerbNote, Text: "broken <@U1"}},
	} {
		got := neutralText(tc.in)
		if got != tc.want {
			t.Errorf("neutralText(%q) = %q, want %q", tc.in, got, tc.want)
			continue
		}
		cmd, err := bot.Parse(got)
		if tc.cmd.Verb == "" {
			if err == nil {
				t.Errorf("Parse(%q) = %+v, want an error", got, cmd)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(cmd, tc.cmd) {
			t.Errorf("Parse(%q) = %+v, %v, want %+v", got, cmd, err, tc.cmd)
		}
	}
}

func TestPlainText(t *testing.T) {
	names := map[string]string{"U1": "alice"}
	name := func(id string) string { return names[id] }
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"hi <@U1>", "hi @alice"},
		{"hi <@U2>", "hi @U2"},
		{"hi <@U2|bob>", "hi @bob"},
		{"in <#C1|ops> and <#C2>", "in #ops and #C2"},
		{"<!here> <!channel> <!subteam^S1|@oncall> <!date^1392734382^{date}|Feb 18, 2014>", "@here @channel @oncall Feb 18, 2014"},
		{"see <https://x.example/a?b=1&amp;c=2|the dashboard>", "see the dashboard (https://x.example/a?b=1&c=2)"},
		{"see <https://x.example>", "see https://x.example"},
		{"mail <mailto:a@b.example|a@b.example>", "mail a@b.example"},
		{"a &lt; b &amp;&amp; c &gt; d", "a < b && c > d"},
		{"broken <@U1", "broken <@U1"},
	} {
		if got := plainText(tc.in, name); got != tc.want {
			t.Errorf("plainText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseTS(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"1700000000.000100", time.Unix(1700000000, 100_000).UTC()},
		{"1700000000.1", time.Unix(1700000000, 100_000_000).UTC()},
		{"1700000000", time.Unix(1700000000, 0).UTC()},
		{"", time.Time{}},
		{"x.1", time.Time{}},
		{"1700000000.12a", time.Time{}},
	} {
		if got := parseTS(tc.in); !got.Equal(tc.want) {
			t.Errorf("parseTS(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestCandidateName(t *testing.T) {
	long := "inc-12-" + strings.Repeat("a", 73) // 80
	for _, tc := range []struct {
		name string
		try  int
		want string
	}{
		{"inc-1-db", 1, "inc-1-db"},
		{"inc-1-db", 2, "inc-1-db-2"},
		{long, 1, long},
		{long, 2, long[:78] + "-2"},
		{long, 12, long[:77] + "-12"},
		{"inc-1-" + strings.Repeat("a", 72) + "-b", 3, "inc-1-" + strings.Repeat("a", 72) + "-3"},
	} {
		got := candidateName(tc.name, tc.try)
		if got != tc.want || len(got) > 80 {
			t.Errorf("candidateName(%q, %d) = %q, want %q", tc.name, tc.try, got, tc.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	if got := truncate("héllo wörld", 6); got != "héllo…" {
		t.Errorf("truncate = %q", got)
	}
	if got := truncate("short", 6); got != "short" {
		t.Errorf("truncate = %q", got)
	}
}

// TestEscapeTimes: a time token becomes Slack's date markup, read back by
// the fake as Slack reads it, in every style; the text around it is
// escaped, and so is the fallback; a delimiter that opens no token never
// reaches Slack.
func TestEscapeTimes(t *testing.T) {
	at := time.Date(2026, 3, 4, 13, 0, 0, 0, time.UTC)
	for _, style := range []bot.TimeStyle{bot.StyleTime, bot.StyleTimeSeconds, bot.StyleDate, bot.StyleLongDate, bot.StyleDateTime, bot.StyleLongDateTime} {
		text := "A & B <at> " + bot.TimeToken(bot.Stamp{At: at, Style: style, Fallback: "14:00 CET <& (13:00 UTC)"})
		got := escape(text)
		if !strings.HasPrefix(got, "A &amp; B &lt;at&gt; <!date^1772629200^") || strings.ContainsAny(got, "\ufdd0\ufdd1") {
			t.Errorf("escape(%q) = %q", text, got)
		}
		ds := slacktest.Dates(got)
		if len(ds) != 1 || ds[0].Unix != at.Unix() || ds[0].Fallback != "14:00 CET <& (13:00 UTC)" || ds[0].Format != slackDateFormats[style] {
			t.Errorf("style %c: %q reads as %+v", style, got, ds)
		}
	}
	if got := escape("x \ufdd0t:1:f|y z"); got != "x \ufffdt:1:f|y z" {
		t.Errorf("escape of a broken token = %q", got)
	}
	if got := escape("a < b"); got != "a &lt; b" {
		t.Errorf("escape without tokens = %q", got)
	}
}
