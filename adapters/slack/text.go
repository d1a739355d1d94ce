package slack

import (
	"strconv"
	"strings"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/slack-go/slack/slackutilsx"
)

// Slack escapes exactly three characters in message and command text, and
// uses the raw ones only for markup: <@U…> mentions, <#C…> channels, <!here>
// and links. https://docs.slack.dev/messaging/formatting-message-text#escaping
var entities = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// commandText decodes slash command text as Slack sends it (should_escape
// on): the &amp; &lt; &gt; entities in typed text are decoded, and markup
// (<@U024BE7LH|alice>, <#C…|name>) is left alone for mentionNames to name
// and neutralText to translate. A raw '<' in Slack's text always opens
// markup: a typed one arrives as &lt;.
func commandText(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	return walkMarkup(s, func(m string) string { return "<" + m + ">" })
}

// walkMarkup decodes the entities of s's plain text and replaces each
// <markup> with what f returns for its inside. A '<' with no closing '>'
// is plain text.
func walkMarkup(s string, f func(markup string) string) string {
	var b strings.Builder
	for s != "" {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(entities.Replace(s))
			break
		}
		b.WriteString(entities.Replace(s[:i]))
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			b.WriteString(entities.Replace(s[i:]))
			break
		}
		b.WriteString(f(s[i+1 : i+j]))
		s = s[i+j+1:]
	}
	return b.String()
}

// neutralText translates the Slack markup left in decoded command text into
// the neutral forms bot.Parse reads: a mention <@U024BE7LH|alice> or
// <@U024BE7LH> becomes bot.MentionToken, a channel link <#C024BE7LH|ops>
// the #ops Slack turned it from. A typed "<@U1>" counts as a mention, as
// one picked from the list does. Anything else stays as it is: links and
// <!here> are text to the grammar.
func neutralText(s string) string {
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
		if n, ok := neutralMarkup(s[i+1 : i+j]); ok {
			b.WriteString(n)
			s = s[i+j+1:]
			continue
		}
		// Not markup the grammar needs ("<3", a link): go on after the '<'.
		b.WriteByte('<')
		s = s[i+1:]
	}
	return b.String()
}

func neutralMarkup(m string) (string, bool) {
	target, label, hasLabel := strings.Cut(m, "|")
	switch {
	case strings.HasPrefix(target, "@"):
		id := target[1:]
		if !bot.ValidMentionID(id) {
			return "", false
		}
		return bot.MentionToken(bot.User{ID: id, Name: strings.TrimPrefix(entities.Replace(label), "@")}), true
	case strings.HasPrefix(target, "#") && hasLabel && label != "":
		return "#" + entities.Replace(label), true
	}
	return "", false
}

// plainText renders a message's text for the timeline, where people read
// it in the API, the export and the post-mortem: markup becomes what Slack
// shows (<@U1|alice> and <@U1> become @alice, <#C1|ops> #ops, <!here>
// @here, <https://x|docs> "docs (https://x)"), then entities are decoded.
// name resolves a user ID that the markup does not name.
func plainText(s string, name func(id string) string) string {
	if !strings.ContainsAny(s, "<&") {
		return s
	}
	return walkMarkup(s, func(m string) string { return entities.Replace(markup(m, name)) })
}

// markup renders the inside of one <...>.
func markup(m string, name func(id string) string) string {
	target, label, hasLabel := strings.Cut(m, "|")
	switch {
	case strings.HasPrefix(target, "@"):
		if hasLabel && label != "" {
			return "@" + strings.TrimPrefix(label, "@")
		}
		id := target[1:]
		if name != nil {
			if n := name(id); n != "" {
				return "@" + n
			}
		}
		return "@" + id
	case strings.HasPrefix(target, "#"):
		if hasLabel && label != "" {
			return "#" + label
		}
		return target
	case strings.HasPrefix(target, "!"):
		// <!here>, <!channel>, <!subteam^S1|@oncall>, <!date^…|fallback>.
		if hasLabel && label != "" {
			return label
		}
		kw, _, _ := strings.Cut(target[1:], "^")
		return "@" + kw
	}
	// A link: <https://x>, <https://x|label>, <mailto:a@b|a@b>.
	if !hasLabel || label == "" || label == target {
		return target
	}
	if strings.HasPrefix(target, "mailto:") {
		return label
	}
	return label + " (" + target + ")"
}

// escape prepares text the bot generated (which quotes titles and notes
// people typed) for a Slack message, where a raw & < > would be read as
// markup: the text is escaped, and each time token in it (bot.TimeToken)
// becomes Slack's date markup (dateMarkup), the one markup the bot writes.
// People's text cannot carry a token (bot.DefuseTimes), so nobody can make
// the bot write markup.
func escape(s string) string { return bot.ExpandTimes(s, dateMarkup, slackutilsx.EscapeMessage) }

// slackDateFormats are the date formats of Slack's <!date^…> markup for
// each token style, as close to Discord's styles as Slack has.
// https://docs.slack.dev/messaging/formatting-message-text#date-formatting
var slackDateFormats = map[bot.TimeStyle]string{
	bot.StyleTime:         "{time}",
	bot.StyleTimeSeconds:  "{time_secs}",
	bot.StyleDate:         "{date_num}",
	bot.StyleLongDate:     "{date_long}",
	bot.StyleDateTime:     "{date_short_pretty} {time}",
	bot.StyleLongDateTime: "{date_long_pretty} {time}",
}

// dateMarkup writes a time token as <!date^unix^format|fallback>: Slack
// shows the instant in each reader's own zone and, where it cannot (a
// notification, an old client), the fallback, which is the time in the
// operator's zone. The fallback is escaped like any text.
func dateMarkup(st bot.Stamp) string {
	f, ok := slackDateFormats[st.Style]
	if !ok {
		f = slackDateFormats[bot.StyleDateTime]
	}
	return "<!date^" + strconv.FormatInt(st.At.Unix(), 10) + "^" + f + "|" + slackutilsx.EscapeMessage(st.Fallback) + ">"
}

// truncate cuts s to at most n characters, marking the cut, as every
// adapter does: the rule is bot's.
var truncate = bot.Truncate

// parseTS reads a Slack timestamp ("1700000000.000100": seconds, then
// microseconds) as a time; zero when it is not one.
func parseTS(ts string) time.Time {
	sec, frac, _ := strings.Cut(ts, ".")
	s, ok := atoi(sec)
	if !ok {
		return time.Time{}
	}
	var us int64
	if frac != "" {
		if len(frac) > 6 {
			frac = frac[:6]
		}
		f, ok := atoi(frac)
		if !ok {
			return time.Time{}
		}
		for i := len(frac); i < 6; i++ {
			f *= 10
		}
		us = f
	}
	return time.Unix(s, us*1000).UTC()
}

func atoi(s string) (int64, bool) {
	if s == "" || len(s) > 12 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
