package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	alertsadapter "github.com/debrief/debrief/adapters/alerts"
	discordadapter "github.com/debrief/debrief/adapters/discord"
	gamedayadapter "github.com/debrief/debrief/adapters/gameday"
	githubadapter "github.com/debrief/debrief/adapters/github"
	slackadapter "github.com/debrief/debrief/adapters/slack"
	webadapter "github.com/debrief/debrief/adapters/web"
	"github.com/debrief/debrief/workflows"
)

// component is one outside system `debrief serve` connects: a chat
// platform, the issue tracker, the console. Its adapter builds it from its
// own variables, checked there, and joins it to the Service; serve only
// mounts, runs and stops it.
type component interface {
	// Register adds the component's HTTP routes to mux, if it has any.
	Register(mux *http.ServeMux)
	// Run serves until ctx is done, then finishes the work it accepted
	// (answers owed, events being committed) and returns nil. An error
	// means it cannot go on (a refused token, a connection refused for
	// good), and debrief stops with it.
	Run(ctx context.Context) error
	// Ready returns why the component cannot serve right now, for
	// GET /healthz; nil when it can.
	Ready() error
}

// platforms are the components debrief can connect, in the order they are
// started (and stopped, in reverse). Each reads its variables with getenv
// and is nil when they are unset: a platform is on when its credentials
// are. A new platform is a package under adapters/ and one line here.
var platforms = []builder{
	plug(slackadapter.FromEnv),
	plug(discordadapter.FromEnv),
	plug(githubadapter.FromEnv),
	plug(gamedayadapter.FromEnv),
	plug(alertsadapter.FromEnv),
	plug(webadapter.FromEnv),
}

// builder builds one component from the environment; nil when it is not
// configured.
type builder func(ctx context.Context, getenv func(string) string, svc *workflows.Service, log *slog.Logger) (component, error)

// plug turns an adapter's FromEnv, which returns its own type (nil when
// off), into a builder, so that the list above needs no wrapper per
// platform and a nil adapter does not become a non-nil component.
func plug[C interface {
	component
	comparable
}](fromEnv func(context.Context, func(string) string, *workflows.Service, *slog.Logger) (C, error)) builder {
	return func(ctx context.Context, getenv func(string) string, svc *workflows.Service, log *slog.Logger) (component, error) {
		c, err := fromEnv(ctx, getenv, svc, log)
		var off C
		if err != nil || c == off {
			return nil, err
		}
		return c, nil
	}
}

// ready joins the components' reasons not to be ready; nil when all are.
func ready(comps []component) func() error {
	return func() error {
		var errs []error
		for _, c := range comps {
			if err := c.Ready(); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
}
