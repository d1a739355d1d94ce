package httpapi

import (
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

// The response types are the API's contract, kept apart from bot's JSON
// tags (which are also the store's encoding) so that neither can change the
// other by accident. Field names are snake_case; times are RFC 3339 in UTC
// and absent until they happen.

// incidentList is a page of GET /api/incidents: Next is the cursor to
// pass back as ?after= (absent on an empty first page), More whether
// incidents follow now.
type incidentList struct {
	Next      string         `json:"next,omitempty"`
	More      bool           `json:"more"`
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
	// Drill is a drill's plan, measurements and verdict.
	Drill *drillJSON `json:"drill,omitempty"`
}

type planJSON struct {
	Hypothesis    string `json:"hypothesis"`
	SteadyState   string `json:"steady_state,omitempty"`
	Fault         string `json:"fault,omitempty"`
	Target        string `json:"target,omitempty"`
	AbortCriteria string `json:"abort_criteria,omitempty"`
}

type drillJSON struct {
	Gameday        string     `json:"gameday,omitempty"`
	Plan           planJSON   `json:"plan"`
	ScheduledAt    *time.Time `json:"scheduled_at,omitempty"`
	OpenedAt       *time.Time `json:"opened_at,omitempty"`
	InjectedAt     *time.Time `json:"injected_at,omitempty"`
	DetectedAt     *time.Time `json:"detected_at,omitempty"`
	AbortedAt      *time.Time `json:"aborted_at,omitempty"`
	TimeToDetect   *float64   `json:"time_to_detect_seconds,omitempty"`
	TimeToMitigate *float64   `json:"time_to_mitigate_seconds,omitempty"`
	Verdict        string     `json:"verdict,omitempty"`
	Observed       string     `json:"observed,omitempty"`
}

// gamedayList is GET /api/gamedays.
type gamedayList struct {
	Gamedays []gamedayJSON `json:"gamedays"`
	Figures  figuresJSON   `json:"figures"`
}

type gamedayJSON struct {
	ID              string     `json:"id"`
	Title           string     `json:"title"`
	Start           time.Time  `json:"start"`
	DurationMinutes int        `json:"duration_minutes"`
	Zone            string     `json:"zone"`
	Plan            planJSON   `json:"plan"`
	ScheduledBy     userJSON   `json:"scheduled_by"`
	Participants    []userJSON `json:"participants"`
	State           string     `json:"state"`
	IncidentID      string     `json:"incident_id,omitempty"`
	InjectedAt      *time.Time `json:"injected_at,omitempty"`
	DetectedAt      *time.Time `json:"detected_at,omitempty"`
	AbortedAt       *time.Time `json:"aborted_at,omitempty"`
	TimeToDetect    *float64   `json:"time_to_detect_seconds,omitempty"`
	TimeToMitigate  *float64   `json:"time_to_mitigate_seconds,omitempty"`
	Verdict         string     `json:"verdict,omitempty"`
	Observed        string     `json:"observed,omitempty"`
}

type figuresJSON struct {
	Scheduled          int      `json:"scheduled"`
	Run                int      `json:"run"`
	Held               int      `json:"held"`
	Refuted            int      `json:"refuted"`
	MeanTimeToDetect   *float64 `json:"mean_time_to_detect_seconds,omitempty"`
	MeanTimeToMitigate *float64 `json:"mean_time_to_mitigate_seconds,omitempty"`
}

func toPlan(p bot.DrillPlan) planJSON {
	return planJSON{Hypothesis: p.Hypothesis, SteadyState: p.SteadyState, Fault: p.Fault, Target: p.Target, AbortCriteria: p.AbortCriteria}
}

func toDrill(inc *bot.Incident) *drillJSON {
	d := inc.Drill
	if d == nil {
		return nil
	}
	out := &drillJSON{
		Gameday: d.Gameday, Plan: toPlan(d.Plan), ScheduledAt: stamp(d.ScheduledAt), OpenedAt: stamp(d.OpenedAt),
		InjectedAt: stamp(d.InjectedAt), DetectedAt: stamp(d.DetectedAt), AbortedAt: stamp(d.AbortedAt),
		Verdict: string(d.Verdict), Observed: d.Observed,
	}
	if v, ok := d.TimeToDetect(); ok {
		s := v.Seconds()
		out.TimeToDetect = &s
	}
	if v, ok := d.TimeToMitigate(inc); ok {
		s := v.Seconds()
		out.TimeToMitigate = &s
	}
	return out
}

func toGamedays(rs []workflows.GamedayReport, f workflows.GamedayFigures) gamedayList {
	out := gamedayList{Gamedays: make([]gamedayJSON, len(rs)), Figures: figuresJSON(f)}
	for i, r := range rs {
		out.Gamedays[i] = gamedayJSON{
			ID: r.ID, Title: r.Title, Start: r.Start.UTC(), DurationMinutes: int(r.Duration / time.Minute), Zone: r.Zone,
			Plan: toPlan(r.Plan), ScheduledBy: toUser(r.ScheduledBy), Participants: toUsers(r.Participants),
			State: r.State, IncidentID: r.IncidentID, InjectedAt: stamp(r.InjectedAt), DetectedAt: stamp(r.DetectedAt),
			AbortedAt: stamp(r.AbortedAt), TimeToDetect: r.TimeToDetect, TimeToMitigate: r.TimeToMitigate,
			Verdict: string(r.Verdict), Observed: r.Observed,
		}
	}
	return out
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
		Drill:           toDrill(inc),
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
