package bot

import (
	"regexp"
	"strconv"
	"strings"
)

// Finding is one blameless-lint hit in a post-mortem text.
type Finding struct {
	Field string `json:"field"` // "summary", "impact", "notes", "factor 2"
	Line  int    `json:"line"`  // 1-based, within the field
	Text  string `json:"text"`  // the words that matched, as written
	Rule  string `json:"rule"`  // LintCounterfactual or LintBlame
	Hint  string `json:"hint"`
	// Quote is the line the words are in, shortened, so that a refusal
	// shows the sentence to rewrite without a second command.
	Quote string `json:"quote,omitempty"`
}

// The lint rules.
const (
	LintCounterfactual = "counterfactual"
	LintBlame          = "blame"
)

// String renders the finding for chat: where, what, in which sentence, and
// how to rewrite it.
func (f Finding) String() string {
	s := f.Field + " line " + strconv.Itoa(f.Line) + ": \"" + f.Text + "\" (" + f.Rule + ")"
	if f.Quote != "" && !strings.EqualFold(f.Quote, f.Text) {
		s += " in \"" + f.Quote + "\""
	}
	return s + ". " + f.Hint
}

// quoteLine shortens a line for Finding.Quote.
func quoteLine(line string) string {
	line = strings.TrimSpace(line)
	const limit = 100
	if r := []rune(line); len(r) > limit {
		line = string(r[:limit]) + "…"
	}
	return line
}

const (
	hintCounterfactual = "Describe what happened and why it made sense at the time, not what did not happen."
	hintBlame          = "Why did it make sense at the time? Name what in the system allowed it, not who."
)

// counterfactuals are the phrases that describe a world that did not
// happen. Hindsight makes them easy to write and they teach nothing.
var counterfactuals = regexp.MustCompile(`(?i)\b(?:(?:would|could|should)(?:\s+not|n['’]t)?\s+have|(?:would|could|should)['’]ve|if\s+only|had\s+we|failed\s+to)\b`)

// blameWords blame whoever they are said of.
var blameWords = regexp.MustCompile(`(?i)\b(?:careless(?:ly|ness)?|human\s+error|negligen(?:t|ce)|sloppy|incompeten(?:t|ce)|stupid(?:ity)?|lazy|laziness)\b`)

// blameVerbs blame only when a person is their subject: "Alice caused the
// outage" does, "the retry storm caused the outage" does not.
var blameVerbs = regexp.MustCompile(`(?i)\b(?:caused|forgot|forgotten|did\s*n['’]?o?t\s+notice|overlooked|ignored|neglected|messed\s+up|screwed\s+up|broke)\b`)

// personWords are subjects that are always people.
var personWords = map[string]bool{
	"i": true, "we": true, "you": true, "he": true, "she": true, "they": true,
	"someone": true, "somebody": true, "everyone": true, "nobody": true,
	"engineer": true, "developer": true, "dev": true, "operator": true, "admin": true,
	"sre": true, "on-call": true, "oncall": true, "on-caller": true, "intern": true,
	"responder": true, "reviewer": true, "author": true, "human": true, "person": true,
}

// adverbs may stand between a subject and its verb: "Bob accidentally broke".
var adverbs = map[string]bool{
	"accidentally": true, "again": true, "also": true, "just": true, "simply": true,
	"then": true, "clearly": true, "obviously": true, "completely": true, "totally": true,
	"had": true, "has": true, "have": true, "must": true, "probably": true,
}

// Lint checks text, the content of field, for counterfactuals and blame.
// people are the names of the people involved (responders, attendees):
// with the pronouns and role nouns, they are who counts as a person.
// Quoted lines ("> ...", as a chat line pasted into notes) and `code` are
// not linted: they are evidence, not the author's words.
func Lint(field, text string, people []string) []Finding {
	var out []Finding
	names := map[string]bool{}
	for _, p := range people {
		names[strings.ToLower(strings.TrimPrefix(p, "@"))] = true
	}
	for i, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), ">") {
			continue
		}
		q := quoteLine(line)
		line = maskCode(line)
		for _, m := range counterfactuals.FindAllStringIndex(line, -1) {
			out = append(out, Finding{Field: field, Line: i + 1, Text: line[m[0]:m[1]], Rule: LintCounterfactual, Hint: hintCounterfactual, Quote: q})
		}
		for _, m := range blameWords.FindAllStringIndex(line, -1) {
			out = append(out, Finding{Field: field, Line: i + 1, Text: line[m[0]:m[1]], Rule: LintBlame, Hint: hintBlame, Quote: q})
		}
		for _, m := range blameVerbs.FindAllStringIndex(line, -1) {
			if subj, ok := personBefore(line[:m[0]], names); ok {
				out = append(out, Finding{Field: field, Line: i + 1, Text: subj + line[m[0]:m[1]], Rule: LintBlame, Hint: hintBlame, Quote: q})
			}
		}
	}
	return out
}

// personBefore reports whether the words before a verb end in a person,
// skipping adverbs, and returns the text from that person on.
func personBefore(before string, names map[string]bool) (string, bool) {
	words := strings.Fields(before)
	for j := len(words) - 1; j >= 0 && len(words)-j <= 3; j-- {
		w := strings.ToLower(strings.Trim(words[j], ",.;:!?()\"'’“”"))
		if adverbs[w] {
			continue
		}
		isPerson := personWords[w] || names[strings.TrimPrefix(w, "@")] ||
			strings.HasPrefix(w, "@") || strings.HasPrefix(w, "<@")
		if !isPerson {
			return "", false
		}
		idx := strings.LastIndex(before, words[j])
		return before[idx:], true
	}
	return "", false
}

// maskCode blanks `code spans` so that a quoted command or log line is not
// read as the author's words, keeping byte offsets intact.
func maskCode(line string) string {
	if !strings.Contains(line, "`") {
		return line
	}
	b := []byte(line)
	in := false
	for i, c := range b {
		if c == '`' {
			in = !in
			continue
		}
		if in {
			b[i] = ' '
		}
	}
	return string(b)
}

// LintIncident lints every text of the write-up that people author: the
// summary, the impact, the meeting notes and the contributing factors. The
// timeline is never linted: it is what was said, as it was said.
func LintIncident(inc *Incident) []Finding {
	people := inc.People()
	var out []Finding
	out = append(out, Lint("summary", inc.Summary, people)...)
	out = append(out, Lint("impact", inc.Impact, people)...)
	out = append(out, Lint("notes", inc.Postmortem.Notes, people)...)
	for i, f := range inc.Factors {
		out = append(out, Lint("factor "+strconv.Itoa(i+1), f, people)...)
	}
	return out
}
