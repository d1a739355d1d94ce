package slack

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/debrief/debrief/bot"
	slackgo "github.com/slack-go/slack"
)

// commandReply is the immediate answer to a slash command. Slack shows an
// ephemeral one to the caller only, an in_channel one to everyone.
// https://docs.slack.dev/interactivity/implementing-slash-commands#responding_to_commands
type commandReply struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
}

// serveCommand handles POST /slack/commands.
func (s *Slack) serveCommand(w http.ResponseWriter, r *http.Request) {
	body, ok := s.verified(w, r)
	if !ok {
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "malformed form", http.StatusBadRequest)
		return
	}
	reply := s.command(r.Context(), slashCommand(form))
	if reply == nil {
		writeJSON(w, nil)
		return
	}
	writeJSON(w, reply)
}

// slashCommand reads the fields slack.SlashCommandParse reads, from a body
// that was verified first: SlashCommandParse would read the request itself.
func slashCommand(f url.Values) slackgo.SlashCommand {
	return slackgo.SlashCommand{
		Token:       f.Get("token"),
		TeamID:      f.Get("team_id"),
		TeamDomain:  f.Get("team_domain"),
		ChannelID:   f.Get("channel_id"),
		ChannelName: f.Get("channel_name"),
		UserID:      f.Get("user_id"),
		UserName:    f.Get("user_name"),
		Command:     f.Get("command"),
		Text:        f.Get("text"),
		ResponseURL: f.Get("response_url"),
		TriggerID:   f.Get("trigger_id"),
		APIAppID:    f.Get("api_app_id"),
	}
}

// command handles a slash command from HTTP or Socket Mode. It returns nil
// when there is nothing to say (the Declare modal opened). Everything slow
// (the channel, invites, posts) is in the outbox by the time it returns, so
// the answer fits in Slack's 3 seconds.
func (s *Slack) command(ctx context.Context, sc slackgo.SlashCommand) *commandReply {
	if sc.UserID == "" || sc.ChannelID == "" {
		return &commandReply{ResponseType: "ephemeral", Text: "The command came without a user or channel."}
	}
	actor := s.user(ctx, sc.UserID, sc.UserName)
	ch := bot.Channel{Platform: bot.Slack, ID: sc.ChannelID}
	// Slack's markup becomes the neutral form here: bot reads no platform's.
	text := strings.TrimSpace(neutralText(s.mentionNames(ctx, commandText(sc.Text))))
	if text == "" {
		// No arguments: the form asks for what declare needs.
		err := s.openDeclare(ctx, sc.TriggerID, actor, declareMeta{Channel: sc.ChannelID}, "")
		if err == nil {
			return nil
		}
		s.log.WarnContext(ctx, "could not open the declare form", "user", actor.ID, "err", err)
		return &commandReply{ResponseType: "ephemeral",
			Text: "Could not open the form. Declare with " + bot.Syntax(bot.VerbDeclare) + ", or see /incident help."}
	}
	r := s.svc.Execute(ctx, actor, ch, text)
	kind := "in_channel"
	if r.Ephemeral {
		kind = "ephemeral"
	}
	return &commandReply{ResponseType: kind, Text: escape(r.Text)}
}
