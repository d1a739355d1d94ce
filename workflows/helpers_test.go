package workflows_test

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/internal/clocktest"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/store/bolt"
	"github.com/debrief/debrief/store/bolt/bolttest"
	"github.com/debrief/debrief/workflows"
)

// chat is an effect sink that records every call, like a platform would
// see them, and fails on demand.
type chat struct {
	mu       sync.Mutex
	calls    []string
	channels map[string]bool
	msgs     int
	files    map[string]string // name -> content of the last file posted
	full     map[int]string    // index in calls -> the whole text of a post
	// fail makes the next n calls fail with err.
	fail    int
	failErr error
}

var _ workflows.Chat = (*chat)(nil)

func newChat() *chat {
	return &chat{channels: map[string]bool{}, files: map[string]string{}, full: map[int]string{}}
}

var _ workflows.FilePoster = (*chat)(nil)

func (c *chat) PostFile(ctx context.Context, key, channelID, name string, doc *workflows.Document, comment string) (string, error) {
	if err := c.do("file " + channelID + " " + name); err != nil {
		return "", err
	}
	b, err := io.ReadAll(doc.Reader())
	if err != nil {
		return "", err
	}
	content := string(b)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.files[name] = content
	c.msgs++
	return fmt.Sprintf("m%d", c.msgs), nil
}

func (c *chat) file(name string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.files[name]
	return f, ok
}

func (c *chat) do(call string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail > 0 {
		c.fail--
		c.calls = append(c.calls, "FAILED "+call)
		return c.failErr
	}
	c.calls = append(c.calls, call)
	return nil
}

func (c *chat) failNext(n int, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fail, c.failErr = n, err
}

func (c *chat) Calls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls...)
}

// succeeded returns the calls that worked, without the failed attempts.
func (c *chat) succeeded() []string {
	var out []string
	for _, call := range c.Calls() {
		if !strings.HasPrefix(call, "FAILED ") {
			out = append(out, call)
		}
	}
	return out
}

func (c *chat) CreateChannel(ctx context.Context, key, name string) (string, error) {
	if err := c.do("create " + name); err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.channels[name] = true
	return "C-" + name, nil
}

func (c *chat) Post(ctx context.Context, key, channelID, text string) (string, error) {
	if err := c.do("post " + channelID + " " + firstLine(text)); err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.full[len(c.calls)-1] = "post " + channelID + " " + text
	c.msgs++
	return fmt.Sprintf("m%d", c.msgs), nil
}

func (c *chat) Invite(ctx context.Context, channelID string, users []bot.User) error {
	var ids []string
	for _, u := range users {
		ids = append(ids, u.ID)
	}
	return c.do("invite " + channelID + " " + strings.Join(ids, ","))
}

func (c *chat) Pin(ctx context.Context, channelID, messageID string) error {
	return c.do("pin " + channelID + " " + messageID)
}

func (c *chat) SetTopic(ctx context.Context, channelID, topic string) error {
	return c.do("topic " + channelID + " " + topic)
}

func (c *chat) Archive(ctx context.Context, channelID string) error {
	return c.do("archive " + channelID)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// env is a Service on a real bbolt file, restartable.
type env struct {
	t     testing.TB
	path  string
	db    *bolt.DB
	svc   *workflows.Service
	clock *clocktest.Clock
	chat  *chat
	cfg   workflows.Config
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, path: filepath.Join(t.TempDir(), "debrief.db"), clock: clocktest.New(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)), chat: newChat(),
		cfg: workflows.DefaultConfig()}
	e.open()
	t.Cleanup(e.close)
	return e
}

func (e *env) open() {
	e.t.Helper()
	db := bolttest.OpenPath(e.t, e.path)
	e.db = db
	e.svc = &workflows.Service{
		Store: db, Config: e.cfg, Now: e.clock.Now, Rand: func() float64 { return 0.5 },
		Chats: map[bot.Platform]workflows.Chat{bot.Console: e.chat},
	}
}

func (e *env) close() {
	if e.db == nil {
		return
	}
	bolttest.Close(e.t, e.db)
	e.db = nil
}

// restart closes the store and opens a new Service on the same file, as a
// process restart would.
func (e *env) restart() {
	e.t.Helper()
	e.close()
	e.open()
}

var (
	alice = bot.User{Platform: bot.Console, ID: "alice", Name: "alice"}
	bob   = bot.User{Platform: bot.Console, ID: "bob", Name: "bob"}
	carol = bot.User{Platform: bot.Console, ID: "carol", Name: "carol"}

	general = bot.Channel{Platform: bot.Console, ID: "general"}
)

// run executes a command line and fails the test on any error reply.
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

// refuse executes a command line and returns the error, failing the test if
// there is none or its code is not want.
func (e *env) refuse(u bot.User, ch bot.Channel, text, wantCode string) error {
	e.t.Helper()
	cmd, err := bot.Parse(text)
	if err != nil {
		e.t.Fatalf("Parse(%q): %v", text, err)
	}
	_, err = e.svc.Handle(context.Background(), u, ch, cmd)
	if err == nil {
		e.t.Fatalf("%s: %q succeeded, want %s error", u.ID, text, wantCode)
	}
	if got := bot.ErrorCode(err); got != wantCode {
		e.t.Fatalf("%s: %q: code %s (%v), want %s", u.ID, text, got, err, wantCode)
	}
	return err
}

// deliver runs outbox passes until nothing more is due now.
func (e *env) deliver() {
	e.t.Helper()
	for range 10 {
		n, err := e.svc.Outbox().Tick(context.Background(), e.clock.Now())
		if err != nil {
			e.t.Fatalf("Outbox.Tick: %v", err)
		}
		if n == 0 {
			return
		}
	}
}

// declare declares an incident as alice and delivers its channel.
func (e *env) declare(text string) (*bot.Incident, bot.Channel) {
	e.t.Helper()
	r := e.run(alice, general, "declare "+text)
	e.deliver()
	inc, err := e.svc.Incident(context.Background(), r.IncidentID)
	if err != nil {
		e.t.Fatalf("Incident(%s): %v", r.IncidentID, err)
	}
	id, ok := inc.Channels[bot.Console]
	if !ok {
		e.t.Fatalf("%s has no channel after delivery; calls %q", inc.ID, e.chat.Calls())
	}
	return inc, bot.Channel{Platform: bot.Console, ID: id}
}

func (e *env) timeline(id string) []bot.TimelineEvent {
	e.t.Helper()
	_, tl, err := e.svc.Timeline(context.Background(), id)
	if err != nil {
		e.t.Fatalf("Timeline(%s): %v", id, err)
	}
	return tl
}

func (e *env) incident(id string) *bot.Incident {
	e.t.Helper()
	inc, err := e.svc.Incident(context.Background(), id)
	if err != nil {
		e.t.Fatalf("Incident(%s): %v", id, err)
	}
	return inc
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
