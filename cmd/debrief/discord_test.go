package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/discord/discordtest"
)

// discordEnv is the environment of a debrief pointed at fake.
func discordEnv(t *testing.T, fake *discordtest.Server, kv ...string) map[string]string {
	env := map[string]string{
		"DEBRIEF_DB":         filepath.Join(t.TempDir(), "debrief.db"),
		"DEBRIEF_ADDR":       "127.0.0.1:0",
		"DISCORD_BOT_TOKEN":  fake.BotToken,
		"DISCORD_APP_ID":     fake.AppID,
		"DISCORD_GUILD_ID":   fake.GuildID,
		"DISCORD_PUBLIC_KEY": fake.PublicKeyHex(),
		"DISCORD_API_URL":    fake.APIURL(),
	}
	for i := 0; i < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	return env
}

// TestDiscordEnd2End runs debrief in-process with the DISCORD_* variables
// pointed at the fake Discord, and checks what a team sees: /incident
// declare answered over the gateway and on the HTTP endpoint, the channel
// under the category with its topic, summary and pin, the announcements;
// messages, a thread, an edit, a delete, a file, the key reaction and a
// pin in the timeline served by the JSON API, in order, as soon as
// Discord considers them handled; a severity change, the resolve and a
// refused close.
func TestDiscordEnd2End(t *testing.T) {
	fake := discordtest.New()
	defer fake.Close()
	fake.SetHeartbeatInterval(20 * time.Millisecond)
	alice := fake.AddUser(discordtest.User{Username: "alice"})
	bob := fake.AddUser(discordtest.User{Username: "bob"})
	category := fake.AddCategory("Incidents")
	announce := fake.AddChannel("incidents", "")
	env := discordEnv(t, fake, "DISCORD_CATEGORY_ID", category, "DISCORD_ANNOUNCE_CHANNEL", announce)

	ctx, cancel := context.WithTimeout(context.Background(), 2*waitFor)
	defer cancel()
	stderr := newLineLog()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"debrief"}, getenv(env), strings.NewReader(""), newLineLog(), stderr)
	}()
	addr := stderr.match(t, listenRe)
	stderr.expect(t, "discord enabled")
	if err := fake.WaitSessions(ctx, 1); err != nil {
		t.Fatal(err)
	}
	reply := func(ia *discordtest.Interaction, err error) (string, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		kind, text, err := ia.Reply(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return kind, text
	}
	str := discordtest.Str

	// Declared over the gateway.
	before := time.Now()
	kind, text := reply(fake.Invoke(ctx, alice, fake.General(), discordtest.Invocation{Sub: "declare",
		Options: []discordtest.Option{str("title", "Checkout is down"), discordtest.Int("severity", 2)}}))
	after := time.Now()
	if kind != "in_channel" || !strings.HasPrefix(text, "Declared INC-1: Checkout is down (SEV2).") {
		t.Fatalf("declare = %s %q", kind, text)
	}
	// The outbox worker runs on the wall clock here: wait for what it
	// does to show up in Discord.
	var ch discordtest.Channel
	poll(t, "the incident channel, its topic, summary pin and announcement", func() bool {
		c, ok := fake.ChannelByName("inc-1-checkout-is-down")
		ch = c
		return ok && c.Topic != "" && len(fake.Pins(c.ID)) == 1 && len(fake.BotMessages(announce)) == 1
	})
	if ch.ParentID != category || ch.Topic != "INC-1 | SEV2 | investigating | IC @alice" {
		t.Errorf("channel under %q with topic %q", ch.ParentID, ch.Topic)
	}
	// The pinned summary says when the incident was declared as Discord's
	// timestamp markup, which each reader sees in their own zone.
	var pinned string
	for _, m := range fake.Messages(ch.ID) {
		if m.ID == fake.Pins(ch.ID)[0] {
			pinned = m.Content
		}
	}
	ts := discordtest.Timestamps(pinned)
	if len(ts) != 1 || !strings.Contains(pinned, "Declared <t:") {
		t.Fatalf("pinned summary %q has timestamps %+v, want the declare time as one", pinned, ts)
	}
	if ts[0].Unix < before.Unix() || ts[0].Unix > after.Unix() || ts[0].Style != "f" {
		t.Errorf("declare time = %+v, want between %d and %d in style f", ts[0], before.Unix(), after.Unix())
	}

	// The channel talks. Each action returns once debrief acknowledged it
	// (its heartbeat carries the event's number), and acknowledged means
	// committed: the API has it right away, in order.
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	first, err := fake.Say(ctx, alice, ch.ID, "payments API returns 502")
	must(err)
	thread, err := fake.StartThread(ctx, bob, ch.ID, first, "502s")
	must(err)
	_, err = fake.Say(ctx, bob, thread, "I see it too <@"+alice+">")
	must(err)
	typo, err := fake.Say(ctx, bob, ch.ID, "rolling back teh deploy")
	must(err)
	must(fake.Edit(ctx, ch.ID, typo, "rolling back the deploy"))
	noise, err := fake.Say(ctx, bob, ch.ID, "wrong channel")
	must(err)
	must(fake.Delete(ctx, ch.ID, noise))
	_, err = fake.ShareFile(ctx, bob, ch.ID, "error-rate.png", "")
	must(err)
	must(fake.React(ctx, bob, ch.ID, first, "📌"))
	must(fake.Pin(ctx, alice, ch.ID, typo))
	tl, _ := apiTimeline(t, "http://"+addr, "INC-1", "")
	var said []string
	for _, e := range tl.Entries {
		switch e.Kind {
		case "message", "edit", "delete", "file", "key_event":
			if e.Author.Platform != "discord" {
				t.Errorf("entry by %+v", e.Author)
			}
			said = append(said, e.Kind+" "+e.Author.Name+": "+e.Text)
		}
	}
	want := []string{
		"message alice: payments API returns 502",
		"message bob: I see it too @alice",
		"message bob: rolling back teh deploy",
		"edit bob: rolling back the deploy",
		"message bob: wrong channel",
		"delete bob: wrong channel",
		"file bob: error-rate.png",
		"key_event bob: marked a message as a key event (📌)",
		"key_event alice: pinned: rolling back the deploy",
	}
	if strings.Join(said, "\n") != strings.Join(want, "\n") {
		t.Errorf("timeline:\n%s\nwant:\n%s", strings.Join(said, "\n"), strings.Join(want, "\n"))
	}

	// Now over the HTTP interactions endpoint.
	fake.Target("http://" + addr)
	if status, body, err := fake.Ping(ctx); err != nil || status != 200 || !strings.Contains(string(body), `"type":1`) {
		t.Errorf("PING = %d %s %v", status, body, err)
	}
	if kind, text := reply(fake.Invoke(ctx, alice, ch.ID, discordtest.Invocation{Sub: "sev",
		Options: []discordtest.Option{discordtest.Int("severity", 1)}})); kind != "in_channel" || text != "INC-1 is now SEV1 (was SEV2)." {
		t.Errorf("sev = %s %q", kind, text)
	}
	poll(t, "the new topic and the announcement", func() bool {
		c, _ := fake.Channel(ch.ID)
		return strings.HasPrefix(c.Topic, "INC-1 | SEV1") && len(fake.BotMessages(announce)) == 2
	})
	if kind, text := reply(fake.Invoke(ctx, alice, fake.General(), discordtest.Invocation{Sub: "declare",
		Options: []discordtest.Option{str("title", "Disk at 90%"), discordtest.Int("severity", 4), str("kind", "near-miss")}})); kind != "in_channel" || !strings.HasPrefix(text, "Declared INC-2: Disk at 90% (SEV4).") {
		t.Errorf("declare over HTTP = %s %q", kind, text)
	}
	if kind, text := reply(fake.Invoke(ctx, alice, ch.ID, discordtest.Invocation{Sub: "resolve"})); kind != "in_channel" || !strings.HasPrefix(text, "INC-1 is resolved.") {
		t.Errorf("resolve = %s %q", kind, text)
	}
	if kind, text := reply(fake.Invoke(ctx, alice, ch.ID, discordtest.Invocation{Sub: "close"})); kind != "in_channel" || !strings.HasPrefix(text, "Cannot close INC-1") {
		t.Errorf("close = %s %q", kind, text)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run = %v", err)
		}
	case <-time.After(waitFor):
		t.Fatal("run did not return after cancel")
	}
	if strings.Contains(stderr.String(), fake.BotToken) {
		t.Errorf("the log shows the bot token")
	}
}

// TestDiscordConfig: a Discord configuration that cannot work stops
// debrief at start, naming the variable and never the token; so does a
// gateway that refuses the Message Content intent.
func TestDiscordConfig(t *testing.T) {
	fake := discordtest.New()
	defer fake.Close()
	base := func(kv ...string) map[string]string {
		env := discordEnv(t, fake, kv...)
		env["DISCORD_BOT_TOKEN"] = "secret-token-1"
		return env
	}
	without := func(env map[string]string, k string) map[string]string {
		delete(env, k)
		return env
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"token without the application", without(base(), "DISCORD_APP_ID"), "DISCORD_APP_ID"},
		{"token without the guild", without(base(), "DISCORD_GUILD_ID"), "DISCORD_GUILD_ID"},
		{"application without a token", without(base(), "DISCORD_BOT_TOKEN"), "DISCORD_APP_ID is set but DISCORD_BOT_TOKEN is not"},
		{"guild by name", base("DISCORD_GUILD_ID", "my server"), "DISCORD_GUILD_ID"},
		{"announce by name", base("DISCORD_ANNOUNCE_CHANNEL", "#incidents"), "DISCORD_ANNOUNCE_CHANNEL"},
		{"category by name", base("DISCORD_CATEGORY_ID", "Incidents"), "DISCORD_CATEGORY_ID"},
		{"bad public key", base("DISCORD_PUBLIC_KEY", "abc"), "DISCORD_PUBLIC_KEY"},
		{"bad API URL", base("DISCORD_API_URL", "discord.com"), "DISCORD_API_URL"},
		{"bad key emoji", base("DISCORD_KEY_EMOJI", "push pin"), "DISCORD_KEY_EMOJI"},
		{"refused token", base(), "DISCORD_BOT_TOKEN: discord: the bot token was refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runQuick(t, tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run = %v, want an error naming %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret-") {
				t.Errorf("the error shows a token: %v", err)
			}
		})
	}

	t.Run("message content intent not enabled", func(t *testing.T) {
		fake.EnableMessageContent(false)
		defer fake.EnableMessageContent(true)
		_, err := runQuick(t, discordEnv(t, fake))
		if err == nil || !strings.Contains(err.Error(), "Message Content Intent") {
			t.Fatalf("run = %v, want the gateway's refusal, saying to enable the intent", err)
		}
	})
}
