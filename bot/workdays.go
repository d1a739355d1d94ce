package bot

import "time"

// AddWorkingDays returns t plus n working days (Monday to Friday) in loc,
// at the same wall-clock time. Deadlines such as "schedule the post-mortem
// within 2 working days" do not expire over a weekend.
func AddWorkingDays(t time.Time, n int, loc *time.Location) time.Time {
	t = t.In(loc)
	for n > 0 {
		t = t.AddDate(0, 0, 1)
		if IsWorkingDay(t) {
			n--
		}
	}
	return t
}

// IsWorkingDay reports whether t falls on Monday to Friday in its location.
func IsWorkingDay(t time.Time) bool {
	wd := t.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}
