package discord_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/discord"
	"github.com/debrief/debrief/adapters/discord/discordtest"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

// post sends body to the interactions route with the given headers.
func (h *harness) post(body []byte, header http.Header) (int, string) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(h.ctx, waitFor)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.web.URL+"/discord/interactions", bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
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

func signedBy(key ed25519.PrivateKey, ts time.Time, body []byte) http.Header {
	t := strconv.FormatInt(ts.Unix(), 10)
	return http.Header{
		"X-Signature-Timestamp": {t},
		"X-Signature-Ed25519":   {hex.EncodeToString(ed25519.Sign(key, append([]byte(t), body...)))},
	}
}

func (h *harness) signed(ts time.Time, body []byte) http.Header {
	t := strconv.FormatInt(ts.Unix(), 10)
	return http.Header{"X-Signature-Timestamp": {t}, "X-Signature-Ed25519": {h.fake.Sign(t, body)}}
}

// commandBody is a well-formed /incident sev 1 interaction in ch.
func (h *harness) commandBody(ch string) []byte {
	b, _ := json.Marshal(map[string]any{
		"id": "1100000000000000001", "application_id": h.fake.AppID, "type": 2, "token": "itok-forged", "version": 1,
		"guild_id": h.fake.GuildID, "channel_id": ch,
		"member": map[string]any{"user": map[string]any{"id": h.alice, "username": "alice"}},
		"data":   map[string]any{"id": "1", "name": "incident", "type": 1, "options": []any{map[string]any{"name": "sev", "type": 1, "options": []any{map[string]any{"name": "severity", "type": 4, "value": 1}}}}},
	})
	return b
}

// TestUnverifiedRequests: what Discord did not sign, or signed for
// another body, or signed too long ago, is refused with 401 (Discord
// checks that the endpoint does, with bad signatures, before it accepts
// it); a body over MaxBody (256 KiB) is 413. Nothing is stored, queued or posted.
func TestUnverifiedRequests(t *testing.T) {
	h, ch := declared(t, overHTTP)
	body := h.commandBody(ch)
	ping := []byte(`{"id":"1","application_id":"` + h.fake.AppID + `","type":1,"token":"t","version":1}`)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	big := append(bytes.Repeat([]byte(" "), discord.MaxBody), body...)
	now := time.Now()
	tampered := bytes.Replace(body, []byte(`"value":1`), []byte(`"value":4`), 1)
	good := h.signed(now, body)
	for _, tc := range []struct {
		name   string
		body   []byte
		header http.Header
		want   int
	}{
		{"signed with another key", body, signedBy(other, now, body), http.StatusUnauthorized},
		{"PING signed with another key", ping, signedBy(other, now, ping), http.StatusUnauthorized},
		{"signature over another body", body, h.signed(now, ping), http.StatusUnauthorized},
		{"tampered body", tampered, good, http.StatusUnauthorized},
		{"timestamp swapped", body, http.Header{"X-Signature-Timestamp": {strconv.FormatInt(now.Unix()+1, 10)}, "X-Signature-Ed25519": good["X-Signature-Ed25519"]}, http.StatusUnauthorized},
		{"timestamp older than 5 minutes", body, h.signed(now.Add(-6*time.Minute), body), http.StatusUnauthorized},
		{"timestamp from the future", body, h.signed(now.Add(6*time.Minute), body), http.StatusUnauthorized},
		{"missing headers", body, http.Header{}, http.StatusUnauthorized},
		{"missing signature", body, http.Header{"X-Signature-Timestamp": good["X-Signature-Timestamp"]}, http.StatusUnauthorized},
		{"missing timestamp", body, http.Header{"X-Signature-Ed25519": good["X-Signature-Ed25519"]}, http.StatusUnauthorized},
		{"signature not hex", body, http.Header{"X-Signature-Timestamp": good["X-Signature-Timestamp"], "X-Signature-Ed25519": {"zz"}}, http.StatusUnauthorized},
		{"signature too short", body, http.Header{"X-Signature-Timestamp": good["X-Signature-Timestamp"], "X-Signature-Ed25519": {"abcd"}}, http.StatusUnauthorized},
		{"body over 1 MiB", big, h.signed(now, big), http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.snapshot()
			status, got := h.post(tc.body, tc.header)
			if status != tc.want {
				t.Errorf("POST = %d %q, want %d", status, got, tc.want)
			}
			h.deliver()
			if after := h.snapshot(); after != before {
				t.Errorf("state changed:\nbefore %+v\nafter  %+v", before, after)
			}
		})
	}
	// The same body, properly signed, does go through: the cases above
	// failed for their signature, not their content.
	if status, got := h.post(body, good); status != http.StatusOK || !strings.Contains(got, "INC-1 is now SEV1") {
		t.Errorf("signed command = %d %q", status, got)
	}
}

// TestPing: Discord checks the endpoint with a signed PING and wants
// PONG.
func TestPing(t *testing.T) {
	h := newHarness(t, overHTTP)
	status, body, err := h.fake.Ping(h.ctx)
	if err != nil || status != http.StatusOK || strings.TrimSpace(string(body)) != `{"type":1}` {
		t.Errorf("PING = %d %s %v, want 200 {\"type\":1}", status, body, err)
	}
}

// TestBodyLimitStreamed: a body over MaxBody sent without a Content-Length
// (chunked) is cut off at the limit and refused too.
func TestBodyLimitStreamed(t *testing.T) {
	h := newHarness(t, overHTTP)
	big := bytes.Repeat([]byte("x"), discord.MaxBody+1)
	req, err := http.NewRequestWithContext(h.ctx, http.MethodPost, h.web.URL+"/discord/interactions", io.MultiReader(bytes.NewReader(big)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h.signed(time.Now(), big)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || req.ContentLength != 0 {
		t.Errorf("chunked oversized body = %d (content length %d), want 413", resp.StatusCode, req.ContentLength)
	}
}

// TestMalformedButSigned: a signed body that is not an interaction is a
// 400 and changes nothing.
func TestMalformedButSigned(t *testing.T) {
	h, _ := declared(t, overHTTP)
	for _, body := range []string{`{"type":2,"data":`, `not json`, `{"type":"two"}`} {
		before := h.snapshot()
		if status, got := h.post([]byte(body), h.signed(time.Now(), []byte(body))); status != http.StatusBadRequest {
			t.Errorf("POST %q = %d %q, want 400", body, status, got)
		}
		if after := h.snapshot(); after != before {
			t.Errorf("POST %q changed state", body)
		}
	}
}

// TestCommandsThatChangeNothing: unknown subcommands, options of the
// wrong type, values the grammar refuses, and commands outside an
// incident channel get usage help, for the caller only, and change
// nothing, over both transports.
func TestCommandsThatChangeNothing(t *testing.T) {
	str, num, usr := discordtest.Str, discordtest.Int, discordtest.UserOpt
	for _, m := range []mode{overGateway, overHTTP} {
		t.Run(string(m), func(t *testing.T) {
			h, ch := declared(t, m)
			general := h.fake.General()
			for _, tc := range []struct {
				name    string
				channel string
				inv     discordtest.Invocation
				want    []string
			}{
				{"unknown subcommand", ch, cmd("frobnicate"), []string{`Unknown command "frobnicate"`, "Usage: /incident", "\ndeclare "}},
				{"unknown step", ch, cmd("postmortem frob"), []string{`Unknown postmortem step "frob"`}},
				{"unknown command", ch, discordtest.Invocation{Name: "other", Sub: "sev"}, []string{"Unknown command /other", "Usage:"}},
				{"severity as text", ch, cmd("sev", str("severity", "two")), []string{"The severity option must be a whole number", "Usage: /incident sev <1-4>"}},
				{"severity as a fraction", ch, cmd("sev", discordtest.Option{Name: "severity", Type: 4, Value: 1.5}), []string{"must be a whole number"}},
				{"severity out of range", ch, cmd("sev", num("severity", 9)), []string{`Unknown severity "9"`}},
				{"person as a number", ch, cmd("role", str("role", "comms"), num("user", 3)), []string{"The user option must be a person"}},
				{"person not an ID", ch, cmd("role", str("role", "comms"), str("user", "bob")), []string{"The user option must be a person"}},
				{"unknown role", ch, cmd("role", str("role", "boss"), usr("user", h.bob)), []string{`Unknown role "boss"`}},
				{"unknown option", ch, cmd("sev", num("severity", 1), str("reason", "why not")), []string{`Unknown option "reason"`}},
				{"option twice", ch, cmd("sev", num("severity", 1), num("severity", 2)), []string{"given twice"}},
				{"missing option", ch, cmd("status"), []string{"Missing the text option", "Usage: /incident status"}},
				{"date with a space", ch, cmd("postmortem schedule", str("date", "2026-03-04 14:00"), str("time", "14:00")), []string{"The date option must be one word"}},
				{"invalid date", ch, cmd("postmortem schedule", str("date", "2026-02-30"), str("time", "14:00")), []string{`Invalid date "2026-02-30"`}},
				{"declare severity out of range", general, cmd("declare", str("title", "x"), num("severity", 7)), []string{`Unknown severity "7"`}},
				{"declare unknown kind", general, cmd("declare", str("title", "x"), str("kind", "fire")), []string{`Unknown kind "fire"`}},
				{"declare bad tag", general, cmd("declare", str("title", "x"), str("tags", "#ok #no!")), []string{`Invalid tag "#no!"`}},
				{"declare empty title", general, cmd("declare", str("title", "  ")), []string{"Missing the title"}},
				{"exhortation", ch, cmd("action add", str("text", "be more careful"), usr("owner", h.bob), str("due", "2026-03-16")), []string{"not a countermeasure"}},
				{"not an incident channel", general, cmd("sev", num("severity", 1)), []string{"This is not an incident channel"}},
				{"help", general, cmd("help"), []string{"Usage: /incident", "\nclose "}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					before := h.snapshot()
					kind, reply := h.invoke(h.bob, tc.channel, tc.inv)
					if kind != "ephemeral" {
						t.Errorf("answered %s, want ephemeral: %q", kind, reply)
					}
					for _, w := range tc.want {
						if !strings.Contains(reply, w) {
							t.Errorf("reply = %q, want it to contain %q", reply, w)
						}
					}
					h.deliver()
					if after := h.snapshot(); after != before {
						t.Errorf("state changed:\nbefore %+v\nafter  %+v", before, after)
					}
				})
			}

			before := h.snapshot()
			h.say(h.alice, general, "lunch?")
			if after := h.snapshot(); after.timelines != before.timelines {
				t.Errorf("chatter outside incident channels was recorded")
			}
		})
	}
}

// TestOwnMessages: whatever a bot says in the incident channel is recorded
// as a bot action, and debrief does not answer it: its own posts (which
// Discord sends back), another bot's, a webhook's.
func TestOwnMessages(t *testing.T) {
	h, ch := declared(t, overGateway)
	grafana := h.fake.AddUser(discordtest.User{Username: "grafana", Bot: true})
	posted := len(h.fake.BotMessages(ch))
	h.say(grafana, ch, "[FIRING] error rate")
	h.deliver()
	if got := h.fake.BotMessages(ch); len(got) != posted {
		t.Errorf("the bot posted %q after bot messages", got[posted:])
	}
	tl := h.timeline("INC-1")
	if ev, ok := find(tl, bot.EventBot, "INC-1: Checkout is down"); !ok || ev.Author.ID != h.fake.BotUserID {
		t.Errorf("own summary not recorded as a bot action: %v", entries(tl))
	}
	if ev, ok := find(tl, bot.EventBot, "[FIRING] error rate"); !ok || ev.Author != (bot.User{Platform: bot.Discord, ID: grafana, Name: "grafana"}) {
		t.Errorf("integration message: %+v in %v", ev, entries(tl))
	}
}

// componentBody is a MESSAGE_COMPONENT interaction (a button click) in ch
// with customID. Its ID follows from customID: each distinct click is a
// new interaction, not a replay of the last.
func (h *harness) componentBody(ch, customID string) []byte {
	b, _ := json.Marshal(map[string]any{
		"id": fmt.Sprint(1100000000000000000 + uint64(crc32.ChecksumIEEE([]byte(customID)))), "application_id": h.fake.AppID, "type": 3, "token": "itok-click", "version": 1,
		"guild_id": h.fake.GuildID, "channel_id": ch,
		"member": map[string]any{"user": map[string]any{"id": h.alice, "username": "alice"}},
		"data":   map[string]any{"custom_id": customID, "component_type": 2},
	})
	return b
}

// TestButtonBadInput: a click on a button debrief did not post, or one
// whose command is malformed, is answered to the clicker alone and
// changes nothing; a forged click is 401.
func TestButtonBadInput(t *testing.T) {
	h, ch := declared(t, overHTTP)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		name, customID string
		forged         bool
		want           int
		reply          string
	}{
		{"someone else's button", "other-bot:approve", false, http.StatusOK, "debrief does not know this button."},
		{"a malformed command", "cmd:declare --from NM-", false, http.StatusOK, "--from"},
		{"an unknown near miss", "cmd:declare --from NM-99", false, http.StatusOK, "There is no near miss NM-99."},
		{"forged", "cmd:sev 1", true, http.StatusUnauthorized, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.snapshot()
			body := h.componentBody(ch, tc.customID)
			header := h.signed(time.Now(), body)
			if tc.forged {
				header = signedBy(other, time.Now(), body)
			}
			status, got := h.post(body, header)
			if status != tc.want || !strings.Contains(got, tc.reply) || (tc.want == http.StatusOK && !strings.Contains(got, `"flags":64`)) {
				t.Errorf("click = %d %s, want %d, ephemeral, with %q", status, got, tc.want, tc.reply)
			}
			h.deliver()
			if after := h.snapshot(); after != before {
				t.Errorf("state changed:\nbefore %+v\nafter  %+v", before, after)
			}
		})
	}
}

// TestReplayedInteraction: the same signed interaction sent again within
// the signature's window runs once, even when the replay reaches a
// restarted process: its ID is remembered in the store.
func TestReplayedInteraction(t *testing.T) {
	h, ch := declared(t, overHTTP)
	body, _ := json.Marshal(map[string]any{
		"id": "1100000000000000777", "application_id": h.fake.AppID, "type": 2, "token": "itok-replay", "version": 1,
		"guild_id": h.fake.GuildID, "channel_id": ch,
		"member": map[string]any{"user": map[string]any{"id": h.alice, "username": "alice"}},
		"data": map[string]any{"id": "1", "name": "incident", "type": 1, "options": []any{map[string]any{
			"name": "note", "type": 1, "options": []any{map[string]any{"name": "text", "type": 3, "value": "replayed once"}}}}},
	})
	header := h.signed(time.Now(), body)
	if status, reply := h.post(body, header); status != 200 {
		t.Fatalf("first = %d %q", status, reply)
	}
	if status, reply := h.post(body, header); status != 200 || !strings.Contains(reply, "already handled") {
		t.Errorf("replay = %d %q, want 200 and already handled", status, reply)
	}
	// A restarted process: a new Service and adapter on the same file.
	svc2 := &workflows.Service{Store: h.db, Config: h.svc.Config, Now: h.clock.Now, Rand: func() float64 { return 0.5 }}
	dc2, err := discord.New(svc2, discord.Config{
		BotToken: h.fake.BotToken, AppID: h.fake.AppID, GuildID: h.fake.GuildID, PublicKey: h.fake.PublicKeyHex(),
		APIURL: h.fake.APIURL(), CategoryID: h.category,
	})
	if err != nil {
		t.Fatal(err)
	}
	svc2.Chats = map[bot.Platform]workflows.Chat{bot.Discord: dc2}
	mux := http.NewServeMux()
	dc2.Register(mux)
	web2 := httptest.NewServer(mux)
	defer web2.Close()
	req, _ := http.NewRequest(http.MethodPost, web2.URL+"/discord/interactions", bytes.NewReader(body))
	req.Header = header.Clone()
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := count(h.timeline("INC-1"), "replayed once"); n != 1 {
		t.Errorf("%d notes after a replay and a replay after restart, want 1", n)
	}
}
