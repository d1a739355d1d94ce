package bot

import (
	"strings"
	"testing"
	"time"
)

// TestRelativeDays: days and starts written relative to now are kept as
// offsets (the grammar has no clock) and resolved by the handler.
func TestRelativeDays(t *testing.T) {
	now := time.Date(2026, 12, 1, 23, 12, 40, 0, time.UTC)
	for _, tc := range []struct {
		text    string
		day     string // resolved against now, "" when none
		clock   Clock
		in      time.Duration
		zone    string
		meeting time.Duration
	}{
		{"postmortem schedule tomorrow 14:00", "2026-12-02", Clock{14, 0}, 0, "", 0},
		{"postmortem schedule +3d 09:30 Europe/Berlin 45m", "2026-12-04", Clock{9, 30}, 0, "Europe/Berlin", 45 * time.Minute},
		{"postmortem schedule today 23:30", "2026-12-01", Clock{23, 30}, 0, "", 0},
		{"postmortem schedule 2027-03-28 02:30", "2027-03-28", Clock{2, 30}, 0, "", 0},
		{"postmortem schedule in 2h", "", Clock{}, 2 * time.Hour, "", 0},
		{"postmortem schedule in 1m 30m", "", Clock{}, time.Minute, "", 30 * time.Minute},
		{"postmortem schedule +90m Europe/Berlin", "", Clock{}, 90 * time.Minute, "Europe/Berlin", 0},
		{"postmortem started yesterday 22:00", "2026-11-30", Clock{22, 0}, 0, "", 0},
	} {
		cmd, err := Parse(tc.text)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.text, err)
			continue
		}
		day := ""
		if d := cmd.DateRel.Resolve(cmd.Date, now); !d.IsZero() {
			day = d.String()
		}
		if day != tc.day || cmd.Time != tc.clock || cmd.In != tc.in || cmd.Zone != tc.zone || cmd.Duration != tc.meeting {
			t.Errorf("Parse(%q) = day %q %v in %v zone %q duration %v; want %q %v %v %q %v",
				tc.text, day, cmd.Time, cmd.In, cmd.Zone, cmd.Duration, tc.day, tc.clock, tc.in, tc.zone, tc.meeting)
		}
	}
	cmd, err := Parse("action Add a canary stage @bob due +14d")
	if err != nil || cmd.DueRel.Resolve(cmd.Due, now).String() != "2026-12-15" {
		t.Errorf("action due +14d = %+v, %v; want 2026-12-15", cmd, err)
	}
}

// TestLocalTime: a wall-clock time the clocks skip, or pass twice, is not
// taken silently.
func TestLocalTime(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		day        Date
		hour, min  int
		wantUTC    string
		wantInNote string
	}{
		{Date{2027, 3, 28}, 2, 30, "2027-03-28 01:30", "2027-03-28 02:30 does not exist in Europe/Berlin: the clocks skip it that night. Taken as 03:30 CEST."},
		{Date{2027, 10, 31}, 2, 30, "2027-10-31 00:30", "2027-10-31 02:30 happens twice in Europe/Berlin: the clocks go back that night. Taken as the first, 02:30 CEST (00:30 UTC); for the second, write 2027-10-31 01:30 UTC."},
		{Date{2027, 10, 31}, 3, 30, "2027-10-31 02:30", ""},
		{Date{2027, 6, 1}, 14, 0, "2027-06-01 12:00", ""},
	} {
		at, note := LocalTime(tc.day, tc.hour, tc.min, berlin)
		if got := at.UTC().Format("2006-01-02 15:04"); got != tc.wantUTC || note != tc.wantInNote {
			t.Errorf("LocalTime(%s %02d:%02d) = %s, %q; want %s, %q", tc.day, tc.hour, tc.min, got, note, tc.wantUTC, tc.wantInNote)
		}
	}
	if _, note := LocalTime(Date{2027, 3, 28}, 2, 30, time.UTC); strings.TrimSpace(note) != "" {
		t.Errorf("UTC has no gaps, got %q", note)
	}
}
