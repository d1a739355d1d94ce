package httpapi

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
)

// TestEventJSONWriter holds the timeline page's hand-written entries to
// the bytes json.Encoder (SetEscapeHTML(false)) writes for toEvent: every
// field empty and set, strings that need escaping in every way the
// Encoder escapes, times in other zones and with nanoseconds, and a year
// RFC 3339 cannot hold (an error, as from the Encoder).
func TestEventJSONWriter(t *testing.T) {
	at := time.Date(2026, 3, 2, 10, 0, 0, 123456789, time.UTC)
	berlin := time.FixedZone("CET", 3600)
	tricky := []string{"", "plain", `a "quoted" \ back`, "<b>&amp;</b>", "tab\tnl\nret\r\b\f\x00\x1f\x7f",
		"ünïcode – é", "line\u2028para\u2029", "bad \xff utf8 \xc3", "emoji 🔥"}
	var evs []bot.TimelineEvent
	for i, s := range tricky {
		evs = append(evs, bot.TimelineEvent{
			Seq: uint64(i + 1), Kind: bot.EventKind(s + "message"), Author: bot.User{Platform: bot.Platform(s), ID: "U" + s, Name: s},
			Text: s, URL: s, MessageID: s, ThreadID: strings.ToUpper(s),
			RecordedAt: at.Add(time.Duration(i) * time.Second), PlatformAt: at.In(berlin),
		})
	}
	evs = append(evs,
		bot.TimelineEvent{Seq: 1 << 63, RecordedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, berlin)},
		bot.TimelineEvent{Seq: 7, RecordedAt: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), PlatformAt: time.Date(9999, 12, 31, 23, 0, 0, 0, berlin)},
	)
	var e eventJSONWriter
	for _, ev := range evs {
		var want, got bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(toEvent(ev)); err != nil {
			t.Fatal(err)
		}
		if err := e.write(&got, ev); err != nil {
			t.Fatal(err)
		}
		if got.String()+"\n" != want.String() {
			t.Errorf("entry %d:\n got %s\nwant %s", ev.Seq, got.String(), want.String())
		}
	}
	bad := bot.TimelineEvent{Seq: 1, RecordedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := e.write(&bytes.Buffer{}, bad); err == nil {
		t.Error("an entry in the year 10000 encoded")
	}
	bad.RecordedAt, bad.PlatformAt = at, time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := e.write(&bytes.Buffer{}, bad); err == nil {
		t.Error("an entry said in the year -1 encoded")
	}
}
