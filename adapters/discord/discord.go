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
	"sync/atomic"
	"time"
	"unicode"

	"github.com/bwmarrin/discordgo"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/internal/answer"
	"github.com/debrief/debrief/workflows"
	"github.com/gorilla/websocket"
)

// DefaultKeyEmoji is the reaction that marks a message as a key event.
const DefaultKeyEmoji = "📌"

// DefaultAPIURL is Discord's REST base for the API version debrief speaks.
const DefaultAPIURL = "https://discord.com/api/v10/"

// MaxBody bounds an interaction request body. Discord's largest interaction
// payloads (a command with resolved members and channels) are a few
// kilobytes: a quarter of a mebibyte is generous, and every unverified
// byte is memory anyone can make the process hold (internal/httpbody).
const MaxBody = 256 << 10

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
	// NearMissEmoji records the message reacted to as a near miss, in any
	// channel (DEBRIEF_NEARMISS_EMOJI); bot.DefaultNearMissEmoji when
	// empty.
	NearMissEmoji string
	// HTTPClient calls the REST API; one with a 15 s timeout when nil.
	// Its Transport is wrapped, not replaced.
	HTTPClient *http.Client
	// Dialer opens the gateway websocket; a default one when nil.
	Dialer *websocket.Dialer
	// DeferAfter is how long a command may run before its answer is
	// deferred (type 5) and sent as a follow-up; answer.Within (2 s) when
	// zero, inside Discord's 3 s.
	DeferAfter time.Duration
	// After is the clock of that budget; time.After when nil. Tests pass
	// one they fire themselves.
	After func(time.Duration) <-chan time.Time
	// ReconnectMin and ReconnectMax bound the wait between failed gateway
	// connections; 1 s and 2 min when zero.
	ReconnectMin, ReconnectMax time.Duration
	Log                        *slog.Logger
	// Sleep waits d, or until ctx is done: the catch-up's waits on
	// Discord's rate limits and between failed reads. A timer when nil;
	// tests pass one that returns at once (and notes d).
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock of the signature window; time.Now when nil.
	Now func() time.Time
	// MaxAttachment is the largest file the guild takes, in bytes; when
	// zero, the limit of the guild's boost level (attachLimit). A longer
	// file is attached cut to it (PostFile).
	MaxAttachment int64
}

// DefaultMaxAttachment is Discord's attachment limit in a server without
// boosts, 10 MiB (https://discord.com/developers/docs/reference#uploading-files).
const DefaultMaxAttachment = 10 << 20

// Discord is the adapter: the gateway client, the interactions route, and
// workflows.Chat. Create it with New.
type Discord struct {
	svc *workflows.Service
	api *discordgo.Session
	// rest reads history for the catch-up: the same transport as api's,
	// but the rate-limit headers come through untouched.
	rest *http.Client
	cfg  Config
	log  *slog.Logger
	pub  ed25519.PublicKey

	selfMu sync.Mutex
	self   string // the bot's user ID

	channels channelCache

	// forms are the commands waiting for their modal's answer (form.go).
	forms forms

	// registerMu serialises command registration; registered is set once
	// Discord accepted the commands.
	registerMu sync.Mutex
	registered bool
	// commandsReady mirrors registered for Ready, which must not wait on
	// registerMu while a registration is in flight.
	commandsReady atomic.Bool

	catchups catchups

	// limit is the guild's attachment limit and when it was read
	// (attachLimit).
	limitMu sync.Mutex
	limit   int64
	limitAt time.Time

	// bg tracks work that outlives the call that started it: deferred
	// answers and follow-ups. Wait waits for it.
	bg sync.WaitGroup
}

// New returns the adapter for svc. It makes no call yet: Start does. It
// checks cfg once, here, with errors that name the DISCORD_* variable each
// field comes from: the IDs must be IDs (a name is the usual mistake), the
// public key a key, the API URL a URL, the key emoji one emoji. The token
// never appears in the errors.
func New(svc *workflows.Service, cfg Config) (*Discord, error) {
	switch {
	case cfg.AppID == "":
		return nil, errors.New("DISCORD_APP_ID is not set: give the application ID (General Information -> Application ID)")
	case cfg.GuildID == "":
		return nil, errors.New("DISCORD_GUILD_ID is not set: give the ID of the server debrief serves")
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.DeferAfter <= 0 {
		cfg.DeferAfter = answer.Within
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
		k, _ := hex.DecodeString(cfg.PublicKey) // checked above
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
	raw := *hc
	raw.Transport = &transport{base: base, from: discordgo.EndpointAPI, to: cfg.APIURL, keepBucket: true}
	d.rest = &raw
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
	d.commandsReady.Store(true)
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

// check fills cfg's defaults and checks each field that is set, naming the
// variable it comes from. New calls it; so does FromEnv when Discord is off,
// so that a mistake shows before the token is added.
func (cfg *Config) check() error {
	if cfg.KeyEmoji == "" {
		cfg.KeyEmoji = DefaultKeyEmoji
	}
	cfg.KeyEmoji = strings.Trim(cfg.KeyEmoji, ":")
	if cfg.NearMissEmoji == "" {
		cfg.NearMissEmoji = bot.DefaultNearMissEmoji
	}
	_, cfg.NearMissEmoji = bot.EmojiForms(cfg.NearMissEmoji)
	if len(cfg.KeyEmoji) > 64 || strings.ContainsFunc(cfg.KeyEmoji, unicode.IsSpace) {
		return fmt.Errorf("DISCORD_KEY_EMOJI=%q: want one emoji, such as 📌, or a custom emoji's name", cfg.KeyEmoji)
	}
	for _, id := range []struct{ name, v string }{
		{"DISCORD_APP_ID", cfg.AppID}, {"DISCORD_GUILD_ID", cfg.GuildID}, {"DISCORD_CATEGORY_ID", cfg.CategoryID},
	} {
		if id.v != "" && !isSnowflake(id.v) {
			return fmt.Errorf("%s=%q: give the ID, a number (Developer Mode on, then right-click -> Copy ID), not a name", id.name, id.v)
		}
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if !strings.HasSuffix(cfg.APIURL, "/") {
		cfg.APIURL += "/"
	}
	if u, err := url.Parse(cfg.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("DISCORD_API_URL=%q: not an http(s) URL", cfg.APIURL)
	}
	if cfg.PublicKey != "" {
		if k, err := hex.DecodeString(cfg.PublicKey); err != nil || len(k) != ed25519.PublicKeySize {
			return errors.New("DISCORD_PUBLIC_KEY: not 64 hex digits (General Information -> Public Key in the developer portal)")
		}
	}
	return nil
}
