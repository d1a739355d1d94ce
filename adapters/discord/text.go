package discord

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
	"github.com/debrief/debrief/bot"
)

func runeLen(s string) int { return utf8.RuneCountInString(s) }

// truncate cuts s to at most n characters, marking the cut, as every
// adapter does: the rule is bot's.
var truncate = bot.Truncate

// cutLines returns the longest prefix of s of at most n characters that
// ends at a line break, or the first n characters when the first line is
// longer than that.
func cutLines(s string, n int) string {
	if runeLen(s) <= n {
		return s
	}
	r := []rune(s)[:n]
	head := string(r)
	if i := strings.LastIndexByte(head, '\n'); i > 0 {
		return head[:i]
	}
	return head
}

// split cuts s into pieces of at most n characters, at line breaks where
// it can: a reply longer than one Discord message becomes several.
func split(s string, n int) []string {
	var out []string
	for runeLen(s) > n {
		head := cutLines(s, n)
		out = append(out, head)
		s = strings.TrimPrefix(s[len(head):], "\n")
	}
	return append(out, s)
}

// person is what debrief calls a Discord user.
type person struct {
	name   string // what Discord shows: guild nickname, else display name, else username
	handle string // the username: one word
}

func personOf(u *discordgo.User, m *discordgo.Member) person {
	if u == nil {
		return person{}
	}
	p := person{name: u.Username, handle: u.Username}
	if u.GlobalName != "" {
		p.name = u.GlobalName
	}
	if m != nil && m.Nick != "" {
		p.name = m.Nick
	}
	return p
}

// label is how a mention names the person in command text: a mention
// token carries one word, so a name with a space (or markup) in it is
// given as the one-word username instead, as on Slack.
func (p person) label() string { return bot.MentionName(p.name, p.handle) }

// userOf is the bot.User for a Discord user.
func userOf(u *discordgo.User, m *discordgo.Member) bot.User {
	if u == nil {
		return unknownUser
	}
	return bot.User{Platform: bot.Discord, ID: u.ID, Name: personOf(u, m).name}
}

// unknownUser authors what Discord does not say who did (a message
// deleted before it was on the record).
var unknownUser = bot.User{Platform: bot.Discord, Name: "unknown"}

// mention renders a user for command text as the neutral mention token
// bot.Parse reads (Discord's own <@id> is markup the grammar does not
// know), named by its label.
func mention(id string, p person) string {
	return bot.MentionToken(bot.User{ID: id, Name: p.label()})
}

// names resolves the markup of a message for plainText.
type names struct {
	users   map[string]string // user ID -> name
	channel func(id string) string
	role    func(id string) string
}

// plainText renders a message's content for the timeline, where people
// read it in the API, the export and the post-mortem: markup becomes what
// Discord shows. <@id> and <@!id> become @name, <#id> #channel, <@&id>
// @role, <:name:id> :name:, <t:unix:style> the time in UTC. Markdown is
// kept as typed.
// https://discord.com/developers/docs/reference#message-formatting
func plainText(s string, n names) string {
	if !strings.Contains(s, "<") {
		return s
	}
	var b strings.Builder
	for s != "" {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		// A '<' that opens no markup ("<- see") is text: go on after it.
		r, ok := markup(s[i+1:i+j], n)
		if !ok {
			b.WriteByte('<')
			s = s[i+1:]
			continue
		}
		b.WriteString(r)
		s = s[i+j+1:]
	}
	return b.String()
}

func markup(m string, n names) (string, bool) {
	switch {
	case strings.HasPrefix(m, "@&"):
		id := m[2:]
		if !isSnowflake(id) {
			return "", false
		}
		if n.role != nil {
			if name := n.role(id); name != "" {
				return "@" + name, true
			}
		}
		return "@role", true
	case strings.HasPrefix(m, "@"):
		id := strings.TrimPrefix(m[1:], "!")
		if !isSnowflake(id) {
			return "", false
		}
		if name := n.users[id]; name != "" {
			return "@" + name, true
		}
		return "@" + id, true
	case strings.HasPrefix(m, "#"):
		id := m[1:]
		if !isSnowflake(id) {
			return "", false
		}
		if n.channel != nil {
			if name := n.channel(id); name != "" {
				return "#" + name, true
			}
		}
		return "#" + id, true
	case strings.HasPrefix(m, ":"), strings.HasPrefix(m, "a:"):
		parts := strings.Split(strings.TrimPrefix(m, "a"), ":")
		if len(parts) == 3 && parts[1] != "" && isSnowflake(parts[2]) {
			return ":" + parts[1] + ":", true
		}
	case strings.HasPrefix(m, "t:"):
		parts := strings.Split(m, ":")
		if len(parts) < 2 || len(parts) > 3 {
			return "", false
		}
		sec, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil {
			return "", false
		}
		return time.Unix(sec, 0).UTC().Format("2006-01-02 15:04 UTC"), true
	}
	return "", false
}

// discordText prepares text the bot generated for a Discord message: each
// time token in it (bot.TimeToken) becomes Discord's timestamp markup
// <t:unix:style>, which Discord shows in each reader's own zone. The
// token's styles are Discord's letters. People's text cannot carry a token
// (bot.DefuseTimes).
// https://discord.com/developers/docs/reference#message-formatting-timestamp-styles
func discordText(s string) string {
	return bot.ExpandTimes(s, func(st bot.Stamp) string {
		return "<t:" + strconv.FormatInt(st.At.Unix(), 10) + ":" + string(st.Style) + ">"
	}, nil)
}

// emojiText renders a reaction's emoji: a Unicode emoji as itself, a
// custom one as :name:.
func emojiText(e discordgo.Emoji) string {
	if e.ID != "" {
		return ":" + e.Name + ":"
	}
	return e.Name
}

// snowflakeTime is when a snowflake was made, in UTC; zero when s is not
// one. discordgo reads the timestamp bits
// (https://discord.com/developers/docs/reference#snowflakes); it answers
// in local time and accepts a negative number, which is no snowflake.
func snowflakeTime(s string) time.Time {
	t, err := discordgo.SnowflakeTimestamp(s)
	if err != nil || s[0] < '0' || s[0] > '9' {
		return time.Time{}
	}
	return t.UTC()
}
