package slacktest

import (
	"regexp"
	"strconv"
	"strings"
)

// Date is one <!date^…> in a message's text, Slack's date formatting:
// Slack shows the instant in each reader's own zone as Format says, linked
// to Link when there is one, and Fallback where it cannot (notifications,
// old clients).
// https://docs.slack.dev/messaging/formatting-message-text#date-formatting
type Date struct {
	Unix     int64
	Format   string
	Link     string
	Fallback string // as Slack shows it: entities decoded
}

// dateRe is <!date^timestamp^format[^link]|fallback>. The fallback is
// required by Slack: a date without one is not date markup.
var dateRe = regexp.MustCompile(`<!date\^(-?[0-9]+)\^([^^|>]+)(?:\^([^|>]*))?\|([^>]*)>`)

// formatTokenRe is one of the format's {tokens}.
var formatTokenRe = regexp.MustCompile(`\{[a-z_]+\}`)

// knownFormatTokens are the tokens Slack replaces in a date's format.
var knownFormatTokens = map[string]bool{
	"{date_num}": true, "{date}": true, "{date_short}": true, "{date_long}": true,
	"{date_pretty}": true, "{date_short_pretty}": true, "{date_long_pretty}": true,
	"{time}": true, "{time_secs}": true, "{ago}": true, "{date_slash}": true,
	"{date_long_full}": true, "{day_divider_pretty}": true,
}

// Dates returns the date markup in a message's text (as posted, escaped),
// in order. A <!date…> with a format token Slack does not know is left
// out: Slack would show its fallback.
func Dates(text string) []Date {
	var out []Date
	for _, m := range dateRe.FindAllStringSubmatch(text, -1) {
		unix, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			continue
		}
		known := true
		for _, tok := range formatTokenRe.FindAllString(m[2], -1) {
			known = known && knownFormatTokens[tok]
		}
		if !known {
			continue
		}
		out = append(out, Date{Unix: unix, Format: m[2], Link: m[3], Fallback: Unescape(m[4])})
	}
	return out
}

// Unescape decodes the three entities Slack escapes in message text.
func Unescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}
