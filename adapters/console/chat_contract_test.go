package console_test

import (
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/chattest"
	"github.com/debrief/debrief/adapters/console"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

// TestChatContract runs the chat contract suite against the console. Its
// platform is the terminal: the suite reads back what the console printed,
// parsed into channels and messages as a person would read them, and a
// person at the console makes the channels that are not the bot's (with
// /join). A terminal neither fails nor deletes channels, so the failure
// paths are skipped by the fake, which says it cannot produce them.
func TestChatContract(t *testing.T) {
	chattest.Run(t, func(t *testing.T) chattest.Harness {
		screen := newScreen(t)
		in, typing := io.Pipe()
		screen.typing = typing
		con := console.New(&workflows.Service{}, in, screen, bot.User{Platform: bot.Console, ID: "carol", Name: "carol"})
		done := make(chan error, 1)
		go func() { done <- con.Run(t.Context()) }()
		t.Cleanup(func() {
			typing.Close() // end of input: Run returns
			if err := <-done; err != nil {
				t.Errorf("console Run: %v", err)
			}
		})
		return chattest.Harness{
			Name:  "console",
			Chat:  con,
			Fake:  screen,
			Users: []bot.User{alice, bob},
			Limits: map[string]string{
				"PostFile/attaches the file": "a terminal shows a file's name and size, not its content (GET /api/incidents/{id}/postmortem.md serves the write-up)",
			},
		}
	})
}

// screen is the console's output read back as a chat platform. The console
// writes each post, notice and console line with one Write (console.write
// holds its lock around it), so one Write is one thing said; a multi-line
// post repeats the "[#channel] debrief: " prefix on every line.
type screen struct {
	// t is the check the screen serves: AddChannel fails it when the
	// console does not answer.
	t *testing.T
	// typing is the console's input; joined receives the channels /join
	// switched to, in order.
	typing *io.PipeWriter
	joined chan string

	mu       sync.Mutex
	order    []string
	channels map[string]*chattest.Channel
	messages map[string][]chattest.Message
	// direct holds the direct messages by whom they were to, as the
	// console names them ("@bob").
	direct map[string][]chattest.Message
}

var _ chattest.Fake = (*screen)(nil)

func newScreen(t *testing.T) *screen {
	return &screen{t: t, joined: make(chan string, 16), channels: map[string]*chattest.Channel{},
		messages: map[string][]chattest.Message{}, direct: map[string][]chattest.Message{}}
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := strings.TrimSuffix(string(p), "\n")
	if name, ok := strings.CutPrefix(out, "* channel #"); ok && strings.HasSuffix(name, " created") {
		s.channel(strings.TrimSuffix(name, " created"))
		return len(p), nil
	}
	if name, ok := strings.CutPrefix(out, "* joined #"); ok {
		s.channel(name)
		s.joined <- name
		return len(p), nil
	}
	if to, ok := strings.CutPrefix(out, "[to "); ok {
		// A direct message: "[to @bob] debrief: " on every line.
		name, _, _ := strings.Cut(to, "] ")
		prefix := "[to " + name + "] debrief: "
		lines := strings.Split(out, "\n")
		for i, l := range lines {
			lines[i] = strings.TrimPrefix(l, prefix)
		}
		s.direct[name] = append(s.direct[name], chattest.Message{Text: strings.Join(lines, "\n")})
		return len(p), nil
	}
	if !strings.HasPrefix(out, "[#") {
		return len(p), nil // the console's own lines: acting as, help
	}
	ch, _, _ := strings.Cut(strings.TrimPrefix(out, "[#"), "] ")
	prefix := "[#" + ch + "] debrief: "
	if !strings.HasPrefix(out, prefix) {
		return len(p), nil // an ephemeral answer, for one person only
	}
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, prefix)
	}
	text := strings.Join(lines, "\n")
	c := s.channel(ch)
	switch {
	case strings.HasPrefix(text, "invited ") && text != "invited ":
		for _, n := range strings.Split(strings.TrimPrefix(text, "invited "), ", ") {
			// Console users are their names.
			if id := strings.TrimPrefix(n, "@"); !slices.Contains(c.Members, id) {
				c.Members = append(c.Members, id)
			}
		}
	case strings.HasPrefix(text, "pinned message "):
		if id := strings.TrimPrefix(text, "pinned message "); !slices.Contains(c.Pins, id) {
			c.Pins = append(c.Pins, id)
		}
	case strings.HasPrefix(text, "set the topic: "):
		c.Topic = strings.TrimPrefix(text, "set the topic: ")
	case text == "archived #"+ch:
		c.Archived = true
	default:
		// The console prints no message IDs.
		s.messages[ch] = append(s.messages[ch], chattest.Message{Text: text})
	}
	return len(p), nil
}

// channel returns the channel named name, seen for the first time when
// the console created it or printed in it.
func (s *screen) channel(name string) *chattest.Channel {
	c, ok := s.channels[name]
	if !ok {
		c = &chattest.Channel{ID: name, Name: name}
		s.channels[name] = c
		s.order = append(s.order, name)
	}
	return c
}

func view(c *chattest.Channel) chattest.Channel {
	v := *c
	v.Members, v.Pins = slices.Clone(c.Members), slices.Clone(c.Pins)
	return v
}

func (s *screen) Channels() []chattest.Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []chattest.Channel
	for _, name := range s.order {
		out = append(out, view(s.channels[name]))
	}
	return out
}

func (s *screen) Channel(id string) (chattest.Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[id]
	if !ok {
		return chattest.Channel{}, false
	}
	return view(c), true
}

func (s *screen) Messages(channel string) []chattest.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.messages[channel])
}

// AddChannel is the person at the console typing /join name: the name is
// taken from then on, and it is not a channel the bot created. It returns
// once the console said it joined.
func (s *screen) AddChannel(name string) (string, bool) {
	s.t.Helper()
	if _, err := io.WriteString(s.typing, "/join "+name+"\n"); err != nil {
		s.t.Fatalf("typing /join %s: %v", name, err)
	}
	select {
	case got := <-s.joined:
		if got != name {
			s.t.Fatalf("/join %s joined #%s", name, got)
		}
		return got, true
	case <-time.After(joinWait):
		s.t.Fatalf("/join %s: the console did not say it joined within %s", name, joinWait)
		return "", false
	}
}

// joinWait bounds the wait for the console to answer /join: it answers at
// once, so only a broken console takes this long.
const joinWait = 15 * time.Second

// DirectMessages are the lines printed to u ("[to @bob] debrief: ..."),
// which the console names as u.Display() does.
func (s *screen) DirectMessages(u bot.User) ([]chattest.Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.direct[u.Display()]), true
}

// Nothing on the console fails: a terminal write that fails is ignored so
// that the outbox does not retry forever.
func (s *screen) DeleteChannel(string) bool             { return false }
func (s *screen) RemoveBot() bool                       { return false }
func (s *screen) Fail(chattest.Op, chattest.Fault) bool { return false }
