package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/discord/discordtest"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store/bolt/bolttest"
	"github.com/debrief/debrief/workflows"
)

// fuzzDiscord is an adapter on a real store and a fake Discord.
func fuzzDiscord(f *testing.F) (*Discord, *discordtest.Server, *http.ServeMux) {
	fake := discordtest.New()
	f.Cleanup(fake.Close)
	db := bolttest.Open(f)
	svc := &workflows.Service{Store: db, Config: workflows.DefaultConfig()}
	d, err := New(svc, Config{BotToken: fake.BotToken, AppID: fake.AppID, GuildID: fake.GuildID,
		PublicKey: fake.PublicKeyHex(), APIURL: fake.APIURL()})
	if err != nil {
		f.Fatal(err)
	}
	svc.Chats = map[bot.Platform]workflows.Chat{bot.Discord: d}
	f.Cleanup(d.Wait)
	mux := http.NewServeMux()
	d.Register(mux)
	return d, fake, mux
}

// FuzzInteraction sends any signed interaction: PONG, an answer, or a
// refusal of what does not parse; never a 500 or a panic.
func FuzzInteraction(f *testing.F) {
	for _, s := range []string{
		`{"id":"1","application_id":"A","type":1,"token":"t","version":1}`,
		`{"id":"2","type":2,"token":"t","guild_id":"G","channel_id":"C","member":{"user":{"id":"U","username":"u"}},"data":{"id":"1","name":"incident","type":1,"options":[{"name":"note","type":1,"options":[{"name":"text","type":3,"value":"x"}]}]}}`,
		`{"id":"3","type":2,"data":{"name":"incident","options":[{"name":"sev","type":1,"options":[{"name":"severity","type":4,"value":1e400}]}]}}`,
		`{"id":"4","type":4,"data":{}}`, `{"type":99}`, `{"type":2,"data":null}`, `[]`,
	} {
		f.Add([]byte(s))
	}
	_, fake, mux := fuzzDiscord(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		req := httptest.NewRequest(http.MethodPost, "/discord/interactions", bytes.NewReader(body))
		req.Header.Set("X-Signature-Timestamp", ts)
		req.Header.Set("X-Signature-Ed25519", fake.Sign(ts, body))
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("interaction %q = %d %q", body, rec.Code, rec.Body)
		}
	})
}

// FuzzGatewayDispatch hands any dispatch to the gateway's handler: it is
// recorded, ignored or dropped, never a panic.
func FuzzGatewayDispatch(f *testing.F) {
	for _, s := range []struct{ t, raw string }{
		{"GUILD_CREATE", `{"id":"G","channels":[{"id":"C","type":0,"name":"inc-1"}],"threads":[],"roles":[]}`},
		{"MESSAGE_CREATE", `{"id":"1","channel_id":"C","guild_id":"G","author":{"id":"U","username":"u"},"content":"hi <@U2> <#C>","timestamp":"2026-03-02T10:00:00Z"}`},
		{"MESSAGE_CREATE", `{"id":"2","channel_id":"C","author":{"id":"U"},"content":"x","timestamp":"99999-01-01T00:00:00Z"}`},
		{"MESSAGE_UPDATE", `{"id":"1","channel_id":"C","content":"edited","edited_timestamp":"2026-03-02T10:01:00Z"}`},
		{"MESSAGE_DELETE", `{"id":"1","channel_id":"C"}`},
		{"MESSAGE_REACTION_ADD", `{"user_id":"U","channel_id":"C","message_id":"1","emoji":{"name":"📌"}}`},
		{"CHANNEL_CREATE", `{"id":"C2","type":11,"parent_id":"C"}`},
		{"INTERACTION_CREATE", `{"id":"9","type":2,"data":{"name":"incident"}}`},
		{"THREAD_CREATE", `null`},
	} {
		f.Add(s.t, []byte(s.raw))
	}
	d, _, _ := fuzzDiscord(f)
	f.Fuzz(func(t *testing.T, typ string, raw []byte) {
		if !json.Valid(raw) {
			return // the gateway's frame decoder hands over valid JSON only
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = d.dispatch(ctx, typ, raw)
	})
}
