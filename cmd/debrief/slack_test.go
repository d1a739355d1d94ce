package main

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/slack/slacktest"
)

// TestSlackEnd2End runs debrief in-process with the SLACK_* variables
// pointed at the fake Slack, over HTTP (the fake posts signed requests to
// debrief's listener) and over Socket Mode (debrief dials the fake), and
// checks what a team sees: the answer to /incident declare, the channel
// with its topic, summary and pin, the announcement, and a message in the
// timeline served by the JSON API.
func TestSlackEnd2End(t *testing.T) {
	for _, socket := range []bool{false, true} {
		name := "http"
		if socket {
			name = "socket"
		}
		t.Run(name, func(t *testing.T) {
			fake := slacktest.New()
			defer fake.Close()
			fake.AddUser(slacktest.User{ID: "U0ALICE", Name: "alice", DisplayName: "alice", TZ: "Europe/Berlin"})
			announce := fake.AddChannel("incidents", "U0ALICE", "U0ALICE")
			env := map[string]string{
				"DEBRIEF_DB":             filepath.Join(t.TempDir(), "debrief.db"),
				"DEBRIEF_ADDR":           "127.0.0.1:0",
				"SLACK_BOT_TOKEN":        fake.BotToken,
				"SLACK_SIGNING_SECRET":   fake.SigningSecret,
				"SLACK_API_URL":          fake.APIURL(),
				"SLACK_ANNOUNCE_CHANNEL": announce,
				"DEBRIEF_TZ":             "Asia/Tokyo",
			}
			if socket {
				env["SLACK_APP_TOKEN"] = fake.AppToken
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*waitFor)
			defer cancel()
			stderr := newLineLog()
			done := make(chan error, 1)
			go func() {
				done <- run(ctx, []string{"debrief"}, getenv(env), strings.NewReader(""), newLineLog(), stderr)
			}()
			addr := stderr.match(t, listenRe)
			stderr.expect(t, "slack enabled")
			if socket {
				if err := fake.WaitConnected(ctx); err != nil {
					t.Fatal(err)
				}
			} else {
				fake.Target("http://" + addr)
			}

			before := time.Now()
			d, err := fake.Command(ctx, "U0ALICE", fake.General(), "declare Checkout is down sev2")
			after := time.Now()
			if err != nil {
				t.Fatal(err)
			}
			if kind, text, err := fake.Answer(ctx, d); err != nil || kind != "in_channel" || !strings.HasPrefix(text, "Declared INC-1: Checkout is down (SEV2).") {
				t.Fatalf("declare = %d %s %q, %v", d.Status, kind, text, err)
			}

			// The outbox worker runs on the wall clock here: wait for what
			// it does to show up in Slack.
			var ch slacktest.Channel
			poll(t, "the incident channel, its topic, summary pin and announcement", func() bool {
				c, ok := fake.ChannelByName("inc-1-checkout-is-down")
				ch = c
				return ok && c.Topic != "" && len(fake.Pins(c.ID)) == 1 && slices.Contains(c.Members, "U0ALICE") &&
					len(fake.Messages(announce)) == 1
			})
			if !strings.HasPrefix(ch.Topic, "INC-1 | SEV2 | investigating | IC @alice") {
				t.Errorf("topic = %q", ch.Topic)
			}
			// The pinned summary says when the incident was declared as
			// Slack's date markup, which each reader sees in their own
			// zone; its fallback is in DEBRIEF_TZ.
			var pinned string
			for _, m := range fake.Messages(ch.ID) {
				if m.TS == fake.Pins(ch.ID)[0] {
					pinned = m.Text
				}
			}
			ds := slacktest.Dates(pinned)
			if len(ds) != 1 || !strings.Contains(pinned, "Declared <!date^") {
				t.Fatalf("pinned summary %q has dates %+v, want the declare time as one", pinned, ds)
			}
			tokyo, err := time.LoadLocation("Asia/Tokyo")
			if err != nil {
				t.Fatal(err)
			}
			at := time.Unix(ds[0].Unix, 0)
			wantFallback := at.In(tokyo).Format("2006-01-02 15:04 MST") + at.UTC().Format(" (15:04 UTC)")
			if ds[0].Unix < before.Unix() || ds[0].Unix > after.Unix() || ds[0].Format != "{date_short_pretty} {time}" || ds[0].Fallback != wantFallback {
				t.Errorf("declare time = %+v, want between %d and %d, {date_short_pretty} {time}, fallback %q",
					ds[0], before.Unix(), after.Unix(), wantFallback)
			}

			if _, d, err := fake.Say(ctx, "U0ALICE", ch.ID, "payments API returns 502"); err != nil || d.Status != 200 {
				t.Fatalf("say: %v %d", err, d.Status)
			}
			// Acknowledged means committed: the API has it right away.
			tl, body := apiTimeline(t, "http://"+addr, "INC-1", "")
			found := false
			for _, e := range tl.Entries {
				if e.Kind == "message" && e.Text == "payments API returns 502" && e.Author.Platform == "slack" && e.Author.Name == "alice" {
					found = true
				}
			}
			if !found {
				t.Errorf("the message is not in the timeline: %s", body)
			}

			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("run = %v", err)
				}
			case <-time.After(waitFor):
				t.Fatal("run did not return after cancel")
			}
		})
	}
}

// poll checks cond until it holds, or fails the test after waitFor. It is
// for what a background worker on the wall clock does.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, waitFor)
		}
		<-tick.C
	}
}

// TestSlackConfig: a Slack configuration that cannot work stops debrief at
// start, naming the variable and never the token.
func TestSlackConfig(t *testing.T) {
	fake := slacktest.New()
	defer fake.Close()
	base := func(kv ...string) map[string]string {
		env := map[string]string{"DEBRIEF_DB": filepath.Join(t.TempDir(), "debrief.db"), "DEBRIEF_ADDR": "127.0.0.1:0",
			"SLACK_API_URL": fake.APIURL()}
		for i := 0; i < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
		return env
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"bot token without a way in", base("SLACK_BOT_TOKEN", "xoxb-secret-1"), "SLACK_SIGNING_SECRET"},
		{"app token without bot token", base("SLACK_APP_TOKEN", "xapp-secret-1"), "SLACK_BOT_TOKEN"},
		{"user token", base("SLACK_BOT_TOKEN", "xoxp-secret-1", "SLACK_SIGNING_SECRET", "s"), "SLACK_BOT_TOKEN: not a bot token"},
		{"swapped tokens", base("SLACK_BOT_TOKEN", "xoxb-secret-1", "SLACK_APP_TOKEN", "xoxb-secret-2"), "SLACK_APP_TOKEN: not an app-level token"},
		{"bad emoji", base("SLACK_KEY_EMOJI", "Push Pin"), "SLACK_KEY_EMOJI"},
		{"bad archive flag", base("SLACK_ARCHIVE_ON_CLOSE", "sometimes"), "SLACK_ARCHIVE_ON_CLOSE"},
		{"announce by name", base("SLACK_ANNOUNCE_CHANNEL", "#incidents"), "SLACK_ANNOUNCE_CHANNEL"},
		{"refused token", base("SLACK_BOT_TOKEN", "xoxb-secret-wrong", "SLACK_SIGNING_SECRET", "s"), "SLACK_BOT_TOKEN: slack: the bot token was refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runQuick(t, tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run = %v, want an error naming %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret-") {
				t.Errorf("the error shows a token: %v", err)
			}
		})
	}
}
