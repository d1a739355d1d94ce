package render

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/debrief/debrief/bot"
)

// Invite renders the post-mortem meeting as an RFC 5545 iCalendar request.
// The UID is stable per incident and SEQUENCE counts reschedules, so a
// calendar that imported the first invite updates the event instead of
// adding a second one. The UID holds install, this installation's random
// ID (workflows' install ID; README, "The post-mortem"): incident IDs
// start at INC-1 in every installation and again after a database is
// reset, and a UID that repeated across them would make a calendar
// overwrite one meeting with another (RFC 5545 3.8.4.7: globally
// unique). Times are in UTC: every client converts them, and
// no VTIMEZONE block is needed.
//
// Chat platforms do not give us e-mail addresses, so people are named by
// CN with an address in the reserved .invalid domain that identifies them
// without pretending to be deliverable.
//
// It is written here rather than by an iCalendar library because every
// field carries user text and each kind of field escapes differently: TEXT
// values backslash-escape (RFC 5545 3.3.11), parameter values are quoted
// and cannot hold a DQUOTE or a control character at all (3.1; RFC 6868's
// caret encoding carries newlines and quotes), URIs percent-encode. A
// newline in a name must not end the line it is on.
func Invite(inc *bot.Incident, install string, now time.Time) string {
	pm := inc.Postmortem
	var w icsWriter
	w.line("BEGIN", "", "VCALENDAR")
	w.line("VERSION", "", "2.0")
	w.line("PRODID", "", "-//debrief//debrief//EN")
	w.line("METHOD", "", "REQUEST")
	w.line("BEGIN", "", "VEVENT")
	w.line("UID", "", icsText(InviteUID(inc.ID, "postmortem", install)))
	w.line("DTSTAMP", "", icsTime(now))
	w.line("SEQUENCE", "", strconv.Itoa(pm.Sequence))
	w.line("DTSTART", "", icsTime(pm.ScheduledAt))
	w.line("DTEND", "", icsTime(pm.ScheduledAt.Add(pm.Duration)))
	w.line("SUMMARY", "", icsText(fmt.Sprintf("Post-mortem: %s %s", inc.ID, inc.Title)))
	w.line("DESCRIPTION", "", icsText(fmt.Sprintf("Blameless post-mortem of %s (%s): %s.\nScheduled in %s.\nWhy did it make sense at the time? What will we change?",
		inc.ID, inc.Severity, inc.Title, pm.Zone)))
	if c, ok := inc.Role(bot.Commander); ok {
		w.line("ORGANIZER", ";CN="+icsParam(displayName(c)), calAddress(c))
	}
	for _, u := range inc.Responders {
		w.line("ATTENDEE", ";CN="+icsParam(displayName(u))+";PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT;RSVP=TRUE", calAddress(u))
	}
	w.line("END", "", "VEVENT")
	w.line("END", "", "VCALENDAR")
	return w.b.String()
}

// icsWriter writes content lines, CRLF-terminated and folded at 75
// octets (RFC 5545 3.1) without splitting a UTF-8 sequence.
type icsWriter struct{ b strings.Builder }

func (w *icsWriter) line(name, params, value string) {
	l := name + params + ":" + value
	limit := 75
	for len(l) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(l[cut]) {
			cut--
		}
		w.b.WriteString(l[:cut])
		w.b.WriteString("\r\n ")
		l = l[cut:]
		limit = 74 // the continuation's leading space counts
	}
	w.b.WriteString(l)
	w.b.WriteString("\r\n")
}

func icsTime(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// icsText escapes a TEXT value: backslash, semicolon, comma and newline
// (RFC 5545 3.3.11); other control characters cannot be written and are
// dropped.
func icsText(s string) string {
	var b strings.Builder
	for _, r := range strings.ReplaceAll(s, "\r\n", "\n") {
		switch {
		case r == '\\' || r == ';' || r == ',':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r < 0x20 || r == 0x7f || r == utf8.RuneError:
			// RFC 5545 TEXT has no escape for them.
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// icsParam quotes a parameter value (RFC 5545 3.2: a quoted-string holds
// anything but DQUOTE and controls), with RFC 6868's caret encoding for a
// newline (^n), a double quote (^') and the caret itself (^^); other
// control characters are dropped.
func icsParam(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range strings.ReplaceAll(s, "\r\n", "\n") {
		switch {
		case r == '^':
			b.WriteString("^^")
		case r == '"':
			b.WriteString("^'")
		case r == '\n':
			b.WriteString("^n")
		case r < 0x20 || r == 0x7f || r == utf8.RuneError:
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// InviteUID is the UID of the invite to meeting (postmortem, gameday) of
// id (an incident's or a game day's) in installation install:
// "inc-1-postmortem.<install>@debrief". Without an install ID (a caller
// that has none) it falls back to the old per-installation form.
func InviteUID(id, meeting, install string) string {
	uid := strings.ToLower(id) + "-" + meeting
	if install != "" {
		uid += "." + strings.ToLower(install)
	}
	return uid + "@debrief"
}

// calAddress is a mailto URI for u: the ID percent-encoded where it is not
// an unreserved character, so that no ID can end the value or the line.
func calAddress(u bot.User) string {
	var b strings.Builder
	b.WriteString("mailto:")
	for _, c := range []byte(strings.ToLower(u.ID)) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	b.WriteString("@" + strings.ToLower(string(u.Platform)) + ".debrief.invalid")
	return b.String()
}

func displayName(u bot.User) string {
	if u.Name != "" {
		return u.Name
	}
	return u.ID
}
