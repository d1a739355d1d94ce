// Package alerts takes alerts in: Alertmanager's webhook (and Grafana's,
// a superset of it) at POST /alerts/alertmanager, decoded with
// Alertmanager's own types, and events in the shape of PagerDuty's Events
// API v2 at POST /alerts/events. Rules in Alertmanager's matcher syntax
// (DEBRIEF_ALERT_RULES) decide what each alert does; workflows.Service.Alerts
// does it. README, "Alerts, near misses and weak signals".
package alerts

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/internal/httpbody"
	"github.com/debrief/debrief/workflows"
	"github.com/prometheus/alertmanager/template"
)

// MaxBody is the largest payload accepted: Alertmanager's groups are
// bounded by max_alerts, and 1 MiB holds thousands of alerts.
const MaxBody = 1 << 20

// Message is Alertmanager's webhook payload: its template.Data (receiver,
// status, alerts, group and common labels, externalURL), decoded with
// Alertmanager's own types, and the three fields its notify/webhook.Message
// adds around it. That type is not imported: its package brings
// Alertmanager's whole notification pipeline (clustering, every receiver),
// which would almost double debrief's binary for three fields.
// TestMessageMatchesWebhook holds this one to it.
type Message struct {
	*template.Data

	Version         string `json:"version"`
	GroupKey        string `json:"groupKey"`
	TruncatedAlerts uint64 `json:"truncatedAlerts"`
}

// Handler serves the two alert routes.
type Handler struct {
	Service *workflows.Service
	// Token is the bearer token both routes require.
	Token string
	Rules Rules
	// Severities maps the severity label's value to a severity; TagLabels
	// are the labels whose values become tags.
	Severities map[string]bot.Severity
	TagLabels  []string
	Log        *slog.Logger
	// Now is the clock for events without a timestamp; time.Now when nil.
	Now func() time.Time
}

// Register adds POST /alerts/alertmanager and POST /alerts/events to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /alerts/alertmanager", h.serveAlertmanager)
	mux.HandleFunc("POST /alerts/events", h.serveEvents)
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// authorized checks the bearer token in constant time; 401 when it is
// missing or wrong.
func (h *Handler) authorized(w http.ResponseWriter, r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || h.Token == "" || subtle.ConstantTimeCompare([]byte(got), []byte(h.Token)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="debrief alerts"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"status": "invalid", "message": "missing or wrong bearer token (DEBRIEF_ALERT_TOKEN)"})
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func badRequest(w http.ResponseWriter, format string, args ...any) {
	writeJSON(w, http.StatusBadRequest, map[string]any{"status": "invalid", "message": fmt.Sprintf(format, args...)})
}

// serveAlertmanager handles a webhook notification (version 4).
func (h *Handler) serveAlertmanager(w http.ResponseWriter, r *http.Request) {
	if !h.authorized(w, r) {
		return
	}
	body, ok := httpbody.Read(w, r, MaxBody)
	if !ok {
		return
	}
	var msg Message
	if err := json.Unmarshal(body, &msg); err != nil {
		badRequest(w, "malformed JSON: %v", err)
		return
	}
	if msg.Data == nil || msg.GroupKey == "" {
		badRequest(w, "not an Alertmanager notification: groupKey is missing")
		return
	}
	// Alertmanager's webhook is version 4; Grafana's contact point, a
	// superset of it, says "1" (its own revision).
	if msg.Version != "" && msg.Version != "4" && msg.Version != "1" {
		badRequest(w, "webhook version %q: debrief reads Alertmanager's version 4 (and Grafana's 1)", msg.Version)
		return
	}
	n := workflows.AlertNotice{Source: "alertmanager", Key: msg.GroupKey, Truncated: int(msg.TruncatedAlerts), Link: msg.ExternalURL}
	for _, a := range msg.Alerts {
		n.Alerts = append(n.Alerts, h.alert(a))
	}
	h.handle(w, r.Context(), n)
}

// alert translates one Alertmanager alert and applies the rules to it.
func (h *Handler) alert(a template.Alert) workflows.Alert {
	lbls := map[string]string(a.Labels)
	out := workflows.Alert{
		Fingerprint: a.Fingerprint, Name: lbls["alertname"], Summary: a.Annotations["summary"], Labels: lbls,
		Firing: a.Status != "resolved", StartsAt: a.StartsAt, URL: a.GeneratorURL,
	}
	if !out.Firing {
		out.EndsAt = a.EndsAt
	}
	if out.Fingerprint == "" {
		out.Fingerprint = workflows.SignalKey(out.Name, lbls)
	}
	h.decide(&out)
	return out
}

// decide applies the rules, the severity map and the tag labels.
func (h *Handler) decide(a *workflows.Alert) {
	a.Action = h.Rules.Action(a.Labels)
	a.Severity = h.Severities[strings.ToLower(a.Labels["severity"])]
	for _, l := range h.TagLabels {
		if v, ok := bot.ParseTag("#" + a.Labels[l]); ok {
			a.Tags = append(a.Tags, v)
		}
	}
}

func (h *Handler) handle(w http.ResponseWriter, ctx context.Context, n workflows.AlertNotice) {
	out, err := h.Service.Alerts(ctx, n)
	if err != nil {
		h.log().ErrorContext(ctx, "alert not handled", "source", n.Source, "group", n.Key, "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"status": "error", "message": "internal error"})
		return
	}
	h.log().InfoContext(ctx, "alert", "source", n.Source, "group", out.GroupID, "action", out.Action.String(),
		"incident", out.IncidentID, "duplicate", out.Duplicate, "entries", out.Entries)
	resp := map[string]any{"status": "success", "group": out.GroupID, "action": out.Action.String(), "duplicate": out.Duplicate}
	if out.IncidentID != "" {
		resp["incident"] = out.IncidentID
	}
	if n.Source == "events" {
		resp["dedup_key"] = n.Key
		resp["message"] = "Event processed"
		writeJSON(w, http.StatusAccepted, resp)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Event is an event in the shape of PagerDuty's Events API v2.
type Event struct {
	RoutingKey  string        `json:"routing_key"`
	EventAction string        `json:"event_action"`
	DedupKey    string        `json:"dedup_key"`
	Payload     *EventPayload `json:"payload"`
	Client      string        `json:"client"`
	ClientURL   string        `json:"client_url"`
	Links       []struct {
		Href string `json:"href"`
		Text string `json:"text"`
	} `json:"links"`
}

// EventPayload is an Events v2 trigger's payload.
type EventPayload struct {
	Summary       string          `json:"summary"`
	Source        string          `json:"source"`
	Severity      string          `json:"severity"`
	Timestamp     string          `json:"timestamp"`
	Component     string          `json:"component"`
	Group         string          `json:"group"`
	Class         string          `json:"class"`
	CustomDetails json.RawMessage `json:"custom_details"`
}

// serveEvents handles one Events v2 event. Its labels, for the rules, are
// severity, source, component, group and class, and alertname (the class,
// else the summary).
func (h *Handler) serveEvents(w http.ResponseWriter, r *http.Request) {
	if !h.authorized(w, r) {
		return
	}
	body, ok := httpbody.Read(w, r, MaxBody)
	if !ok {
		return
	}
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil {
		badRequest(w, "malformed JSON: %v", err)
		return
	}
	now := h.now()
	a := workflows.Alert{StartsAt: now}
	switch ev.EventAction {
	case "trigger":
		p := ev.Payload
		if p == nil || strings.TrimSpace(p.Summary) == "" || p.Source == "" || p.Severity == "" {
			badRequest(w, "a trigger needs payload.summary, payload.source and payload.severity")
			return
		}
		switch p.Severity {
		case "critical", "error", "warning", "info":
		default:
			badRequest(w, "payload.severity %q: want critical, error, warning or info", p.Severity)
			return
		}
		if p.Timestamp != "" {
			t, err := time.Parse(time.RFC3339Nano, p.Timestamp)
			if err != nil {
				badRequest(w, "payload.timestamp %q: want RFC 3339", p.Timestamp)
				return
			}
			a.StartsAt = t
		}
		if ev.DedupKey == "" {
			// PagerDuty makes one up and returns it; so does debrief, from
			// what the event says.
			sum := sha256.Sum256([]byte(p.Source + "\x00" + p.Summary))
			ev.DedupKey = hex.EncodeToString(sum[:8])
		}
		name := p.Class
		if name == "" {
			name = p.Summary
		}
		a.Firing, a.Name, a.Summary = true, name, p.Summary
		a.Labels = map[string]string{"alertname": name, "severity": p.Severity, "source": p.Source}
		for k, v := range map[string]string{"component": p.Component, "group": p.Group, "class": p.Class} {
			if v != "" {
				a.Labels[k] = v
			}
		}
	case "acknowledge", "resolve":
		if ev.DedupKey == "" {
			badRequest(w, "%s needs the dedup_key of the trigger", ev.EventAction)
			return
		}
	case "":
		badRequest(w, "event_action is missing: trigger, acknowledge or resolve")
		return
	default:
		badRequest(w, "unknown event_action %q: trigger, acknowledge or resolve", ev.EventAction)
		return
	}
	if len(ev.Links) > 0 {
		a.URL = ev.Links[0].Href
	} else {
		a.URL = ev.ClientURL
	}
	a.Fingerprint = "events/" + ev.DedupKey
	n := workflows.AlertNotice{Source: "events", Key: ev.DedupKey, Link: ev.ClientURL}
	if ev.EventAction == "trigger" {
		h.decide(&a)
		n.Alerts = []workflows.Alert{a}
	} else {
		// An acknowledge or resolve names the trigger by its key only:
		// the group remembers the rest.
		known, err := h.Service.AlertState(r.Context(), "events", ev.DedupKey)
		// A group never heard of (or ignored) has nothing to update: the
		// event is accepted and changes nothing.
		if err != nil && !errors.Is(err, workflows.ErrUnknownGroup) {
			h.log().ErrorContext(r.Context(), "alert group unreadable", "err", err)
			writeJSON(w, http.StatusInternalServerError, map[string]string{"status": "error", "message": "internal error"})
			return
		}
		for _, k := range known {
			k.URL = a.URL
			if ev.EventAction == "resolve" {
				k.Firing, k.EndsAt = false, now
			} else {
				n.Event = "acknowledge"
			}
			n.Alerts = append(n.Alerts, k)
		}
	}
	h.handle(w, r.Context(), n)
}
