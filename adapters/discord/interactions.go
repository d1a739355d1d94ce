package discord

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/internal/answer"
	"github.com/debrief/debrief/internal/httpbody"
	"github.com/debrief/debrief/workflows"
)

// signatureWindow is how far an interaction's X-Signature-Timestamp may be
// from now: a signed request replayed later is refused, as on Slack.
const signatureWindow = 5 * time.Minute

// workTimeout bounds a command's work once its answer was deferred: an
// interaction's token, which the follow-up needs, lives 15 minutes.
const workTimeout = answer.Limit

// serveInteraction handles POST /discord/interactions: the signature is
// checked before anything in the body is read, PING is answered PONG, and
// an /incident command gets its answer in the response (or a deferral,
// when it takes longer than DeferAfter).
// https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint
func (d *Discord) serveInteraction(w http.ResponseWriter, r *http.Request) {
	body, ok := d.verified(w, r)
	if !ok {
		return
	}
	var i discordgo.Interaction
	if err := json.Unmarshal(body, &i); err != nil {
		http.Error(w, "malformed interaction", http.StatusBadRequest)
		return
	}
	hr := &httpResponder{w: w}
	switch i.Type {
	case discordgo.InteractionPing:
		_ = hr.answer(r.Context(), &discordgo.InteractionResponse{Type: discordgo.InteractionResponsePong})
	case discordgo.InteractionApplicationCommand, discordgo.InteractionModalSubmit, discordgo.InteractionMessageComponent:
		then := d.command(r.Context(), &i, hr)
		if !hr.sent {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		// The answer is in Discord's hands (written and flushed) before a
		// follow-up can refer to it.
		if then != nil {
			d.bg.Go(then)
		}
	case discordgo.InteractionApplicationCommandAutocomplete:
		_ = hr.raw(autocompleteNone)
	default:
		_ = hr.answer(r.Context(), ephemeral("debrief only answers /incident."))
	}
}

// verified reads the request body and checks Discord's signature over
// it: Ed25519 of X-Signature-Timestamp followed by the body, with the
// application's public key, and a timestamp within 5 minutes. It answers
// 401 when the signature or its headers are missing, malformed, wrong or
// stale (Discord itself probes the endpoint with bad signatures, and
// expects 401), and 413 when the body is over MaxBody; ok is false then.
// discordgo.VerifyInteraction does the same check, but reads the body
// without a limit and has no timestamp window.
func (d *Discord) verified(w http.ResponseWriter, r *http.Request) (body []byte, ok bool) {
	sig, err := hex.DecodeString(r.Header.Get("X-Signature-Ed25519"))
	if err != nil || len(sig) != ed25519.SignatureSize {
		d.refuse(w, r, "missing or malformed X-Signature-Ed25519")
		return nil, false
	}
	ts := r.Header.Get("X-Signature-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		d.refuse(w, r, "missing or malformed X-Signature-Timestamp")
		return nil, false
	}
	if age := d.now().Sub(time.Unix(sec, 0)); age > signatureWindow || age < -signatureWindow {
		d.refuse(w, r, fmt.Sprintf("timestamp %s off", age.Round(time.Second)))
		return nil, false
	}
	if body, ok = httpbody.Read(w, r, MaxBody); !ok {
		return nil, false
	}
	msg := make([]byte, 0, len(ts)+len(body))
	msg = append(append(msg, ts...), body...)
	if !ed25519.Verify(d.pub, msg, sig) {
		d.refuse(w, r, "signature does not match")
		return nil, false
	}
	return body, true
}

// refuse answers 401. The reason is logged and not told to the caller,
// who may be probing.
func (d *Discord) refuse(w http.ResponseWriter, r *http.Request, reason string) {
	d.log.WarnContext(r.Context(), "refused an unverified request", "path", r.URL.Path, "remote", r.RemoteAddr, "reason", reason)
	http.Error(w, "invalid request signature", http.StatusUnauthorized)
}

// responder sends an interaction's first answer: over the gateway with
// the callback endpoint, over HTTP in the response.
type responder interface {
	answer(ctx context.Context, resp *discordgo.InteractionResponse) error
}

type httpResponder struct {
	w    http.ResponseWriter
	sent bool
}

func (h *httpResponder) answer(_ context.Context, resp *discordgo.InteractionResponse) error {
	b, err := json.Marshal(resp)
	if err != nil {
		return err
	}
	return h.raw(b)
}

// raw sends b, a response already in JSON, as the answer.
func (h *httpResponder) raw(b []byte) error {
	if h.sent {
		return errors.New("discord: interaction answered twice")
	}
	h.sent = true
	h.w.Header().Set("Content-Type", "application/json")
	h.w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, err := h.w.Write(b)
	if f, ok := h.w.(http.Flusher); ok {
		f.Flush()
	}
	return err
}

type callbackResponder struct {
	d *Discord
	i *discordgo.Interaction
}

func (c callbackResponder) answer(ctx context.Context, resp *discordgo.InteractionResponse) error {
	if err := c.d.api.InteractionRespond(c.i, resp, discordgo.WithContext(ctx)); err != nil {
		return classify("answer interaction", err)
	}
	return nil
}

// ephemeral is a message answer shown to the caller only.
func ephemeral(text string) *discordgo.InteractionResponse {
	return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: truncate(text, maxContent), Flags: discordgo.MessageFlagsEphemeral, AllowedMentions: noMentions}}
}

// autocompleteNone answers an autocomplete interaction: an
// APPLICATION_COMMAND_AUTOCOMPLETE_RESULT (type 8) with no choices.
// /incident's options offer none, but Discord shows "Loading options
// failed" for any other answer, and for a type 8 whose data has no
// "choices" array, which is what discordgo sends for an empty list (its
// InteractionResponseData.Choices is omitempty): hence JSON written out.
// https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object-autocomplete
var autocompleteNone = json.RawMessage(`{"type":8,"data":{"choices":[]}}`)

// gatewayInteraction answers an interaction that came over the gateway. It
// runs apart from the event loop, which goes on recording messages.
func (d *Discord) gatewayInteraction(ctx context.Context, i *discordgo.Interaction) {
	if i.Type == discordgo.InteractionPing {
		return
	}
	if i.Type == discordgo.InteractionApplicationCommandAutocomplete {
		// Through the callback endpoint as any first answer, but with
		// the body written out (autocompleteNone says why).
		endpoint := discordgo.EndpointInteractionResponse(i.ID, i.Token)
		if _, err := d.api.RequestWithBucketID(http.MethodPost, endpoint, autocompleteNone, endpoint, discordgo.WithContext(ctx)); err != nil {
			d.log.WarnContext(ctx, "could not answer an autocomplete interaction", "err", classify("answer autocomplete", err))
		}
		return
	}
	if i.Type != discordgo.InteractionApplicationCommand && i.Type != discordgo.InteractionModalSubmit &&
		i.Type != discordgo.InteractionMessageComponent {
		if err := (callbackResponder{d, i}).answer(ctx, ephemeral("debrief only answers /incident.")); err != nil {
			d.log.WarnContext(ctx, "could not answer an interaction", "err", err)
		}
		return
	}
	if then := d.command(ctx, i, callbackResponder{d, i}); then != nil {
		then()
	}
}

// command runs an /incident interaction and sends its first answer with
// respond. When the command takes longer than DeferAfter, the first
// answer is a deferral ("debrief is thinking"), and the real one follows
// through the interaction's webhook once the command is done. It returns
// what must happen after the first answer reached Discord (the deferred
// answer, the rest of a long answer), or nil.
func (d *Discord) command(ctx context.Context, i *discordgo.Interaction, respond responder) (then func()) {
	fail := func(msg string) func() {
		if err := respond.answer(ctx, ephemeral(msg)); err != nil {
			d.log.WarnContext(ctx, "could not answer an interaction", "err", err)
		}
		return nil
	}
	if i.GuildID != d.cfg.GuildID {
		return fail("debrief serves another server: run /incident there.")
	}
	u, m := i.User, i.Member
	if m != nil && m.User != nil {
		u = m.User
	}
	if u == nil || i.ChannelID == "" {
		return fail("The command came without a user or channel.")
	}
	// A command (whose long texts may be asked in a modal first, form.go),
	// or the answer to such a modal.
	var text string
	switch data := i.Data.(type) {
	case discordgo.ApplicationCommandInteractionData:
		o, t, err := parseInvocation(data)
		if err != nil {
			return fail(bot.ErrorMessage(err))
		}
		if o != nil && d.formFor(ctx, o, u.ID, respond) {
			return nil
		}
		if o != nil {
			if t, err = o.spec.Compose(o.values()); err != nil {
				return fail(bot.ErrorMessage(err))
			}
		}
		text = t
	case discordgo.MessageComponentInteractionData:
		// A button the bot posted (PostButton): its custom_id carries the
		// command, run as whoever clicked, like a typed one.
		t, ok := strings.CutPrefix(data.CustomID, commandPrefix)
		if !ok {
			return fail("debrief does not know this button.")
		}
		text = t
	case discordgo.ModalSubmitInteractionData:
		t, err := d.submitted(i, u.ID)
		if err != nil {
			return fail(bot.ErrorMessage(err))
		}
		text = t
	default:
		return fail("The command came without its data.")
	}
	actor := userOf(u, m)
	chID, err := d.incidentChannel(ctx, i.ChannelID)
	if err != nil {
		d.log.WarnContext(ctx, "could not tell the command's channel", "channel", i.ChannelID, "err", err)
		chID = i.ChannelID
	}
	ch := bot.Channel{Platform: bot.Discord, ID: chID}

	// The answer-or-defer rule is shared with Slack (internal/answer):
	// the work goes on when the request or the gateway connection that
	// brought it ends, since a deferred answer still has to be sent.
	return answer.OrDefer(ctx, answer.Deadline{Within: d.cfg.DeferAfter, Limit: workTimeout, After: d.cfg.After},
		func(work context.Context) workflows.Reply {
			// An interaction's ID is unique; its signature is good for
			// the window either side of now, and a gateway resume may
			// dispatch it again. Remembered that long, a replay, across
			// restarts too, is answered and not run. First step of the
			// work, within the budget: a slow disk defers the answer.
			if !workflows.ChangesNothing(text) {
				first, err := d.svc.FirstTime(work, "discord/interaction/"+i.ID, 2*signatureWindow)
				if err != nil {
					d.log.ErrorContext(work, "could not remember an interaction", "interaction", i.ID, "err", err)
					return workflows.Reply{Text: "Internal error: the command was not run. Try again.", Ephemeral: true}
				}
				if !first {
					d.log.WarnContext(work, "refused a replayed interaction", "interaction", i.ID, "user", actor.ID)
					return workflows.Reply{Text: "This interaction was already handled.", Ephemeral: true}
				}
			}
			return d.svc.Execute(work, actor, ch, text)
		},
		answer.Reply[workflows.Reply]{
			Inline: func(work context.Context, r workflows.Reply) func() {
				chunks := split(discordText(r.Text), maxContent)
				if err := respond.answer(ctx, answerMessage(chunks[0], r.Ephemeral)); err != nil {
					d.log.WarnContext(ctx, "could not answer an interaction", "incident", r.IncidentID, "err", err)
					return nil
				}
				if len(chunks) == 1 {
					return nil
				}
				return func() { d.followUps(work, i, chunks[1:], r.Ephemeral, r.IncidentID) }
			},
			Defer: func() {
				if err := respond.answer(ctx, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource}); err != nil {
					d.log.WarnContext(ctx, "could not defer an interaction", "err", err)
				}
				d.log.InfoContext(ctx, "command answer deferred", "after", d.cfg.DeferAfter, "user", actor.ID, "channel", ch.ID)
			},
			Late: func(work context.Context, r workflows.Reply, err error) {
				if err != nil {
					r = workflows.Reply{Text: "The command took too long; check the timeline before running it again.", Ephemeral: true}
				}
				d.finishDeferred(work, i, r)
			},
		})
}

// answerMessage is a message answer; ephemeral ones are shown to the caller
// only (flag 64).
func answerMessage(text string, eph bool) *discordgo.InteractionResponse {
	data := &discordgo.InteractionResponseData{Content: text, AllowedMentions: noMentions}
	if eph {
		data.Flags = discordgo.MessageFlagsEphemeral
	}
	return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource, Data: data}
}

// finishDeferred replaces a deferral with the answer: the deferred message
// is edited to a public answer; for one meant for the caller only, the
// deferral (public, since whether the answer would be private was not
// known yet) is deleted and the answer sent as an ephemeral follow-up.
func (d *Discord) finishDeferred(ctx context.Context, i *discordgo.Interaction, r workflows.Reply) {
	chunks := split(discordText(r.Text), maxContent)
	if r.Ephemeral {
		if err := d.api.InteractionResponseDelete(i, discordgo.WithContext(ctx)); err != nil {
			d.log.WarnContext(ctx, "could not remove a deferral", "incident", r.IncidentID, "err", classify("delete deferral", err))
		}
		d.followUps(ctx, i, chunks, true, r.IncidentID)
		return
	}
	first := chunks[0]
	if _, err := d.api.InteractionResponseEdit(i, &discordgo.WebhookEdit{Content: &first, AllowedMentions: noMentions}, discordgo.WithContext(ctx)); err != nil {
		d.log.WarnContext(ctx, "could not send a deferred answer", "incident", r.IncidentID, "err", classify("edit deferral", err))
		return
	}
	d.followUps(ctx, i, chunks[1:], false, r.IncidentID)
}

// followUps sends the rest of an answer as follow-up messages, in order.
func (d *Discord) followUps(ctx context.Context, i *discordgo.Interaction, chunks []string, eph bool, incident string) {
	var flags discordgo.MessageFlags
	if eph {
		flags = discordgo.MessageFlagsEphemeral
	}
	for _, c := range chunks {
		_, err := d.api.FollowupMessageCreate(i, true, &discordgo.WebhookParams{Content: c, Flags: flags, AllowedMentions: noMentions}, discordgo.WithContext(ctx))
		if err != nil {
			d.log.WarnContext(ctx, "could not send a follow-up", "incident", incident, "err", classify("follow-up", err))
			return
		}
	}
}
