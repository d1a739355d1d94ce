package github_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/github"
	"github.com/debrief/debrief/adapters/github/githubtest"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/internal/clocktest"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/store/bolt"
	"github.com/debrief/debrief/store/bolt/bolttest"
	"github.com/debrief/debrief/workflows"
)

// chat records what the bot says, in channels and directly to people.
type chat struct {
	mu    sync.Mutex
	posts []string // "post <channel> <text>" and "direct <user> <text>"
	n     int
}

var (
	_ workflows.Chat         = (*chat)(nil)
	_ workflows.DirectPoster = (*chat)(nil)
)

func (c *chat) record(s string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.posts = append(c.posts, s)
	c.n++
	return fmt.Sprintf("m%d", c.n)
}

func (c *chat) CreateChannel(ctx context.Context, key, name string) (string, error) {
	return "C-" + name, nil
}

func (c *chat) Post(ctx context.Context, key, channelID, text string) (string, error) {
	return c.record("post " + channelID + " " + text), nil
}

func (c *chat) PostDirect(ctx context.Context, key string, u bot.User, text string) (string, error) {
	return c.record("direct " + u.ID + " " + text), nil
}

func (c *chat) Invite(ctx context.Context, channelID string, users []bot.User) error { return nil }
func (c *chat) Pin(ctx context.Context, channelID, messageID string) error           { return nil }
func (c *chat) SetTopic(ctx context.Context, channelID, topic string) error          { return nil }
func (c *chat) Archive(ctx context.Context, channelID string) error                  { return nil }

// since returns the messages from index from on that contain sub.
func (c *chat) since(from int, sub string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, p := range c.posts[from:] {
		if strings.Contains(p, sub) {
			out = append(out, p)
		}
	}
	return out
}

func (c *chat) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.posts)
}

// env is a Service on a real bbolt file, wired to a fake GitHub like
// cmd/debrief wires the real one, and restartable.
type env struct {
	t      *testing.T
	path   string
	clock  *clocktest.Clock
	chat   *chat
	fake   *githubtest.Server
	cfg    workflows.Config
	secret []byte

	timeout time.Duration // per GitHub request
	db      *bolt.DB
	svc     *workflows.Service
	client  *github.Client
	hook    *httptest.Server
}

var (
	alice = bot.User{Platform: bot.Console, ID: "alice", Name: "alice"}
	bob   = bot.User{Platform: bot.Console, ID: "bob", Name: "bob"}
	carol = bot.User{Platform: bot.Console, ID: "carol", Name: "carol"}

	general = bot.Channel{Platform: bot.Console, ID: "general"}
)

// start is Monday 2 March 2026, 10:00 UTC.
var start = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func newEnv(t *testing.T, fc githubtest.Config) *env {
	t.Helper()
	e := &env{
		t: t, path: filepath.Join(t.TempDir(), "debrief.db"), clock: clocktest.New(start), chat: &chat{},
		cfg: workflows.DefaultConfig(), secret: []byte("It's a Secret to Everybody"), timeout: 5 * time.Second,
	}
	e.cfg.Policy.RequireFiled = true
	fc.Now = e.clock.Now
	e.fake = githubtest.New(t, fc)
	e.open()
	t.Cleanup(e.close)
	return e
}

func (e *env) open() {
	e.t.Helper()
	db := bolttest.OpenPath(e.t, e.path)
	fc := e.fake.Config()
	client, err := github.New(github.Config{
		Token: fc.Token, Repo: fc.Owner + "/" + fc.Repo, APIURL: e.fake.URL, Timeout: e.timeout, Now: e.clock.Now,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.db, e.client = db, client
	e.svc = &workflows.Service{
		Store: db, Config: e.cfg, Now: e.clock.Now, Rand: func() float64 { return 0.5 },
		Chats:   map[bot.Platform]workflows.Chat{bot.Console: e.chat},
		Tracker: client, Publisher: client, PublishPath: "postmortems",
	}
	e.hook = httptest.NewServer(&github.Webhook{Secret: e.secret, Repo: client.Repo(), Service: e.svc, Me: client.Login})
}

func (e *env) close() {
	if e.db == nil {
		return
	}
	e.hook.Close()
	bolttest.Close(e.t, e.db)
	e.db = nil
}

// restart closes the store and builds a new Service and Client on the same
// file, as a process restart would: nothing in memory survives.
func (e *env) restart() {
	e.t.Helper()
	e.close()
	e.open()
}

func (e *env) run(u bot.User, ch bot.Channel, text string) workflows.Reply {
	e.t.Helper()
	cmd, err := bot.Parse(text)
	if err != nil {
		e.t.Fatalf("Parse(%q): %v", text, err)
	}
	r, err := e.svc.Handle(context.Background(), u, ch, cmd)
	if err != nil {
		e.t.Fatalf("%s: %q: %v", u.ID, text, err)
	}
	return r
}

// deliver runs outbox passes until nothing more is due now.
func (e *env) deliver() {
	e.t.Helper()
	for range 20 {
		n, err := e.svc.Outbox().Tick(context.Background(), e.clock.Now())
		if err != nil {
			e.t.Fatalf("Outbox.Tick: %v", err)
		}
		if n == 0 {
			return
		}
	}
}

// tick fires the reminders, then the nudges, due now, delivers them and
// returns how many fired.
func (e *env) tick() int {
	e.t.Helper()
	n := 0
	for _, l := range []workflows.Loop{e.svc.Reminders(), e.svc.Nudges()} {
		m, err := l.Tick(context.Background(), e.clock.Now())
		if err != nil {
			e.t.Fatalf("Tick: %v", err)
		}
		n += m
	}
	e.deliver()
	return n
}

func (e *env) declare(title string) (string, bot.Channel) {
	e.t.Helper()
	r := e.run(alice, general, "declare "+title)
	e.deliver()
	inc := e.incident(r.IncidentID)
	return inc.ID, bot.Channel{Platform: bot.Console, ID: inc.Channels[bot.Console]}
}

func (e *env) incident(id string) *bot.Incident {
	e.t.Helper()
	inc, err := e.svc.Incident(context.Background(), id)
	if err != nil {
		e.t.Fatalf("Incident(%s): %v", id, err)
	}
	return inc
}

func (e *env) timeline(id string) []bot.TimelineEvent {
	e.t.Helper()
	_, tl, err := e.svc.Timeline(context.Background(), id)
	if err != nil {
		e.t.Fatalf("Timeline(%s): %v", id, err)
	}
	return tl
}

func (e *env) effects() []store.Effect {
	e.t.Helper()
	var out []store.Effect
	err := e.db.View(context.Background(), func(tx store.ReadTx) error {
		var err error
		out, err = tx.Effects()
		return err
	})
	if err != nil {
		e.t.Fatalf("Effects: %v", err)
	}
	return out
}

// send delivers d to the webhook, signed with the right secret.
func (e *env) send(d githubtest.Delivery) int {
	e.t.Helper()
	code, err := githubtest.Send(context.Background(), e.hook.URL, e.secret, d)
	if err != nil {
		e.t.Fatalf("webhook: %v", err)
	}
	return code
}

// closeIssue closes issue n on GitHub as login and delivers the webhook.
func (e *env) closeIssue(n int, login string) githubtest.Delivery {
	e.t.Helper()
	e.fake.Update(n, func(is *githubtest.Issue) { is.State = "closed" })
	d := e.fake.IssueEvent("closed", n, login)
	if code := e.send(d); code != 200 {
		e.t.Fatalf("webhook close of #%d = %d, want 200", n, code)
	}
	e.deliver()
	return d
}

// timelineWith returns the entries whose text contains sub.
func timelineWith(tl []bot.TimelineEvent, sub string) []bot.TimelineEvent {
	var out []bot.TimelineEvent
	for _, ev := range tl {
		if strings.Contains(ev.Text, sub) {
			out = append(out, ev)
		}
	}
	return out
}
