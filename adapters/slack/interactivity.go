package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/debrief/debrief/bot"
	slackgo "github.com/slack-go/slack"
)

// The IDs the Declare modal and the message shortcut are known by; the
// shortcut's callback ID is also in slack-app-manifest.yml.
const (
	DeclareCallback     = "declare_incident"
	ShortcutCallback    = "declare_from_message"
	blockTitle          = "title"
	blockSeverity       = "severity"
	blockCommander      = "commander"
	maxSeedText         = 2000 // of the message a shortcut declares from, kept in private_metadata (3000 max)
	maxPrivateMetadata  = 3000
	declareModalTitle   = "Declare incident"
	declareModalConfirm = "Declare"
)

// declareMeta travels in the modal's private_metadata: the channel the
// incident is declared from and, for the message shortcut, the message that
// becomes the first timeline entry. Slack returns it untouched on submit.
type declareMeta struct {
	Channel string `json:"c"`
	TS      string `json:"ts,omitempty"`
	Author  string `json:"u,omitempty"`
	Text    string `json:"t,omitempty"`
}

// serveInteractivity handles POST /slack/interactivity: a form whose
// payload field is the interaction's JSON.
func (s *Slack) serveInteractivity(w http.ResponseWriter, r *http.Request) {
	body, ok := s.verified(w, r)
	if !ok {
		return
	}
	if !s.fresh(w, r, nil) {
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("payload") == "" {
		http.Error(w, "missing payload", http.StatusBadRequest)
		return
	}
	var ic slackgo.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &ic); err != nil {
		http.Error(w, "malformed payload", http.StatusBadRequest)
		return
	}
	writeJSON(w, s.interaction(r.Context(), ic))
}

// interaction handles a shortcut or a modal submission, from HTTP or Socket
// Mode. The answer (nil for none) is what Slack expects in the response:
// for a view submission, errors to show on the form or the view to show
// next.
func (s *Slack) interaction(ctx context.Context, ic slackgo.InteractionCallback) any {
	switch {
	case ic.Type == slackgo.InteractionTypeMessageAction && ic.CallbackID == ShortcutCallback:
		actor := s.user(ctx, ic.User.ID, ic.User.Name)
		meta := declareMeta{
			Channel: ic.Channel.ID, TS: ic.Message.Timestamp, Author: ic.Message.User,
			Text: truncate(ic.Message.Text, maxSeedText),
		}
		title := firstLine(plainText(ic.Message.Text, s.name(ctx)))
		if err := s.openDeclare(ctx, ic.TriggerID, actor, meta, truncate(title, bot.MaxTitle)); err != nil {
			s.log.WarnContext(ctx, "could not open the declare form", "user", actor.ID, "err", err)
		}
		return nil
	case ic.Type == slackgo.InteractionTypeViewSubmission && ic.View.CallbackID == DeclareCallback:
		return s.submitDeclare(ctx, ic)
	case ic.Type == slackgo.InteractionTypeViewSubmission && ic.View.CallbackID == GamedayCallback:
		return s.submitGameday(ctx, ic)
	case ic.Type == slackgo.InteractionTypeBlockActions:
		for _, a := range ic.ActionCallback.BlockActions {
			if a.ActionID == commandAction {
				s.clicked(ctx, ic, a.Value)
			}
		}
	}
	return nil
}

// clicked runs the command of a button (PostButton) as the person who
// clicked it, in the channel of the message, like a typed command; the
// answer goes to the interaction's response_url, in the background, so
// that the click is acknowledged at once.
func (s *Slack) clicked(ctx context.Context, ic slackgo.InteractionCallback, command string) {
	ch := ic.Channel.ID
	if ch == "" {
		ch = ic.Container.ChannelID
	}
	if ic.User.ID == "" || ch == "" {
		s.log.WarnContext(ctx, "button click without a user or channel")
		return
	}
	actor := s.user(ctx, ic.User.ID, ic.User.Name)
	r := s.svc.Execute(ctx, actor, bot.Channel{Platform: bot.Slack, ID: ch}, command)
	kind := "in_channel"
	if r.Ephemeral {
		kind = "ephemeral"
	}
	s.log.InfoContext(ctx, "button", "user", actor.ID, "channel", ch, "incident", r.IncidentID)
	reply := &commandReply{ResponseType: kind, Text: escape(r.Text)}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.respondLater(context.WithoutCancel(ctx), ic.ResponseURL, reply)
	}()
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// openDeclare opens the Declare modal for the person whose click or
// command carried triggerID (valid for 3 seconds), with the title
// prefilled and the actor as the suggested commander.
func (s *Slack) openDeclare(ctx context.Context, triggerID string, actor bot.User, meta declareMeta, title string) error {
	if triggerID == "" {
		return fmt.Errorf("slack: no trigger_id to open the form with")
	}
	md, err := json.Marshal(meta)
	if err != nil || len(md) > maxPrivateMetadata {
		meta.Text = ""
		md, _ = json.Marshal(meta)
	}
	_, err = s.api.OpenViewContext(ctx, triggerID, declareModal(string(md), title, actor.ID, s.svc.Config.DefaultSeverity))
	if err != nil {
		return fmt.Errorf("slack: views.open: %w", err)
	}
	return nil
}

func plain(text string) *slackgo.TextBlockObject {
	return slackgo.NewTextBlockObject(slackgo.PlainTextType, text, false, false)
}

// declareModal is the form: title, severity and commander, the three
// things a declaration needs that a person must decide.
func declareModal(meta, title, commander string, def bot.Severity) slackgo.ModalViewRequest {
	titleIn := slackgo.NewPlainTextInputBlockElement(plain("What is wrong? e.g. Checkout is down"), blockTitle)
	titleIn.InitialValue = title
	titleIn.MaxLength = bot.MaxTitle

	if !def.Valid() {
		def = bot.SEV3
	}
	var opts []*slackgo.OptionBlockObject
	var initial *slackgo.OptionBlockObject
	for sev := bot.SEV1; sev <= bot.SEV4; sev++ {
		o := slackgo.NewOptionBlockObject(strconv.Itoa(int(sev)), plain(sev.String()), nil)
		opts = append(opts, o)
		if sev == def {
			initial = o
		}
	}
	sevIn := slackgo.NewOptionsSelectBlockElement(slackgo.OptTypeStatic, plain("Severity"), blockSeverity, opts...)
	sevIn.InitialOption = initial

	cmdIn := slackgo.NewOptionsSelectBlockElement(slackgo.OptTypeUser, plain("Who leads the response"), blockCommander)
	cmdIn.InitialUser = commander

	return slackgo.ModalViewRequest{
		Type:            slackgo.VTModal,
		CallbackID:      DeclareCallback,
		Title:           plain(declareModalTitle),
		Submit:          plain(declareModalConfirm),
		Close:           plain("Cancel"),
		PrivateMetadata: meta,
		Blocks: slackgo.Blocks{BlockSet: []slackgo.Block{
			slackgo.NewInputBlock(blockTitle, plain("Title"), nil, titleIn),
			slackgo.NewInputBlock(blockSeverity, plain("Severity"), plain("SEV1 is the worst."), sevIn),
			slackgo.NewInputBlock(blockCommander, plain("Incident commander"), nil, cmdIn),
		}},
	}
}

// submitDeclare declares the incident the modal describes. Mistakes are
// shown on the form (response_action errors); success replaces the form
// with the confirmation a slash command would have answered.
func (s *Slack) submitDeclare(ctx context.Context, ic slackgo.InteractionCallback) any {
	var meta declareMeta
	if err := json.Unmarshal([]byte(ic.View.PrivateMetadata), &meta); err != nil || meta.Channel == "" {
		return formError(blockTitle, "This form is out of date: open it again.")
	}
	var values map[string]map[string]slackgo.BlockAction
	if ic.View.State != nil {
		values = ic.View.State.Values
	}
	title := strings.TrimSpace(values[blockTitle][blockTitle].Value)
	if title == "" {
		return formError(blockTitle, "Say what is wrong.")
	}
	cmd := bot.Command{Verb: bot.VerbDeclare, Text: title, Kind: bot.KindReal}
	if v := values[blockSeverity][blockSeverity].SelectedOption.Value; v != "" {
		sev, ok := bot.ParseSeverity(v)
		if !ok {
			return formError(blockSeverity, "Pick a severity.")
		}
		cmd.Severity = sev
	}
	actor := s.user(ctx, ic.User.ID, ic.User.Name)
	if id := values[blockCommander][blockCommander].SelectedUser; id != "" {
		cmd.Users = []bot.User{s.user(ctx, id, "")}
	}
	var seed *bot.TimelineEvent
	if meta.TS != "" {
		seed = &bot.TimelineEvent{
			Kind:       bot.EventMessage,
			Author:     s.user(ctx, meta.Author, ""),
			Text:       plainText(meta.Text, s.name(ctx)),
			MessageID:  meta.TS,
			PlatformAt: parseTS(meta.TS),
			DedupeKey:  messageKey(meta.Channel, meta.TS),
		}
	}
	r, err := s.svc.Declare(ctx, actor, bot.Channel{Platform: bot.Slack, ID: meta.Channel}, cmd, seed)
	if err != nil {
		if bot.ErrorCode(err) == bot.EINTERNAL {
			s.log.ErrorContext(ctx, "declare from the form failed", "user", actor.ID, "err", err)
		}
		return formError(blockTitle, truncate(bot.ErrorMessage(err), 150))
	}
	s.log.InfoContext(ctx, "declared from the form", "incident", r.IncidentID, "user", actor.ID)
	return &slackgo.ViewSubmissionResponse{
		ResponseAction: slackgo.RAUpdate,
		View: &slackgo.ModalViewRequest{
			Type:  slackgo.VTModal,
			Title: plain(declareModalTitle),
			Close: plain("Done"),
			Blocks: slackgo.Blocks{BlockSet: []slackgo.Block{
				slackgo.NewSectionBlock(slackgo.NewTextBlockObject(slackgo.MarkdownType, escape(r.Text), false, false), nil, nil),
			}},
		},
	}
}

func formError(block, msg string) *slackgo.ViewSubmissionResponse {
	return slackgo.NewErrorsViewSubmissionResponse(map[string]string{block: msg})
}
