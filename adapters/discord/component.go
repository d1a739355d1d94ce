package discord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

// FromEnv is the Discord component of `debrief serve`: it reads the
// DISCORD_* variables and returns nil when DISCORD_BOT_TOKEN is not set.
// New checks the configuration; FromEnv adds what only the set of
// variables can tell (an application or guild without a token is a
// half-done setup, and the announcement channel is an ID too). It then
// checks the token with Discord and registers /incident (a refusal stops
// debrief at start), and joins svc as its Discord chat, with the
// announcement channel, which only makes sense with an adapter to deliver
// to it.
func FromEnv(ctx context.Context, getenv func(string) string, svc *workflows.Service, log *slog.Logger) (*Discord, error) {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	cfg := Config{
		BotToken: get("DISCORD_BOT_TOKEN"), AppID: get("DISCORD_APP_ID"), GuildID: get("DISCORD_GUILD_ID"),
		PublicKey: get("DISCORD_PUBLIC_KEY"), APIURL: get("DISCORD_API_URL"), CategoryID: get("DISCORD_CATEGORY_ID"),
		KeyEmoji: get("DISCORD_KEY_EMOJI"), NearMissEmoji: get("DEBRIEF_NEARMISS_EMOJI"), Log: log,
	}
	announce := get("DISCORD_ANNOUNCE_CHANNEL")
	// Discord has no archived channels: a closed incident's channel is
	// locked instead (README, "In Discord"), unless this says not to.
	lock := true
	if v := get("DISCORD_LOCK_ON_CLOSE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("DISCORD_LOCK_ON_CLOSE=%q: want true or false", v)
		}
		lock = b
	}
	if announce != "" && !isSnowflake(announce) {
		return nil, fmt.Errorf("DISCORD_ANNOUNCE_CHANNEL=%q: give the ID, a number (Developer Mode on, then right-click -> Copy ID), not a name", announce)
	}
	if cfg.BotToken == "" {
		for _, v := range []struct{ name, v string }{{"DISCORD_APP_ID", cfg.AppID}, {"DISCORD_GUILD_ID", cfg.GuildID}, {"DISCORD_PUBLIC_KEY", cfg.PublicKey}} {
			if v.v != "" {
				return nil, fmt.Errorf("%s is set but DISCORD_BOT_TOKEN is not: Discord needs the bot token", v.name)
			}
		}
		return nil, cfg.check()
	}
	d, err := New(svc, cfg)
	if err != nil {
		return nil, err
	}
	if err := d.Start(ctx); err != nil {
		return nil, fmt.Errorf("DISCORD_BOT_TOKEN: %w", err)
	}
	if svc.Chats == nil {
		svc.Chats = map[bot.Platform]workflows.Chat{}
	}
	svc.Chats[bot.Discord] = d
	if announce != "" {
		if svc.Config.Announce == nil {
			svc.Config.Announce = map[bot.Platform]string{}
		}
		svc.Config.Announce[bot.Discord] = announce
	}
	if !lock {
		if svc.Config.KeepChannelOnClose == nil {
			svc.Config.KeepChannelOnClose = map[bot.Platform]bool{}
		}
		svc.Config.KeepChannelOnClose[bot.Discord] = true
	}
	d.log.InfoContext(ctx, "discord enabled", "guild", cfg.GuildID, "http_route", cfg.PublicKey != "",
		"category", cfg.CategoryID, "announce", announce, "lock_on_close", lock)
	return d, nil
}

// Run runs the gateway connection until ctx is done (no new events; the
// one being committed is finished), then waits for the answers of commands
// still in progress. It returns an error when the gateway refuses debrief
// for good, such as a revoked token or the Message Content intent not
// enabled.
func (d *Discord) Run(ctx context.Context) error {
	defer d.Wait()
	if err := d.RunGateway(ctx); err != nil {
		d.log.ErrorContext(ctx, "discord gateway stopped", "err", err)
		return fmt.Errorf("discord gateway: %w", err)
	}
	return nil
}

// Ready reports whether Discord is usable as far as debrief knows: the
// token was accepted and /incident is registered in the guild (both are
// tried again when the gateway connects, if Discord was down at start).
func (d *Discord) Ready() error {
	if d.knownSelf() == "" {
		return errors.New("discord: not connected yet (the bot's identity is unknown)")
	}
	if !d.commandsReady.Load() {
		return errors.New("discord: /incident is not registered yet")
	}
	return nil
}
