package render

import "testing"

// TestMdTextFastPath holds mdText's shortcut (no Replacer for a string
// without mdSpecial's bytes) to the Replacer's answer: for every byte
// alone, between letters, and for the patterns of two bytes.
func TestMdTextFastPath(t *testing.T) {
	var cases []string
	for c := range 256 {
		cases = append(cases, string(rune(c)), "a"+string([]byte{byte(c)})+"b")
	}
	cases = append(cases, "x\r\ny", "plain text: p99 12 ms, still climbing", "", "ünïcode – ok", "a\u202eb")
	for _, s := range cases {
		if got, want := mdText(s), Visible(mdEscaper.Replace(s)); got != want {
			t.Errorf("mdText(%q) = %q, want %q", s, got, want)
		}
	}
}
