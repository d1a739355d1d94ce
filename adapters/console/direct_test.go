package console_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/debrief/debrief/adapters/console"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

// TestPostDirect prints a direct message once per key, marked as one, and
// refuses people of other platforms with ErrNoDirect.
func TestPostDirect(t *testing.T) {
	svc, _ := newService(t)
	var out strings.Builder
	con := console.New(svc, strings.NewReader(""), &out, alice)
	ctx := context.Background()
	for range 2 {
		if _, err := con.PostDirect(ctx, "nudge-1", bob, "Countermeasure #1 of INC-1 is due today.\nClose it when done."); err != nil {
			t.Fatal(err)
		}
	}
	want := "[to @bob] debrief: Countermeasure #1 of INC-1 is due today.\n[to @bob] debrief: Close it when done.\n"
	if got := out.String(); got != want {
		t.Errorf("output = %q, want %q", got, want)
	}
	if _, err := con.PostDirect(ctx, "k", bot.User{Platform: bot.Slack, ID: "U1"}, "hi"); !errors.Is(err, workflows.ErrNoDirect) {
		t.Errorf("PostDirect to a Slack user: err = %v, want ErrNoDirect", err)
	}
}
