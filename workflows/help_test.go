package workflows_test

import (
	"context"
	"strings"
	"testing"

	"github.com/debrief/debrief/bot"
)

// TestHelpVerb: "help <verb>" answers that verb's usage, "help <group>"
// the usage of the group's verbs, and a word that names no verb the whole
// help with a note; all of it read from bot's verb table.
func TestHelpVerb(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	all := bot.Help()
	lines := func(vs ...bot.Verb) string {
		var b strings.Builder
		b.WriteString("Usage:")
		for _, v := range vs {
			b.WriteString("\n" + bot.UsageOf(v))
		}
		return b.String()
	}
	cases := []struct{ text, want string }{
		{"help", all},
		{"", all},
		{"help declare", lines(bot.VerbDeclare)},
		{"help SEV", lines(bot.VerbSev)},
		{"help  postmortem   schedule ", lines(bot.VerbPostmortemSchedule)},
		{"help /incident close", lines(bot.VerbClose)},
		{"help action", lines(bot.VerbAction, bot.VerbActionDone, bot.VerbActionDrop)},
		{"help pm schedule", lines(bot.VerbPostmortemSchedule)},
		{"help severity", lines(bot.VerbSev)},
		{"help Timezone", lines(bot.VerbTZ)},
	}
	for _, c := range cases {
		r := e.svc.Execute(ctx, alice, general, c.text)
		if r.Text != c.want || !r.Ephemeral {
			t.Errorf("Execute(%q) = %q (ephemeral %v), want %q, ephemeral", c.text, r.Text, r.Ephemeral, c.want)
		}
	}
	for _, text := range []string{"help frobnicate", "help postmortem frobnicate"} {
		r := e.svc.Execute(ctx, alice, general, text)
		topic := strings.TrimPrefix(text, "help ")
		if !strings.HasPrefix(r.Text, "There is no command "+`"`+topic+`"`) || !strings.HasSuffix(r.Text, "\n"+all) || !r.Ephemeral {
			t.Errorf("Execute(%q) = %q, want a note on %q, then the whole help", text, r.Text, topic)
		}
	}
}
