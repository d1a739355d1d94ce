package workflows_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	ical "github.com/emersion/go-ical"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows/render"
)

// strictICS checks raw as RFC 5545 requires, which the lenient readers
// calendar clients use (and golang-ical) do not: every content line ends
// with CRLF (3.1; no bare LF or CR anywhere), no line is longer than 75
// octets (3.1), and then emersion/go-ical reads it and writes it again,
// which checks the structure: exactly one PRODID and VERSION in the
// calendar, exactly one UID and DTSTAMP in each event (3.6.1, 3.7).
// It returns the UIDs of the events.
func strictICS(raw string) ([]string, error) {
	if !strings.HasSuffix(raw, "\r\n") {
		return nil, errors.New("the last line does not end with CRLF")
	}
	for i, line := range strings.Split(strings.TrimSuffix(raw, "\r\n"), "\r\n") {
		if strings.ContainsAny(line, "\r\n") {
			return nil, fmt.Errorf("line %d holds a bare CR or LF: %q", i+1, line)
		}
		if len(line) > 75 {
			return nil, fmt.Errorf("line %d is %d octets, more than 75: %q", i+1, len(line), line)
		}
	}
	cal, err := ical.NewDecoder(strings.NewReader(raw)).Decode()
	if err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if err := ical.NewEncoder(&bytes.Buffer{}).Encode(cal); err != nil {
		return nil, fmt.Errorf("not valid RFC 5545: %w", err)
	}
	var uids []string
	for _, ev := range cal.Events() {
		uid, err := ev.Props.Text(ical.PropUID)
		if err != nil {
			return nil, fmt.Errorf("UID: %w", err)
		}
		uids = append(uids, uid)
	}
	if len(uids) == 0 {
		return nil, errors.New("no event")
	}
	return uids, nil
}

// TestStrictICSRefuses holds the checker itself to what it must refuse: an
// invite with LF-only endings, without a UID, with two.
func TestStrictICSRefuses(t *testing.T) {
	e := newEnv(t)
	_, ch := e.resolved("Queue stuck")
	e.run(alice, ch, "postmortem schedule 2026-03-04 15:00 Europe/Berlin 90m")
	e.deliver()
	raw, ok := e.chat.file("INC-1-postmortem.ics")
	if !ok {
		t.Fatalf("no invite; calls %q", e.chat.Calls())
	}
	if _, err := strictICS(raw); err != nil {
		t.Fatalf("the invite itself is refused: %v\n%s", err, raw)
	}
	uidLine := ""
	for _, l := range strings.Split(raw, "\r\n") {
		if strings.HasPrefix(l, "UID:") {
			uidLine = l + "\r\n"
		}
	}
	for name, bad := range map[string]string{
		"LF only":   strings.ReplaceAll(raw, "\r\n", "\n"),
		"one LF":    strings.Replace(raw, "\r\n", "\n", 3),
		"no UID":    strings.Replace(raw, uidLine, "", 1),
		"two UIDs":  strings.Replace(raw, uidLine, uidLine+"UID:other@debrief\r\n", 1),
		"long line": strings.Replace(raw, uidLine, "X-LONG:"+strings.Repeat("a", 80)+"\r\n"+uidLine, 1),
	} {
		if _, err := strictICS(bad); err == nil {
			t.Errorf("%s: accepted:\n%q", name, bad)
		}
	}
}

// TestInviteUIDGloballyUnique: the post-mortem's and the game day's
// invites are valid RFC 5545 (strictICS) and their UIDs carry the
// installation's ID, kept in the store under install_id: the same across a
// restart and a reschedule, different in another installation (or the same
// one after its database was reset), whose INC-1 and GD-1 are other
// meetings.
func TestInviteUIDGloballyUnique(t *testing.T) {
	invites := func(e *env) (pm, gd string) {
		t.Helper()
		_, ch := e.resolved("Queue stuck, \"quoted\"; and a very long title that has to be folded at seventy-five octets: é名")
		e.run(alice, ch, "postmortem schedule 2026-03-04 15:00 Europe/Berlin 90m")
		e.run(alice, general, scheduleDrill)
		e.deliver()
		for name, out := range map[string]*string{"INC-1-postmortem.ics": &pm, "GD-1-gameday.ics": &gd} {
			raw, ok := e.chat.file(name)
			if !ok {
				t.Fatalf("no %s; calls %q", name, e.chat.Calls())
			}
			uids, err := strictICS(raw)
			if err != nil {
				t.Fatalf("%s: %v\n%s", name, err, raw)
			}
			if len(uids) != 1 {
				t.Fatalf("%s: UIDs %q, want one", name, uids)
			}
			*out = uids[0]
		}
		return pm, gd
	}
	meta := func(e *env) string {
		t.Helper()
		var id string
		if err := e.db.View(t.Context(), func(tx store.ReadTx) error {
			var err error
			id, _, err = tx.Meta("install_id")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return id
	}

	a := newEnv(t)
	pmA, gdA := invites(a)
	id := meta(a)
	if len(id) != 32 || !strings.Contains(pmA, id) || !strings.Contains(gdA, id) ||
		!strings.HasPrefix(pmA, "inc-1-postmortem.") || !strings.HasPrefix(gdA, "gd-1-gameday.") {
		t.Errorf("UIDs %q, %q; install_id %q", pmA, gdA, id)
	}
	a.restart()
	ch := bot.Channel{Platform: bot.Console, ID: a.incident("INC-1").Channels[bot.Console]}
	a.run(alice, ch, "postmortem schedule 2026-03-05 09:00 America/New_York")
	a.deliver()
	raw, _ := a.chat.file("INC-1-postmortem.ics")
	if uids, err := strictICS(raw); err != nil || len(uids) != 1 || uids[0] != pmA || meta(a) != id {
		t.Errorf("after a restart and a reschedule: UIDs %q (%v), install_id %q; want %q, %q", uids, err, meta(a), pmA, id)
	}

	// Another installation, or this one's database reset: same incident
	// and game day IDs, other UIDs.
	b := newEnv(t)
	pmB, gdB := invites(b)
	if pmB == pmA || gdB == gdA || meta(b) == id {
		t.Errorf("two installations share UIDs: %q %q / %q %q", pmA, gdA, pmB, gdB)
	}
}

// TestInviteEscaping: titles, plans and names with everything iCalendar
// must escape (commas, semicolons, backslashes, quotes, newlines, colons,
// long UTF-8) still give strict RFC 5545 invites, and read back as given.
func TestInviteEscaping(t *testing.T) {
	nasty := bot.User{Platform: bot.Slack, ID: "U1;x", Name: "Bob \"the\" Builder, SRE; on-call\nteam: ^caret"}
	title := "DB; failover, \"primary\" \\ eu:west\nsecond line " + strings.Repeat("é名", 30)
	inc := &bot.Incident{ID: "INC-7", Title: title, Severity: bot.SEV2,
		Roles:      map[bot.Role]bot.User{bot.Commander: nasty},
		Responders: []bot.User{nasty, {Platform: bot.Discord, ID: "42", Name: "omar"}},
		Postmortem: bot.Postmortem{ScheduledAt: time.Date(2026, 3, 4, 14, 0, 0, 0, time.UTC), Duration: time.Hour, Zone: "Europe/Berlin"},
	}
	g := store.Gameday{ID: "GD-7", Title: title, Start: time.Date(2026, 3, 4, 14, 0, 0, 0, time.UTC), Duration: 2 * time.Hour, Zone: "UTC",
		Plan:        bot.DrillPlan{Hypothesis: "p99 < 300ms; errors, < 1%\nand \"nothing\" else"},
		ScheduledBy: nasty, Participants: []bot.User{{Platform: bot.Console, ID: "carol", Name: "carol"}}}
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for name, raw := range map[string]string{
		"post-mortem": render.Invite(inc, "0123456789abcdef0123456789abcdef", now),
		"game day":    render.GamedayInvite(g, "0123456789abcdef0123456789abcdef", now),
	} {
		if _, err := strictICS(raw); err != nil {
			t.Errorf("%s: %v\n%s", name, err, raw)
			continue
		}
		cal, _ := ical.NewDecoder(strings.NewReader(raw)).Decode()
		ev := cal.Events()[0]
		if summary, err := ev.Props.Text(ical.PropSummary); err != nil || !strings.Contains(summary, title) {
			t.Errorf("%s: SUMMARY %q (%v), want it to hold %q", name, summary, err, title)
		}
		org := ev.Props.Get(ical.PropOrganizer)
		if org == nil || org.Params.Get(ical.ParamCommonName) == "" || strings.ContainsAny(org.Params.Get(ical.ParamCommonName), "\n\"") {
			t.Errorf("%s: ORGANIZER %+v", name, org)
		}
	}
}
