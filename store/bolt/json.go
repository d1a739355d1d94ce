package bolt

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/debrief/debrief/bot"
)

// Timeline entries are encoded by hand: on a small machine the reflective
// encoder's CPU competes with the committer and cost about a fifth of Append
// throughput with 64 writers. The output is byte for byte what encoding/json
// writes for record with HTML escaping off (TestAppendRecordMatchesJSON),
// and fastRecordJSON turns it off by itself if bot.TimelineEvent or bot.User
// change shape, so a new field is never silently dropped: entries then go
// through encoding/json until appendRecord learns the field.

// recordShape is the shape appendRecord was written for: field, type and
// json tag of bot.TimelineEvent, then of bot.User.
const recordShape = "Seq uint64 seq|IncidentID string incident_id|Kind bot.EventKind kind|" +
	"Author bot.User author|Text string text|URL string url,omitempty|" +
	"MessageID string message_id,omitempty|ThreadID string thread_id,omitempty|" +
	"PlatformAt time.Time platform_at,omitzero|RecordedAt time.Time at|DedupeKey string -|" +
	"Platform bot.Platform platform|ID string id|Name string name,omitempty"

// fastRecordJSON reports whether appendRecord still matches the types.
var fastRecordJSON = shapeOf(reflect.TypeFor[bot.TimelineEvent](), reflect.TypeFor[bot.User]()) == recordShape &&
	plainString(reflect.TypeFor[bot.EventKind]()) && plainString(reflect.TypeFor[bot.Platform]())

func shapeOf(ts ...reflect.Type) string {
	var fs []string
	for _, t := range ts {
		for f := range t.Fields() {
			fs = append(fs, f.Name+" "+f.Type.String()+" "+f.Tag.Get("json"))
		}
	}
	return strings.Join(fs, "|")
}

// plainString reports whether encoding/json writes t as a bare string.
func plainString(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return t.Kind() == reflect.String &&
		!p.Implements(reflect.TypeFor[json.Marshaler]()) &&
		!p.Implements(reflect.TypeFor[encoding.TextMarshaler]())
}

// appendRecord appends the JSON of record{ev, ev.DedupeKey}. It fails only
// where encoding/json fails: a time that RFC 3339 cannot express.
func appendRecord(b []byte, ev *bot.TimelineEvent) ([]byte, error) {
	var err error
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, ev.Seq, 10)
	b = append(b, `,"incident_id":`...)
	b = appendString(b, ev.IncidentID)
	b = append(b, `,"kind":`...)
	b = appendString(b, string(ev.Kind))
	b = append(b, `,"author":{"platform":`...)
	b = appendString(b, string(ev.Author.Platform))
	b = append(b, `,"id":`...)
	b = appendString(b, ev.Author.ID)
	if ev.Author.Name != "" {
		b = append(b, `,"name":`...)
		b = appendString(b, ev.Author.Name)
	}
	b = append(b, `},"text":`...)
	b = appendString(b, ev.Text)
	if ev.URL != "" {
		b = append(b, `,"url":`...)
		b = appendString(b, ev.URL)
	}
	if ev.MessageID != "" {
		b = append(b, `,"message_id":`...)
		b = appendString(b, ev.MessageID)
	}
	if ev.ThreadID != "" {
		b = append(b, `,"thread_id":`...)
		b = appendString(b, ev.ThreadID)
	}
	if !ev.PlatformAt.IsZero() {
		b = append(b, `,"platform_at":"`...)
		if b, err = ev.PlatformAt.AppendText(b); err != nil {
			return b, err
		}
		b = append(b, '"')
	}
	b = append(b, `,"at":"`...)
	if b, err = ev.RecordedAt.AppendText(b); err != nil {
		return b, err
	}
	b = append(b, '"')
	if ev.DedupeKey != "" {
		b = append(b, `,"dedupe_key":`...)
		b = appendString(b, ev.DedupeKey)
	}
	return append(b, '}'), nil
}

const hexDigits = "0123456789abcdef"

// appendString quotes s as encoding/json does with HTML escaping off:
// invalid UTF-8 becomes U+FFFD, and U+2028 and U+2029 are escaped so the
// JSON is also valid JavaScript.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
