package bolt

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
)

func TestFastRecordJSONUpToDate(t *testing.T) {
	if !fastRecordJSON {
		t.Errorf("bot.TimelineEvent or bot.User changed shape; entries now go through encoding/json.\n"+
			"Teach appendRecord the change and update recordShape. Shape now:\n%s",
			shapeOf(reflect.TypeFor[bot.TimelineEvent](), reflect.TypeFor[bot.User]()))
	}
}

func TestAppendRecordMatchesJSON(t *testing.T) {
	berlin := time.FixedZone("CEST", 2*3600)
	india := time.FixedZone("IST", 5*3600+1800)
	for _, ev := range []bot.TimelineEvent{
		{RecordedAt: time.Unix(0, 0).UTC()},
		benchEvent(7, eventKey(7)),
		{
			Seq: 1<<64 - 1, IncidentID: "INC-12", Kind: bot.EventFile,
			Author: bot.User{Platform: bot.Discord, ID: "80351110224678912"},
			Text:   "quote \" backslash \\ nl \n cr \r tab \t bs \b ff \f nul \x00 esc \x1b del \x7f",
			URL:    "https://example.com/?a=1&b=<2>", MessageID: "m", ThreadID: "t",
			PlatformAt: time.Date(2025, 1, 2, 3, 4, 5, 600, berlin),
			RecordedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, india),
			DedupeKey:  "Ev\u2028\u2029",
		},
		{
			IncidentID: "INC-3", Kind: bot.EventMessage,
			Author:     bot.User{Platform: bot.Slack, ID: "U1", Name: "Zoë 🚒"},
			Text:       "invalid \xff\xfe utf-8, truncated \xe2\x82, fine €, <b>&amp;</b>",
			RecordedAt: time.Date(2262, 4, 11, 23, 47, 16, 854775807, time.UTC),
		},
	} {
		r := record{TimelineEvent: ev, DedupeKey: ev.DedupeKey}
		want, err := encodeRecord(nil, r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendRecord(nil, &ev)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("appendRecord(%q)\n got %s\nwant %s", ev.Text, got, want)
		}
		if !json.Valid(got) {
			t.Errorf("appendRecord(%q) is not valid JSON: %s", ev.Text, got)
		}
	}
}

func TestAppendRecordTimeOutOfRange(t *testing.T) {
	ev := bot.TimelineEvent{PlatformAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), RecordedAt: time.Unix(0, 0)}
	if _, err := appendRecord(nil, &ev); err == nil {
		t.Error("appendRecord of year 10000 succeeded; encoding/json refuses it")
	}
}
