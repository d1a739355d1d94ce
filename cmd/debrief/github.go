package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	githubadapter "github.com/debrief/debrief/adapters/github"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

// defaultReconcileEvery is how often the countermeasure issues are
// reconciled with GitHub when GITHUB_RECONCILE_EVERY is not set: the bound
// on how late a close whose webhook was lost is noticed.
const defaultReconcileEvery = 10 * time.Minute

// load reads the GitHub variables LoadConfig does not read itself and
// checks that the set makes sense. The token never appears in the errors.
func (c *GitHubConfig) load(getenv func(string) string) error {
	c.ReconcileEvery = defaultReconcileEvery
	if v := strings.TrimSpace(getenv("GITHUB_RECONCILE_EVERY")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute {
			return fmt.Errorf("GITHUB_RECONCILE_EVERY=%q: want a duration of at least 1m, e.g. 10m", v)
		}
		c.ReconcileEvery = d
	}
	c.UsersFile = strings.TrimSpace(getenv("GITHUB_USERS_FILE"))
	if c.UsersFile != "" {
		logins, err := readUsersFile(c.UsersFile)
		if err != nil {
			return fmt.Errorf("GITHUB_USERS_FILE=%s: %w", c.UsersFile, err)
		}
		c.Logins = logins
	}
	c.PostmortemPath = strings.Trim(c.PostmortemPath, "/")
	if c.Enabled() && c.Repo == "" {
		return errors.New("GITHUB_TOKEN is set but GITHUB_REPO is not: name the repository for countermeasure issues (owner/name)")
	}
	return nil
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

// gitHub is the GitHub adapter wired into the service: countermeasure
// issues, the webhook, and published post-mortems.
type gitHub struct {
	client *githubadapter.Client
	hook   *githubadapter.Webhook
	every  time.Duration
	log    *slog.Logger
}

// setupGitHub builds the GitHub adapter when GITHUB_TOKEN is set, and nil
// otherwise. With it, countermeasures are filed as issues and an incident
// closes only once they are (the service derives that from its Tracker);
// with GITHUB_POSTMORTEM_PATH, the
// write-up of a closed incident is committed there.
func setupGitHub(cfg Config, svc *workflows.Service, log *slog.Logger) (*gitHub, error) {
	c := cfg.GitHub
	if !c.Enabled() {
		return nil, nil
	}
	client, err := githubadapter.New(githubadapter.Config{
		Token: c.Token, Repo: c.Repo, APIURL: c.APIURL, Now: svc.Now, Log: log,
	})
	if err != nil {
		return nil, fmt.Errorf("GITHUB_REPO=%s: %w", c.Repo, err)
	}
	svc.Tracker = client
	svc.Config.Logins = c.Logins
	if c.PostmortemPath != "" {
		svc.Publisher = client
		svc.PublishPath = c.PostmortemPath
	}
	if c.WebhookSecret == "" {
		log.Warn("GITHUB_WEBHOOK_SECRET is not set: POST /github/webhook refuses every delivery, and closed issues are noticed by the reconcile only",
			"platform", "github", "every", c.ReconcileEvery.String())
	}
	log.Info("github enabled", "platform", "github", "repo", c.Repo, "postmortems", c.PostmortemPath)
	return &gitHub{
		client: client,
		hook:   &githubadapter.Webhook{Secret: []byte(c.WebhookSecret), Repo: c.Repo, Service: svc, Log: log},
		every:  c.ReconcileEvery,
		log:    log,
	}, nil
}

// Register adds POST /github/webhook to mux; nothing when GitHub is off.
func (g *gitHub) Register(mux *http.ServeMux) {
	if g == nil {
		return
	}
	mux.Handle("POST /github/webhook", g.hook)
}

// Run files the countermeasures never filed (recorded before GitHub was
// configured, or dropped while it was misconfigured), then reconciles with
// GitHub every interval until ctx is done; nothing when GitHub is off.
func (g *gitHub) Run(ctx context.Context, svc *workflows.Service) {
	if g == nil {
		return
	}
	if _, err := svc.FileUnfiled(ctx); err != nil && ctx.Err() == nil {
		g.log.Error("filing unfiled countermeasures", "platform", "github", "err", err)
	}
	if err := svc.RunReconcile(ctx, g.every); err != nil {
		g.log.Error("reconcile stopped", "platform", "github", "err", err)
	}
}
