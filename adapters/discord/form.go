package discord

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/debrief/debrief/bot"
)

// A verb with long texts (bot.Arg.Long: a drill's plan) is a form in two
// steps on Discord, whose options are one line each: the /incident
// subcommand's options, then, when none of the long texts was given as an
// option, a modal with a paragraph field for each (at most five, Discord's
// limit). The options wait in memory for the modal's answer, keyed by the
// modal's custom ID, as Slack keeps a form's state in the view: a restart
// in between asks the person to run the command again.

// formTTL is how long a modal's options wait for its answer.
const formTTL = time.Hour

// maxModalInputs is how many fields a Discord modal holds.
const maxModalInputs = 5

// formPrefix starts the custom ID of debrief's modals.
const formPrefix = "form/"

// pendingForm is a command waiting for its modal's answer.
type pendingForm struct {
	spec    *bot.VerbSpec
	values  map[string][]string
	user    string // who ran the command: only they may answer
	created time.Time
}

// forms holds the pending forms.
type forms struct {
	mu sync.Mutex
	m  map[string]pendingForm
}

func (f *forms) put(p pendingForm) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	id := formPrefix + hex.EncodeToString(b)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string]pendingForm{}
	}
	for k, v := range f.m {
		if p.created.Sub(v.created) > formTTL {
			delete(f.m, k)
		}
	}
	f.m[id] = p
	return id
}

// take removes and returns the form id, if it is there and fresh.
func (f *forms) take(id string, now time.Time) (pendingForm, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.m[id]
	delete(f.m, id)
	return p, ok && now.Sub(p.created) <= formTTL
}

// longArgs are the verb's long texts a modal asks for; nil when any was
// given as an option (the command is then complete as typed) or there
// are none.
func (o *options) longArgs() []bot.Arg {
	var long []bot.Arg
	for _, a := range o.spec.Args {
		if !a.Long {
			continue
		}
		if o.opts[a.Name] != nil {
			return nil
		}
		long = append(long, a)
	}
	if len(long) > maxModalInputs {
		long = long[:maxModalInputs]
	}
	return long
}

// modal is the form asking for the long texts of spec.
func modal(id string, spec *bot.VerbSpec, long []bot.Arg) *discordgo.InteractionResponse {
	var rows []discordgo.MessageComponent
	for _, a := range long {
		label := a.Noun
		if label == "" {
			label = a.Name
		}
		rows = append(rows, discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.TextInput{
			CustomID: a.Name, Label: bot.Truncate(strings.ToUpper(label[:1])+label[1:], 45), Style: discordgo.TextInputParagraph,
			Placeholder: bot.Truncate(a.Help, 100), Required: a.Required, MaxLength: a.MaxLength(),
		}}})
	}
	return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseModal, Data: &discordgo.InteractionResponseData{
		CustomID: id, Title: bot.Truncate(sentence(spec.Short), 45), Components: rows,
	}}
}

// submitted turns a modal's answer into the command's text: the options
// kept for it, and the fields.
func (d *Discord) submitted(i *discordgo.Interaction, user string) (string, error) {
	data := i.ModalSubmitData()
	p, ok := d.forms.take(data.CustomID, d.now())
	if !ok || p.user != user {
		return "", bot.Errorf(bot.EINVALID, "This form is out of date: run the command again.")
	}
	values := map[string][]string{}
	for k, v := range p.values {
		values[k] = v
	}
	for _, row := range data.Components {
		r, ok := row.(*discordgo.ActionsRow)
		if !ok {
			continue
		}
		for _, c := range r.Components {
			if in, ok := c.(*discordgo.TextInput); ok && strings.TrimSpace(in.Value) != "" {
				values[in.CustomID] = []string{in.Value}
			}
		}
	}
	return p.spec.Compose(values)
}

// formFor answers a command whose long texts are all missing with the
// modal asking for them, and reports whether it did.
func (d *Discord) formFor(ctx context.Context, o *options, user string, respond responder) bool {
	long := o.longArgs()
	if len(long) == 0 {
		return false
	}
	id := d.forms.put(pendingForm{spec: o.spec, values: o.values(), user: user, created: d.now()})
	if err := respond.answer(ctx, modal(id, o.spec, long)); err != nil {
		d.log.WarnContext(ctx, "could not open a form", "user", user, "err", err)
	}
	return true
}
