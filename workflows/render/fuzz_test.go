package render_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows/render"
)

// fuzzIncident is an incident whose every user-written field is one of the
// fuzzer's strings: the title, the commander's name, a message, a file's
// name and URL, a countermeasure and its owner.
func fuzzIncident(title, name, msg, url string) (*bot.Incident, []bot.TimelineEvent) {
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	u := bot.User{Platform: bot.Slack, ID: "U1", Name: name}
	inc := &bot.Incident{
		ID: "INC-1", Number: 1, Title: title, Severity: bot.SEV2, Kind: bot.KindReal, Status: bot.StatusResolved,
		Roles: map[bot.Role]bot.User{bot.Commander: u}, Responders: []bot.User{u, omar},
		DeclaredAt: at, DetectedAt: at, StartedAt: at,
		Postmortem: bot.Postmortem{ScheduledAt: at.Add(48 * time.Hour), Zone: "UTC", Duration: time.Hour, Sequence: 1},
		Countermeasures: []bot.Countermeasure{
			{N: 1, Text: msg, Owner: u, Due: bot.Date{Year: 2026, Month: 4, Day: 1}, State: bot.CMFiled, Tracker: url},
		},
	}
	tl := []bot.TimelineEvent{
		{Seq: 1, Kind: bot.EventMessage, Author: u, Text: msg, RecordedAt: at},
		{Seq: 2, Kind: bot.EventFile, Author: u, Text: msg, URL: url, RecordedAt: at.Add(time.Second)},
		{Seq: 3, Kind: bot.EventNote, Author: omar, Text: msg, URL: url, RecordedAt: at.Add(2 * time.Second)},
	}
	return inc, tl
}

// oneLine is what user text must read as once rendered on one line:
// line breaks as " / ", hidden characters visible, invalid UTF-8 as U+FFFD.
func oneLine(s string) string {
	s = strings.NewReplacer("\r\n", " / ", "\n", " / ", "\r", " / ").Replace(s)
	return render.Visible(s)
}

// who is how a name is displayed: without blanks at either end.
func who(name string) string {
	if name == "" {
		return "@U1"
	}
	return strings.TrimFunc("@"+name, unicode.IsSpace)
}

// cell is oneLine without the blanks Markdown trims at either end of a
// table cell.
func cell(s string) string { return strings.Trim(oneLine(s), " \t") }

var md = goldmark.New(goldmark.WithExtensions(extension.Table, extension.Strikethrough))

// plain concatenates the text under n as a reader sees it.
func plain(n ast.Node, src []byte) string {
	var b strings.Builder
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch c := c.(type) {
		case *ast.Text:
			// Backslash escapes are resolved when rendering, as here.
			b.Write(util.UnescapePunctuations(c.Segment.Value(src)))
			if c.SoftLineBreak() || c.HardLineBreak() {
				b.WriteString("\n")
			}
		case *ast.String:
			b.Write(c.Value)
		case *ast.AutoLink:
			b.Write(c.URL(src))
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	return b.String()
}

// FuzzWriteup renders the write-up of an incident made of the fuzzer's
// strings, parses it back with goldmark (GitHub's tables and
// strikethrough on) and checks that every field is where it was put, with
// the same text: one heading, a roles table of two columns whose
// commander cell is the name, one list item per timeline entry, one
// countermeasure row of six cells; and no emphasis, link, image, HTML or
// code that the user's text would have made.
func FuzzWriteup(f *testing.F) {
	for _, s := range [][4]string{
		{"Checkout is down", "grace", "payments returns 502", "https://files.example/1"},
		{"a #", "Bob | SRE", "n\n- z", "u)\n#"},
		{"*x* _y_ `z`", "[a](b)", "<script>alert(1)</script> &amp;", "javascript:alert(1)"},
		{"\x1b[2J\x1b]0;pwned\x07", "\u202eevil", "| a | b |\n|---|---|", "https://x.test/a b"},
		{"# h\n===", "~~s~~", "> quote\n\n    code", "<https://x.test>"},
		{"\\", "!", "1. one\n2) two", "https://x.test/(a)"},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, title, name, msg, url string) {
		inc, tl := fuzzIncident(title, name, msg, url)
		out := render.Writeup(inc, tl, time.UTC)
		if strings.ContainsFunc(out, func(r rune) bool { return r == 0x1b || r == 0x9b || (r >= 0x202a && r <= 0x202e) }) {
			t.Fatalf("a terminal escape or bidi override reached the output:\n%q", out)
		}
		src := []byte(out)
		doc := md.Parser().Parse(text.NewReader(src))
		var h1 []string
		var tables []*east.Table
		var items []ast.Node
		inTimeline := false
		for c := doc.FirstChild(); c != nil; c = c.NextSibling() {
			switch c := c.(type) {
			case *ast.Heading:
				if c.Level == 1 {
					h1 = append(h1, plain(c, src))
				}
				if c.Level == 2 {
					inTimeline = strings.HasPrefix(plain(c, src), "Timeline")
				}
			case *east.Table:
				tables = append(tables, c)
			case *ast.List:
				if inTimeline {
					for it := c.FirstChild(); it != nil; it = it.NextSibling() {
						items = append(items, it)
					}
				}
			}
		}
		// The shape is the template's: the same kinds of node, as many of
		// each, as an incident of plain words with a URL of the same class.
		base, btl := fuzzIncident("title", "name", "message", sameClass(url))
		bsrc := []byte(render.Writeup(base, btl, time.UTC))
		if got, want := shape(doc), shape(md.Parser().Parse(text.NewReader(bsrc))); got != want {
			t.Fatalf("user text changed the document's shape:\n got %s\nwant %s\n%s", got, want, out)
		}
		if want := "INC-1: " + oneLine(title); len(h1) != 1 || strings.TrimRight(h1[0], " \t") != strings.TrimRight(want, " \t") {
			t.Fatalf("headings %q, want one %q\n%s", h1, want, out)
		}
		if len(tables) < 4 {
			t.Fatalf("%d tables, want the roles, times, durations and countermeasures:\n%s", len(tables), out)
		}
		rows := cells(tables[0], src)
		for _, r := range rows {
			if len(r) != 2 {
				t.Fatalf("roles row %q has %d cells\n%s", r, len(r), out)
			}
		}
		if got, want := lookup(rows, "Commander"), cell(who(name)); got != want {
			t.Errorf("commander cell %q, want %q", got, want)
		}
		cms := cells(tables[len(tables)-1], src)
		if len(cms) != 2 || len(cms[1]) != 6 || cms[1][1] != cell(msg) || cms[1][2] != cell(who(name)) {
			t.Errorf("countermeasures table %q, want one row of 6 with %q and %q", cms, cell(msg), cell(who(name)))
		}
		if len(items) != len(tl) {
			t.Fatalf("%d timeline items, want %d:\n%s", len(items), len(tl), out)
		}
		if got, want := strings.TrimRight(plain(items[0], src), " \t"), "10:00:00 "+oneLine(who(name))+": "+oneLine(msg); got != strings.TrimRight(want, " \t") {
			t.Errorf("message item %q, want %q", got, want)
		}
	})
}

// shape counts the nodes of each kind under n.
func shape(n ast.Node) string {
	counts := map[string]int{}
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering && c.Kind() != ast.KindText && c.Kind() != ast.KindString {
			counts[c.Kind().String()]++
		}
		return ast.WalkContinue, nil
	})
	return fmt.Sprint(counts)
}

// sameClass returns a plain URL that renders like u: a link, an autolink,
// or text.
func sameClass(u string) string {
	auto := (strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) &&
		!strings.ContainsFunc(u, func(r rune) bool { return r <= ' ' || r == '<' || r == '>' || r >= 0x7f })
	switch {
	case u == "":
		return ""
	case auto && !strings.ContainsAny(u, `()\`):
		return "https://x.test/a"
	case auto:
		return "https://x.test/(a)"
	}
	return "not a url"
}

// cells returns the text of each cell of each row, the header first.
func cells(tb *east.Table, src []byte) [][]string {
	var out [][]string
	for row := tb.FirstChild(); row != nil; row = row.NextSibling() {
		var r []string
		for c := row.FirstChild(); c != nil; c = c.NextSibling() {
			r = append(r, strings.Trim(plain(c, src), " \t"))
		}
		out = append(out, r)
	}
	return out
}

func lookup(rows [][]string, key string) string {
	for _, r := range rows {
		if len(r) == 2 && r[0] == key {
			return r[1]
		}
	}
	return "<missing>"
}

// FuzzInvite renders the invite of an incident made of the fuzzer's
// strings and reads it back with a strict RFC 5545 reader (below): every
// line CRLF-terminated and at most 75 octets, no control character, every
// property name;params:value well formed, parameter values quoted, TEXT
// escapes valid; and the summary, organizer and attendee names read back
// as they were given (control characters dropped, RFC 6868 decoded).
func FuzzInvite(f *testing.F) {
	for _, s := range [][2]string{
		{"Checkout is down", "grace"},
		{"a;b,c\\d", "Bob \"the\" Builder"},
		{"line\nbreak\r\nthere", "n\n- z"},
		{"\x1b[2J\u202e", "x:y;z,w^"},
		{strings.Repeat("é", 80), strings.Repeat("名", 40)},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, title, name string) {
		inc, _ := fuzzIncident(title, name, "", "")
		out := render.Invite(inc, "0123456789abcdef", time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC))
		props, err := parseICS(out)
		if err != nil {
			t.Fatalf("%v\n%q", err, out)
		}
		get := func(n string) []icsProp {
			var ps []icsProp
			for _, p := range props {
				if p.name == n {
					ps = append(ps, p)
				}
			}
			return ps
		}
		if s := get("SUMMARY"); len(s) != 1 || s[0].text() != icsClean("Post-mortem: INC-1 "+title) {
			t.Errorf("SUMMARY %+v, want %q", s, icsClean("Post-mortem: INC-1 "+title))
		}
		wantName := icsClean(name)
		if name == "" {
			wantName = "U1"
		}
		org := get("ORGANIZER")
		if len(org) != 1 || org[0].params["CN"] != wantName || org[0].value != "mailto:u1@slack.debrief.invalid" {
			t.Errorf("ORGANIZER %+v, want CN %q", org, wantName)
		}
		if at := get("ATTENDEE"); len(at) != 2 || at[0].params["CN"] != wantName || at[1].params["CN"] != "omar" {
			t.Errorf("ATTENDEE %+v, want CN %q and omar", at, wantName)
		}
		if len(get("BEGIN")) != 2 || len(get("END")) != 2 || len(get("UID")) != 1 || len(get("DTSTART")) != 1 {
			t.Errorf("structure: %+v", props)
		}
	})
}

// icsClean is what a field reads as: CRLF as a newline, other control
// characters (which iCalendar cannot carry) dropped, invalid UTF-8 as
// U+FFFD and then dropped too (it is not a character anyone wrote).
func icsClean(s string) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\n') || r == 0x7f || r == utf8.RuneError {
			return -1
		}
		return r
	}, s)
}

type icsProp struct {
	name   string
	params map[string]string
	value  string
}

// text decodes a TEXT value.
func (p icsProp) text() string {
	return strings.NewReplacer(`\\`, `\`, `\;`, `;`, `\,`, `,`, `\n`, "\n", `\N`, "\n").Replace(p.value)
}

// parseICS is a strict RFC 5545 content-line reader: it refuses what a
// lenient one would guess at.
func parseICS(s string) ([]icsProp, error) {
	if !strings.HasSuffix(s, "\r\n") {
		return nil, errors.New("does not end with CRLF")
	}
	raw := strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n")
	var lines []string
	for i, l := range raw {
		if len(l) > 75 {
			return nil, fmt.Errorf("line %d is %d octets, over 75", i+1, len(l))
		}
		if !utf8.ValidString(l) {
			return nil, fmt.Errorf("line %d is not UTF-8", i+1)
		}
		if strings.ContainsFunc(l, func(r rune) bool { return (r < 0x20 && r != '\t') || r == 0x7f }) {
			return nil, fmt.Errorf("line %d holds a control character: %q", i+1, l)
		}
		if strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") {
			if len(lines) == 0 {
				return nil, errors.New("continuation before any line")
			}
			lines[len(lines)-1] += l[1:]
			continue
		}
		lines = append(lines, l)
	}
	var props []icsProp
	for _, l := range lines {
		p := icsProp{params: map[string]string{}}
		i := strings.IndexAny(l, ";:")
		if i <= 0 {
			return nil, fmt.Errorf("no name in %q", l)
		}
		p.name = l[:i]
		if strings.ContainsFunc(p.name, func(r rune) bool { return !(r == '-' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') }) {
			return nil, fmt.Errorf("bad name %q", p.name)
		}
		rest := l[i:]
		for strings.HasPrefix(rest, ";") {
			eq := strings.IndexByte(rest, '=')
			if eq < 0 {
				return nil, fmt.Errorf("parameter without = in %q", l)
			}
			key := rest[1:eq]
			rest = rest[eq+1:]
			var v string
			if strings.HasPrefix(rest, `"`) {
				end := strings.IndexByte(rest[1:], '"')
				if end < 0 {
					return nil, fmt.Errorf("unterminated quoted value in %q", l)
				}
				v, rest = rest[1:1+end], rest[2+end:]
				v = strings.NewReplacer("^n", "\n", "^'", `"`, "^^", "^").Replace(v)
			} else {
				end := strings.IndexAny(rest, ";:")
				if end < 0 {
					return nil, fmt.Errorf("parameter runs to the end of %q", l)
				}
				v, rest = rest[:end], rest[end:]
				if strings.ContainsAny(v, `",`) {
					return nil, fmt.Errorf("unquoted parameter value %q", v)
				}
			}
			p.params[key] = v
		}
		if !strings.HasPrefix(rest, ":") {
			return nil, fmt.Errorf("no value in %q", l)
		}
		p.value = rest[1:]
		if p.name == "SUMMARY" || p.name == "DESCRIPTION" || p.name == "UID" {
			for j := 0; j < len(p.value); j++ {
				switch p.value[j] {
				case '\\':
					if j+1 >= len(p.value) || !strings.ContainsRune(`\;,nN`, rune(p.value[j+1])) {
						return nil, fmt.Errorf("bad TEXT escape in %q", p.value)
					}
					j++
				case ';', ',':
					return nil, fmt.Errorf("unescaped %q in TEXT %q", p.value[j], p.value)
				}
			}
		}
		props = append(props, p)
	}
	return props, nil
}
