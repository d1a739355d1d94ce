package bot_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
)

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want bot.Date
		ok   bool
	}{
		{"2026-03-10", date(2026, 3, 10), true},
		{"2024-02-29", date(2024, 2, 29), true},
		{"2026-12-31", date(2026, 12, 31), true},
		{"2025-02-29", bot.Date{}, false},
		{"2026-02-30", bot.Date{}, false},
		{"2026-04-31", bot.Date{}, false},
		{"2026-13-01", bot.Date{}, false},
		{"2026-00-10", bot.Date{}, false},
		{"2026-3-10", bot.Date{}, false},
		{"26-03-10", bot.Date{}, false},
		{"2026/03/10", bot.Date{}, false},
		{"2026-03-10T10:00", bot.Date{}, false},
		{" 2026-03-10", bot.Date{}, false},
		{"", bot.Date{}, false},
	}
	for _, tt := range tests {
		got, err := bot.ParseDate(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("ParseDate(%q) = %v, %v, want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestDateBefore(t *testing.T) {
	tests := []struct {
		d, e bot.Date
		want bool
	}{
		{date(2026, 3, 10), date(2026, 3, 11), true},
		{date(2026, 3, 11), date(2026, 3, 10), false},
		{date(2026, 3, 10), date(2026, 3, 10), false},
		{date(2026, 2, 28), date(2026, 3, 1), true},
		{date(2026, 12, 31), date(2027, 1, 1), true},
		{date(2027, 1, 1), date(2026, 12, 31), false},
		{date(2026, 3, 31), date(2026, 4, 1), true},
		{bot.Date{}, date(2026, 1, 1), true},
	}
	for _, tt := range tests {
		if got := tt.d.Before(tt.e); got != tt.want {
			t.Errorf("%v.Before(%v) = %v, want %v", tt.d, tt.e, got, tt.want)
		}
	}
}

func TestDateOfAndAt(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip(err)
	}
	// 23:30 UTC on the 9th is already the 10th in Berlin.
	at := time.Date(2026, 3, 9, 23, 30, 0, 0, time.UTC)
	if got := bot.DateOf(at); got != date(2026, 3, 9) {
		t.Errorf("DateOf(UTC) = %v", got)
	}
	if got := bot.DateOf(at.In(berlin)); got != date(2026, 3, 10) {
		t.Errorf("DateOf(Berlin) = %v", got)
	}
	got := date(2026, 3, 10).At(14, 30, berlin)
	if want := time.Date(2026, 3, 10, 13, 30, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("At(14:30 Berlin) = %v, want %v", got, want)
	}
}

func TestDateText(t *testing.T) {
	d := date(2026, 3, 9)
	if d.String() != "2026-03-09" || d.IsZero() {
		t.Errorf("String() = %q, IsZero() = %v", d.String(), d.IsZero())
	}
	if z := (bot.Date{}); z.String() != "" || !z.IsZero() {
		t.Errorf("zero Date: String() = %q, IsZero() = %v", z.String(), z.IsZero())
	}

	type doc struct {
		Due bot.Date `json:"due"`
	}
	for _, tt := range []struct {
		d    bot.Date
		json string
	}{
		{d, `{"due":"2026-03-09"}`},
		{date(987, 1, 2), `{"due":"0987-01-02"}`},
		{bot.Date{}, `{"due":""}`},
	} {
		b, err := json.Marshal(doc{tt.d})
		if err != nil || string(b) != tt.json {
			t.Errorf("json.Marshal(%v) = %s, %v, want %s", tt.d, b, err, tt.json)
		}
		var back doc
		if err := json.Unmarshal(b, &back); err != nil || back.Due != tt.d {
			t.Errorf("json.Unmarshal(%s) = %v, %v, want %v", b, back.Due, err, tt.d)
		}
	}
	var back doc
	if err := json.Unmarshal([]byte(`{"due":"2026-02-30"}`), &back); err == nil {
		t.Errorf("json.Unmarshal(2026-02-30) = %v, want an error", back.Due)
	}
}
