package discord_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/debrief/debrief/adapters/chattest"
	"github.com/debrief/debrief/adapters/discord"
	"github.com/debrief/debrief/adapters/discord/discordtest"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

// TestChatContract runs the chat contract suite against the adapter on a
// fake Discord guild, with the permissions the install URL asks for and
// nothing more. The Chat methods are REST calls: no gateway runs.
func TestChatContract(t *testing.T) {
	chattest.Run(t, func(t *testing.T) chattest.Harness {
		fake := discordtest.New()
		t.Cleanup(fake.Close)
		fake.GrantPermissions(discord.BotPermissionBits)
		alice := fake.AddUser(discordtest.User{Username: "alice"})
		bob := fake.AddUser(discordtest.User{Username: "bob"})
		// The Chat methods need no Service; New wants one for the routes.
		dc, err := discord.New(&workflows.Service{}, discord.Config{
			BotToken: fake.BotToken, AppID: fake.AppID, GuildID: fake.GuildID, APIURL: fake.APIURL(),
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), waitFor)
		defer cancel()
		// Start learns the bot's own ID, which Invite and Archive use.
		if err := dc.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return chattest.Harness{
			Name:  "discord",
			Chat:  dc,
			Fake:  discordFake{fake},
			Users: []bot.User{{Platform: bot.Discord, ID: alice, Name: "alice"}, {Platform: bot.Discord, ID: bob, Name: "bob"}},
			// A snowflake of nobody in the guild: Discord answers Unknown
			// User to an overwrite for them.
			Stranger: bot.User{Platform: bot.Discord, ID: "1100000000000000042", Name: "gone"},
		}
	})
}

// discordFake is the fake guild as the contract suite reads it.
type discordFake struct{ *discordtest.Server }

var _ chattest.Fake = discordFake{}

// view reads a text channel the way Discord models what the contract
// calls members and archived: members are the people given access by a
// member overwrite (Discord channels have no membership), and a channel is
// archived once @everyone may no longer post in it (Discord has no archived
// text channels; the adapter locks them).
func (f discordFake) view(c discordtest.Channel) chattest.Channel {
	v := chattest.Channel{ID: c.ID, Name: c.Name, Topic: c.Topic, Pins: f.Pins(c.ID)}
	for _, o := range c.Overwrites {
		if o.Type == discordtest.OverwriteMember && o.ID != f.BotUserID && o.Allow&discordtest.PermViewChannel != 0 {
			v.Members = append(v.Members, o.ID)
		}
	}
	if o, ok := c.Overwrite(f.GuildID); ok && o.Deny&discordtest.PermSendMessages != 0 {
		v.Archived = true
	}
	return v
}

func (f discordFake) Channels() []chattest.Channel {
	var out []chattest.Channel
	for _, c := range f.Server.Channels() {
		if c.Type == discordtest.TypeText {
			out = append(out, f.view(c))
		}
	}
	return out
}

func (f discordFake) Channel(id string) (chattest.Channel, bool) {
	c, ok := f.Server.Channel(id)
	if !ok {
		return chattest.Channel{}, false
	}
	return f.view(c), true
}

// Messages are the bot's messages; Discord's "pinned a message" notices
// are the platform's, not the bot's posts.
func (f discordFake) Messages(channel string) []chattest.Message {
	var out []chattest.Message
	for _, m := range f.Server.Messages(channel) {
		if m.AuthorID != f.BotUserID || m.Type == discordtest.MessagePinned || m.Deleted {
			continue
		}
		msg := chattest.Message{ID: m.ID, Text: m.Content}
		for _, a := range m.Attachments {
			msg.Files = append(msg.Files, chattest.File{Name: a.Filename, Content: a.Content})
		}
		out = append(out, msg)
	}
	return out
}

// DirectMessages are the bot's messages in its DM channel with u, opened
// with POST /users/@me/channels.
func (f discordFake) DirectMessages(u bot.User) ([]chattest.Message, bool) {
	dm, ok := f.DMChannel(u.ID)
	if !ok {
		return nil, true
	}
	return f.Messages(dm), true
}

func (f discordFake) AddChannel(name string) (string, bool) {
	return f.Server.AddChannel(name, ""), true
}

func (f discordFake) DeleteChannel(id string) bool {
	f.Server.DeleteChannel(id)
	return true
}

// RemoveBot kicks the bot from the guild: it keeps its token but holds no
// permission there, so Discord answers Missing Access (or Missing
// Permissions) to everything it does in the guild, and Cannot send
// messages to this user to its DMs, since it shares no server with anyone.
func (f discordFake) RemoveBot() bool {
	f.Kick()
	return true
}

// routes are the REST routes that carry each op's effect. Invite and
// Archive read the channel first; the write is the overwrite.
var routes = map[chattest.Op]string{
	chattest.OpCreateChannel: discordtest.RouteCreateChannel,
	chattest.OpPost:          discordtest.RouteCreateMessage,
	chattest.OpPostFile:      discordtest.RouteCreateMessage,
	chattest.OpInvite:        discordtest.RoutePermission,
	chattest.OpPin:           discordtest.RoutePin,
	chattest.OpSetTopic:      discordtest.RouteEditChannel,
	chattest.OpArchive:       discordtest.RoutePermission,
	// POST /users/@me/channels opens the DM channel; the message is the
	// effect.
	chattest.OpPostDirect: discordtest.RouteCreateMessage,
}

func (f discordFake) Fail(op chattest.Op, fault chattest.Fault) bool {
	r, ok := routes[op]
	if !ok {
		return false
	}
	ft := discordtest.Fault{Route: r, Times: 1}
	switch fault.Kind {
	case chattest.RateLimited:
		ft.Status, ft.RetryAfter = http.StatusTooManyRequests, fault.RetryAfter.Seconds()
	case chattest.ServerError:
		ft.Status = http.StatusServiceUnavailable
	case chattest.LostAnswer:
		ft.Status, ft.AfterApply = http.StatusBadGateway, true
	case chattest.Refused:
		ft.Status, ft.Code = http.StatusForbidden, 50013 // Missing Permissions
	default:
		return false
	}
	f.Inject(ft)
	return true
}
