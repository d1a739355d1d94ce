package bot

import "testing"

func TestVerbOf(t *testing.T) {
	for _, tc := range []struct {
		text string
		want Verb
		ok   bool
	}{
		{"", VerbHelp, true},
		{"sev 9", VerbSev, true},
		{"sev9", VerbSev, true},
		{"severity high", VerbSev, true},
		{"PM Schedule tomorrow", VerbPostmortemSchedule, true},
		{"postmortem", VerbPostmortem, true},
		{"postmortem frobnicate", VerbPostmortem, true},
		{"action done x", VerbActionDone, true},
		{"frobnicate", "", false},
	} {
		got, ok := VerbOf(tc.text)
		if got != tc.want || ok != tc.ok {
			t.Errorf("VerbOf(%q) = %q, %v; want %q, %v", tc.text, got, ok, tc.want, tc.ok)
		}
	}
}
