package discordtest

import (
	"regexp"
	"strconv"
)

// Timestamp is one <t:…> in a message's content, Discord's timestamp
// markup: Discord shows the instant in each reader's own zone, in Style
// (t, T, d, D, f, F, R; f when none is given).
// https://discord.com/developers/docs/reference#message-formatting-timestamp-styles
type Timestamp struct {
	Unix  int64
	Style string
}

// timestampRe is <t:unix> or <t:unix:style>, with one of Discord's styles.
var timestampRe = regexp.MustCompile(`<t:(-?[0-9]+)(?::([tTdDfFR]))?>`)

// Timestamps returns the timestamp markup in content, in order.
func Timestamps(content string) []Timestamp {
	var out []Timestamp
	for _, m := range timestampRe.FindAllStringSubmatch(content, -1) {
		unix, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			continue
		}
		style := m[2]
		if style == "" {
			style = "f"
		}
		out = append(out, Timestamp{Unix: unix, Style: style})
	}
	return out
}
