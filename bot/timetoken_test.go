package bot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
)

// marked writes each token as [unix style fallback], to see what
// ExpandTimes found.
func marked(st bot.Stamp) string {
	return "[" + st.At.UTC().Format(time.RFC3339) + " " + string(st.Style) + " " + st.Fallback + "]"
}

func TestTimeTokenRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)
	for _, st := range []bot.Stamp{
		{At: at, Style: bot.StyleDateTime, Fallback: "2026-03-02 15:00 CET (14:00 UTC)"},
		{At: at, Style: bot.StyleTime, Fallback: "15:00 CET"},
		{At: at, Style: bot.StyleLongDateTime, Fallback: "Mon 2026-03-02 14:00 UTC"},
		{At: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), Style: bot.StyleDate, Fallback: "1960-01-01"},
	} {
		tok := bot.TimeToken(st)
		got, ok := bot.ParseTimeToken(tok)
		if !ok || !got.At.Equal(st.At) || got.Style != st.Style || got.Fallback != st.Fallback {
			t.Errorf("ParseTimeToken(TimeToken(%+v)) = %+v, %v", st, got, ok)
		}
		if got := bot.TimeText("at " + tok + "."); got != "at "+st.Fallback+"." {
			t.Errorf("TimeText = %q, want the fallback", got)
		}
	}
}

// TestTimeTokenSafeFields: what a token carries cannot end it early or
// break the line it is on; an unknown style is the default one.
func TestTimeTokenSafeFields(t *testing.T) {
	at := time.Unix(1700000000, 0)
	tok := bot.TimeToken(bot.Stamp{At: at, Style: 'x', Fallback: "a|b\nc\ufdd1d\ufdd0e"})
	st, ok := bot.ParseTimeToken(tok)
	if !ok || st.Style != bot.StyleDateTime || st.Fallback != "a b c d e" {
		t.Errorf("token %q = %+v, %v; want style f and fallback %q", tok, st, ok, "a b c d e")
	}
	if got := bot.TimeText(bot.TimeToken(bot.Stamp{At: at})); got != "2023-11-14 22:13 UTC" {
		t.Errorf("empty fallback = %q, want the time in UTC", got)
	}
	long := bot.TimeToken(bot.Stamp{At: at, Fallback: strings.Repeat("é", 300)})
	if st, ok := bot.ParseTimeToken(long); !ok || len(st.Fallback) > 200 {
		t.Errorf("a long fallback = %d bytes, %v; want at most 200", len(st.Fallback), ok)
	}
}

// TestExpandTimes: valid tokens are handed to f, the text between them to
// plain; whatever is not a token loses its delimiters, so no
// noncharacter reaches a platform and nothing half-formed reads as a time.
func TestExpandTimes(t *testing.T) {
	tok := bot.TimeToken(bot.Stamp{At: time.Unix(1700000000, 0), Style: bot.StyleTime, Fallback: "22:13 UTC"})
	upper := strings.ToUpper
	for _, tc := range []struct{ in, want string }{
		{"no tokens", "NO TOKENS"},
		{"at " + tok + " and " + tok, "AT [2023-11-14T22:13:20Z t 22:13 UTC] AND [2023-11-14T22:13:20Z t 22:13 UTC]"},
		{"\ufdd0t:1700000000:t|x", "\ufffdT:1700000000:T|X"},                 // no closer
		{"\ufdd0t:17000x0000:t|x\ufdd1 y", "\ufffdT:17000X0000:T|X\ufffd Y"}, // not a number
		{"\ufdd0t:1700000000:q|x\ufdd1", "\ufffdT:1700000000:Q|X\ufffd"},     // unknown style
		{"\ufdd0t:1700000000:t\ufdd1", "\ufffdT:1700000000:T\ufffd"},         // no fallback
		{"\ufdd0x:1700000000:t|x\ufdd1", "\ufffdX:1700000000:T|X\ufffd"},     // not a time
		{"stray \ufdd1 closer", "STRAY \ufffd CLOSER"},
		{"\ufdd0\ufdd0t:1700000000:t|22:13 UTC\ufdd1", "\ufffd[2023-11-14T22:13:20Z t 22:13 UTC]"},
	} {
		if got := bot.ExpandTimes(tc.in, marked, upper); got != tc.want {
			t.Errorf("ExpandTimes(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestDefuseTimes: nothing people type can carry a token: the grammar,
// display names and DefuseTimes itself leave no delimiter behind.
func TestDefuseTimes(t *testing.T) {
	forged := bot.TimeToken(bot.Stamp{At: time.Unix(0, 0), Fallback: "forged"})
	if got := bot.DefuseTimes("title " + forged); strings.ContainsAny(got, "\ufdd0\ufdd1") || !strings.Contains(got, "forged") {
		t.Errorf("DefuseTimes = %q, want the delimiters gone and the text kept", got)
	}
	if got := bot.DefuseTimes("plain text"); got != "plain text" {
		t.Errorf("DefuseTimes(plain) = %q", got)
	}
	cmd, err := bot.Parse("declare Checkout " + forged + " sev2")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	bot.ExpandTimes(cmd.Text, func(bot.Stamp) string { found = true; return "" }, nil)
	if found || strings.ContainsAny(cmd.Text, "\ufdd0\ufdd1") {
		t.Errorf("a typed token survived Parse: %q", cmd.Text)
	}
	u := bot.User{Name: "eve" + forged}
	if d := u.Display(); strings.ContainsAny(d, "\ufdd0\ufdd1") {
		t.Errorf("a display name carries a token: %q", d)
	}
}

// FuzzExpandTimes: whatever the text, no delimiter comes out of
// ExpandTimes or DefuseTimes, the plain parts never hold one, and a
// defused text holds no token.
func FuzzExpandTimes(f *testing.F) {
	f.Add("at " + bot.TimeToken(bot.Stamp{At: time.Unix(1700000000, 0), Style: bot.StyleTime, Fallback: "x"}) + " ok")
	f.Add("\ufdd0t:1:f|a\ufdd1\ufdd0\ufdd1\ufdd0t:-5:F|\ufdd1")
	f.Add("\ufdd0t:99999999999999:f|a\ufdd1")
	f.Fuzz(func(t *testing.T, s string) {
		out := bot.ExpandTimes(s, func(st bot.Stamp) string {
			if !st.Style.Valid() || strings.ContainsAny(st.Fallback, "\ufdd0\ufdd1\n|") {
				t.Errorf("a token of %q was read as %+v", s, st)
			}
			return "<time>"
		}, func(p string) string {
			if strings.ContainsAny(p, "\ufdd0\ufdd1") {
				t.Errorf("plain text %q of %q holds a delimiter", p, s)
			}
			return p
		})
		if strings.ContainsAny(out, "\ufdd0\ufdd1") {
			t.Errorf("ExpandTimes(%q) = %q holds a delimiter", s, out)
		}
		found := false
		bot.ExpandTimes(bot.DefuseTimes(s), func(bot.Stamp) string { found = true; return "" }, nil)
		if found {
			t.Errorf("DefuseTimes(%q) still holds a token", s)
		}
	})
}
