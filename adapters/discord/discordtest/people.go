package discordtest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrForbidden is returned when a person may not do what was asked (post
// in a locked channel).
var ErrForbidden = errors.New("discordtest: missing permissions")

// act runs a change under s.mu, dispatches what it returns, and waits for
// the bot to acknowledge the last event.
func (s *Server) act(ctx context.Context, change func() ([]event, error)) error {
	s.mu.Lock()
	evs, err := change()
	var seq int64
	if err == nil {
		for _, e := range evs {
			seq = s.gw.dispatch(e.t, e.d)
		}
	}
	away := s.away
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if away {
		return nil
	}
	if seq == 0 {
		return errors.New("discordtest: the bot never connected to the gateway")
	}
	return s.WaitAck(ctx, seq)
}

// Away says whether the bot is away (stopped, or its session lost): people's
// actions (Say, Edit, Delete, StartThread...) then return without waiting
// for the bot to acknowledge them, and what they dispatch goes to a
// session no one will resume.
func (s *Server) Away(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.away = on
}

type event struct {
	t string
	d any
}

// canSend reports whether user may post in c: the @everyone overwrite,
// then the user's own.
func (s *Server) canSend(c *Channel, user string) bool {
	if c.Type == TypePublicThread || c.Type == TypePrivateThread {
		if p := s.channels[c.ParentID]; p != nil {
			c = p
		}
	}
	p := PermSendMessages | PermViewChannel
	if o, ok := c.Overwrite(s.GuildID); ok {
		p = (p &^ o.Deny) | o.Allow
	}
	if o, ok := c.Overwrite(user); ok {
		p = (p &^ o.Deny) | o.Allow
	}
	return p&PermSendMessages != 0
}

func (s *Server) sayIn(channel, user string) (*Channel, error) {
	c := s.channels[channel]
	if c == nil {
		return nil, fmt.Errorf("discordtest: no channel %s", channel)
	}
	if s.users[user] == nil {
		return nil, fmt.Errorf("discordtest: no user %s", user)
	}
	if !s.canSend(c, user) {
		return nil, ErrForbidden
	}
	return c, nil
}

// Say posts text (the wire form: mentions as <@id>) as user in channel (a
// thread too), delivers MESSAGE_CREATE, and returns the message's ID once
// the bot acknowledged it.
func (s *Server) Say(ctx context.Context, user, channel, text string) (string, error) {
	return s.say(ctx, user, channel, text, nil)
}

// ShareFile posts a file named name, with an optional comment, as user.
func (s *Server) ShareFile(ctx context.Context, user, channel, name, comment string) (string, error) {
	return s.say(ctx, user, channel, comment, []Attachment{{Filename: name, ContentType: "image/png", Content: "png"}})
}

func (s *Server) say(ctx context.Context, user, channel, text string, atts []Attachment) (string, error) {
	var id string
	err := s.act(ctx, func() ([]event, error) {
		c, err := s.sayIn(channel, user)
		if err != nil {
			return nil, err
		}
		for i := range atts {
			atts[i].ID = s.nextID()
			atts[i].URL = cdnURL(c.ID, atts[i].ID, atts[i].Filename)
		}
		m := s.post(c.ID, user, text, MessageDefault, atts)
		id = m.ID
		return []event{{"MESSAGE_CREATE", s.messageJSON(m)}}, nil
	})
	return id, err
}

// PostQuietly stores a message as user without telling the bot: one it
// missed.
func (s *Server) PostQuietly(user, channel, text string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.post(channel, user, text, MessageDefault, nil).ID
}

// StartThread starts a thread on message msg of channel, as user, and
// returns the thread's ID, which is the message's (Discord's rule for
// threads started from a message).
func (s *Server) StartThread(ctx context.Context, user, channel, msg, name string) (string, error) {
	err := s.act(ctx, func() ([]event, error) {
		c, err := s.sayIn(channel, user)
		if err != nil {
			return nil, err
		}
		if s.message(c.ID, msg) == nil {
			return nil, fmt.Errorf("discordtest: no message %s in %s", msg, channel)
		}
		t := &Channel{ID: msg, Type: TypePublicThread, Name: name, ParentID: c.ID}
		s.channels[t.ID] = t
		s.order = append(s.order, t.ID)
		j := s.channelJSON(t)
		j["newly_created"] = true
		j["owner_id"] = user
		sys := s.post(c.ID, user, name, MessageThreadCreated, nil)
		sys.Reference = msg
		return []event{{"THREAD_CREATE", j}, {"MESSAGE_CREATE", s.messageJSON(sys)}}, nil
	})
	return msg, err
}

func (s *Server) find(channel, id string) (*Message, error) {
	m := s.message(channel, id)
	if m == nil {
		return nil, fmt.Errorf("discordtest: no message %s in %s", id, channel)
	}
	return m, nil
}

// Edit changes the text of a message and delivers MESSAGE_UPDATE with its
// edited_timestamp.
func (s *Server) Edit(ctx context.Context, channel, id, text string) error {
	return s.act(ctx, func() ([]event, error) {
		m, err := s.find(channel, id)
		if err != nil {
			return nil, err
		}
		now := time.Now().UTC()
		if m.EditedAt != nil && !now.After(*m.EditedAt) {
			now = m.EditedAt.Add(time.Microsecond)
		}
		m.Content, m.EditedAt = text, &now
		return []event{{"MESSAGE_UPDATE", s.messageJSON(m)}}, nil
	})
}

// Unfurl adds a link preview to a message: Discord delivers a
// MESSAGE_UPDATE that changes no text and carries no new edit time.
func (s *Server) Unfurl(ctx context.Context, channel, id string) error {
	return s.act(ctx, func() ([]event, error) {
		m, err := s.find(channel, id)
		if err != nil {
			return nil, err
		}
		m.Embeds++
		return []event{{"MESSAGE_UPDATE", s.messageJSON(m)}}, nil
	})
}

// Delete deletes a message; MESSAGE_DELETE carries only its ID.
func (s *Server) Delete(ctx context.Context, channel, id string) error {
	return s.act(ctx, func() ([]event, error) {
		m, err := s.find(channel, id)
		if err != nil {
			return nil, err
		}
		m.Deleted = true
		return []event{{"MESSAGE_DELETE", map[string]any{"id": id, "channel_id": channel, "guild_id": s.GuildID}}}, nil
	})
}

// React adds emoji to a message as user: a Unicode emoji ("📌"), or a
// custom one as "name:id".
func (s *Server) React(ctx context.Context, user, channel, id, emoji string) error {
	return s.act(ctx, func() ([]event, error) {
		m, err := s.find(channel, id)
		if err != nil {
			return nil, err
		}
		u := s.users[user]
		if u == nil {
			return nil, fmt.Errorf("discordtest: no user %s", user)
		}
		e := map[string]any{"id": nil, "name": emoji}
		if name, eid, ok := strings.Cut(emoji, ":"); ok {
			e = map[string]any{"id": eid, "name": name}
		}
		member := s.memberJSON(u)
		member["user"] = s.userJSON(u)
		return []event{{"MESSAGE_REACTION_ADD", map[string]any{"user_id": user, "channel_id": channel, "message_id": id,
			"guild_id": s.GuildID, "member": member, "emoji": e, "message_author_id": m.AuthorID, "burst": false, "type": 0}}}, nil
	})
}

// Pin pins a message as user: the CHANNEL_PINNED_MESSAGE system message
// (which says who pinned what) and CHANNEL_PINS_UPDATE (which does not).
func (s *Server) Pin(ctx context.Context, user, channel, id string) error {
	return s.act(ctx, func() ([]event, error) {
		c := s.channels[channel]
		if c == nil {
			return nil, fmt.Errorf("discordtest: no channel %s", channel)
		}
		evs, e := s.pinMessage(c, id, user)
		if e != nil {
			return nil, fmt.Errorf("discordtest: pin: %d %s", e.code, e.message)
		}
		return evs, nil
	})
}

// Option is an option of an interaction, as Discord sends it.
type Option struct {
	Name  string
	Type  int // 3 string, 4 integer, 6 user
	Value any
	// Focused marks the option being typed in an autocomplete
	// interaction (Autocomplete).
	Focused bool
}

// Str is a text option.
func Str(name, v string) Option { return Option{Name: name, Type: 3, Value: v} }

// Int is an integer option.
func Int(name string, v int) Option { return Option{Name: name, Type: 4, Value: v} }

// UserOpt is a user option: the person's ID.
func UserOpt(name, id string) Option { return Option{Name: name, Type: 6, Value: id} }

// String renders the option for test messages.
func (o Option) String() string { return fmt.Sprintf("%s=%v", o.Name, o.Value) }

// Invocation is a slash command as a person runs it: /incident [group]
// sub options...
type Invocation struct {
	Name       string // "incident" when empty
	Group, Sub string
	Options    []Option
}

// Followup is a follow-up message of an interaction.
type Followup struct {
	Content   string
	Ephemeral bool
}

// Interaction is an interaction the fake sent, and what the bot answered.
type Interaction struct {
	s                 *Server
	ID, Token         string
	ChannelID, UserID string
	created           time.Time
	answered          chan struct{}
	status            int // HTTP status of an HTTP delivery
	typ               int // the first answer's type
	content           string
	ephemeral         bool
	edited, deleted   bool
	original          string // the channel message of a public answer
	followups         []Followup
	modal             *Modal
	changed           chan struct{}
	// autocomplete: an APPLICATION_COMMAND_AUTOCOMPLETE interaction,
	// which takes a type 8 answer with its choices, and nothing else.
	autocomplete bool
	choices      []json.RawMessage
	refused      string
}

// Modal is a form the bot answered with (interaction response type 9).
type Modal struct {
	CustomID string
	Title    string
	Fields   []ModalField
}

// ModalField is one text input of a modal.
type ModalField struct {
	CustomID  string `json:"custom_id"`
	Label     string `json:"label"`
	Style     int    `json:"style"`
	Required  bool   `json:"required"`
	MaxLength int    `json:"max_length"`
}

// modalData is a modal response's data as the bot sends it.
type modalData struct {
	CustomID   string `json:"custom_id"`
	Title      string `json:"title"`
	Components []struct {
		Type       int          `json:"type"`
		Components []ModalField `json:"components"`
	} `json:"components"`
}

func (m modalData) modal() *Modal {
	md := &Modal{CustomID: m.CustomID, Title: m.Title}
	for _, row := range m.Components {
		md.Fields = append(md.Fields, row.Components...)
	}
	return md
}

// Answer is a snapshot of what the bot answered.
type Answer struct {
	Status    int // HTTP status (an HTTP delivery)
	Type      int // 4: a message, 5: deferred, 9: a modal (Modal); 0: none yet
	Modal     *Modal
	Content   string
	Ephemeral bool
	Edited    bool
	Deleted   bool
	FollowUps []Followup
	// Choices are an autocomplete answer's (type 8) choices.
	Choices []json.RawMessage
	// Refused is why Discord would refuse the answer (an answer over
	// HTTP is taken by the fake as it came, and its fault noted here).
	Refused string
}

// Answer returns what the bot answered so far.
func (ia *Interaction) Answer() Answer {
	ia.s.mu.Lock()
	defer ia.s.mu.Unlock()
	return ia.snapshot()
}

func (ia *Interaction) snapshot() Answer {
	return Answer{Status: ia.status, Type: ia.typ, Modal: ia.modal, Content: ia.content, Ephemeral: ia.ephemeral, Edited: ia.edited,
		Deleted: ia.deleted, FollowUps: append([]Followup(nil), ia.followups...),
		Choices: slices.Clone(ia.choices), Refused: ia.refused}
}

// Wait waits until cond holds for the answer.
func (ia *Interaction) Wait(ctx context.Context, cond func(Answer) bool) (Answer, error) {
	for {
		ia.s.mu.Lock()
		a, ch := ia.snapshot(), ia.changed
		ia.s.mu.Unlock()
		if cond(a) {
			return a, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return a, fmt.Errorf("discordtest: interaction %s: no answer: %w", ia.ID, ctx.Err())
		}
	}
}

// Visible reports whether the answer shows something: a message, a
// deferral that was edited, or one replaced by follow-ups.
func (a Answer) Visible() bool {
	switch a.Type {
	case 4:
		return true
	case 5:
		return a.Edited || (a.Deleted && len(a.FollowUps) > 0)
	}
	return a.Status != 0 && a.Status != http.StatusOK
}

// Reply waits for a visible answer and returns it as a chat reply:
// "ephemeral" or "in_channel", and the text (follow-ups so far appended).
func (ia *Interaction) Reply(ctx context.Context) (kind, text string, err error) {
	a, err := ia.Wait(ctx, Answer.Visible)
	if err != nil {
		return "", "", err
	}
	if a.Type == 0 {
		return "", "", fmt.Errorf("discordtest: interaction answered HTTP %d", a.Status)
	}
	kind, text = "in_channel", a.Content
	if a.Ephemeral || (a.Type == 5 && a.Deleted) {
		kind = "ephemeral"
	}
	parts := []string{}
	if text != "" || !a.Deleted {
		parts = append(parts, text)
	}
	for _, f := range a.FollowUps {
		parts = append(parts, f.Content)
		if f.Ephemeral {
			kind = "ephemeral"
		}
	}
	return kind, strings.Join(parts, "\n"), nil
}

func (ia *Interaction) notify() {
	close(ia.changed)
	ia.changed = make(chan struct{})
}

// Target makes the fake deliver interactions over HTTP to the bot's
// POST /discord/interactions at baseURL. Without a target they go over the
// gateway.
func (s *Server) Target(baseURL string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.target = strings.TrimSuffix(baseURL, "/")
}

// Sign returns the hex Ed25519 signature of timestamp followed by body,
// with the application's key, as X-Signature-Ed25519 carries it.
func (s *Server) Sign(timestamp string, body []byte) string {
	return hex.EncodeToString(ed25519.Sign(s.private, append([]byte(timestamp), body...)))
}

// Invoke runs an /incident command as user in channel. Over the gateway it
// returns once INTERACTION_CREATE is sent; over HTTP once the bot answered
// the request. Interaction.Reply waits for the answer.
func (s *Server) Invoke(ctx context.Context, user, channel string, inv Invocation) (*Interaction, error) {
	s.mu.Lock()
	u := s.users[user]
	c := s.channels[channel]
	if u == nil || c == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("discordtest: no user %s or channel %s", user, channel)
	}
	ia := &Interaction{s: s, ID: s.nextID(), Token: "itok-" + s.nextID(), ChannelID: channel, UserID: user,
		created: time.Now(), answered: make(chan struct{}), changed: make(chan struct{})}
	s.inter[ia.Token] = ia
	payload := s.interactionJSON(ia, u, c, inv)
	s.mu.Unlock()
	return s.deliverInteraction(ctx, ia, payload)
}

// Autocomplete sends an autocomplete interaction (type 4), as Discord does
// while user types the option marked Focused of inv in channel, over the
// gateway or HTTP as commands go. Interaction.Wait waits for the answer
// (Answer.Type 8 and its Choices; Answer.Refused says what Discord would
// refuse).
func (s *Server) Autocomplete(ctx context.Context, user, channel string, inv Invocation) (*Interaction, error) {
	s.mu.Lock()
	u := s.users[user]
	c := s.channels[channel]
	if u == nil || c == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("discordtest: no user %s or channel %s", user, channel)
	}
	ia := &Interaction{s: s, ID: s.nextID(), Token: "itok-" + s.nextID(), ChannelID: channel, UserID: user,
		created: time.Now(), answered: make(chan struct{}), changed: make(chan struct{}), autocomplete: true}
	s.inter[ia.Token] = ia
	payload := s.interactionJSON(ia, u, c, inv)
	s.mu.Unlock()
	return s.deliverInteraction(ctx, ia, payload)
}

// SubmitModal answers the modal the bot opened in answer to ia, as user,
// with values by field custom ID: a MODAL_SUBMIT interaction, delivered as
// commands are.
func (s *Server) SubmitModal(ctx context.Context, user string, ia *Interaction, values map[string]string) (*Interaction, error) {
	s.mu.Lock()
	u, c, m := s.users[user], s.channels[ia.ChannelID], ia.modal
	if u == nil || c == nil || m == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("discordtest: no modal to submit on interaction %s", ia.ID)
	}
	sub := &Interaction{s: s, ID: s.nextID(), Token: "itok-" + s.nextID(), ChannelID: ia.ChannelID, UserID: user,
		created: time.Now(), answered: make(chan struct{}), changed: make(chan struct{})}
	s.inter[sub.Token] = sub
	var rows []any
	for _, f := range m.Fields {
		rows = append(rows, map[string]any{"type": 1, "components": []any{
			map[string]any{"type": 4, "custom_id": f.CustomID, "value": values[f.CustomID]}}})
	}
	member := s.memberJSON(u)
	member["user"] = s.userJSON(u)
	member["permissions"] = "2147483647"
	payload := map[string]any{
		"id": sub.ID, "application_id": s.AppID, "type": 5, "token": sub.Token, "version": 1,
		"guild_id": s.GuildID, "channel_id": c.ID, "channel": s.channelJSON(c), "member": member,
		"data":            map[string]any{"custom_id": m.CustomID, "components": rows},
		"app_permissions": strconv.FormatInt(s.perms(c), 10), "locale": "en-US", "guild_locale": "en-US",
	}
	s.mu.Unlock()
	return s.deliverInteraction(ctx, sub, payload)
}

// deliverInteraction sends an interaction over the gateway or, with a
// target, over HTTP, and records an HTTP answer.
func (s *Server) deliverInteraction(ctx context.Context, ia *Interaction, payload map[string]any) (*Interaction, error) {
	s.mu.Lock()
	target := s.target
	s.mu.Unlock()
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	if target == "" {
		s.gw.dispatch("INTERACTION_CREATE", json.RawMessage(body))
		return ia, nil
	}
	status, resp, err := s.PostInteraction(ctx, body, strconv.FormatInt(time.Now().Unix(), 10), "")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ia.status = status
	var r responseBody
	if status == http.StatusOK && json.Unmarshal(resp, &r) == nil && r.Type != 0 {
		if e := checkAutocomplete(ia, r); e != nil {
			ia.refused = e.message
		}
		content, flags := "", 0
		if r.Data != nil {
			content, flags = r.Data.Content, r.Data.Flags
			if r.Type == 9 {
				ia.modal = r.Data.modalData.modal()
			}
		}
		s.answer(ia, r.Type, content, flags)
	} else {
		ia.notify()
	}
	return ia, nil
}

// PostInteraction posts body to the bot's interactions route, signed at
// timestamp (with sig when not empty: a forged one), and returns the
// bot's answer.
func (s *Server) PostInteraction(ctx context.Context, body []byte, timestamp, sig string) (int, []byte, error) {
	s.mu.Lock()
	target := s.target
	s.mu.Unlock()
	if target == "" {
		return 0, nil, errors.New("discordtest: no HTTP target")
	}
	if sig == "" {
		sig = s.Sign(timestamp, body)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target+"/discord/interactions", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Discord-Interactions/1.0 (+https://discord.com)")
	req.Header.Set("X-Signature-Ed25519", sig)
	req.Header.Set("X-Signature-Timestamp", timestamp)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// Ping sends Discord's PING, signed; the bot must answer PONG.
func (s *Server) Ping(ctx context.Context) (int, []byte, error) {
	body, _ := json.Marshal(map[string]any{"id": s.nextIDLocked(), "application_id": s.AppID, "type": 1, "token": "itok-ping", "version": 1})
	return s.PostInteraction(ctx, body, strconv.FormatInt(time.Now().Unix(), 10), "")
}

func (s *Server) nextIDLocked() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nextID()
}

// interactionJSON is an APPLICATION_COMMAND interaction. s.mu is held.
func (s *Server) interactionJSON(ia *Interaction, u *User, c *Channel, inv Invocation) map[string]any {
	name := inv.Name
	if name == "" {
		name = "incident"
	}
	users, members := map[string]any{}, map[string]any{}
	typ := 2 // APPLICATION_COMMAND
	if ia.autocomplete {
		typ = 4 // APPLICATION_COMMAND_AUTOCOMPLETE
	}
	var opts []any
	for _, o := range inv.Options {
		oj := map[string]any{"name": o.Name, "type": o.Type, "value": o.Value}
		if o.Focused {
			oj["focused"] = true
		}
		opts = append(opts, oj)
		if id, ok := o.Value.(string); ok && o.Type == 6 {
			if ru := s.users[id]; ru != nil {
				users[id] = s.userJSON(ru)
				members[id] = s.memberJSON(ru)
			}
		}
	}
	var top []any
	switch {
	case inv.Group != "":
		top = []any{map[string]any{"name": inv.Group, "type": 2, "options": []any{
			map[string]any{"name": inv.Sub, "type": 1, "options": opts}}}}
	case inv.Sub != "":
		top = []any{map[string]any{"name": inv.Sub, "type": 1, "options": opts}}
	}
	data := map[string]any{"id": "cmd-" + name, "name": name, "type": 1, "options": top, "guild_id": s.GuildID}
	if len(users) > 0 {
		data["resolved"] = map[string]any{"users": users, "members": members}
	}
	member := s.memberJSON(u)
	member["user"] = s.userJSON(u)
	member["permissions"] = "2147483647"
	return map[string]any{
		"id": ia.ID, "application_id": s.AppID, "type": typ, "token": ia.Token, "version": 1,
		"guild_id": s.GuildID, "channel_id": c.ID, "channel": s.channelJSON(c), "member": member,
		"data": data, "app_permissions": strconv.FormatInt(s.perms(c), 10), "locale": "en-US", "guild_locale": "en-US",
		"context": 0, "authorizing_integration_owners": map[string]any{"0": s.GuildID},
	}
}

// answer records the first answer to ia. s.mu is held.
func (s *Server) answer(ia *Interaction, typ int, content string, flags int) {
	ia.typ, ia.ephemeral = typ, flags&FlagEphemeral != 0
	if typ == 4 {
		ia.content = content
		if !ia.ephemeral {
			m := s.post(ia.ChannelID, s.BotUserID, content, MessageChatInput, nil)
			ia.original = m.ID
			s.gw.dispatch("MESSAGE_CREATE", s.messageJSON(m))
		}
	}
	close(ia.answered)
	ia.notify()
}

type responseBody struct {
	Type int `json:"type"`
	Data *struct {
		Content string `json:"content"`
		Flags   int    `json:"flags"`
		// Choices is nil when the answer has no "choices" array.
		Choices *[]json.RawMessage `json:"choices"`
		modalData
	} `json:"data"`
}

// checkAutocomplete applies Discord's rule for the answer to an
// autocomplete interaction: type 8 (APPLICATION_COMMAND_AUTOCOMPLETE_RESULT)
// with a "choices" array of at most 25, which may be empty; a command's
// interaction may not be answered with type 8. It records the choices.
// https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object-autocomplete
func checkAutocomplete(ia *Interaction, b responseBody) *apiError {
	if !ia.autocomplete {
		if b.Type == 8 {
			return invalidForm("type", "an autocomplete result answers only an autocomplete interaction")
		}
		return nil
	}
	switch {
	case b.Type != 8:
		return invalidForm("type", "an autocomplete interaction takes an autocomplete result (8)")
	case b.Data == nil || b.Data.Choices == nil:
		return invalidForm("data.choices", "This field is required")
	case len(*b.Data.Choices) > 25:
		return invalidForm("data.choices", "Must be 25 or fewer in length.")
	}
	ia.choices = *b.Data.Choices
	return nil
}

// callback is POST /interactions/{id}/{token}/callback: the first answer
// of an interaction that came over the gateway.
func (s *Server) callback(q *request) (int, any) {
	ia := s.inter[q.r.PathValue("token")]
	if ia == nil || ia.ID != q.r.PathValue("id") || time.Since(ia.created) > s.InteractionDeadline {
		return 0, fail(http.StatusNotFound, 10062)
	}
	if ia.typ != 0 {
		return 0, fail(http.StatusBadRequest, 40060)
	}
	var b responseBody
	if e := q.decode(&b); e != nil {
		return 0, e
	}
	if e := checkAutocomplete(ia, b); e != nil {
		ia.refused = e.message
		ia.notify()
		return 0, e
	}
	if b.Type != 4 && b.Type != 5 && b.Type != 9 && b.Type != 8 {
		return 0, invalidForm("type", "not a response to a command")
	}
	content, flags := "", 0
	if b.Data != nil {
		content, flags = b.Data.Content, b.Data.Flags
	}
	if b.Type == 9 {
		if b.Data == nil || b.Data.CustomID == "" || len(b.Data.Components) == 0 || len(b.Data.Components) > 5 ||
			b.Data.Title == "" || len([]rune(b.Data.Title)) > 45 {
			return 0, invalidForm("data", "a modal needs a custom_id, a title of at most 45 characters and 1 to 5 rows")
		}
		ia.modal = b.Data.modalData.modal()
	}
	if b.Type == 4 && content == "" {
		return 0, fail(http.StatusBadRequest, 50006)
	}
	if len([]rune(content)) > 2000 {
		return 0, invalidForm("data.content", "Must be 2000 or fewer in length.")
	}
	s.answer(ia, b.Type, content, flags)
	return http.StatusNoContent, nil
}

// awaitAnswered waits (without s.mu) until the interaction of a webhook
// call has its first answer: Discord processes the answer before any
// follow-up to it.
func (s *Server) awaitAnswered(token string) {
	s.mu.Lock()
	ia := s.inter[token]
	s.mu.Unlock()
	if ia == nil {
		return
	}
	select {
	case <-ia.answered:
	case <-time.After(5 * time.Second):
	}
}

func (s *Server) webhook(q *request) (*Interaction, *apiError) {
	ia := s.inter[q.r.PathValue("token")]
	if q.r.PathValue("app") != s.AppID || ia == nil || ia.typ == 0 {
		return nil, fail(http.StatusNotFound, 10015)
	}
	return ia, nil
}

func (s *Server) followUp(q *request) (int, any) {
	ia, e := s.webhook(q)
	if e != nil {
		return 0, e
	}
	var b struct {
		Content string `json:"content"`
		Flags   int    `json:"flags"`
	}
	if e := q.decode(&b); e != nil {
		return 0, e
	}
	if b.Content == "" {
		return 0, fail(http.StatusBadRequest, 50006)
	}
	if len([]rune(b.Content)) > 2000 {
		return 0, invalidForm("content", "Must be 2000 or fewer in length.")
	}
	f := Followup{Content: b.Content, Ephemeral: b.Flags&FlagEphemeral != 0}
	ia.followups = append(ia.followups, f)
	m := &Message{ID: s.nextID(), ChannelID: ia.ChannelID, AuthorID: s.BotUserID, Content: b.Content, Type: MessageChatInput, Timestamp: time.Now().UTC()}
	if !f.Ephemeral {
		s.messages[ia.ChannelID] = append(s.messages[ia.ChannelID], m)
		s.gw.dispatch("MESSAGE_CREATE", s.messageJSON(m))
	}
	ia.notify()
	return http.StatusOK, s.messageJSON(m)
}

func (s *Server) editOriginal(q *request) (int, any) {
	ia, e := s.webhook(q)
	if e != nil {
		return 0, e
	}
	if q.r.PathValue("message") != "@original" {
		return 0, fail(http.StatusNotFound, 10008)
	}
	var b struct {
		Content *string `json:"content"`
	}
	if e := q.decode(&b); e != nil {
		return 0, e
	}
	if b.Content != nil {
		if len([]rune(*b.Content)) > 2000 {
			return 0, invalidForm("content", "Must be 2000 or fewer in length.")
		}
		ia.content = *b.Content
	}
	ia.edited = true
	var m *Message
	switch {
	case ia.original != "":
		m = s.message(ia.ChannelID, ia.original)
		now := time.Now().UTC()
		m.Content, m.EditedAt = ia.content, &now
		s.gw.dispatch("MESSAGE_UPDATE", s.messageJSON(m))
	case !ia.ephemeral:
		// A deferred public answer appears in the channel when it is
		// filled in.
		m = s.post(ia.ChannelID, s.BotUserID, ia.content, MessageChatInput, nil)
		ia.original = m.ID
		s.gw.dispatch("MESSAGE_CREATE", s.messageJSON(m))
	default:
		m = &Message{ID: ia.ID, ChannelID: ia.ChannelID, AuthorID: s.BotUserID, Content: ia.content, Type: MessageChatInput, Timestamp: time.Now().UTC()}
	}
	ia.notify()
	return http.StatusOK, s.messageJSON(m)
}

func (s *Server) deleteOriginal(q *request) (int, any) {
	ia, e := s.webhook(q)
	if e != nil {
		return 0, e
	}
	if q.r.PathValue("message") != "@original" {
		return 0, fail(http.StatusNotFound, 10008)
	}
	ia.deleted = true
	if m := s.message(ia.ChannelID, ia.original); m != nil {
		m.Deleted = true
		s.gw.dispatch("MESSAGE_DELETE", map[string]any{"id": m.ID, "channel_id": m.ChannelID, "guild_id": s.GuildID})
	}
	ia.notify()
	return http.StatusNoContent, nil
}
