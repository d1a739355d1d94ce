package discord

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
	"github.com/gorilla/websocket"
)

// DefaultKeyEmoji is the reaction that marks a message as a key event.
const DefaultKeyEmoji = "📌"

// DefaultAPIURL is Discord's REST base for the API version debrief speaks.
const DefaultAPIURL = "https://discord.com/api/v10/"

// MaxBody bounds an interaction request body. Discord's largest interaction
// payloads (a command with resolved members and channels) are a few
// kilobytes; a megabyte is generous and still cheap to refuse.
const MaxBody = 1 << 20

// Config is what the adapter needs from the operator.
type Config struct {
	// BotToken authenticates REST calls and the gateway ("Bot " is added
	// when missing).
	BotToken string
	// AppID is the application's ID: its commands and interaction
	// webhooks live under it.
	AppID string
	// GuildID is the server debrief serves; events of other guilds are
	// ignored.
	GuildID string
	// PublicKey (hex) verifies POST /discord/interactions; without it the
	// route is not registered.
	PublicKey string
	// APIURL is the REST base, ending in "/"; DefaultAPIURL when empty.
	APIURL string
	// CategoryID is the category incident channels are created under;
	// none when empty.
	CategoryID string
	// KeyEmoji marks a key event when reacted with: a Unicode emoji, or a
	// custom emoji's name (or name:id).
	KeyEmoji string
	// HTTPClient calls the REST API; one with a 15 s timeout when nil.
	// Its Transport is wrapped, not replaced.
	HTTPClient *http.Client
	// Dialer opens the gateway websocket; a default one when nil.
	Dialer *websocket.Dialer
	// DeferAfter is how long a command may run before its answer is
	// deferred (type 5) and sent as a follow-up; 2 s when zero, inside
	// Discord's 3 s.
	DeferAfter time.Duration
	// ReconnectMin and ReconnectMax bound the wait between failed gateway
	// connections; 1 s and 2 min when zero.
	ReconnectMin, ReconnectMax time.Duration
	Log                        *slog.Logger
	// Now is the clock of the signature window; time.Now when nil.
	Now func() time.Time
}

// Discord is the adapter: the gateway client, the interactions route, and
// workflows.Chat. Create it with New.
type Discord struct {
	svc *workflows.Service
	api *discordgo.Session
	cfg Config
	log *slog.Logger
	pub ed25519.PublicKey

	selfMu sync.Mutex
	self   string // the bot's user ID

	channels channelCache

	// registerMu serialises command registration; registered is set once
	// Discord accepted the commands.
	registerMu sync.Mutex
	registered bool

	// bg tracks work that outlives the call that started it: deferred
	// answers and follow-ups. Wait waits for it.
	bg sync.WaitGroup
}

// New returns the adapter for svc. It makes no call yet: Start does. It
// fails on a malformed public key or API URL.
func New(svc *workflows.Service, cfg Config) (*Discord, error) {
	if cfg.KeyEmoji == "" {
		cfg.KeyEmoji = DefaultKeyEmoji
	}
	cfg.KeyEmoji = strings.Trim(cfg.KeyEmoji, ":")
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if !strings.HasSuffix(cfg.APIURL, "/") {
		cfg.APIURL += "/"
	}
	if u, err := url.Parse(cfg.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("discord: API URL %q: not an http(s) URL", cfg.APIURL)
	}
	if cfg.DeferAfter <= 0 {
		cfg.DeferAfter = 2 * time.Second
	}
	if cfg.ReconnectMin <= 0 {
		cfg.ReconnectMin = time.Second
	}
	if cfg.ReconnectMax <= 0 {
		cfg.ReconnectMax = 2 * time.Minute
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Discord{svc: svc, cfg: cfg, log: log.With("platform", bot.Discord)}
	if cfg.PublicKey != "" {
		k, err := hex.DecodeString(cfg.PublicKey)
		if err != nil || len(k) != ed25519.PublicKeySize {
			return nil, errors.New("discord: the public key is not 64 hex digits (General Information -> Public Key)")
		}
		d.pub = ed25519.PublicKey(k)
	}
	token := cfg.BotToken
	if !strings.HasPrefix(token, "Bot ") {
		token = "Bot " + token
	}
	api, err := discordgo.New(token)
	if err != nil {
		return nil, fmt.Errorf("discord: %w", err)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	client := *hc
	base := client.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	client.Transport = &transport{base: base, from: discordgo.EndpointAPI, to: cfg.APIURL}
	api.Client = &client
	// The outbox decides when to try again: discordgo must neither sleep
	// on a 429 nor repeat a 502 at once (see transport).
	api.ShouldRetryOnRateLimit = false
	api.MaxRestRetries = 0
	api.StateEnabled = false
	d.api = api
	d.channels.init()
	return d, nil
}

func (d *Discord) now() time.Time {
	if d.cfg.Now != nil {
		return d.cfg.Now()
	}
	return time.Now()
}

// Start checks the bot token (GET /users/@me, which also tells the bot's
// own user ID, to tell its own messages from people's) and registers the
// /incident command for the guild. A refused token, or a guild that did not
// grant the applications.commands scope, is an error: nothing would work.
// Anything else (Discord unreachable) is logged; the identity comes with
// the gateway's READY and registration is tried again then.
func (d *Discord) Start(ctx context.Context) error {
	u, err := d.api.User("@me", discordgo.WithContext(ctx))
	switch {
	case err == nil:
		d.setSelf(u.ID)
		d.log.InfoContext(ctx, "connected to Discord", "bot_user", u.ID, "guild", d.cfg.GuildID)
	case isStatus(err, http.StatusUnauthorized):
		return fmt.Errorf("discord: the bot token was refused: %w", classify("users/@me", err))
	default:
		d.log.WarnContext(ctx, "Discord unreachable at start; will retry", "err", classify("users/@me", err))
		return nil
	}
	if err := d.registerCommands(ctx); err != nil {
		var perm *workflows.PermanentError
		if errors.As(err, &perm) {
			return err
		}
		d.log.WarnContext(ctx, "command registration failed; will retry when the gateway connects", "err", err)
	}
	return nil
}

// registerCommands replaces the guild's commands with debrief's, once per
// process. A bulk overwrite is idempotent: restarting with the same
// definition changes nothing in Discord.
func (d *Discord) registerCommands(ctx context.Context) error {
	d.registerMu.Lock()
	defer d.registerMu.Unlock()
	if d.registered {
		return nil
	}
	_, err := d.api.ApplicationCommandBulkOverwrite(d.cfg.AppID, d.cfg.GuildID, Commands(), discordgo.WithContext(ctx))
	if err != nil {
		err = classify("register commands", err)
		var perm *workflows.PermanentError
		if errors.As(err, &perm) {
			return &workflows.PermanentError{Err: fmt.Errorf("%w (is the app installed in guild %s with the applications.commands scope, and is DISCORD_APP_ID its application ID?)", err, d.cfg.GuildID)}
		}
		return err
	}
	d.registered = true
	d.log.InfoContext(ctx, "registered /incident", "guild", d.cfg.GuildID)
	return nil
}

func (d *Discord) setSelf(id string) {
	d.selfMu.Lock()
	defer d.selfMu.Unlock()
	d.self = id
}

// knownSelf returns the bot's user ID if known; the event path never waits
// for it.
func (d *Discord) knownSelf() string {
	d.selfMu.Lock()
	defer d.selfMu.Unlock()
	return d.self
}

// Register adds POST /discord/interactions to mux when a public key is set;
// without one no request could be verified, so none is served.
func (d *Discord) Register(mux *http.ServeMux) {
	if d.pub == nil {
		return
	}
	mux.HandleFunc("POST /discord/interactions", d.serveInteraction)
}

// Wait blocks until the work started by interactions (deferred answers,
// follow-ups) is done. Call it after intake has stopped.
func (d *Discord) Wait() { d.bg.Wait() }
