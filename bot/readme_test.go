package bot_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/debrief/debrief/bot"
)

// TestREADMECommands holds the README's command table to bot.Verbs: each
// row is a verb's usage, in table order, so a documented command cannot
// drift from the grammar. A verb not yet in the README is allowed (help,
// derived from the table, lists it); one that went away is not.
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
	if len(rows) == 0 {
		t.Fatal("README has no Commands table")
	}
	i := 0
	for _, s := range bot.Verbs {
		if i < len(rows) && rows[i] == s.Usage {
			i++
		}
	}
	if i < len(rows) {
		t.Errorf("README's Commands row %q is no verb's usage, or is out of bot.Verbs' order", rows[i])
	}
}
