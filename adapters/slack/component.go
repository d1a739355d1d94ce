package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

// envConfig is the operator's Slack configuration: the SLACK_* variables of
// the README's table, read and checked in one place (fromEnv).
type envConfig struct {
	Config
	// AnnounceChannel (SLACK_ANNOUNCE_CHANNEL) is where declares, severity
	// changes and closes are announced; none when empty.
	AnnounceChannel string
	// ArchiveOnClose (SLACK_ARCHIVE_ON_CLOSE) archives an incident's
	// channel when it closes.
	ArchiveOnClose bool
}

// enabled reports whether any Slack credential is set: a platform is on when
// its credentials are, and one set without the others is an error (fromEnv)
// rather than a platform silently left off.
func (c envConfig) enabled() bool {
	return c.BotToken != "" || c.AppToken != "" || c.SigningSecret != ""
}

// fromEnv reads the SLACK_* variables and checks that the set makes sense,
// also when Slack is off (a mistyped URL should not wait for the day the
// token is added): a bot token with a way in (a signing secret for HTTP, an
// app token for Socket Mode). Errors name the variable; token values never
// appear in them.
func fromEnv(getenv func(string) string) (envConfig, error) {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	c := envConfig{
		Config: Config{
			BotToken: get("SLACK_BOT_TOKEN"), SigningSecret: get("SLACK_SIGNING_SECRET"), AppToken: get("SLACK_APP_TOKEN"),
			APIURL: "https://slack.com/api/", KeyEmoji: DefaultKeyEmoji,
		},
		AnnounceChannel: get("SLACK_ANNOUNCE_CHANNEL"),
		ArchiveOnClose:  true,
	}
	if v := get("SLACK_API_URL"); v != "" {
		c.APIURL = v
	}
	if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return envConfig{}, fmt.Errorf("SLACK_API_URL=%q: not an http(s) URL", c.APIURL)
	}
	if v := get("SLACK_KEY_EMOJI"); v != "" {
		c.KeyEmoji = strings.Trim(v, ":")
	}
	for _, r := range c.KeyEmoji {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '+' || r == '\'') {
			return envConfig{}, fmt.Errorf("SLACK_KEY_EMOJI=%q: want an emoji name such as pushpin (lower case, no colons needed)", getenv("SLACK_KEY_EMOJI"))
		}
	}
	c.NearMissEmoji, _ = bot.EmojiForms(bot.DefaultNearMissEmoji)
	if v := get("DEBRIEF_NEARMISS_EMOJI"); v != "" {
		c.NearMissEmoji, _ = bot.EmojiForms(v)
	}
	if v := get("SLACK_ARCHIVE_ON_CLOSE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return envConfig{}, fmt.Errorf("SLACK_ARCHIVE_ON_CLOSE=%q: want true or false", v)
		}
		c.ArchiveOnClose = b
	}
	if strings.HasPrefix(c.AnnounceChannel, "#") {
		return envConfig{}, fmt.Errorf("SLACK_ANNOUNCE_CHANNEL=%q: give the channel's ID (C…, at the bottom of the channel's details), not its name", c.AnnounceChannel)
	}
	switch {
	case !c.enabled():
		return c, nil
	case c.BotToken == "" && c.AppToken != "":
		return envConfig{}, errors.New("SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN is not: Socket Mode needs both")
	case c.BotToken == "":
		return envConfig{}, errors.New("SLACK_SIGNING_SECRET is set but SLACK_BOT_TOKEN is not: Slack over HTTP needs both")
	case !strings.HasPrefix(c.BotToken, "xoxb-"):
		return envConfig{}, errors.New("SLACK_BOT_TOKEN: not a bot token (they start with xoxb-; OAuth & Permissions in the app's settings)")
	case c.AppToken != "" && !strings.HasPrefix(c.AppToken, "xapp-"):
		return envConfig{}, errors.New("SLACK_APP_TOKEN: not an app-level token (they start with xapp-; Basic Information -> App-Level Tokens)")
	case c.SigningSecret == "" && c.AppToken == "":
		return envConfig{}, errors.New("SLACK_BOT_TOKEN is set but neither SLACK_SIGNING_SECRET (HTTP) nor SLACK_APP_TOKEN (Socket Mode) is: Slack could not reach debrief")
	}
	return c, nil
}

// FromEnv is the Slack component of `debrief serve`: it reads and checks
// the SLACK_* variables, and returns nil when no Slack credentials are set.
// Otherwise it checks the bot token with Slack (a refused one stops debrief
// at start) and joins svc as its Slack chat and zone source, with the
// announcement channel and archive-on-close, which only make sense with an
// adapter to deliver them: an effect for a platform without one would wait
// in the outbox forever.
func FromEnv(ctx context.Context, getenv func(string) string, svc *workflows.Service, log *slog.Logger) (*Slack, error) {
	c, err := fromEnv(getenv)
	if err != nil || !c.enabled() {
		return nil, err
	}
	c.Log = log
	s := New(svc, c.Config)
	if err := s.Start(ctx); err != nil {
		return nil, fmt.Errorf("SLACK_BOT_TOKEN: %w", err)
	}
	if svc.Chats == nil {
		svc.Chats = map[bot.Platform]workflows.Chat{}
	}
	svc.Chats[bot.Slack] = s
	if svc.Zones == nil {
		svc.Zones = map[bot.Platform]workflows.ZoneSource{}
	}
	svc.Zones[bot.Slack] = s
	if c.AnnounceChannel != "" {
		if svc.Config.Announce == nil {
			svc.Config.Announce = map[bot.Platform]string{}
		}
		svc.Config.Announce[bot.Slack] = c.AnnounceChannel
	}
	if !c.ArchiveOnClose {
		if svc.Config.KeepChannelOnClose == nil {
			svc.Config.KeepChannelOnClose = map[bot.Platform]bool{}
		}
		svc.Config.KeepChannelOnClose[bot.Slack] = true
	}
	mode := "http"
	if c.AppToken != "" {
		mode = "socket"
	}
	s.log.InfoContext(ctx, "slack enabled", "mode", mode, "http_routes", c.SigningSecret != "",
		"announce", c.AnnounceChannel, "archive_on_close", c.ArchiveOnClose)
	return s, nil
}

// Run serves Slack until ctx is done: Socket Mode when an app token is
// set (the HTTP routes need nothing running). Then it waits for the
// deferred answers still owed. It returns an error when Socket Mode cannot
// connect for good, such as a refused app token.
func (s *Slack) Run(ctx context.Context) error {
	defer s.Wait()
	if !s.identified.Load() {
		// Slack was unreachable at start: learn who the bot is as soon
		// as it answers, rather than at the next effect, so that Ready
		// does not stay false on a quiet day.
		s.bg.Go(func() { s.learnIdentity(ctx) })
	}
	if s.cfg.AppToken == "" {
		// Over HTTP, what Slack could not deliver while debrief was
		// down is read back once, at start; Socket Mode does it on
		// every connection (RunSocketMode).
		kick, wait := s.backfills(ctx)
		kick()
		<-ctx.Done()
		wait()
		return nil
	}
	if err := s.RunSocketMode(ctx); err != nil {
		s.log.ErrorContext(ctx, "slack socket mode stopped", "err", err)
		return fmt.Errorf("slack socket mode: %w", err)
	}
	return nil
}

// Ready reports whether Slack is usable as far as debrief last saw: the
// bot token was accepted, and in Socket Mode the last connection attempt
// did not fail. A Slack that was never reached is not ready.
func (s *Slack) Ready() error {
	if !s.identified.Load() {
		return errors.New("slack: not connected yet (auth.test has not answered)")
	}
	if s.socketDown.Load() {
		return errors.New("slack: socket mode disconnected; reconnecting")
	}
	return nil
}

// identityRetry is how often auth.test is asked again while Slack is
// unreachable: often enough for /healthz to recover within a minute, far
// below auth.test's rate limit (Tier 4).
const identityRetry = 30 * time.Second

// learnIdentity asks auth.test until it answers or ctx is done.
func (s *Slack) learnIdentity(ctx context.Context) {
	for {
		if _, err := s.identity(ctx); err == nil || ctx.Err() != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(identityRetry):
		}
	}
}
