package web

import (
	"os"
	"strings"
	"testing"
)

// TestREADME holds the README to the archive: every route in its HTTP
// table, every variable the archive reads in its Configuration table.
func TestREADME(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, r := range (&Server{}).routes() {
		method, path, _ := strings.Cut(strings.TrimSuffix(r.pattern, "{$}"), " ")
		if !strings.Contains(readme, "`"+method+" "+path+"`") && !strings.Contains(readme, "`"+method+" "+path+"?") {
			t.Errorf("README's HTTP table lacks the route %s %s", method, path)
		}
	}
	for _, v := range []string{"DEBRIEF_INDEX", "DEBRIEF_WEB_USER_HEADER", "DEBRIEF_TRUSTED_PROXIES", "DEBRIEF_API_TOKEN", "DEBRIEF_WEB_URL"} {
		if !inTableRow(readme, "`"+v+"`") {
			t.Errorf("README's Configuration table lacks %s", v)
		}
	}
	if !strings.Contains(readme, "`debrief reindex`") {
		t.Errorf("README's Subcommands table lacks debrief reindex")
	}
}

// inTableRow reports whether some table row of md contains s.
func inTableRow(md, s string) bool {
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| ") && strings.Contains(line, s) {
			return true
		}
	}
	return false
}
