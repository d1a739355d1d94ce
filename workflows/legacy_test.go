package workflows_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
	bbolt "go.etcd.io/bbolt"
)

// TestLegacyEffectsDelivered upgrades a database whose outbox holds effects
// written by the debrief before effects were typed (one record shape for
// every kind, "github" and "publish" as pseudo-platforms): after the
// restart they are delivered like new ones, and what their delivery
// unlocks (a pin, a filed countermeasure) happens.
func TestLegacyEffectsDelivered(t *testing.T) {
	e := newEnv(t)
	inc, ch := e.declare("Old effects")

	e.run(alice, ch, "action Add an alert on queue age @bob due 2026-03-20")
	e.close()

	legacy := map[uint64]string{
		999:  `{"id":999,"key":"INC-1#1","kind":"file_issue","platform":"github","incident_id":"INC-1","name":"[INC-1] Add an alert on queue age","text":"body <!-- debrief:countermeasure INC-1#1 -->","n":1,"labels":["countermeasure"],"assignee":"bobgh","sent":true,"created_at":"2026-03-02T10:00:00Z","attempts":1,"next_at":"2026-03-02T10:00:00Z"}`,
		998:  `{"id":998,"key":"effect-998","kind":"publish","platform":"publish","incident_id":"INC-1","name":"postmortems/INC-1.md","text":"# INC-1","comment":"Post-mortem of INC-1","created_at":"2026-03-02T10:00:00Z","attempts":0,"next_at":"2026-03-02T10:00:00Z"}`,
		1000: `{"id":1000,"key":"effect-1000","kind":"topic","platform":"console","incident_id":"INC-1","text":"INC-1 | legacy topic","created_at":"2026-03-02T10:00:00Z","attempts":0,"next_at":"2026-03-02T10:00:00Z"}`,
		1001: `{"id":1001,"key":"effect-1001","kind":"post","platform":"console","incident_id":"INC-1","text":"legacy hello","pin":true,"created_at":"2026-03-02T10:00:00Z","attempts":2,"next_at":"2026-03-02T09:59:00Z","last_error":"HTTP 500"}`,
		1002: `{"id":1002,"key":"effect-1002","kind":"file","platform":"console","incident_id":"INC-1","name":"notes.md","text":"# notes","comment":"legacy file","created_at":"2026-03-02T10:00:00Z","attempts":0,"next_at":"2026-03-02T10:00:00Z"}`,
		1003: `{"id":1003,"key":"effect-1003","kind":"direct","platform":"console","incident_id":"INC-1","users":[{"platform":"console","id":"bob","name":"bob"}],"text":"legacy nudge","created_at":"2026-03-02T10:00:00Z","attempts":0,"next_at":"2026-03-02T10:00:00Z"}`,
	}
	db, err := bbolt.Open(e.path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for id, rec := range legacy {
			k := binary.BigEndian.AppendUint64(nil, id)
			if err := tx.Bucket([]byte("outbox")).Put(k, []byte(rec)); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := db.Close(); err != nil || cerr != nil {
		t.Fatalf("writing legacy records: %v, %v", err, cerr)
	}

	e.open()
	tracker := &filer{}
	pub := &publisher{files: map[string]string{}}
	e.svc.Tracker, e.svc.Publisher = tracker, pub
	before := len(e.chat.Calls())
	e.deliver()
	got := e.chat.Calls()[before:]
	want := []string{
		"topic " + ch.ID + " INC-1 | legacy topic",
		"post " + ch.ID + " legacy hello",
		"file " + ch.ID + " notes.md",
		"post " + ch.ID + " @bob legacy nudge",
		"post " + ch.ID + " Countermeasure #1 of INC-1 is filed: https://github.test/acme/ops/issues/7 (owner @bob, due 2026-03-20)",
		"pin " + ch.ID + " m2",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls after upgrade:\n got %q\nwant %q", got, want)
	}
	if content, _ := e.chat.file("notes.md"); content != "# notes" {
		t.Errorf("legacy file content = %q", content)
	}
	if got := tracker.filed; len(got) != 1 || got[0] != "INC-1#1 [INC-1] Add an alert on queue age bobgh retry=true" {
		t.Errorf("legacy filing = %q", got)
	}
	if cm := e.incident(inc.ID).Countermeasures[0]; cm.State != bot.CMFiled || cm.Issue != 7 {
		t.Errorf("countermeasure after the legacy filing = %+v", cm)
	}
	if got := pub.files["postmortems/INC-1.md"]; got != "# INC-1" {
		t.Errorf("legacy publish = %q", got)
	}
	if n := len(e.effects()); n != 0 {
		t.Errorf("%d effects left after the upgrade", n)
	}
	for _, ev := range e.timeline(inc.ID) {
		if ev.Kind == bot.EventBot && strings.Contains(ev.Text, "could not") {
			t.Errorf("legacy effect dropped: %s", ev.Text)
		}
	}
}

// filer is a tracker that files every issue as #7.
type filer struct{ filed []string }

func (f *filer) FileIssue(ctx context.Context, key string, is workflows.Issue, retry bool) (workflows.IssueState, error) {
	f.filed = append(f.filed, fmt.Sprintf("%s %s %s retry=%v", key, is.Title, is.Assignee, retry))
	return workflows.IssueState{Number: 7, URL: "https://github.test/acme/ops/issues/7", Body: is.Body, ByUs: true}, nil
}

func (f *filer) UpdatedIssues(ctx context.Context, since time.Time) ([]workflows.IssueState, error) {
	return nil, nil
}
