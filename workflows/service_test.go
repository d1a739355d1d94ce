package workflows_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
)

func TestDeclareOpensChannel(t *testing.T) {
	e := newEnv(t)
	inc, ch := e.declare(`"Checkout is down" sev2 #payments`)

	if inc.ID != "INC-1" || inc.Title != "Checkout is down" || inc.Severity != bot.SEV2 ||
		inc.Status != bot.StatusInvestigating || inc.Kind != bot.KindReal {
		t.Fatalf("declared %+v", inc)
	}
	if !reflect.DeepEqual(inc.Tags, []string{"payments"}) {
		t.Errorf("tags = %q, want [payments]", inc.Tags)
	}
	if !inc.IsCommander(alice) {
		t.Errorf("commander = %+v, want alice", inc.Roles)
	}
	want := []string{
		"create inc-1-checkout-is-down",
		"invite C-inc-1-checkout-is-down alice",
		"topic C-inc-1-checkout-is-down INC-1 | SEV2 | investigating | IC @alice",
		"post C-inc-1-checkout-is-down INC-1: Checkout is down",
		"pin C-inc-1-checkout-is-down m1",
	}
	if got := e.chat.Calls(); !reflect.DeepEqual(got, want) {
		t.Errorf("calls:\n got %q\nwant %q", got, want)
	}
	if ch.ID != "C-inc-1-checkout-is-down" {
		t.Errorf("channel = %q", ch.ID)
	}
	// The second incident gets the next number.
	inc2, _ := e.declare("Search slow")
	if inc2.ID != "INC-2" || inc2.Severity != bot.SEV3 {
		t.Errorf("second incident = %s %s, want INC-2 SEV3 (the default)", inc2.ID, inc2.Severity)
	}
	if len(e.effects()) != 0 {
		t.Errorf("outbox not drained: %+v", e.effects())
	}
}

func TestAnnouncements(t *testing.T) {
	e := newEnv(t)
	e.cfg.Announce = map[bot.Platform]string{bot.Console: "incidents"}
	e.restart()
	_, ch := e.declare(`"API errors" sev3`)
	e.run(bob, ch, "sev 1")
	e.run(alice, ch, "resolve")
	e.deliver()
	var ann []string
	for _, c := range e.chat.Calls() {
		if strings.HasPrefix(c, "post incidents ") {
			ann = append(ann, strings.TrimPrefix(c, "post incidents "))
		}
	}
	want := []string{
		`INC-1 declared: API errors (SEV3, real) by @alice`,
		`INC-1 API errors: severity SEV3 -> SEV1 by @bob`,
		`INC-1 resolved: API errors`,
	}
	if !reflect.DeepEqual(ann, want) {
		t.Errorf("announcements:\n got %q\nwant %q", ann, want)
	}
}

// TestLifecycle runs an incident from declaration to close and checks the
// timeline records every step in order.
func TestLifecycle(t *testing.T) {
	e := newEnv(t)
	inc, ch := e.declare(`"DB failover" sev2`)
	ctx := context.Background()

	for _, m := range []string{"primary is gone", "promoting replica"} {
		if _, err := e.svc.Record(ctx, ch, bot.TimelineEvent{Kind: bot.EventMessage, Author: bob, Text: m}); err != nil {
			t.Fatal(err)
		}
	}
	e.run(alice, ch, "role scribe @bob")
	e.run(bob, ch, "status replica promoted, errors dropping")
	e.run(bob, ch, "sev 1")
	e.run(alice, ch, "mitigate")
	e.run(alice, ch, "resolve failover completed")

	err := e.refuse(alice, ch, "close", bot.ECONFLICT)
	for _, want := range []string{"not been scheduled", "not been marked held"} {
		if !strings.Contains(bot.ErrorMessage(err), want) {
			t.Errorf("close refusal %q does not say %q", bot.ErrorMessage(err), want)
		}
	}

	e.run(alice, ch, "postmortem schedule 2026-03-03 15:00 Europe/Berlin 45m")
	e.refuse(alice, ch, "postmortem held @alice @bob -- went well", bot.ECONFLICT)
	e.run(alice, ch, "postmortem schedule 2026-03-03 16:00 Europe/Berlin")
	if got := e.incident(inc.ID).Postmortem; got.Sequence != 1 || !got.ScheduledAt.Equal(time.Date(2026, 3, 3, 15, 0, 0, 0, time.UTC)) {
		t.Errorf("rescheduled postmortem = %+v, want 15:00 UTC, sequence 1", got)
	}
	e.clock.Advance(30 * time.Hour)
	e.run(alice, ch, "action add a failover drill to the game day @bob due 2026-03-20")
	e.run(alice, ch, "postmortem held @alice @bob -- we learned the replica lag alert was missing")
	e.refuse(bob, ch, "close", bot.EFORBIDDEN)
	e.run(alice, ch, "close")
	e.deliver()

	got := e.incident(inc.ID)
	if got.Status != bot.StatusClosed || got.ClosedAt.IsZero() || got.Summary != "failover completed" {
		t.Fatalf("closed incident = %+v", got)
	}
	if scribe, _ := got.Role(bot.Scribe); scribe.ID != "bob" {
		t.Errorf("scribe = %+v", scribe)
	}
	var kinds []string
	for _, ev := range e.timeline(inc.ID) {
		kinds = append(kinds, string(ev.Kind)+":"+ev.Text)
	}
	wantPrefixes := []string{
		"lifecycle:declared INC-1",
		"bot_action:opened channel",
		"message:primary is gone",
		"message:promoting replica",
		"role:@bob is now scribe",
		"status:replica promoted",
		"severity:severity SEV2 -> SEV1",
		"lifecycle:mitigated",
		"lifecycle:resolved: failover completed",
		"lifecycle:post-mortem scheduled",
		"lifecycle:post-mortem rescheduled",
		"action:countermeasure #1",
		"lifecycle:post-mortem held with @alice, @bob",
		"lifecycle:closed",
	}
	if len(kinds) != len(wantPrefixes) {
		t.Fatalf("timeline has %d entries, want %d:\n%s", len(kinds), len(wantPrefixes), strings.Join(kinds, "\n"))
	}
	for i, w := range wantPrefixes {
		if !strings.HasPrefix(kinds[i], w) {
			t.Errorf("timeline[%d] = %q, want prefix %q", i, kinds[i], w)
		}
	}
	calls := e.chat.Calls()
	if last := calls[len(calls)-1]; last != "archive "+ch.ID {
		t.Errorf("last call = %q, want the channel archived", last)
	}
	// A closed incident takes no more changes but can still be read.
	e.refuse(alice, ch, "note too late", bot.ECONFLICT)
	e.run(alice, ch, "timeline")
}

// TestBadInputChangesNothing checks that every refused command leaves the
// incident, its timeline and the outbox as they were.
func TestBadInputChangesNothing(t *testing.T) {
	e := newEnv(t)
	inc, ch := e.declare(`"Cache stampede" sev3`)
	ctx := context.Background()
	before, beforeTL := e.incident(inc.ID), e.timeline(inc.ID)

	cases := []struct {
		user bot.User
		ch   bot.Channel
		text string
		code string
	}{
		{alice, general, "sev 1", bot.ENOTFOUND},                           // not an incident channel
		{bob, ch, "role commander @bob", bot.EFORBIDDEN},                   // only the commander assigns roles
		{bob, ch, "close", bot.EFORBIDDEN},                                 // only the commander closes
		{alice, ch, "close", bot.ECONFLICT},                                // not resolved, no post-mortem
		{alice, ch, "sev 3", bot.ECONFLICT},                                // already SEV3
		{alice, ch, "reopen", bot.ECONFLICT},                               // not mitigated or resolved
		{alice, ch, "postmortem held @bob", bot.ECONFLICT},                 // not scheduled
		{alice, ch, "postmortem schedule 2026-03-05 10:00", bot.ECONFLICT}, // not resolved yet
		{alice, ch, "postmortem schedule 2026-03-01 10:00", bot.EINVALID},  // in the past
		{alice, ch, "action fix it @bob due 2026-01-01", bot.EINVALID},     // due in the past
		{alice, ch, "action done 3", bot.ENOTFOUND},                        // no such countermeasure
	}
	for _, c := range cases {
		e.refuse(c.user, c.ch, c.text, c.code)
	}
	for _, text := range []string{"", "frobnicate", "sev 9", "role king @bob", "declare", `declare "unterminated`} {
		r := e.svc.Execute(ctx, alice, ch, text)
		if text == "" {
			continue // empty is help
		}
		if !r.Ephemeral || !strings.Contains(r.Text, "/incident") {
			t.Errorf("Execute(%q) = %+v, want ephemeral usage help", text, r)
		}
	}
	if _, _, err := e.svc.Timeline(ctx, "INC-99"); bot.ErrorCode(err) != bot.ENOTFOUND {
		t.Errorf("Timeline(INC-99) error = %v, want not_found", err)
	}
	if _, _, err := e.svc.Timeline(ctx, "bogus"); bot.ErrorCode(err) != bot.ENOTFOUND {
		t.Errorf("Timeline(bogus) error = %v, want not_found", err)
	}
	if _, err := e.svc.Record(ctx, general, bot.TimelineEvent{Kind: bot.EventMessage, Author: bob, Text: "hi"}); bot.ErrorCode(err) != bot.ENOTFOUND {
		t.Errorf("Record in #general error = %v, want not_found", err)
	}
	if after := e.incident(inc.ID); !reflect.DeepEqual(after, before) {
		t.Errorf("incident changed:\n got %+v\nwant %+v", after, before)
	}
	if after := e.timeline(inc.ID); !reflect.DeepEqual(after, beforeTL) {
		t.Errorf("timeline changed: %d entries, want %d", len(after), len(beforeTL))
	}
	if n := len(e.effects()); n != 0 {
		t.Errorf("refused commands queued %d effects", n)
	}
}

func TestRefusedCloseIsPublic(t *testing.T) {
	e := newEnv(t)
	_, ch := e.declare("Disk full")
	r := e.svc.Execute(context.Background(), alice, ch, "close")
	if r.Ephemeral || !strings.Contains(r.Text, "resolve it first") {
		t.Errorf("refused close = %+v, want a public reply naming the reasons", r)
	}
	r = e.svc.Execute(context.Background(), bob, ch, "close")
	if !r.Ephemeral || !strings.Contains(r.Text, "Only the incident commander") {
		t.Errorf("forbidden close = %+v, want an ephemeral refusal", r)
	}
}

func TestAdminMayClose(t *testing.T) {
	e := newEnv(t)
	e.cfg.Policy = bot.ClosePolicy{SkipReview: map[bot.Severity]bool{bot.SEV4: true}}
	e.cfg.Admins = []string{"console:carol"}
	e.restart()
	inc, ch := e.declare("Typo on status page sev4 near-miss")
	if inc.Kind != bot.KindNearMiss || inc.Severity != bot.SEV4 {
		t.Fatalf("declared %s %s", inc.Kind, inc.Severity)
	}
	e.run(alice, ch, "resolve")
	e.refuse(bob, ch, "close", bot.EFORBIDDEN)
	e.run(carol, ch, "close")
	if got := e.incident(inc.ID).Status; got != bot.StatusClosed {
		t.Errorf("status = %s, want closed", got)
	}
	tl := e.timeline(inc.ID)
	if last := tl[len(tl)-1].Text; !strings.Contains(last, "without a post-mortem review") {
		t.Errorf("close recorded as %q, want the relaxation named", last)
	}
}

// A display name is the user's to choose: naming yourself after an admin's
// ID (bare or as a key) grants nothing.
func TestAdminByIDNotName(t *testing.T) {
	e := newEnv(t)
	e.cfg.Policy = bot.ClosePolicy{SkipReview: map[bot.Severity]bool{bot.SEV4: true}}
	e.cfg.Admins = []string{"UBOSS01", "slack:UADMIN1"}
	e.restart()
	inc, ch := e.declare("Typo on status page sev4 near-miss")
	e.run(alice, ch, "resolve")
	for _, mallory := range []bot.User{
		{Platform: "slack", ID: "UMAL0001", Name: "UBOSS01"},
		{Platform: "slack", ID: "UMAL0002", Name: "slack:UADMIN1"},
		{Platform: "slack", ID: "UMAL0003", Name: "UADMIN1"},
	} {
		e.refuse(mallory, ch, "close", bot.EFORBIDDEN)
	}
	if got := e.incident(inc.ID).Status; got == bot.StatusClosed {
		t.Fatalf("closed by a user named after an admin")
	}
	e.run(bot.User{Platform: "slack", ID: "UADMIN1", Name: "grace"}, ch, "close")
	if got := e.incident(inc.ID).Status; got != bot.StatusClosed {
		t.Errorf("status = %s, want closed by the admin", got)
	}
}

func TestRecordDedupe(t *testing.T) {
	e := newEnv(t)
	inc, ch := e.declare("Queue backlog")
	ctx := context.Background()
	ev := bot.TimelineEvent{Kind: bot.EventMessage, Author: bob, Text: "looking", MessageID: "1", DedupeKey: "console/1"}
	first, err := e.svc.Record(ctx, ch, ev)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	again, err := e.svc.Record(ctx, ch, ev)
	if err != nil {
		t.Fatal(err)
	}
	if again.Seq != first.Seq || !again.RecordedAt.Equal(first.RecordedAt) {
		t.Errorf("redelivery stored anew: %+v vs %+v", again, first)
	}
	n := 0
	for _, got := range e.timeline(inc.ID) {
		if got.Text == "looking" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("message stored %d times, want once", n)
	}
}

func TestUserPrefs(t *testing.T) {
	e := newEnv(t)
	e.run(bob, general, "tz America/New_York")
	e.run(bob, general, "github bob-gh")
	if loc := e.svc.ZoneOf(context.Background(), bob); loc.String() != "America/New_York" {
		t.Errorf("zone = %s", loc)
	}
	// The zone is used to read meeting times typed without one.
	_, ch := e.declare("Login loop")
	e.run(alice, ch, "resolve")
	e.run(bob, ch, "postmortem schedule 2026-03-04 09:30")
	inc := e.incident("INC-1")
	if want := time.Date(2026, 3, 4, 14, 30, 0, 0, time.UTC); !inc.Postmortem.ScheduledAt.Equal(want) {
		t.Errorf("scheduled %s, want %s (09:30 New York)", inc.Postmortem.ScheduledAt.UTC(), want)
	}
}

func TestExportMarkdown(t *testing.T) {
	e := newEnv(t)
	inc, ch := e.declare(`"Checkout is down" sev2`)
	if _, err := e.svc.Record(context.Background(), ch, bot.TimelineEvent{Kind: bot.EventMessage, Author: bob, Text: "5xx | on /pay"}); err != nil {
		t.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	md, err := e.svc.Export(context.Background(), inc.ID, berlin)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# INC-1: Checkout is down",
		"| Severity | SEV2 |",
		"| Declared | 2026-03-02 10:00 | 2026-03-02 11:00 CET |",
		"## Timeline (Europe/Berlin)",
		"### 2026-03-02 11:00 CET (10:00 UTC)",
		"- 11:00:00 **@bob**: 5xx | on /pay",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("export lacks %q:\n%s", want, md)
		}
	}
}

// TestDeclareFromMessage is the Slack message shortcut and modal: another
// person is commander, and the message declared from opens the timeline.
func TestDeclareFromMessage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	seed := &bot.TimelineEvent{Kind: bot.EventMessage, Author: bob, Text: "is checkout down for anyone else?",
		MessageID: "1700000000.000100", PlatformAt: e.clock.Now().Add(-time.Minute), DedupeKey: "general/1700000000.000100"}
	r, err := e.svc.Declare(ctx, alice, general, bot.Command{Text: "Checkout down", Severity: bot.SEV2, Users: []bot.User{{ID: "carol", Name: "carol"}}}, seed)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Text, "@carol is the incident commander") {
		t.Errorf("reply = %q", r.Text)
	}
	e.deliver()
	inc := e.incident(r.IncidentID)
	if !inc.IsCommander(carol) {
		t.Errorf("commander = %+v, want carol", inc.Roles)
	}
	tl := e.timeline(inc.ID)
	if len(tl) < 2 || tl[0].Text != seed.Text || tl[0].Author.ID != "bob" || tl[1].Kind != bot.EventLifecycle {
		t.Fatalf("timeline starts %+v, want the seed message then the declaration", tl[:min(2, len(tl))])
	}
	if !strings.Contains(strings.Join(e.chat.Calls(), "\n"), "invite C-inc-1-checkout-down alice,carol") {
		t.Errorf("declarer and commander not both invited: %q", e.chat.Calls())
	}
	if _, err := e.svc.Declare(ctx, alice, general, bot.Command{Text: "  "}, nil); bot.ErrorCode(err) != bot.EINVALID {
		t.Errorf("Declare with no title = %v, want invalid", err)
	}
}

// TestKeepChannelOnClose: a platform configured to keep its channels gets
// no archive on close; the others still do.
func TestKeepChannelOnClose(t *testing.T) {
	for _, keep := range []bool{false, true} {
		e := newEnv(t)
		e.cfg.Policy.SkipReview = map[bot.Severity]bool{bot.SEV4: true}
		if keep {
			e.cfg.KeepChannelOnClose = map[bot.Platform]bool{bot.Console: true}
		}
		e.restart()
		_, ch := e.declare("Stale cache sev4")
		e.run(alice, ch, "resolve")
		e.run(alice, ch, "close")
		e.deliver()
		archived := strings.Contains(strings.Join(e.chat.Calls(), "\n"), "archive "+ch.ID)
		if archived == keep {
			t.Errorf("keep=%v: archived=%v; calls %q", keep, archived, e.chat.Calls())
		}
	}
}
