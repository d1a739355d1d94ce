package slack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/slack"
	"github.com/debrief/debrief/adapters/slack/slacktest"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows"
)

// declared returns a harness with INC-1 declared and its channel created.
func declared(t *testing.T, m mode) (*harness, string) {
	t.Helper()
	h := newHarness(t, m)
	if kind, reply := h.command(alice, h.fake.General(), "declare Checkout is down sev2"); kind != "in_channel" {
		t.Fatalf("declare = %s %q", kind, reply)
	}
	h.deliver()
	return h, h.incident("INC-1").Channels[bot.Slack]
}

// post sends body to the adapter's route with the given headers.
func (h *harness) post(path, ctype string, body []byte, header http.Header) (int, string) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(h.ctx, waitFor)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.web.URL+path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func signed(secret string, ts time.Time, body []byte) http.Header {
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("X-Slack-Signature", slacktest.Sign(secret, ts.Unix(), body))
	return h
}

// TestUnverifiedRequests: every route refuses what Slack did not sign, or
// signed for another body, or signed too long ago, and a body over 1 MiB;
// nothing is stored, queued or called.
func TestUnverifiedRequests(t *testing.T) {
	h, ch := declared(t, overHTTP)
	secret := h.fake.SigningSecret
	message, _ := json.Marshal(map[string]any{
		"type": "event_callback", "event_id": "Ev0FORGED", "team_id": h.fake.TeamID,
		"event": map[string]any{"type": "message", "channel": ch, "user": alice, "text": "forged", "ts": "1767000000.000100"},
	})
	command := []byte(url.Values{"user_id": {alice}, "channel_id": {ch}, "command": {"/incident"}, "text": {"sev 1"}}.Encode())
	interaction := []byte(url.Values{"payload": {`{"type":"view_submission","user":{"id":"U0ALICE"},"view":{"callback_id":"declare_incident","private_metadata":"{\"c\":\"C1\"}","state":{"values":{"title":{"title":{"value":"forged"}}}}}}`}}.Encode())
	big := append(bytes.Repeat([]byte(" "), slack.MaxBody), message...)
	now := time.Now()
	routes := []struct {
		path, ctype string
		body        []byte
	}{
		{"/slack/events", "application/json", message},
		{"/slack/commands", "application/x-www-form-urlencoded", command},
		{"/slack/interactivity", "application/x-www-form-urlencoded", interaction},
	}
	for _, r := range routes {
		cases := []struct {
			name   string
			body   []byte
			header http.Header
			want   int
		}{
			{"forged signature", r.body, signed("not-the-secret", now, r.body), http.StatusUnauthorized},
			{"signature over another body", r.body, signed(secret, now, []byte(`{"type":"event_callback"}`)), http.StatusUnauthorized},
			{"timestamp older than 5 minutes", r.body, signed(secret, now.Add(-6*time.Minute), r.body), http.StatusUnauthorized},
			{"timestamp from the future", r.body, signed(secret, now.Add(6*time.Minute), r.body), http.StatusUnauthorized},
			{"missing headers", r.body, http.Header{}, http.StatusUnauthorized},
			{"missing signature", r.body, http.Header{"X-Slack-Request-Timestamp": {strconv.FormatInt(now.Unix(), 10)}}, http.StatusUnauthorized},
			{"signature not hex", r.body, http.Header{"X-Slack-Request-Timestamp": {strconv.FormatInt(now.Unix(), 10)}, "X-Slack-Signature": {"v0=zz"}}, http.StatusUnauthorized},
			{"body over 1 MiB", big, signed(secret, now, big), http.StatusRequestEntityTooLarge},
		}
		for _, tc := range cases {
			t.Run(strings.TrimPrefix(r.path, "/slack/")+"/"+tc.name, func(t *testing.T) {
				before := h.snapshot()
				status, body := h.post(r.path, r.ctype, tc.body, tc.header)
				if status != tc.want {
					t.Errorf("POST %s = %d %q, want %d", r.path, status, body, tc.want)
				}
				if after := h.snapshot(); after != before {
					t.Errorf("state changed:\nbefore %+v\nafter  %+v", before, after)
				}
			})
		}
	}
}

// TestBodyLimitStreamed: a body over 1 MiB sent without a Content-Length
// (chunked) is cut off at the limit and refused too.
func TestBodyLimitStreamed(t *testing.T) {
	h, _ := declared(t, overHTTP)
	big := bytes.Repeat([]byte("x"), slack.MaxBody+1)
	hdr := signed(h.fake.SigningSecret, time.Now(), big)
	req, err := http.NewRequestWithContext(h.ctx, http.MethodPost, h.web.URL+"/slack/events", io.MultiReader(bytes.NewReader(big)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = hdr
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || req.ContentLength != 0 {
		t.Errorf("chunked oversized body = %d (content length %d), want 413", resp.StatusCode, req.ContentLength)
	}
}

// TestMalformedButSigned: a signed body that is not what the route takes
// is a 400, and changes nothing.
func TestMalformedButSigned(t *testing.T) {
	h, _ := declared(t, overHTTP)
	for _, tc := range []struct{ path, body string }{
		{"/slack/events", `{"type":"event_callback","event":`},
		{"/slack/interactivity", `payload=%7Bnot+json`},
		{"/slack/interactivity", `nothing=here`},
		{"/slack/commands", `text=%zz`},
	} {
		before := h.snapshot()
		status, body := h.post(tc.path, "application/x-www-form-urlencoded", []byte(tc.body), signed(h.fake.SigningSecret, time.Now(), []byte(tc.body)))
		if status != http.StatusBadRequest {
			t.Errorf("POST %s %q = %d %q, want 400", tc.path, tc.body, status, body)
		}
		if after := h.snapshot(); after != before {
			t.Errorf("POST %s %q changed state", tc.path, tc.body)
		}
	}
}

// TestURLVerification: Slack checks the events URL with a challenge.
func TestURLVerification(t *testing.T) {
	h := newHarness(t, overHTTP)
	body := []byte(`{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`)
	status, got := h.post("/slack/events", "application/json", body, signed(h.fake.SigningSecret, time.Now(), body))
	var v struct{ Challenge string }
	if status != http.StatusOK || json.Unmarshal([]byte(got), &v) != nil || v.Challenge != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Errorf("url_verification = %d %q", status, got)
	}
}

// TestRedelivery: Slack redelivers an event it thinks was lost (same body,
// X-Slack-Retry-Num); it is stored once, over both transports.
func TestRedelivery(t *testing.T) {
	for _, m := range []mode{overHTTP, overSocket} {
		t.Run(string(m), func(t *testing.T) {
			h, ch := declared(t, m)
			h.say(alice, ch, "only once")
			id := h.fake.LastEventID()
			for range 3 {
				h.acked("redelivery")(h.fake.Redeliver(h.ctx, id))
			}
			n := 0
			for _, ev := range h.timeline("INC-1") {
				if ev.Text == "only once" {
					n++
				}
			}
			if n != 1 {
				t.Errorf("redelivered message stored %d times, want once", n)
			}
			if m == overHTTP && !strings.Contains(h.logs.String(), "retry=3") {
				t.Errorf("the retry number is not logged")
			}
		})
	}
}

// TestCommandsThatChangeNothing: unknown words, commands outside an
// incident channel and plain chatter outside one get the right answer and
// leave everything as it was.
func TestCommandsThatChangeNothing(t *testing.T) {
	h, ch := declared(t, overHTTP)
	general := h.fake.General()
	for _, tc := range []struct {
		name, channel, text string
		want                []string
	}{
		{"unknown command", ch, "frobnicate now", []string{`Unknown command "frobnicate"`, "Usage: /incident", "\ndeclare "}},
		{"malformed sev", ch, "sev 9", []string{`Unknown severity "9"`, "Usage: /incident sev &lt;1-4&gt;"}},
		{"not an incident channel", general, "sev 1", []string{"This is not an incident channel"}},
		{"help", general, "help", []string{"Usage: /incident", "\nclose "}},
		{"unterminated quote", general, `declare "oops`, []string{"Unterminated quote"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.snapshot()
			kind, reply := h.command(bob, tc.channel, tc.text)
			if kind != "ephemeral" {
				t.Errorf("/incident %s answered %s, want ephemeral", tc.text, kind)
			}
			for _, w := range tc.want {
				if !strings.Contains(reply, w) {
					t.Errorf("/incident %s = %q, want it to contain %q", tc.text, reply, w)
				}
			}
			after := h.snapshot()
			after.calls = before.calls // a name lookup is not a change
			if after != before {
				t.Errorf("state changed:\nbefore %+v\nafter  %+v", before, after)
			}
		})
	}

	before := h.snapshot()
	h.say(alice, general, "lunch?")
	if after := h.snapshot(); after.timelines != before.timelines {
		t.Errorf("chatter outside incident channels was recorded")
	}
}

// TestOwnMessages: whatever a bot says in the incident channel is recorded
// as a bot action, and the bot does not answer it.
func TestOwnMessages(t *testing.T) {
	h, ch := declared(t, overHTTP)
	posted := h.botMessages(ch)
	summary := h.fake.Messages(ch)[0].TS
	h.acked("echo")(h.fake.Echo(h.ctx, ch, summary))
	// An integration that posts without a user.
	body, _ := json.Marshal(map[string]any{"type": "event_callback", "event_id": "Ev0BOT", "event": map[string]any{
		"type": "message", "subtype": "bot_message", "channel": ch, "bot_id": "B0GRAFANA", "username": "grafana",
		"text": "[FIRING] error rate", "ts": "1767000000.000200"}})
	if status, got := h.post("/slack/events", "application/json", body, signed(h.fake.SigningSecret, time.Now(), body)); status != http.StatusOK {
		t.Fatalf("bot message = %d %s", status, got)
	}
	h.deliver()
	if got := h.botMessages(ch); len(got) != len(posted) {
		t.Errorf("the bot posted %q after bot messages", got[len(posted):])
	}
	tl := h.timeline("INC-1")
	if ev, ok := find(tl, bot.EventBot, "INC-1: Checkout is down"); !ok || ev.Author.ID != h.fake.BotUserID {
		t.Errorf("own summary not recorded as a bot action: %v", entries(tl))
	}
	if ev, ok := find(tl, bot.EventBot, "[FIRING] error rate"); !ok || ev.Author != (bot.User{Platform: bot.Slack, ID: "B0GRAFANA", Name: "grafana"}) {
		t.Errorf("integration message: %+v in %v", ev, entries(tl))
	}
}

// TestNotCommittedNotAcknowledged: an event that cannot be committed is
// answered 500 over HTTP and left unacknowledged over Socket Mode, so Slack
// delivers it again; the redelivery, once the store is back, is stored once.
func TestNotCommittedNotAcknowledged(t *testing.T) {
	for _, m := range []mode{overHTTP, overSocket} {
		t.Run(string(m), func(t *testing.T) {
			h, ch := declared(t, m)
			h.store.fail.Store(true)
			ctx, cancel := context.WithTimeout(h.ctx, 300*time.Millisecond)
			_, d, err := h.fake.Say(ctx, alice, ch, "said while the disk was full")
			cancel()
			switch m {
			case overHTTP:
				if err != nil || d.Status != http.StatusInternalServerError {
					t.Errorf("uncommitted event = %d %v, want 500", d.Status, err)
				}
			case overSocket:
				if !errors.Is(err, slacktest.ErrNoAck) {
					t.Errorf("uncommitted event = %v, want no acknowledgement", err)
				}
			}
			h.store.fail.Store(false)
			h.acked("redelivery")(h.fake.Redeliver(h.ctx, h.fake.LastEventID()))
			h.acked("redelivery")(h.fake.Redeliver(h.ctx, h.fake.LastEventID()))
			n := 0
			for _, ev := range h.timeline("INC-1") {
				if ev.Text == "said while the disk was full" {
					n++
				}
			}
			if n != 1 {
				t.Errorf("stored %d times, want once", n)
			}
		})
	}
}

// TestSocketModeReconnects: Slack closes Socket Mode connections now and
// then; the adapter opens a new one and goes on.
func TestSocketModeReconnects(t *testing.T) {
	h, ch := declared(t, overSocket)
	h.fake.Disconnect()
	if err := h.fake.WaitConnections(h.ctx, 2); err != nil {
		t.Fatal(err)
	}
	h.say(bob, ch, "still here")
	if _, ok := find(h.timeline("INC-1"), bot.EventMessage, "still here"); !ok {
		t.Errorf("message after a reconnect not recorded")
	}
}

// TestReplayedRequests: the same signed slash command or interaction sent
// again within the signature's window runs once, even when the replay
// reaches a restarted process: the signature is remembered in the store.
func TestReplayedRequests(t *testing.T) {
	h, ch := declared(t, overHTTP)
	secret := h.fake.SigningSecret
	command := []byte(url.Values{
		"user_id": {alice}, "user_name": {"alice"}, "channel_id": {ch}, "command": {"/incident"},
		"text": {"note replayed once"}, "trigger_id": {"1.T.replay"},
	}.Encode())
	header := signed(secret, time.Now(), command)
	notes := func() int {
		n := 0
		for _, ev := range h.timeline("INC-1") {
			if strings.Contains(ev.Text, "replayed once") {
				n++
			}
		}
		return n
	}
	if status, body := h.post("/slack/commands", "application/x-www-form-urlencoded", command, header); status != 200 {
		t.Fatalf("first = %d %q", status, body)
	}
	if status, body := h.post("/slack/commands", "application/x-www-form-urlencoded", command, header); status != 200 || !strings.Contains(body, "already run") {
		t.Errorf("replay = %d %q, want 200 and already run", status, body)
	}
	// A declare replayed makes no second incident either.
	declare := []byte(url.Values{
		"user_id": {alice}, "channel_id": {h.fake.General()}, "command": {"/incident"}, "text": {"declare Replayed sev3"},
	}.Encode())
	dh := signed(secret, time.Now(), declare)
	for range 3 {
		h.post("/slack/commands", "application/x-www-form-urlencoded", declare, dh)
	}
	// A restarted process: a new Service and adapter on the same file.
	svc2 := &workflows.Service{Store: h.db, Config: h.svc.Config, Now: h.clock.Now, Rand: func() float64 { return 0.5 }}
	sl2 := slack.New(svc2, slack.Config{BotToken: h.fake.BotToken, SigningSecret: secret, APIURL: h.fake.APIURL()})
	svc2.Chats = map[bot.Platform]workflows.Chat{bot.Slack: sl2}
	mux := http.NewServeMux()
	sl2.Register(mux)
	web2 := httptest.NewServer(mux)
	defer web2.Close()
	req, _ := http.NewRequest(http.MethodPost, web2.URL+"/slack/commands", bytes.NewReader(command))
	req.Header = header.Clone()
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := notes(); got != 1 {
		t.Errorf("%d notes after a replay and a replay after restart, want 1", got)
	}
	var incidents int
	if err := h.db.View(h.ctx, func(tx store.ReadTx) error {
		all, err := tx.Incidents()
		incidents = len(all)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if incidents != 2 {
		t.Errorf("%d incidents after a declare sent three times, want 2", incidents)
	}
}

// TestOutOfRangeTime: a signed message whose ts is centuries away can never
// be stored: it is acknowledged (Slack would retry a 500 forever), logged,
// and changes nothing.
func TestOutOfRangeTime(t *testing.T) {
	h, ch := declared(t, overHTTP)
	body, _ := json.Marshal(map[string]any{
		"type": "event_callback", "event_id": "Ev0FUTURE", "team_id": h.fake.TeamID,
		"event": map[string]any{"type": "message", "channel": ch, "user": alice, "text": "from the far future", "ts": "999999999999.000100"},
	})
	before := h.snapshot()
	for retry := range 3 {
		hd := signed(h.fake.SigningSecret, time.Now(), body)
		if retry > 0 {
			hd.Set("X-Slack-Retry-Num", strconv.Itoa(retry))
		}
		if status, reply := h.post("/slack/events", "application/json", body, hd); status != http.StatusOK {
			t.Errorf("delivery %d = %d %q, want 200", retry, status, reply)
		}
	}
	if after := h.snapshot(); after != before {
		t.Errorf("state changed:\nbefore %+v\nafter  %+v", before, after)
	}
	if !strings.Contains(h.logs.String(), "cannot be stored") {
		t.Error("the dropped event was not logged")
	}
}

// TestReplayedRead: a command that only reads keeps no replay record
// (workflows.ChangesNothing): sent again, it is answered again, and the
// store holds nothing for it.
func TestReplayedRead(t *testing.T) {
	h, ch := declared(t, overHTTP)
	command := []byte(url.Values{
		"user_id": {alice}, "user_name": {"alice"}, "channel_id": {ch}, "command": {"/incident"},
		"text": {"timeline"}, "trigger_id": {"1.T.read"},
	}.Encode())
	header := signed(h.fake.SigningSecret, time.Now(), command)
	for i := range 2 {
		if status, body := h.post("/slack/commands", "application/x-www-form-urlencoded", command, header); status != 200 || !strings.Contains(body, "Timeline of INC-1") {
			t.Errorf("read %d = %d %q, want 200 and the timeline", i+1, status, body)
		}
	}
	err := h.db.Update(h.ctx, func(tx store.Tx) error {
		seen, err := tx.Remember("slack/trigger/1.T.read", h.clock.Now(), h.clock.Now().Add(time.Minute))
		if seen {
			t.Error("the read left a replay record")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
