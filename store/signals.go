package store

import (
	"strconv"
	"time"

	"github.com/debrief/debrief/bot"
)

// The records of weak signals (README, "Alerts, near misses and weak
// signals"): near misses people record, the alert groups that open or
// suggest incidents, and the count of every alert that fired.

// NearMiss is something that almost went wrong, recorded with
// /incident nearmiss or the near-miss reaction. It opens no channel; it
// may be promoted to an incident later (IncidentID).
type NearMiss struct {
	ID     string `json:"id"` // "NM-7"
	Number int    `json:"number"`
	Text   string `json:"text"`
	// Tags are the #words of the command, without the '#'.
	Tags []string `json:"tags,omitempty"`
	// Reporter is who recorded it; Author who wrote the message a
	// reaction marked (zero for the command).
	Reporter bot.User    `json:"reporter"`
	Author   bot.User    `json:"author,omitzero"`
	Channel  bot.Channel `json:"channel"`
	// At is when it happened: the marked message's time, or the command's.
	At         time.Time `json:"at"`
	RecordedAt time.Time `json:"recorded_at"`
	Permalink  string    `json:"permalink,omitempty"`
	// Source identifies the marked message ("slack/C1/1712.0001"), so a
	// second reaction or a redelivered event records it once; empty for
	// the command.
	Source string `json:"source,omitempty"`
	// IncidentID is the incident it was promoted to, if any.
	IncidentID string `json:"incident_id,omitempty"`
}

// NearMissID formats the ID of near miss number n.
func NearMissID(n int) string { return "NM-" + strconv.Itoa(n) }

// AlertGroup is one group of alerts as the alerting system groups them
// (Alertmanager's groupKey, an Events v2 dedup_key): one group is one
// incident.
type AlertGroup struct {
	// ID is short and stable ("AL-" and a hash of Source and Key), for the
	// Declare button and declare --from.
	ID     string `json:"id"`
	Source string `json:"source"` // "alertmanager" or "events"
	Key    string `json:"key"`
	// Title, Severity and Tags are what an incident declared from the
	// group gets.
	Title    string       `json:"title"`
	Severity bot.Severity `json:"severity,omitzero"`
	Tags     []string     `json:"tags,omitempty"`
	// StartedAt is the earliest startsAt of its alerts; DetectedAt when
	// the first notification arrived. MTTD is measured between them.
	StartedAt  time.Time `json:"started_at"`
	DetectedAt time.Time `json:"detected_at"`
	// LastAt and Digest are the arrival and the content hash of the last
	// notification: the same content again within the redelivery window
	// is a redelivery, stored once.
	LastAt time.Time `json:"last_at"`
	Digest string    `json:"digest"`
	// Alerts are the group's alerts by fingerprint.
	Alerts map[string]AlertState `json:"alerts,omitempty"`
	// IncidentID is the incident the group opened or joined; Suggested
	// that a Declare button was posted for it.
	IncidentID string `json:"incident_id,omitempty"`
	Suggested  bool   `json:"suggested,omitempty"`
	// Link is where the alerting system shows the group (externalURL).
	Link string `json:"link,omitempty"`
}

// AlertState is what debrief last heard of one alert of a group.
type AlertState struct {
	Name     string    `json:"name"`
	Firing   bool      `json:"firing"`
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at,omitzero"`
	// Signal is the key of the alert's Signal.
	Signal string `json:"signal"`
}

// MaxSignalFires bounds Signal.Fires: enough for a month of an alert that
// fires a few times a day.
const MaxSignalFires = 200

// Signal counts the firings of one alert (its name and labels), whatever
// its rule did with it: the weak signal is the one that fires often and
// never becomes an incident.
type Signal struct {
	Key    string            `json:"key"` // a hash of Name and Labels
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	// Count is every firing ever counted; Fires the latest ones (at most
	// MaxSignalFires), oldest first, to count a window.
	Count   int         `json:"count"`
	Fires   []time.Time `json:"fires,omitempty"`
	FirstAt time.Time   `json:"first_at"`
	LastAt  time.Time   `json:"last_at"`
	// LastStart is the start of the last counted firing: a repeat of the
	// same firing is not counted again.
	LastStart time.Time `json:"last_start"`
	// IncidentIDs are the incidents its alerts were part of; none means
	// never declared.
	IncidentIDs []string `json:"incident_ids,omitempty"`
}
