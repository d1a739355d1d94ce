package bot

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// A time the bot writes for many readers (a pinned summary, a meeting
// announcement, a reminder in a channel) is written in one neutral form,
// the time token, which each chat adapter turns into its platform's own
// (README, "Times and zones"): Slack's <!date^…|fallback> and Discord's
// <t:…:f> show the instant in each reader's zone; where a platform has no
// such markup (the console, a topic, a GitHub issue, the write-up) the
// token becomes its fallback, the time written in the operator's zone
// (DEBRIEF_TZ). This is the outgoing counterpart of the neutral mention
// (mention.go).
//
// The token is
//
//	U+FDD0 "t:" <Unix seconds> ":" <style> "|" <fallback> U+FDD1
//
// Its delimiters are Unicode noncharacters, which are for a program's
// internal use and never stand for anything in text people exchange.
// People's text must never forge a token, so every way text enters the
// application passes it through DefuseTimes, which replaces them.
const (
	timeOpen  = "\ufdd0"
	timeClose = "\ufdd1"
	timeTag   = "t:"
)

// maxTimeFallback bounds a token's fallback, in bytes: a date, a time and
// two zones fit in a tenth of it.
const maxTimeFallback = 200

// TimeStyle is how a token shows its instant where a platform renders it
// for each reader. The letters are Discord's styles; Slack has the same
// shapes (README, "Times and zones").
type TimeStyle byte

// The styles debrief writes.
const (
	StyleTime         TimeStyle = 't' // 16:20
	StyleTimeSeconds  TimeStyle = 'T' // 16:20:30
	StyleDate         TimeStyle = 'd' // 20/04/2021
	StyleLongDate     TimeStyle = 'D' // 20 April 2021
	StyleDateTime     TimeStyle = 'f' // 20 April 2021 16:20
	StyleLongDateTime TimeStyle = 'F' // Tuesday, 20 April 2021 16:20
)

const (
	defaultStyle = StyleDateTime
	styleLetters = "tTdDfF"
	// noncharReplacement stands for a delimiter that opens no token.
	noncharReplacement = "\ufffd"
)

// Valid reports whether s is one of the styles.
func (s TimeStyle) Valid() bool { return s != 0 && strings.IndexByte(styleLetters, byte(s)) >= 0 }

// Stamp is one time token: the instant, how platforms that render it per
// reader should show it, and the text shown where they cannot.
type Stamp struct {
	At       time.Time
	Style    TimeStyle
	Fallback string
}

// TimeToken writes st as the neutral time token. An invalid style is
// written as StyleDateTime; the fallback is made safe to carry (no
// delimiter, no bar, no line break, at most 200 bytes) and, when empty,
// is the instant in UTC.
func TimeToken(st Stamp) string {
	style := st.Style
	if !style.Valid() {
		style = defaultStyle
	}
	fb := tokenFallback(st.Fallback)
	if fb == "" {
		fb = st.At.UTC().Format("2006-01-02 15:04 UTC")
	}
	return timeOpen + timeTag + strconv.FormatInt(st.At.Unix(), 10) + ":" + string(style) + "|" + fb + timeClose
}

// tokenFallback is s as a token may carry it.
func tokenFallback(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '|', r == '\n', r == '\r', isTimeDelimiter(r):
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, noncharReplacement))
	for len(s) > maxTimeFallback {
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	return s
}

func isTimeDelimiter(r rune) bool { return r == 0xfdd0 || r == 0xfdd1 }

// DefuseTimes returns s with the time token's delimiters replaced by
// U+FFFD, so that no text a person typed (a title, a status, a display
// name, an alert's summary) can carry a token into a message the bot
// posts. Text without them is returned as it is.
func DefuseTimes(s string) string {
	if !strings.Contains(s, timeOpen) && !strings.Contains(s, timeClose) {
		return s
	}
	return strings.NewReplacer(timeOpen, noncharReplacement, timeClose, noncharReplacement).Replace(s)
}

// ParseTimeToken reads one token, delimiters included.
func ParseTimeToken(tok string) (Stamp, bool) {
	inner, ok := strings.CutPrefix(tok, timeOpen+timeTag)
	if !ok {
		return Stamp{}, false
	}
	inner, ok = strings.CutSuffix(inner, timeClose)
	if !ok {
		return Stamp{}, false
	}
	head, fb, ok := strings.Cut(inner, "|")
	if !ok || len(fb) > maxTimeFallback || strings.ContainsAny(fb, "|\n\r") || strings.ContainsFunc(fb, isTimeDelimiter) || !utf8.ValidString(fb) {
		return Stamp{}, false
	}
	sec, style, ok := strings.Cut(head, ":")
	if !ok || len(style) != 1 || !TimeStyle(style[0]).Valid() || sec == "" || len(sec) > 12 {
		return Stamp{}, false
	}
	for i := 0; i < len(sec); i++ {
		if (sec[i] < '0' || sec[i] > '9') && !(i == 0 && sec[i] == '-' && len(sec) > 1) {
			return Stamp{}, false
		}
	}
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return Stamp{}, false
	}
	return Stamp{At: time.Unix(n, 0).UTC(), Style: TimeStyle(style[0]), Fallback: fb}, true
}

// ExpandTimes returns s with each time token replaced by what f writes for
// it, and with every other text passed through plain (when plain is nil,
// as it is). A delimiter that opens no valid token is written as U+FFFD,
// so that no noncharacter reaches a platform. Adapters call it with their
// platform's markup for f and their escaping for plain.
func ExpandTimes(s string, f func(Stamp) string, plain func(string) string) string {
	if plain == nil {
		plain = func(s string) string { return s }
	}
	if !strings.ContainsFunc(s, isTimeDelimiter) {
		return plain(s)
	}
	var b strings.Builder
	for s != "" {
		i := strings.Index(s, timeOpen)
		if i < 0 {
			b.WriteString(plain(DefuseTimes(s)))
			break
		}
		b.WriteString(plain(DefuseTimes(s[:i])))
		j := strings.Index(s[i:], timeClose)
		if j >= 0 {
			if st, ok := ParseTimeToken(s[i : i+j+len(timeClose)]); ok {
				b.WriteString(f(st))
				s = s[i+j+len(timeClose):]
				continue
			}
		}
		// Not a token: its opener is defused and the rest read on.
		b.WriteString(plain(noncharReplacement))
		s = s[i+len(timeOpen):]
	}
	return b.String()
}

// TimeText returns s with each time token written as its fallback: for
// text no platform renders per reader (a console, a channel topic, a
// GitHub issue, the write-up).
func TimeText(s string) string {
	return ExpandTimes(s, func(st Stamp) string { return st.Fallback }, nil)
}
