package paritytest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/discord"
	"github.com/debrief/debrief/adapters/discord/discordtest"
	"github.com/debrief/debrief/adapters/slack"
	"github.com/debrief/debrief/adapters/slack/slacktest"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/internal/clocktest"
	"github.com/debrief/debrief/store/bolt/bolttest"
	"github.com/debrief/debrief/workflows"
	slackgo "github.com/slack-go/slack"
)

// waitFor bounds each platform's half of the scenario.
const waitFor = 15 * time.Second

// reply is the bot's answer to a command as its caller sees it.
type reply struct{ kind, text string }

// command is one /incident command, as each platform's people type it.
// Mentions are written {@name}: each driver renders them its way (Slack
// <@U0BOB>, Discord a USER option or <@snowflake>).
type command struct {
	slack   string
	discord discordtest.Invocation
}

// driver is a platform with its adapter and its fake, driven like its
// people use it.
type driver interface {
	name() string
	svc() *workflows.Service
	general() string
	// announcementChannel is where declares are announced.
	announcementChannel() string
	// incidentChannel is the channel of the incident, once created.
	incidentChannel(id string) string
	run(who, channel string, c command) reply
	// form schedules a game day through the platform's form (Slack's
	// modal; Discord's options, then its modal): values by argument name,
	// people as {@name} separated by spaces.
	form(who, channel string, values map[string]string) reply
	say(who, channel, text string) (id string)
	thread(who, channel, parent, text string) (id string)
	edit(channel, id, text string)
	unfurl(channel, id string)
	remove(channel, id string)
	react(who, channel, id string, key bool)
	pin(who, channel, id string)
	file(who, channel, name string)
	// keyEmoji is how the key reaction is named in the timeline.
	keyEmoji() string
	// nearMiss reacts to message id with the near-miss emoji.
	nearMiss(who, channel, id string)
	// click clicks the button labelled label on the bot's last message
	// with one in channel, and returns the answer.
	click(who, channel, label string) reply
	deliver()
	topic(channel string) string
	// posts are what the outbox posted in a channel (answers to commands
	// left out), and the names of the files attached.
	posts(channel string) []string
	files(channel string) []string
	announcements() []string
}

func newService(t *testing.T, c *clocktest.Clock, p bot.Platform, announce string) *workflows.Service {
	t.Helper()
	db := bolttest.Open(t)
	cfg := workflows.DefaultConfig()
	cfg.Announce = map[bot.Platform]string{p: announce}
	return &workflows.Service{Store: db, Config: cfg, Now: c.Now, Rand: func() float64 { return 0.5 }, Log: slog.New(slog.DiscardHandler)}
}

func deliver(t *testing.T, ctx context.Context, svc *workflows.Service) {
	t.Helper()
	for range 20 {
		n, err := svc.Outbox().Tick(ctx, svc.Now())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("the outbox keeps delivering")
}

var mentionRe = regexp.MustCompile(`\{@(\w+)\}`)

// --- Slack ---

type slackDriver struct {
	t        *testing.T
	ctx      context.Context
	fake     *slacktest.Server
	s        *workflows.Service
	ids      map[string]string
	announce string
}

func newSlack(t *testing.T, ctx context.Context, c *clocktest.Clock) *slackDriver {
	fake := slacktest.New()
	t.Cleanup(fake.Close)
	d := &slackDriver{t: t, ctx: ctx, fake: fake, ids: map[string]string{"alice": "U0ALICE", "bob": "U0BOB", "carol": "U0CAROL"}}
	// Profiles in UTC: Discord has no user zones, and DEBRIEF_TZ is UTC.
	fake.AddUser(slacktest.User{ID: "U0ALICE", Name: "alice", DisplayName: "alice", TZ: "UTC"})
	fake.AddUser(slacktest.User{ID: "U0BOB", Name: "bob", DisplayName: "bob", TZ: "UTC"})
	fake.AddUser(slacktest.User{ID: "U0CAROL", Name: "carol", RealName: "Carol Shaw", TZ: "UTC"})
	d.announce = fake.AddChannel("incidents", "U0ALICE", "U0ALICE", "U0BOB", "U0CAROL")
	d.s = newService(t, c, bot.Slack, d.announce)
	sl := slack.New(d.s, slack.Config{BotToken: fake.BotToken, SigningSecret: fake.SigningSecret, APIURL: fake.APIURL(), NearMissEmoji: "grimacing"})
	d.s.Chats = map[bot.Platform]workflows.Chat{bot.Slack: sl}
	d.s.Zones = map[bot.Platform]workflows.ZoneSource{bot.Slack: sl}
	if err := sl.Start(ctx); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	sl.Register(mux)
	web := httptest.NewServer(mux)
	t.Cleanup(web.Close)
	fake.Target(web.URL)
	return d
}

func (d *slackDriver) name() string                { return "slack" }
func (d *slackDriver) svc() *workflows.Service     { return d.s }
func (d *slackDriver) general() string             { return d.fake.General() }
func (d *slackDriver) keyEmoji() string            { return ":pushpin:" }
func (d *slackDriver) deliver()                    { deliver(d.t, d.ctx, d.s) }
func (d *slackDriver) announcements() []string     { return d.posts(d.announce) }
func (d *slackDriver) announcementChannel() string { return d.announce }
func (d *slackDriver) topic(channel string) string { c, _ := d.fake.Channel(channel); return c.Topic }

func (d *slackDriver) incidentChannel(id string) string {
	inc, err := d.s.Incident(d.ctx, id)
	if err != nil {
		d.t.Fatal(err)
	}
	return inc.Channels[bot.Slack]
}

// wire renders typed text as Slack sends it: & < > escaped, mentions as
// markup.
func (d *slackDriver) wire(text string) string {
	return mentionRe.ReplaceAllStringFunc(slacktest.Escape(text), func(m string) string {
		return "<@" + d.ids[mentionRe.FindStringSubmatch(m)[1]] + ">"
	})
}

// shown is what Slack shows of the bot's text, with its dates written as
// Discord's <t:unix:style>: both show a time token in the reader's zone,
// which is the same outcome (the fallback is held by Slack's own tests).
func shown(text string) string {
	text = slackDateRe.ReplaceAllStringFunc(text, func(m string) string {
		sub := slackDateRe.FindStringSubmatch(m)
		return "<t:" + sub[1] + ":" + slackStyles[sub[2]] + ">"
	})
	return unescape.Replace(text)
}

var (
	unescape    = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")
	slackDateRe = regexp.MustCompile(`<!date\^(-?[0-9]+)\^([^^|>]*)\|[^>]*>`)
	// slackStyles are the Slack formats of Discord's timestamp styles.
	slackStyles = map[string]string{
		"{time}": "t", "{time_secs}": "T", "{date_num}": "d", "{date_long}": "D",
		"{date_short_pretty} {time}": "f", "{date_long_pretty} {time}": "F",
	}
)

func (d *slackDriver) ok(what string, del slacktest.Delivery, err error) {
	d.t.Helper()
	if err != nil || del.Status != http.StatusOK {
		d.t.Fatalf("slack %s: %d %v", what, del.Status, err)
	}
}

func (d *slackDriver) run(who, channel string, c command) reply {
	d.t.Helper()
	del, err := d.fake.Command(d.ctx, d.ids[who], channel, d.wire(c.slack))
	d.ok("/incident "+c.slack, del, err)
	// Answered inline, or on the response_url when the machine was slow
	// past the answer budget: the same answer either way.
	kind, text, err := d.fake.Answer(d.ctx, del)
	if err != nil {
		d.t.Fatalf("slack: /incident %s: %v", c.slack, err)
	}
	return reply{kind, shown(text)}
}

func (d *slackDriver) form(who, channel string, values map[string]string) reply {
	d.t.Helper()
	del, err := d.fake.Command(d.ctx, d.ids[who], channel, "gameday schedule")
	d.ok("/incident gameday schedule", del, err)
	views := d.fake.Views()
	if len(views) == 0 || views[len(views)-1].CallbackID != slack.GamedayCallback {
		d.t.Fatalf("slack: no game day form opened: %+v", views)
	}
	state := map[string]map[string]slackgo.BlockAction{}
	for _, a := range bot.Lookup(bot.VerbGamedaySchedule).Args {
		v := values[a.Name]
		var ba slackgo.BlockAction
		switch a.Type {
		case bot.ArgDate:
			ba = slackgo.BlockAction{Type: "datepicker", SelectedDate: v}
		case bot.ArgTime:
			ba = slackgo.BlockAction{Type: "timepicker", SelectedTime: v}
		case bot.ArgUsers:
			ba = slackgo.BlockAction{Type: "multi_users_select"}
			for _, m := range mentionRe.FindAllStringSubmatch(v, -1) {
				ba.SelectedUsers = append(ba.SelectedUsers, d.ids[m[1]])
			}
		default:
			ba = slackgo.BlockAction{Type: "plain_text_input", Value: v}
		}
		state[a.Name] = map[string]slackgo.BlockAction{a.Name: ba}
	}
	del, err = d.fake.SubmitView(d.ctx, d.ids[who], views[len(views)-1].ID, state)
	d.ok("submit the game day form", del, err)
	var sub struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
		View           struct {
			Blocks []struct {
				Text struct{ Text string } `json:"text"`
			} `json:"blocks"`
		} `json:"view"`
	}
	if err := json.Unmarshal(del.Body, &sub); err != nil {
		d.t.Fatalf("slack: form answer %s: %v", del.Body, err)
	}
	if sub.ResponseAction == "errors" {
		for _, e := range sub.Errors {
			return reply{"ephemeral", shown(e)}
		}
	}
	if len(sub.View.Blocks) != 1 {
		d.t.Fatalf("slack: form answer %s", del.Body)
	}
	return reply{"in_channel", shown(sub.View.Blocks[0].Text.Text)}
}

func (d *slackDriver) say(who, channel, text string) string {
	ts, del, err := d.fake.Say(d.ctx, d.ids[who], channel, d.wire(text))
	d.ok("say", del, err)
	return ts
}

func (d *slackDriver) thread(who, channel, parent, text string) string {
	ts, del, err := d.fake.Reply(d.ctx, d.ids[who], channel, parent, d.wire(text))
	d.ok("thread reply", del, err)
	return ts
}

func (d *slackDriver) edit(channel, id, text string) {
	del, err := d.fake.Edit(d.ctx, channel, id, d.wire(text))
	d.ok("edit", del, err)
}

func (d *slackDriver) unfurl(channel, id string) {
	del, err := d.fake.Unfurl(d.ctx, channel, id)
	d.ok("unfurl", del, err)
}

func (d *slackDriver) remove(channel, id string) {
	del, err := d.fake.Delete(d.ctx, channel, id)
	d.ok("delete", del, err)
}

func (d *slackDriver) react(who, channel, id string, key bool) {
	emoji := "eyes"
	if key {
		emoji = "pushpin"
	}
	del, err := d.fake.React(d.ctx, d.ids[who], channel, id, emoji)
	d.ok("react", del, err)
}

func (d *slackDriver) nearMiss(who, channel, id string) {
	del, err := d.fake.React(d.ctx, d.ids[who], channel, id, "grimacing")
	d.ok("near-miss reaction", del, err)
}

func (d *slackDriver) click(who, channel, label string) reply {
	d.t.Helper()
	msgs := d.fake.Messages(channel)
	for i := len(msgs) - 1; i >= 0; i-- {
		if len(d.fake.Buttons(channel, msgs[i].TS)) == 0 {
			continue
		}
		del, err := d.fake.Click(d.ctx, d.ids[who], channel, msgs[i].TS, label)
		d.ok("click "+label, del, err)
		r, err := d.fake.WaitResponse(d.ctx)
		if err != nil {
			d.t.Fatal(err)
		}
		return reply{r.ResponseType, shown(r.Text)}
	}
	d.t.Fatalf("slack: no message with a button in %s", channel)
	return reply{}
}

func (d *slackDriver) pin(who, channel, id string) {
	del, err := d.fake.Pin(d.ctx, d.ids[who], channel, id)
	d.ok("pin", del, err)
}

func (d *slackDriver) file(who, channel, name string) {
	_, del, err := d.fake.ShareFile(d.ctx, d.ids[who], channel, name, "")
	d.ok("file", del, err)
}

func (d *slackDriver) posts(channel string) []string {
	var out []string
	for _, m := range d.fake.Messages(channel) {
		if m.User == d.fake.BotUserID {
			out = append(out, shown(m.Text))
		}
	}
	return out
}

func (d *slackDriver) files(channel string) []string {
	var out []string
	for _, m := range d.fake.Messages(channel) {
		for _, f := range m.Files {
			if m.User == d.fake.BotUserID {
				out = append(out, f.Name)
			}
		}
	}
	return out
}

// --- Discord ---

type discordDriver struct {
	t        *testing.T
	ctx      context.Context
	fake     *discordtest.Server
	s        *workflows.Service
	ids      map[string]string
	threads  map[string]string // parent message -> thread
	announce string
}

func newDiscord(t *testing.T, ctx context.Context, c *clocktest.Clock) *discordDriver {
	fake := discordtest.New()
	t.Cleanup(fake.Close)
	fake.SetHeartbeatInterval(15 * time.Millisecond)
	fake.GrantPermissions(discord.BotPermissionBits)
	d := &discordDriver{t: t, ctx: ctx, fake: fake, threads: map[string]string{}, ids: map[string]string{
		"alice": fake.AddUser(discordtest.User{Username: "alice"}),
		"bob":   fake.AddUser(discordtest.User{Username: "bob"}),
		"carol": fake.AddUser(discordtest.User{Username: "carol", GlobalName: "Carol Shaw"}),
	}}
	category := fake.AddCategory("Incidents")
	d.announce = fake.AddChannel("incidents", "")
	d.s = newService(t, c, bot.Discord, d.announce)
	dc, err := discord.New(d.s, discord.Config{BotToken: fake.BotToken, AppID: fake.AppID, GuildID: fake.GuildID,
		APIURL: fake.APIURL(), CategoryID: category, ReconnectMin: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	d.s.Chats = map[bot.Platform]workflows.Chat{bot.Discord: dc}
	if err := dc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	gctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- dc.RunGateway(gctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("RunGateway: %v", err)
		}
		dc.Wait()
	})
	if err := fake.WaitSessions(ctx, 1); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *discordDriver) name() string                { return "discord" }
func (d *discordDriver) svc() *workflows.Service     { return d.s }
func (d *discordDriver) general() string             { return d.fake.General() }
func (d *discordDriver) keyEmoji() string            { return "📌" }
func (d *discordDriver) announcements() []string     { return d.posts(d.announce) }
func (d *discordDriver) announcementChannel() string { return d.announce }
func (d *discordDriver) topic(channel string) string {
	c, _ := d.fake.Channel(channel)
	return c.Topic
}

func (d *discordDriver) deliver() {
	deliver(d.t, d.ctx, d.s)
	d.must("settle", d.fake.Settle(d.ctx))
}

func (d *discordDriver) must(what string, err error) {
	d.t.Helper()
	if err != nil {
		d.t.Fatalf("discord %s: %v", what, err)
	}
}

func (d *discordDriver) incidentChannel(id string) string {
	inc, err := d.s.Incident(d.ctx, id)
	if err != nil {
		d.t.Fatal(err)
	}
	return inc.Channels[bot.Discord]
}

func (d *discordDriver) wire(text string) string {
	return mentionRe.ReplaceAllStringFunc(text, func(m string) string {
		return "<@" + d.ids[mentionRe.FindStringSubmatch(m)[1]] + ">"
	})
}

func (d *discordDriver) run(who, channel string, c command) reply {
	d.t.Helper()
	inv := c.discord
	inv.Options = nil
	for _, o := range c.discord.Options {
		if v, ok := o.Value.(string); ok && o.Type == 6 {
			o.Value = d.ids[strings.Trim(v, "{@}")]
		}
		inv.Options = append(inv.Options, o)
	}
	ia, err := d.fake.Invoke(d.ctx, d.ids[who], channel, inv)
	d.must(fmt.Sprint("/incident ", inv), err)
	kind, text, err := ia.Reply(d.ctx)
	d.must(fmt.Sprint("/incident ", inv), err)
	return reply{kind, text}
}

func (d *discordDriver) form(who, channel string, values map[string]string) reply {
	d.t.Helper()
	inv := discordtest.Invocation{Group: "gameday", Sub: "schedule"}
	long := map[string]string{}
	for _, a := range bot.Lookup(bot.VerbGamedaySchedule).Args {
		v := values[a.Name]
		switch {
		case v == "":
		case a.Long:
			long[a.Name] = v
		case a.Type == bot.ArgUsers:
			for i, m := range mentionRe.FindAllStringSubmatch(v, -1) {
				name := a.Name
				if i > 0 {
					name += fmt.Sprint(i + 1)
				}
				inv.Options = append(inv.Options, usr(name, d.ids[m[1]]))
			}
		default:
			inv.Options = append(inv.Options, str(a.Name, v))
		}
	}
	ia, err := d.fake.Invoke(d.ctx, d.ids[who], channel, inv)
	d.must("/incident gameday schedule", err)
	a, err := ia.Wait(d.ctx, func(a discordtest.Answer) bool { return a.Type != 0 })
	d.must("/incident gameday schedule", err)
	if a.Type != 9 {
		d.t.Fatalf("discord: /incident gameday schedule answered %+v, want a modal", a)
	}
	sub, err := d.fake.SubmitModal(d.ctx, d.ids[who], ia, long)
	d.must("submit the game day modal", err)
	kind, text, err := sub.Reply(d.ctx)
	d.must("submit the game day modal", err)
	return reply{kind, firstLine(text)}
}

func (d *discordDriver) say(who, channel, text string) string {
	id, err := d.fake.Say(d.ctx, d.ids[who], channel, d.wire(text))
	d.must("say", err)
	return id
}

func (d *discordDriver) thread(who, channel, parent, text string) string {
	th, ok := d.threads[parent]
	if !ok {
		var err error
		th, err = d.fake.StartThread(d.ctx, d.ids[who], channel, parent, "thread")
		d.must("start thread", err)
		d.threads[parent] = th
	}
	return d.say(who, th, text)
}

func (d *discordDriver) edit(channel, id, text string) {
	d.must("edit", d.fake.Edit(d.ctx, channel, id, d.wire(text)))
}
func (d *discordDriver) unfurl(channel, id string) {
	d.must("unfurl", d.fake.Unfurl(d.ctx, channel, id))
}
func (d *discordDriver) remove(channel, id string) {
	d.must("delete", d.fake.Delete(d.ctx, channel, id))
}
func (d *discordDriver) pin(who, channel, id string) {
	d.must("pin", d.fake.Pin(d.ctx, d.ids[who], channel, id))
}

func (d *discordDriver) react(who, channel, id string, key bool) {
	emoji := "👀"
	if key {
		emoji = "📌"
	}
	d.must("react", d.fake.React(d.ctx, d.ids[who], channel, id, emoji))
}

func (d *discordDriver) nearMiss(who, channel, id string) {
	d.must("near-miss reaction", d.fake.React(d.ctx, d.ids[who], channel, id, "😬"))
}

func (d *discordDriver) click(who, channel, label string) reply {
	d.t.Helper()
	msgs := d.fake.Messages(channel)
	for i := len(msgs) - 1; i >= 0; i-- {
		if len(d.fake.Buttons(channel, msgs[i].ID)) == 0 {
			continue
		}
		ia, err := d.fake.Click(d.ctx, d.ids[who], channel, msgs[i].ID, label)
		d.must("click "+label, err)
		kind, text, err := ia.Reply(d.ctx)
		d.must("click "+label, err)
		return reply{kind, text}
	}
	d.t.Fatalf("discord: no message with a button in %s", channel)
	return reply{}
}

func (d *discordDriver) file(who, channel, name string) {
	_, err := d.fake.ShareFile(d.ctx, d.ids[who], channel, name, "")
	d.must("file", err)
}

func (d *discordDriver) posts(channel string) []string {
	var out []string
	for _, m := range d.fake.Messages(channel) {
		if m.AuthorID == d.fake.BotUserID && m.Type == discordtest.MessageDefault && !m.Deleted {
			out = append(out, m.Content)
		}
	}
	return out
}

func (d *discordDriver) files(channel string) []string {
	var out []string
	for _, m := range d.fake.Messages(channel) {
		for _, a := range m.Attachments {
			if m.AuthorID == d.fake.BotUserID {
				out = append(out, a.Filename)
			}
		}
	}
	return out
}

// --- the scenario ---

var (
	str = discordtest.Str
	num = discordtest.Int
	usr = discordtest.UserOpt
)

func inv(sub string, opts ...discordtest.Option) discordtest.Invocation {
	group, s, ok := strings.Cut(sub, " ")
	if !ok {
		group, s = "", sub
	}
	return discordtest.Invocation{Group: group, Sub: s, Options: opts}
}

// step is one command of the scenario and what both platforms must
// answer: the exact text, or (with prefix) its beginning.
type step struct {
	who, where string // where: "general" or "incident"
	cmd        command
	kind, text string
	prefix     bool
}

// steps run after the channel has talked. Each platform must answer each
// exactly like the other; the expectations keep both from being wrong in
// the same way.
var steps = []step{
	{"alice", "incident", command{"sev 1", inv("sev", num("severity", 1))}, "in_channel", "INC-1 is now SEV1 (was SEV2).", false},
	{"alice", "incident", command{"role comms {@bob}", inv("role", str("role", "comms"), usr("user", "{@bob}"))}, "in_channel", "@bob is now the comms of INC-1.", false},
	{"alice", "incident", command{"role scribe {@carol}", inv("role", str("role", "scribe"), usr("user", "{@carol}"))}, "in_channel", "@carol is now the scribe of INC-1.", false},
	{"alice", "incident", command{"status rollback in progress, error rate falling", inv("status", str("text", "rollback in progress, error rate falling"))},
		"in_channel", "Status update for INC-1 from @alice: rollback in progress, error rate falling", false},
	{"bob", "incident", command{"note the canary stage was skipped", inv("note", str("text", "the canary stage was skipped"))}, "ephemeral", "Noted in the timeline of INC-1.", false},
	{"bob", "incident", command{"frobnicate now", inv("frobnicate")}, "ephemeral", `Unknown command "frobnicate".` + "\n" + bot.Help(), false},
	{"bob", "incident", command{"sev 9", inv("sev", num("severity", 9))}, "ephemeral", `Unknown severity "9": give 1 to 4 (1 is the worst).` + "\nUsage: /incident sev <1-4>", false},
	{"bob", "general", command{"sev 1", inv("sev", num("severity", 1))}, "ephemeral", "This is not an incident channel", true},
	{"alice", "incident", command{"tz Europe/Berlin", inv("tz", str("zone", "Europe/Berlin"))}, "ephemeral", "", true},
	{"alice", "incident", command{"timeline", inv("timeline")}, "ephemeral", "Timeline of INC-1 (N entries, times in Europe/Berlin)", true},
	{"alice", "incident", command{"mitigate", inv("mitigate")}, "in_channel", "INC-1 is mitigated.", true},
	{"alice", "incident", command{"resolve rolled back to v41", inv("resolve", str("summary", "rolled back to v41"))}, "in_channel", "INC-1 is resolved.", true},
	{"alice", "incident", command{"postmortem schedule 2026-03-04 14:00 Europe/Berlin 45m", inv("postmortem schedule",
		str("date", "2026-03-04"), str("time", "14:00"), str("zone", "Europe/Berlin"), str("duration", "45m"))}, "in_channel", "Post-mortem of INC-1 scheduled", true},
	{"alice", "incident", command{"action Make the canary stage mandatory {@bob} due 2026-03-16", inv("action add",
		str("text", "Make the canary stage mandatory"), usr("owner", "{@bob}"), str("due", "2026-03-16"))}, "in_channel", "", true},
	{"alice", "incident", command{"action be more careful {@bob} due 2026-03-16", inv("action add",
		str("text", "be more careful"), usr("owner", "{@bob}"), str("due", "2026-03-16"))}, "ephemeral", "", true},
	{"alice", "incident", command{"actions", inv("actions")}, "ephemeral", "", true},
	{"alice", "incident", command{"close", inv("close")}, "in_channel", "Cannot close INC-1", true},
	{"carol", "incident", command{"help", inv("help")}, "ephemeral", bot.Help(), false},
	{"bob", "general", command{`declare "Disk at 90%" sev4 drill #db`, inv("declare", str("title", "Disk at 90%"), num("severity", 4),
		str("kind", "drill"), str("tags", "#db"))}, "in_channel", "[DRILL] Declared INC-2: Disk at 90% (SEV4). Opening #inc-2-drill-disk-at-90; you are the incident commander.", false},
	{"bob", "general", command{"list", inv("list")}, "ephemeral", "", true},
	{"bob", "general", command{"gameday schedule 2026-03-05 10:00 UTC Primary DB failover hypothesis: checkout keeps working fault: kill the primary with: {@carol}",
		inv("gameday schedule", str("date", "2026-03-05"), str("time", "10:00"), str("title", "Primary DB failover"),
			str("hypothesis", "checkout keeps working"), str("zone", "UTC"), str("fault", "kill the primary"), usr("participants", "{@carol}"))},
		"in_channel", "[DRILL] Scheduled game day GD-1: Primary DB failover, at <t:1772704800:f> for 1h.", true},
	{"bob", "general", command{"gameday schedule 2026-03-01 10:00 UTC Old hypothesis: x", inv("gameday schedule", str("date", "2026-03-01"),
		str("time", "10:00"), str("title", "Old"), str("hypothesis", "x"), str("zone", "UTC"))}, "ephemeral", "2026-03-01 10:00 UTC is in the past", true},
	{"bob", "general", command{"gameday list", inv("gameday list")}, "ephemeral", "[DRILL] Game days: 1 upcoming, 0 run", true},
	{"alice", "incident", command{"gameday abort", inv("gameday abort")}, "ephemeral", "INC-1 is not a drill", true},
}

var entriesRe = regexp.MustCompile(`\(\d+ entries`)

// scenario runs the incident on d and returns what its people saw, one
// observation per line, in order.
func scenario(t *testing.T, d driver) []string {
	var obs []string
	see := func(format string, args ...any) { obs = append(obs, fmt.Sprintf(format, args...)) }

	r := d.run("alice", d.general(), command{"declare Checkout is down sev2", inv("declare", str("title", "Checkout is down"), num("severity", 2))})
	see("declare: %s %s", r.kind, r.text)
	d.deliver()
	ch := d.incidentChannel("INC-1")
	if ch == "" {
		t.Fatalf("%s: no incident channel", d.name())
	}
	see("topic: %s", d.topic(ch))
	see("posts: %q", d.posts(ch))
	see("announcements: %q", d.announcements())

	first := d.say("alice", ch, "payments API returns 502 since 09:12 <- see the dashboard")
	reply := d.thread("bob", ch, first, "I see it too {@alice}")
	typo := d.say("bob", ch, "rolling back teh deploy")
	d.edit(ch, typo, "rolling back the deploy")
	d.unfurl(ch, first)
	noise := d.say("carol", ch, "wrong channel, sorry")
	d.remove(ch, noise)
	d.file("carol", ch, "error-rate.png")
	d.react("bob", ch, first, true)
	d.react("bob", ch, first, false)
	d.pin("alice", ch, typo)
	d.deliver()

	for _, s := range steps {
		where := ch
		if s.where == "general" {
			where = d.general()
		}
		r := d.run(s.who, where, s.cmd)
		r.text = entriesRe.ReplaceAllString(r.text, "(N entries")
		if s.prefix {
			r.text = firstLine(r.text)
		}
		see("/incident %s: %s %s", s.cmd.slack, r.kind, r.text)
		if r.kind != s.kind || (!s.prefix && r.text != s.text) || (s.prefix && !strings.HasPrefix(r.text, s.text)) {
			t.Errorf("%s: /incident %s = %s %q, want %s %q", d.name(), s.cmd.slack, r.kind, r.text, s.kind, s.text)
		}
		d.deliver()
	}
	// The game day form, refused then accepted: the same on both.
	for _, f := range []struct {
		values     map[string]string
		kind, text string
	}{
		{map[string]string{"date": "2026-03-01", "time": "10:00", "title": "Failover", "zone": "UTC", "hypothesis": "it holds"},
			"ephemeral", "2026-03-01 10:00 UTC is in the past; pick a time after 2026-03-02 09:"},
		{map[string]string{"date": "2026-03-06", "time": "10:00", "title": "Cache eviction", "zone": "UTC",
			"hypothesis": "p99 stays under 300ms", "fault": "flush the cache", "participants": "{@bob} {@carol}"},
			"in_channel", "[DRILL] Scheduled game day GD-2: Cache eviction, at <t:1772791200:f> for 1h."},
	} {
		r := d.form("alice", d.general(), f.values)
		r.text = firstLine(r.text)
		see("gameday form: %s %s", r.kind, r.text)
		if r.kind != f.kind || !strings.HasPrefix(r.text, f.text) {
			t.Errorf("%s: gameday form %v = %s %q, want %s %q", d.name(), f.values, r.kind, r.text, f.kind, f.text)
		}
		d.deliver()
	}
	see("general: %q", d.posts(d.general()))

	see("topic: %s", d.topic(ch))
	see("posts: %q", d.posts(ch))
	see("files: %q", d.files(ch))
	see("announcements: %q", d.announcements())
	see("INC-2 topic: %s", d.topic(d.incidentChannel("INC-2")))

	_, tl, err := d.svc().Timeline(context.Background(), "INC-1")
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range tl {
		if ev.Kind == bot.EventBot {
			// Which of the bot's own doings come back as events is the
			// platform's: Discord sends every post and answer back.
			continue
		}
		text := strings.ReplaceAll(ev.Text, d.keyEmoji(), "<key>")
		see("timeline: [%s] %s: %s", ev.Kind, ev.Author.Name, text)
		if ev.Kind == bot.EventMessage && ev.MessageID == reply {
			see("  in the thread of the first message: %t", ev.ThreadID == first)
		}
	}
	inc, err := d.svc().Incident(context.Background(), "INC-2")
	if err != nil {
		t.Fatal(err)
	}
	see("INC-2: %s %s %v", inc.Severity, inc.Kind, inc.Tags)
	return append(obs, weakSignals(t, d)...)
}

// weakSignals: the near-miss command and reaction, and the Declare
// buttons of a suggested alert and of a near miss.
func weakSignals(t *testing.T, d driver) []string {
	var obs []string
	see := func(format string, args ...any) { obs = append(obs, fmt.Sprintf(format, args...)) }
	ctx := context.Background()

	r := d.run("bob", d.general(), command{"nearmiss the deploy script almost ran against prod #deploy",
		inv("nearmiss", str("text", "the deploy script almost ran against prod"), str("tags", "#deploy"))})
	see("nearmiss: %s %s", r.kind, r.text)
	msg := d.say("carol", d.general(), "db-3 disk at 95%, cleaned /tmp before it filled")
	d.nearMiss("bob", d.general(), msg)
	d.nearMiss("alice", d.general(), msg) // the same message: recorded once
	d.deliver()
	nms, err := d.svc().NearMisses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, nm := range nms {
		see("near miss %s: %q by %s, reported by %s, tags %v, link %t", nm.ID, nm.Text, nm.Author.Name, nm.Reporter.Name, nm.Tags, nm.Permalink != "")
	}
	see("general: %q", d.posts(d.general()))

	// A suggested alert: one click declares it, with the alert's times.
	start := d.svc().Now().Add(-4 * time.Minute)
	out, err := d.svc().Alerts(ctx, workflows.AlertNotice{Source: "alertmanager", Key: `{}:{team="db"}`, Alerts: []workflows.Alert{{
		Fingerprint: "f1", Name: "DiskFilling", Summary: "disk 91% on db-3", Labels: map[string]string{"alertname": "DiskFilling", "instance": "db-3"},
		Firing: true, StartsAt: start, Action: workflows.AlertSuggest, Severity: bot.SEV2,
	}}})
	if err != nil {
		t.Fatal(err)
	}
	d.deliver()
	see("suggested: %s %q", out.Action, out.IncidentID)
	see("announcements: %q", d.announcements())
	r = d.click("alice", d.announcementChannel(), "Declare")
	see("clicked Declare on the alert: %s %s", r.kind, r.text)
	d.deliver()
	inc, err := d.svc().Incident(ctx, "INC-3")
	if err != nil {
		t.Fatal(err)
	}
	see("INC-3: %s started %s detected %s commander %s", inc.Title, inc.StartedAt.Format(time.RFC3339), inc.DetectedAt.Format(time.RFC3339), inc.Roles[bot.Commander].Name)
	// The near miss's button promotes it.
	r = d.click("carol", d.general(), "Declare")
	see("clicked Declare on the near miss: %s %s", r.kind, r.text)
	d.deliver()
	inc, err = d.svc().Incident(ctx, "INC-4")
	if err != nil {
		t.Fatal(err)
	}
	see("INC-4: %s started %t", inc.Title, inc.StartedAt.Equal(nms[len(nms)-1].At))
	return obs
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// TestParity runs the scenario on Slack and Discord and asserts that both
// saw the same, line by line.
func TestParity(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*waitFor)
	defer cancel()
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var got [2][]string
	for i, newDriver := range []func(*testing.T, context.Context, *clocktest.Clock) driver{
		func(t *testing.T, ctx context.Context, c *clocktest.Clock) driver { return newSlack(t, ctx, c) },
		func(t *testing.T, ctx context.Context, c *clocktest.Clock) driver { return newDiscord(t, ctx, c) },
	} {
		// The same clock on both: replies and the timeline show times.
		d := newDriver(t, ctx, clocktest.New(start))
		got[i] = scenario(t, d)
	}
	slackObs, discordObs := got[0], got[1]
	for i := range max(len(slackObs), len(discordObs)) {
		var s, d string
		if i < len(slackObs) {
			s = slackObs[i]
		}
		if i < len(discordObs) {
			d = discordObs[i]
		}
		if s != d {
			t.Errorf("line %d differs:\nslack:   %s\ndiscord: %s", i, s, d)
		}
	}
	// Parity of nothing would pass too: the observations must hold what
	// the scenario did.
	for _, want := range []string{
		"declare: in_channel Declared INC-1: Checkout is down (SEV2). Opening #inc-1-checkout-is-down; you are the incident commander.",
		"topic: INC-1 | SEV2 | investigating | IC @alice",
		"timeline: [message] bob: I see it too @alice",
		"  in the thread of the first message: true",
		"timeline: [edit] bob: rolling back the deploy",
		"timeline: [delete] Carol Shaw: wrong channel, sorry",
		"timeline: [file] Carol Shaw: error-rate.png",
		"timeline: [key_event] bob: marked a message as a key event (<key>)",
		"timeline: [key_event] alice: pinned: rolling back the deploy",
		"timeline: [severity] alice: severity SEV2 -> SEV1",
		"INC-2: SEV4 drill [db]",
		`near miss NM-2: "db-3 disk at 95%, cleaned /tmp before it filled" by Carol Shaw, reported by bob, tags [], link true`,
		"INC-3: disk 91% on db-3 started 2026-03-02T08:56:00Z detected 2026-03-02T09:00:00Z commander alice",
		"INC-4: db-3 disk at 95%, cleaned /tmp before it filled started true",
		"nearmiss: ephemeral Recorded near miss NM-1. Thank you: small signals count. Declare it if it grows: /incident declare --from NM-1",
		"clicked Declare on the alert: in_channel Declared INC-3: disk 91% on db-3 (SEV2). Opening #inc-3-disk-91-on-db-3; you are the incident commander.",
		"clicked Declare on the near miss: in_channel Declared INC-4: db-3 disk at 95%, cleaned /tmp before it filled (SEV3). Opening #inc-4-db-3-disk-at-95-cleaned-tmp-before-it-filled; you are the incident commander.",
	} {
		found := false
		for _, o := range slackObs {
			found = found || o == want
		}
		if !found {
			t.Errorf("no observation %q in:\n%s", want, strings.Join(slackObs, "\n"))
		}
	}
	if t.Failed() {
		t.Logf("slack:\n%s\n\ndiscord:\n%s", strings.Join(slackObs, "\n"), strings.Join(discordObs, "\n"))
	}
}
