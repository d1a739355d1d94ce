// Package store is debrief's storage contract: the Store and Tx interfaces
// and the records they keep (user preferences, reminders, outbox effects).
// Implementations live in subpackages (bolt/, one bbolt file) and hold no
// business rules: the application in workflows decides, a Store remembers.
//
// Why the contract is here and not in workflows, which is its only caller
// (the Go habit is to define an interface where it is used): the
// implementations must name its record types, and if those lived in
// workflows, every store would import the application and, through it,
// metrics, cron and iCalendar. Here, as in benbjohnson/wtf's root package,
// both sides import one small package that imports only bot, and
// dependencies point inward: workflows -> store <- store/bolt, all -> bot.
package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/debrief/debrief/bot"
)

// Store persists incidents, their timelines, the outbox and reminders. It
// holds no business rules: the Service decides, the Store remembers.
//
// store/bolt implements it on bbolt.
type Store interface {
	// Update runs fn in one read-write transaction: all of fn's writes
	// commit together, durably, or none do. An error from fn is returned
	// unwrapped so that *bot.Error codes survive.
	Update(ctx context.Context, fn func(Tx) error) error

	// View runs fn in a read-only transaction with a consistent snapshot.
	//
	// A View must be short: read a page (TimelineAfter, TimelineTail,
	// IncidentsAfter), return, and take the next page in a View of its
	// own, carrying a cursor. Never hold one while writing to a client or
	// across a whole timeline. On bbolt an open read transaction holds the
	// file's pages as they were (a commit cannot reuse what the reader may
	// read, so the file grows) and makes any commit that must remap a
	// grown file wait until it ends (store/bolt maps 1 GiB ahead, so that
	// is rare, not impossible); on etcd a long read holds a revision that
	// compaction must keep. Backup is the one long reader, by necessity.
	View(ctx context.Context, fn func(ReadTx) error) error

	// Append commits ev to the timeline of ev.IncidentID and returns the
	// stored entry (with Seq set) once it is durable on disk. Concurrent
	// appends are group-committed in one fsynced transaction. If
	// ev.DedupeKey is set and was seen before, Append writes nothing and
	// returns the stored entry with dup true.
	Append(ctx context.Context, ev bot.TimelineEvent) (stored bot.TimelineEvent, dup bool, err error)
}

// ReadTx reads within one transaction.
type ReadTx interface {
	// Incident returns the incident with the given ID, or a *bot.Error with
	// code ENOTFOUND.
	Incident(id string) (*bot.Incident, error)
	// Incidents returns every incident, oldest first.
	Incidents() ([]*bot.Incident, error)
	// IncidentByChannel returns the ID of the incident that lives in c, or a
	// *bot.Error with code ENOTFOUND.
	IncidentByChannel(c bot.Channel) (string, error)
	// Timeline returns the incident's entries oldest first (RecordedAt, then
	// Seq). An incident with no entries has an empty timeline, not an error.
	Timeline(incidentID string) ([]bot.TimelineEvent, error)
	// TimelinePage returns at most limit entries of the incident's
	// timeline, in Timeline's order, from position offset (0-based), and
	// how many entries the timeline holds: a page of a long timeline
	// without reading the rest. Past the end the page is empty. ENOTFOUND
	// for an unknown incident.
	TimelinePage(incidentID string, offset, limit int) (page []bot.TimelineEvent, total int, err error)
	// TimelineSince returns at most limit entries whose Seq is greater than
	// after, in Seq order. Entries are never removed and Seq numbers them
	// 1, 2, 3... in commit order, so a reader that remembers the last Seq
	// it saw (a cursor) gets exactly what was committed since. ENOTFOUND
	// for an unknown incident.
	TimelineSince(incidentID string, after uint64, limit int) ([]bot.TimelineEvent, error)
	// TimelineAfter returns at most limit entries that come after cursor
	// c in Timeline's order, reading only those: a page of a timeline of
	// any length. The zero cursor starts before the first entry; the
	// cursor of a page's last entry (CursorOf) continues after it.
	// ENOTFOUND for an unknown incident.
	TimelineAfter(incidentID string, c TimelineCursor, limit int) ([]bot.TimelineEvent, error)
	// TimelineKeysAfter is TimelineAfter without the entries: it reads
	// only the keys of the at most limit entries after cursor c, and
	// returns how many there are (n), the cursor of the last of them (end;
	// c itself when n is 0), and whether an entry follows end (more). A
	// page that must announce its end before its body (the API's Link
	// header) finds it this way and then decodes each entry once.
	// ENOTFOUND for an unknown incident.
	TimelineKeysAfter(incidentID string, c TimelineCursor, limit int) (end TimelineCursor, n int, more bool, err error)
	// TimelineBefore returns at most limit entries that come before the
	// entry at cursor c (the zero cursor: the timeline's end), in
	// Timeline's order, reading only those: a page walking back from the
	// newest, as a lookup of a recent message does. The cursor of a page's
	// first entry continues before it.
	// ENOTFOUND for an unknown incident.
	TimelineBefore(incidentID string, c TimelineCursor, limit int) ([]bot.TimelineEvent, error)
	// TimelineTail returns the last n entries of the incident's timeline,
	// in Timeline's order, and how many entries it holds, reading only
	// those: what /incident timeline shows costs the same at any length.
	// ENOTFOUND for an unknown incident.
	TimelineTail(incidentID string, n int) (tail []bot.TimelineEvent, total int, err error)
	// IncidentsAfter returns at most limit incidents numbered above after,
	// by number, among those f selects (every one for the zero filter): a
	// page of the incidents without decoding them all into memory at
	// once. The store tests f on an index of the fields it names and
	// decodes only the incidents it returns, so that a filter that
	// matches few of many costs little more than one that matches all.
	IncidentsAfter(after int, limit int, f IncidentFilter) ([]*bot.Incident, error)
	// TimelineLens returns, for every incident, how many entries its
	// timeline holds, which is also the Seq of its last entry: a cheap way
	// to see which timelines grew.
	TimelineLens() (map[string]uint64, error)
	// UserPrefs returns what the user set about themselves; the zero value
	// (with Key set) when nothing was.
	UserPrefs(key string) (UserPrefs, error)
	// Effects returns the pending outbox effects in ID order.
	Effects() ([]Effect, error)
	// DueReminders returns the reminders due at or before now, earliest
	// first.
	DueReminders(now time.Time) ([]Reminder, error)
	// Reminder returns the reminder with key k, and whether it exists.
	Reminder(k string) (Reminder, bool, error)
	// Meta returns the value stored under key with PutMeta, and whether
	// there is one: small bookkeeping such as the tracker's sync cursor.
	Meta(key string) (string, bool, error)
	// Gamedays returns every game day ever scheduled, by Number.
	Gamedays() ([]Gameday, error)
	// NearMisses returns every near miss, by number.
	NearMisses() ([]NearMiss, error)
	// AlertGroup returns the alert group with ID id, and whether it exists.
	AlertGroup(id string) (AlertGroup, bool, error)
	// Signal returns the signal with key k, and whether it exists.
	Signal(k string) (Signal, bool, error)
	// Signals returns every signal, in key order.
	Signals() ([]Signal, error)
}

// TimelineCursor is a position in an incident's timeline, in Timeline's
// order (RecordedAt, then Seq): just after the entry recorded at At with
// Seq. The zero TimelineCursor is before the first entry.
type TimelineCursor struct {
	At  time.Time
	Seq uint64
}

// CursorOf returns the cursor just after ev.
func CursorOf(ev bot.TimelineEvent) TimelineCursor {
	return TimelineCursor{At: ev.RecordedAt, Seq: ev.Seq}
}

// IsZero reports whether c is before the first entry.
func (c TimelineCursor) IsZero() bool { return c.At.IsZero() && c.Seq == 0 }

// IncidentFilter selects incidents by the fields the incident list filters
// on (GET /api/incidents, /incident list): each field set narrows the
// selection, and the zero IncidentFilter selects every incident. It is data
// rather than a function so that a store can test it on an index of these
// fields without decoding the incidents it skips.
type IncidentFilter struct {
	// Status selects the incidents in that status; Open the incidents not
	// closed.
	Status bot.Status
	Open   bool
	// Severity and Kind select the incidents of that severity and kind.
	Severity bot.Severity
	Kind     bot.Kind
	// Since selects the incidents declared at or after it.
	Since time.Time
}

// IsZero reports whether f selects every incident.
func (f IncidentFilter) IsZero() bool {
	return f.Status == "" && !f.Open && f.Severity == 0 && f.Kind == "" && f.Since.IsZero()
}

// Selects reports whether f selects an incident with these fields: the one
// definition of the filter, which stores apply to their index.
func (f IncidentFilter) Selects(status bot.Status, sev bot.Severity, kind bot.Kind, declaredAt time.Time) bool {
	switch {
	case f.Status != "" && status != f.Status,
		f.Open && status == bot.StatusClosed,
		f.Severity != 0 && sev != f.Severity,
		f.Kind != "" && kind != f.Kind,
		!f.Since.IsZero() && declaredAt.Before(f.Since):
		return false
	}
	return true
}

// Match reports whether f selects inc.
func (f IncidentFilter) Match(inc *bot.Incident) bool {
	return f.Selects(inc.Status, inc.Severity, inc.Kind, inc.DeclaredAt)
}

// Lister enumerates what ReadTx finds only by key, so that a whole store
// can be copied to another and compared with it (debrief migrate). Every
// store's transactions implement it; it is apart from ReadTx because the
// application never needs it.
type Lister interface {
	// Channels returns the channel index: every channel recorded with
	// PutChannel, and its incident's ID.
	Channels() (map[bot.Channel]string, error)
	// Users returns every UserPrefs stored, by key.
	Users() ([]UserPrefs, error)
	// MetaAll returns every value stored with PutMeta, by key.
	MetaAll() (map[string]string, error)
	// AlertGroups returns every alert group, by ID.
	AlertGroups() ([]AlertGroup, error)
}

// Tx reads and writes within one read-write transaction.
type Tx interface {
	ReadTx
	// NextIncidentNumber returns the next incident number: 1, 2, 3...
	// No two committed incidents share a number; a number taken by a
	// transaction that rolls back is handed out again.
	NextIncidentNumber() (int, error)
	// PutIncident inserts or replaces inc.
	PutIncident(inc *bot.Incident) error
	// PutChannel records that incidentID lives in channel c.
	PutChannel(c bot.Channel, incidentID string) error
	// AppendEvent is Append within this transaction. Like Append, it
	// refuses (ENOTFOUND) an entry for an incident that was never put, and
	// its dedupe check spans every incident.
	AppendEvent(ev bot.TimelineEvent) (stored bot.TimelineEvent, dup bool, err error)
	// PutUserPrefs inserts or replaces p.
	PutUserPrefs(p UserPrefs) error
	// AddEffect adds e to the outbox, assigning e.ID (and e.Key when empty,
	// as "effect-<ID>"), and returns it.
	AddEffect(e Effect) (Effect, error)
	// UpdateEffect replaces the pending effect with e.ID (after a failed
	// attempt).
	UpdateEffect(e Effect) error
	// DeleteEffect removes a delivered effect from the outbox; deleting a
	// missing one is not an error, so acknowledgements may repeat.
	DeleteEffect(id uint64) error
	// PutReminder inserts or replaces the reminder with r.Key.
	PutReminder(r Reminder) error
	// DeleteReminder removes the reminder with key k, if any.
	DeleteReminder(k string) error
	// PutMeta stores value under key, replacing any previous value.
	PutMeta(key, value string) error
	// PutGameday inserts or replaces the game day with g.Number (from 1).
	PutGameday(g Gameday) error
	// PutNearMiss inserts or replaces the near miss with nm.Number (from
	// 1; numbers are the caller's to hand out, len(NearMisses())+1).
	PutNearMiss(nm NearMiss) error
	// PutAlertGroup inserts or replaces the alert group with g.ID.
	PutAlertGroup(g AlertGroup) error
	// PutSignal inserts or replaces the signal with s.Key.
	PutSignal(s Signal) error
	// Remember records key until expires and reports whether it was
	// already remembered at now: how a signed request replayed within its
	// signature's window is told from a new one, across restarts. A key
	// whose expiry is at or before now counts as never seen (and is
	// remembered anew). Expired keys are forgotten as later calls go, a
	// bounded number per call, so the record stays as small as the window.
	Remember(key string, now, expires time.Time) (seen bool, err error)
}

// UserPrefs is what a user told the bot about themselves.
type UserPrefs struct {
	Key    string `json:"key"`    // bot.User.Key()
	Zone   string `json:"zone"`   // IANA zone set with /incident tz
	GitHub string `json:"github"` // GitHub login set with /incident github
}

// Gameday is a drill scheduled with /incident gameday schedule: kept until
// its time, when the application opens it as an incident of kind drill
// (IncidentID), and after, for the list of drills. Its reminders are its
// own flags rather than Reminders, which belong to incidents.
type Gameday struct {
	ID     string `json:"id"` // "GD-3"
	Number int    `json:"number"`
	Title  string `json:"title"`
	// Start is when the drill opens; Duration how long it is planned to
	// last; Zone the zone it was scheduled in.
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration"`
	Zone     string        `json:"zone"`
	Plan     bot.DrillPlan `json:"plan"`
	// ScheduledBy is who scheduled it, from the channel Origin, where the
	// invite and reminders go until the drill has its own channel.
	ScheduledBy  bot.User    `json:"scheduled_by"`
	Origin       bot.Channel `json:"origin"`
	Participants []bot.User  `json:"participants,omitempty"`
	ScheduledAt  time.Time   `json:"scheduled_at"`
	// RemindedDay and RemindedHour record that the reminders a day and an
	// hour before went out.
	RemindedDay  bool `json:"reminded_day,omitempty"`
	RemindedHour bool `json:"reminded_hour,omitempty"`
	// IncidentID is the drill incident, once opened.
	IncidentID string `json:"incident_id,omitempty"`
}

// ReminderKind says what a reminder nudges about.
type ReminderKind string

// The reminder kinds.
const (
	// RemindStatus asks for a status update while an incident is open.
	RemindStatus ReminderKind = "status_update"
	// RemindSchedule asks the commander to schedule the post-mortem.
	RemindSchedule ReminderKind = "schedule_postmortem"
	// RemindMeetingDay and RemindMeetingSoon announce the meeting 24 h and
	// 15 min before it starts.
	RemindMeetingDay  ReminderKind = "meeting_24h"
	RemindMeetingSoon ReminderKind = "meeting_15m"
	// RemindCountermeasure nudges a countermeasure's owner before and
	// after its due date until it is done; Reminder.N says which one.
	RemindCountermeasure ReminderKind = "countermeasure"
)

// Reminder is a durable nudge due at a time. It lives in the store so that it
// survives restarts, and it is deleted or moved in the same transaction that
// enqueues its message, so it fires once.
type Reminder struct {
	Key        string       `json:"key"` // unique: "INC-3/status_update"
	IncidentID string       `json:"incident_id"`
	Kind       ReminderKind `json:"kind"`
	Due        time.Time    `json:"due"`
	// Count is how many times it has fired.
	Count int `json:"count"`
	// Escalated records that an overdue nudge was also announced (or, for
	// a countermeasure, told to the commander), which happens once.
	Escalated bool `json:"escalated,omitempty"`
	// N is the countermeasure a RemindCountermeasure reminder is about.
	N int `json:"n,omitempty"`
}

// EffectKind names an effect on the outside world ("post",
// "create_channel", "file_issue"...). The kinds, their payloads and how each
// is delivered are declared once, in the application's effect table
// (workflows/effects.go); the store keeps them as opaque envelopes.
type EffectKind string

// Effect is one change to make outside, kept in the outbox until it is
// delivered: a generic envelope whose Payload is the kind's own type, JSON
// encoded. It is written in the same transaction as the state change that
// causes it, and delivered at least once; Key lets the far side tell a retry
// from a new request.
type Effect struct {
	ID   uint64     `json:"id"`
	Key  string     `json:"key"`
	Kind EffectKind `json:"kind"`
	// Lane is the ordering domain: effects in one lane are delivered in ID
	// order, and one lane's failure holds up no other ("slack/C123",
	// "slack/INC-4" for an incident channel not created yet,
	// "github/INC-4" for the tracker).
	Lane string `json:"lane"`
	// Platform is the chat platform the effect goes to; empty for sinks
	// that are not chats (the tracker, the publisher).
	Platform   bot.Platform `json:"platform,omitempty"`
	IncidentID string       `json:"incident_id,omitempty"`
	// ChannelID is the target channel. When empty, the target is the
	// incident's own channel on Platform, known once its create_channel
	// effect is delivered; effects that need it wait for it.
	ChannelID string `json:"channel_id,omitempty"`
	// Payload is the kind's payload type, JSON encoded.
	Payload json.RawMessage `json:"payload,omitempty"`
	// Legacy marks a Payload that is a whole record of the shape written
	// before effects were typed (LegacyEffect): an effect pending at the
	// upgrade is decoded by its kind from that shape.
	Legacy bool `json:"legacy,omitempty"`
	// Sent is set, durably, before the first attempt of an effect whose far
	// side cannot tell a retry from a new request by its key (a GitHub
	// issue): once set, the outcome of an earlier attempt is unknown (it
	// may have failed after the far side acted, or the process died
	// mid-call), and the next attempt must look for what it may have done.
	Sent bool `json:"sent,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	Attempts  int       `json:"attempts"`
	NextAt    time.Time `json:"next_at"`
	LastError string    `json:"last_error,omitempty"`
}

// LegacyEffect is the outbox record written before effects were typed: one
// union whose Name meant a channel, a file, an issue title or a path, whose
// Text meant a message, a body or content, and whose Platform doubled as the
// lane ("github" and "publish" were pseudo-platforms). It is only read:
// Effect.UnmarshalJSON turns such a record into an envelope with Legacy set,
// and each kind decodes its payload from it.
type LegacyEffect struct {
	ID         uint64       `json:"id"`
	Key        string       `json:"key"`
	Kind       EffectKind   `json:"kind"`
	Platform   bot.Platform `json:"platform"`
	IncidentID string       `json:"incident_id,omitempty"`
	ChannelID  string       `json:"channel_id,omitempty"`
	Name       string       `json:"name,omitempty"`
	Text       string       `json:"text,omitempty"`
	Users      []bot.User   `json:"users,omitempty"`
	MessageID  string       `json:"message_id,omitempty"`
	Pin        bool         `json:"pin,omitempty"`
	Comment    string       `json:"comment,omitempty"`
	N          int          `json:"n,omitempty"`
	Labels     []string     `json:"labels,omitempty"`
	Assignee   string       `json:"assignee,omitempty"`
	Sent       bool         `json:"sent,omitempty"`
	CreatedAt  time.Time    `json:"created_at"`
	Attempts   int          `json:"attempts"`
	NextAt     time.Time    `json:"next_at"`
	LastError  string       `json:"last_error,omitempty"`
}

// legacyPseudoPlatforms are the Platform values of LegacyEffect that named a
// lane rather than a chat.
var legacyPseudoPlatforms = map[bot.Platform]bool{"github": true, "publish": true}

// UnmarshalJSON reads an envelope, or a LegacyEffect (a record with no lane)
// as an envelope whose Payload is the whole legacy record. The lane of a
// legacy record is the one the old outbox derived: "<platform>/<channel>",
// or "<platform>/<incident>" when the channel was the incident's.
func (e *Effect) UnmarshalJSON(b []byte) error {
	type envelope Effect // no methods: no recursion
	var probe struct {
		Lane *string `json:"lane"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return err
	}
	if probe.Lane != nil {
		return json.Unmarshal(b, (*envelope)(e))
	}
	var old LegacyEffect
	if err := json.Unmarshal(b, &old); err != nil {
		return err
	}
	target := old.ChannelID
	if target == "" {
		target = old.IncidentID
	}
	*e = Effect{
		ID: old.ID, Key: old.Key, Kind: old.Kind, Lane: string(old.Platform) + "/" + target,
		Platform: old.Platform, IncidentID: old.IncidentID, ChannelID: old.ChannelID,
		Payload: append(json.RawMessage(nil), b...), Legacy: true, Sent: old.Sent,
		CreatedAt: old.CreatedAt, Attempts: old.Attempts, NextAt: old.NextAt, LastError: old.LastError,
	}
	if legacyPseudoPlatforms[old.Platform] {
		e.Platform = ""
	}
	return nil
}
