package bot

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RelDay is a day written relative to today: "today", "tomorrow",
// "yesterday" or "+3d". The grammar has no clock, so it keeps the offset
// and the handler resolves it (Resolve) in the zone the day is read in.
type RelDay struct {
	Set  bool
	Days int
}

// Resolve returns d, or when r is set the day r.Days after the day of now
// (now in the zone the day is meant in).
func (r RelDay) Resolve(d Date, now time.Time) Date {
	if !r.Set {
		return d
	}
	return DateOf(now).AddDays(r.Days)
}

// maxRelDays bounds "+Nd": ten years out is a typo, not a plan.
const maxRelDays = 3660

// parseDay reads a day: YYYY-MM-DD, or today, tomorrow, yesterday, +Nd.
func parseDay(word string) (Date, RelDay, bool) {
	switch strings.ToLower(word) {
	case "today":
		return Date{}, RelDay{Set: true}, true
	case "tomorrow":
		return Date{}, RelDay{Set: true, Days: 1}, true
	case "yesterday":
		return Date{}, RelDay{Set: true, Days: -1}, true
	}
	if n, ok := strings.CutPrefix(strings.ToLower(word), "+"); ok {
		if days, ok := strings.CutSuffix(n, "d"); ok && allDigits(days) {
			if v, err := strconv.Atoi(days); err == nil && v <= maxRelDays {
				return Date{}, RelDay{Set: true, Days: v}, true
			}
		}
		return Date{}, RelDay{}, false
	}
	d, err := ParseDate(word)
	return d, RelDay{}, err == nil
}

// maxIn bounds "in <duration>": a year.
const maxIn = 366 * 24 * time.Hour

// parseIn reads how long from now: "2h", "90m", "1h30m" (at least a
// minute, at most a year).
func parseIn(word string) (time.Duration, bool) {
	d, err := time.ParseDuration(strings.ToLower(word))
	return d, err == nil && d >= time.Minute && d <= maxIn
}

// parseSchedule reads postmortem schedule: the start as a day and a time
// ("2026-03-04 15:00", "tomorrow 14:00", "+3d 09:30"), or relative to now
// ("in 2h", "+90m"); then, by type, the optional zone and duration.
func parseSchedule(rest string) (Command, error) {
	s := byVerb[VerbPostmortemSchedule]
	word, after := cutWord(rest)
	var in time.Duration
	switch {
	case strings.EqualFold(word, "in"):
		w, a := cutWord(after)
		d, ok := parseIn(w)
		if !ok {
			return Command{}, invalid(fmt.Sprintf("Invalid start in %s: give how long from now, e.g. in 2h or in 30m.", quote(w)), s.Verb)
		}
		in, after = d, a
	case strings.HasPrefix(word, "+") && !strings.HasSuffix(strings.ToLower(word), "d"):
		d, ok := parseIn(word[1:])
		if !ok {
			return Command{}, invalid(fmt.Sprintf("Invalid start %s: give how long from now, e.g. +2h or +30m.", quote(word)), s.Verb)
		}
		in = d
	default:
		return s.parseArgs(rest)
	}
	// The day and time are given by in: what may follow are the optional
	// arguments (zone, duration), read as the table declares them.
	opt := &VerbSpec{Verb: s.Verb, Args: s.Args[2:]}
	cmd, err := opt.parseArgs(after)
	if err != nil {
		return Command{}, err
	}
	cmd.In = in
	return cmd, nil
}

// LocalTime returns the instant of the wall-clock time hour:min on d in
// loc, and what the person who wrote it must be told: "" for an ordinary
// time; for a time the clocks skip (the night summer time starts), that it
// does not exist and which time was taken; for a time that happens twice
// (the night it ends), that the first was taken and how to write the
// second.
func LocalTime(d Date, hour, min int, loc *time.Location) (time.Time, string) {
	t := time.Date(d.Year, d.Month, d.Day, hour, min, 0, 0, loc)
	wall := func(u time.Time) bool {
		l := u.In(loc)
		return DateOf(l) == d && l.Hour() == hour && l.Minute() == min
	}
	asked := fmt.Sprintf("%s %02d:%02d", d, hour, min)
	if !wall(t) {
		return t, fmt.Sprintf("%s does not exist in %s: the clocks skip it that night. Taken as %s.",
			asked, loc, t.In(loc).Format("15:04 MST"))
	}
	// Zone shifts are whole hours or half hours (Lord Howe Island).
	for _, shift := range []time.Duration{-time.Hour, time.Hour, -30 * time.Minute, 30 * time.Minute} {
		other := t.Add(shift)
		if !wall(other) {
			continue
		}
		first, second := t, other
		if other.Before(t) {
			first, second = other, t
		}
		return first, fmt.Sprintf("%s happens twice in %s: the clocks go back that night. Taken as the first, %s (%s); for the second, write %s UTC.",
			asked, loc, first.In(loc).Format("15:04 MST"), first.UTC().Format("15:04 UTC"), second.UTC().Format("2006-01-02 15:04"))
	}
	return t, ""
}
