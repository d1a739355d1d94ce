package workflows

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows/outbox"
	"github.com/debrief/debrief/workflows/render"
)

// Game days (README, "Game days"): a drill is scheduled with its plan, an
// invite goes out with reminders a day and an hour before, and at its time
// the Gamedays loop opens it as an incident of kind drill. The fault goes
// in with gameday inject (through the chaos Hook, when there is one), and
// detection and mitigation are measured from that moment. The drill then
// runs the lifecycle of any incident, close gate included, plus a verdict.

// gamedayVerbs plan, run and list drills.
var gamedayVerbs = verbs{
	bot.VerbGamedaySchedule: {global: (*Service).scheduleGameday},
	bot.VerbGamedayList:     {global: (*Service).listGamedays},
	bot.VerbGamedayInject:   {run: (*call).inject},
	bot.VerbGamedayAbort:    {run: (*call).abortDrill},
	bot.VerbGamedayDetected: {run: (*call).detected},
	bot.VerbGamedayVerdict:  {run: (*call).verdict},
}

// hookPlatform names the chaos hook in lanes and timeline notes.
const hookPlatform bot.Platform = "gameday-hook"

// gamedayReminders are how long before a game day its channel is reminded
// of it (README, "Game days").
var gamedayReminders = []time.Duration{24 * time.Hour, time.Hour}

// LateDrill is how late a drill may open before it says so: the loop
// scans every ReminderScan, so anything later means debrief was down.
const LateDrill = 2 * time.Minute

// MaxGamedayAhead bounds how far ahead a drill may be scheduled: a year
// is a typo, not a plan.
const MaxGamedayAhead = 366 * 24 * time.Hour

// scheduleGameday stores a game day, posts its plan and invite where it
// was scheduled, and answers when it opens.
func (s *Service) scheduleGameday(ctx context.Context, actor bot.User, ch bot.Channel, cmd bot.Command) (Reply, error) {
	loc := s.ZoneOf(ctx, actor)
	if cmd.Zone != "" {
		l, err := time.LoadLocation(cmd.Zone)
		if err != nil {
			return Reply{}, bot.Errorf(bot.EINVALID, "Unknown time zone %q.", cmd.Zone)
		}
		loc = l
	}
	now := s.now()
	at := cmd.Date.At(cmd.Time.Hour, cmd.Time.Minute, loc)
	switch {
	case !at.After(now):
		return Reply{}, bot.Errorf(bot.EINVALID, "%s is in the past; pick a time after %s.\nUsage: %s",
			at.Format("2006-01-02 15:04 MST"), now.In(loc).Format("2006-01-02 15:04 MST"), bot.Syntax(bot.VerbGamedaySchedule))
	case at.Sub(now) > MaxGamedayAhead:
		return Reply{}, bot.Errorf(bot.EINVALID, "%s is more than a year away; schedule drills at most a year ahead.",
			at.Format("2006-01-02 15:04 MST"))
	case strings.TrimSpace(cmd.Plan.Hypothesis) == "":
		return Reply{}, bot.Errorf(bot.EINVALID, "A drill needs a hypothesis: what should hold while the fault is in.\nUsage: %s",
			bot.Syntax(bot.VerbGamedaySchedule))
	case strings.TrimSpace(cmd.Text) == "":
		return Reply{}, bot.Errorf(bot.EINVALID, "A drill needs a title.\nUsage: %s", bot.Syntax(bot.VerbGamedaySchedule))
	}
	dur := cmd.Duration
	if dur == 0 {
		dur = s.Config.MeetingDuration
	}
	var participants []bot.User
	for _, u := range cmd.Users {
		if u.Platform == "" {
			u.Platform = actor.Platform
		}
		if u.Key() != actor.Key() && !containsUser(participants, u) {
			participants = append(participants, u)
		}
	}
	var g store.Gameday
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		all, err := tx.Gamedays()
		if err != nil {
			return fmt.Errorf("workflows: gameday schedule: %w", err)
		}
		n := len(all) + 1
		g = store.Gameday{
			ID: "GD-" + strconv.Itoa(n), Number: n, Title: cmd.Text, Start: at, Duration: dur, Zone: loc.String(),
			Plan: cmd.Plan, ScheduledBy: actor, Origin: ch, Participants: participants, ScheduledAt: now,
		}
		// A reminder whose time has passed already is not sent late:
		// a drill an hour away needs no day-before reminder.
		g.RemindedDay = at.Sub(now) <= gamedayReminders[0]
		g.RemindedHour = at.Sub(now) <= gamedayReminders[1]
		if err := tx.PutGameday(g); err != nil {
			return fmt.Errorf("workflows: gameday schedule %s: %w", g.ID, err)
		}
		o := s.Outbox()
		r := outbox.Route{Platform: ch.Platform, ChannelID: ch.ID, Key: g.ID + "/scheduled"}
		if _, err := o.Enqueue(tx, r, Post{Text: render.GamedayScheduled(g, s.zone())}, now); err != nil {
			return fmt.Errorf("workflows: gameday schedule %s: %w", g.ID, err)
		}
		r.Key = g.ID + "/invite"
		install, err := installID(tx)
		if err != nil {
			return err
		}
		if _, err := o.Enqueue(tx, r, PostFile{Name: g.ID + "-gameday.ics", Content: render.GamedayInvite(g, install, now),
			Comment: bot.DrillMark + "Calendar invite for game day " + g.ID}, now); err != nil {
			return fmt.Errorf("workflows: gameday schedule %s: %w", g.ID, err)
		}
		return nil
	})
	if err != nil {
		return Reply{}, err
	}
	s.kick()
	return Reply{Text: fmt.Sprintf("%sScheduled game day %s: %s, at %s for %s. It opens as a drill incident then; reminders go out a day and an hour before.",
		bot.DrillMark, g.ID, g.Title, render.At(at, loc, bot.StyleDateTime, "2006-01-02 15:04 MST"), render.Duration(dur))}, nil
}

func containsUser(us []bot.User, u bot.User) bool {
	for _, v := range us {
		if v.Key() == u.Key() {
			return true
		}
	}
	return false
}

// drill returns the call's drill, or the error that says this is no
// drill's channel.
func (c *call) drill() (*bot.Drill, error) {
	if !c.inc.IsDrill() {
		return nil, bot.Errorf(bot.EINVALID, "%s is not a drill: %s works in a drill's channel (see /incident gameday list).",
			c.inc.ID, c.cmd.Verb)
	}
	if c.inc.Drill == nil {
		// Declared with "drill" rather than scheduled: it has no plan,
		// but its injection and detection are still measured.
		c.inc.Drill = &bot.Drill{OpenedAt: c.inc.DeclaredAt, ScheduledAt: c.inc.DeclaredAt}
	}
	return c.inc.Drill, nil
}

// inject records that the fault goes in now and, unless it is injected by
// hand, asks the chaos hook to inject it. Only the drill's commander or an
// admin may: it breaks something on purpose.
func (c *call) inject() (Reply, error) {
	d, err := c.drill()
	if err != nil {
		return Reply{}, err
	}
	if !c.mayManage() {
		return Reply{}, bot.Errorf(bot.EFORBIDDEN, "Only the drill's commander or an admin can inject its fault.")
	}
	manual := c.cmd.Choice == "manual"
	switch {
	case !c.inc.Open():
		return Reply{}, bot.Errorf(bot.ECONFLICT, "%s is %s: a fault goes in while the drill is open.", c.inc.ID, c.inc.Status.Human())
	case !d.AbortedAt.IsZero():
		return Reply{}, bot.Errorf(bot.ECONFLICT, "%s was aborted at %s; its fault is not injected again.",
			c.inc.ID, render.When(d.AbortedAt, c.loc, "15:04:05 MST"))
	case !d.InjectedAt.IsZero() && !manual:
		return Reply{}, bot.Errorf(bot.ECONFLICT, "The fault of %s was injected at %s. If it went in by hand later, mark that moment: /incident %s manual",
			c.inc.ID, render.When(d.InjectedAt, c.loc, "15:04:05 MST"), bot.VerbGamedayInject)
	}
	text := "fault injected"
	if manual {
		text += " by hand"
	}
	if !d.InjectedAt.IsZero() {
		text += fmt.Sprintf(" (re-marked; was %s)", d.InjectedAt.UTC().Format("15:04:05 UTC"))
	}
	if c.cmd.Text != "" {
		text += ": " + c.cmd.Text
	}
	d.InjectedAt = c.now
	// The impact of a drill begins with its fault.
	c.inc.StartedAt = c.now
	if err := c.event(bot.EventLifecycle, text); err != nil {
		return Reply{}, err
	}
	via := ""
	if !manual && c.s.Hook != nil {
		if err := c.queue().add(outbox.Route{Key: c.inc.ID + "/inject/" + strconv.FormatInt(c.now.UnixNano(), 10)},
			HookInject{c.hookRequest("inject")}); err != nil {
			return Reply{}, err
		}
		via = " The chaos hook is called; its answer goes in the timeline."
	}
	if err := c.post(fmt.Sprintf("Fault injected at %s: time to detect and to mitigate are measured from now.%s",
		render.At(c.now, c.s.zone(), bot.StyleTimeSeconds, "15:04:05 MST"), via)); err != nil {
		return Reply{}, err
	}
	return Reply{Text: fmt.Sprintf("Injection of %s recorded at %s.%s Mark detection with %s.",
		c.inc.ID, render.At(c.now, c.loc, bot.StyleTimeSeconds, "15:04:05 MST"), via, bot.Syntax(bot.VerbGamedayDetected))}, nil
}

func (c *call) hookRequest(action string) HookRequest {
	var fault, target string
	if c.inc.Drill != nil {
		fault, target = c.inc.Drill.Plan.Fault, c.inc.Drill.Plan.Target
	}
	return HookRequest{Action: action, Drill: c.inc.ID, Title: c.inc.Title, Fault: fault, Target: target, At: c.now.UTC()}
}

// abortDrill stops the drill: anyone in it may, since stopping is the
// safe direction. The chaos hook is told (and told again until it
// answers).
func (c *call) abortDrill() (Reply, error) {
	d, err := c.drill()
	if err != nil {
		return Reply{}, err
	}
	if !d.AbortedAt.IsZero() {
		return Reply{}, bot.Errorf(bot.ECONFLICT, "%s was aborted already, at %s.", c.inc.ID, render.When(d.AbortedAt, c.loc, "15:04:05 MST"))
	}
	d.AbortedAt = c.now
	text := "drill aborted"
	if c.cmd.Text != "" {
		text += ": " + c.cmd.Text
	}
	if err := c.event(bot.EventLifecycle, text); err != nil {
		return Reply{}, err
	}
	if c.s.Hook != nil {
		if err := c.queue().add(outbox.Route{Key: c.inc.ID + "/abort"}, HookAbort{c.hookRequest("abort")}); err != nil {
			return Reply{}, err
		}
	}
	if err := c.post(fmt.Sprintf("Drill aborted by %s: %s", c.actor.Display(), strings.TrimPrefix(text, "drill aborted: "))); err != nil {
		return Reply{}, err
	}
	return Reply{Text: fmt.Sprintf("%s aborted. Resolve it when things are back to steady state; the post-mortem and verdict still follow.", c.inc.ID)}, nil
}

// detected records that the responders noticed the fault.
func (c *call) detected() (Reply, error) {
	d, err := c.drill()
	if err != nil {
		return Reply{}, err
	}
	switch {
	case d.InjectedAt.IsZero():
		return Reply{}, bot.Errorf(bot.ECONFLICT, "Nothing was injected in %s yet: %s comes first.", c.inc.ID, bot.Syntax(bot.VerbGamedayInject))
	case !d.DetectedAt.IsZero():
		return Reply{}, bot.Errorf(bot.ECONFLICT, "The fault of %s was detected already, at %s.", c.inc.ID, render.When(d.DetectedAt, c.loc, "15:04:05 MST"))
	}
	d.DetectedAt = c.now
	c.inc.DetectedAt = c.now
	ttd, _ := d.TimeToDetect()
	text := "fault detected " + ttd.String() + " after the injection"
	if c.cmd.Text != "" {
		text += ": " + c.cmd.Text
	}
	if err := c.event(bot.EventLifecycle, text); err != nil {
		return Reply{}, err
	}
	return Reply{Text: fmt.Sprintf("Detected %s after the injection. Mitigate and resolve as in any incident.", ttd)}, nil
}

// verdict records whether the hypothesis held, and what was observed.
// The observation is part of the write-up, so it passes the blameless
// lint like the meeting's notes.
func (c *call) verdict() (Reply, error) {
	d, err := c.drill()
	if err != nil {
		return Reply{}, err
	}
	if !c.mayManage() {
		return Reply{}, bot.Errorf(bot.EFORBIDDEN, "Only the drill's commander or an admin can give its verdict.")
	}
	if d.InjectedAt.IsZero() && d.AbortedAt.IsZero() {
		return Reply{}, bot.Errorf(bot.ECONFLICT, "Nothing was injected in %s yet: the verdict judges the hypothesis against what the fault did.", c.inc.ID)
	}
	findings := bot.Lint("observed", c.cmd.Text, c.inc.People())
	if len(findings) > 0 && !c.s.Config.Policy.LintWarnOnly {
		return Reply{}, bot.Errorf(bot.EINVALID, "This observation is not blameless yet; rewrite it and run the command again.\n%s",
			strings.TrimPrefix(render.LintReport(c.inc.ID, findings), "Blameless lint of "+c.inc.ID+": "))
	}
	d.Verdict, d.Observed = bot.Verdict(c.cmd.Choice), c.cmd.Text
	if err := c.event(bot.EventLifecycle, fmt.Sprintf("verdict: the hypothesis %s: %s", d.Verdict, d.Observed)); err != nil {
		return Reply{}, err
	}
	return Reply{Text: fmt.Sprintf("Verdict recorded: the hypothesis %s. It is in the write-up under Hypothesis vs observed.", d.Verdict)}, nil
}

// callHook delivers a hook effect. once is the inject's rule: never
// called twice, so every failure is final and recorded, and the
// responders inject by hand. An abort is retried until the tool answers,
// and dropped only when it refuses the request itself (4xx).
func (k kinds) callHook(ctx context.Context, a outbox.Attempt, req HookRequest, once bool) (outbox.Result, error) {
	byHand := ""
	if once {
		byHand = fmt.Sprintf(". The fault may not be in: check the chaos tool, and if you inject it by hand, mark it: /incident %s manual", bot.VerbGamedayInject)
		if a.Retry {
			return outbox.Result{}, &PermanentError{Err: fmt.Errorf("%s: an earlier call may have reached the chaos tool (debrief stopped during it), and it is never called twice%s", req.Action, byHand)}
		}
	}
	ans, err := k.s.Hook.Call(ctx, a.Effect.Key, req)
	if err != nil {
		err = fmt.Errorf("%s: %w", req.Action, err)
		if once {
			return outbox.Result{}, &PermanentError{Err: fmt.Errorf("%w%s", err, byHand)}
		}
		return outbox.Result{}, err
	}
	if ans.Status < 200 || ans.Status > 299 {
		err := fmt.Errorf("%s: the chaos tool answered %d: %s", req.Action, ans.Status, bot.Truncate(ans.Body, 200))
		if once || ans.Status >= 400 && ans.Status < 500 && ans.Status != 429 {
			return outbox.Result{}, &PermanentError{Err: fmt.Errorf("%w%s", err, byHand)}
		}
		return outbox.Result{}, err
	}
	return outbox.Result{ID: strconv.Itoa(ans.Status), Value: ans}, nil
}

// hookAnswered records the chaos tool's answer in the drill's timeline.
func (k kinds) hookAnswered(tx store.Tx, a outbox.Attempt, req HookRequest, r outbox.Result) error {
	ans, _ := r.Value.(HookAnswer)
	text := fmt.Sprintf("the chaos tool answered %d to %s", ans.Status, req.Action)
	if b := strings.TrimSpace(ans.Body); b != "" {
		text += ": " + bot.Truncate(b, 300)
	}
	_, _, err := tx.AppendEvent(bot.TimelineEvent{
		IncidentID: a.Effect.IncidentID, Kind: bot.EventBot, Author: outbox.BotUser(hookPlatform),
		Text: text, RecordedAt: a.Now, PlatformAt: a.Now,
	})
	return err
}

// Gamedays is the loop that reminds of scheduled drills and opens them at
// their time.
type Gamedays struct{ s *Service }

// Gamedays returns the Service's game day loop.
func (s *Service) Gamedays() *Gamedays { return &Gamedays{s: s} }

// Tick, in one transaction, sends the reminders due at now and opens
// every drill whose time has come, and returns how many things it did.
// Each is recorded on the game day in the transaction that queues its
// effects, so it happens once even across a crash; a drill whose time
// passed while debrief was down opens now, saying how late.
func (l *Gamedays) Tick(ctx context.Context, now time.Time) (int, error) {
	s := l.s
	// Most passes find nothing to do: look in a read transaction first,
	// so that an idle loop does not write (and fsync) every scan.
	anyDue := false
	if err := s.Store.View(ctx, func(tx store.ReadTx) error {
		all, err := tx.Gamedays()
		for _, g := range all {
			anyDue = anyDue || gamedayDue(g, now)
		}
		return err
	}); err != nil {
		return 0, fmt.Errorf("workflows: gamedays at %s: %w", now.Format(time.RFC3339), err)
	}
	if !anyDue {
		return 0, nil
	}
	done := 0
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		done = 0
		all, err := tx.Gamedays()
		if err != nil {
			return err
		}
		for _, g := range all {
			if g.IncidentID != "" {
				continue
			}
			changed := true
			switch {
			case !now.Before(g.Start):
				if err := s.openDrill(tx, &g, now); err != nil {
					return fmt.Errorf("open %s: %w", g.ID, err)
				}
			case !g.RemindedHour && !now.Before(g.Start.Add(-gamedayReminders[1])):
				g.RemindedDay, g.RemindedHour = true, true
				err = s.remindGameday(tx, g, now)
			case !g.RemindedDay && !now.Before(g.Start.Add(-gamedayReminders[0])):
				g.RemindedDay = true
				err = s.remindGameday(tx, g, now)
			default:
				changed = false
			}
			if err != nil {
				return err
			}
			if changed {
				done++
				if err := tx.PutGameday(g); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("workflows: gamedays at %s: %w", now.Format(time.RFC3339), err)
	}
	if done > 0 {
		s.kick()
	}
	return done, nil
}

// gamedayDue reports whether g has something to do at now: open, or send
// a reminder.
func gamedayDue(g store.Gameday, now time.Time) bool {
	if g.IncidentID != "" {
		return false
	}
	return !now.Before(g.Start) ||
		!g.RemindedHour && !now.Before(g.Start.Add(-gamedayReminders[1])) ||
		!g.RemindedDay && !now.Before(g.Start.Add(-gamedayReminders[0]))
}

// Run looks for due game days every ReminderScan until ctx is done.
func (l *Gamedays) Run(ctx context.Context) error {
	return l.s.runCron(ctx, ReminderScan, "gamedays", func() error {
		_, err := l.Tick(ctx, l.s.now())
		return err
	})
}

// remindGameday posts a reminder of g where it was scheduled.
func (s *Service) remindGameday(tx store.Tx, g store.Gameday, now time.Time) error {
	names := make([]string, 0, len(g.Participants)+1)
	for _, u := range append([]bot.User{g.ScheduledBy}, g.Participants...) {
		names = append(names, u.Display())
	}
	text := fmt.Sprintf("%sReminder: game day %s (%s) starts in %s, at %s. %s\nHypothesis: %s",
		bot.DrillMark, g.ID, g.Title, render.Duration(g.Start.Sub(now).Round(time.Minute)),
		render.At(g.Start, s.zone(), bot.StyleDateTime, "2006-01-02 15:04 MST"), strings.Join(names, " "), g.Plan.Hypothesis)
	r := outbox.Route{Platform: g.Origin.Platform, ChannelID: g.Origin.ID}
	if _, err := s.Outbox().Enqueue(tx, r, Post{Text: text}, now); err != nil {
		return fmt.Errorf("workflows: remind %s: %w", g.ID, err)
	}
	return nil
}

// openDrill opens g as a drill incident at now, declared by whoever
// scheduled it (its commander) with the participants invited and the plan
// in the pinned summary, and records the incident on g.
func (s *Service) openDrill(tx store.Tx, g *store.Gameday, now time.Time) error {
	cmd := bot.Command{Verb: bot.VerbDeclare, Text: g.Title, Kind: bot.KindDrill}
	d := &bot.Drill{Gameday: g.ID, Plan: g.Plan, ScheduledAt: g.Start, OpenedAt: now}
	inc, err := s.open(tx, g.ScheduledBy, g.Origin, cmd, opening{
		commander: g.ScheduledBy, started: now, detected: now, drill: d, participants: g.Participants,
	}, now)
	if err != nil {
		return err
	}
	g.IncidentID = inc.ID
	if late := now.Sub(g.Start); late > LateDrill {
		c := &call{s: s, tx: tx, inc: inc, actor: outbox.BotUser(g.Origin.Platform), now: now, loc: s.zone()}
		text := func(due string) string {
			return fmt.Sprintf("opened %s late: the drill was due at %s, while debrief was not running", render.Duration(late.Round(time.Minute)), due)
		}
		// The timeline keeps an explicit zone; the channel reads a token.
		if err := c.event(bot.EventBot, text(g.Start.UTC().Format("2006-01-02 15:04 UTC"))); err != nil {
			return err
		}
		if err := c.post("This drill " + text(render.At(g.Start, s.zone(), bot.StyleDateTime, "2006-01-02 15:04 MST")) + "."); err != nil {
			return err
		}
	}
	return nil
}

// GamedayReport is one game day as the list and GET /api/gamedays show it:
// its plan and, once it ran, its drill's measurements and verdict.
type GamedayReport struct {
	ID           string
	Title        string
	Start        time.Time
	Duration     time.Duration
	Zone         string
	Plan         bot.DrillPlan
	ScheduledBy  bot.User
	Participants []bot.User
	// State is "scheduled" until the drill opens, then its incident's
	// status.
	State      string
	IncidentID string
	InjectedAt time.Time
	DetectedAt time.Time
	AbortedAt  time.Time
	// TimeToDetect and TimeToMitigate are seconds from the injection; nil
	// until measured.
	TimeToDetect   *float64
	TimeToMitigate *float64
	Verdict        bot.Verdict
	Observed       string
}

// GamedayFigures are the drills' own figures, apart from the real
// incidents': how many ran, how many hypotheses held or were refuted, and
// the mean times from the injection, in seconds (nil with none measured).
type GamedayFigures struct {
	Scheduled          int
	Run                int
	Held               int
	Refuted            int
	MeanTimeToDetect   *float64
	MeanTimeToMitigate *float64
}

// GamedayList returns every game day, upcoming ones first (soonest first),
// then past ones (latest first), with the drills' figures.
func (s *Service) GamedayList(ctx context.Context) ([]GamedayReport, GamedayFigures, error) {
	var out []GamedayReport
	err := s.Store.View(ctx, func(tx store.ReadTx) error {
		all, err := tx.Gamedays()
		if err != nil {
			return err
		}
		for _, g := range all {
			r := GamedayReport{
				ID: g.ID, Title: g.Title, Start: g.Start.UTC(), Duration: g.Duration, Zone: g.Zone,
				Plan: g.Plan, ScheduledBy: g.ScheduledBy, Participants: g.Participants, State: "scheduled", IncidentID: g.IncidentID,
			}
			if g.IncidentID != "" {
				inc, err := tx.Incident(g.IncidentID)
				if err != nil {
					return err
				}
				r.State = string(inc.Status)
				if d := inc.Drill; d != nil {
					r.InjectedAt, r.DetectedAt, r.AbortedAt = d.InjectedAt, d.DetectedAt, d.AbortedAt
					r.Verdict, r.Observed = d.Verdict, d.Observed
					r.TimeToDetect = seconds(d.TimeToDetect())
					r.TimeToMitigate = seconds(d.TimeToMitigate(inc))
				}
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, GamedayFigures{}, fmt.Errorf("workflows: gamedays: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		pi, pj := out[i].State != "scheduled", out[j].State != "scheduled"
		if pi != pj {
			return !pi
		}
		if !pi {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].Start.After(out[j].Start)
	})
	return out, figures(out), nil
}

func seconds(d time.Duration, ok bool) *float64 {
	if !ok {
		return nil
	}
	v := d.Seconds()
	return &v
}

func figures(rs []GamedayReport) GamedayFigures {
	var f GamedayFigures
	var detect, mitigate []float64
	for _, r := range rs {
		if r.State == "scheduled" {
			f.Scheduled++
			continue
		}
		f.Run++
		switch r.Verdict {
		case bot.VerdictHeld:
			f.Held++
		case bot.VerdictRefuted:
			f.Refuted++
		}
		if r.TimeToDetect != nil {
			detect = append(detect, *r.TimeToDetect)
		}
		if r.TimeToMitigate != nil {
			mitigate = append(mitigate, *r.TimeToMitigate)
		}
	}
	f.MeanTimeToDetect, f.MeanTimeToMitigate = mean(detect), mean(mitigate)
	return f
}

func mean(xs []float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	m := sum / float64(len(xs))
	return &m
}

// listGamedays answers gameday list.
func (s *Service) listGamedays(ctx context.Context, actor bot.User, _ bot.Channel, _ bot.Command) (Reply, error) {
	rs, f, err := s.GamedayList(ctx)
	if err != nil {
		return Reply{}, err
	}
	if len(rs) == 0 {
		return Reply{Text: "No game days yet. Plan one: " + bot.Syntax(bot.VerbGamedaySchedule), Ephemeral: true}, nil
	}
	loc := s.ZoneOf(ctx, actor)
	var b strings.Builder
	fmt.Fprintf(&b, "%sGame days: %d upcoming, %d run (hypotheses held %d, refuted %d).", bot.DrillMark, f.Scheduled, f.Run, f.Held, f.Refuted)
	for _, r := range rs {
		fmt.Fprintf(&b, "\n%s %s %s", r.ID, r.Start.In(loc).Format("2006-01-02 15:04 MST"), r.Title)
		if r.IncidentID == "" {
			b.WriteString(" (upcoming)")
			continue
		}
		fmt.Fprintf(&b, " -> %s [%s]", r.IncidentID, strings.ReplaceAll(r.State, "_", " "))
		if r.TimeToDetect != nil {
			fmt.Fprintf(&b, ", detected in %s", time.Duration(*r.TimeToDetect*float64(time.Second)))
		}
		if r.TimeToMitigate != nil {
			fmt.Fprintf(&b, ", mitigated in %s", time.Duration(*r.TimeToMitigate*float64(time.Second)))
		}
		switch {
		case r.Verdict != "":
			fmt.Fprintf(&b, ", hypothesis %s", r.Verdict)
		case !r.AbortedAt.IsZero():
			b.WriteString(", aborted")
		default:
			b.WriteString(", no verdict yet")
		}
	}
	return Reply{Text: b.String(), Ephemeral: true}, nil
}
