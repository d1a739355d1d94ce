package console_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/console"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/store/bolt"
	"github.com/debrief/debrief/store/bolt/bolttest"
	"github.com/debrief/debrief/workflows"
)

var (
	alice = bot.User{Platform: bot.Console, ID: "alice", Name: "alice"}
	bob   = bot.User{Platform: bot.Console, ID: "bob", Name: "bob"}
)

// newService opens a real store in t.TempDir and checks its consistency at
// cleanup. Nothing runs the outbox: tests call its Tick.
func newService(t *testing.T) (*workflows.Service, *bolt.DB) {
	t.Helper()
	db := bolttest.Open(t)
	return &workflows.Service{Store: db, Config: workflows.DefaultConfig()}, db
}

// session drives a console through pipes, one line at a time, and reads
// what it prints.
type session struct {
	t    *testing.T
	con  *console.Console
	svc  *workflows.Service
	in   *io.PipeWriter
	out  chan string
	done chan error
	seen []string
}

func start(t *testing.T, svc *workflows.Service, user bot.User, setup func(*console.Console)) *session {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	con := console.New(svc, inR, outW, user)
	if setup != nil {
		setup(con)
	}
	svc.Chats = map[bot.Platform]workflows.Chat{bot.Console: con}
	s := &session{t: t, con: con, svc: svc, in: inW, out: make(chan string, 1024), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			s.out <- sc.Text()
		}
		close(s.out)
	}()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { s.done <- con.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		inW.Close()
		// Unblock any write still in flight, then wait for Run.
		outR.Close()
		<-s.done
	})
	return s
}

func (s *session) send(line string) {
	s.t.Helper()
	if _, err := io.WriteString(s.in, line+"\n"); err != nil {
		s.t.Fatalf("write %q: %v", line, err)
	}
}

// expect reads output until a line containing want appears, and returns it.
func (s *session) expect(want string) string {
	s.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-s.out:
			if !ok {
				s.t.Fatalf("output ended before %q; saw:\n%s", want, strings.Join(s.seen, "\n"))
			}
			s.seen = append(s.seen, line)
			if strings.Contains(line, want) {
				return line
			}
		case <-deadline:
			s.t.Fatalf("no line containing %q within 10s; saw:\n%s", want, strings.Join(s.seen, "\n"))
		}
	}
}

// deliver runs one outbox pass, which prints the effects.
func (s *session) deliver() {
	s.t.Helper()
	if _, err := s.svc.Outbox().Tick(context.Background(), time.Now()); err != nil {
		s.t.Fatal(err)
	}
}

func TestLifecycle(t *testing.T) {
	svc, _ := newService(t)
	s := start(t, svc, alice, func(c *console.Console) { c.Ack = true })

	s.send(`/incident declare "Checkout is down" sev2`)
	if got := s.expect("Declared INC-1"); !strings.HasPrefix(got, "[#general] debrief: ") {
		t.Errorf("declare reply = %q, want it public in #general", got)
	}
	s.deliver()
	s.expect("* channel #inc-1-checkout-is-down created")
	s.expect("[#inc-1-checkout-is-down] debrief: invited @alice")
	s.expect("* joined #inc-1-checkout-is-down")
	s.expect("[#inc-1-checkout-is-down] debrief: INC-1: Checkout is down")
	if got := s.con.Channel(); got != "inc-1-checkout-is-down" {
		t.Fatalf("Channel() = %q after the invite, want the incident channel", got)
	}

	s.send("payments API returns 502")
	s.expect("ack console/")
	s.send("/who @bob")
	s.expect("* you are now @bob")
	s.send("I see it too")
	s.expect("ack console/")
	s.send("/incident sev 1")
	s.expect("[#inc-1-checkout-is-down] debrief: INC-1 is now SEV1 (was SEV2).")
	s.send("/incident close")
	if got := s.expect("close INC-1"); !strings.Contains(got, "(only you)") {
		t.Errorf("close by a responder = %q, want an ephemeral refusal", got)
	}
	s.send("/who alice")
	s.expect("* you are now @alice")
	s.send("/incident resolve rolled back")
	s.expect("INC-1 is resolved")
	s.send("/incident close")
	// A refused close is news for the channel: public, with every reason.
	s.expect("[#inc-1-checkout-is-down] debrief: Cannot close INC-1:")
	s.expect("[#inc-1-checkout-is-down] debrief: - the post-mortem meeting has not been scheduled")
	s.expect("[#inc-1-checkout-is-down] debrief: - the post-mortem meeting has not been marked held")

	_, tl, err := svc.Timeline(context.Background(), "INC-1")
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		kind   bot.EventKind
		author string
		text   string
	}
	var got []entry
	for _, ev := range tl {
		got = append(got, entry{ev.Kind, ev.Author.ID, ev.Text})
	}
	want := []entry{
		{bot.EventLifecycle, "alice", `declared INC-1 "Checkout is down" (SEV2, real); commander @alice`},
		{bot.EventBot, "debrief", "opened channel #inc-1-checkout-is-down on console"},
		{bot.EventMessage, "alice", "payments API returns 502"},
		{bot.EventMessage, "bob", "I see it too"},
		{bot.EventSeverity, "bob", "severity SEV2 -> SEV1"},
		{bot.EventLifecycle, "alice", "resolved: rolled back"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("timeline =\n%v\nwant\n%v", got, want)
	}
	for _, ev := range tl {
		if ev.Kind == bot.EventMessage && (ev.MessageID == "" || ev.PlatformAt.IsZero()) {
			t.Errorf("message %q has MessageID %q, PlatformAt %v; want both set", ev.Text, ev.MessageID, ev.PlatformAt)
		}
	}
}

func TestChatOutsideIncidentIsNotRecorded(t *testing.T) {
	svc, _ := newService(t)
	s := start(t, svc, alice, func(c *console.Console) { c.Ack = true })
	s.send("hello")
	s.expect("* #general is not an incident channel")
	s.send("anyone there?")
	s.send("/join #random")
	s.expect("* joined #random")
	for _, line := range s.seen {
		if strings.HasPrefix(line, "ack ") {
			t.Errorf("chat outside an incident was acknowledged: %q", line)
		}
	}
	if n := strings.Count(strings.Join(s.seen, "\n"), "not an incident channel"); n != 1 {
		t.Errorf("the hint was printed %d times, want once", n)
	}
	incs, err := svc.Incidents(context.Background())
	if err != nil || len(incs) != 0 {
		t.Errorf("Incidents() = %v, %v; want none", incs, err)
	}
}

func TestCommandsOutsideIncident(t *testing.T) {
	svc, _ := newService(t)
	s := start(t, svc, alice, nil)
	s.send("/incident sev 1")
	if got := s.expect("not an incident channel"); !strings.HasPrefix(got, "[#general] debrief (only you): ") {
		t.Errorf("reply = %q, want an ephemeral answer in #general", got)
	}
	s.send("/incident bogus")
	s.expect(`[#general] debrief (only you): Unknown command "bogus".`)
	s.send("/join")
	s.expect("* usage: /join <channel>")
	s.send("/who")
	s.expect("* usage: /who <name>")
	s.send("/nope")
	s.expect("* unknown console command /nope")
	s.send("/help")
	s.expect("* /incident <command>")
	// The /incident commands come from bot's table, every one of them.
	for _, v := range bot.Verbs {
		s.expect("*   " + bot.UsageOf(v.Verb))
	}
	s.expect("* /join <channel>")
}

func TestRunEnds(t *testing.T) {
	svc, _ := newService(t)
	var out strings.Builder
	con := console.New(svc, strings.NewReader("/join x\n"), &out, alice)
	if err := con.Run(context.Background()); err != nil {
		t.Errorf("Run at end of input = %v, want nil: the server keeps running", err)
	}
	con = console.New(svc, strings.NewReader("/quit\n/join never\n"), &out, alice)
	if err := con.Run(context.Background()); !errors.Is(err, console.ErrQuit) {
		t.Errorf("Run after /quit = %v, want ErrQuit", err)
	}
	if con.Channel() != console.StartChannel {
		t.Errorf("a line after /quit was handled: channel %q", con.Channel())
	}

	// A cancelled context ends Run even though the reader never returns.
	r, w := io.Pipe()
	defer w.Close()
	con = console.New(svc, r, &out, alice)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := con.Run(ctx); err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}
}

func TestCreateChannelNameTaken(t *testing.T) {
	svc, _ := newService(t)
	var out strings.Builder
	con := console.New(svc, strings.NewReader(""), &out, alice)
	ctx := context.Background()
	for _, tc := range []struct{ key, name, want string }{
		{"k1", "inc-1-db", "inc-1-db"},
		{"k2", "inc-1-db", "inc-1-db-2"},
		{"k3", "inc-1-db", "inc-1-db-3"},
		{"k1", "inc-1-db", "inc-1-db"}, // a retry is the same channel
		{"k4", "general", "general-2"},
	} {
		got, err := con.CreateChannel(ctx, tc.key, tc.name)
		if err != nil || got != tc.want {
			t.Errorf("CreateChannel(%q, %q) = %q, %v; want %q", tc.key, tc.name, got, err, tc.want)
		}
	}
	if n := strings.Count(out.String(), "* channel #inc-1-db created"); n != 1 {
		t.Errorf("#inc-1-db announced %d times, want once:\n%s", n, out.String())
	}
}

func TestPostIsIdempotent(t *testing.T) {
	svc, _ := newService(t)
	var out strings.Builder
	con := console.New(svc, strings.NewReader(""), &out, alice)
	ctx := context.Background()
	id1, err := con.Post(ctx, "effect-7", "inc-1", "first line\nsecond line")
	if err != nil {
		t.Fatal(err)
	}
	id2, err := con.Post(ctx, "effect-7", "inc-1", "first line\nsecond line")
	if err != nil || id2 != id1 {
		t.Errorf("retried Post = %q, %v; want %q", id2, err, id1)
	}
	want := "[#inc-1] debrief: first line\n[#inc-1] debrief: second line\n"
	if out.String() != want {
		t.Errorf("output = %q, want %q (printed once, one prefix per line)", out.String(), want)
	}
	id3, _ := con.Post(ctx, "effect-8", "inc-1", "x")
	if id3 == id1 {
		t.Errorf("two posts share message ID %q", id1)
	}
}

func TestInviteJoinsOnlyTheInvited(t *testing.T) {
	svc, _ := newService(t)
	var out strings.Builder
	con := console.New(svc, strings.NewReader(""), &out, alice)
	ctx := context.Background()
	if err := con.Invite(ctx, "inc-2-x", []bot.User{bob}); err != nil {
		t.Fatal(err)
	}
	if con.Channel() != console.StartChannel {
		t.Errorf("inviting bob moved alice to %q", con.Channel())
	}
	if err := con.Invite(ctx, "inc-2-x", []bot.User{bob, alice}); err != nil {
		t.Fatal(err)
	}
	if con.Channel() != "inc-2-x" {
		t.Errorf("Channel() = %q after alice's invite, want inc-2-x", con.Channel())
	}
	for _, f := range []func() error{
		func() error { return con.Pin(ctx, "inc-2-x", "3") },
		func() error { return con.SetTopic(ctx, "inc-2-x", "INC-2 | SEV3") },
		func() error { return con.Archive(ctx, "inc-2-x") },
	} {
		if err := f(); err != nil {
			t.Error(err)
		}
	}
	for _, want := range []string{
		"[#inc-2-x] debrief: invited @bob, @alice\n* joined #inc-2-x\n",
		"[#inc-2-x] debrief: pinned message 3\n",
		"[#inc-2-x] debrief: set the topic: INC-2 | SEV3\n",
		"[#inc-2-x] debrief: archived #inc-2-x\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// declared sets up INC-1 with its channel, as a console would see it after
// the outbox ran, and returns the channel.
func declared(t *testing.T, svc *workflows.Service) string {
	t.Helper()
	ctx := context.Background()
	con := console.New(svc, strings.NewReader(""), io.Discard, alice)
	svc.Chats = map[bot.Platform]workflows.Chat{bot.Console: con}
	r := svc.Execute(ctx, alice, bot.Channel{Platform: bot.Console, ID: "general"}, "declare db latency sev2")
	if r.IncidentID != "INC-1" {
		t.Fatalf("declare = %+v", r)
	}
	if _, err := svc.Outbox().Tick(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	inc, err := svc.Incident(ctx, "INC-1")
	if err != nil {
		t.Fatal(err)
	}
	return inc.Channels[bot.Console]
}

// TestConcurrentWriters records many messages at once, as the crash test
// does through the binary: each is acknowledged once, after it is stored,
// and stored once.
func TestConcurrentWriters(t *testing.T) {
	svc, _ := newService(t)
	ch := declared(t, svc)
	const n = 300
	var in strings.Builder
	fmt.Fprintf(&in, "/join %s\n", ch)
	for i := range n {
		fmt.Fprintf(&in, "message %d\n", i)
	}
	var out lockedBuffer
	con := console.New(svc, strings.NewReader(in.String()), &out, alice)
	con.Ack, con.Writers = true, 16
	if err := con.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Run returns only after every message read was handled.
	acks := map[string]int{}
	for line := range strings.SplitSeq(out.String(), "\n") {
		if key, ok := strings.CutPrefix(line, "ack "); ok {
			acks[key]++
		}
	}
	if len(acks) != n {
		t.Errorf("%d distinct acks, want %d", len(acks), n)
	}
	for k, c := range acks {
		if c != 1 {
			t.Errorf("%s acknowledged %d times", k, c)
		}
	}
	_, tl, err := svc.Timeline(context.Background(), "INC-1")
	if err != nil {
		t.Fatal(err)
	}
	texts := map[string]int{}
	for _, ev := range tl {
		if ev.Kind == bot.EventMessage {
			texts[ev.Text]++
		}
	}
	for i := range n {
		if c := texts[fmt.Sprintf("message %d", i)]; c != 1 {
			t.Errorf("message %d stored %d times, want once", i, c)
		}
	}
}

// TestRestartDoesNotLoseMessages: a new console numbers its messages from 1
// again; its dedupe keys must still differ from the last run's, or the
// store would drop new messages as redeliveries.
func TestRestartDoesNotLoseMessages(t *testing.T) {
	svc, _ := newService(t)
	ch := declared(t, svc)
	for run := range 2 {
		con := console.New(svc, strings.NewReader("/join "+ch+"\nsame words\n"), io.Discard, alice)
		if err := con.Run(context.Background()); err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
	}
	_, tl, err := svc.Timeline(context.Background(), "INC-1")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range tl {
		if ev.Text == "same words" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d of the 2 messages stored", n)
	}
}

func TestPrompt(t *testing.T) {
	svc, _ := newService(t)
	var out strings.Builder
	con := console.New(svc, strings.NewReader("/join ops\n"), &out, alice)
	con.Prompt = true
	if err := con.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := "#general> * joined #ops\n#ops> "; out.String() != want {
		t.Errorf("output = %q, want %q", out.String(), want)
	}
}

// lockedBuffer is a strings.Builder safe for the writers' goroutines; the
// console serialises its own writes, the lock is for the test's read.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestTerminalEscapes: a note holding an escape sequence and a
// right-to-left override are stored raw, and print as visible characters:
// nothing the users wrote acts on the terminal.
func TestTerminalEscapes(t *testing.T) {
	svc, db := newService(t)
	s := start(t, svc, alice, func(c *console.Console) { c.Ack = true })
	s.send("/incident declare Disk full sev2")
	s.expect("Declared INC-1")
	s.deliver()
	s.expect("joined")
	s.send("/incident note rm -rf \u202e/ \x1b]0;pwned\x07")
	s.send("/incident timeline")
	s.expect(`rm -rf \u202e/ \x1b]0;pwned\x07`)
	for _, l := range s.seen {
		if strings.ContainsAny(l, "\x1b\u202e\x07") {
			t.Errorf("printed raw: %q", l)
		}
	}
	var stored []bot.TimelineEvent
	if err := db.View(context.Background(), func(tx store.ReadTx) error {
		var err error
		stored, err = tx.Timeline("INC-1")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	raw := false
	for _, ev := range stored {
		raw = raw || strings.Contains(ev.Text, "\u202e/ \x1b]0;pwned\x07")
	}
	if !raw {
		t.Error("the note was not stored as written")
	}
}
