package bot_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/debrief/debrief/bot"
)

func TestSeverityParse(t *testing.T) {
	tests := []struct {
		in   string
		want bot.Severity
		ok   bool
	}{
		{"sev1", bot.SEV1, true},
		{"SEV2", bot.SEV2, true},
		{"Sev3", bot.SEV3, true},
		{"P4", bot.SEV4, true},
		{"p1", bot.SEV1, true},
		{"2", bot.SEV2, true},
		{"", 0, false},
		{"sev", 0, false},
		{"p", 0, false},
		{"0", 0, false},
		{"5", 0, false},
		{"sev0", 0, false},
		{"sev5", 0, false},
		{"sev12", 0, false},
		{"02", 0, false},
		{"+2", 0, false},
		{"-1", 0, false},
		{"sevp2", 0, false},
		{"psev2", 0, false},
		{"sev 2", 0, false},
		{"high", 0, false},
	}
	for _, tt := range tests {
		got, ok := bot.ParseSeverity(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseSeverity(%q) = %v, %v, want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestSeverityText(t *testing.T) {
	for s := bot.SEV1; s <= bot.SEV4; s++ {
		b, err := s.MarshalText()
		if err != nil || string(b) != s.String() || !strings.HasPrefix(string(b), "SEV") {
			t.Errorf("%d.MarshalText() = %q, %v", s, b, err)
		}
		var back bot.Severity
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("UnmarshalText(%q) = %v, %v, want %v", b, back, err, s)
		}
	}
	for _, s := range []bot.Severity{0, 5, -1} {
		if s.Valid() || s.String() != "SEV?" {
			t.Errorf("Severity(%d): valid %v, string %q", s, s.Valid(), s.String())
		}
	}

	// JSON carries "SEV2" and reads back what ParseSeverity accepts.
	type doc struct {
		Severity bot.Severity `json:"severity"`
	}
	b, err := json.Marshal(doc{bot.SEV2})
	if err != nil || string(b) != `{"severity":"SEV2"}` {
		t.Errorf("json.Marshal = %s, %v", b, err)
	}
	var d doc
	if err := json.Unmarshal([]byte(`{"severity":"p3"}`), &d); err != nil || d.Severity != bot.SEV3 {
		t.Errorf("json.Unmarshal(p3) = %v, %v", d.Severity, err)
	}
	if err := json.Unmarshal([]byte(`{"severity":"SEV9"}`), &d); err == nil {
		t.Error("json.Unmarshal(SEV9) succeeded, want an error")
	}
}

func TestIncidentID(t *testing.T) {
	if got := bot.IncidentID(42); got != "INC-42" {
		t.Errorf("IncidentID(42) = %q", got)
	}
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"INC-42", 42, true},
		{"inc-42", 42, true},
		{"Inc-7", 7, true},
		{"42", 42, true},
		{"INC-1", 1, true},
		{"", 0, false},
		{"INC-", 0, false},
		{"INC-0", 0, false},
		{"0", 0, false},
		{"-1", 0, false},
		{"INC--1", 0, false},
		{"+42", 0, false},
		{"INC-+42", 0, false},
		{"INC-4x", 0, false},
		{"INC 42", 0, false},
		{"99999999999999999999", 0, false},
	}
	for _, tt := range tests {
		got, ok := bot.ParseIncidentID(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseIncidentID(%q) = %v, %v, want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	for n := 1; n < 1000; n += 37 {
		if got, ok := bot.ParseIncidentID(bot.IncidentID(n)); !ok || got != n {
			t.Errorf("ParseIncidentID(IncidentID(%d)) = %d, %v", n, got, ok)
		}
	}
}

var slugRE = regexp.MustCompile(`^([a-z0-9]+(-[a-z0-9]+)*)?$`)

func TestSlug(t *testing.T) {
	tests := []struct {
		title string
		max   int
		want  string
	}{
		{"DB latency", 80, "db-latency"},
		{"  --DB   latency!!  ", 80, "db-latency"},
		{"API v2: 5xx on /checkout", 80, "api-v2-5xx-on-checkout"},
		{"Datenbank überlastet", 80, "datenbank-berlastet"},
		{"数据库宕机", 80, ""},
		{"数据库 down", 80, "down"},
		{"", 80, ""},
		{"abc def", 3, "abc"},
		{"abc def", 4, "abc"}, // never ends in a hyphen
		{"abc def", 5, "abc-d"},
		{"abcdef", 0, ""},
		{"abcdef", -1, ""},
	}
	for _, tt := range tests {
		if got := bot.Slug(tt.title, tt.max); got != tt.want {
			t.Errorf("Slug(%q, %d) = %q, want %q", tt.title, tt.max, got, tt.want)
		}
	}
}

func FuzzSlug(f *testing.F) {
	for _, s := range []string{"DB latency", "Überlast", "数据库", strings.Repeat("a b ", 50), "--", "\xff"} {
		f.Add(s, 20)
	}
	f.Fuzz(func(t *testing.T, title string, max int) {
		got := bot.Slug(title, max)
		if !slugRE.MatchString(got) || len(got) > max && got != "" {
			t.Fatalf("Slug(%q, %d) = %q", title, max, got)
		}
	})
}

func TestChannelName(t *testing.T) {
	tests := []struct {
		n     int
		title string
		want  string
	}{
		{42, "DB latency", "inc-42-db-latency"},
		{7, "数据库宕机", "inc-7"},
		{7, "", "inc-7"},
		{1, "Ärger mit Café-Zahlungen", "inc-1-rger-mit-caf-zahlungen"},
	}
	for _, tt := range tests {
		inc := bot.Incident{Number: tt.n, Title: tt.title}
		if got := inc.ChannelName(); got != tt.want {
			t.Errorf("ChannelName(%d, %q) = %q, want %q", tt.n, tt.title, got, tt.want)
		}
	}

	// Long titles are cut to Slack's 80 characters, whatever the number.
	for _, n := range []int{1, 42, 123456, 1<<62 - 1} {
		for _, title := range []string{
			strings.Repeat("a", 300),
			strings.Repeat("ab ", 100),
			strings.Repeat("é a ", 100),
			strings.Repeat("x", 200) + " tail",
		} {
			inc := bot.Incident{Number: n, Title: title}
			got := inc.ChannelName()
			if len(got) > 80 || utf8.RuneCountInString(got) > 80 || !slugRE.MatchString(got) || got != strings.ToLower(got) {
				t.Errorf("ChannelName(%d, %.20q...) = %q (%d bytes)", n, title, got, len(got))
			}
			if !strings.HasPrefix(got, "inc-") {
				t.Errorf("ChannelName(%d) = %q, want the inc- prefix", n, got)
			}
		}
	}
	// The slug fills the room it has: a 300-letter title gives 80 characters.
	inc := bot.Incident{Number: 42, Title: strings.Repeat("a", 300)}
	if got := inc.ChannelName(); len(got) != 80 {
		t.Errorf("ChannelName(42, a*300) is %d characters, want 80", len(got))
	}
}

func TestParseRole(t *testing.T) {
	tests := []struct {
		in   string
		want bot.Role
		ok   bool
	}{
		{"commander", bot.Commander, true},
		{"IC", bot.Commander, true},
		{"incident-commander", bot.Commander, true},
		{"Comms", bot.Comms, true},
		{"communications", bot.Comms, true},
		{"scribe", bot.Scribe, true},
		{"", "", false},
		{"boss", "", false},
	}
	for _, tt := range tests {
		got, ok := bot.ParseRole(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseRole(%q) = %q, %v, want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestUser(t *testing.T) {
	u := bot.User{Platform: bot.Slack, ID: "U1", Name: "alice"}
	if u.Key() != "slack:U1" || u.Display() != "@alice" || u.IsZero() {
		t.Errorf("%+v: key %q display %q zero %v", u, u.Key(), u.Display(), u.IsZero())
	}
	v := bot.User{Platform: bot.Discord, ID: "123"}
	if v.Display() != "@123" {
		t.Errorf("%+v.Display() = %q, want @123", v, v.Display())
	}
	if !(bot.User{}).IsZero() {
		t.Error("User{}.IsZero() = false")
	}
}

func TestIncidentRoles(t *testing.T) {
	alice := bot.User{Platform: bot.Slack, ID: "U1", Name: "alice"}
	inc := &bot.Incident{}
	if _, ok := inc.Role(bot.Commander); ok || inc.IsCommander(alice) {
		t.Error("an incident without roles has a commander")
	}
	inc.Roles = map[bot.Role]bot.User{bot.Commander: alice, bot.Scribe: {}}
	if u, ok := inc.Role(bot.Commander); !ok || u != alice {
		t.Errorf("Role(commander) = %+v, %v", u, ok)
	}
	if _, ok := inc.Role(bot.Scribe); ok {
		t.Error("Role(scribe) held by the zero user")
	}
	if !inc.IsCommander(bot.User{Platform: bot.Slack, ID: "U1"}) {
		t.Error("IsCommander(slack:U1) = false")
	}
	// The same ID on another platform is someone else.
	if inc.IsCommander(bot.User{Platform: bot.Discord, ID: "U1"}) {
		t.Error("IsCommander(discord:U1) = true")
	}
}

func TestAddResponder(t *testing.T) {
	inc := &bot.Incident{}
	a := bot.User{Platform: bot.Slack, ID: "U1"}
	inc.AddResponder(a)
	inc.AddResponder(bot.User{Platform: bot.Slack, ID: "U1", Name: "renamed"})
	inc.AddResponder(bot.User{Platform: bot.Discord, ID: "U1"})
	if len(inc.Responders) != 2 || inc.Responders[0] != a {
		t.Errorf("Responders = %+v, want slack:U1 once and discord:U1", inc.Responders)
	}
}

func TestIncidentOpen(t *testing.T) {
	for s, want := range map[bot.Status]bool{
		bot.StatusInvestigating:   true,
		bot.StatusMitigated:       true,
		bot.StatusResolved:        false,
		bot.StatusReviewScheduled: false,
		bot.StatusReviewHeld:      false,
		bot.StatusClosed:          false,
	} {
		inc := bot.Incident{Status: s}
		if got := inc.Open(); got != want {
			t.Errorf("Open() in %s = %v, want %v", s, got, want)
		}
	}
}
