package bot

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxTitle is the longest incident title, in characters: a title is a
// headline, and it ends up in channel topics and post-mortem headings.
const MaxTitle = 200

// MaxMeeting is the longest post-mortem meeting postmortem schedule accepts.
const MaxMeeting = 8 * time.Hour

// Parse parses the text after "/incident" into a Command. Malformed input
// returns an *Error with code EINVALID whose message names what was wrong
// and shows the usage of the command (or the whole help for an unknown verb).
//
// The verbs, their arguments and their types are declared in Verbs; the
// grammar is the same on every platform:
//   - Words are separated by white space. A word that starts with a double
//     quote (" or the smart quotes “ ”) runs to the next quote, spaces
//     included; the quotes are dropped. A quote inside a word is literal.
//   - Verbs are case-insensitive. Empty text is help. Aliases: severity
//     (sev), sev2 (sev 2), post-mortem and pm (postmortem), timezone (tz).
//   - Free text (status, note, resolve, the notes of postmortem held) is
//     taken as typed, quotes included, trimmed of surrounding space; the
//     mention tokens in it read as @name.
//   - People are the neutral mention token @{ID|Name} or a plain @name, and
//     tags are #words (see MentionToken): adapters translate their
//     platform's markup into these before calling Parse. A mention's
//     Platform is left empty for the caller to fill in.
//
// Parse has no clock: whether a date is in the past is the caller's question.
func Parse(text string) (Command, error) {
	if !utf8.ValidString(text) {
		return Command{}, &Error{Code: EINVALID, Message: "The command is not valid UTF-8 text.\n" + Help()}
	}
	// Nothing typed may carry a time token into what the bot posts.
	text = DefuseTimes(text)
	word, rest := cutWord(text)
	if word == "" {
		return Command{Verb: VerbHelp}, nil
	}
	lower := strings.ToLower(word)
	if w, ok := wordAliases[lower]; ok {
		lower = w
	}
	if Group(lower) {
		second, after := cutWord(rest)
		if s := byVerb[Verb(lower+" "+strings.ToLower(second))]; s != nil && second != "" {
			return s.parse(after)
		}
		// The group's word alone: a verb of its own ("action <text>",
		// "postmortem"), or a step nobody declared.
		if s := byVerb[Verb(lower)]; s != nil && (second == "" || len(s.Args) > 0) {
			return s.parse(rest)
		}
		var siblings []Verb
		for _, s := range Verbs {
			if g, _, _ := strings.Cut(string(s.Verb), " "); g == lower {
				siblings = append(siblings, s.Verb)
			}
		}
		return Command{}, invalid(fmt.Sprintf("Unknown %s step %s.", lower, quote(second)), siblings...)
	}
	if s := byVerb[Verb(lower)]; s != nil {
		return s.parse(rest)
	}
	for _, s := range Verbs {
		if s.Glued && strings.HasPrefix(lower, string(s.Verb)) && len(s.Args) > 0 {
			var c Command
			if s.Args[0].set(&c, lower) == "" {
				return s.parse(lower + rest)
			}
		}
	}
	return Command{}, &Error{Code: EINVALID, Message: fmt.Sprintf("Unknown command %s.\n%s", quote(word), Help())}
}

// invalid returns an EINVALID *Error: msg, then the syntax of each verb.
func invalid(msg string, verbs ...Verb) *Error {
	var b strings.Builder
	b.WriteString(msg)
	for _, v := range verbs {
		b.WriteString("\nUsage: ")
		b.WriteString(Syntax(v))
	}
	return &Error{Code: EINVALID, Message: b.String()}
}

// quote renders a piece of user input for an error message, shortened so a
// pasted paragraph does not drown the message.
func quote(s string) string {
	const limit = 40
	if utf8.RuneCountInString(s) > limit {
		s = string([]rune(s)[:limit]) + "…"
	}
	return strconv.Quote(s)
}

// cutWord returns the first white-space-separated word of s and what follows
// it, leading space included, so free text after it can be kept as typed.
func cutWord(s string) (word, rest string) {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	i := strings.IndexFunc(s, unicode.IsSpace)
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

// token is one word of a command's arguments.
type token struct {
	text   string // quotes removed
	quoted bool   // it was written in quotes: never a keyword, tag or mention
}

// isQuote reports whether r opens or closes a quoted word. Slack and macOS
// turn " into “ and ” as people type, in either order, so all three count.
func isQuote(r rune) bool { return r == '"' || r == '“' || r == '”' }

// tokenize splits s into words; a word that starts with a quote runs to the
// next quote. It reports false for an unterminated quote.
func tokenize(s string) ([]token, bool) {
	var toks []token
	for {
		t, rest, ok := nextToken(s)
		if !ok {
			return nil, false
		}
		if t == (token{}) {
			return toks, true
		}
		toks = append(toks, t)
		s = rest
	}
}

// nextToken returns the first word of s and what follows it; the zero
// token at the end of s (a word is never empty unless it was quoted). It
// reports false for an unterminated quote.
func nextToken(s string) (token, string, bool) {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	if s == "" {
		return token{}, "", true
	}
	if r, n := utf8.DecodeRuneInString(s); isQuote(r) {
		body := s[n:]
		i := strings.IndexFunc(body, isQuote)
		if i < 0 {
			return token{}, "", false
		}
		_, m := utf8.DecodeRuneInString(body[i:])
		return token{text: body[:i], quoted: true}, body[i+m:], true
	}
	i := strings.IndexFunc(s, unicode.IsSpace)
	if i < 0 {
		i = len(s)
	}
	return token{text: s[:i]}, s[i:], true
}

// joinTokens renders words as text: a single quoted word verbatim, anything
// else joined by single spaces.
func joinTokens(toks []token) string {
	if len(toks) == 1 {
		return toks[0].text
	}
	words := make([]string, len(toks))
	for i, t := range toks {
		words[i] = t.text
	}
	return strings.Join(words, " ")
}

func unterminated(v Verb) *Error {
	return invalid(`Unterminated quote: close it with ".`, v)
}

// parseDeclare parses declare <title> [severity] [kind] [#tag...]. The
// severity, kind and tags are the trailing words: scanning from the end, it
// takes words while they are a severity or kind not yet seen, or a #tag; the
// rest is the title. A quoted word is always title, so "sev1" can be named.
func parseDeclare(rest string) (Command, error) {
	toks, ok := tokenize(rest)
	if !ok {
		return Command{}, unterminated(VerbDeclare)
	}
	cmd := Command{Verb: VerbDeclare, Kind: KindReal}
	// --from <ref> may stand anywhere; it is taken out first.
	for i := 0; i < len(toks); i++ {
		if toks[i].quoted || toks[i].text != "--from" {
			continue
		}
		if i+1 >= len(toks) || !validFrom(toks[i+1].text) {
			return Command{}, invalid("After --from, name a near miss (NM-7) or an alert group (AL-…).", VerbDeclare)
		}
		cmd.From = strings.ToUpper(toks[i+1].text)
		toks = append(toks[:i:i], toks[i+2:]...)
		i--
	}
	kindSet := false
	var tags []string
	end := len(toks)
	for ; end > 0; end-- {
		t := toks[end-1]
		if t.quoted {
			break
		}
		// A bare digit is a severity for sev, not here: "declare disk full
		// on node 4" names node 4, it does not ask for SEV4.
		if s, ok := ParseSeverity(t.text); ok && !allDigits(t.text) {
			if cmd.Severity != 0 {
				break // "disk full on node 4 sev2": the 4 is the title's
			}
			cmd.Severity = s
			continue
		}
		if k, ok := parseKind(t.text); ok {
			if kindSet {
				break
			}
			cmd.Kind, kindSet = k, true
			continue
		}
		tag, ok := ParseTag(t.text)
		if !ok {
			break
		}
		tags = append(tags, tag)
	}
	// tags were collected back to front; keep them in typed order, once.
	seen := make(map[string]bool, len(tags))
	for i := len(tags) - 1; i >= 0; i-- {
		if !seen[tags[i]] {
			seen[tags[i]] = true
			cmd.Tags = append(cmd.Tags, tags[i])
		}
	}

	title := plainMentions(joinTokens(toks[:end]))
	switch n := utf8.RuneCountInString(title); {
	case strings.TrimSpace(title) == "" && cmd.From != "":
		// The title is the near miss's or the alert's.
	case strings.TrimSpace(title) == "":
		return Command{}, invalid(`Missing the title: say what is wrong, e.g. "checkout is down".`, VerbDeclare)
	case n > MaxTitle:
		return Command{}, invalid(fmt.Sprintf("The title is too long: %d characters, at most %d.", n, MaxTitle), VerbDeclare)
	case strings.IndexFunc(title, unicode.IsControl) >= 0:
		return Command{}, invalid("The title must be one line of text.", VerbDeclare)
	}
	cmd.Text = title
	return cmd, nil
}

// validFrom accepts NM-<n> and AL-<letters and digits>.
func validFrom(s string) bool {
	u := strings.ToUpper(s)
	if n, ok := strings.CutPrefix(u, "NM-"); ok {
		return allDigits(n) && len(n) < 10
	}
	if id, ok := strings.CutPrefix(u, "AL-"); ok && id != "" && len(id) <= 32 {
		return strings.IndexFunc(id, func(r rune) bool { return !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z') }) < 0
	}
	return false
}

// MaxNearMiss is the longest near-miss text, in characters: a paragraph.
const MaxNearMiss = 2000

// parseNearMiss parses nearmiss <what happened> [#tag...]: the trailing
// #words are tags; the rest is the text, kept as typed (quotes included),
// like a note's.
func parseNearMiss(rest string) (Command, error) {
	cmd := Command{Verb: VerbNearMiss}
	text := strings.TrimSpace(rest)
	var tags []string
	for text != "" {
		i := strings.LastIndexFunc(text, unicode.IsSpace)
		tag, ok := ParseTag(text[i+1:])
		if !ok {
			break
		}
		tags = append(tags, tag)
		text = strings.TrimSpace(text[:i+1])
	}
	seen := map[string]bool{}
	for i := len(tags) - 1; i >= 0; i-- {
		if !seen[tags[i]] {
			seen[tags[i]] = true
			cmd.Tags = append(cmd.Tags, tags[i])
		}
	}
	// Wholly quoted (as a form writes text followed by tags, Compose),
	// the quotes are not the text's.
	if toks, ok := tokenize(text); ok && len(toks) == 1 && toks[0].quoted {
		text = strings.TrimSpace(toks[0].text)
	}
	text = plainMentions(text)
	switch n := utf8.RuneCountInString(text); {
	case text == "":
		return Command{}, invalid(`Missing what happened: say what almost went wrong, e.g. "deploy nearly hit prod DB".`, VerbNearMiss)
	case n > MaxNearMiss:
		return Command{}, invalid(fmt.Sprintf("The near miss is too long: %d characters, at most %d.", n, MaxNearMiss), VerbNearMiss)
	}
	cmd.Text = text
	return cmd, nil
}

// parseKind accepts drill and the spellings of near miss.
func parseKind(s string) (Kind, bool) {
	switch strings.ToLower(s) {
	case "drill":
		return KindDrill, true
	case "near-miss", "nearmiss", "near_miss":
		return KindNearMiss, true
	}
	return "", false
}

// ParseTag accepts #word (letters, digits, '-', '_', '.', at most 64) and
// returns the word in lower case, so tags group however they were typed.
// A platform that links #word to a channel (Slack) writes it back as #word.
func ParseTag(s string) (string, bool) {
	name, ok := strings.CutPrefix(s, "#")
	if !ok || name == "" || utf8.RuneCountInString(name) > 64 {
		return "", false
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '_' && r != '.' {
			return "", false
		}
	}
	return strings.ToLower(name), true
}

// parseClock accepts H:MM and HH:MM from 00:00 to 23:59.
func parseClock(s string) (Clock, bool) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 || !allDigits(h) || !allDigits(m) {
		return Clock{}, false
	}
	hour, _ := strconv.Atoi(h)
	minute, _ := strconv.Atoi(m)
	if hour > 23 || minute > 59 {
		return Clock{}, false
	}
	return Clock{Hour: hour, Minute: minute}, true
}

// parseMeetingDuration accepts a Go duration (45m, 1h30m) or plain minutes
// (45), more than zero and at most MaxMeeting.
func parseMeetingDuration(s string) (time.Duration, bool) {
	var d time.Duration
	if allDigits(s) {
		n, err := strconv.Atoi(s)
		if err != nil || n > int(MaxMeeting/time.Minute) {
			return 0, false
		}
		d = time.Duration(n) * time.Minute
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, false
		}
	}
	return d, d > 0 && d <= MaxMeeting
}

// formatDuration renders 8h0m0s as 8h.
func formatDuration(d time.Duration) string {
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	return strings.TrimSuffix(s, "0m")
}

// validZone reports whether name is an IANA zone the process knows. "Local"
// is refused: it means the server's zone, which is nobody's.
func validZone(name string) bool {
	if name == "" || name == "Local" || len(name) > 64 {
		return false
	}
	_, err := time.LoadLocation(name)
	return err == nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// heldSeparators start the notes of postmortem held. macOS and Slack turn
// "--" into a dash as people type, so the dashes count too.
var heldSeparators = []string{"--", "—", "–"}

// parseHeld parses postmortem held @a @b [-- notes]. The notes are kept as
// typed, line breaks included.
func parseHeld(rest string) (Command, error) {
	const v = VerbPostmortemHeld
	cmd := Command{Verb: v}
	seen := make(map[string]bool)
	for {
		word, after := cutWord(rest)
		if word == "" {
			break
		}
		if notes, ok := cutSeparator(word); ok {
			cmd.Text = plainMentions(strings.TrimSpace(notes + after))
			break
		}
		u, ok := ParseMention(word)
		if !ok {
			return Command{}, invalid(fmt.Sprintf("%s is not a mention: list who attended as @name, then -- and the notes.", quote(word)), v)
		}
		if !seen[u.ID] {
			seen[u.ID] = true
			cmd.Users = append(cmd.Users, u)
		}
		rest = after
	}
	if len(cmd.Users) == 0 {
		return Command{}, invalid("Missing the attendees: mention who attended, e.g. @alice @bob.", v)
	}
	return cmd, nil
}

func cutSeparator(word string) (string, bool) {
	for _, sep := range heldSeparators {
		if after, ok := strings.CutPrefix(word, sep); ok {
			return after, true
		}
	}
	return "", false
}

// parseAction parses action <text> @owner due <YYYY-MM-DD> (action done
// <n> is a verb of its own, read by type). The due date is the word after the last "due", so "due" may appear in
// the text; the owner is the last mention outside "due <date>", so the text
// may mention people too. Nothing but "due <date>" may follow the owner.
// parseCountermeasureRef reads the countermeasure of action done and
// action drop: "2" or "#2" (in the incident's channel), "INC-1#2" (any
// channel, after close too), or "2 INC-1" as a form writes it.
func parseCountermeasureRef(v Verb, rest string) (Command, error) {
	toks, ok := tokenize(rest)
	if !ok {
		return Command{}, unterminated(v)
	}
	if len(toks) == 0 {
		return Command{}, invalid("Missing the countermeasure number: give it as actions shows it, or with its incident, e.g. INC-1#2.", v)
	}
	bad := func(word string) error {
		return invalid(fmt.Sprintf("Invalid countermeasure number %s: give it as actions shows it, or with its incident, e.g. INC-1#2.", quote(word)), v)
	}
	word := toks[0].text
	cmd := Command{Verb: v}
	id, num, ref := strings.Cut(word, "#")
	if !ref || id == "" {
		id, num = "", strings.TrimPrefix(word, "#")
	}
	n, err := strconv.Atoi(num)
	if !allDigits(num) || err != nil || n <= 0 {
		return Command{}, bad(word)
	}
	cmd.N = n
	if id != "" {
		inc, ok := ParseIncidentID(id)
		if !ok || !strings.HasPrefix(strings.ToUpper(id), "INC-") {
			return Command{}, bad(word)
		}
		cmd.Incident = IncidentID(inc)
	}
	switch {
	case len(toks) == 1:
		return cmd, nil
	case len(toks) == 2 && cmd.Incident == "":
		inc, ok := ParseIncidentID(toks[1].text)
		if !ok || !strings.HasPrefix(strings.ToUpper(toks[1].text), "INC-") {
			return Command{}, invalid(fmt.Sprintf("Invalid incident %s: give its ID, e.g. INC-1.", quote(toks[1].text)), v)
		}
		cmd.Incident = IncidentID(inc)
		return cmd, nil
	}
	return Command{}, invalid(fmt.Sprintf("Unexpected %s: give just the countermeasure.", quote(toks[len(toks)-1].text)), v)
}

func parseAction(rest string) (Command, error) {
	const v = VerbAction
	toks, ok := tokenize(rest)
	if !ok {
		return Command{}, unterminated(v)
	}
	if len(toks) == 0 {
		return Command{}, invalid("Missing the countermeasure: say what will be done, who owns it and by when.", v)
	}

	due := -1 // index of the "due" word
	for i := len(toks) - 1; i >= 0; i-- {
		if !toks[i].quoted && strings.EqualFold(toks[i].text, "due") {
			due = i
			break
		}
	}
	inDue := func(i int) bool { return due >= 0 && (i == due || i == due+1) }

	owner := -1
	var u User
	for i := len(toks) - 1; i >= 0; i-- {
		if inDue(i) || toks[i].quoted {
			continue
		}
		if m, ok := ParseMention(toks[i].text); ok {
			owner, u = i, m
			break
		}
	}
	if owner < 0 {
		return Command{}, invalid("Missing the owner: mention who owns it.", v)
	}
	if due < 0 || due+1 >= len(toks) {
		return Command{}, invalid("Missing the due date: end with due <YYYY-MM-DD>.", v)
	}
	d, rel, ok := parseDay(toks[due+1].text)
	if !ok {
		return Command{}, invalid(fmt.Sprintf("Invalid due date %s: give an existing day as YYYY-MM-DD, or tomorrow, +14d.", quote(toks[due+1].text)), v)
	}
	for i := owner + 1; i < len(toks); i++ {
		if !inDue(i) {
			return Command{}, invalid(fmt.Sprintf("Unexpected %s after the owner: write the text first, then @owner due <YYYY-MM-DD>.",
				quote(toks[i].text)), v)
		}
	}
	var words []token
	for i := 0; i < owner; i++ {
		if !inDue(i) {
			words = append(words, toks[i])
		}
	}
	text := plainMentions(joinTokens(words))
	if strings.TrimSpace(text) == "" {
		return Command{}, invalid("Missing the countermeasure text: say what will be done.", v)
	}
	return Command{Verb: v, Text: text, Users: []User{u}, Due: d, DueRel: rel}, nil
}

func validLogin(s string) bool {
	if len(s) == 0 || len(s) > 39 || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '-' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}
