package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"unicode"

	discordadapter "github.com/debrief/debrief/adapters/discord"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

// load reads the Discord variables LoadConfig does not read itself and
// checks that the set makes sense: a bot token with the application and
// the guild it serves, IDs that are IDs, a public key that is one. The
// token never appears in the errors.
func (c *DiscordConfig) load(getenv func(string) string) error {
	if v := strings.TrimSpace(getenv("DISCORD_KEY_EMOJI")); v != "" {
		c.KeyEmoji = strings.Trim(v, ":")
		if len(c.KeyEmoji) > 64 || strings.ContainsFunc(c.KeyEmoji, unicode.IsSpace) {
			return fmt.Errorf("DISCORD_KEY_EMOJI=%q: want one emoji, such as 📌, or a custom emoji's name", v)
		}
	}
	for _, id := range []struct{ name, v string }{
		{"DISCORD_APP_ID", c.AppID}, {"DISCORD_GUILD_ID", c.GuildID},
		{"DISCORD_CATEGORY_ID", c.CategoryID}, {"DISCORD_ANNOUNCE_CHANNEL", c.AnnounceChannel},
	} {
		if id.v != "" && !isSnowflake(id.v) {
			return fmt.Errorf("%s=%q: give the ID, a number (Developer Mode on, then right-click -> Copy ID), not a name", id.name, id.v)
		}
	}
	if c.PublicKey != "" {
		if k, err := hex.DecodeString(c.PublicKey); err != nil || len(k) != 32 {
			return errors.New("DISCORD_PUBLIC_KEY: not 64 hex digits (General Information -> Public Key in the developer portal)")
		}
	}
	if !c.Enabled() {
		for _, v := range []struct{ name, v string }{{"DISCORD_APP_ID", c.AppID}, {"DISCORD_GUILD_ID", c.GuildID}, {"DISCORD_PUBLIC_KEY", c.PublicKey}} {
			if v.v != "" {
				return fmt.Errorf("%s is set but DISCORD_BOT_TOKEN is not: Discord needs the bot token", v.name)
			}
		}
		return nil
	}
	switch {
	case c.AppID == "":
		return errors.New("DISCORD_BOT_TOKEN is set but DISCORD_APP_ID is not: give the application ID (General Information -> Application ID)")
	case c.GuildID == "":
		return errors.New("DISCORD_BOT_TOKEN is set but DISCORD_GUILD_ID is not: give the ID of the server debrief serves")
	}
	return nil
}

func isSnowflake(s string) bool {
	if len(s) > 20 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// setupDiscord builds the Discord adapter when Discord is configured, and
// nil otherwise. Its Chat joins svc, and so does the announcement channel,
// which only makes sense with an adapter to deliver to it. A bot token
// Discord refuses, or a guild without the app's commands scope, stops
// debrief here, at start.
func setupDiscord(ctx context.Context, cfg Config, svc *workflows.Service, log *slog.Logger) (*discordadapter.Discord, error) {
	c := cfg.Discord
	if !c.Enabled() {
		return nil, nil
	}
	dc, err := discordadapter.New(svc, discordadapter.Config{
		BotToken: c.BotToken, AppID: c.AppID, GuildID: c.GuildID, PublicKey: c.PublicKey,
		APIURL: c.APIURL, CategoryID: c.CategoryID, KeyEmoji: c.KeyEmoji, Log: log,
	})
	if err != nil {
		return nil, err
	}
	if err := dc.Start(ctx); err != nil {
		return nil, fmt.Errorf("DISCORD_BOT_TOKEN: %w", err)
	}
	svc.Chats[bot.Discord] = dc
	if c.AnnounceChannel != "" {
		if svc.Config.Announce == nil {
			svc.Config.Announce = map[bot.Platform]string{}
		}
		svc.Config.Announce[bot.Discord] = c.AnnounceChannel
	}
	log.Info("discord enabled", "platform", bot.Discord, "guild", c.GuildID, "http_route", c.PublicKey != "",
		"category", c.CategoryID, "announce", c.AnnounceChannel)
	return dc, nil
}

// runDiscord runs the gateway connection. stop ends it (no new events;
// the one being committed is finished), then waits for the answers of
// commands still in progress; errc reports a gateway that refuses debrief
// for good, such as a revoked token or the Message Content intent not
// enabled.
func runDiscord(ctx context.Context, dc *discordadapter.Discord, log *slog.Logger) (stop func(), errc <-chan error) {
	if dc == nil {
		return func() {}, nil
	}
	gctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		defer close(done)
		if err := dc.RunGateway(gctx); err != nil {
			log.Error("discord gateway stopped", "platform", bot.Discord, "err", err)
			errs <- err
		}
	}()
	return func() {
		cancel()
		<-done
		dc.Wait()
	}, errs
}
