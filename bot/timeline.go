package bot

import (
	"math"
	"time"
)

// EventKind classifies a timeline entry.
type EventKind string

// The timeline entry kinds.
const (
	EventMessage   EventKind = "message"    // something said in the incident channel
	EventEdit      EventKind = "edit"       // a message was edited; Text is the new text
	EventDelete    EventKind = "delete"     // a message was deleted
	EventFile      EventKind = "file"       // a file was shared; Text names it, URL links it
	EventKey       EventKind = "key_event"  // marked as key (pin, reaction)
	EventNote      EventKind = "note"       // /incident note
	EventStatus    EventKind = "status"     // /incident status
	EventSeverity  EventKind = "severity"   // severity changed
	EventRole      EventKind = "role"       // role assigned
	EventLifecycle EventKind = "lifecycle"  // declare, mitigate, resolve, reopen, review, close
	EventAction    EventKind = "action"     // countermeasure recorded or changed
	EventBot       EventKind = "bot_action" // something the bot itself did or said
)

// TimelineEvent is one entry of an incident's timeline. The timeline is
// recorded as it happens: who said what, and when, both by the platform's
// clock and ours.
type TimelineEvent struct {
	// Seq is assigned by the store: entries sort by (RecordedAt, Seq).
	Seq        uint64    `json:"seq"`
	IncidentID string    `json:"incident_id"`
	Kind       EventKind `json:"kind"`
	Author     User      `json:"author"`
	Text       string    `json:"text"`
	URL        string    `json:"url,omitempty"`
	// MessageID is the platform's message ID, so edits and deletes can be
	// tied to what they change; ThreadID is the parent message of a reply.
	MessageID string `json:"message_id,omitempty"`
	ThreadID  string `json:"thread_id,omitempty"`
	// PlatformAt is when the platform says it happened; RecordedAt is when
	// we committed it.
	PlatformAt time.Time `json:"platform_at,omitzero"`
	RecordedAt time.Time `json:"at"`
	// DedupeKey identifies the platform event so that a redelivery is
	// stored once. Prefer keys that sort by time (Slack "channel/ts",
	// Discord message snowflakes, plus the kind for edits and deletes)
	// over random ones (Slack event_id): the dedupe index then grows at
	// its right edge, and appends stay near raw bbolt speed
	// (store/bolt.BenchmarkServiceRecord: 0.82 vs 0.57 of raw at 64 writers).
	DedupeKey string `json:"-"`
	// Recovered marks an entry read back from the platform's history after
	// debrief was down or disconnected, rather than received live. It is
	// keyed at PlatformAt, so it takes its place among what was said.
	Recovered bool `json:"recovered,omitempty"`
	// AfterClose marks what was said in the incident's channel after the
	// incident closed (where the platform keeps the channel open): kept in
	// the timeline, marked "after close" where it is shown, and left out of
	// the write-up, which is final at close (README, "After close").
	AfterClose bool `json:"after_close,omitempty"`
}

// MinTime and MaxTime bound the times debrief stores: the Unix epoch, and
// the last instant whose nanoseconds since it fit in an int64 (April
// 2262), which is how stores key by time. A time outside (a platform's
// "999999999999.000100") can never be stored.
var (
	MinTime = time.Unix(0, 0).UTC()
	MaxTime = time.Unix(0, math.MaxInt64).UTC()
)

// StorableTime reports whether t is within MinTime and MaxTime.
func StorableTime(t time.Time) bool {
	return !t.Before(MinTime) && !t.After(MaxTime)
}
