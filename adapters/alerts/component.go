package alerts

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/debrief/debrief/workflows"
)

// Component is the alert intake as one of debrief serve's components: two
// routes, nothing to run.
type Component struct {
	h *Handler
}

// FromEnv builds the intake from DEBRIEF_ALERT_TOKEN (it is on when set),
// DEBRIEF_ALERT_RULES, DEBRIEF_ALERT_SEVERITIES and
// DEBRIEF_ALERT_TAG_LABELS. A rule that does not parse is an error naming
// the variable: debrief does not start with rules it cannot follow.
func FromEnv(_ context.Context, getenv func(string) string, svc *workflows.Service, log *slog.Logger) (*Component, error) {
	token := getenv("DEBRIEF_ALERT_TOKEN")
	rulesText := getenv("DEBRIEF_ALERT_RULES")
	if token == "" {
		if rulesText != "" {
			return nil, fmt.Errorf("DEBRIEF_ALERT_RULES is set without DEBRIEF_ALERT_TOKEN: the alert routes need a token")
		}
		return nil, nil
	}
	rules := DefaultRules
	if rulesText != "" {
		var err error
		if rules, err = ParseRules(rulesText); err != nil {
			return nil, fmt.Errorf("DEBRIEF_ALERT_RULES: %w", err)
		}
	}
	sevs := DefaultSeverities
	if v := getenv("DEBRIEF_ALERT_SEVERITIES"); v != "" {
		var err error
		if sevs, err = ParseSeverities(v); err != nil {
			return nil, fmt.Errorf("DEBRIEF_ALERT_SEVERITIES: %w", err)
		}
	}
	var tags []string
	for _, l := range strings.Split(getenv("DEBRIEF_ALERT_TAG_LABELS"), ",") {
		if l = strings.TrimSpace(l); l != "" {
			tags = append(tags, l)
		}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("platform", "alerts")
	log.Info("alerts enabled", "rules", len(rules), "tag_labels", strings.Join(tags, ","))
	return &Component{h: &Handler{Service: svc, Token: token, Rules: rules, Severities: sevs, TagLabels: tags, Log: log, Now: svc.Now}}, nil
}

// Register adds the alert routes to mux.
func (c *Component) Register(mux *http.ServeMux) { c.h.Register(mux) }

// Run waits for ctx: the routes are served by debrief's HTTP server.
func (c *Component) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// Ready is always nil: the intake needs nothing outside.
func (c *Component) Ready() error { return nil }
