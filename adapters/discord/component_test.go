package discord

import (
	"context"
	"strings"
	"testing"

	"github.com/debrief/debrief/adapters/discord/discordtest"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store/bolt/bolttest"
	"github.com/debrief/debrief/workflows"
)

// TestFromEnv: the DISCORD_* variables are checked once, by New (or by
// FromEnv for what only the whole set tells), with errors that name the
// variable; with Discord off too, so that a mistake shows before the token
// is added.
func TestFromEnv(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	svc := &workflows.Service{}
	d, err := FromEnv(context.Background(), env(nil), svc, nil)
	if d != nil || err != nil {
		t.Errorf("FromEnv with nothing set = %v, %v; want nil, nil", d, err)
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"DISCORD_APP_ID": "1"}, "DISCORD_APP_ID is set but DISCORD_BOT_TOKEN is not"},
		{map[string]string{"DISCORD_CATEGORY_ID": "Incidents"}, "DISCORD_CATEGORY_ID"},
		{map[string]string{"DISCORD_ANNOUNCE_CHANNEL": "#incidents"}, "DISCORD_ANNOUNCE_CHANNEL"},
		{map[string]string{"DISCORD_API_URL": "discord.com"}, "DISCORD_API_URL"},
		{map[string]string{"DISCORD_KEY_EMOJI": "push pin"}, "DISCORD_KEY_EMOJI"},
		{map[string]string{"DISCORD_LOCK_ON_CLOSE": "sometimes"}, "DISCORD_LOCK_ON_CLOSE"},
		{map[string]string{"DISCORD_BOT_TOKEN": "secret-1", "DISCORD_GUILD_ID": "2"}, "DISCORD_APP_ID"},
		{map[string]string{"DISCORD_BOT_TOKEN": "secret-1", "DISCORD_APP_ID": "1"}, "DISCORD_GUILD_ID"},
		{map[string]string{"DISCORD_BOT_TOKEN": "secret-1", "DISCORD_APP_ID": "1", "DISCORD_GUILD_ID": "my server"}, "DISCORD_GUILD_ID"},
		{map[string]string{"DISCORD_BOT_TOKEN": "secret-1", "DISCORD_APP_ID": "1", "DISCORD_GUILD_ID": "2", "DISCORD_PUBLIC_KEY": "abc"}, "DISCORD_PUBLIC_KEY"},
	} {
		_, err := FromEnv(context.Background(), env(tc.env), svc, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("FromEnv(%v) = %v, want an error naming %q", tc.env, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret-") {
			t.Errorf("the error shows a token: %v", err)
		}
	}
	d, err = New(svc, Config{BotToken: "x", AppID: "1", GuildID: "2", KeyEmoji: ":incident:"})
	if err != nil || d.cfg.KeyEmoji != "incident" {
		t.Errorf("New with KeyEmoji :incident: = %v; want the colons trimmed", err)
	}
}

// TestLockOnCloseSwitch: DISCORD_LOCK_ON_CLOSE=false keeps Discord's
// incident channels open at close; Slack's switch does not reach Discord,
// and without it the channels are locked.
func TestLockOnCloseSwitch(t *testing.T) {
	fake := discordtest.New()
	defer fake.Close()
	for _, tc := range []struct {
		v    string
		keep bool
	}{{"", false}, {"true", false}, {"false", true}} {
		svc := &workflows.Service{Store: bolttest.Open(t), Config: workflows.DefaultConfig()}
		env := map[string]string{"DISCORD_BOT_TOKEN": fake.BotToken, "DISCORD_APP_ID": fake.AppID, "DISCORD_GUILD_ID": fake.GuildID,
			"DISCORD_API_URL": fake.APIURL(), "DISCORD_LOCK_ON_CLOSE": tc.v, "SLACK_ARCHIVE_ON_CLOSE": "false"}
		d, err := FromEnv(context.Background(), func(k string) string { return env[k] }, svc, nil)
		if err != nil || d == nil {
			t.Fatalf("FromEnv: %v", err)
		}
		if got := svc.Config.KeepChannelOnClose[bot.Discord]; got != tc.keep {
			t.Errorf("DISCORD_LOCK_ON_CLOSE=%q: keep the channel = %v, want %v", tc.v, got, tc.keep)
		}
	}
}
