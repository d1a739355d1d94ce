package github

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

// DefaultReconcileEvery is how often the countermeasure issues are
// reconciled with GitHub when GITHUB_RECONCILE_EVERY is not set: the
// application's default (workflows.DefaultReconcileEvery).
const DefaultReconcileEvery = workflows.DefaultReconcileEvery

// Component is GitHub in `debrief serve`: the countermeasure issues, the
// webhook and published post-mortems. The reconcile loop is the
// application's (workflows.Service.Loops), run by cmd with the others;
// this component only gives it the tracker and its interval. Create it
// with FromEnv.
type Component struct {
	client *Client
	hook   *Webhook
	svc    *workflows.Service
	log    *slog.Logger
}

// envConfig is the GITHUB_* variables of the README's table.
type envConfig struct {
	Config
	WebhookSecret  string            // GITHUB_WEBHOOK_SECRET
	PostmortemPath string            // GITHUB_POSTMORTEM_PATH, no leading or trailing /
	Logins         map[string]string // read from GITHUB_USERS_FILE: user key -> login
	ReconcileEvery time.Duration     // GITHUB_RECONCILE_EVERY
}

// fromEnv reads the GITHUB_* variables and checks each one that is set,
// also when GitHub is off, so that a mistake shows before the token is
// added. Errors name the variable; the token never appears in them.
func fromEnv(getenv func(string) string) (envConfig, error) {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	c := envConfig{
		Config:         Config{Token: get("GITHUB_TOKEN"), Repo: get("GITHUB_REPO"), APIURL: "https://api.github.com/"},
		WebhookSecret:  get("GITHUB_WEBHOOK_SECRET"),
		PostmortemPath: strings.Trim(get("GITHUB_POSTMORTEM_PATH"), "/"),
		ReconcileEvery: DefaultReconcileEvery,
	}
	if v := get("GITHUB_API_URL"); v != "" {
		c.APIURL = v
	}
	if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return envConfig{}, fmt.Errorf("GITHUB_API_URL=%q: not an http(s) URL", c.APIURL)
	}
	if r := c.Repo; r != "" {
		if owner, name, ok := strings.Cut(r, "/"); !ok || owner == "" || name == "" || strings.Contains(name, "/") {
			return envConfig{}, fmt.Errorf("GITHUB_REPO=%q: want owner/name", r)
		}
	}
	if v := get("GITHUB_RECONCILE_EVERY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute {
			return envConfig{}, fmt.Errorf("GITHUB_RECONCILE_EVERY=%q: want a duration of at least 1m, e.g. 10m", v)
		}
		c.ReconcileEvery = d
	}
	if f := get("GITHUB_USERS_FILE"); f != "" {
		logins, err := readUsersFile(f)
		if err != nil {
			return envConfig{}, fmt.Errorf("GITHUB_USERS_FILE=%s: %w", f, err)
		}
		c.Logins = logins
	}
	if c.Token != "" && c.Repo == "" {
		return envConfig{}, errors.New("GITHUB_TOKEN is set but GITHUB_REPO is not: name the repository for countermeasure issues (owner/name)")
	}
	// Half a configuration is an error that names what is missing, never
	// GitHub silently left off.
	if c.Token == "" {
		for _, v := range []struct{ name, v string }{{"GITHUB_REPO", c.Repo}, {"GITHUB_WEBHOOK_SECRET", c.WebhookSecret}, {"GITHUB_POSTMORTEM_PATH", c.PostmortemPath}} {
			if v.v != "" {
				return envConfig{}, fmt.Errorf("%s is set but GITHUB_TOKEN is not: GitHub needs the token", v.name)
			}
		}
	}
	return c, nil
}

// readUsersFile reads the mapping of chat users to GitHub logins: one
// "platform:userID login" pair per line, e.g. "slack:U024BE7LH octocat";
// blank lines and lines starting with # are skipped.
func readUsersFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	logins := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		login := ""
		if len(fields) == 2 {
			login = strings.TrimPrefix(fields[1], "@")
		}
		platform, id, ok := strings.Cut(fields[0], ":")
		if len(fields) != 2 || !ok || platform == "" || id == "" || !bot.ValidLogin(login) {
			return nil, fmt.Errorf("line %d: want \"platform:userID login\", e.g. \"slack:U024BE7LH octocat\"", n)
		}
		logins[fields[0]] = login
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return logins, nil
}

// FromEnv is the GitHub component of `debrief serve`: it reads and checks
// the GITHUB_* variables, and returns nil when GITHUB_TOKEN is not set.
// Otherwise it joins svc as its tracker (countermeasures filed as issues,
// reconciled every GITHUB_RECONCILE_EVERY by the application's loop), with
// the users' logins, and as its publisher when GITHUB_POSTMORTEM_PATH is
// set. What the application makes of a tracker (that countermeasures must
// be filed before close) is the application's rule, not set here.
func FromEnv(_ context.Context, getenv func(string) string, svc *workflows.Service, log *slog.Logger) (*Component, error) {
	c, err := fromEnv(getenv)
	if err != nil || c.Token == "" {
		return nil, err
	}
	c.Now, c.Log = svc.Now, log
	client, err := New(c.Config)
	if err != nil {
		return nil, fmt.Errorf("GITHUB_REPO=%s: %w", c.Repo, err)
	}
	svc.Tracker = client
	svc.ReconcileEvery = c.ReconcileEvery
	svc.Config.Logins = c.Logins
	if c.PostmortemPath != "" {
		svc.Publisher = client
		svc.PublishPath = c.PostmortemPath
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("platform", "github")
	if c.WebhookSecret == "" {
		log.Warn("GITHUB_WEBHOOK_SECRET is not set: POST /github/webhook refuses every delivery, and closed issues are noticed by the reconcile only",
			"every", c.ReconcileEvery.String())
	}
	log.Info("github enabled", "repo", c.Repo, "postmortems", c.PostmortemPath)
	return &Component{
		client: client,
		hook:   &Webhook{Secret: []byte(c.WebhookSecret), Repo: c.Repo, Service: svc, Me: client.Login, Log: log},
		svc:    svc,
		log:    log,
	}, nil
}

// Register adds POST /github/webhook to mux.
func (c *Component) Register(mux *http.ServeMux) {
	mux.Handle("POST /github/webhook", c.hook)
}

// Run files the countermeasures never filed (recorded before GitHub was
// configured, or dropped while it was misconfigured), then serves the
// webhook until ctx is done. A failure is logged, not returned: the next
// start files them again, and GitHub being down never stops debrief; the
// filings themselves go through the outbox, which retries them.
func (c *Component) Run(ctx context.Context) error {
	if _, err := c.svc.FileUnfiled(ctx); err != nil && ctx.Err() == nil {
		c.log.ErrorContext(ctx, "filing unfiled countermeasures", "err", err)
	}
	<-ctx.Done()
	return nil
}

// Ready is always nil: GitHub being down delays filing, which the outbox
// retries, and the reconcile catches up; it does not stop debrief from
// serving.
func (c *Component) Ready() error { return nil }
