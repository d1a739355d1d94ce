package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/debrief/debrief/bot"
	slackgo "github.com/slack-go/slack"
)

// GamedayCallback is the callback ID of the game day form, the modal that
// /incident gameday schedule with no words opens (README, "Game days").
const GamedayCallback = "gameday_schedule"

const gamedayModalTitle = "Schedule a game day" // at most 24 characters

// gamedayMeta travels in the form's private_metadata: the channel the game
// day is scheduled from.
type gamedayMeta struct {
	Channel string `json:"c"`
}

// isBareVerb reports whether text is exactly verb's words, nothing after.
func isBareVerb(text string, v bot.Verb) bool {
	return strings.EqualFold(strings.Join(strings.Fields(text), " "), string(v))
}

// openGameday opens the game day form for the person whose command carried
// triggerID.
func (s *Slack) openGameday(ctx context.Context, triggerID, channel string) error {
	if triggerID == "" {
		return fmt.Errorf("slack: no trigger_id to open the form with")
	}
	md, _ := json.Marshal(gamedayMeta{Channel: channel})
	if _, err := s.api.OpenViewContext(ctx, triggerID, verbModal(bot.Lookup(bot.VerbGamedaySchedule), string(md))); err != nil {
		return fmt.Errorf("slack: views.open: %w", err)
	}
	return nil
}

// verbModal is a verb's form, derived from its arguments in bot's table,
// so the form asks exactly what the grammar reads: one input block per
// argument, its block and action ID the argument's name. Dates and times
// are pickers, people a users select, choices a static select, the rest
// text (multi-line for the long texts of a plan).
func verbModal(spec *bot.VerbSpec, meta string) slackgo.ModalViewRequest {
	var blocks []slackgo.Block
	for _, a := range spec.Args {
		var el slackgo.BlockElement
		switch a.Type {
		case bot.ArgDate:
			el = slackgo.NewDatePickerBlockElement(a.Name)
		case bot.ArgTime:
			el = slackgo.NewTimePickerBlockElement(a.Name)
		case bot.ArgUsers:
			m := slackgo.NewOptionsMultiSelectBlockElement(slackgo.MultiOptTypeUser, plain(a.Help), a.Name)
			if a.Max > 0 {
				m.MaxSelectedItems = &a.Max
			}
			el = m
		case bot.ArgUser:
			el = slackgo.NewOptionsSelectBlockElement(slackgo.OptTypeUser, plain(a.Help), a.Name)
		case bot.ArgChoice, bot.ArgRole, bot.ArgKind:
			var opts []*slackgo.OptionBlockObject
			for _, c := range a.ChoiceValues() {
				opts = append(opts, slackgo.NewOptionBlockObject(c, plain(c), nil))
			}
			el = slackgo.NewOptionsSelectBlockElement(slackgo.OptTypeStatic, plain(a.Help), a.Name, opts...)
		default:
			in := slackgo.NewPlainTextInputBlockElement(plain(bot.Truncate(a.Help, 150)), a.Name)
			in.MaxLength = a.MaxLength()
			in.Multiline = a.Long
			el = in
		}
		label := a.Name
		if a.Keyword == "" || a.Type != bot.ArgText {
			label = strings.ToUpper(label[:1]) + label[1:]
		} else {
			label = strings.ToUpper(a.Keyword[:1]) + strings.TrimSuffix(a.Keyword[1:], ":")
		}
		b := slackgo.NewInputBlock(a.Name, plain(label), plain(bot.Truncate(a.Help, 150)), el)
		b.Optional = !a.Required
		blocks = append(blocks, b)
	}
	return slackgo.ModalViewRequest{
		Type:            slackgo.VTModal,
		CallbackID:      GamedayCallback,
		Title:           plain(gamedayModalTitle),
		Submit:          plain("Schedule"),
		Close:           plain("Cancel"),
		PrivateMetadata: meta,
		Blocks:          slackgo.Blocks{BlockSet: blocks},
	}
}

// submitGameday runs what the form says as the command the grammar reads
// (bot.VerbSpec.Compose), so the form and the typed command are checked by
// the same rules. A refusal is shown on the form, on the field it is
// about; success replaces the form with the answer.
func (s *Slack) submitGameday(ctx context.Context, ic slackgo.InteractionCallback) any {
	spec := bot.Lookup(bot.VerbGamedaySchedule)
	var meta gamedayMeta
	if err := json.Unmarshal([]byte(ic.View.PrivateMetadata), &meta); err != nil || meta.Channel == "" {
		return formError(spec.Args[0].Name, "This form is out of date: open it again.")
	}
	var state map[string]map[string]slackgo.BlockAction
	if ic.View.State != nil {
		state = ic.View.State.Values
	}
	values := map[string][]string{}
	for _, a := range spec.Args {
		v := state[a.Name][a.Name]
		switch a.Type {
		case bot.ArgDate:
			values[a.Name] = []string{v.SelectedDate}
		case bot.ArgTime:
			values[a.Name] = []string{v.SelectedTime}
		case bot.ArgUsers, bot.ArgUser:
			ids := v.SelectedUsers
			if v.SelectedUser != "" {
				ids = append(ids, v.SelectedUser)
			}
			for _, id := range ids {
				// Named as a typed mention is (mentionLabel), so the
				// form and the command name people alike.
				values[a.Name] = append(values[a.Name], bot.MentionToken(bot.User{ID: id, Name: s.mentionLabel(ctx, id)}))
			}
		case bot.ArgChoice, bot.ArgRole, bot.ArgKind:
			if v.SelectedOption.Value != "" {
				values[a.Name] = []string{v.SelectedOption.Value}
			}
		default:
			if t := strings.TrimSpace(v.Value); t != "" {
				values[a.Name] = []string{t}
			}
		}
	}
	text, err := spec.Compose(values)
	if err == nil {
		_, err = bot.Parse(text)
	}
	if err != nil {
		return formError(blockOf(spec, bot.ErrorMessage(err)), truncate(firstLine(bot.ErrorMessage(err)), 150))
	}
	actor := s.user(ctx, ic.User.ID, ic.User.Name)
	r := s.svc.Execute(ctx, actor, bot.Channel{Platform: bot.Slack, ID: meta.Channel}, text)
	if r.Ephemeral {
		return formError(blockOf(spec, r.Text), truncate(firstLine(r.Text), 150))
	}
	s.log.InfoContext(ctx, "game day scheduled from the form", "user", actor.ID)
	return &slackgo.ViewSubmissionResponse{
		ResponseAction: slackgo.RAUpdate,
		View: &slackgo.ModalViewRequest{
			Type:  slackgo.VTModal,
			Title: plain(gamedayModalTitle),
			Close: plain("Done"),
			Blocks: slackgo.Blocks{BlockSet: []slackgo.Block{
				slackgo.NewSectionBlock(slackgo.NewTextBlockObject(slackgo.MarkdownType, escape(r.Text), false, false), nil, nil),
			}},
		},
	}
}

// blockOf is the form field a refusal is about: the first argument whose
// noun it names (the date of "in the past", the hypothesis of "Missing
// the hypothesis"), else the first field.
func blockOf(spec *bot.VerbSpec, msg string) string {
	m := strings.ToLower(firstLine(msg))
	if strings.Contains(m, "past") || strings.Contains(m, "year away") {
		return "date"
	}
	for _, a := range spec.Args {
		if strings.Contains(m, strings.ToLower(a.Name)) {
			return a.Name
		}
	}
	return spec.Args[0].Name
}
