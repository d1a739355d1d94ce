package slack

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/internal/answer"
	"github.com/debrief/debrief/workflows"
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
	then := s.command(r.Context(), slashCommand(form), "slack/sig/"+r.Header.Get("X-Slack-Signature"), func(reply *commandReply) {
		if reply == nil {
			writeJSON(w, nil)
			return
		}
		writeJSON(w, reply)
	})
	// A late answer goes to response_url once the 200 is on its way: it
	// outlives the request, and Wait waits for it at shutdown.
	if then != nil {
		s.bg.Go(then)
	}
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

// command handles a slash command from HTTP or Socket Mode within Slack's
// 3 seconds, by the rule it shares with Discord (internal/answer): when the
// command is done within the budget, respond gets its answer for the
// response; otherwise respond gets nil (a plain 200, which Slack shows as
// nothing) at once and the answer goes to the command's response_url when
// it is ready. It returns that late delivery, for the caller to run once
// its response is sent, or nil.
//
// A command is run once (workflows.Service.FirstTime): keyed by its
// trigger_id, unique per invocation and carried over HTTP and Socket Mode
// alike (a Socket Mode redelivery repeats it), else by replayKey (the
// signature). That check is the work's first step, within the budget, so a
// slow disk defers the answer rather than holding the acknowledgement.
func (s *Slack) command(ctx context.Context, sc slackgo.SlashCommand, replayKey string, respond func(*commandReply)) (then func()) {
	if sc.TriggerID != "" {
		replayKey = "slack/trigger/" + sc.TriggerID
	}
	return answer.OrDefer(ctx, answer.Deadline{Within: s.cfg.DeferAfter, After: s.cfg.After},
		func(work context.Context) *commandReply {
			if replayKey != "" && !workflows.ChangesNothing(commandText(sc.Text)) {
				first, err := s.svc.FirstTime(work, replayKey, replayWindow)
				if err != nil {
					s.log.ErrorContext(work, "could not remember a command", "user", sc.UserID, "err", err)
					return &commandReply{ResponseType: "ephemeral", Text: "Internal error: the command was not run. Try again."}
				}
				if !first {
					s.log.WarnContext(work, "refused a replayed command", "user", sc.UserID, "channel", sc.ChannelID)
					return &commandReply{ResponseType: "ephemeral", Text: "This command was already run."}
				}
			}
			return s.runCommand(work, sc)
		},
		answer.Reply[*commandReply]{
			Inline: func(_ context.Context, r *commandReply) func() {
				respond(r)
				return nil
			},
			Defer: func() {
				respond(nil)
				s.log.InfoContext(ctx, "command answer deferred", "user", sc.UserID, "channel", sc.ChannelID)
			},
			Late: func(work context.Context, r *commandReply, err error) {
				if err != nil {
					r = &commandReply{ResponseType: "ephemeral", Text: "The command took too long; check the timeline before running it again."}
				}
				if r == nil {
					return // the Declare modal opened: nothing to say
				}
				s.respondLater(work, sc.ResponseURL, r)
			},
		})
}

// respondLater sends a deferred answer to the command's response_url,
// which Slack accepts for 30 minutes, up to 5 times.
// https://docs.slack.dev/interactivity/handling-user-interaction#message_responses
func (s *Slack) respondLater(ctx context.Context, responseURL string, r *commandReply) {
	if responseURL == "" {
		s.log.WarnContext(ctx, "a deferred answer has no response_url to go to")
		return
	}
	msg := &slackgo.WebhookMessage{ResponseType: r.ResponseType, Text: r.Text}
	if err := slackgo.PostWebhookCustomHTTPContext(ctx, responseURL, s.hc, msg); err != nil {
		s.log.WarnContext(ctx, "could not send a deferred answer", "err", fmt.Errorf("slack: response_url: %w", err))
	}
}

// runCommand is the work of a slash command: who and what, then the
// application. It returns nil when there is nothing to say (the Declare
// modal opened). Everything slow (the channel, invites, posts) is in the
// outbox by the time it returns, and the users it names are looked up at
// once, not one after the other.
func (s *Slack) runCommand(ctx context.Context, sc slackgo.SlashCommand) *commandReply {
	if sc.UserID == "" || sc.ChannelID == "" {
		return &commandReply{ResponseType: "ephemeral", Text: "The command came without a user or channel."}
	}
	// The actor (whose zone the answer is rendered in) and everyone
	// mentioned are looked up together, within one lookupTimeout: the
	// lookups below are then answered from the cache.
	raw := commandText(sc.Text)
	s.prefetch(ctx, append(mentionedIDs(raw), sc.UserID))
	actor := s.user(ctx, sc.UserID, sc.UserName)
	ch := bot.Channel{Platform: bot.Slack, ID: sc.ChannelID}
	// Slack's markup becomes the neutral form here: bot reads no platform's.
	text := strings.TrimSpace(neutralText(s.mentionNames(ctx, raw)))
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
	if isBareVerb(text, bot.VerbGamedaySchedule) {
		// No plan: the form asks for it.
		err := s.openGameday(ctx, sc.TriggerID, sc.ChannelID)
		if err == nil {
			return nil
		}
		// The typed command then says what is missing.
		s.log.WarnContext(ctx, "could not open the game day form", "user", actor.ID, "err", err)
	}
	r := s.svc.Execute(ctx, actor, ch, text)
	kind := "in_channel"
	if r.Ephemeral {
		kind = "ephemeral"
	}
	return &commandReply{ResponseType: kind, Text: escape(r.Text)}
}
