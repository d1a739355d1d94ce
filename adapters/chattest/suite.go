package chattest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

// rateLimit is the delay the suite's 429s ask for: whole seconds, which
// every platform's header can carry.
const rateLimit = 7 * time.Second

// check is one check of the suite: group/name is its key in Limits and
// KnownDefects and its subtest name (spaces become underscores there).
type check struct {
	group, name string
	run         func(e *env)
}

func (c check) key() string { return c.group + "/" + c.name }

// Run runs the contract suite. newHarness is called once per check, so
// that every check starts from a fresh fake, and once more to validate the
// harness's Limits and KnownDefects.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	checks := checks()
	h := newHarness(t)
	if h.Chat == nil || h.Fake == nil {
		t.Fatalf("%s: the harness has no Chat or no Fake", h.Name)
	}
	if len(h.Users) < 2 {
		t.Fatalf("%s: the harness has %d users, want at least two", h.Name, len(h.Users))
	}
	keys := map[string]bool{}
	for _, c := range checks {
		keys[c.key()] = true
	}
	// A key that names no check (misspelt, or its check renamed) skips
	// nothing, yet reads as a limit or a defect on record: refuse it.
	for _, m := range []map[string]string{h.Limits, h.KnownDefects} {
		for k := range m {
			if !keys[k] {
				t.Errorf("%s: %q names no check of the suite", h.Name, k)
			}
		}
	}
	groups := []string{}
	for _, c := range checks {
		if !slices.Contains(groups, c.group) {
			groups = append(groups, c.group)
		}
	}
	for _, g := range groups {
		t.Run(g, func(t *testing.T) {
			for _, c := range checks {
				if c.group != g {
					continue
				}
				t.Run(c.name, func(t *testing.T) {
					h := newHarness(t)
					if why, ok := h.KnownDefects[c.key()]; ok {
						t.Skipf("%s: known defect: %s", h.Name, why)
					}
					if why, ok := h.Limits[c.key()]; ok {
						t.Skipf("%s cannot: %s", h.Name, why)
					}
					ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
					defer cancel()
					c.run(&env{Harness: h, t: t, ctx: ctx})
				})
			}
		})
	}
}

// env is one check's harness, with helpers that fail the check at once
// when the setup they stand for fails.
type env struct {
	Harness
	t   *testing.T
	ctx context.Context
}

// channel creates a channel for a check that needs one.
func (e *env) channel(name string) string {
	e.t.Helper()
	id, err := e.Chat.CreateChannel(e.ctx, "setup-"+name, name)
	if err != nil || id == "" {
		e.t.Fatalf("CreateChannel(%q) = %q, %v", name, id, err)
	}
	return id
}

// post posts text for a check that needs a message.
func (e *env) post(ch, key, text string) string {
	e.t.Helper()
	id, err := e.Chat.Post(e.ctx, key, ch, text)
	if err != nil || id == "" {
		e.t.Fatalf("Post(%q) = %q, %v", text, id, err)
	}
	return id
}

func (e *env) chanState(id string) Channel {
	e.t.Helper()
	c, ok := e.Fake.Channel(id)
	if !ok {
		e.t.Fatalf("channel %s is not on the platform", id)
	}
	return c
}

func (e *env) filePoster() workflows.FilePoster {
	e.t.Helper()
	fp, ok := e.Chat.(workflows.FilePoster)
	if !ok {
		// The outbox then posts the file as a message: Post's checks cover
		// that.
		e.t.Skipf("%s is not a workflows.FilePoster: files go out as messages", e.Name)
	}
	return fp
}

func (e *env) directPoster() workflows.DirectPoster {
	e.t.Helper()
	dp, ok := e.Chat.(workflows.DirectPoster)
	if !ok {
		e.t.Skipf("%s does not implement workflows.DirectPoster yet: nudges go to the incident channel with a mention", e.Name)
	}
	return dp
}

// dms returns what u was sent directly; a Chat that sends DMs needs a fake
// that shows them, or nothing would check that they arrive.
func (e *env) dms(u bot.User) []Message {
	e.t.Helper()
	msgs, ok := e.Fake.DirectMessages(u)
	if !ok {
		e.t.Fatalf("%s implements workflows.DirectPoster but its fake shows no direct messages: give the harness's Fake.DirectMessages a view of them", e.Name)
	}
	return msgs
}

func texts(msgs []Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Text
	}
	return out
}

func countText(msgs []Message, text string) int {
	n := 0
	for _, m := range msgs {
		if m.Text == text {
			n++
		}
	}
	return n
}

// namesFile reports whether m carries the file named name, attached or
// (where the platform has no files) named in its text.
func namesFile(m Message, name string) bool {
	return slices.ContainsFunc(m.Files, func(f File) bool { return f.Name == name }) || strings.Contains(m.Text, name)
}

func count[T comparable](s []T, v T) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

func isRetryAfter(err error) (time.Duration, bool) {
	var ra *workflows.RetryAfterError
	if errors.As(err, &ra) {
		return ra.After, true
	}
	return 0, false
}

func isPermanent(err error) bool {
	var pe *workflows.PermanentError
	return errors.As(err, &pe)
}

// target is an op made ready to call: call makes it with a fixed key, so
// that calling it again is the outbox's retry, and count measures its
// effect on the platform (how many channels, messages, pins... it made).
type target struct {
	call    func() error
	count   func() int
	channel string // the channel it acts on; "" for CreateChannel and PostDirect
}

// prepare makes what op needs (a channel, a message to pin) and returns it
// ready to call.
func prepare(e *env, op Op) target {
	const key = "effect-7"
	if op == OpCreateChannel {
		name := "inc-7-checkout-is-down"
		return target{
			call: func() error { _, err := e.Chat.CreateChannel(e.ctx, key, name); return err },
			// Variants count too: a retry that did not find the first
			// channel and made name-2 beside it made two.
			count: func() int {
				n := 0
				for _, c := range e.Fake.Channels() {
					if strings.HasPrefix(c.Name, name) {
						n++
					}
				}
				return n
			},
		}
	}
	if op == OpPostDirect {
		dp := e.directPoster()
		u, text := e.Users[0], "Countermeasure 1 of INC-7 is due tomorrow."
		return target{
			call:  func() error { _, err := dp.PostDirect(e.ctx, key, u, text); return err },
			count: func() int { return countText(e.dms(u), text) },
		}
	}
	ch := e.channel("inc-7-checkout-is-down")
	tg := target{channel: ch}
	switch op {
	case OpPost:
		text := "INC-7: Checkout is down (SEV2)"
		tg.call = func() error { _, err := e.Chat.Post(e.ctx, key, ch, text); return err }
		tg.count = func() int { return countText(e.Fake.Messages(ch), text) }
	case OpPostFile:
		fp := e.filePoster()
		name := "INC-7-postmortem.md"
		tg.call = func() error {
			_, err := fp.PostFile(e.ctx, key, ch, name, workflows.TextDocument("# INC-7\n\nThe write-up.\n"), "The write-up of INC-7")
			return err
		}
		tg.count = func() int {
			return len(slices.DeleteFunc(e.Fake.Messages(ch), func(m Message) bool { return !namesFile(m, name) }))
		}
	case OpInvite:
		u := e.Users[0]
		tg.call = func() error { return e.Chat.Invite(e.ctx, ch, []bot.User{u}) }
		tg.count = func() int { return count(e.chanState(ch).Members, u.ID) }
	case OpPin:
		msg := e.post(ch, "summary", "INC-7 summary")
		tg.call = func() error { return e.Chat.Pin(e.ctx, ch, msg) }
		tg.count = func() int { return count(e.chanState(ch).Pins, msg) }
	case OpSetTopic:
		topic := "INC-7 | SEV2 | investigating | rolling back"
		tg.call = func() error { return e.Chat.SetTopic(e.ctx, ch, topic) }
		tg.count = func() int { return count([]string{e.chanState(ch).Topic}, topic) }
	case OpArchive:
		tg.call = func() error { return e.Chat.Archive(e.ctx, ch) }
		tg.count = func() int { return count([]bool{e.chanState(ch).Archived}, true) }
	default:
		e.t.Fatalf("no target for op %s", op)
	}
	return tg
}

var allOps = []Op{OpCreateChannel, OpPost, OpInvite, OpPin, OpSetTopic, OpArchive, OpPostFile, OpPostDirect}

// failureChecks are the failure paths of every op.
func failureChecks() []check {
	var out []check
	for _, op := range allOps {
		out = append(out,
			check{string(op), "rate limited", func(e *env) {
				tg := prepare(e, op)
				if !e.Fake.Fail(op, Fault{Kind: RateLimited, RetryAfter: rateLimit}) {
					e.t.Skipf("%s: the fake cannot rate-limit %s", e.Name, op)
				}
				err := tg.call()
				if after, ok := isRetryAfter(err); !ok || after != rateLimit {
					e.t.Fatalf("%s after a 429 asking for %s = %v, want a *workflows.RetryAfterError of %s", op, rateLimit, err, rateLimit)
				}
				if isPermanent(err) {
					e.t.Errorf("%s after a 429 = %v: permanent, but a rate limit passes", op, err)
				}
				if n := tg.count(); n != 0 {
					e.t.Errorf("after the 429 the platform shows %d effects of %s, want none", n, op)
				}
				if err := tg.call(); err != nil {
					e.t.Fatalf("%s once the limit passed = %v", op, err)
				}
				if n := tg.count(); n != 1 {
					e.t.Errorf("after the retry the platform shows %d effects of %s, want one", n, op)
				}
			}},
			check{string(op), "server error", func(e *env) {
				tg := prepare(e, op)
				if !e.Fake.Fail(op, Fault{Kind: ServerError}) {
					e.t.Skipf("%s: the fake cannot fail %s", e.Name, op)
				}
				err := tg.call()
				if err == nil {
					e.t.Fatalf("%s after a 503 = nil, want an error", op)
				}
				if _, ok := isRetryAfter(err); ok || isPermanent(err) {
					e.t.Fatalf("%s after a 503 = %v (%T), want a plain error, retried with backoff", op, err, err)
				}
				if n := tg.count(); n != 0 {
					e.t.Errorf("after the 503 the platform shows %d effects of %s, want none", n, op)
				}
				if err := tg.call(); err != nil {
					e.t.Fatalf("%s once the platform is back = %v", op, err)
				}
				if n := tg.count(); n != 1 {
					e.t.Errorf("after the retry the platform shows %d effects of %s, want one", n, op)
				}
			}},
			check{string(op), "answer lost", func(e *env) {
				tg := prepare(e, op)
				if !e.Fake.Fail(op, Fault{Kind: LostAnswer}) {
					e.t.Skipf("%s: the fake cannot lose an answer to %s", e.Name, op)
				}
				err := tg.call()
				if err == nil {
					e.t.Fatalf("%s answered 502 after the fact = nil, want an error", op)
				}
				if _, ok := isRetryAfter(err); ok || isPermanent(err) {
					e.t.Fatalf("%s answered 502 after the fact = %v, want a plain error: the retry must come", op, err)
				}
				if err := tg.call(); err != nil {
					e.t.Fatalf("the retry of %s after a lost answer = %v", op, err)
				}
				if n := tg.count(); n != 1 {
					e.t.Errorf("after a lost answer and a retry the platform shows %d effects of %s, want one", n, op)
				}
			}},
			check{string(op), "refused", func(e *env) {
				tg := prepare(e, op)
				if !e.Fake.Fail(op, Fault{Kind: Refused}) {
					e.t.Skipf("%s: the fake cannot refuse %s", e.Name, op)
				}
				if err := tg.call(); !isPermanent(err) {
					e.t.Fatalf("%s refused for good = %v (%T), want a *workflows.PermanentError", op, err, err)
				}
				if n := tg.count(); n != 0 {
					e.t.Errorf("after a refusal the platform shows %d effects of %s", n, op)
				}
			}},
			check{string(op), "bot removed", func(e *env) {
				tg := prepare(e, op)
				if !e.Fake.RemoveBot() {
					e.t.Skipf("%s: the fake cannot remove the bot", e.Name)
				}
				err := tg.call()
				if !isPermanent(err) {
					e.t.Fatalf("%s after the bot was removed = %v (%T), want a *workflows.PermanentError", op, err, err)
				}
				// ErrNoDirect sends the message to a channel instead, where
				// a removed bot cannot post either.
				if errors.Is(err, workflows.ErrNoDirect) {
					e.t.Errorf("%s after the bot was removed = %v, want a *workflows.PermanentError that is not ErrNoDirect", op, err)
				}
			}},
		)
		if op == OpCreateChannel || op == OpPostDirect {
			continue
		}
		out = append(out, check{string(op), "deleted channel", func(e *env) {
			tg := prepare(e, op)
			if !e.Fake.DeleteChannel(tg.channel) {
				e.t.Skipf("%s: the fake cannot delete a channel", e.Name)
			}
			if err := tg.call(); !isPermanent(err) {
				e.t.Fatalf("%s in a deleted channel = %v (%T), want a *workflows.PermanentError", op, err, err)
			}
		}})
	}
	return out
}

// checks are the whole suite, grouped by op: what each op does, that it is
// safe to repeat, then its failure paths.
func checks() []check {
	cs := []check{
		{string(OpCreateChannel), "creates the channel", func(e *env) {
			name := "inc-7-checkout-is-down"
			id, err := e.Chat.CreateChannel(e.ctx, "effect-7", name)
			if err != nil || id == "" {
				e.t.Fatalf("CreateChannel = %q, %v", id, err)
			}
			if c := e.chanState(id); c.Name != name || c.Archived {
				e.t.Errorf("channel %+v, want an open channel named %s", c, name)
			}
		}},
		{string(OpCreateChannel), "same key same channel", func(e *env) {
			name := "inc-7-checkout-is-down"
			first, err1 := e.Chat.CreateChannel(e.ctx, "effect-7", name)
			again, err2 := e.Chat.CreateChannel(e.ctx, "effect-7", name)
			if err1 != nil || err2 != nil || first != again {
				e.t.Fatalf("CreateChannel twice with one key = %q (%v), %q (%v), want one channel", first, err1, again, err2)
			}
			n := 0
			for _, c := range e.Fake.Channels() {
				if strings.HasPrefix(c.Name, name) {
					n++
				}
			}
			if n != 1 {
				e.t.Errorf("%d channels named like %s, want one", n, name)
			}
		}},
		{string(OpCreateChannel), "another key another channel", func(e *env) {
			// Two incidents with the same title: two channels, each named
			// after it (or a free variant of it).
			name := "inc-7-checkout-is-down"
			a, err1 := e.Chat.CreateChannel(e.ctx, "effect-7", name)
			b, err2 := e.Chat.CreateChannel(e.ctx, "effect-8", name)
			if err1 != nil || err2 != nil || a == b {
				e.t.Fatalf("CreateChannel with two keys = %q (%v), %q (%v), want two channels", a, err1, b, err2)
			}
			for _, id := range []string{a, b} {
				if c := e.chanState(id); !strings.HasPrefix(c.Name, name) {
					e.t.Errorf("channel named %q, want %s or a variant of it", c.Name, name)
				}
			}
		}},
		{string(OpCreateChannel), "name taken by someone else", func(e *env) {
			name := "inc-7-checkout-is-down"
			other, ok := e.Fake.AddChannel(name)
			if !ok {
				e.t.Skipf("%s: the fake cannot make someone else's channel", e.Name)
			}
			id, err := e.Chat.CreateChannel(e.ctx, "effect-7", name)
			if err != nil || id == other {
				e.t.Fatalf("CreateChannel = %q, %v; want a new channel, not %s", id, err, other)
			}
			if c := e.chanState(id); !strings.HasPrefix(c.Name, name) {
				e.t.Errorf("channel named %q, want a variant of %s", c.Name, name)
			}
		}},
		{string(OpCreateChannel), "long name is cut", func(e *env) {
			// Titles are people's words; a long one must not make the
			// channel impossible.
			name := "inc-7-" + strings.Repeat("checkout-is-down-", 10)
			id, err := e.Chat.CreateChannel(e.ctx, "effect-7", name)
			if err != nil {
				e.t.Fatalf("CreateChannel of a %d-character name = %v", len(name), err)
			}
			if c := e.chanState(id); c.Name == "" || !strings.HasPrefix(name, c.Name) {
				e.t.Errorf("channel named %q, want a prefix of %q", c.Name, name)
			}
		}},

		{string(OpPost), "posts and reads back", func(e *env) {
			ch := e.channel("inc-7-post")
			want := []string{"INC-7: Checkout is down (SEV2)", "Status: rolling back\nNext update in 30 minutes"}
			var ids []string
			for i, text := range want {
				ids = append(ids, e.post(ch, fmt.Sprintf("effect-%d", i+1), text))
			}
			msgs := e.Fake.Messages(ch)
			if !slices.Equal(texts(msgs), want) {
				e.t.Fatalf("messages %q, want %q", texts(msgs), want)
			}
			if ids[0] == ids[1] {
				e.t.Errorf("two posts returned one ID %q", ids[0])
			}
			for i, m := range msgs {
				if m.ID != "" && m.ID != ids[i] {
					e.t.Errorf("Post returned %q, the platform shows the message as %q", ids[i], m.ID)
				}
			}
		}},
		{string(OpPost), "same key posts once", func(e *env) {
			// Keys longer than a platform's own idempotency token (Discord's
			// 25-character nonce) too: the digest's are.
			ch := e.channel("inc-7-post")
			for i, key := range []string{"effect-7", "digest/2026-03-02/" + e.Name + "/effect-123456"} {
				text := fmt.Sprintf("INC-7 summary %d", i)
				first := e.post(ch, key, text)
				again := e.post(ch, key, text)
				if first != again {
					e.t.Errorf("Post twice with key %q returned %q and %q, want the first message's ID", key, first, again)
				}
				if n := countText(e.Fake.Messages(ch), text); n != 1 {
					e.t.Errorf("Post twice with key %q made %d messages, want one", key, n)
				}
			}
		}},
		{string(OpPost), "long text arrives whole", func(e *env) {
			// A digest can be longer than a platform's message: it may be
			// cut, but the whole text must reach the channel, in the
			// message or attached to it.
			ch := e.channel("inc-7-post")
			text := strings.Repeat("Countermeasure 12 of INC-7: rotate the on-call pager keys, owner @alice, due 2026-03-09\n", 50)
			e.post(ch, "effect-7", text)
			msgs := e.Fake.Messages(ch)
			if len(msgs) != 1 {
				e.t.Fatalf("a %d-character post made %d messages, want one", len(text), len(msgs))
			}
			whole := msgs[0].Text == text || slices.ContainsFunc(msgs[0].Files, func(f File) bool { return f.Content == text })
			if !whole {
				e.t.Errorf("a %d-character post arrived as %d characters and files %d, want the whole text", len(text), len(msgs[0].Text), len(msgs[0].Files))
			}
		}},
		{string(OpPost), "in a channel the bot is not in", func(e *env) {
			// The announcement channel is someone else's.
			ch, ok := e.Fake.AddChannel("incidents")
			if !ok {
				e.t.Skipf("%s: the fake cannot make someone else's channel", e.Name)
			}
			e.post(ch, "effect-7", "Declared INC-7: Checkout is down")
			if got := texts(e.Fake.Messages(ch)); !slices.Equal(got, []string{"Declared INC-7: Checkout is down"}) {
				e.t.Errorf("messages %q, want the announcement", got)
			}
		}},

		{string(OpSetTopic), "sets the topic", func(e *env) {
			ch := e.channel("inc-7-topic")
			for _, topic := range []string{"INC-7 | SEV2 | investigating", "INC-7 | SEV1 | mitigated"} {
				if err := e.Chat.SetTopic(e.ctx, ch, topic); err != nil {
					e.t.Fatalf("SetTopic(%q) = %v", topic, err)
				}
				if got := e.chanState(ch).Topic; got != topic {
					e.t.Errorf("topic %q, want %q", got, topic)
				}
			}
		}},
		{string(OpSetTopic), "long topic is cut", func(e *env) {
			ch := e.channel("inc-7-topic")
			topic := "INC-7 | " + strings.Repeat("very long status ", 120)
			if err := e.Chat.SetTopic(e.ctx, ch, topic); err != nil {
				e.t.Fatalf("SetTopic of %d characters = %v, want it cut, not refused", len(topic), err)
			}
			got := e.chanState(ch).Topic
			if got == "" || !strings.HasPrefix(topic, strings.TrimSuffix(got, "…")) {
				e.t.Errorf("topic %q, want the start of %q", got, topic)
			}
		}},

		{string(OpInvite), "adds the users", func(e *env) {
			ch := e.channel("inc-7-invite")
			if err := e.Chat.Invite(e.ctx, ch, e.Users[:2]); err != nil {
				e.t.Fatalf("Invite = %v", err)
			}
			members := e.chanState(ch).Members
			for _, u := range e.Users[:2] {
				if !slices.Contains(members, u.ID) {
					e.t.Errorf("members %q, want %s among them", members, u.ID)
				}
			}
		}},
		{string(OpInvite), "users already in it are fine", func(e *env) {
			ch := e.channel("inc-7-invite")
			if err := e.Chat.Invite(e.ctx, ch, e.Users[:1]); err != nil {
				e.t.Fatalf("Invite = %v", err)
			}
			for _, users := range [][]bot.User{e.Users[:1], e.Users[:2]} {
				if err := e.Chat.Invite(e.ctx, ch, users); err != nil {
					e.t.Fatalf("Invite of people already in = %v", err)
				}
			}
			members := e.chanState(ch).Members
			for _, u := range e.Users[:2] {
				if n := count(members, u.ID); n != 1 {
					e.t.Errorf("%s is a member %d times: %q", u.ID, n, members)
				}
			}
		}},
		{string(OpInvite), "nobody changes nothing", func(e *env) {
			ch := e.channel("inc-7-invite")
			before, msgs := e.chanState(ch), len(e.Fake.Messages(ch))
			if err := e.Chat.Invite(e.ctx, ch, nil); err != nil {
				e.t.Fatalf("Invite of nobody = %v", err)
			}
			if after := e.chanState(ch); len(after.Members) != len(before.Members) {
				e.t.Errorf("members %q after inviting nobody, were %q", after.Members, before.Members)
			}
			if got := e.Fake.Messages(ch); len(got) != msgs {
				e.t.Errorf("inviting nobody posted %q", texts(got[msgs:]))
			}
		}},
		{string(OpInvite), "other platforms' users are left out", func(e *env) {
			// An incident's responders can come from every platform it
			// spans; each adapter invites its own and ignores the rest.
			ch := e.channel("inc-7-invite")
			foreign := bot.User{Platform: "elsewhere", ID: "E0FOREIGN", Name: "foreign"}
			if err := e.Chat.Invite(e.ctx, ch, []bot.User{foreign, e.Users[0]}); err != nil {
				e.t.Fatalf("Invite with a user of another platform = %v", err)
			}
			if members := e.chanState(ch).Members; !slices.Equal(members, []string{e.Users[0].ID}) {
				e.t.Errorf("members %q, want only %s", members, e.Users[0].ID)
			}
		}},
		{string(OpInvite), "a stranger keeps nobody out", func(e *env) {
			if e.Stranger.IsZero() {
				e.t.Skipf("%s: every user can be invited", e.Name)
			}
			ch := e.channel("inc-7-invite")
			err := e.Chat.Invite(e.ctx, ch, []bot.User{e.Stranger, e.Users[0]})
			if !isPermanent(err) {
				e.t.Errorf("Invite of someone who cannot be invited = %v (%T), want a *workflows.PermanentError", err, err)
			}
			if members := e.chanState(ch).Members; !slices.Contains(members, e.Users[0].ID) || slices.Contains(members, e.Stranger.ID) {
				e.t.Errorf("members %q, want %s in and not %s", members, e.Users[0].ID, e.Stranger.ID)
			}
		}},

		{string(OpPin), "pins the message", func(e *env) {
			ch := e.channel("inc-7-pin")
			e.post(ch, "effect-1", "Status: rolling back")
			msg := e.post(ch, "effect-2", "INC-7 summary")
			if err := e.Chat.Pin(e.ctx, ch, msg); err != nil {
				e.t.Fatalf("Pin = %v", err)
			}
			if pins := e.chanState(ch).Pins; !slices.Equal(pins, []string{msg}) {
				e.t.Errorf("pins %q, want [%s]", pins, msg)
			}
		}},
		{string(OpPin), "again is fine", func(e *env) {
			ch := e.channel("inc-7-pin")
			msg := e.post(ch, "effect-1", "INC-7 summary")
			for range 2 {
				if err := e.Chat.Pin(e.ctx, ch, msg); err != nil {
					e.t.Fatalf("Pin = %v", err)
				}
			}
			if pins := e.chanState(ch).Pins; !slices.Equal(pins, []string{msg}) {
				e.t.Errorf("pins %q, want [%s] once", pins, msg)
			}
		}},

		{string(OpPostFile), "attaches the file", func(e *env) {
			fp := e.filePoster()
			ch := e.channel("inc-7-file")
			name, content, comment := "INC-7-postmortem.ics", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "The post-mortem meeting"
			if _, err := fp.PostFile(e.ctx, "effect-7", ch, name, workflows.TextDocument(content), comment); err != nil {
				e.t.Fatalf("PostFile = %v", err)
			}
			msgs := e.Fake.Messages(ch)
			if len(msgs) != 1 || len(msgs[0].Files) != 1 {
				e.t.Fatalf("messages %+v, want one with one file", msgs)
			}
			if f := msgs[0].Files[0]; f.Name != name || f.Content != content {
				e.t.Errorf("file %q with %q, want %q with %q", f.Name, f.Content, name, content)
			}
			if !strings.Contains(msgs[0].Text, comment) {
				e.t.Errorf("message %q, want the comment %q", msgs[0].Text, comment)
			}
		}},
		{string(OpPostFile), "names the file", func(e *env) {
			// What every platform owes, files or not: the message says
			// which file and carries the comment.
			fp := e.filePoster()
			ch := e.channel("inc-7-file")
			name, comment := "INC-7-postmortem.md", "The write-up of INC-7"
			if _, err := fp.PostFile(e.ctx, "effect-7", ch, name, workflows.TextDocument("# INC-7\n"), comment); err != nil {
				e.t.Fatalf("PostFile = %v", err)
			}
			msgs := e.Fake.Messages(ch)
			if len(msgs) != 1 || !namesFile(msgs[0], name) || !strings.Contains(msgs[0].Text, comment) {
				e.t.Errorf("messages %+v, want one naming %s with the comment %q", msgs, name, comment)
			}
		}},
		{string(OpPostFile), "empty file", func(e *env) {
			fp := e.filePoster()
			ch := e.channel("inc-7-file")
			name := "INC-7-postmortem.md"
			if _, err := fp.PostFile(e.ctx, "effect-7", ch, name, workflows.TextDocument(""), "The write-up of INC-7"); err != nil {
				e.t.Fatalf("PostFile of an empty file = %v", err)
			}
			if msgs := e.Fake.Messages(ch); len(msgs) != 1 || !namesFile(msgs[0], name) {
				e.t.Errorf("messages %+v, want one naming %s", msgs, name)
			}
		}},
		{string(OpPostFile), "same key posts once", func(e *env) {
			fp := e.filePoster()
			ch := e.channel("inc-7-file")
			var ids []string
			for range 2 {
				id, err := fp.PostFile(e.ctx, "effect-7", ch, "INC-7-postmortem.md", workflows.TextDocument("# INC-7\n"), "The write-up")
				if err != nil {
					e.t.Fatalf("PostFile = %v", err)
				}
				ids = append(ids, id)
			}
			if ids[0] != ids[1] {
				e.t.Errorf("PostFile twice with one key returned %q, want the first message's ID twice", ids)
			}
			if n := len(e.Fake.Messages(ch)); n != 1 {
				e.t.Errorf("PostFile twice with one key made %d messages, want one", n)
			}
		}},
		{string(OpPostFile), "long file", func(e *env) {
			// A long incident's write-up is tens of megabytes: more than
			// Discord's attachment limit without boosts (10 MiB), more
			// than a platform's buffers. The platform gets all of it, or
			// the start of it cut at the end of a line with a note that
			// says where the whole is; the message names the file.
			fp := e.filePoster()
			ch := e.channel("inc-7-file")
			name := "INC-7-postmortem.md"
			doc, text := longDocument(e.t, 12<<20)
			if _, err := fp.PostFile(e.ctx, "effect-7", ch, name, doc, "The write-up of INC-7"); err != nil {
				e.t.Fatalf("PostFile of %d bytes = %v", doc.Size(), err)
			}
			msgs := e.Fake.Messages(ch)
			if len(msgs) != 1 || !namesFile(msgs[0], name) {
				e.t.Fatalf("%d messages, want one naming %s", len(msgs), name)
			}
			for _, f := range msgs[0].Files {
				if f.Content == text {
					continue
				}
				n := 0
				for n < len(f.Content) && n < len(text) && f.Content[n] == text[n] {
					n++
				}
				if n == 0 || text[n-1] != '\n' || !strings.Contains(f.Content[n:], doc.Whole) {
					e.t.Errorf("file %s holds %d of the %d bytes, want all of them or a start cut at a line and a note naming %s", f.Name, len(f.Content), len(text), doc.Whole)
				}
			}
		}},
		{string(OpPostFile), "returns the message ID", func(e *env) {
			// FilePoster's doc: PostFile returns the message's ID, which is
			// what Pin and every other message operation take.
			fp := e.filePoster()
			ch := e.channel("inc-7-file")
			id, err := fp.PostFile(e.ctx, "effect-7", ch, "INC-7-postmortem.md", workflows.TextDocument("# INC-7\n"), "The write-up")
			if err != nil {
				e.t.Fatalf("PostFile = %v", err)
			}
			msgs := e.Fake.Messages(ch)
			if len(msgs) != 1 || (msgs[0].ID != "" && msgs[0].ID != id) {
				e.t.Errorf("PostFile returned %q, the platform shows %+v", id, msgs)
			}
			if err := e.Chat.Pin(e.ctx, ch, id); err != nil {
				e.t.Errorf("Pin of the ID PostFile returned = %v", err)
			}
			if pins := e.chanState(ch).Pins; !slices.Equal(pins, []string{id}) {
				e.t.Errorf("pins %q, want [%s]", pins, id)
			}
		}},

		{string(OpPostDirect), "sends to that person alone", func(e *env) {
			dp := e.directPoster()
			to, other := e.Users[0], e.Users[1]
			text := "Countermeasure 1 of INC-7 is due tomorrow."
			id, err := dp.PostDirect(e.ctx, "effect-7", to, text)
			if err != nil || id == "" {
				e.t.Fatalf("PostDirect = %q, %v", id, err)
			}
			if got := texts(e.dms(to)); !slices.Equal(got, []string{text}) {
				e.t.Errorf("%s was sent %q, want %q", to.ID, got, text)
			}
			if got := e.dms(other); len(got) != 0 {
				e.t.Errorf("%s was sent %q, want nothing", other.ID, texts(got))
			}
		}},
		{string(OpPostDirect), "same key sends once", func(e *env) {
			dp := e.directPoster()
			to, text := e.Users[0], "Countermeasure 1 of INC-7 is due tomorrow."
			for range 2 {
				if _, err := dp.PostDirect(e.ctx, "effect-7", to, text); err != nil {
					e.t.Fatalf("PostDirect = %v", err)
				}
			}
			if n := len(e.dms(to)); n != 1 {
				e.t.Errorf("PostDirect twice with one key sent %d messages, want one", n)
			}
		}},

		{string(OpArchive), "archives the channel", func(e *env) {
			ch := e.channel("inc-7-archive")
			if err := e.Chat.Archive(e.ctx, ch); err != nil {
				e.t.Fatalf("Archive = %v", err)
			}
			if !e.chanState(ch).Archived {
				e.t.Errorf("channel not archived")
			}
		}},
		{string(OpArchive), "again is fine", func(e *env) {
			ch := e.channel("inc-7-archive")
			for range 2 {
				if err := e.Chat.Archive(e.ctx, ch); err != nil {
					e.t.Fatalf("Archive = %v", err)
				}
			}
			if !e.chanState(ch).Archived {
				e.t.Errorf("channel not archived")
			}
		}},
	}
	return append(cs, failureChecks()...)
}

// longDocument spools a write-up of lines, about n bytes long, that says
// where the whole of it is.
func longDocument(t *testing.T, n int) (*workflows.Document, string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("# INC-7: Checkout is down\n\n")
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "| 10:%02d:%02d | alice | checked the pool on payments-api pod %d |\n", i/60%60, i%60, i%40)
	}
	text := b.String()
	doc, err := workflows.SpoolDocument(t.TempDir(), func(w io.Writer) error {
		_, err := io.WriteString(w, text)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	doc.Whole = "`debrief export INC-7`"
	t.Cleanup(func() { doc.Close() })
	return doc, text
}
