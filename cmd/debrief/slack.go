package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	slackadapter "github.com/debrief/debrief/adapters/slack"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

// load reads the Slack variables LoadConfig does not read itself and
// checks that the set makes sense: a bot token with a way in (a signing
// secret for HTTP, an app token for Socket Mode). Token values never appear
// in the errors.
func (c *SlackConfig) load(getenv func(string) string) error {
	if v := strings.TrimSpace(getenv("SLACK_KEY_EMOJI")); v != "" {
		c.KeyEmoji = strings.Trim(v, ":")
	}
	for _, r := range c.KeyEmoji {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '+' || r == '\'') {
			return fmt.Errorf("SLACK_KEY_EMOJI=%q: want an emoji name such as pushpin (lower case, no colons needed)", getenv("SLACK_KEY_EMOJI"))
		}
	}
	if v := strings.TrimSpace(getenv("SLACK_ARCHIVE_ON_CLOSE")); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("SLACK_ARCHIVE_ON_CLOSE=%q: want true or false", v)
		}
		c.ArchiveOnClose = b
	}
	if strings.HasPrefix(c.AnnounceChannel, "#") {
		return fmt.Errorf("SLACK_ANNOUNCE_CHANNEL=%q: give the channel's ID (C…, at the bottom of the channel's details), not its name", c.AnnounceChannel)
	}
	switch {
	case !c.Enabled():
		return nil
	case c.BotToken == "":
		return errors.New("SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN is not: Socket Mode needs both")
	case !strings.HasPrefix(c.BotToken, "xoxb-"):
		return errors.New("SLACK_BOT_TOKEN: not a bot token (they start with xoxb-; OAuth & Permissions in the app's settings)")
	case c.AppToken != "" && !strings.HasPrefix(c.AppToken, "xapp-"):
		return errors.New("SLACK_APP_TOKEN: not an app-level token (they start with xapp-; Basic Information -> App-Level Tokens)")
	case c.SigningSecret == "" && c.AppToken == "":
		return errors.New("SLACK_BOT_TOKEN is set but neither SLACK_SIGNING_SECRET (HTTP) nor SLACK_APP_TOKEN (Socket Mode) is: Slack could not reach debrief")
	}
	return nil
}

// setupSlack builds the Slack adapter when Slack is configured, and nil
// otherwise. Its Chat and zones join svc, and so do the announcement
// channel and archive-on-close, which only make sense with an adapter to
// deliver them: an effect for a platform without one waits forever. A bot
// token Slack refuses stops debrief here, at start.
func setupSlack(ctx context.Context, cfg Config, svc *workflows.Service, log *slog.Logger) (*slackadapter.Slack, error) {
	c := cfg.Slack
	if !c.Enabled() {
		return nil, nil
	}
	sl := slackadapter.New(svc, slackadapter.Config{
		BotToken: c.BotToken, SigningSecret: c.SigningSecret, AppToken: c.AppToken,
		APIURL: c.APIURL, KeyEmoji: c.KeyEmoji, Log: log,
	})
	if err := sl.Start(ctx); err != nil {
		return nil, fmt.Errorf("SLACK_BOT_TOKEN: %w", err)
	}
	svc.Chats[bot.Slack] = sl
	if svc.Zones == nil {
		svc.Zones = map[bot.Platform]workflows.ZoneSource{}
	}
	svc.Zones[bot.Slack] = sl
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
	log.Info("slack enabled", "platform", bot.Slack, "mode", mode, "http_routes", c.SigningSecret != "",
		"announce", c.AnnounceChannel, "archive_on_close", c.ArchiveOnClose)
	return sl, nil
}

// runSlackSocket runs Socket Mode when an app token is set. stop ends it
// (intake stops, envelopes in progress are committed and acknowledged) and
// returns once it has; errc reports a connection that cannot be opened for
// good, such as a refused app token.
func runSlackSocket(ctx context.Context, sl *slackadapter.Slack, cfg Config, log *slog.Logger) (stop func(), errc <-chan error) {
	if sl == nil || cfg.Slack.AppToken == "" {
		return func() {}, nil
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		defer close(done)
		if err := sl.RunSocketMode(sctx); err != nil {
			log.Error("slack socket mode stopped", "platform", bot.Slack, "err", err)
			errs <- err
		}
	}()
	return func() { cancel(); <-done }, errs
}
