package render

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/debrief/debrief/bot"
)

// Visible returns s with every character that could act on a terminal or
// reorder a page written as a visible escape: C0 controls but tab and
// newline, DEL, C1 controls (ESC starts terminal sequences; CSI is C1), and
// the bidirectional overrides and isolates (U+202A..U+202E,
// U+2066..U+2069) that make text read differently from how it is stored.
// Text is stored raw (README, "Rules debrief keeps"); what the bot renders
// goes through Visible, so none of it reaches a terminal or a page
// unescaped. Invalid UTF-8 becomes U+FFFD.
func Visible(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, hidden) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for _, r := range s {
		switch {
		case !hidden(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// hidden reports whether r is one of the characters Visible escapes.
func hidden(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	case r == unicode.ReplacementChar:
		return false
	}
	return false
}

// mdEscaper backslash-escapes the ASCII punctuation that Markdown (and
// GitHub's tables and strikethrough) give a meaning inline, so that user
// text renders as the characters it is: "*x*" is not emphasis, "[a](b)" is not a link ("![a](b)"
// not an image), "<b>" is not HTML, "&amp;" is not an entity, "a #" does
// not lose its "#" as a heading's closing sequence. ">" and "!" mean
// nothing once "<" and "[" are escaped and no user text starts a line.
// CommonMark allows a backslash before any ASCII punctuation.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`,
	`<`, `\<`, `&`, `\&`, `#`, `\#`, `~`, `\~`,
	"\r\n", " / ", "\n", " / ", "\r", " / ",
)

// mdText renders user text as literal Markdown on one line: escaped by
// mdEscaper, line breaks as " / " (a newline would end the list item or
// the table row it is in), hidden characters made Visible.
func mdText(s string) string {
	// Most chat lines have nothing to escape, and the Replacer allocates
	// its answer even then: a write-up renders a line per entry, and each
	// allocation is garbage collected on the CPU the acknowledgements
	// need (README, "Benchmarks").
	if !strings.ContainsAny(s, mdSpecial) {
		return Visible(s)
	}
	return Visible(mdEscaper.Replace(s))
}

// mdSpecial is every byte mdEscaper's patterns begin with: a string with
// none of them is its own escape.
const mdSpecial = "\\`*_[]<&#~\r\n"

// mdName renders a user's display name: mdText without the blanks at
// either end, which would keep the bold around it from closing.
func mdName(u bot.User) string {
	return mdText(strings.TrimFunc(u.Display(), unicode.IsSpace))
}

// mdCell is mdText for a table cell, where "|" would end the cell: a name
// "Bob | SRE" stays in its cell.
func mdCell(s string) string {
	return strings.ReplaceAll(mdText(s), "|", `\|`)
}

// mdURL renders a URL: as an autolink when it is one (http or https, no
// space, control or angle bracket that would end it), else as text.
func mdURL(u string) string {
	if autolink(u) {
		return "<" + u + ">"
	}
	return mdText(u)
}

// autolink reports whether u can be written as a Markdown autolink: http
// or https, printable ASCII without space or angle brackets.
func autolink(u string) bool {
	return (strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) &&
		!strings.ContainsFunc(u, func(r rune) bool { return r <= ' ' || r == '<' || r == '>' || r >= 0x7f })
}

// mdLink renders a link to u named text, or the text and the URL as text
// when u cannot be a link destination as it is.
func mdLink(text, u string) string {
	if autolink(u) && !strings.ContainsAny(u, `()\`) {
		return "[" + mdText(text) + "](" + u + ")"
	}
	return mdText(text) + " (" + mdURL(u) + ")"
}

// VisibleWriter is Visible for a stream: it writes to W what Visible
// returns for what is written to it, a line at a time (Visible escapes
// rune by rune and no rune's encoding holds a newline byte, so line by
// line is the same). Close writes the last, unterminated line.
type VisibleWriter struct {
	W    io.Writer
	line []byte
}

// Write takes p, writing out the lines it completes. What needs no
// escaping (nearly all of it) goes out as it came, without a copy: the
// export writes a whole incident through here, and its garbage would be
// collected on the CPU the event acknowledgements need (README,
// "Benchmarks").
func (v *VisibleWriter) Write(p []byte) (int, error) {
	i := bytes.LastIndexByte(p, '\n')
	if i < 0 {
		v.line = append(v.line, p...)
		return len(p), nil
	}
	lines, rest := p[:i+1], p[i+1:]
	if len(v.line) > 0 {
		v.line = append(v.line, lines...)
		lines = v.line
	}
	if err := v.write(lines); err != nil {
		return 0, err
	}
	v.line = append(v.line[:0], rest...)
	return len(p), nil
}

// write writes Visible(b) to W.
func (v *VisibleWriter) write(b []byte) error {
	if utf8.Valid(b) && bytes.IndexFunc(b, hidden) < 0 {
		_, err := v.W.Write(b)
		return err
	}
	_, err := io.WriteString(v.W, Visible(string(b)))
	return err
}

// Close writes what is left of the last line.
func (v *VisibleWriter) Close() error {
	if len(v.line) == 0 {
		return nil
	}
	err := v.write(v.line)
	v.line = v.line[:0]
	return err
}
