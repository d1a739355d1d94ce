package bot

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The grammar reads people and channels in one neutral written form, and
// no platform's markup: each chat adapter translates its own markup
// (Slack's <@U024BE7LH|alice> and <#C024BE7LH|ops>, Discord's <@123> and
// <@!123>, a USER option) into this form before it hands the text to the
// application, so that a new chat platform needs no change here.
//
//   - A person is the token @{ID|Name}, or @{ID} when no one-word name is
//     known. MentionToken writes it; the ID is the platform's user ID and
//     the caller, which knows the platform, fills in User.Platform.
//   - A plain @name is a person whose ID is that name: the console, which
//     has no user IDs, and tests write people so. It is also the neutral
//     form's fallback: a platform that only knows a name may send @name.
//   - A channel or tag is a plain #name (Slack links a #word to a channel
//     of that name; the Slack adapter writes it back as #word).
//
// The token's braces and bar cannot occur in an ID or a name it carries,
// so it needs no escaping; it is one word, so it needs no quoting.
const (
	mentionOpen  = "@{"
	mentionClose = "}"
	mentionSep   = "|"
)

// MaxMentionID is the longest user ID a mention token carries, in bytes.
// Slack and Discord IDs are about 20; the bound leaves room for platforms
// with longer IDs (Teams) and keeps a pasted wall of text from being one.
const MaxMentionID = 128

// maxMentionName is the longest name a mention carries, in characters:
// Slack display names are at most 80.
const maxMentionName = 80

// MentionToken renders u as the neutral mention the grammar reads. The name
// is carried only when MentionName accepts it; the ID must be one
// ValidMentionID accepts, else the token does not parse as a mention.
func MentionToken(u User) string {
	if !ValidMentionID(u.ID) {
		// An ID holding the separator ("0|0") would otherwise parse as
		// another user: the empty token parses as no one.
		return mentionOpen + mentionClose
	}
	if n := MentionName(u.Name); n != "" {
		return mentionOpen + u.ID + mentionSep + n + mentionClose
	}
	return mentionOpen + u.ID + mentionClose
}

// MentionName returns the first of names a mention token can carry: one
// word of valid UTF-8, without the token's own characters or what looks
// like platform markup, at most 80 characters. Adapters pass the display
// name first and a one-word handle after it, so a "Bob Dylan" is
// mentioned as bob. It returns "" when none fits.
func MentionName(names ...string) string {
	for _, n := range names {
		if n != "" && utf8.ValidString(n) && utf8.RuneCountInString(n) <= maxMentionName && !strings.ContainsFunc(n, func(r rune) bool {
			return unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune("{}|<>", r)
		}) {
			return n
		}
	}
	return ""
}

// ValidMentionID reports whether id can be carried by a mention token:
// letters, digits and . _ - :, at most MaxMentionID bytes. Slack (U024BE7LH),
// Discord (snowflakes) and the console (names) all fit.
func ValidMentionID(id string) bool {
	if id == "" || len(id) > MaxMentionID {
		return false
	}
	for _, r := range id {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("._-:", r) {
			return false
		}
	}
	return true
}

// ParseMention reads one word as a person: the token @{ID|Name} or @{ID},
// or a plain @name. A trailing comma is ignored, so lists can be written
// "@a, @b". The Platform is left empty. Group mentions (@here, @channel,
// @everyone) are not a person and are refused.
func ParseMention(s string) (User, bool) {
	s = strings.TrimSuffix(s, ",")
	if inner, ok := strings.CutPrefix(s, mentionOpen); ok {
		inner, ok = strings.CutSuffix(inner, mentionClose)
		if !ok {
			return User{}, false
		}
		id, name, hasName := strings.Cut(inner, mentionSep)
		if !ValidMentionID(id) || hasName && (name == "" || MentionName(name) != name) {
			return User{}, false
		}
		return User{ID: id, Name: name}, true
	}
	name, ok := strings.CutPrefix(s, "@")
	if !ok || name == "" || utf8.RuneCountInString(name) > 64 {
		return User{}, false
	}
	switch strings.ToLower(name) {
	case "here", "channel", "everyone":
		return User{}, false
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '.' && r != '_' && r != '-' {
			return User{}, false
		}
	}
	return User{ID: name, Name: name}, true
}

// plainMentions renders the mention tokens in free text (a status, a note,
// a countermeasure) as people read them, @name (or @ID when the token
// carries no name), so that what is stored and shown is the same on every
// platform. Plain @names and anything not a valid token stay as typed.
func plainMentions(s string) string {
	if !strings.Contains(s, mentionOpen) {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, mentionOpen)
		if i < 0 {
			break
		}
		j := strings.Index(s[i:], mentionClose)
		if j < 0 {
			break
		}
		tok := s[i : i+j+1]
		b.WriteString(s[:i])
		if u, ok := ParseMention(tok); ok {
			b.WriteString(u.Display())
		} else {
			b.WriteString(tok)
		}
		s = s[i+j+1:]
	}
	b.WriteString(s)
	return b.String()
}

// Truncate cuts s to at most n characters, marking the cut with an
// ellipsis. Every text debrief shortens for a platform's limits (topics,
// messages, form errors) is cut the same way.
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
