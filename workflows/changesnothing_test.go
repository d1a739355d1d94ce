package workflows_test

import (
	"testing"

	"github.com/debrief/debrief/workflows"
)

// TestChangesNothing: the adapters skip the replay check only for verbs
// that read; every verb that writes, and text naming no verb, keeps it.
func TestChangesNothing(t *testing.T) {
	for text, want := range map[string]bool{
		"timeline":                 true,
		"actions":                  true,
		"list":                     true,
		"help":                     true,
		"help declare":             true,
		"gameday list":             true,
		"note the db is back":      false,
		"declare db down sev2":     false,
		"sev 1":                    false,
		"close":                    false,
		"action done 1":            false,
		"action fix the alert":     false,
		"postmortem schedule x":    false,
		"role commander @{U1|ada}": false,
		"frobnicate":               false,
	} {
		if got := workflows.ChangesNothing(text); got != want {
			t.Errorf("ChangesNothing(%q) = %v, want %v", text, got, want)
		}
	}
}
