package slack_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/chattest"
	"github.com/debrief/debrief/adapters/slack"
	"github.com/debrief/debrief/adapters/slack/slacktest"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

// TestChatContract runs the chat contract suite against the adapter on a
// fake Slack, with the scopes the manifest asks for and nothing more.
func TestChatContract(t *testing.T) {
	chattest.Run(t, func(t *testing.T) chattest.Harness {
		fake := slacktest.New()
		t.Cleanup(fake.Close)
		fake.GrantScopes(scopeNames())
		fake.AddUser(slacktest.User{ID: alice, Name: "alice", TZ: "Europe/Berlin"})
		fake.AddUser(slacktest.User{ID: bob, Name: "bob", TZ: "America/New_York"})
		fake.AddUser(slacktest.User{ID: gone, Name: "gone", Deleted: true})
		// The Chat methods need no Service; New wants one for the routes.
		sl := slack.New(&workflows.Service{}, slack.Config{BotToken: fake.BotToken, APIURL: fake.APIURL()})
		ctx, cancel := context.WithTimeout(t.Context(), waitFor)
		defer cancel()
		if err := sl.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return chattest.Harness{
			Name:     "slack",
			Chat:     sl,
			Fake:     slackFake{fake},
			Users:    []bot.User{{Platform: bot.Slack, ID: alice, Name: "alice"}, {Platform: bot.Slack, ID: bob, Name: "bob"}},
			Stranger: bot.User{Platform: bot.Slack, ID: gone, Name: "gone"},
			Limits: map[string]string{
				"Post/same key posts once":       noPostKey,
				"Post/answer lost":               noPostKey,
				"PostFile/same key posts once":   noFileKey,
				"PostFile/answer lost":           noFileKey,
				"PostDirect/same key sends once": noDirectKey,
				"PostDirect/answer lost":         noDirectKey,
			},
		}
	})
}

// Slack takes no idempotency key for a message or a file: a repeat after a
// lost answer posts again. (The outbox repeats a delivered effect only after
// a lost answer or a crash between the call and its commit.)
const (
	noPostKey = "chat.postMessage takes no idempotency key: a repeat with the same key posts again"
	noFileKey = "Slack's file upload takes no idempotency key: a repeat with the same key shares the file again"
	// Finding the first DM would need its conversation's history, which
	// takes im:history, a scope the app does not ask for (scopes.go).
	noDirectKey = "a DM is a chat.postMessage, which takes no idempotency key, and finding an earlier one " +
		"would need im:history, which the app does not ask for: a repeat with the same key sends again"
)

// slackFake is the fake workspace as the contract suite reads it.
type slackFake struct{ *slacktest.Server }

var _ chattest.Fake = slackFake{}

func (f slackFake) view(c slacktest.Channel) chattest.Channel {
	var members []string
	for _, m := range c.Members {
		if m != f.BotUserID {
			members = append(members, m)
		}
	}
	return chattest.Channel{ID: c.ID, Name: c.Name, Topic: c.Topic, Members: members, Pins: f.Pins(c.ID), Archived: c.Archived}
}

func (f slackFake) Channels() []chattest.Channel {
	var out []chattest.Channel
	for _, c := range f.Server.Channels() {
		out = append(out, f.view(c))
	}
	return out
}

func (f slackFake) Channel(id string) (chattest.Channel, bool) {
	c, ok := f.Server.Channel(id)
	if !ok {
		return chattest.Channel{}, false
	}
	return f.view(c), true
}

// Messages are the bot's messages, with their ts as ID: what Post returns
// and pins.add takes.
func (f slackFake) Messages(channel string) []chattest.Message {
	var out []chattest.Message
	for _, m := range f.Server.Messages(channel) {
		if m.User != f.BotUserID || m.Deleted {
			continue
		}
		msg := chattest.Message{ID: m.TS, Text: m.Text}
		for _, file := range m.Files {
			msg.Files = append(msg.Files, chattest.File{Name: file.Name, Content: file.Content})
		}
		out = append(out, msg)
	}
	return out
}

// DirectMessages are what the bot posted in its direct message
// conversation with u (opened with conversations.open), ts as ID.
func (f slackFake) DirectMessages(u bot.User) ([]chattest.Message, bool) {
	var out []chattest.Message
	for _, m := range f.Server.DirectMessages(u.ID) {
		if m.User == f.BotUserID && !m.Deleted {
			out = append(out, chattest.Message{ID: m.TS, Text: m.Text})
		}
	}
	return out, true
}

// AddChannel makes alice's channel, which the bot is not in.
func (f slackFake) AddChannel(name string) (string, bool) {
	return f.Server.AddChannel(name, alice, alice), true
}

func (f slackFake) DeleteChannel(id string) bool {
	f.Server.DeleteChannel(id)
	return true
}

// RemoveBot uninstalls the app: Slack revokes its token, and every call
// answers token_revoked.
func (f slackFake) RemoveBot() bool {
	f.Inject(slacktest.Fault{Times: -1, Error: "token_revoked"})
	return true
}

// methods are the Web API methods that carry each op's effect.
var methods = map[chattest.Op]string{
	chattest.OpCreateChannel: "conversations.create",
	chattest.OpPost:          "chat.postMessage",
	chattest.OpInvite:        "conversations.invite",
	chattest.OpPin:           "pins.add",
	chattest.OpSetTopic:      "conversations.setTopic",
	chattest.OpArchive:       "conversations.archive",
	// The upload itself goes to a URL; this call shares the file in the
	// channel.
	chattest.OpPostFile: "files.completeUploadExternal",
	// conversations.open gives the DM conversation; this call posts in it.
	chattest.OpPostDirect: "chat.postMessage",
}

func (f slackFake) Fail(op chattest.Op, fault chattest.Fault) bool {
	m, ok := methods[op]
	if !ok {
		return false
	}
	ft := slacktest.Fault{Method: m, Times: 1}
	switch fault.Kind {
	case chattest.RateLimited:
		// Retry-After is whole seconds.
		if fault.RetryAfter <= 0 || fault.RetryAfter%time.Second != 0 {
			return false
		}
		ft.Status, ft.RetryAfter = http.StatusTooManyRequests, int(fault.RetryAfter/time.Second)
	case chattest.ServerError:
		ft.Status = http.StatusServiceUnavailable
	case chattest.LostAnswer:
		ft.Status, ft.AfterApply = http.StatusBadGateway, true
	case chattest.Refused:
		// A workspace policy forbids what the bot does: Slack says so with
		// HTTP 200 and ok false.
		ft.Error = "restricted_action"
	default:
		return false
	}
	f.Inject(ft)
	return true
}
