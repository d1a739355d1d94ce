// Package workflows is debrief's application layer: it handles a parsed
// command for an actor in a channel, applies the rules of package bot, keeps
// state through the storage contract of package store, and reaches the
// outside world only through effects queued in a durable outbox
// (workflows/outbox) and delivered to the sinks adapters implement (Chat,
// Tracker, Publisher). Time comes from the injected Now.
//
// Where things are: the command handlers, one file per verb family, each
// with its own verb table (lifecycle.go, roles.go, postmortem.go,
// countermeasures.go, prefs.go, reads.go, nearmiss.go; verbs.go merges
// them); alert notices into incidents and signals (alerts.go); the effect
// kinds in one table (effects.go); the sinks (sinks.go); the periodic loops,
// each with a synchronous Tick(ctx, now) and a Run(ctx) that cmd starts
// (reminders.go, nudges.go, digest.go, tracker.go's Reconciler, and the
// outbox; loops.go lists them); the texts people read in workflows/render.
package workflows

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows/outbox"
	"github.com/debrief/debrief/workflows/render"
)

// Config is the part of the operator's configuration the workflows use.
type Config struct {
	// DefaultSeverity applies when declare names none.
	DefaultSeverity bot.Severity
	// StatusEvery is how often an open incident's channel is asked for a
	// status update, per severity; zero means never.
	StatusEvery map[bot.Severity]time.Duration
	// ScheduleNudgeEvery is how often the commander of a resolved incident
	// is reminded to schedule the post-mortem.
	ScheduleNudgeEvery time.Duration
	// ScheduleWithin is the deadline, in working days after resolve, for
	// scheduling the post-mortem, per severity; past it, the nudge is also
	// announced.
	ScheduleWithin map[bot.Severity]int
	// MeetingReminders are how long before the post-mortem meeting the
	// channel is reminded of it.
	MeetingReminders map[store.ReminderKind]time.Duration
	// MeetingDuration is the post-mortem's length when none is given.
	MeetingDuration time.Duration
	// Policy relaxes the close gate per severity; the zero value relaxes
	// nothing. Its RequireFiled is not for the operator to set: the
	// Service demands filing whenever it has a Tracker (policy).
	Policy bot.ClosePolicy
	// Admins may close any incident and assign roles in it, besides its
	// commander. Entries are user keys ("slack:U123") or bare IDs.
	Admins []string
	// Zone renders times for users who set none.
	Zone *time.Location
	// ArchiveURL is where readers reach the archive (DEBRIEF_WEB_URL),
	// for links in chat; none when empty.
	ArchiveURL string
	// Announce maps a platform to the channel where declares, severity
	// changes, resolves and closes are announced; none when absent.
	Announce map[bot.Platform]string
	// KeepChannelOnClose lists the platforms whose incident channels stay
	// open when the incident closes; elsewhere they are archived (Slack) or
	// locked (Discord). The zero value archives everywhere.
	KeepChannelOnClose map[bot.Platform]bool
	// Logins maps user keys ("slack:U123") to tracker logins, from the
	// operator's mapping file; what users set with /incident github wins.
	Logins map[string]string
	// EscalateAfter is how many days overdue a countermeasure may be before
	// its incident's commander is told too (once); zero never tells them.
	EscalateAfter int
}

// DefaultConfig returns the defaults documented in the README.
func DefaultConfig() Config {
	return Config{
		DefaultSeverity: bot.SEV3,
		StatusEvery: map[bot.Severity]time.Duration{
			bot.SEV1: 15 * time.Minute,
			bot.SEV2: 30 * time.Minute,
			bot.SEV3: 2 * time.Hour,
		},
		ScheduleNudgeEvery: 24 * time.Hour,
		ScheduleWithin:     map[bot.Severity]int{bot.SEV1: 2, bot.SEV2: 2, bot.SEV3: 5, bot.SEV4: 10},
		MeetingReminders:   map[store.ReminderKind]time.Duration{store.RemindMeetingDay: 24 * time.Hour, store.RemindMeetingSoon: 15 * time.Minute},
		MeetingDuration:    time.Hour,
		Zone:               time.UTC,
		EscalateAfter:      7,
	}
}

// Service runs incidents. Its fields are set before first use and not
// changed after.
type Service struct {
	Store  store.Store
	Config Config
	// Chats delivers effects per platform. An effect for a platform with no
	// Chat stays in the outbox until one is configured.
	Chats map[bot.Platform]Chat
	// Zones tells users' zones per platform, where the platform knows
	// them; optional.
	Zones map[bot.Platform]ZoneSource
	// Publisher commits closed incidents' write-ups; optional.
	Publisher Publisher
	// Tracker files countermeasures as issues; optional. With one, an
	// incident does not close before its countermeasures are filed (the
	// Service derives bot.ClosePolicy.RequireFiled from it, in policy;
	// nobody sets it), and the reconcile loop runs (Loops).
	Tracker Tracker
	// ReconcileEvery is how often the reconcile loop asks the Tracker for
	// the issues updated since the last sync; DefaultReconcileEvery when
	// zero. Whoever sets Tracker sets it (GITHUB_RECONCILE_EVERY).
	ReconcileEvery time.Duration
	// Hook is the chaos tool game days call to inject and abort their
	// fault (DEBRIEF_GAMEDAY_HOOK); optional: without it injections are
	// marked by hand.
	Hook Hook
	// Similar finds past incidents like a new one, posted at declare;
	// optional (the archive sets it).
	Similar SimilarFinder
	// PublishPath is the folder Publisher writes into ("postmortems/").
	PublishPath string
	// SpoolDir is where a document delivered at length (the write-up) is
	// spooled while it is sent (SpoolDocument); os.TempDir() when empty.
	SpoolDir string
	// Now is the clock; time.Now when nil. Tests inject a fake.
	Now func() time.Time
	// Rand returns a number in [0,1) for backoff jitter; rand.Float64 when
	// nil.
	Rand    func() float64
	Log     *slog.Logger
	Metrics *Metrics

	// channels caches channel -> incident ID lookups for the message hot
	// path. Only hits are cached: an incident never leaves its channel,
	// but a channel may become an incident channel later.
	channels sync.Map
	// closed caches incident ID -> closedState for Record (afterclose.go).
	closed sync.Map

	metricsOnce sync.Once
	outboxOnce  sync.Once
	ob          *outbox.Outbox

	bulkOnce sync.Once
	bulk     chan struct{}
	// inflight counts Record's appends not yet committed (StepAside).
	inflight appends
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (s *Service) metrics() *Metrics {
	s.metricsOnce.Do(func() {
		if s.Metrics == nil {
			s.Metrics = NewMetrics(nil)
		}
	})
	return s.Metrics
}

// policy is the close gate's policy: the configured one, and with a Tracker
// every countermeasure must be filed first, so that nothing agreed in the
// post-mortem closes untracked. The rule follows from the configuration;
// main does not switch it on.
func (s *Service) policy() bot.ClosePolicy {
	p := s.Config.Policy
	if s.Tracker != nil {
		p.RequireFiled = true
	}
	return p
}

func (s *Service) zone() *time.Location {
	if s.Config.Zone != nil {
		return s.Config.Zone
	}
	return time.UTC
}

func (s *Service) jitter() float64 {
	if s.Rand != nil {
		return s.Rand()
	}
	return rand.Float64()
}

// isAdmin matches the platform's user ID only: a display name is chosen by
// its owner, so matching it would let anyone name themselves an admin.
func (s *Service) isAdmin(u bot.User) bool {
	for _, a := range s.Config.Admins {
		if a == u.Key() || a == u.ID {
			return true
		}
	}
	return false
}

// Reply is the bot's answer to a command.
type Reply struct {
	Text string
	// Ephemeral replies are shown to the caller only: errors and help.
	Ephemeral bool
	// IncidentID is the incident the command acted on, if any.
	IncidentID string
}

// Execute parses text (what followed "/incident"), handles it for actor in
// channel ch and renders the outcome as a reply. Internal errors are logged
// and shown as a generic message; refusals carry their reasons.
func (s *Service) Execute(ctx context.Context, actor bot.User, ch bot.Channel, text string) Reply {
	start := time.Now()
	cmd, err := bot.Parse(text)
	if err != nil {
		// Counted by the verb typed, so that a verb people keep getting
		// wrong shows; the label stays bounded to the verbs and "unknown".
		verb := "unknown"
		if v, ok := bot.VerbOf(text); ok {
			verb = metricVerb(v)
		}
		s.metrics().Commands.WithLabelValues(verb, bot.EINVALID).Inc()
		s.metrics().CommandSeconds.WithLabelValues(verb).Observe(time.Since(start).Seconds())
		return Reply{Text: bot.ErrorMessage(err), Ephemeral: true}
	}
	r, err := s.Handle(ctx, actor, ch, cmd)
	code := bot.ErrorCode(err)
	if code == "" {
		code = "ok"
	}
	s.metrics().Commands.WithLabelValues(metricVerb(cmd.Verb), code).Inc()
	// Wall time, not the injected clock: this measures the work.
	s.metrics().CommandSeconds.WithLabelValues(metricVerb(cmd.Verb)).Observe(time.Since(start).Seconds())
	if err != nil {
		if code == bot.EINTERNAL {
			s.log().ErrorContext(ctx, "command failed", "verb", cmd.Verb, "platform", ch.Platform,
				"channel", ch.ID, "user", actor.Key(), "err", err)
		}
		// A refused close is news for everyone in the channel (README, "The close gate");
		// every other error is for the caller only.
		public := code == bot.ECONFLICT && cmd.Verb == bot.VerbClose
		return Reply{Text: bot.ErrorMessage(err), Ephemeral: !public, IncidentID: r.IncidentID}
	}
	return r
}

func metricVerb(v bot.Verb) string { return strings.ReplaceAll(string(v), " ", "_") }

// Handle runs cmd for actor in channel ch: the handler its verb family
// declares (handlers). Errors are *bot.Error when the user can act on them
// (ENOTFOUND: not an incident channel; EFORBIDDEN; ECONFLICT: the lifecycle
// refuses; EINVALID), anything else is internal.
func (s *Service) Handle(ctx context.Context, actor bot.User, ch bot.Channel, cmd bot.Command) (Reply, error) {
	for i := range cmd.Users {
		if cmd.Users[i].Platform == "" {
			cmd.Users[i].Platform = actor.Platform
		}
	}
	h, ok := handlers[cmd.Verb]
	if !ok {
		return Reply{}, bot.Errorf(bot.EINVALID, "Unknown command %q.\n%s", cmd.Verb, bot.Help())
	}
	if h.global != nil {
		return h.global(s, ctx, actor, ch, cmd)
	}
	loc := s.ZoneOf(ctx, actor)
	if h.view != nil {
		return s.handleView(ctx, h, actor, ch, cmd, loc)
	}
	var zones map[string]*time.Location
	if h.zones != nil {
		zones = h.zones(s, ctx, ch, cmd)
	}
	var reply Reply
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		inc, err := s.incidentOf(tx, ch, cmd, h)
		if err != nil {
			return err
		}
		if inc.Status == bot.StatusClosed && !h.readOnly && !h.afterClose {
			return bot.Errorf(bot.ECONFLICT, "%s is closed.", inc.ID)
		}
		c := &call{s: s, tx: tx, inc: inc, actor: actor, cmd: cmd, now: s.now(), loc: loc, zones: zones,
			elsewhere: inc.Channels[ch.Platform] != ch.ID}
		reply, err = h.run(c)
		if err != nil {
			return err
		}
		reply.IncidentID = inc.ID
		reply.Text = render.Mark(inc, reply.Text)
		if h.readOnly {
			return nil
		}
		if err := tx.PutIncident(inc); err != nil {
			return fmt.Errorf("workflows: %s %s: %w", cmd.Verb, inc.ID, err)
		}
		return nil
	})
	if err != nil {
		return reply, err
	}
	s.forgetClosed(reply.IncidentID)
	s.kick()
	return reply, nil
}

// handleView runs a handler that only reads (handler.view) in a read
// transaction: a read never waits for the writers' lock, nor makes an
// event's acknowledgement wait for it (ARCHITECTURE.md, "A command and
// its effects").
func (s *Service) handleView(ctx context.Context, h handler, actor bot.User, ch bot.Channel, cmd bot.Command, loc *time.Location) (Reply, error) {
	var reply Reply
	err := s.Store.View(ctx, func(tx store.ReadTx) error {
		inc, err := s.incidentIn(tx, ch)
		if err != nil {
			return err
		}
		c := &viewCall{s: s, tx: tx, inc: inc, actor: actor, cmd: cmd, now: s.now(), loc: loc}
		if reply, err = h.view(c); err != nil {
			return err
		}
		reply.IncidentID = inc.ID
		reply.Text = render.Mark(inc, reply.Text)
		return nil
	})
	return reply, err
}

func (s *Service) incidentIn(tx store.ReadTx, ch bot.Channel) (*bot.Incident, error) {
	id, err := tx.IncidentByChannel(ch)
	if bot.ErrorCode(err) == bot.ENOTFOUND {
		return nil, bot.Errorf(bot.ENOTFOUND,
			"This is not an incident channel. Run this in the incident's channel, or declare one with /incident declare <title>.")
	}
	if err != nil {
		return nil, err
	}
	return tx.Incident(id)
}

// IncidentFor returns the ID of the incident living in channel ch, or a
// *bot.Error with code ENOTFOUND.
func (s *Service) IncidentFor(ctx context.Context, ch bot.Channel) (string, error) {
	if id, ok := s.channels.Load(ch); ok {
		return id.(string), nil
	}
	var id string
	err := s.Store.View(ctx, func(tx store.ReadTx) error {
		var err error
		id, err = tx.IncidentByChannel(ch)
		return err
	})
	if err != nil {
		return "", err
	}
	s.channels.Store(ch, id)
	return id, nil
}

// Record commits a platform event seen in channel ch to the timeline of the
// incident living there, and returns once it is durable: adapters
// acknowledge the platform only after Record returns nil. ev.DedupeKey
// makes redeliveries a no-op that returns the stored entry. It returns a
// *bot.Error with ENOTFOUND when ch is not an incident channel.
func (s *Service) Record(ctx context.Context, ch bot.Channel, ev bot.TimelineEvent) (bot.TimelineEvent, error) {
	id, err := s.IncidentFor(ctx, ch)
	if err != nil {
		return bot.TimelineEvent{}, err
	}
	ev.IncidentID = id
	ev.RecordedAt = s.now()
	// What people said is quoted in posts (a near miss, a declare from a
	// message): it may not carry a time token (bot.DefuseTimes).
	ev.Text, ev.Author.Name = bot.DefuseTimes(ev.Text), bot.DefuseTimes(ev.Author.Name)
	// Said after close, where the channel stays open: kept apart, out of
	// the write-up (README, "After close"). A message sent before the
	// close and delivered after it (a retry, a backfill) is not.
	closedAt, err := s.closedAt(ctx, id)
	if err != nil {
		return bot.TimelineEvent{}, fmt.Errorf("workflows: record in %s: %w", id, err)
	}
	if !closedAt.IsZero() && (ev.PlatformAt.IsZero() || ev.PlatformAt.After(closedAt)) {
		ev.AfterClose = true
	}
	if !ev.PlatformAt.IsZero() && !bot.StorableTime(ev.PlatformAt) {
		// It can never be stored: a platform retrying it would retry
		// forever. Adapters acknowledge EINVALID and log it.
		return bot.TimelineEvent{}, bot.Errorf(bot.EINVALID, "The event's time (%d) is outside the years %d to %d.",
			ev.PlatformAt.Unix(), bot.MinTime.Year(), bot.MaxTime.Year())
	}
	if ev.Recovered && !ev.PlatformAt.IsZero() && ev.PlatformAt.Before(ev.RecordedAt) {
		// What was said while debrief was away goes where it was said,
		// not where it was found.
		ev.RecordedAt = ev.PlatformAt
	}
	start := time.Now()
	s.inflight.begin()
	stored, dup, err := s.Store.Append(ctx, ev)
	s.inflight.end()
	s.metrics().CommitSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		return bot.TimelineEvent{}, fmt.Errorf("workflows: record %s in %s: %w", ev.Kind, id, err)
	}
	if dup {
		s.metrics().EventsDuplicate.Inc()
	} else {
		s.metrics().EventsAppended.Inc()
	}
	return stored, nil
}

// ZoneOf returns the zone to show user u times in: the one they set with
// /incident tz, else the one their platform knows (Slack profiles have one),
// else the configured zone.
func (s *Service) ZoneOf(ctx context.Context, u bot.User) *time.Location {
	var p store.UserPrefs
	err := s.Store.View(ctx, func(tx store.ReadTx) error {
		var err error
		p, err = tx.UserPrefs(u.Key())
		return err
	})
	name := p.Zone
	if err != nil {
		s.log().WarnContext(ctx, "user prefs unreadable", "user", u.Key(), "err", err)
	}
	if name == "" {
		if src := s.Zones[u.Platform]; src != nil {
			name, err = src.Zone(ctx, u)
			if err != nil {
				s.log().WarnContext(ctx, "platform zone lookup failed", "platform", u.Platform, "user", u.ID, "err", err)
			}
		}
	}
	if name != "" {
		if loc, err := time.LoadLocation(name); err == nil {
			return loc
		}
	}
	return s.zone()
}
