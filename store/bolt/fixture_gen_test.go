package bolt

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
)

func TestWriteV1Fixture(t *testing.T) {
	if os.Getenv("WRITE_FIXTURE") == "" {
		t.Skip()
	}
	path, _ := filepath.Abs("testdata/schema1.db")
	_ = os.Remove(path)
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	chans := []bot.Channel{{Platform: bot.Slack, ID: "C024BE91L"}, {Platform: bot.Discord, ID: "80351110224678912"}, {Platform: bot.Slack, ID: "C0CLOSED"}}
	for i, title := range []string{"orders db latency", "checkout 502s", "cert expiry"} {
		inc := declare(t, db, title)
		mustUpdate(t, db, func(tx store.Tx) error {
			inc.Channels = map[bot.Platform]string{chans[i].Platform: chans[i].ID}
			if i == 2 {
				inc.Status = bot.StatusResolved
			}
			if err := tx.PutIncident(inc); err != nil {
				return err
			}
			return tx.PutChannel(chans[i], inc.ID)
		})
		for j := range 5 {
			ev := event(inc.ID, fmt.Sprintf("%s: line %d with <html> & \"quotes\" é", title, j+1), t0.Add(time.Duration(i*10+j)*time.Second))
			ev.Author = bot.User{Platform: chans[i].Platform, ID: "U2", Name: "grace"}
			ev.MessageID = fmt.Sprintf("1741944413.%06d", i*10+j)
			ev.PlatformAt = t0.Add(time.Duration(i*10+j) * time.Second).Truncate(time.Microsecond)
			ev.DedupeKey = fmt.Sprintf("%s/%s/%s", chans[i].Platform, chans[i].ID, ev.MessageID)
			if j == 2 {
				ev.ThreadID = "1741944413.000000"
				ev.URL = "https://example.com/a?b=1&c=2"
			}
			if j == 3 {
				ev.Kind = bot.EventNote
				ev.DedupeKey = ""
				ev.MessageID = ""
				ev.PlatformAt = time.Time{}
			}
			if j == 4 && i == 0 {
				// A time with an offset, as an import may store.
				ev.RecordedAt = ev.RecordedAt.In(time.FixedZone("", 5*3600+1800))
				ev.Recovered = true
			}
			if _, dup, err := db.Append(ctx, ev); err != nil || dup {
				t.Fatal(dup, err)
			}
		}
	}
	mustUpdate(t, db, func(tx store.Tx) error {
		if _, err := tx.AddEffect(store.Effect{Kind: "post", Lane: "slack/C024BE91L", Platform: bot.Slack, IncidentID: "INC-1", ChannelID: "C024BE91L",
			Payload: []byte(`{"text":"pending post"}`), CreatedAt: t0, NextAt: t0}); err != nil {
			return err
		}
		if err := tx.PutReminder(store.Reminder{Key: "INC-1/status_update", IncidentID: "INC-1", Kind: store.RemindStatus, Due: t0.Add(30 * time.Minute)}); err != nil {
			return err
		}
		if err := tx.PutUserPrefs(store.UserPrefs{Key: "slack:U2", Zone: "Europe/Paris", GitHub: "grace"}); err != nil {
			return err
		}
		if err := tx.PutMeta("github/cursor", "42"); err != nil {
			return err
		}
		_, err := tx.Remember("slack/sig/abc", t0, t0.Add(100*365*24*time.Hour))
		return err
	})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}
