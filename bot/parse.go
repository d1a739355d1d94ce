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

// verbAliases maps the first word of a command, lower-cased, to its verb.
// postmortem and action are absent: their second word decides the verb.
var verbAliases = map[string]Verb{
	"help":     VerbHelp,
	"declare":  VerbDeclare,
	"sev":      VerbSev,
	"severity": VerbSev,
	"role":     VerbRole,
	"status":   VerbStatus,
	"note":     VerbNote,
	"mitigate": VerbMitigate,
	"resolve":  VerbResolve,
	"reopen":   VerbReopen,
	"actions":  VerbActions,
	"github":   VerbGithub,
	"tz":       VerbTZ,
	"timezone": VerbTZ,
	"close":    VerbClose,
	"timeline": VerbTimeline,
	"list":     VerbList,
}

// Parse parses the text after "/incident" into a Command. Malformed input
// returns an *Error with code EINVALID whose message names what was wrong
// and shows the usage of the command (or the whole help for an unknown verb).
//
// The grammar is the same on every platform:
//   - Words are separated by white space. A word that starts with a double
//     quote (" or the smart quotes “ ”) runs to the next quote, spaces
//     included; the quotes are dropped. A quote inside a word is literal.
//   - Verbs are case-insensitive. Empty text is help. Aliases: severity
//     (sev), sev2 (sev 2), post-mortem and pm (postmortem), timezone (tz).
//   - Free text (status, note, resolve, the notes of postmortem held) is
//     taken as typed, quotes included, trimmed of surrounding space.
//   - Mentions are Slack's <@U024BE7LH|alice> and <@U024BE7LH>, Discord's
//     <@123> and <@!123>, or a plain @alice (console). Their Platform is left
//     empty for the caller to fill in.
//
// Parse has no clock: whether a date is in the past is the caller's question.
func Parse(text string) (Command, error) {
	if !utf8.ValidString(text) {
		return Command{}, &Error{Code: EINVALID, Message: "The command is not valid UTF-8 text.\n" + Help()}
	}
	word, rest := cutWord(text)
	if word == "" {
		return Command{Verb: VerbHelp}, nil
	}
	lower := strings.ToLower(word)
	switch lower {
	case "postmortem", "post-mortem", "pm":
		return parsePostmortem(rest)
	case "action":
		return parseAction(rest)
	}
	v, ok := verbAliases[lower]
	if !ok {
		// "sev2" is "sev 2".
		if _, isSev := ParseSeverity(lower); isSev && strings.HasPrefix(lower, "sev") {
			return parseSev(lower[len("sev"):] + rest)
		}
		return Command{}, &Error{Code: EINVALID, Message: fmt.Sprintf("Unknown command %s.\n%s", quote(word), Help())}
	}
	switch v {
	case VerbHelp:
		return Command{Verb: VerbHelp, Text: strings.TrimSpace(rest)}, nil
	case VerbDeclare:
		return parseDeclare(rest)
	case VerbSev:
		return parseSev(rest)
	case VerbRole:
		return parseRole(rest)
	case VerbStatus, VerbNote:
		t := strings.TrimSpace(rest)
		if t == "" {
			return Command{}, invalid(fmt.Sprintf("Missing the %s text.", v), v)
		}
		return Command{Verb: v, Text: t}, nil
	case VerbResolve:
		return Command{Verb: VerbResolve, Text: strings.TrimSpace(rest)}, nil
	case VerbGithub:
		return parseGithub(rest)
	case VerbTZ:
		return parseTZ(rest)
	}
	// mitigate, reopen, actions, close, timeline, list.
	if extra, _ := cutWord(rest); extra != "" {
		return Command{}, invalid(fmt.Sprintf("Unexpected %s: %s takes no arguments.", quote(extra), v), v)
	}
	return Command{Verb: v}, nil
}

// Help is the help text: every command's usage line, in Usage order.
func Help() string {
	var b strings.Builder
	b.WriteString("Usage:")
	for _, u := range Usage {
		b.WriteString("\n/incident ")
		b.WriteString(u.Usage)
	}
	return b.String()
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

// Syntax is UsageOf(v) without its description, which follows three spaces.
func Syntax(v Verb) string {
	s, _, _ := strings.Cut(UsageOf(v), "   ")
	return s
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
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
		if s == "" {
			return toks, true
		}
		if r, n := utf8.DecodeRuneInString(s); isQuote(r) {
			body := s[n:]
			i := strings.IndexFunc(body, isQuote)
			if i < 0 {
				return nil, false
			}
			toks = append(toks, token{text: body[:i], quoted: true})
			_, m := utf8.DecodeRuneInString(body[i:])
			s = body[i+m:]
			continue
		}
		i := strings.IndexFunc(s, unicode.IsSpace)
		if i < 0 {
			i = len(s)
		}
		toks = append(toks, token{text: s[:i]})
		s = s[i:]
	}
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
		tag, ok := parseTag(t.text)
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

	title := joinTokens(toks[:end])
	switch n := utf8.RuneCountInString(title); {
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

// parseTag accepts #word (letters, digits, '-', '_', '.') and returns the
// word in lower case, so tags group however they were typed. Slack may turn
// #word into a channel link <#C024BE7LH|word> when a channel has that name;
// that is a tag too.
func parseTag(s string) (string, bool) {
	var name string
	switch {
	case strings.HasPrefix(s, "<#") && strings.HasSuffix(s, ">"):
		_, n, ok := strings.Cut(s[2:len(s)-1], "|")
		if !ok {
			return "", false
		}
		name = n
	case strings.HasPrefix(s, "#"):
		name = s[1:]
	default:
		return "", false
	}
	if name == "" || utf8.RuneCountInString(name) > 64 {
		return "", false
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '_' && r != '.' {
			return "", false
		}
	}
	return strings.ToLower(name), true
}

// parseSev parses sev <1-4>; the value may be written sev2, P2 or 2.
func parseSev(rest string) (Command, error) {
	toks, ok := tokenize(rest)
	switch {
	case !ok:
		return Command{}, unterminated(VerbSev)
	case len(toks) == 0:
		return Command{}, invalid("Missing the severity: give 1 to 4 (1 is the worst).", VerbSev)
	case len(toks) > 1:
		return Command{}, invalid(fmt.Sprintf("Unexpected %s: give just the severity.", quote(toks[1].text)), VerbSev)
	}
	s, ok := ParseSeverity(toks[0].text)
	if !ok {
		return Command{}, invalid(fmt.Sprintf("Unknown severity %s: give 1 to 4 (1 is the worst).", quote(toks[0].text)), VerbSev)
	}
	return Command{Verb: VerbSev, Severity: s}, nil
}

// parseRole parses role <role> <mention>.
func parseRole(rest string) (Command, error) {
	toks, ok := tokenize(rest)
	switch {
	case !ok:
		return Command{}, unterminated(VerbRole)
	case len(toks) == 0:
		return Command{}, invalid("Missing the role: commander, comms or scribe.", VerbRole)
	}
	r, ok := ParseRole(toks[0].text)
	if !ok {
		return Command{}, invalid(fmt.Sprintf("Unknown role %s: use commander, comms or scribe.", quote(toks[0].text)), VerbRole)
	}
	if len(toks) == 1 {
		return Command{}, invalid("Missing the person: mention who takes the role.", VerbRole)
	}
	if len(toks) > 2 {
		return Command{}, invalid(fmt.Sprintf("Unexpected %s: name one person.", quote(toks[2].text)), VerbRole)
	}
	u, ok := parseMention(toks[1].text)
	if !ok {
		return Command{}, invalid(fmt.Sprintf("%s is not a mention: mention the person, e.g. @alice.", quote(toks[1].text)), VerbRole)
	}
	return Command{Verb: VerbRole, Role: r, Users: []User{u}}, nil
}

// parseMention recognises a mention of a person: Slack's <@U024BE7LH|alice>
// or <@U024BE7LH>, Discord's <@123> or <@!123>, or a plain @alice (the
// console, or a platform that sent the name). A trailing comma is ignored,
// so lists can be written "@a, @b". The Platform is left empty. Group
// mentions (@here, @channel, @everyone, Discord's role <@&id>) are not a
// person and are refused.
func parseMention(s string) (User, bool) {
	s = strings.TrimSuffix(s, ",")
	if strings.HasPrefix(s, "<@") && strings.HasSuffix(s, ">") && len(s) > 3 {
		inner := strings.TrimPrefix(s[2:len(s)-1], "!")
		id, name, _ := strings.Cut(inner, "|")
		if id == "" || len(id) > 64 || strings.ContainsAny(name, "<>") || strings.IndexFunc(name, unicode.IsControl) >= 0 {
			return User{}, false
		}
		for i := 0; i < len(id); i++ {
			if c := id[i]; !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
				return User{}, false
			}
		}
		return User{ID: id, Name: name}, true
	}
	name, ok := strings.CutPrefix(s, "@")
	if !ok || name == "" || utf8.RuneCountInString(name) > 64 {
		return User{}, false
	}
	switch strings.ToLower(name) {
	case "here", "channel", "everyone":
		return User{}, false
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '.' && r != '_' && r != '-' {
			return User{}, false
		}
	}
	return User{ID: name, Name: name}, true
}

// parsePostmortem dispatches on the second word. Alone, postmortem shows
// the write-up.
func parsePostmortem(rest string) (Command, error) {
	word, rest := cutWord(rest)
	switch strings.ToLower(word) {
	case "":
		return Command{Verb: VerbPostmortem}, nil
	case "schedule":
		return parseSchedule(rest)
	case "held":
		return parseHeld(rest)
	case "lint":
		if extra, _ := cutWord(rest); extra != "" {
			return Command{}, invalid(fmt.Sprintf("Unexpected %s: postmortem lint takes no arguments.", quote(extra)), VerbPostmortemLint)
		}
		return Command{Verb: VerbPostmortemLint}, nil
	case "summary", "impact", "factor":
		v := map[string]Verb{"summary": VerbPostmortemSummary, "impact": VerbPostmortemImpact, "factor": VerbPostmortemFactor}[strings.ToLower(word)]
		t := strings.TrimSpace(rest)
		if t == "" {
			return Command{}, invalid(fmt.Sprintf("Missing the %s text.", strings.ToLower(word)), v)
		}
		return Command{Verb: v, Text: t}, nil
	case "started", "detected":
		v := VerbPostmortemStarted
		if strings.EqualFold(word, "detected") {
			v = VerbPostmortemDetected
		}
		return parseInstant(v, rest)
	}
	return Command{}, invalid(fmt.Sprintf("Unknown postmortem step %s.", quote(word)), postmortemVerbs...)
}

var postmortemVerbs = []Verb{
	VerbPostmortem, VerbPostmortemSchedule, VerbPostmortemHeld, VerbPostmortemLint,
	VerbPostmortemSummary, VerbPostmortemImpact, VerbPostmortemFactor, VerbPostmortemStarted, VerbPostmortemDetected,
}

// parseInstant parses <YYYY-MM-DD> <HH:MM> [zone]: when the incident
// started or was detected, which responders often learn only afterwards.
func parseInstant(v Verb, rest string) (Command, error) {
	toks, ok := tokenize(rest)
	switch {
	case !ok:
		return Command{}, unterminated(v)
	case len(toks) < 2:
		return Command{}, invalid("Missing the date and time.", v)
	case len(toks) > 3:
		return Command{}, invalid(fmt.Sprintf("Unexpected %s.", quote(toks[3].text)), v)
	}
	d, err := ParseDate(toks[0].text)
	if err != nil {
		return Command{}, invalid(fmt.Sprintf("Invalid date %s: give an existing day as YYYY-MM-DD.", quote(toks[0].text)), v)
	}
	clock, ok := parseClock(toks[1].text)
	if !ok {
		return Command{}, invalid(fmt.Sprintf("Invalid time %s: give HH:MM from 00:00 to 23:59.", quote(toks[1].text)), v)
	}
	cmd := Command{Verb: v, Date: d, Time: clock}
	if len(toks) == 3 {
		if !validZone(toks[2].text) {
			return Command{}, invalid(fmt.Sprintf("Unknown time zone %s: give an IANA name such as Europe/Berlin or UTC.", quote(toks[2].text)), v)
		}
		cmd.Zone = toks[2].text
	}
	return cmd, nil
}

// parseSchedule parses postmortem schedule <YYYY-MM-DD> <HH:MM> [zone]
// [duration], zone and duration in either order. A word starting with a
// digit is a duration; any other is a zone.
func parseSchedule(rest string) (Command, error) {
	const v = VerbPostmortemSchedule
	toks, ok := tokenize(rest)
	switch {
	case !ok:
		return Command{}, unterminated(v)
	case len(toks) == 0:
		return Command{}, invalid("Missing the date and time of the meeting.", v)
	}
	d, err := ParseDate(toks[0].text)
	if err != nil {
		return Command{}, invalid(fmt.Sprintf("Invalid date %s: give an existing day as YYYY-MM-DD.", quote(toks[0].text)), v)
	}
	if len(toks) == 1 {
		return Command{}, invalid("Missing the start time: give HH:MM, e.g. 14:30.", v)
	}
	clock, ok := parseClock(toks[1].text)
	if !ok {
		return Command{}, invalid(fmt.Sprintf("Invalid time %s: give HH:MM from 00:00 to 23:59.", quote(toks[1].text)), v)
	}
	cmd := Command{Verb: v, Date: d, Time: clock}
	for _, t := range toks[2:] {
		if r, _ := utf8.DecodeRuneInString(t.text); r >= '0' && r <= '9' {
			if cmd.Duration != 0 {
				return Command{}, invalid(fmt.Sprintf("Unexpected %s: give one duration.", quote(t.text)), v)
			}
			dur, ok := parseMeetingDuration(t.text)
			if !ok {
				return Command{}, invalid(fmt.Sprintf("Invalid duration %s: give minutes or hours such as 45m or 1h30m, at most %s.",
					quote(t.text), formatDuration(MaxMeeting)), v)
			}
			cmd.Duration = dur
			continue
		}
		if cmd.Zone != "" {
			return Command{}, invalid(fmt.Sprintf("Unexpected %s: give one time zone.", quote(t.text)), v)
		}
		if !validZone(t.text) {
			return Command{}, invalid(fmt.Sprintf("Unknown time zone %s: give an IANA name such as Europe/Berlin or UTC.", quote(t.text)), v)
		}
		cmd.Zone = t.text
	}
	return cmd, nil
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
			cmd.Text = strings.TrimSpace(notes + after)
			break
		}
		u, ok := parseMention(word)
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

// parseAction parses action <text> @owner due <YYYY-MM-DD> and action done
// <n>. The due date is the word after the last "due", so "due" may appear in
// the text; the owner is the last mention outside "due <date>", so the text
// may mention people too. Nothing but "due <date>" may follow the owner.
func parseAction(rest string) (Command, error) {
	const v = VerbAction
	toks, ok := tokenize(rest)
	if !ok {
		return Command{}, unterminated(v)
	}
	if len(toks) > 0 && !toks[0].quoted && strings.EqualFold(toks[0].text, "done") {
		return parseActionDone(toks[1:])
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
		if m, ok := parseMention(toks[i].text); ok {
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
	d, err := ParseDate(toks[due+1].text)
	if err != nil {
		return Command{}, invalid(fmt.Sprintf("Invalid due date %s: give an existing day as YYYY-MM-DD.", quote(toks[due+1].text)), v)
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
	text := joinTokens(words)
	if strings.TrimSpace(text) == "" {
		return Command{}, invalid("Missing the countermeasure text: say what will be done.", v)
	}
	return Command{Verb: v, Text: text, Users: []User{u}, Due: d}, nil
}

// parseActionDone parses the <n> of action done <n>; "#3" is 3, as the bot
// writes it.
func parseActionDone(args []token) (Command, error) {
	const v = VerbActionDone
	switch {
	case len(args) == 0:
		return Command{}, invalid("Missing the countermeasure number (actions lists them).", v)
	case len(args) > 1:
		return Command{}, invalid(fmt.Sprintf("Unexpected %s: give just the number.", quote(args[1].text)), v)
	}
	s := strings.TrimPrefix(args[0].text, "#")
	n, err := strconv.Atoi(s)
	if !allDigits(s) || err != nil || n <= 0 {
		return Command{}, invalid(fmt.Sprintf("Invalid countermeasure number %s: give the number actions shows, e.g. 2.", quote(args[0].text)), v)
	}
	return Command{Verb: v, N: n}, nil
}

// parseGithub parses github <login>; a leading @ is dropped. GitHub logins are
// letters, digits and single hyphens, 1 to 39 characters, and neither start
// nor end with a hyphen.
func parseGithub(rest string) (Command, error) {
	const v = VerbGithub
	toks, ok := tokenize(rest)
	switch {
	case !ok:
		return Command{}, unterminated(v)
	case len(toks) == 0:
		return Command{}, invalid("Missing the GitHub login.", v)
	case len(toks) > 1:
		return Command{}, invalid(fmt.Sprintf("Unexpected %s: give one login.", quote(toks[1].text)), v)
	}
	login := strings.TrimPrefix(toks[0].text, "@")
	if !validLogin(login) {
		return Command{}, invalid(fmt.Sprintf("Invalid GitHub login %s: letters, digits and single hyphens, at most 39 characters.",
			quote(toks[0].text)), v)
	}
	return Command{Verb: v, Login: login}, nil
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

// parseTZ parses tz <IANA zone>.
func parseTZ(rest string) (Command, error) {
	const v = VerbTZ
	toks, ok := tokenize(rest)
	switch {
	case !ok:
		return Command{}, unterminated(v)
	case len(toks) == 0:
		return Command{}, invalid("Missing the time zone: give an IANA name such as Europe/Berlin or UTC.", v)
	case len(toks) > 1:
		return Command{}, invalid(fmt.Sprintf("Unexpected %s: give one time zone.", quote(toks[1].text)), v)
	}
	if !validZone(toks[0].text) {
		return Command{}, invalid(fmt.Sprintf("Unknown time zone %s: give an IANA name such as Europe/Berlin or UTC.", quote(toks[0].text)), v)
	}
	return Command{Verb: v, Zone: toks[0].text}, nil
}
