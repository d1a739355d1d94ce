package bot_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/debrief/debrief/bot"
)

func TestParseDeclareFrom(t *testing.T) {
	for _, tt := range []struct {
		in, from, title string
		sev             bot.Severity
	}{
		{"declare --from NM-7", "NM-7", "", 0},
		{"declare --from nm-7 sev2", "NM-7", "", bot.SEV2},
		{"declare Disk full --from al-3fa9c0 sev1", "AL-3FA9C0", "Disk full", bot.SEV1},
		{`declare "--from" is a flag`, "", "--from is a flag", 0},
	} {
		c, err := bot.Parse(tt.in)
		if err != nil || c.From != tt.from || c.Text != tt.title || c.Severity != tt.sev {
			t.Errorf("Parse(%q) = from %q title %q %s, %v; want %q %q %s", tt.in, c.From, c.Text, c.Severity, err, tt.from, tt.title, tt.sev)
		}
	}
	for _, in := range []string{"declare --from", "declare --from INC-3", "declare --from NM-x", "declare --from AL-", "declare --from al-x/y"} {
		if _, err := bot.Parse(in); bot.ErrorCode(err) != bot.EINVALID || !strings.Contains(bot.ErrorMessage(err), "--from") {
			t.Errorf("Parse(%q) = %v, want EINVALID about --from", in, err)
		}
	}
}

func TestParseNearMiss(t *testing.T) {
	c, err := bot.Parse(`nearmiss deploy #1 almost hit "prod" #Deploy #db #deploy`)
	if err != nil || c.Verb != bot.VerbNearMiss || c.Text != `deploy #1 almost hit "prod"` || !slices.Equal(c.Tags, []string{"deploy", "db"}) {
		t.Errorf("nearmiss = %+v, %v", c, err)
	}
	// A form writes text then tags with the text quoted (Compose).
	if c, err := bot.Parse(`nearmiss "disk nearly full on db-3" #db`); err != nil || c.Text != "disk nearly full on db-3" || !slices.Equal(c.Tags, []string{"db"}) {
		t.Errorf("composed nearmiss = %+v, %v", c, err)
	}
	for _, in := range []string{"nearmiss", "nearmiss #only #tags", "nearmiss " + strings.Repeat("x", bot.MaxNearMiss+1)} {
		if _, err := bot.Parse(in); bot.ErrorCode(err) != bot.EINVALID || !strings.Contains(bot.ErrorMessage(err), "nearmiss") {
			t.Errorf("Parse(%.40q) = %v, want EINVALID with the usage", in, err)
		}
	}
}

func TestEmojiForms(t *testing.T) {
	for _, tt := range []struct{ in, name, char string }{
		{"😬", "grimacing", "😬"}, {":grimacing:", "grimacing", "😬"}, {"oops", "oops", "oops"},
	} {
		if n, c := bot.EmojiForms(tt.in); n != tt.name || c != tt.char {
			t.Errorf("EmojiForms(%q) = %q, %q; want %q, %q", tt.in, n, c, tt.name, tt.char)
		}
	}
}
