package bot_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/debrief/debrief/bot"
)

// TestREADMECommands holds the README's command table to bot.Verbs: one
// row per verb, in the same order, with the same usage.
func TestREADMECommands(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(b), "\n## Commands\n")
	section, _, _ = strings.Cut(section, "\n## ")
	var rows []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([^`]+)` \\|").FindAllStringSubmatch(section, -1) {
		rows = append(rows, strings.ReplaceAll(m[1], `\|`, "|"))
	}
	var want []string
	for _, s := range bot.Verbs {
		want = append(want, s.Usage)
	}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("README's Commands table lists\n%s\nbot.Verbs declares\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
}
