package workflows_test

import (
	"strings"
	"testing"

	"github.com/debrief/debrief/bot"
)

// TestResolveLintsSummary: a resolve summary with blame is accepted (the
// incident is over) but the reply quotes the finding and says how to fix
// it, before the close gate does.
func TestResolveLintsSummary(t *testing.T) {
	e := newEnv(t)
	_, ch := e.declare("Checkout down")
	e.run(alice, ch, "role comms @bob")
	r := e.run(alice, ch, "resolve bob broke the deploy")
	for _, want := range []string{
		"INC-1 is resolved.",
		"The summary is not blameless yet; rewrite it with /incident postmortem summary <text>.",
		"Blameless lint of INC-1: 1 finding.",
		`summary line 1: "bob broke" (blame) in "bob broke the deploy".`,
	} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("resolve reply lacks %q:\n%s", want, r.Text)
		}
	}
	_, ch2 := e.declare("Search slow")
	if r := e.run(alice, ch2, "resolve the index rebuild ran at peak"); strings.Contains(r.Text, "not blameless yet") {
		t.Errorf("a clean summary got a lint note: %q", r.Text)
	}
}

// TestRefusalsReadAsPeopleWrite: a step refused by the lifecycle says what
// would be done and when it can be, without the table's own words.
func TestRefusalsReadAsPeopleWrite(t *testing.T) {
	e := newEnv(t)
	_, ch := e.declare("Checkout down")
	err := e.refuse(alice, ch, "postmortem held @alice", bot.ECONFLICT)
	want := "Cannot mark the review of INC-1 held: it is still under investigation; the review can be marked held once it is scheduled (postmortem schedule)."
	if got := bot.ErrorMessage(err); got != want {
		t.Errorf("held too early = %q, want %q", got, want)
	}
	e.run(alice, ch, "mitigate")
	err = e.refuse(alice, ch, "mitigate", bot.ECONFLICT)
	want = "Cannot mark INC-1 mitigated: it is mitigated; only an incident under investigation can be marked mitigated."
	if got := bot.ErrorMessage(err); got != want {
		t.Errorf("mitigate twice = %q, want %q", got, want)
	}
}
