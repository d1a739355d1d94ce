package bot

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Platform names the chat system an actor or channel lives on.
type Platform string

// The platforms debrief speaks.
const (
	Console Platform = "console"
	Slack   Platform = "slack"
	Discord Platform = "discord"
)

// User is a person on one platform. ID is the platform's stable ID (Slack
// U024BE7LH, a Discord snowflake, a console name); Name is for display only.
type User struct {
	Platform Platform `json:"platform"`
	ID       string   `json:"id"`
	Name     string   `json:"name,omitempty"`
}

// Key identifies the user across platforms: "slack:U024BE7LH".
func (u User) Key() string { return string(u.Platform) + ":" + u.ID }

// IsZero reports whether u names nobody.
func (u User) IsZero() bool { return u.ID == "" }

// Display is how the bot names u in text.
func (u User) Display() string {
	// A display name is the person's own text: it may not carry a time
	// token (DefuseTimes) into what the bot posts.
	if u.Name != "" {
		return "@" + DefuseTimes(u.Name)
	}
	return "@" + DefuseTimes(u.ID)
}

// Severity is SEV1 (worst) to SEV4.
type Severity int

// The severities.
const (
	SEV1 Severity = 1
	SEV2 Severity = 2
	SEV3 Severity = 3
	SEV4 Severity = 4
)

// String renders "SEV1".."SEV4", or "SEV?" for an invalid value.
func (s Severity) String() string {
	if !s.Valid() {
		return "SEV?"
	}
	return "SEV" + strconv.Itoa(int(s))
}

// Valid reports whether s is one of SEV1..SEV4.
func (s Severity) Valid() bool { return s >= SEV1 && s <= SEV4 }

// ParseSeverity accepts "sev2", "SEV2", "P2", "p2" and "2".
func ParseSeverity(s string) (Severity, bool) {
	l := strings.ToLower(s)
	if t, ok := strings.CutPrefix(l, "sev"); ok {
		l = t
	} else {
		l = strings.TrimPrefix(l, "p")
	}
	n, err := strconv.Atoi(l)
	if err != nil || len(l) != 1 || !Severity(n).Valid() {
		return 0, false
	}
	return Severity(n), true
}

// MarshalText renders the severity as "SEV2" in JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText accepts anything ParseSeverity accepts.
func (s *Severity) UnmarshalText(b []byte) error {
	v, ok := ParseSeverity(string(b))
	if !ok {
		return fmt.Errorf("bot: invalid severity %q", b)
	}
	*s = v
	return nil
}

// Kind tells a real incident from a rehearsal or a near miss. All three run
// through the same lifecycle: weak signals and game days are learned from too.
type Kind string

// The incident kinds.
const (
	KindReal     Kind = "real"
	KindDrill    Kind = "drill"
	KindNearMiss Kind = "near_miss"
)

// Role is a responsibility a person holds during an incident.
type Role string

// The roles.
const (
	Commander Role = "commander"
	Comms     Role = "comms"
	Scribe    Role = "scribe"
)

// Roles lists the roles in display order.
var Roles = []Role{Commander, Comms, Scribe}

// ParseRole accepts a role name, case-insensitively, and "ic" for commander.
func ParseRole(s string) (Role, bool) {
	switch strings.ToLower(s) {
	case "commander", "ic", "incident-commander":
		return Commander, true
	case "comms", "communications":
		return Comms, true
	case "scribe":
		return Scribe, true
	}
	return "", false
}

// Incident is one incident from declaration to close.
type Incident struct {
	ID       string   `json:"id"` // "INC-42"
	Number   int      `json:"number"`
	Title    string   `json:"title"`
	Kind     Kind     `json:"kind"`
	Severity Severity `json:"severity"`
	Status   Status   `json:"status"`
	Tags     []string `json:"tags,omitempty"`
	Summary  string   `json:"summary,omitempty"`
	// Impact says who was affected and how, for the write-up.
	Impact string `json:"impact,omitempty"`
	// Factors are the contributing factors found in the review.
	Factors []string `json:"factors,omitempty"`

	// LastStatus is the latest `status` text, shown in the channel topic.
	LastStatus string `json:"last_status,omitempty"`

	DeclaredBy User          `json:"declared_by"`
	Roles      map[Role]User `json:"roles,omitempty"`
	Responders []User        `json:"responders,omitempty"`

	// Channels maps a platform to the incident's channel ID there. Set when
	// the channel exists, which is after declaration: creating it is an
	// outbox effect.
	Channels map[Platform]string `json:"channels,omitempty"`
	// Origin is the channel the incident was declared from, where the bot
	// answers until the incident's own channel exists.
	Origin Channel `json:"origin"`

	StartedAt      time.Time `json:"started_at"`
	DetectedAt     time.Time `json:"detected_at"`
	DeclaredAt     time.Time `json:"declared_at"`
	AcknowledgedAt time.Time `json:"acknowledged_at,omitzero"`
	MitigatedAt    time.Time `json:"mitigated_at,omitzero"`
	ResolvedAt     time.Time `json:"resolved_at,omitzero"`
	ClosedAt       time.Time `json:"closed_at,omitzero"`

	Postmortem      Postmortem       `json:"postmortem"`
	Countermeasures []Countermeasure `json:"countermeasures,omitempty"`

	// Drill is set on a drill opened by a game day (KindDrill).
	Drill *Drill `json:"drill,omitempty"`
}

// Channel is a channel on one platform.
type Channel struct {
	Platform Platform `json:"platform"`
	ID       string   `json:"id"`
}

// IncidentID formats the ID of incident number n.
func IncidentID(n int) string { return "INC-" + strconv.Itoa(n) }

// ParseIncidentID accepts "INC-42", "inc-42" and "42".
func ParseIncidentID(s string) (int, bool) {
	l := strings.ToUpper(s)
	l = strings.TrimPrefix(l, "INC-")
	n, err := strconv.Atoi(l)
	if err != nil || n <= 0 || !allDigits(l) {
		return 0, false
	}
	return n, true
}

// Role returns who holds role r, if anyone.
func (inc *Incident) Role(r Role) (User, bool) {
	u, ok := inc.Roles[r]
	return u, ok && !u.IsZero()
}

// IsCommander reports whether u is the incident commander.
func (inc *Incident) IsCommander(u User) bool {
	c, ok := inc.Role(Commander)
	return ok && c.Key() == u.Key()
}

// AddResponder records u as a responder once.
func (inc *Incident) AddResponder(u User) {
	for _, r := range inc.Responders {
		if r.Key() == u.Key() {
			return
		}
	}
	inc.Responders = append(inc.Responders, u)
}

// People returns the names (and IDs) of everyone involved: the declarer,
// role holders, responders, attendees and owners. The blameless lint counts
// them as people.
func (inc *Incident) People() []string {
	var out []string
	add := func(u User) {
		if u.Name != "" {
			out = append(out, u.Name)
		}
		if u.ID != "" {
			out = append(out, u.ID)
		}
	}
	add(inc.DeclaredBy)
	for _, u := range inc.Roles {
		add(u)
	}
	for _, u := range inc.Responders {
		add(u)
	}
	for _, u := range inc.Postmortem.Attendees {
		add(u)
	}
	for _, cm := range inc.Countermeasures {
		add(cm.Owner)
	}
	return out
}

// Open reports whether the incident is still being fought.
func (inc *Incident) Open() bool {
	return inc.Status == StatusInvestigating || inc.Status == StatusMitigated
}

// Slug is a channel-name-safe rendering of the title: lower case letters,
// digits and single hyphens, at most max bytes. Slack and Discord both accept
// this charset.
func Slug(title string, max int) string {
	if max <= 0 {
		return ""
	}
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(title) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			hyphen = false
			b.WriteRune(r)
		default:
			hyphen = true
		}
		if b.Len() >= max {
			break
		}
	}
	s := b.String()
	if len(s) > max {
		s = s[:max]
	}
	return strings.TrimRight(s, "-")
}

// ChannelName is the incident channel's name: "inc-42-db-latency", at most
// 80 characters (Slack's limit; Discord allows 100); a drill's says so:
// "inc-43-drill-db-failover".
func (inc *Incident) ChannelName() string {
	prefix := fmt.Sprintf("inc-%d", inc.Number)
	if inc.IsDrill() {
		prefix += "-drill"
	}
	slug := Slug(inc.Title, 80-len(prefix)-1)
	if slug == "" {
		return prefix
	}
	return prefix + "-" + slug
}
