package discord_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/debrief/debrief/bot"
)

// dispatchRaw sends a gateway dispatch written as Discord sends it, and
// waits until the bot acknowledged it.
func (h *harness) dispatchRaw(t, payload string) {
	h.t.Helper()
	if !json.Valid([]byte(payload)) {
		h.t.Fatalf("%s payload is not JSON:\n%s", t, payload)
	}
	seq := h.fake.Dispatch(t, json.RawMessage(payload))
	ctx, cancel := h.waitCtx()
	defer cancel()
	if err := h.fake.WaitAck(ctx, seq); err != nil {
		h.t.Fatalf("%s: %v", t, err)
	}
}

// TestPayloadShapes: messages whose text is not in content, as Discord
// delivers them over the gateway, are on the record: a webhook's embed
// (Grafana), its edit, a CI bot's embed with an author and content, a
// forwarded message (message_snapshots, with a file), and a file whose
// signed CDN URL would be dead in a day.
func TestPayloadShapes(t *testing.T) {
	h, ch := declared(t, overGateway)
	g := h.fake.GuildID
	other := h.fake.General()
	const webhook = "1313131313131313131"
	ids := []string{"1445566778899001122", "1445566778899001133", "1445566778899001144", "1445566778899001155"}

	// A Grafana alert through a channel webhook: no content, one rich
	// embed; the webhook's author is no user and comes without member.
	h.dispatchRaw("MESSAGE_CREATE", fmt.Sprintf(`{"type":0,"tts":false,"timestamp":"2026-12-01T22:14:03.512000+00:00",
	 "pinned":false,"mentions":[],"mention_roles":[],"mention_everyone":false,"id":%q,"flags":0,
	 "embeds":[{"type":"rich","url":"https://grafana.example.com/alerting/grafana/ddx1/view","title":"[FIRING:1] HighErrorRate checkout (critical)",
	   "description":"5xx rate above 5%% for 10m on <#%s>","color":15158332,
	   "fields":[{"name":"service","value":"checkout","inline":true},{"name":"Runbook","value":"https://runbooks.example.com/high-error-rate","inline":false}],
	   "footer":{"text":"Grafana v10.4.2","icon_url":"https://grafana.com/static/assets/img/fav32.png"}}],
	 "edited_timestamp":null,"content":"","components":[],"channel_id":%q,
	 "author":{"username":"Grafana","public_flags":0,"id":%q,"global_name":null,"discriminator":"0000","bot":true,"avatar":null},
	 "attachments":[],"application_id":null,"webhook_id":%q,"guild_id":%q}`, ids[0], other, ch, webhook, webhook, g))
	// The same alert resolved: Grafana edits its message.
	h.dispatchRaw("MESSAGE_UPDATE", fmt.Sprintf(`{"type":0,"tts":false,"timestamp":"2026-12-01T22:14:03.512000+00:00",
	 "pinned":false,"mentions":[],"mention_roles":[],"mention_everyone":false,"id":%q,"flags":0,
	 "embeds":[{"type":"rich","title":"[RESOLVED] HighErrorRate checkout (critical)","color":3066993,"fields":[]}],
	 "edited_timestamp":"2026-12-01T22:31:40.100000+00:00","content":"","components":[],"channel_id":%q,
	 "author":{"username":"Grafana","id":%q,"global_name":null,"discriminator":"0000","bot":true,"avatar":null},
	 "attachments":[],"webhook_id":%q,"guild_id":%q}`, ids[0], ch, webhook, webhook, g))
	// A CI bot: content and an embed with an author; a link preview on
	// the same message only repeats the content's URL.
	h.dispatchRaw("MESSAGE_CREATE", fmt.Sprintf(`{"type":0,"tts":false,"timestamp":"2026-12-01T22:20:11.000000+00:00",
	 "pinned":false,"mentions":[],"mention_roles":[],"mention_everyone":false,"id":%q,"flags":0,
	 "embeds":[{"type":"rich","title":"deploy #4812 rolled back","url":"https://github.com/acme/shop/actions/runs/4812",
	   "author":{"name":"GitHub Actions","icon_url":"https://github.githubassets.com/favicon.ico"},
	   "fields":[{"name":"commit","value":"9f2c1e0 revert pool size","inline":true},{"name":"\u200b","value":"by octocat","inline":true}]},
	   {"type":"link","url":"https://status.example.com","title":"Example status"}],
	 "edited_timestamp":null,"content":"Rollback done: https://status.example.com","components":[],"channel_id":%q,
	 "author":{"username":"ci-bot","id":"1212121212121212121","global_name":null,"discriminator":"0","bot":true,"avatar":null},
	 "attachments":[],"guild_id":%q}`, ids[1], ch, g))
	// Alice forwards a message from #general, with its log file: the
	// text is in message_snapshots, the origin in message_reference
	// (type 1, FORWARD); flags has HAS_SNAPSHOT (1<<14).
	h.dispatchRaw("MESSAGE_CREATE", fmt.Sprintf(`{"type":0,"tts":false,"timestamp":"2026-12-01T22:22:00.000000+00:00","position":0,
	 "pinned":false,"mentions":[],"mention_roles":[],"mention_everyone":false,"id":%q,"flags":16384,
	 "message_reference":{"type":1,"channel_id":%q,"message_id":"1445566778899000001","guild_id":%q},
	 "message_snapshots":[{"message":{"type":0,"timestamp":"2026-12-01T22:10:03.512000+00:00","mentions":[],"flags":0,
	   "embeds":[],"edited_timestamp":null,"content":"db-primary-2 is failing over, expect 30s of errors","components":[],
	   "attachments":[{"id":"1445566778899000002","filename":"failover.log","size":2048,
	     "url":"https://cdn.discordapp.com/attachments/%s/1445566778899000002/failover.log?ex=674f2a1b&is=674dd89b&hm=3b1f0c&",
	     "proxy_url":"https://media.discordapp.net/attachments/%s/1445566778899000002/failover.log?ex=674f2a1b&is=674dd89b&hm=3b1f0c&",
	     "content_type":"text/plain; charset=utf-8"}]}}],
	 "member":{"roles":[],"nick":null,"joined_at":"2024-01-01T00:00:00.000000+00:00","deaf":false,"mute":false,"flags":0},
	 "embeds":[],"edited_timestamp":null,"content":"","components":[],"channel_id":%q,
	 "author":{"username":"alice","id":%q,"global_name":null,"discriminator":"0","avatar":null},
	 "attachments":[],"guild_id":%q}`, ids[2], other, g, other, other, ch, h.alice, g))
	// Bob shares a screenshot: Discord's CDN URL is signed (ex=, is=,
	// hm=) and expires.
	h.dispatchRaw("MESSAGE_CREATE", fmt.Sprintf(`{"type":0,"tts":false,"timestamp":"2026-12-01T22:25:00.000000+00:00",
	 "pinned":false,"mentions":[],"mention_roles":[],"mention_everyone":false,"id":%q,"flags":0,
	 "member":{"roles":[],"nick":"bob","joined_at":"2024-01-01T00:00:00.000000+00:00","deaf":false,"mute":false,"flags":0},
	 "embeds":[],"edited_timestamp":null,"content":"","components":[],"channel_id":%q,
	 "author":{"username":"bob","id":%q,"global_name":"Bob Dylan","discriminator":"0","avatar":null},
	 "attachments":[{"id":"1445566778899000003","filename":"latency.png","size":48213,"width":1280,"height":720,
	   "url":"https://cdn.discordapp.com/attachments/%s/1445566778899000003/latency.png?ex=674f2a1b&is=674dd89b&hm=9a8b7c&",
	   "proxy_url":"https://media.discordapp.net/attachments/%s/1445566778899000003/latency.png?ex=674f2a1b&is=674dd89b&hm=9a8b7c&",
	   "content_type":"image/png","placeholder":"abc","placeholder_version":1}],"guild_id":%q}`, ids[3], ch, h.bob, ch, ch, g))

	tl := h.timeline("INC-1")
	link := func(c, m string) string { return "https://discord.com/channels/" + g + "/" + c + "/" + m }
	want := []struct {
		kind   bot.EventKind
		author string
		text   string
		url    string
		msg    string
	}{
		{bot.EventBot, "Grafana", "[FIRING:1] HighErrorRate checkout (critical) (https://grafana.example.com/alerting/grafana/ddx1/view)\n" +
			"5xx rate above 5% for 10m on #general\nservice: checkout\nRunbook: https://runbooks.example.com/high-error-rate\nGrafana v10.4.2", "", ids[0]},
		{bot.EventBot, "Grafana", "[RESOLVED] HighErrorRate checkout (critical)", "", ids[0]},
		{bot.EventBot, "ci-bot", "Rollback done: https://status.example.com\nGitHub Actions\n" +
			"deploy #4812 rolled back (https://github.com/acme/shop/actions/runs/4812)\ncommit: 9f2c1e0 revert pool size\nby octocat", "", ids[1]},
		{bot.EventMessage, "alice", "forwarded: db-primary-2 is failing over, expect 30s of errors", link(other, "1445566778899000001"), ids[2]},
		{bot.EventFile, "alice", "failover.log", link(ch, ids[2]), ids[2]},
		{bot.EventFile, "bob", "latency.png", link(ch, ids[3]), ids[3]},
	}
	var got []bot.TimelineEvent
	for _, ev := range tl {
		for _, id := range ids {
			if ev.MessageID == id {
				got = append(got, ev)
			}
		}
	}
	if len(got) != len(want) {
		t.Fatalf("timeline has %d entries of these messages, want %d:\n%v", len(got), len(want), entries(got))
	}
	for i, w := range want {
		g := got[i]
		if g.Kind != w.kind || g.Author.Name != w.author || g.Text != w.text || g.URL != w.url || g.MessageID != w.msg {
			t.Errorf("entry %d = [%s] %s: %q <%s> (%s)\nwant [%s] %s: %q <%s> (%s)", i, g.Kind, g.Author.Name, g.Text, g.URL, g.MessageID,
				w.kind, w.author, w.text, w.url, w.msg)
		}
		if strings.Contains(g.URL, "cdn.discordapp.com") {
			t.Errorf("entry %d links the signed CDN URL %s", i, g.URL)
		}
	}
}
