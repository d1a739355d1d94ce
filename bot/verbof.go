package bot

import "strings"

// VerbOf returns the verb text starts with, read as Parse reads it, whether
// or not its arguments are right; false when text names no verb. It lets
// a refused command be counted by what was typed ("sev" for "sev 9")
// rather than lumped together.
func VerbOf(text string) (Verb, bool) {
	word, rest := cutWord(text)
	if word == "" {
		return VerbHelp, true
	}
	lower := strings.ToLower(word)
	if w, ok := wordAliases[lower]; ok {
		lower = w
	}
	if Group(lower) {
		second, _ := cutWord(rest)
		if s := byVerb[Verb(lower+" "+strings.ToLower(second))]; s != nil && second != "" {
			return s.Verb, true
		}
		if s := byVerb[Verb(lower)]; s != nil {
			return s.Verb, true
		}
		return "", false
	}
	if s := byVerb[Verb(lower)]; s != nil {
		return s.Verb, true
	}
	for _, s := range Verbs {
		if s.Glued && strings.HasPrefix(lower, string(s.Verb)) {
			return s.Verb, true
		}
	}
	return "", false
}
