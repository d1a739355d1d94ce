package httpapi

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestREADMEPages holds the README's HTTP section to the pages: both
// list routes with their parameters, the default and largest limit, and
// the fields of an answer.
func TestREADMEPages(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, want := range []string{
		"`GET /api/incidents?after=&limit=&status=&severity=&kind=&since=`",
		"`GET /api/incidents/{id}/timeline?after=&limit=`",
		fmt.Sprintf("`limit` is the page's size: %d when not given, at most %d.", DefaultLimit, MaxLimit),
		`"next"`, `"more"`, `rel="next"`,
	} {
		if !strings.Contains(readme, want) {
			t.Errorf("README lacks %s", want)
		}
	}
}
