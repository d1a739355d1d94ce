package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows"
)

// lookupTimeout bounds a REST lookup made while an event or a command
// waits: a thread's parent, a pinned message's text.
const lookupTimeout = 3 * time.Second

// channelInfo is what debrief keeps of a guild channel.
type channelInfo struct {
	typ    discordgo.ChannelType
	parent string // a thread's channel (a channel's category is not kept)
	name   string
}

// channelCache knows the guild's channels and threads, from GUILD_CREATE,
// CHANNEL_* and THREAD_* events, so that a message in a thread is tied to
// its incident channel without asking Discord. A channel never changes
// type, and a thread never changes parent, so entries do not expire.
type channelCache struct {
	mu    sync.Mutex
	m     map[string]channelInfo
	roles map[string]string // role ID -> name
}

func (c *channelCache) init() {
	c.m = map[string]channelInfo{}
	c.roles = map[string]string{}
}

func (c *channelCache) put(id string, typ discordgo.ChannelType, parent, name string) {
	if id == "" {
		return
	}
	if !isThread(typ) {
		parent = ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[id] = channelInfo{typ: typ, parent: parent, name: name}
}

func (c *channelCache) get(id string) (channelInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ci, ok := c.m[id]
	return ci, ok
}

func (c *channelCache) name(id string) string {
	ci, _ := c.get(id)
	return ci.name
}

func (c *channelCache) role(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.roles[id]
}

func isThread(t discordgo.ChannelType) bool {
	return t == discordgo.ChannelTypeGuildPublicThread || t == discordgo.ChannelTypeGuildPrivateThread ||
		t == discordgo.ChannelTypeGuildNewsThread
}

// incidentChannel returns the channel a message or command in channel id
// belongs to: the thread's parent for a thread, the channel itself
// otherwise. An unknown channel is looked up once; a lookup that fails for
// a reason retrying can fix is an error.
func (d *Discord) incidentChannel(ctx context.Context, id string) (string, error) {
	if ci, ok := d.channels.get(id); ok {
		if ci.parent != "" {
			return ci.parent, nil
		}
		return id, nil
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	c, err := d.api.Channel(id, discordgo.WithContext(ctx))
	if err != nil {
		err = classify("get channel "+id, err)
		var perm *workflows.PermanentError
		if errors.As(err, &perm) {
			// Unknown or hidden from the bot: not a channel it could
			// record, and asking again will not change that.
			d.channels.put(id, discordgo.ChannelTypeGuildText, "", "")
			return id, nil
		}
		return "", err
	}
	d.channels.put(c.ID, c.Type, c.ParentID, c.Name)
	if isThread(c.Type) && c.ParentID != "" {
		return c.ParentID, nil
	}
	return id, nil
}

// guild is the part of GUILD_CREATE debrief reads.
type guild struct {
	ID       string               `json:"id"`
	Channels []*discordgo.Channel `json:"channels"`
	Threads  []*discordgo.Channel `json:"threads"`
	Roles    []*discordgo.Role    `json:"roles"`
}

// dispatch handles one gateway event. It returns an error only when the
// event was not committed and must be replayed: a dispatch that returns
// nil is never seen again.
func (d *Discord) dispatch(ctx context.Context, t string, raw json.RawMessage) error {
	switch t {
	case "GUILD_CREATE":
		var g guild
		if err := json.Unmarshal(raw, &g); err != nil || g.ID != d.cfg.GuildID {
			return nil
		}
		for _, c := range g.Channels {
			d.channels.put(c.ID, c.Type, c.ParentID, c.Name)
		}
		for _, c := range g.Threads {
			d.channels.put(c.ID, c.Type, c.ParentID, c.Name)
		}
		d.channels.mu.Lock()
		for _, r := range g.Roles {
			d.channels.roles[r.ID] = r.Name
		}
		d.channels.mu.Unlock()
	case "CHANNEL_CREATE", "CHANNEL_UPDATE", "THREAD_CREATE", "THREAD_UPDATE":
		var c discordgo.Channel
		if json.Unmarshal(raw, &c) == nil && c.GuildID == d.cfg.GuildID {
			d.channels.put(c.ID, c.Type, c.ParentID, c.Name)
		}
	case "THREAD_LIST_SYNC":
		var s discordgo.ThreadListSync
		if json.Unmarshal(raw, &s) == nil && s.GuildID == d.cfg.GuildID {
			for _, c := range s.Threads {
				d.channels.put(c.ID, c.Type, c.ParentID, c.Name)
			}
		}
	case "MESSAGE_CREATE":
		m, err := decodeMessage(raw)
		if err != nil {
			return d.malformed(ctx, t, err)
		}
		return d.record(ctx, m.Message, d.created(m))
	case "MESSAGE_UPDATE":
		m, err := decodeMessage(raw)
		if err != nil {
			return d.malformed(ctx, t, err)
		}
		return d.record(ctx, m.Message, d.updated(m))
	case "MESSAGE_DELETE":
		var m discordgo.Message
		if err := json.Unmarshal(raw, &m); err != nil {
			return d.malformed(ctx, t, err)
		}
		return d.record(ctx, &m, d.deleted(&m))
	case "MESSAGE_REACTION_ADD":
		var r discordgo.MessageReactionAdd
		if err := json.Unmarshal(raw, &r); err != nil || r.MessageReaction == nil {
			return d.malformed(ctx, t, err)
		}
		if d.isEmoji(r.Emoji, d.cfg.NearMissEmoji) {
			return d.nearMiss(ctx, &r)
		}
		m := &discordgo.Message{ID: r.MessageID, ChannelID: r.ChannelID, GuildID: r.GuildID}
		return d.record(ctx, m, d.reacted(&r))
	case "INTERACTION_CREATE":
		var i discordgo.Interaction
		if err := json.Unmarshal(raw, &i); err != nil {
			return d.malformed(ctx, t, err)
		}
		// Answered apart from the event loop, which must not wait up to
		// DeferAfter per command; the work is tracked for shutdown.
		d.bg.Go(func() { d.gatewayInteraction(context.WithoutCancel(ctx), &i) })
	}
	// CHANNEL_PINS_UPDATE carries neither the message nor who pinned it;
	// the CHANNEL_PINNED_MESSAGE system message (see created) carries both.
	return nil
}

// malformed drops an event debrief cannot read: replaying it would not
// make it readable.
func (d *Discord) malformed(ctx context.Context, t string, err error) error {
	d.log.WarnContext(ctx, "malformed gateway event", "event", t, "err", err)
	return nil
}

// translator turns a message event into timeline entries, given the
// incident channel it belongs to and the incident's ID; none for what is
// not recorded.
type translator func(ctx context.Context, ch, incident string) []bot.TimelineEvent

// record commits what tr makes of an event in channel m.ChannelID (or a
// thread of it) to the incident's timeline, when the channel is an
// incident channel. Events of other guilds, and of other channels, are
// only chat.
func (d *Discord) record(ctx context.Context, m *discordgo.Message, tr translator) error {
	if m.GuildID != d.cfg.GuildID || m.ChannelID == "" {
		return nil
	}
	chID, err := d.incidentChannel(ctx, m.ChannelID)
	if err != nil {
		return err
	}
	ch := bot.Channel{Platform: bot.Discord, ID: chID}
	incident, err := d.svc.IncidentFor(ctx, ch)
	if bot.ErrorCode(err) == bot.ENOTFOUND {
		return nil
	}
	if err != nil {
		return fmt.Errorf("discord: incident of %s: %w", chID, err)
	}
	evs := tr(ctx, chID, incident)
	for _, ev := range evs {
		if ev.ThreadID == "" && m.ChannelID != chID {
			ev.ThreadID = m.ChannelID
		}
		if _, err := d.svc.Record(ctx, ch, ev); bot.ErrorCode(err) == bot.EINVALID {
			// It can never be stored: acknowledged (the sequence moves
			// on) and logged, never redelivered forever.
			d.log.WarnContext(ctx, "event dropped: it cannot be stored", "incident", incident, "channel", chID, "kind", ev.Kind, "err", err)
			continue
		} else if err != nil {
			d.log.ErrorContext(ctx, "event not recorded", "incident", incident, "channel", chID, "kind", ev.Kind, "err", err)
			return err
		}
	}
	if len(evs) > 0 && d.log.Enabled(ctx, slog.LevelDebug) {
		d.log.DebugContext(ctx, "event recorded", "incident", incident, "channel", chID, "kind", evs[0].Kind, "message", m.ID)
	}
	return nil
}

// messageKey is a message's dedupe key. Snowflakes sort by time, so keys
// of one channel grow at the right edge of the dedupe index.
func messageKey(ch, id string) string { return "discord/" + ch + "/" + id }

// The message types recorded; the rest (joins, boosts, thread starters)
// are Discord's housekeeping, not something said.
// https://discord.com/developers/docs/resources/message#message-object-message-types
var saidTypes = map[discordgo.MessageType]bool{
	discordgo.MessageTypeDefault:          true,
	discordgo.MessageTypeReply:            true,
	discordgo.MessageTypeChatInputCommand: true, // the bot's answers to /incident
}

// message is a message event: discordgo's Message, and the guild members
// its mentions carry (gateway mentions come with a partial member, which
// holds the guild nickname).
type message struct {
	*discordgo.Message
	members map[string]*discordgo.Member
}

func decodeMessage(raw json.RawMessage) (message, error) {
	m := message{Message: &discordgo.Message{}}
	if err := json.Unmarshal(raw, m.Message); err != nil {
		return message{}, err
	}
	var extra struct {
		Mentions []struct {
			ID     string            `json:"id"`
			Member *discordgo.Member `json:"member"`
		} `json:"mentions"`
	}
	if json.Unmarshal(raw, &extra) == nil {
		for _, u := range extra.Mentions {
			if u.Member != nil {
				if m.members == nil {
					m.members = map[string]*discordgo.Member{}
				}
				m.members[u.ID] = u.Member
			}
		}
	}
	return m, nil
}

// created translates MESSAGE_CREATE: the message's text (its content,
// embeds and what it forwards: body), then each attachment by name and
// the link of the message carrying it (a sticker alone says nothing); or
// a pin, from the CHANNEL_PINNED_MESSAGE system message, which names who
// pinned which message.
func (d *Discord) created(m message) translator {
	return func(ctx context.Context, ch, incident string) []bot.TimelineEvent {
		if m.Type == discordgo.MessageTypeChannelPinnedMessage {
			return d.pinned(ctx, m, ch, incident)
		}
		if !saidTypes[m.Type] {
			return nil
		}
		var evs []bot.TimelineEvent
		ev := d.said(m, ch, bot.EventMessage)
		if ev.Text != "" {
			ev.URL = origin(m.Message)
			evs = append(evs, ev)
		}
		for i, a := range files(m.Message) {
			ev := d.said(m, ch, bot.EventFile)
			// The message's link, not the attachment's signed CDN URL,
			// which is dead within a day (messageLink).
			ev.Text, ev.URL = a.Filename, messageLink(d.cfg.GuildID, m.ChannelID, m.ID)
			ev.DedupeKey = messageKey(ch, m.ID) + "/file/" + strconv.Itoa(i)
			evs = append(evs, ev)
		}
		return evs
	}
}

// said is the timeline entry of message m in incident channel ch.
func (d *Discord) said(m message, ch string, kind bot.EventKind) bot.TimelineEvent {
	at := m.Timestamp
	if at.IsZero() {
		at = snowflakeTime(m.ID)
	}
	ev := bot.TimelineEvent{
		Kind: kind, Author: userOf(m.Author, m.Member), Text: d.body(m),
		MessageID: m.ID, PlatformAt: at.UTC(), DedupeKey: messageKey(ch, m.ID),
	}
	d.ownAction(&ev, m.Author)
	return ev
}

// names resolves the mentions of m: the people from its mentions (with
// their guild names), channels and roles from the cache.
func (d *Discord) names(m message) names {
	n := names{users: map[string]string{}, channel: d.channels.name, role: d.channels.role}
	for _, u := range m.Mentions {
		n.users[u.ID] = personOf(u, m.members[u.ID]).name
	}
	return n
}

// ownAction marks what bots said or did as bot actions: debrief's own
// posts come back as events, and they are on the record but never
// answered, so nothing loops.
func (d *Discord) ownAction(ev *bot.TimelineEvent, u *discordgo.User) {
	if u != nil && (u.Bot || u.System || u.ID == d.knownSelf()) {
		ev.Kind = bot.EventBot
	}
}

// updated translates MESSAGE_UPDATE. Only a new text is an edit: Discord
// also "updates" a message to add a link preview or the pinned flag,
// without an edited_timestamp, or with the one of the last real edit
// (whose key is then already stored).
func (d *Discord) updated(m message) translator {
	return func(ctx context.Context, ch, incident string) []bot.TimelineEvent {
		if m.EditedTimestamp == nil || m.ID == "" || !saidTypes[m.Type] {
			return nil
		}
		ev := d.said(m, ch, bot.EventEdit)
		if m.Author == nil {
			// A partial update: who wrote it is on the record.
			if prev, ok := d.onRecord(ctx, incident, m.ID); ok {
				ev.Author = prev.Author
				d.ownActionOf(&ev, prev)
			}
		}
		ev.PlatformAt = m.EditedTimestamp.UTC()
		ev.DedupeKey = messageKey(ch, m.ID) + "/edit/" + m.EditedTimestamp.UTC().Format(time.RFC3339Nano)
		return []bot.TimelineEvent{ev}
	}
}

// ownActionOf keeps a bot action a bot action.
func (d *Discord) ownActionOf(ev *bot.TimelineEvent, prev bot.TimelineEvent) {
	if prev.Kind == bot.EventBot {
		ev.Kind = bot.EventBot
	}
}

// deleted translates MESSAGE_DELETE, which carries only the message's ID:
// who wrote it and what it said come from the timeline, where it was
// recorded when it was said, as on Slack. Discord does not say who
// deleted it.
func (d *Discord) deleted(m *discordgo.Message) translator {
	return func(ctx context.Context, ch, incident string) []bot.TimelineEvent {
		if m.ID == "" {
			return nil
		}
		ev := bot.TimelineEvent{
			Kind: bot.EventDelete, Author: unknownUser, Text: "(not on the record)",
			MessageID: m.ID, PlatformAt: d.now().UTC(), DedupeKey: messageKey(ch, m.ID) + "/delete",
		}
		if prev, ok := d.onRecord(ctx, incident, m.ID); ok {
			ev.Author, ev.Text, ev.ThreadID = prev.Author, prev.Text, prev.ThreadID
			d.ownActionOf(&ev, prev)
		}
		return []bot.TimelineEvent{ev}
	}
}

// onRecord returns the latest timeline entry of message id (its text after
// edits) in the incident's timeline.
func (d *Discord) onRecord(ctx context.Context, incident, id string) (bot.TimelineEvent, bool) {
	ev, ok, err := d.svc.FindBack(ctx, incident, func(ev bot.TimelineEvent) bool {
		if ev.MessageID != id {
			return false
		}
		switch ev.Kind {
		case bot.EventMessage, bot.EventEdit, bot.EventBot:
			return true
		}
		return false
	})
	if err != nil {
		d.log.WarnContext(ctx, "timeline unreadable", "incident", incident, "err", err)
		return bot.TimelineEvent{}, false
	}
	return ev, ok
}

// reacted translates MESSAGE_REACTION_ADD: the key emoji marks the message
// as a key event; other reactions are not recorded.
func (d *Discord) reacted(r *discordgo.MessageReactionAdd) translator {
	return func(ctx context.Context, ch, incident string) []bot.TimelineEvent {
		if !d.isKeyEmoji(r.Emoji) {
			return nil
		}
		var u *discordgo.User
		if r.Member != nil {
			u = r.Member.User
		}
		if u == nil {
			u = &discordgo.User{ID: r.UserID}
		}
		ev := bot.TimelineEvent{
			Kind: bot.EventKey, Author: userOf(u, r.Member),
			Text:      fmt.Sprintf("marked a message as a key event (%s)", emojiText(r.Emoji)),
			MessageID: r.MessageID, PlatformAt: d.now().UTC(),
			DedupeKey: messageKey(ch, r.MessageID) + "/react/" + r.UserID + "/" + r.Emoji.APIName(),
		}
		d.ownAction(&ev, u)
		return []bot.TimelineEvent{ev}
	}
}

// isKeyEmoji reports whether e is the configured key emoji: a Unicode
// emoji by itself, a custom one by name, name:id or id.
func (d *Discord) isKeyEmoji(e discordgo.Emoji) bool { return d.isEmoji(e, d.cfg.KeyEmoji) }

// isEmoji reports whether e is k: a Unicode emoji by itself, a custom one
// by name, name:id or id.
func (d *Discord) isEmoji(e discordgo.Emoji, k string) bool {
	if e.ID == "" {
		return e.Name == k
	}
	return k == e.Name || k == e.ID || k == e.Name+":"+e.ID
}

// pinned translates a CHANNEL_PINNED_MESSAGE system message: its author
// pinned the message it references. The pinned message's text comes from
// the timeline, or from Discord when it is not on the record.
func (d *Discord) pinned(ctx context.Context, m message, ch, incident string) []bot.TimelineEvent {
	if m.MessageReference == nil || m.MessageReference.MessageID == "" {
		return nil
	}
	id := m.MessageReference.MessageID
	text := "pinned a message"
	if prev, ok := d.onRecord(ctx, incident, id); ok {
		text = "pinned: " + prev.Text
	} else {
		lctx, cancel := context.WithTimeout(ctx, lookupTimeout)
		pm, err := d.api.ChannelMessage(m.ChannelID, id, discordgo.WithContext(lctx))
		cancel()
		if err == nil {
			text = "pinned: " + plainText(pm.Content, d.names(message{Message: pm}))
		} else {
			d.log.WarnContext(ctx, "pinned message unreadable", "incident", incident, "message", id, "err", classify("get message", err))
		}
	}
	ev := d.said(m, ch, bot.EventKey)
	ev.Text, ev.MessageID = text, id
	return []bot.TimelineEvent{ev}
}

// nearMiss records the message a near-miss reaction marked, in any channel
// of the guild: its text and author (GET the message), its link, who
// reacted. The message's identity is the near miss's source, so a second
// reaction or a replayed event records it once. An error keeps the event
// unacknowledged (the sequence is not advanced), for a resume to replay.
func (d *Discord) nearMiss(ctx context.Context, r *discordgo.MessageReactionAdd) error {
	if r.GuildID != "" && r.GuildID != d.cfg.GuildID {
		return nil
	}
	lctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	pm, err := d.api.ChannelMessage(r.ChannelID, r.MessageID, discordgo.WithContext(lctx))
	cancel()
	if restCode(err) == codeUnknownMessage {
		return nil // deleted since: nothing to record
	}
	if err != nil {
		return classify("get message", err)
	}
	var reactor *discordgo.User
	if r.Member != nil {
		reactor = r.Member.User
	}
	if reactor == nil {
		reactor = &discordgo.User{ID: r.UserID}
	}
	var author bot.User
	if pm.Author != nil {
		author = userOf(pm.Author, pm.Member)
	}
	nm, dup, err := d.svc.RecordNearMiss(ctx, store.NearMiss{
		Text: plainText(pm.Content, d.names(message{Message: pm})), Reporter: userOf(reactor, r.Member), Author: author,
		Channel: bot.Channel{Platform: bot.Discord, ID: r.ChannelID}, At: pm.Timestamp,
		Permalink: "https://discord.com/channels/" + d.cfg.GuildID + "/" + r.ChannelID + "/" + r.MessageID,
		Source:    messageKey(r.ChannelID, r.MessageID),
	})
	if bot.ErrorCode(err) == bot.EINVALID {
		return nil // a message with no text: nothing to record or replay
	}
	if err != nil {
		return err
	}
	d.log.InfoContext(ctx, "near miss", "id", nm.ID, "channel", r.ChannelID, "duplicate", dup)
	return nil
}
