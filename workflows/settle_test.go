package workflows_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
)

// snapshot is everything a refused command must leave as it was: the
// incident, its timeline, the queued effects and the reminders.
func (e *env) snapshot(id string) string {
	e.t.Helper()
	var rs []store.Reminder
	if err := e.db.View(context.Background(), func(tx store.ReadTx) error {
		var err error
		rs, err = tx.DueReminders(time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	b, err := json.Marshal([]any{e.incident(id), len(e.timeline(id)), len(e.effects()), rs})
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

// TestSettleAfterClose: after close, countermeasures are settled by naming
// them with their incident (action done INC-1#1) from the announcement
// channel or a DM, by their owner, the commander or an admin; the
// incident's channel (archived: the announcement channel) hears it; the
// nudges of done and dropped ones stop, and the digest leaves them out,
// dropped ones included. Bad references, other people and malformed
// commands change nothing.
func TestSettleAfterClose(t *testing.T) {
	e := newEnv(t)
	e.cfg.Announce = map[bot.Platform]string{bot.Console: "announce"}
	e.restart()
	ctx := context.Background()
	inc, ch := e.declare("Queue stuck")
	e.run(alice, ch, "action add a queue age alert @bob due 2026-03-20")
	e.run(alice, ch, "action page on consumer lag @carol due 2026-03-23")
	e.run(alice, ch, "action rehearse the failover in a game day @bob due 2026-03-25")
	e.closedIncident2(ch)
	id := inc.ID
	dm := bot.Channel{Platform: bot.Console, ID: "dm-alice"}

	before := e.snapshot(id)
	for _, c := range []struct {
		u        bot.User
		ch       bot.Channel
		text     string
		code     string
		contains string
	}{
		{bob, general, "action done INC-9#1", bot.ENOTFOUND, "There is no incident INC-9."},
		{bob, general, "action done INC-1#7", bot.ENOTFOUND, "INC-1 has no countermeasure #7."},
		{carol, general, "action drop INC-1#1", bot.EFORBIDDEN, "Only the owner of countermeasure #1 of INC-1 (@bob)"},
		{carol, ch, "action done 1", bot.EFORBIDDEN, "Only the owner"},
		{bob, general, "action done 1", bot.ENOTFOUND, "name the incident too, e.g. /incident action done INC-1#1"},
		{alice, ch, "note still here", bot.ECONFLICT, "INC-1 is closed."},
	} {
		err := e.refuse(c.u, c.ch, c.text, c.code)
		if !strings.Contains(bot.ErrorMessage(err), c.contains) {
			t.Errorf("%q: %q, want it to say %q", c.text, bot.ErrorMessage(err), c.contains)
		}
	}
	for _, text := range []string{"action done INC-1#x", "action drop INC-1", "action done inc1#1", "action done INC-1#1 INC-2"} {
		if r := e.svc.Execute(ctx, bob, general, text); !r.Ephemeral || !strings.Contains(r.Text, "Usage: /incident action") {
			t.Errorf("Execute(%q) = %+v, want usage help", text, r)
		}
	}
	if after := e.snapshot(id); after != before {
		t.Errorf("refused commands changed the state:\n%s\n%s", before, after)
	}

	base := len(e.chat.Calls())
	r := e.run(bob, general, "action done INC-1#1")
	if !strings.Contains(r.Text, "Countermeasure #1 of INC-1 is done: add a queue age alert.") || r.IncidentID != id {
		t.Errorf("reply = %+v", r)
	}
	r = e.run(alice, dm, "action drop inc-1#2") // the commander, from a DM
	if !strings.Contains(r.Text, "Countermeasure #2 of INC-1 is dropped") {
		t.Errorf("reply = %+v", r)
	}
	e.deliver()
	for _, want := range []string{"Countermeasure #1 of INC-1 is done: add a queue age alert. (@bob)", "Countermeasure #2 of INC-1 is dropped"} {
		if got := e.posts(base, want); len(got) != 1 {
			t.Errorf("posts %q: %q; calls %q", want, got, e.chat.Calls()[base:])
		}
	}
	cms := e.incident(id).Countermeasures
	if cms[0].State != bot.CMDone || cms[1].State != bot.CMDropped || !cms[1].DoneAt.IsZero() || cms[2].State != bot.CMOpen {
		t.Errorf("countermeasures = %+v", cms)
	}
	tl := e.timeline(id)
	var got []string
	for _, ev := range tl[len(tl)-2:] {
		got = append(got, ev.Author.ID+": "+ev.Text)
	}
	if strings.Join(got, "; ") != "bob: countermeasure #1 done; alice: countermeasure #2 dropped" {
		t.Errorf("timeline ends %q", got)
	}
	e.refuse(bob, general, "action drop INC-1#1", bot.ECONFLICT)

	// The digest lists #3 only; the nudges go to #3's owner only.
	e.clock.Set(time.Date(2026, 3, 30, 9, 0, 0, 0, time.UTC))
	base = len(e.chat.Calls())
	e.tick()
	if _, err := e.svc.Digests("").Tick(ctx, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.deliver()
	digest := strings.Join(e.posts(base, "Overdue:"), "\n")
	if !strings.Contains(digest, "#3 rehearse the failover") || strings.Contains(digest, "#1 ") || strings.Contains(digest, "#2 ") {
		t.Errorf("digest = %q", digest)
	}
	for _, c := range e.chat.Calls()[base:] {
		if strings.Contains(c, "#1 of INC-1") || strings.Contains(c, "#2 of INC-1") {
			t.Errorf("settled countermeasure nudged: %q", c)
		}
	}
	if n := len(e.posts(base, fmt.Sprintf("Countermeasure #3 of %s is", id))); n == 0 {
		t.Errorf("no nudge for #3; calls %q", e.chat.Calls()[base:])
	}
}
