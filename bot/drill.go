package bot

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// A drill (a game day) is an incident of KindDrill opened at a scheduled
// time to rehearse a failure on purpose: a hypothesis about the system is
// tested by injecting a fault, and detection and mitigation are measured
// from the moment the fault went in, not from the declare.

// DrillPlan is what a game day sets out to test, given when it is
// scheduled: it is pinned in the drill's channel and opens the write-up's
// "Hypothesis vs observed" section.
type DrillPlan struct {
	// Hypothesis is what is expected to hold while the fault is in
	// ("checkout keeps working with < 1% errors"). Required.
	Hypothesis string `json:"hypothesis"`
	// SteadyState is what to watch to tell whether it holds.
	SteadyState string `json:"steady_state,omitempty"`
	// Fault is what is injected, Target where.
	Fault  string `json:"fault,omitempty"`
	Target string `json:"target,omitempty"`
	// AbortCriteria say when to stop the drill early.
	AbortCriteria string `json:"abort_criteria,omitempty"`
}

// Verdict is whether a drill's hypothesis held.
type Verdict string

// The verdicts.
const (
	VerdictHeld    Verdict = "held"
	VerdictRefuted Verdict = "refuted"
)

// Verdicts are the verdicts gameday verdict accepts, in help order.
var Verdicts = []string{string(VerdictHeld), string(VerdictRefuted)}

// Drill is what a drill incident records beyond an incident's fields.
type Drill struct {
	// Gameday is the ID of the scheduled game day that opened it ("GD-3").
	Gameday string    `json:"gameday"`
	Plan    DrillPlan `json:"plan"`
	// ScheduledAt is when the drill was to open; OpenedAt when it did
	// (later when debrief was down at the time).
	ScheduledAt time.Time `json:"scheduled_at"`
	OpenedAt    time.Time `json:"opened_at"`
	// InjectedAt is the moment the fault went in: the measurements start
	// there. AbortedAt is when the drill was stopped early, DetectedAt
	// when the responders noticed the fault.
	InjectedAt time.Time `json:"injected_at,omitzero"`
	AbortedAt  time.Time `json:"aborted_at,omitzero"`
	DetectedAt time.Time `json:"detected_at,omitzero"`
	// Verdict and Observed say whether the hypothesis held and what was
	// seen instead or besides.
	Verdict  Verdict `json:"verdict,omitempty"`
	Observed string  `json:"observed,omitempty"`
}

// TimeToDetect is how long after the injection the fault was detected;
// false until both are known (or when detection came first).
func (d *Drill) TimeToDetect() (time.Duration, bool) {
	return since(d.InjectedAt, d.DetectedAt)
}

// TimeToMitigate is how long after the injection the impact was
// contained (the incident's mitigate or, without one, resolve).
func (d *Drill) TimeToMitigate(inc *Incident) (time.Duration, bool) {
	at := inc.MitigatedAt
	if at.IsZero() {
		at = inc.ResolvedAt
	}
	return since(d.InjectedAt, at)
}

func since(from, to time.Time) (time.Duration, bool) {
	if from.IsZero() || to.IsZero() || to.Before(from) {
		return 0, false
	}
	return to.Sub(from), true
}

// IsDrill reports whether the incident is a rehearsal: it is marked as one
// everywhere and never counts in the real incidents' figures.
func (inc *Incident) IsDrill() bool { return inc.Kind == KindDrill }

// DrillMark is what every text about a drill starts with, so that nobody
// takes a rehearsal for a real outage.
const DrillMark = "[DRILL] "

// MaxPlanText is the longest text of one part of a drill's plan.
const MaxPlanText = 1000

// gamedayKeywords are the words that start each part of gameday
// schedule's plan, and the arguments they fill.
var gamedayKeywords = map[string]string{
	"zone:": "zone", "duration:": "duration", "title:": "title",
	"hypothesis:": "hypothesis", "steady:": "steady", "fault:": "fault",
	"target:": "target", "abort:": "abort", "with:": "participants",
}

// parseGamedaySchedule parses gameday schedule <date> <time> [zone]
// [duration] <title> hypothesis: <text> [steady: <text>] [fault: <text>]
// [target: <text>] [abort: <text>] [with: @user...]. The zone and duration
// may also be given after zone: and duration: (as a form writes them).
func parseGamedaySchedule(rest string) (Command, error) {
	spec := byVerb[VerbGamedaySchedule]
	arg := func(name string) Arg {
		for _, a := range spec.Args {
			if a.Name == name {
				return a
			}
		}
		panic("bot: gameday schedule has no argument " + name)
	}
	toks, ok := tokenize(rest)
	if !ok {
		return Command{}, unterminated(VerbGamedaySchedule)
	}
	cmd := Command{Verb: VerbGamedaySchedule}
	if len(toks) < 2 {
		return Command{}, invalid("Missing the date and start time.", VerbGamedaySchedule)
	}
	for i, name := range []string{"date", "time"} {
		if msg := arg(name).set(&cmd, toks[i].text); msg != "" {
			return Command{}, invalid(msg, VerbGamedaySchedule)
		}
	}
	parts := map[string][]token{}
	seen := map[string]bool{}
	cur := ""
	for _, t := range toks[2:] {
		if name, ok := gamedayKeywords[strings.ToLower(t.text)]; ok && !t.quoted {
			if seen[name] {
				return Command{}, invalid(fmt.Sprintf("Unexpected %s: give the %s once.", quote(t.text), arg(name).noun()), VerbGamedaySchedule)
			}
			seen[name], cur = true, name
			continue
		}
		parts[cur] = append(parts[cur], t)
	}
	// Before any keyword: [zone] [duration] title, told apart as
	// postmortem schedule tells them (a digit starts a duration).
	head := parts[""]
	for len(head) > 0 && !head[0].quoted {
		w := head[0].text
		var a Arg
		switch {
		case arg("duration").claims(w) && cmd.Duration == 0:
			if _, ok := parseMeetingDuration(w); !ok {
				break
			}
			a = arg("duration")
		case arg("zone").claims(w) && cmd.Zone == "" && validZone(w):
			a = arg("zone")
		}
		if a.Name == "" {
			break
		}
		a.set(&cmd, w)
		head = head[1:]
	}
	if len(head) > 0 && len(parts["title"]) > 0 {
		return Command{}, invalid("Give the title once: before the plan, or after title:.", VerbGamedaySchedule)
	}
	parts["title"] = append(head, parts["title"]...)
	for _, name := range []string{"zone", "duration"} {
		p := parts[name]
		if !seen[name] {
			continue
		}
		if len(p) != 1 {
			return Command{}, invalid(fmt.Sprintf("Give one %s after %s:.", arg(name).noun(), name), VerbGamedaySchedule)
		}
		if msg := arg(name).set(&cmd, p[0].text); msg != "" {
			return Command{}, invalid(msg, VerbGamedaySchedule)
		}
	}
	for _, t := range parts["participants"] {
		if msg := arg("participants").set(&cmd, t.text); msg != "" {
			return Command{}, invalid(msg, VerbGamedaySchedule)
		}
	}
	text := func(name string) (string, error) {
		s := strings.TrimSpace(plainMentions(joinTokens(parts[name])))
		max := MaxPlanText
		if name == "title" {
			max = MaxTitle
		}
		if n := utf8.RuneCountInString(s); n > max {
			return "", invalid(fmt.Sprintf("The %s is too long: %d characters, at most %d.", arg(name).noun(), n, max), VerbGamedaySchedule)
		}
		return s, nil
	}
	var err error
	fields := []struct {
		name string
		to   *string
	}{
		{"title", &cmd.Text}, {"hypothesis", &cmd.Plan.Hypothesis}, {"steady", &cmd.Plan.SteadyState},
		{"fault", &cmd.Plan.Fault}, {"target", &cmd.Plan.Target}, {"abort", &cmd.Plan.AbortCriteria},
	}
	for _, f := range fields {
		if *f.to, err = text(f.name); err != nil {
			return Command{}, err
		}
	}
	switch {
	case cmd.Text == "":
		return Command{}, invalid(`Missing the title: name the drill, e.g. "primary database failover".`, VerbGamedaySchedule)
	case strings.ContainsAny(cmd.Text, "\r\n"):
		return Command{}, invalid("The title must be one line of text.", VerbGamedaySchedule)
	case cmd.Plan.Hypothesis == "":
		return Command{}, invalid(`Missing the hypothesis: say what should hold while the fault is in, e.g. hypothesis: checkout keeps working with < 1% errors.`, VerbGamedaySchedule)
	}
	return cmd, nil
}

// parseGamedayInject parses gameday inject [manual] [note].
func parseGamedayInject(rest string) (Command, error) {
	cmd := Command{Verb: VerbGamedayInject}
	word, after := cutWord(rest)
	if strings.EqualFold(word, "manual") {
		cmd.Choice = "manual"
		rest = after
	}
	cmd.Text = plainMentions(strings.TrimSpace(rest))
	return cmd, nil
}
