package render

import (
	"fmt"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/debrief/debrief/bot"
)

// Invite renders the post-mortem meeting as an RFC 5545 iCalendar request.
// The UID is stable per incident and SEQUENCE counts reschedules, so a
// calendar that imported the first invite updates the event instead of
// adding a second one. Times are in UTC: every client converts them, and
// no VTIMEZONE block is needed.
//
// Chat platforms do not give us e-mail addresses, so people are named by
// CN with an address in the reserved .invalid domain that identifies them
// without pretending to be deliverable.
func Invite(inc *bot.Incident, now time.Time) string {
	pm := inc.Postmortem
	cal := ics.NewCalendarFor("debrief")
	cal.SetMethod(ics.MethodRequest)
	ev := cal.AddEvent(inviteUID(inc))
	ev.SetDtStampTime(now.UTC())
	ev.SetSequence(pm.Sequence)
	ev.SetStartAt(pm.ScheduledAt.UTC())
	ev.SetEndAt(pm.ScheduledAt.Add(pm.Duration).UTC())
	ev.SetSummary(fmt.Sprintf("Post-mortem: %s %s", inc.ID, inc.Title))
	ev.SetDescription(fmt.Sprintf("Blameless post-mortem of %s (%s): %s.\nScheduled in %s.\nWhy did it make sense at the time? What will we change?",
		inc.ID, inc.Severity, inc.Title, pm.Zone))
	if c, ok := inc.Role(bot.Commander); ok {
		ev.SetOrganizer(calAddress(c), ics.WithCN(displayName(c)))
	}
	for _, u := range inc.Responders {
		ev.AddAttendee(calAddress(u), ics.WithCN(displayName(u)), ics.WithRSVP(true),
			ics.ParticipationRoleReqParticipant, ics.ParticipationStatusNeedsAction)
	}
	return cal.Serialize()
}

func inviteUID(inc *bot.Incident) string {
	return strings.ToLower(inc.ID) + "-postmortem@debrief"
}

func calAddress(u bot.User) string {
	return "mailto:" + strings.ToLower(u.ID) + "@" + string(u.Platform) + ".debrief.invalid"
}

func displayName(u bot.User) string {
	if u.Name != "" {
		return u.Name
	}
	return u.ID
}
