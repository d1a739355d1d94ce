package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEEnvironment: every variable `debrief help` names is in the
// README's Configuration table, so that a variable added to the code and
// its usage is documented where operators look.
func TestREADMEEnvironment(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Configuration\n")
	if !ok {
		t.Fatal("README has no Configuration section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	_, env, _ := strings.Cut(usage, "Environment:")
	env, _, _ = strings.Cut(env, "HTTP routes:")
	names := regexp.MustCompile(`\b(?:DEBRIEF|SLACK|DISCORD|GITHUB)_[A-Z_]+\b`).FindAllString(env, -1)
	if len(names) < 20 {
		t.Fatalf("usage names %d variables: %q", len(names), names)
	}
	for _, name := range names {
		if !strings.Contains(section, "`"+name+"`") {
			t.Errorf("%s is in debrief help but not in the README's Configuration table", name)
		}
	}
}
