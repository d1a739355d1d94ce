package workflows_test

import (
	"context"
	"strings"
	"testing"

	"github.com/debrief/debrief/bot"
)

// TestEveryVerbHasAHandler: the verb families' tables together cover every
// verb of the grammar; none answers "Unknown command".
func TestEveryVerbHasAHandler(t *testing.T) {
	e := newEnv(t)
	_, ch := e.declare("Verbs")
	for _, v := range []bot.Verb{
		bot.VerbDeclare, bot.VerbSev, bot.VerbRole, bot.VerbStatus, bot.VerbNote, bot.VerbMitigate, bot.VerbResolve,
		bot.VerbReopen, bot.VerbPostmortemSchedule, bot.VerbPostmortemHeld, bot.VerbPostmortem, bot.VerbPostmortemLint,
		bot.VerbPostmortemSummary, bot.VerbPostmortemImpact, bot.VerbPostmortemFactor, bot.VerbPostmortemStarted,
		bot.VerbPostmortemDetected, bot.VerbAction, bot.VerbActionDone, bot.VerbActions, bot.VerbGithub, bot.VerbTZ,
		bot.VerbClose, bot.VerbTimeline, bot.VerbList, bot.VerbHelp,
	} {
		_, err := e.svc.Handle(context.Background(), bob, ch, bot.Command{Verb: v})
		if strings.Contains(bot.ErrorMessage(err), "Unknown command") {
			t.Errorf("%s: %v", v, err)
		}
	}
	_, err := e.svc.Handle(context.Background(), bob, ch, bot.Command{Verb: "page"})
	if !strings.Contains(bot.ErrorMessage(err), "Unknown command") {
		t.Errorf("an unknown verb: %v, want Unknown command", err)
	}
}
