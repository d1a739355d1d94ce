package bot

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
)

// nonCountermeasures are phrases that ask people to behave better instead of
// changing the system. People under pressure are already as careful as they
// can be; an exhortation changes nothing the next time the same conditions
// line up, so it is not a countermeasure (the DevOps Handbook's "be more
// careful" and "be less stupid").
//
// They are matched against the normalised text (see normalizeCM): lower
// case, contractions expanded, punctuation turned into spaces, so "Don't do
// that again!" is "do not do that again".
var nonCountermeasures = []struct {
	re   *regexp.Regexp
	asks string // completes "it asks people to ..."
}{
	{cmPattern(`(?:be|being|to be|stay|get) (?:a lot |much |a bit |even |extra |more |very |really )*(?:careful|cautious|attentive|vigilant|diligent|thorough|mindful|alert)`), "be careful"},
	{cmPattern(`(?:more|extra|greater|additional) (?:care|caution|vigilance|diligence|attention)`), "be careful"},
	{cmPattern(`(?:take|taking) (?:more |extra |greater )?care`), "be careful"},
	{cmPattern(`(?:pay|paying|give|giving) (?:more |closer |extra |better )?attention`), "pay attention"},
	{cmPattern(`(?:not|never) (?:do|repeat|make) (?:that|this|it|the same mistakes?|that mistake|this mistake)(?: \w+){0,3} again`), "not do it again"},
	{cmPattern(`(?:be|being) (?:less|more) (?:stupid|sloppy|careless|lazy|smart|clever)`), "be smarter"},
	{cmPattern(`(?:stop|avoid|quit) (?:being|acting) (?:stupid|sloppy|careless|lazy)`), "be smarter"},
	{cmPattern(`(?:do not|never) be (?:so )?(?:stupid|sloppy|careless|lazy)`), "be smarter"},
	{cmPattern(`(?:try|work|think) harder`), "try harder"},
	{cmPattern(`(?:do|be) better`), "try harder"},
	{cmPattern(`(?:double|triple) check(?:s|ed|ing)?`), "check again by hand"},
	{cmPattern(`think (?:twice|again|before)`), "check again by hand"},
	{cmPattern(`slow down`), "check again by hand"},
	{cmPattern(`(?:remember|remembering|not forget|never forget) to`), "remember"},
	{cmPattern(`(?:remind|reminding) (?:everyone|everybody|people|the team|the engineers|engineers|developers|staff|the on call)`), "remember"},
	{cmPattern(`(?:raise|raising|increase|increasing) awareness`), "remember"},
	{cmPattern(`re ?train(?:ed|ing)?`), "be trained again"},
	{cmPattern(`(?:more|additional|extra|better|further) training`), "be trained again"},
	{cmPattern(`(?:train|training|educate|educating) (?:the |our |all )?(?:team|teams|engineers|people|staff|developers|devs|operators|on call|everyone|everybody|him|her|them)`), "be trained again"},
	{cmPattern(`(?:avoid|prevent|reduce|stop|fewer|no more|not make) (?:making )?(?:human )?(?:errors|error|mistakes|mistake|typos)`), "make no mistakes"},
}

// cmPattern compiles a phrase to match whole words of the normalised text.
func cmPattern(p string) *regexp.Regexp {
	return regexp.MustCompile(`(?:^| )` + p + `(?: |$)`)
}

// machineBefore matches the words before a phrase that make it a machine's
// job or take it off people: "an automated double-check", "CI double-checks",
// "so that nobody has to remember to".
var machineBefore = regexp.MustCompile(`(?:^| )(?:automated|automatic|automatically|scripted|ci|bot|machine|not have to|no need to|no longer need to|not need to|without)(?: \w+){0,2} ?$`)

// contractions expands the ones people use in exhortations, after
// normalizeCM has lowered the case and straightened the apostrophes.
var contractions = strings.NewReplacer(
	"won't", "will not", "can't", "can not", "cannot", "can not", "shan't", "shall not",
	"n't", " not", "'ll", " will", "'re", " are", "'ve", " have", "'d", " would", "let's", "let us",
)

// normalizeCM lowers the case, straightens quotes, expands contractions and
// turns everything but letters and digits into single spaces.
func normalizeCM(text string) string {
	s := strings.ToLower(text)
	s = strings.NewReplacer("’", "'", "‘", "'", "`", "'").Replace(s)
	s = contractions.Replace(s)
	var b strings.Builder
	space := true
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
			space = false
			continue
		}
		if !space {
			b.WriteByte(' ')
			space = true
		}
	}
	return strings.TrimSpace(b.String())
}

// CheckCountermeasure refuses texts that are not countermeasures: "be more
// careful", "pay more attention", "don't do that again", "be less stupid",
// "try harder", "double-check", "remember to", "be vigilant", "retrain",
// "more training" and their kin (the list above), except where the phrase
// is a machine's job or taken off people (machineBefore). Case, punctuation
// and contractions do not matter. The error is an EINVALID *Error that says
// why and suggests real countermeasures.
//
// It is a pattern list, not understanding: "remember to run the tests" is
// refused, but an exhortation in words not on the list passes.
func CheckCountermeasure(text string) error {
	norm := normalizeCM(text)
	// The earliest (then longest) phrase names the problem best: "pay
	// more attention" rather than the "more attention" inside it.
	best, start, end := -1, 0, 0
	for i, p := range nonCountermeasures {
		for _, loc := range p.re.FindAllStringIndex(norm, -1) {
			if machineBefore.MatchString(norm[:loc[0]]) {
				continue
			}
			if best < 0 || loc[0] < start || loc[0] == start && loc[1] > end {
				best, start, end = i, loc[0], loc[1]
			}
			break
		}
	}
	if best < 0 {
		return nil
	}
	return Errorf(EINVALID, "%s is not a countermeasure: it asks people to %s (%q), and people under pressure are already "+
		"as careful as they can be. Change the system so that it does not depend on it: for example an automated test, "+
		"an alert, a review rule, or a game-day rehearsal.", quote(text), nonCountermeasures[best].asks, strings.TrimSpace(norm[start:end]))
}

// AddDays returns the day n days after d (before, for negative n).
func (d Date) AddDays(n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC))
}

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday {
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Weekday()
}

// DaysUntil returns the number of calendar days from d to e: 1 when e is
// the day after d, negative when e is before d.
func (d Date) DaysUntil(e Date) int {
	a := time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC)
	b := time.Date(e.Year, e.Month, e.Day, 12, 0, 0, 0, time.UTC)
	return int(b.Sub(a).Round(24*time.Hour) / (24 * time.Hour))
}

func weekend(d Date) bool {
	wd := d.Weekday()
	return wd == time.Saturday || wd == time.Sunday
}

// NudgeHour is the local hour at which countermeasure nudges go out: the
// start of the owner's working day.
const NudgeHour = 9

// NextNudge returns the first instant strictly after after at which the
// owner of a countermeasure due on due should be nudged, at NudgeHour in
// loc (the owner's zone). The nudge days are:
//   - two days before the due date, as a heads-up; when that is a Saturday
//     or Sunday, the Friday before (a heads-up should come earlier, not
//     later);
//   - the due date and every working day after it while the countermeasure
//     is not done; a due date on a weekend is first nudged on the Monday
//     after, which is also the first overdue day.
//
// No nudge falls on a Saturday or Sunday.
func NextNudge(due Date, after time.Time, loc *time.Location) time.Time {
	soon := due.AddDays(-2)
	for weekend(soon) {
		soon = soon.AddDays(-1)
	}
	if t := soon.At(NudgeHour, 0, loc); t.After(after) {
		return t
	}
	d := due
	if today := DateOf(after.In(loc)); d.Before(today) {
		d = today
	}
	for ; ; d = d.AddDays(1) {
		if t := d.At(NudgeHour, 0, loc); !weekend(d) && t.After(after) {
			return t
		}
	}
}

// IssueLabel is the label of every countermeasure issue in the tracker.
const IssueLabel = "countermeasure"

// Describe renders the countermeasure on one line for chat.
func (cm Countermeasure) Describe() string {
	s := fmt.Sprintf("#%d %s (owner %s, due %s)", cm.N, cm.Text, cm.Owner.Display(), cm.Due)
	if cm.Tracker != "" {
		s += " " + cm.Tracker
	}
	return s
}

// ValidLogin reports whether s is a valid GitHub login: letters, digits and
// single hyphens, 1 to 39 characters, not starting or ending with a hyphen.
func ValidLogin(s string) bool { return validLogin(s) }
