// Package slack connects debrief to Slack: the /incident slash command, the
// Events API (the incident channel's messages, edits, deletes, files, key
// reactions and pins become its timeline), the Declare modal and message
// shortcut, Socket Mode as an alternative to public HTTP endpoints, and the
// outbox's effects (channels, invites, topics, posts, pins, archives) through
// the Web API.
//
// It is a translator: every decision is workflows'. Requests are verified
// with the signing secret before anything in them is read, and an event is
// acknowledged to Slack only after its timeline entry is committed, so
// Slack's retries cover every crash and the dedupe keys make them harmless.
package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
	slackgo "github.com/slack-go/slack"
)

// DefaultKeyEmoji is the reaction that marks a message as a key event.
const DefaultKeyEmoji = "pushpin"

// Config is what the adapter needs from the operator.
type Config struct {
	// BotToken (xoxb-) calls the Web API.
	BotToken string
	// SigningSecret verifies the HTTP requests Slack sends; without it the
	// HTTP routes are not registered.
	SigningSecret string
	// AppToken (xapp-, with connections:write) opens Socket Mode.
	AppToken string
	// APIURL is the Web API base, ending in "/"; slack.com's when empty.
	APIURL string
	// KeyEmoji is the reaction name (no colons) that marks a key event.
	KeyEmoji string
	// NearMissEmoji is the reaction name that records a message as a near
	// miss (DEBRIEF_NEARMISS_EMOJI, "grimacing" for 😬); none when empty.
	NearMissEmoji string
	// HTTPClient calls the Web API; one with a 15 s timeout when nil.
	HTTPClient *http.Client
	Log        *slog.Logger
	// Now is the clock of the user cache; time.Now when nil.
	Now func() time.Time
	// DeferAfter is how long a slash command may run before it is
	// acknowledged with an empty 200 and answered through its
	// response_url; answer.Within (2 s) when zero, inside Slack's 3 s.
	DeferAfter time.Duration
	// LookupBudget bounds the lookups (names, files) an event or a command
	// waits for before it is committed with what the payload carries;
	// 1.5 s when zero, well inside Slack's 3 s.
	LookupBudget time.Duration
	// After is the clock of that budget, of PostFile's wait for the
	// message that shares its file, and of the backfill's waits for
	// Slack's rate limits; time.After when nil.
	After func(time.Duration) <-chan time.Time
	// OnBackfill, when set, is told the outcome of each backfill run
	// (Run and RunSocketMode start them): for tests, which wait on it
	// rather than on time.
	OnBackfill func(BackfillStats, error)
}

// Slack is the adapter: HTTP handlers, Socket Mode, workflows.Chat and
// workflows.ZoneSource. Create it with New.
type Slack struct {
	svc       *workflows.Service
	api       *slackgo.Client
	cfg       Config
	log       *slog.Logger
	users     userCache
	fileInfos fileCache
	hc        *http.Client

	// selfMu guards self only; it is never held over a call to Slack, so
	// the event path (knownSelf) never waits on auth.test.
	selfMu sync.Mutex
	self   identity

	// identified is set once auth.test answered; Ready reads it.
	identified atomic.Bool
	// socketDown is set while the last Socket Mode connection attempt
	// failed: Ready reports it.
	socketDown atomic.Bool

	// bg tracks deferred answers, which outlive the request that brought
	// the command. Wait waits for them.
	bg sync.WaitGroup
}

// identity is who the bot is, from auth.test.
type identity struct {
	userID, botID, name string
}

// New returns the adapter for svc. It makes no call yet: Start does.
func New(svc *workflows.Service, cfg Config) *Slack {
	if cfg.KeyEmoji == "" {
		cfg.KeyEmoji = DefaultKeyEmoji
	}
	cfg.KeyEmoji = strings.Trim(cfg.KeyEmoji, ":")
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	opts := []slackgo.Option{slackgo.OptionHTTPClient(hc)}
	if cfg.APIURL != "" {
		u := cfg.APIURL
		if !strings.HasSuffix(u, "/") {
			u += "/"
		}
		opts = append(opts, slackgo.OptionAPIURL(u))
	}
	if cfg.AppToken != "" {
		opts = append(opts, slackgo.OptionAppLevelToken(cfg.AppToken))
	}
	return &Slack{
		svc:   svc,
		api:   slackgo.New(cfg.BotToken, opts...),
		cfg:   cfg,
		log:   log.With("platform", bot.Slack),
		users: userCache{m: map[string]*userEntry{}},
		hc:    hc,
	}
}

// Wait blocks until the deferred answers in progress are sent. Call it
// after intake has stopped.
func (s *Slack) Wait() { s.bg.Wait() }

func (s *Slack) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}

// Start checks the bot token with auth.test and learns the bot's own user
// and bot IDs, which tell its own messages from people's. A rejected token
// is an error: nothing would work. Any other failure (Slack unreachable) is
// logged and the identity is asked for again when needed, so that debrief
// starts and records what it can while Slack is down.
func (s *Slack) Start(ctx context.Context) error {
	// A hanging Slack must not hold start-up for the HTTP client's whole
	// timeout: past startBudget, debrief starts and Run's learnIdentity
	// keeps asking.
	ctx, cancel := context.WithTimeout(ctx, startBudget)
	defer cancel()
	_, err := s.identity(ctx)
	if err == nil {
		return nil
	}
	if isAuthError(err) {
		return fmt.Errorf("slack: the bot token was refused: %w", err)
	}
	s.log.WarnContext(ctx, "auth.test failed; will retry when needed", "err", err)
	return nil
}

// startBudget bounds how long Start waits for auth.test.
const startBudget = 3 * time.Second

// identity returns the bot's identity, asking auth.test until it answers.
// The lock is not held over the call: two first callers may both ask,
// which costs a request; holding it would make every event wait on a
// hanging Slack.
func (s *Slack) identity(ctx context.Context) (identity, error) {
	if self := s.knownSelf(); self.userID != "" {
		return self, nil
	}
	r, err := s.api.AuthTestContext(ctx)
	if err != nil {
		return identity{}, fmt.Errorf("slack: auth.test: %w", err)
	}
	s.selfMu.Lock()
	s.self = identity{userID: r.UserID, botID: r.BotID, name: r.User}
	s.selfMu.Unlock()
	s.identified.Store(true)
	s.log.InfoContext(ctx, "connected to Slack", "team", r.Team, "bot_user", r.UserID)
	return s.knownSelf(), nil
}

// knownSelf returns the identity if it is known, without asking Slack: the
// event path must not wait on auth.test.
func (s *Slack) knownSelf() identity {
	s.selfMu.Lock()
	defer s.selfMu.Unlock()
	return s.self
}

// Register adds the HTTP routes to mux when a signing secret is set; without
// one no request could be verified, so none is served.
func (s *Slack) Register(mux *http.ServeMux) {
	if s.cfg.SigningSecret == "" {
		return
	}
	mux.HandleFunc("POST /slack/commands", s.serveCommand)
	mux.HandleFunc("POST /slack/events", s.serveEvents)
	mux.HandleFunc("POST /slack/interactivity", s.serveInteractivity)
}

func isAuthError(err error) bool {
	var se slackgo.SlackErrorResponse
	if !errors.As(err, &se) {
		return false
	}
	switch se.Err {
	case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired":
		return true
	}
	return false
}
