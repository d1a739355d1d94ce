// Package console is debrief's local chat: one terminal stands in for a chat
// platform, so that a newcomer can run an incident end to end offline. It is
// the platform debrief uses when no other one is configured.
//
// Input is one line per chat action:
//
//	/incident <command>   a command, handled in the current channel
//	/join <channel>       switch to another channel
//	/who <name>           act as someone else (commander vs responder demos)
//	/help                 the console's own commands
//	/quit                 stop debrief
//	anything else         a message in the current channel
//
// Output is line-oriented so that people and tests can read it alike:
//
//	[#channel] debrief: text              the bot posts or replies in a channel
//	[#channel] debrief (only you): text   an ephemeral reply
//	* text                                the console itself (joined, acting as)
//	ack <dedupe key>                      a message is durable (Ack mode only)
//
// Multi-line texts repeat the prefix on each line.
package console

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
	"github.com/debrief/debrief/workflows/render"
	"golang.org/x/term"
)

var (
	_ workflows.Chat         = (*Console)(nil)
	_ workflows.FilePoster   = (*Console)(nil)
	_ workflows.DirectPoster = (*Console)(nil)
)

// ErrQuit is returned by Run when the user typed /quit: the caller shuts
// down. End of input is not an error: whoever serves HTTP beside the console
// keeps serving (a container has no terminal).
var ErrQuit = errors.New("console: quit")

// StartChannel is the channel the console starts in, like a workspace's
// #general.
const StartChannel = "general"

// maxLine bounds one input line; a longer line ends Run (logged) rather
// than being split into several messages.
const maxLine = 1 << 20

// Console is a chat platform on a reader and a writer. Its exported fields
// are set before Run and not changed after.
type Console struct {
	// Ack prints "ack <dedupe key>" after each message is durable in the
	// timeline. The crash test relies on it: an acknowledged message must
	// survive a SIGKILL.
	Ack bool
	// Prompt prints "#channel> " before each line is read. Only useful when
	// a person is typing: it is not line-oriented.
	Prompt bool
	// Writers is how many messages may be recorded at once. 1 (or 0) keeps
	// messages in the order they were typed; more lets one console stand in
	// for many people typing at the same time, which is how the crash test
	// drives concurrent appends. Commands always wait for the messages read
	// before them.
	Writers int
	// Log receives errors the user only sees as "internal error".
	Log *slog.Logger
	// Settle is how long a command may wait for the effects it caused on
	// the console (the new channel, the invite that moves the declarer
	// into it, the posts) before the next line is read; 0 does not wait.
	// With it, a script's next line finds the channel the declare opened,
	// and the output of a command comes before the next prompt. Effects
	// that take longer (a failing delivery) are printed when they come.
	Settle time.Duration

	svc *workflows.Service
	in  io.Reader
	// session makes dedupe keys unique across runs: the sequence starts
	// at 1 again after a restart, and a key seen before would make the
	// store drop a new message as a redelivery.
	session string

	// term, when set (UseTerminal), reads lines with editing and history
	// and redraws its prompt below what is written through it.
	term *term.Terminal

	mu      sync.Mutex // guards everything below and every write to out
	out     io.Writer
	user    bot.User
	channel string
	// channels holds the names taken, and created maps an effect key to
	// the channel it created, so a retried CreateChannel is a no-op.
	channels map[string]bool
	created  map[string]string
	posted   map[string]string
	seq      uint64
	hinted   bool
}

// New returns a console where user acts in #general. svc handles what is
// typed; the caller also registers the console as svc's Chat for
// bot.Console so that effects print here.
func New(svc *workflows.Service, in io.Reader, out io.Writer, user bot.User) *Console {
	if user.Platform == "" {
		user.Platform = bot.Console
	}
	return &Console{
		svc:      svc,
		in:       in,
		out:      out,
		user:     user,
		channel:  StartChannel,
		session:  newSession(),
		channels: map[string]bool{StartChannel: true},
		created:  map[string]string{},
		posted:   map[string]string{},
	}
}

func newSession() string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand does not fail on supported platforms; the clock is
		// unique enough for a console session.
		return strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	return hex.EncodeToString(b[:])
}

// UseTerminal makes the console read its lines through t, a line editor
// on a terminal (history, arrows, Ctrl-A/E/W/L), and write through it, so
// that output arriving while someone types (the outbox posts from its own
// goroutine) is printed above the prompt and the line being typed, which
// are then drawn again. Call it before Run; t's prompt becomes the
// current channel's ("#general> ").
func (c *Console) UseTerminal(t *term.Terminal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.term = t
	c.out = t
	t.SetPrompt(promptFor(c.channel))
}

func promptFor(channel string) string { return "#" + channel + "> " }

// Channel returns the current channel's name.
func (c *Console) Channel() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.channel
}

// User returns who is typing.
func (c *Console) User() bot.User {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.user
}

// Run reads lines until end of input or an unreadable input (nil, logged),
// /quit (ErrQuit) or ctx is done (nil). A line that was read is handled to the end even when ctx is
// cancelled meanwhile, so nothing typed is half-done at shutdown. Reading
// from a terminal cannot be interrupted: after ctx is done, the goroutine
// reading in stays blocked until in is closed or the process exits.
func (c *Console) Run(ctx context.Context) error {
	lines := make(chan string)
	readErr := make(chan error, 1)
	stop := make(chan struct{})
	defer close(stop)
	c.mu.Lock()
	t := c.term
	c.mu.Unlock()
	go func() {
		if t != nil {
			for {
				line, err := t.ReadLine()
				if err != nil && !errors.Is(err, term.ErrPasteIndicator) {
					if errors.Is(err, io.EOF) {
						err = nil
					}
					readErr <- err
					return
				}
				select {
				case lines <- line:
				case <-stop:
					return
				}
			}
		}
		sc := bufio.NewScanner(c.in)
		sc.Buffer(make([]byte, 0, 64*1024), maxLine)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-stop:
				return
			}
		}
		readErr <- sc.Err()
	}()

	writers := max(c.Writers, 1)
	sem := make(chan struct{}, writers)
	var inflight sync.WaitGroup
	defer inflight.Wait()
	// work outlives ctx: a line that was read completes (drain in-flight
	// work), only reading new lines stops.
	work := context.WithoutCancel(ctx)

	for {
		c.prompt()
		var line string
		select {
		case <-ctx.Done():
			return nil
		case err := <-readErr:
			// A container has no terminal, and an unreadable one (a line
			// over maxLine) is no reason to stop debrief: the console
			// ends, the rest goes on.
			if err != nil {
				c.log().ErrorContext(ctx, "console stopped", "platform", bot.Console, "err", fmt.Errorf("console: read input: %w", err))
				return nil
			}
			c.log().InfoContext(ctx, "console input closed", "platform", bot.Console)
			return nil
		case line = <-lines:
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "/") {
			msg := c.newMessage(line)
			if writers == 1 {
				c.record(work, msg)
				continue
			}
			sem <- struct{}{}
			inflight.Add(1)
			go func() {
				defer func() { <-sem; inflight.Done() }()
				c.record(work, msg)
			}()
			continue
		}
		// Commands see every message typed before them.
		inflight.Wait()
		if err := c.command(work, line); err != nil {
			return err
		}
	}
}

// Register adds no routes: the console is the terminal. With Run and
// Ready, it makes the console a component of `debrief serve` like the
// chat platforms.
func (c *Console) Register(*http.ServeMux) {}

// Ready is always nil: a terminal that is gone (end of input) leaves the
// rest of debrief serving.
func (c *Console) Ready() error { return nil }

func (c *Console) log() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.New(slog.DiscardHandler)
}

// message is a typed line, stamped with who said it where, when it was read.
type message struct {
	user    bot.User
	channel string
	seq     uint64
	text    string
	at      time.Time
}

func (c *Console) newMessage(text string) message {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	return message{user: c.user, channel: c.channel, seq: c.seq, text: text, at: time.Now()}
}

// DedupeKey is the key a console message is stored under: unique per run
// and message, so a retried Record stores it once.
func (c *Console) DedupeKey(seq uint64) string {
	return "console/" + c.session + "/" + strconv.FormatUint(seq, 10)
}

func (c *Console) record(ctx context.Context, m message) {
	key := c.DedupeKey(m.seq)
	_, err := c.svc.Record(ctx, bot.Channel{Platform: bot.Console, ID: m.channel}, bot.TimelineEvent{
		Kind: bot.EventMessage, Author: m.user, Text: m.text,
		MessageID: strconv.FormatUint(m.seq, 10), DedupeKey: key, PlatformAt: m.at,
	})
	switch {
	case bot.ErrorCode(err) == bot.ENOTFOUND:
		// Chat outside an incident is just chat; say so once, so nobody
		// believes it is on the record.
		c.mu.Lock()
		hinted := c.hinted
		c.hinted = true
		c.mu.Unlock()
		if !hinted {
			c.printf("* #%s is not an incident channel: messages here are not recorded. Declare one with /incident declare <title>.", m.channel)
		}
	case err != nil:
		c.logError(ctx, "record message failed", err, m.channel)
		c.printf("* message not recorded: %s", bot.ErrorMessage(err))
	case c.Ack:
		c.printf("ack %s", key)
	}
}

// command handles a line starting with "/". It returns ErrQuit for /quit.
func (c *Console) command(ctx context.Context, line string) error {
	name, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimSpace(rest)
	switch name {
	case "/incident":
		c.mu.Lock()
		user, ch := c.user, c.channel
		c.mu.Unlock()
		r := c.svc.Execute(ctx, user, bot.Channel{Platform: bot.Console, ID: ch}, rest)
		c.reply(ch, r)
		c.settle(ctx, r.IncidentID)
	case "/join":
		ch := strings.TrimPrefix(rest, "#")
		if ch == "" || strings.ContainsAny(ch, " \t") {
			c.printf("* usage: /join <channel>")
			return nil
		}
		c.join(ch)
	case "/who":
		name := strings.TrimPrefix(rest, "@")
		if name == "" || strings.ContainsAny(name, " \t") {
			c.printf("* usage: /who <name>")
			return nil
		}
		c.mu.Lock()
		c.user = bot.User{Platform: bot.Console, ID: name, Name: name}
		c.mu.Unlock()
		c.printf("* you are now %s", "@"+name)
	case "/quit", "/exit":
		return ErrQuit
	case "/help":
		c.printf("%s", help())
	default:
		c.printf("* unknown console command %s; /help lists them", name)
	}
	return nil
}

// settle waits, up to c.Settle, for the console effects of incident id.
func (c *Console) settle(ctx context.Context, id string) {
	if c.Settle <= 0 || id == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, c.Settle)
	defer cancel()
	if err := c.svc.Settle(ctx, id, bot.Console); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		c.logError(ctx, "waiting for a command's effects", err, "")
	}
}

// help is the console's own commands, then the /incident commands as
// bot.Verbs declares them. People are written @name: the console's users
// have no IDs, and a plain @name is the grammar's neutral mention of a
// person whose ID is that name (see bot.MentionToken), so the console
// translates nothing.
func help() string {
	var b strings.Builder
	b.WriteString("* /incident <command>   run a command here:\n")
	for _, s := range bot.Verbs {
		b.WriteString("*   " + bot.UsageOf(s.Verb) + "\n")
	}
	b.WriteString("* /join <channel>       switch channel\n" +
		"* /who <name>           act as someone else\n" +
		"* /quit                 stop debrief\n" +
		"* anything else is a message in the current channel")
	return b.String()
}

func (c *Console) join(ch string) {
	c.mu.Lock()
	c.channel = ch
	c.channels[ch] = true
	if c.term != nil {
		c.term.SetPrompt(promptFor(ch))
	}
	c.mu.Unlock()
	c.printf("* joined #%s", ch)
}

func (c *Console) reply(ch string, r workflows.Reply) {
	from := "debrief"
	if r.Ephemeral {
		from = "debrief (only you)"
	}
	c.say(ch, from, r.Text)
}

// CreateChannel creates #name, or #name-2, #name-3... when it is taken, as
// Slack's name_taken would force. A retry with the same key returns the
// channel the first attempt created.
func (c *Console) CreateChannel(ctx context.Context, key, name string) (string, error) {
	c.mu.Lock()
	id, ok := c.created[key]
	if !ok {
		id = name
		for i := 2; c.channels[id]; i++ {
			id = name + "-" + strconv.Itoa(i)
		}
		c.channels[id] = true
		c.created[key] = id
	}
	c.mu.Unlock()
	if !ok {
		c.printf("* channel #%s created", id)
	}
	return id, nil
}

// Post prints text in the channel. A retry with the same key prints nothing
// and returns the first message's ID.
func (c *Console) Post(ctx context.Context, key, channelID, text string) (string, error) {
	return c.post(key, "[#"+channelID+"] debrief: ", text), nil
}

// PostDirect prints text as a direct message to u, on lines of its own
// ("[to @bob] debrief: ..."): the console has one screen, so everyone at it
// sees it, but it is not said in a channel. A retry with the same key
// prints nothing. Users of other platforms are ErrNoDirect.
func (c *Console) PostDirect(ctx context.Context, key string, u bot.User, text string) (string, error) {
	if u.Platform != bot.Console {
		return "", fmt.Errorf("console: direct message to %s: %w", u.Key(), workflows.ErrNoDirect)
	}
	return c.post(key, "[to "+u.Display()+"] debrief: ", text), nil
}

// post prints text, each line after prefix, once per key, and returns the
// message's ID.
func (c *Console) post(key, prefix, text string) string {
	c.mu.Lock()
	id, ok := c.posted[key]
	if !ok {
		c.seq++
		id = strconv.FormatUint(c.seq, 10)
		if key != "" {
			c.posted[key] = id
		}
	}
	c.mu.Unlock()
	if !ok {
		c.lines(prefix, text)
	}
	return id
}

// PostFile prints the file's message and names the file; a terminal is no
// place for a whole .ics or write-up (GET /api/incidents/{id}/postmortem.md
// and debrief export serve the write-up). It reads none of doc: its size
// is all it prints.
func (c *Console) PostFile(ctx context.Context, key, channelID, name string, doc *workflows.Document, comment string) (string, error) {
	return c.Post(ctx, key, channelID, fmt.Sprintf("%s [file %s, %d bytes]", comment, name, doc.Size()))
}

// Invite prints who was added: the console's own users, each once, as
// Slack and Discord invite only theirs (an invite effect carries all of an
// incident's responders, whatever their platform). With nobody of the
// console among users it prints nothing. When the person at the console is
// among them they join the channel, as Slack puts the declarer in the new
// channel.
func (c *Console) Invite(ctx context.Context, channelID string, users []bot.User) error {
	var names []string
	me := false
	c.mu.Lock()
	self := c.user // /who changes who is at the console
	c.mu.Unlock()
	for _, u := range users {
		if u.Platform != bot.Console || u.ID == "" {
			continue
		}
		if n := u.Display(); !slices.Contains(names, n) {
			names = append(names, n)
		}
		if u.Key() == self.Key() {
			me = true
		}
	}
	if len(names) == 0 {
		return nil
	}
	c.say(channelID, "debrief", "invited "+strings.Join(names, ", "))
	if me {
		c.join(channelID)
	}
	return nil
}

// Pin prints which message was pinned.
func (c *Console) Pin(ctx context.Context, channelID, messageID string) error {
	c.say(channelID, "debrief", "pinned message "+messageID)
	return nil
}

// SetTopic prints the new topic.
func (c *Console) SetTopic(ctx context.Context, channelID, topic string) error {
	c.say(channelID, "debrief", "set the topic: "+topic)
	return nil
}

// Archive prints that the channel is archived.
func (c *Console) Archive(ctx context.Context, channelID string) error {
	c.say(channelID, "debrief", "archived #"+channelID)
	return nil
}

// say prints text as from in channel ch, one prefixed line per line of text.
func (c *Console) say(ch, from, text string) {
	c.lines("[#"+ch+"] "+from+": ", text)
}

// lines prints each line of text after prefix.
func (c *Console) lines(prefix, text string) {
	var b strings.Builder
	for line := range strings.SplitSeq(text, "\n") {
		b.WriteString(prefix)
		b.WriteString(line)
		b.WriteByte('\n')
	}
	c.write(b.String())
}

// printf prints a console line; multi-line output keeps one entry per line.
func (c *Console) printf(format string, args ...any) {
	c.write(fmt.Sprintf(format, args...) + "\n")
}

// write is the only place that writes to out: the outbox worker prints from
// its own goroutine, and lines must not interleave. Everything goes
// through render.Visible: out is a terminal, and a note or a title holding
// an escape sequence or a bidi override must print as characters, not act
// on it. A terminal shows no time in its reader's zone: a time token
// (bot.TimeToken) is written as its fallback, the time in the operator's
// zone (DEBRIEF_TZ). Write errors are ignored: a closed terminal must not
// make the outbox retry forever.
func (c *Console) write(s string) {
	s = render.Visible(bot.TimeText(s))
	c.mu.Lock()
	defer c.mu.Unlock()
	_, _ = io.WriteString(c.out, s)
}

func (c *Console) prompt() {
	if !c.Prompt || c.term != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, _ = fmt.Fprintf(c.out, "#%s> ", c.channel)
}

func (c *Console) logError(ctx context.Context, msg string, err error, channel string) {
	if c.Log == nil {
		return
	}
	c.Log.ErrorContext(ctx, msg, "platform", bot.Console, "channel", channel, "err", err)
}
