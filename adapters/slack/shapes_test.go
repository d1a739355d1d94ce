package slack_test

import (
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
)

// bothWays runs a test over the signed Events API and over Socket Mode:
// the payload is the same, the path to the handler is not.
func bothWays(t *testing.T, run func(t *testing.T, h *harness, ch string)) {
	for _, m := range []mode{overHTTP, overSocket} {
		t.Run(string(m), func(t *testing.T) {
			h, ch := declared(t, m)
			run(t, h, ch)
		})
	}
}

// TestTombstoneIsDelete: a thread parent deleted while it has replies
// arrives as message_changed whose message is a tombstone by Slackbot
// ("This message was deleted."). It is the delete of the author's
// message, not an edit by Slackbot.
func TestTombstoneIsDelete(t *testing.T) {
	bothWays(t, func(t *testing.T, h *harness, ch string) {
		parent := h.say(alice, ch, "failing over the primary")
		_, d, err := h.fake.Reply(h.ctx, bob, ch, parent, "wait, replica lag is 40 s")
		h.ok("reply", d, err)
		h.acked("delete parent")(h.fake.Delete(h.ctx, ch, parent))

		tl := h.timeline("INC-1")
		for _, ev := range tl {
			if ev.Kind == bot.EventEdit || ev.Author.ID == "USLACKBOT" || strings.Contains(ev.Text, "This message was deleted") {
				t.Errorf("tombstone recorded as %s by %s: %q", ev.Kind, ev.Author.ID, ev.Text)
			}
		}
		del, ok := find(tl, bot.EventDelete, "failing over the primary")
		if !ok || del.Author.ID != alice || del.MessageID != parent {
			t.Fatalf("delete = %+v (found %v), want alice's message %s; timeline %v", del, ok, parent, entries(tl))
		}
		// Slack may also send message_deleted for it later: stored once.
		h.acked("message_deleted")(h.fake.Event(h.ctx, map[string]any{
			"type": "message", "subtype": "message_deleted", "hidden": true, "channel": ch,
			"ts": "1772442100.000100", "event_ts": "1772442100.000100", "deleted_ts": parent,
			"previous_message": map[string]any{"type": "message", "user": alice, "text": "failing over the primary", "ts": parent},
		}))
		n := 0
		for _, ev := range h.timeline("INC-1") {
			if ev.Kind == bot.EventDelete {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d deletes after the tombstone and message_deleted, want 1", n)
		}
	})
}

// TestAttachmentAndBlockMessages: messages whose content is in
// attachments (a shared message with and without a comment, a GitHub
// notification, a CI bot's fallback-only alert) or in blocks only (an
// app's header/section/context, rich_text) are recorded with that content,
// not empty.
func TestAttachmentAndBlockMessages(t *testing.T) {
	bothWays(t, func(t *testing.T, h *harness, ch string) {
		share := map[string]any{
			"fallback": "[March 2nd, 2026 9:12 AM] bob: replica lag alarms firing in eu-west-1", "ts": "1772442720.000100",
			"author_id": bob, "author_subname": "bob", "author_name": "Bob Dylan", "channel_id": "C0OPS", "channel_name": "ops",
			"is_msg_unfurl": true, "is_share": true, "text": "replica lag alarms firing in eu-west-1",
			"from_url": "https://fake.slack.com/archives/C0OPS/p1772442720000100", "footer": "Posted in #ops",
			"mrkdwn_in": []string{"text"}, "color": "D0D0D0",
		}
		cases := []struct {
			name, user, text string
			extra            map[string]any
			kind             bot.EventKind
			want             []string
			url              string
		}{
			{"share with a comment", alice, "this is what we saw before", map[string]any{"attachments": []any{share}},
				bot.EventMessage, []string{"this is what we saw before", "Bob Dylan", "replica lag alarms firing in eu-west-1"}, share["from_url"].(string)},
			{"forward without a comment", carol, "", map[string]any{"attachments": []any{share}},
				bot.EventMessage, []string{"shared a message from Bob Dylan", "replica lag alarms firing"}, share["from_url"].(string)},
			{"GitHub notification", "", "", map[string]any{"subtype": "bot_message", "bot_id": "B0GITHUB", "username": "GitHub",
				"attachments": []any{map[string]any{
					"fallback": "[debrief/api] Pull request opened: #42 Roll back the connection pool change", "color": "36a64f",
					"pretext": "[debrief/api] Pull request opened by octocat", "title": "#42 Roll back the connection pool change",
					"title_link": "https://github.com/debrief/api/pull/42", "text": "Reverts 1a2b3c; the pool is back to 20.",
					"mrkdwn_in": []string{"text", "pretext"},
				}}},
				bot.EventBot, []string{"Pull request opened by octocat", "#42 Roll back the connection pool change", "Reverts 1a2b3c"}, "https://github.com/debrief/api/pull/42"},
			{"CI alert, fallback only", "", "", map[string]any{"subtype": "bot_message", "bot_id": "B0CI", "username": "ci",
				"attachments": []any{map[string]any{"fallback": "Build #812 of api/main failed", "color": "danger"}}},
				bot.EventBot, []string{"Build #812 of api/main failed"}, ""},
			{"CI fields", "", "deploy finished", map[string]any{"subtype": "bot_message", "bot_id": "B0CD", "username": "cd",
				"attachments": []any{map[string]any{"fallback": "deploy", "fields": []any{
					map[string]any{"title": "Service", "value": "payments", "short": true},
					map[string]any{"title": "Version", "value": "v2.3.1", "short": true}}}}},
				bot.EventBot, []string{"deploy finished", "Service: payments", "Version: v2.3.1"}, ""},
			{"blocks only", "", "", map[string]any{"bot_id": "B0PAGER", "username": "pager", "blocks": []any{
				map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": "Incident triggered"}},
				map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": "*Checkout latency* p99 above 2 s"},
					"fields": []any{map[string]any{"type": "mrkdwn", "text": "*Urgency:* high"}}},
				map[string]any{"type": "context", "elements": []any{map[string]any{"type": "mrkdwn", "text": "via PagerDuty"}}},
				map[string]any{"type": "actions", "elements": []any{map[string]any{"type": "button", "action_id": "ack",
					"text": map[string]any{"type": "plain_text", "text": "Acknowledge"}}}},
			}}, bot.EventBot, []string{"Incident triggered", "Checkout latency", "Urgency:", "via PagerDuty"}, ""},
			{"rich_text only", bob, "", map[string]any{"blocks": []any{map[string]any{"type": "rich_text", "block_id": "x1",
				"elements": []any{map[string]any{"type": "rich_text_section", "elements": []any{
					map[string]any{"type": "text", "text": "restarting "},
					map[string]any{"type": "link", "url": "https://grafana.example/d/2", "text": "the pool"},
					map[string]any{"type": "text", "text": " now, cc "},
					map[string]any{"type": "user", "user_id": alice},
				}}}}}}, bot.EventMessage, []string{"restarting the pool", "now, cc @alice"}, ""},
		}
		for _, c := range cases {
			ts, d, err := h.fake.Post(h.ctx, c.user, ch, c.text, c.extra)
			h.ok(c.name, d, err)
			var ev bot.TimelineEvent
			for _, e := range h.timeline("INC-1") {
				if e.MessageID == ts {
					ev = e
				}
			}
			if ev.Kind != c.kind {
				t.Errorf("%s: recorded %+v, want a %s", c.name, ev, c.kind)
				continue
			}
			for _, w := range c.want {
				if !strings.Contains(ev.Text, w) {
					t.Errorf("%s: text %q lacks %q", c.name, ev.Text, w)
				}
			}
			if ev.URL != c.url {
				t.Errorf("%s: url %q, want %q", c.name, ev.URL, c.url)
			}
		}
		// A link preview of a link the text has adds nothing.
		ts, d, err := h.fake.Post(h.ctx, alice, ch, "see <https://status.example/x>", map[string]any{"attachments": []any{map[string]any{
			"from_url": "https://status.example/x", "original_url": "https://status.example/x", "title": "Status page", "service_name": "status.example", "fallback": "Status page"}}})
		h.ok("link preview", d, err)
		for _, e := range h.timeline("INC-1") {
			if e.MessageID == ts && strings.Contains(e.Text, "Status page") {
				t.Errorf("a link preview was recorded: %q", e.Text)
			}
		}
	})
}

// TestSlackConnectFile: a file shared over Slack Connect comes with its ID
// only (file_access check_file_info); files.info names it and links it.
// When files.info is slower than the event's budget, the entry is
// committed with the ID and the event acknowledged.
func TestSlackConnectFile(t *testing.T) {
	bothWays(t, func(t *testing.T, h *harness, ch string) {
		_, id, d, err := h.fake.ShareConnectFile(h.ctx, bob, ch, "partner-outage-report.pdf")
		h.ok("connect file", d, err)
		ev, ok := find(h.timeline("INC-1"), bot.EventFile, "partner-outage-report.pdf")
		if !ok || !strings.Contains(ev.URL, id) || ev.Author.ID != bob {
			t.Fatalf("file = %+v (found %v), want its name and permalink from files.info; %v", ev, ok, entries(h.timeline("INC-1")))
		}
		if calls := h.fake.Calls("files.info"); len(calls) != 1 || calls[0].Params.Get("file") != id {
			t.Errorf("files.info calls = %+v, want one for %s", calls, id)
		}

		h.fake.Hang("files.info")
		_, id2, d, err := h.fake.ShareConnectFile(h.ctx, bob, ch, "second.pdf")
		h.fake.Unhang()
		h.ok("connect file while files.info hangs", d, err)
		if _, ok := find(h.timeline("INC-1"), bot.EventFile, "file "+id2); !ok {
			t.Errorf("slow files.info: want the file recorded by its ID %s; %v", id2, entries(h.timeline("INC-1")))
		}
	})
}

// TestOddTimestamps: a message_changed whose message has no ts is the
// edit of previous_message.ts; one with no ts at all is dropped with a log
// line; pin_added dated by an event_ts without a fraction, or given as a
// number, keeps its time.
func TestOddTimestamps(t *testing.T) {
	bothWays(t, func(t *testing.T, h *harness, ch string) {
		ts := h.say(alice, ch, "rollback started")
		h.acked("edit without ts")(h.fake.Event(h.ctx, map[string]any{
			"type": "message", "subtype": "message_changed", "hidden": true, "channel": ch,
			"ts": "1772442300.000200", "event_ts": "1772442300.000200",
			"message":          map[string]any{"type": "message", "user": alice, "text": "rollback finished", "edited": map[string]any{"user": alice, "ts": "1772442300.000000"}},
			"previous_message": map[string]any{"type": "message", "user": alice, "text": "rollback started", "ts": ts},
		}))
		ev, ok := find(h.timeline("INC-1"), bot.EventEdit, "rollback finished")
		if !ok || ev.MessageID != ts {
			t.Errorf("edit without ts = %+v (found %v), want the edit of %s", ev, ok, ts)
		}
		h.acked("edit with no ts at all")(h.fake.Event(h.ctx, map[string]any{
			"type": "message", "subtype": "message_changed", "hidden": true, "channel": ch, "event_ts": "1772442301.000200",
			"message": map[string]any{"type": "message", "user": alice, "text": "lost"},
		}))
		if !strings.Contains(h.logs.String(), "event dropped: a message_changed without a ts") {
			t.Errorf("a dropped message_changed was not logged:\n%s", h.logs.String())
		}

		for i, at := range []any{"1772442400", 1772442401, 1772442402.5} {
			h.acked("pin")(h.fake.Event(h.ctx, map[string]any{
				"type": "pin_added", "user": bob, "channel_id": ch, "event_ts": at,
				"item": map[string]any{"type": "message", "channel": ch, "created": 1772442400, "created_by": bob,
					"message": map[string]any{"type": "message", "user": alice, "text": "rollback started", "ts": ts}},
			}))
			want := time.Unix(1772442400+int64(i), 0).UTC()
			if i == 2 {
				want = want.Add(500 * time.Millisecond)
			}
			n := 0
			for _, e := range h.timeline("INC-1") {
				if e.Kind == bot.EventKey && e.PlatformAt.Equal(want) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("pin with event_ts %v: %d key events at %v, want 1; %+v", at, n, want, h.timeline("INC-1"))
			}
		}
	})
}
