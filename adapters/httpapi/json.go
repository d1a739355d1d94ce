package httpapi

import (
	"time"

	"github.com/debrief/debrief/bot"
)

// The response types are the API's contract, kept apart from bot's JSON
// tags (which are also the store's encoding) so that neither can change the
// other by accident. Field names are snake_case; times are RFC 3339 in UTC
// and absent until they happen.

type incidentList struct {
	Incidents []incidentJSON `json:"incidents"`
}

type userJSON struct {
	Platform string `json:"platform"`
	ID       string `json:"id"`
	Name     string `json:"name,omitempty"`
}

type incidentJSON struct {
	ID         string              `json:"id"`
	Number     int                 `json:"number"`
	Title      string              `json:"title"`
	Severity   string              `json:"severity"`
	Status     string              `json:"status"`
	Kind       string              `json:"kind"`
	Tags       []string            `json:"tags"`
	Summary    string              `json:"summary,omitempty"`
	LastStatus string              `json:"last_status,omitempty"`
	Channels   map[string]string   `json:"channels"`
	Roles      map[string]userJSON `json:"roles"`
	DeclaredBy userJSON            `json:"declared_by"`
	Responders []userJSON          `json:"responders"`

	StartedAt      *time.Time `json:"started_at,omitempty"`
	DetectedAt     *time.Time `json:"detected_at,omitempty"`
	DeclaredAt     *time.Time `json:"declared_at,omitempty"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	MitigatedAt    *time.Time `json:"mitigated_at,omitempty"`
	ResolvedAt     *time.Time `json:"resolved_at,omitempty"`
	ClosedAt       *time.Time `json:"closed_at,omitempty"`

	Postmortem      postmortemJSON       `json:"postmortem"`
	Countermeasures []countermeasureJSON `json:"countermeasures"`
}

type postmortemJSON struct {
	ScheduledAt     *time.Time `json:"scheduled_at,omitempty"`
	Zone            string     `json:"zone,omitempty"`
	DurationMinutes int        `json:"duration_minutes,omitempty"`
	HeldAt          *time.Time `json:"held_at,omitempty"`
	Attendees       []userJSON `json:"attendees"`
	Notes           string     `json:"notes,omitempty"`
}

type countermeasureJSON struct {
	N       int      `json:"n"`
	Text    string   `json:"text"`
	Owner   userJSON `json:"owner"`
	Due     string   `json:"due,omitempty"` // YYYY-MM-DD
	State   string   `json:"state"`
	Tracker string   `json:"tracker,omitempty"`
}

type timelineJSON struct {
	IncidentID string      `json:"incident_id"`
	Entries    []eventJSON `json:"entries"`
}

type eventJSON struct {
	Seq       uint64   `json:"seq"`
	Kind      string   `json:"kind"`
	Author    userJSON `json:"author"`
	Text      string   `json:"text"`
	URL       string   `json:"url,omitempty"`
	MessageID string   `json:"message_id,omitempty"`
	ThreadID  string   `json:"thread_id,omitempty"`
	// At is when debrief committed the entry; PlatformAt is when the
	// platform says it happened.
	At         time.Time  `json:"at"`
	PlatformAt *time.Time `json:"platform_at,omitempty"`
}

func toUser(u bot.User) userJSON {
	return userJSON{Platform: string(u.Platform), ID: u.ID, Name: u.Name}
}

func toUsers(us []bot.User) []userJSON {
	out := make([]userJSON, len(us))
	for i, u := range us {
		out[i] = toUser(u)
	}
	return out
}

// stamp is nil for a time that has not happened yet.
func stamp(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func toIncident(inc *bot.Incident) incidentJSON {
	out := incidentJSON{
		ID: inc.ID, Number: inc.Number, Title: inc.Title,
		Severity: inc.Severity.String(), Status: string(inc.Status), Kind: string(inc.Kind),
		Tags: inc.Tags, Summary: inc.Summary, LastStatus: inc.LastStatus,
		Channels:   make(map[string]string, len(inc.Channels)),
		Roles:      make(map[string]userJSON, len(inc.Roles)),
		DeclaredBy: toUser(inc.DeclaredBy),
		Responders: toUsers(inc.Responders),

		StartedAt: stamp(inc.StartedAt), DetectedAt: stamp(inc.DetectedAt), DeclaredAt: stamp(inc.DeclaredAt),
		AcknowledgedAt: stamp(inc.AcknowledgedAt), MitigatedAt: stamp(inc.MitigatedAt),
		ResolvedAt: stamp(inc.ResolvedAt), ClosedAt: stamp(inc.ClosedAt),

		Postmortem: postmortemJSON{
			ScheduledAt:     stamp(inc.Postmortem.ScheduledAt),
			Zone:            inc.Postmortem.Zone,
			DurationMinutes: int(inc.Postmortem.Duration / time.Minute),
			HeldAt:          stamp(inc.Postmortem.HeldAt),
			Attendees:       toUsers(inc.Postmortem.Attendees),
			Notes:           inc.Postmortem.Notes,
		},
		Countermeasures: make([]countermeasureJSON, len(inc.Countermeasures)),
	}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	for p, ch := range inc.Channels {
		out.Channels[string(p)] = ch
	}
	for r, u := range inc.Roles {
		if !u.IsZero() {
			out.Roles[string(r)] = toUser(u)
		}
	}
	for i, cm := range inc.Countermeasures {
		out.Countermeasures[i] = countermeasureJSON{
			N: cm.N, Text: cm.Text, Owner: toUser(cm.Owner), Due: cm.Due.String(),
			State: string(cm.State), Tracker: cm.Tracker,
		}
	}
	return out
}

func toEvent(ev bot.TimelineEvent) eventJSON {
	return eventJSON{
		Seq: ev.Seq, Kind: string(ev.Kind), Author: toUser(ev.Author), Text: ev.Text, URL: ev.URL,
		MessageID: ev.MessageID, ThreadID: ev.ThreadID,
		At: ev.RecordedAt.UTC(), PlatformAt: stamp(ev.PlatformAt),
	}
}
