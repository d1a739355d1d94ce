package discord

import (
	"strings"

	"github.com/bwmarrin/discordgo"
)

// What a message says is more than its content: bots, webhooks and CI post
// embeds without content, and a forwarded message carries its text in
// message_snapshots. body and files read all of it, for MESSAGE_CREATE,
// MESSAGE_UPDATE and the history read back after an outage alike
// (README, "In Discord": what the timeline records of a message).

// body is the text of m for its timeline entry: its content, then its
// embeds', then the forwarded message's, each in plain text.
func (d *Discord) body(m message) string {
	n := d.names(m)
	parts := []string{}
	if m.Content != "" {
		parts = append(parts, plainText(m.Content, n))
	}
	parts = append(parts, embedsText(m.Embeds, n)...)
	if fwd, ok := forwarded(m.Message); ok {
		text := fwd.Content
		if text != "" {
			text = plainText(text, n)
		}
		inner := append([]string{}, embedsText(fwd.Embeds, n)...)
		if text != "" {
			inner = append([]string{text}, inner...)
		}
		if len(inner) == 0 {
			// Only files (recorded apart) or a sticker: the forward is
			// on the record still, with where it came from.
			parts = append(parts, "forwarded a message")
		} else {
			parts = append(parts, "forwarded: "+strings.Join(inner, "\n"))
		}
	}
	return strings.Join(parts, "\n")
}

// forwarded returns the message m forwards: a message_reference of type
// FORWARD (1) and its first snapshot (Discord sends one). The snapshot has
// no author, ID or channel: where it came from is the reference.
// https://discord.com/developers/docs/resources/message#message-snapshot-object
func forwarded(m *discordgo.Message) (*discordgo.Message, bool) {
	if m.MessageReference == nil || m.MessageReference.Type != discordgo.MessageReferenceTypeForward ||
		len(m.MessageSnapshots) == 0 || m.MessageSnapshots[0].Message == nil {
		return nil, false
	}
	return m.MessageSnapshots[0].Message, true
}

// origin is the link to the message m forwards, "" when m forwards
// nothing or the reference does not say where from.
func origin(m *discordgo.Message) string {
	if _, ok := forwarded(m); !ok {
		return ""
	}
	r := m.MessageReference
	if r.ChannelID == "" || r.MessageID == "" {
		return ""
	}
	guild := r.GuildID
	if guild == "" {
		guild = "@me" // a forward out of a DM
	}
	return messageLink(guild, r.ChannelID, r.MessageID)
}

// files are the attachments of m and of the message it forwards, in that
// order (a file's place in it is part of its dedupe key).
func files(m *discordgo.Message) []*discordgo.MessageAttachment {
	out := append([]*discordgo.MessageAttachment{}, m.Attachments...)
	if fwd, ok := forwarded(m); ok {
		out = append(out, fwd.Attachments...)
	}
	return out
}

// messageLink is a message's address in Discord's clients. It never
// expires, unlike an attachment's CDN URL, which Discord signs for about
// a day (its ex=, is= and hm= parameters): a file is linked by the
// message that carries it, which opens it for whoever may see the
// channel.
// https://discord.com/developers/docs/reference#signed-attachment-cdn-urls
func messageLink(guild, channel, message string) string {
	return "https://discord.com/channels/" + guild + "/" + channel + "/" + message
}

// blank is what bots pad embeds with: white space and the zero-width
// space.
const blank = " \t\r\n\u200b"

// embedsText renders the embeds people or bots wrote (type "rich", the
// only type a bot or webhook can send): author, title, description,
// fields as "name: value", footer, and the title's URL. Embeds Discord
// adds itself (link previews: "link", "article", "image", "video",
// "gifv") only repeat a URL of the content, and are left out.
// https://discord.com/developers/docs/resources/message#embed-object
func embedsText(es []*discordgo.MessageEmbed, n names) []string {
	var out []string
	for _, e := range es {
		if e == nil || (e.Type != "" && e.Type != discordgo.EmbedTypeRich) {
			continue
		}
		var lines []string
		add := func(s string) {
			if s = strings.Trim(s, blank); s != "" {
				lines = append(lines, plainText(s, n))
			}
		}
		if e.Author != nil {
			add(e.Author.Name)
		}
		switch {
		case e.Title != "" && e.URL != "":
			add(e.Title + " (" + e.URL + ")")
		case e.Title != "":
			add(e.Title)
		default:
			add(e.URL)
		}
		add(e.Description)
		for _, f := range e.Fields {
			if f == nil {
				continue
			}
			// A field's name is required, so bots put a zero-width
			// space in the ones they mean to leave blank.
			name, value := strings.Trim(f.Name, blank), strings.Trim(f.Value, blank)
			switch {
			case name != "" && value != "":
				add(name + ": " + value)
			default:
				add(name + value)
			}
		}
		if e.Footer != nil {
			add(e.Footer.Text)
		}
		if len(lines) > 0 {
			out = append(out, strings.Join(lines, "\n"))
		}
	}
	return out
}
