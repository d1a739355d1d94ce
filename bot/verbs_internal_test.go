package bot

import (
	"reflect"
	"strings"
	"testing"
)

// TestParseArgs reads a verb no entry declares yet, to show that the
// argument types alone give a verb its grammar and its messages: a
// choice, people, and a zone and a duration in either order.
func TestParseArgs(t *testing.T) {
	page := &VerbSpec{Verb: "page", Usage: "page <loud|quiet> @user... [IANA zone] [duration]", Short: "page people",
		Args: []Arg{
			{Name: "mode", Type: ArgChoice, Required: true, Choices: []string{"loud", "quiet"}},
			{Name: "who", Type: ArgUser, Required: true},
			{Name: "zone", Type: ArgZone},
			{Name: "for", Type: ArgDuration},
		}}
	for _, tc := range []struct {
		in   string
		want Command
	}{
		{"LOUD @bob", Command{Verb: "page", Choice: "loud", Users: []User{{ID: "bob", Name: "bob"}}}},
		{"quiet @{U1|bob} 30m UTC", Command{Verb: "page", Choice: "quiet", Users: []User{{ID: "U1", Name: "bob"}}, Zone: "UTC", Duration: 30 * 60e9}},
		{`"quiet" @bob Europe/Berlin 1h`, Command{Verb: "page", Choice: "quiet", Users: []User{{ID: "bob", Name: "bob"}}, Zone: "Europe/Berlin", Duration: 60 * 60e9}},
	} {
		got, err := page.parse(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parse(%q) = %+v, %v, want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"", "Missing the mode and person."},
		{"loud", "Missing the person: mention them, e.g. @alice."},
		{"shout @bob", `Unknown mode "shout": use loud or quiet.`},
		{"loud bob", `"bob" is not a mention`},
		{"loud @bob UTC UTC", `Unexpected "UTC": give one time zone.`},
		{"loud @bob 1h 2h", `Unexpected "2h": give one duration.`},
		{"loud @bob 9h", `Invalid duration "9h"`},
		{`loud "@bob`, "Unterminated quote"},
	} {
		_, err := page.parse(tc.in)
		if e, ok := err.(*Error); !ok || !strings.Contains(e.Message, tc.want) || !strings.Contains(e.Message, "Usage: ") {
			t.Errorf("parse(%q) error %v, want it to contain %q and usage", tc.in, err, tc.want)
		}
	}
}
