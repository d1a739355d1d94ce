package slack_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/debrief/debrief/adapters/slack"
	"github.com/debrief/debrief/adapters/slack/slacktest"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store/bolt/bolttest"
	"github.com/debrief/debrief/workflows"
)

// fuzzSlack is an adapter on a real store and a fake Slack, with an
// incident in channel C0INC so that events have somewhere to go, serving
// its routes on a mux the fuzz targets call directly.
func fuzzSlack(f *testing.F) (*http.ServeMux, string) {
	fake := slacktest.New()
	f.Cleanup(fake.Close)
	db := bolttest.Open(f)
	svc := &workflows.Service{Store: db, Config: workflows.DefaultConfig()}
	sl := slack.New(svc, slack.Config{BotToken: fake.BotToken, SigningSecret: fake.SigningSecret, APIURL: fake.APIURL()})
	svc.Chats = map[bot.Platform]workflows.Chat{bot.Slack: sl}
	f.Cleanup(sl.Wait)
	mux := http.NewServeMux()
	sl.Register(mux)
	return mux, fake.SigningSecret
}

// serveSigned posts body to path on mux, signed, and checks the answer is
// one a verified request may get: never a 500 (the store is healthy), and
// no panic.
func serveSigned(t *testing.T, mux *http.ServeMux, secret, path, ctype string, body []byte) {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	slacktest.SetHeaders(req.Header, secret, body)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	switch rec.Code {
	case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
	default:
		t.Fatalf("POST %s %q = %d %q", path, body, rec.Code, rec.Body)
	}
}

// FuzzSlackEvent sends any signed Events API body: it is recorded,
// ignored or refused as malformed, never a 500 that Slack would retry
// forever, never a panic.
func FuzzSlackEvent(f *testing.F) {
	for _, s := range []string{
		`{"type":"url_verification","challenge":"c"}`,
		`{"type":"event_callback","event_id":"Ev1","event":{"type":"message","channel":"C0INC","user":"U1","text":"hi <@U2|bob> <!here>","ts":"1767000000.000100"}}`,
		`{"type":"event_callback","event_id":"Ev2","event":{"type":"message","subtype":"message_changed","channel":"C0INC","message":{"user":"U1","text":"x","ts":"1767000000.000100"},"previous_message":{"ts":"1767000000.000100"}}}`,
		`{"type":"event_callback","event_id":"Ev3","event":{"type":"message","subtype":"message_deleted","channel":"C0INC","deleted_ts":"1.2"}}`,
		`{"type":"event_callback","event_id":"Ev4","event":{"type":"reaction_added","user":"U1","reaction":"pushpin","item":{"type":"message","channel":"C0INC","ts":"1.2"},"event_ts":"999999999999.000100"}}`,
		`{"type":"event_callback","event":{"type":"message","subtype":"file_share","channel":"C0INC","user":"U1","ts":"-1.5","files":[{"name":"a","permalink":"https://x"}]}}`,
		`{"type":"event_callback","event":{"type":"pin_added","channel_id":"C0INC","item":{"message":{"ts":"1.1","text":"<@U1>"}}}}`,
	} {
		f.Add([]byte(s))
	}
	mux, secret := fuzzSlack(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		serveSigned(t, mux, secret, "/slack/events", "application/json", body)
	})
}

// FuzzSlashCommand sends any signed slash command text.
func FuzzSlashCommand(f *testing.F) {
	for _, s := range []string{
		"declare Checkout is down sev2", "note <@U1|a> said <#C1|x> & <https://x|y>", "sev 9", "",
		"postmortem schedule 2026-13-40 25:61 Mars/Olympus 99999h", "role commander <@", "action x @ due 2026-02-30",
		"\x1b[2J\u202e", "help help help",
	} {
		f.Add("C0GEN", s)
	}
	mux, secret := fuzzSlack(f)
	f.Fuzz(func(t *testing.T, channel, text string) {
		body := []byte(url.Values{"user_id": {"U1"}, "user_name": {"alice"}, "channel_id": {channel},
			"command": {"/incident"}, "text": {text}}.Encode())
		serveSigned(t, mux, secret, "/slack/commands", "application/x-www-form-urlencoded", body)
	})
}

// FuzzInteractivity sends any signed interaction payload.
func FuzzInteractivity(f *testing.F) {
	for _, s := range []string{
		`{"type":"view_submission","user":{"id":"U1"},"view":{"callback_id":"declare_incident","private_metadata":"{\"c\":\"C1\"}","state":{"values":{"title":{"title":{"value":"x"}}}}}}`,
		`{"type":"message_action","callback_id":"declare_from_message","user":{"id":"U1"},"channel":{"id":"C1"},"message":{"ts":"1.2","text":"<@U1> hi"},"trigger_id":"t"}`,
		`{"type":"view_submission","view":{"callback_id":"declare_incident","private_metadata":"not json"}}`,
		`{}`, `[]`, `null`,
	} {
		f.Add(s)
	}
	mux, secret := fuzzSlack(f)
	f.Fuzz(func(t *testing.T, payload string) {
		body := []byte(url.Values{"payload": {payload}}.Encode())
		serveSigned(t, mux, secret, "/slack/interactivity", "application/x-www-form-urlencoded", body)
	})
}
