package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/slack/slacktest"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/store/etcd"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// freePort returns a loopback port free at the time of the call.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// replica is one debrief process of the cluster under test.
type replica struct {
	name    string
	env     map[string]string
	p       *proc
	base    string // http://host:port
	members string // its etcd member's client URL
	dead    atomic.Bool
	calls   *callLog // its calls to Slack
}

var clientsRe = regexp.MustCompile(`clients on (http://[0-9.:]+)`)

// callLog stands between one replica and the fake Slack and notes when
// that replica made a delivery (a call that posts or changes something),
// so that a test can tell which replica delivered.
type callLog struct {
	mu      sync.Mutex
	at      []time.Time
	methods []string
}

func (c *callLog) proxy(target string) http.Handler {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := path.Base(r.URL.Path)
		if strings.HasPrefix(m, "chat.") || strings.HasPrefix(m, "pins.") || strings.HasPrefix(m, "files.") ||
			m == "conversations.setTopic" || m == "conversations.create" || m == "conversations.invite" || m == "conversations.archive" {
			c.mu.Lock()
			c.at = append(c.at, time.Now())
			c.methods = append(c.methods, m)
			c.mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	})
}

// between counts the deliveries made from from to to.
func (c *callLog) between(from, to time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, at := range c.at {
		if !at.Before(from) && !at.After(to) {
			n++
		}
	}
	return n
}

// remindAt sets the status reminder of incident id due at due, straight
// in the cluster through the member at members, as the incident's
// declaration would have, only sooner.
func remindAt(t *testing.T, members, id string, due time.Time) {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{members}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cli.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := etcd.Open(ctx, cli)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(ctx, func(tx store.Tx) error {
		return tx.PutReminder(store.Reminder{Key: id + "/" + string(store.RemindStatus), IncidentID: id, Kind: store.RemindStatus, Due: due})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// reminders counts the reminders posted in a channel.
func reminders(fake *slacktest.Server, channel string) int {
	n := 0
	for _, m := range fake.Messages(channel) {
		if strings.HasPrefix(m.Text, "Reminder: ") {
			n++
		}
	}
	return n
}

// link is a TCP proxy in front of one member's peer port: the other
// members reach it through the link only. Etcd's members talk both ways
// over connections either side opens (a stream is read by the member that
// dialed it; a pipeline posts to the one dialed), so a partition of member
// m takes its link down and has the other links refuse what m dials: the
// link reads the sender from the first request's X-PeerURLs header (etcd
// names the sending member's peer URL in every request). No root needed.
type link struct {
	ln     net.Listener
	url    string // the member's peer URL: the link's address
	target string

	mu      sync.Mutex
	down    bool
	blocked map[string]bool     // senders refused, by peer URL
	conns   map[net.Conn]string // open connections and their sender
}

func newLink(t *testing.T, target string) *link {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &link{ln: ln, url: "http://" + ln.Addr().String(), target: target, blocked: map[string]bool{}, conns: map[net.Conn]string{}}
	t.Cleanup(func() { _ = ln.Close(); l.set(true, nil) })
	go l.serve()
	return l
}

func (l *link) addr() string { return l.ln.Addr().String() }

var peerURLsRe = regexp.MustCompile(`(?im)^X-Peerurls: *([^\r\n,]+)`)

func (l *link) serve() {
	for {
		in, err := l.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			// The first request's head names the sender.
			_ = in.SetReadDeadline(time.Now().Add(2 * time.Second))
			br := bufio.NewReader(in)
			var head []byte
			for !bytes.HasSuffix(head, []byte("\r\n\r\n")) && len(head) < 64<<10 {
				line, err := br.ReadSlice('\n')
				head = append(head, line...)
				if err != nil {
					_ = in.Close()
					return
				}
			}
			_ = in.SetReadDeadline(time.Time{})
			from := ""
			if m := peerURLsRe.FindSubmatch(head); m != nil {
				from = string(m[1])
			}
			out, err := net.DialTimeout("tcp", l.target, time.Second)
			if err != nil {
				_ = in.Close()
				return
			}
			if !l.track(from, in, out) {
				_ = in.Close()
				_ = out.Close()
				return
			}
			go func() {
				_, _ = out.Write(head)
				_, _ = io.Copy(out, br)
				_ = out.Close()
			}()
			_, _ = io.Copy(in, out)
			_ = in.Close()
		}()
	}
}

// track notes a proxied connection from sender from, unless the link is
// down or refuses it.
func (l *link) track(from string, cs ...net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.down || l.blocked[from] {
		return false
	}
	for _, c := range cs {
		l.conns[c] = from
	}
	return true
}

// set takes the link down or up, and refuses what senders in blocked
// send, closing what it refuses.
func (l *link) set(down bool, blocked map[string]bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.down = down
	l.blocked = blocked
	for c, from := range l.conns {
		if down || blocked[from] {
			_ = c.Close()
			delete(l.conns, c)
		}
	}
}

// partition cuts member m off from the others (heal: false joins it
// back).
func partition(links map[string]*link, m string, cut bool) {
	for n, l := range links {
		if n == m {
			l.set(cut, nil)
		} else if cut {
			l.set(false, map[string]bool{links[m].url: true})
		} else {
			l.set(false, nil)
		}
	}
}

// balancer spreads requests over the replicas round robin, as a load
// balancer in front of them would. A replica that does not answer gets a
// 502 back to the sender, which, like Slack, delivers again.
type balancer struct {
	reps []*replica
	next atomic.Uint64
}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var rep *replica
	for range len(b.reps) {
		rep = b.reps[b.next.Add(1)%uint64(len(b.reps))]
		if !rep.dead.Load() {
			break
		}
	}
	u, _ := url.Parse(rep.base)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) }
	rp.ServeHTTP(w, r)
}

type healthJSON struct {
	Ready  bool `json:"ready"`
	Leader bool `json:"leader"`
}

func health(base string) (healthJSON, bool) {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(base + "/healthz")
	if err != nil {
		return healthJSON{}, false
	}
	defer resp.Body.Close()
	var h healthJSON
	return h, json.NewDecoder(resp.Body).Decode(&h) == nil
}

// leader waits until exactly one live replica says it leads, and returns it.
func leaderOf(t *testing.T, reps []*replica) *replica {
	t.Helper()
	var found *replica
	poll(t, "one leader among the replicas", func() bool {
		found = nil
		n := 0
		for _, r := range reps {
			if r.dead.Load() {
				continue
			}
			if h, ok := health(r.base); ok && h.Leader {
				found = r
				n++
			}
		}
		return n == 1
	})
	return found
}

// TestFailover runs three debrief processes, each with an embedded etcd
// member, behind a round-robin balancer; sends a load of signed Slack
// messages over all three; SIGKILLs the leader mid-load; and checks that
// every acknowledged message is in the timeline exactly once (RPO 0), that
// commands are answered and their effects delivered again within 10 s
// (RTO, logged), that a reminder due across the kill (and one due across
// the pause of the leader) fires once, that reads answer and writes are
// refused without a quorum, that a paused leader makes no delivery once
// resumed, and that no effect was delivered twice.
func TestFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	fake := slacktest.New()
	defer fake.Close()
	fake.AddUser(slacktest.User{ID: "U0ALICE", Name: "alice", DisplayName: "alice", TZ: "UTC"})

	// Each member listens on a port of its own, and the others reach it
	// through a link the test can cut.
	names := []string{"a", "b", "c"}
	var peers []string
	links := map[string]*link{}
	listen := map[string]string{}
	for _, n := range names {
		port := freePort(t)
		links[n] = newLink(t, fmt.Sprintf("127.0.0.1:%d", port))
		listen[n] = fmt.Sprintf("http://127.0.0.1:%d", port)
		peers = append(peers, fmt.Sprintf("%s=http://%s", n, links[n].addr()))
	}
	var reps []*replica
	for _, n := range names {
		env := map[string]string{
			"DEBRIEF_DB":             filepath.Join(t.TempDir(), "debrief.db"),
			"DEBRIEF_ADDR":           "127.0.0.1:0",
			"DEBRIEF_CLUSTER_NAME":   n,
			"DEBRIEF_CLUSTER_PEERS":  strings.Join(peers, ","),
			"DEBRIEF_CLUSTER_LISTEN": listen[n],
			"SLACK_BOT_TOKEN":        fake.BotToken,
			"SLACK_SIGNING_SECRET":   fake.SigningSecret,
		}
		calls := &callLog{}
		px := httptest.NewServer(calls.proxy(strings.TrimSuffix(fake.APIURL(), "/api/")))
		defer px.Close()
		env["SLACK_API_URL"] = px.URL + "/api/"
		reps = append(reps, &replica{name: n, env: env, p: startProc(t, env), calls: calls})
	}
	for _, r := range reps {
		r.base = "http://" + r.p.stderr.match(t, listenRe)
		r.members = r.p.stderr.match(t, clientsRe)
	}
	lb := &balancer{reps: reps}
	front := httptest.NewServer(lb)
	defer front.Close()
	fake.Target(front.URL)
	first := leaderOf(t, reps)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d, err := fake.Command(ctx, "U0ALICE", fake.General(), "declare Checkout is down sev2")
	if err != nil {
		t.Fatal(err)
	}
	if _, text, err := fake.Answer(ctx, d); err != nil || !strings.HasPrefix(text, "Declared INC-1") {
		t.Fatalf("declare = %d %q, %v", d.Status, text, err)
	}
	// A second incident, whose status reminder the test sets due across
	// the kill and the pause; nothing else touches it.
	d, err = fake.Command(ctx, "U0ALICE", fake.General(), "declare Queue backlog sev3")
	if err != nil {
		t.Fatal(err)
	}
	if _, text, err := fake.Answer(ctx, d); err != nil || !strings.HasPrefix(text, "Declared INC-2") {
		t.Fatalf("declare = %d %q, %v", d.Status, text, err)
	}
	var ch, ch2 slacktest.Channel
	// The topic is set once the channel is recorded as the incident's:
	// from then on messages said there are its timeline.
	poll(t, "the incident channels with their topics", func() bool {
		var ok, ok2 bool
		ch, ok = fake.ChannelByName("inc-1-checkout-is-down")
		ch2, ok2 = fake.ChannelByName("inc-2-queue-backlog")
		return ok && ch.Topic != "" && ok2 && ch2.Topic != ""
	})

	// The load: one sender, as fast as acknowledgements come, each
	// message delivered again until acknowledged, as Slack does.
	const total = 400
	var acked []string
	killAt := make(chan struct{})
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		for i := range total {
			if i == total/3 {
				close(killAt)
			}
			text := fmt.Sprintf("m-%03d", i)
			if say(ctx, t, fake, ch.ID, text) {
				acked = append(acked, text)
			}
		}
	}()

	<-killAt
	// Due a second from now: the leader is dead by then, and the next
	// one, elected after the lease (3 s), must fire it, once.
	remindAt(t, reps[(slices.Index(reps, first)+1)%3].members, "INC-2", time.Now().Add(time.Second))
	if err := first.p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	first.dead.Store(true)

	// RTO: a command answered (sev 1, through whichever replica the
	// balancer picks), and its effect (the channel's topic) delivered by
	// the next leader.
	var rto time.Duration
	for k := 0; ; k++ {
		if time.Since(killed) > 30*time.Second {
			t.Fatalf("the severity change was not answered and delivered within 30 s of killing the leader; topic %q", topic(fake, ch.ID))
		}
		d, err := fake.Command(ctx, "U0ALICE", ch.ID, "sev 1")
		if err == nil && d.Status == http.StatusOK {
			_, text := d.Reply()
			t.Logf("sev 1 answered %v after the kill: %q", time.Since(killed).Round(time.Millisecond), text)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	poll(t, "the SEV1 topic", func() bool { return strings.HasPrefix(topic(fake, ch.ID), "INC-1 | SEV1") })
	rto = time.Since(killed)
	second := leaderOf(t, reps)
	t.Logf("RTO: %v from SIGKILL of leader %s to the severity change delivered by leader %s", rto.Round(10*time.Millisecond), first.name, second.name)
	if rto > 10*time.Second {
		t.Errorf("RTO %v, want under 10 s", rto)
	}
	<-loadDone
	poll(t, "the reminder due across the kill", func() bool { return reminders(fake, ch2.ID) >= 1 })
	t.Logf("the reminder due across the kill posted %v after it", time.Since(killed).Round(10*time.Millisecond))

	// The killed replica comes back with its data and rejoins.
	first.p = startProc(t, first.env)
	first.base = "http://" + first.p.stderr.match(t, listenRe)
	first.members = first.p.stderr.match(t, clientsRe)
	poll(t, "the restarted replica ready", func() bool {
		h, ok := health(first.base)
		return ok && h.Ready
	})
	first.dead.Store(false)
	for i := range 30 {
		if say(ctx, t, fake, ch.ID, fmt.Sprintf("back-%02d", i)) {
			acked = append(acked, fmt.Sprintf("back-%02d", i))
		}
	}

	// The leader partitioned from the others: the link into its member
	// cut (what it sends still leaves; no answer, heartbeat or vote comes
	// back), a real partition on loopback. It cannot reach a quorum and
	// must not acknowledge; its reads still answer, from its member's
	// copy; the two others elect a leader among them. Once the link is
	// back, the redelivery is stored, once.
	alone := leaderOf(t, reps)
	partition(links, alone.name, true)
	for _, r := range reps {
		r.dead.Store(r != alone) // the balancer sends to it alone
	}
	cutAt := time.Now()
	_, d, err = fake.Say(ctx, "U0ALICE", ch.ID, "said without a quorum")
	id := fake.LastEventID()
	t.Logf("partitioned: %s answered %v %d after %v", alone.name, err, d.Status, time.Since(cutAt).Round(time.Millisecond))
	if err == nil && d.Status == http.StatusOK {
		t.Errorf("replica %s, partitioned, acknowledged an event without a quorum", alone.name)
	}
	if h, ok := health(alone.base); ok && h.Ready {
		t.Errorf("replica %s, partitioned, says it is ready", alone.name)
	}
	// Reads still answer, from the member's own copy.
	var local timelineJSON
	poll(t, "the timeline read without a quorum", func() bool {
		// Every page, from the first: the route pages at most 1000.
		local = timelineJSON{}
		c := http.Client{Timeout: 3 * time.Second}
		for after := ""; ; {
			resp, err := c.Get(alone.base + "/api/incidents/INC-1/timeline?limit=1000&after=" + after)
			if err != nil {
				return false
			}
			var page timelineJSON
			err = json.NewDecoder(resp.Body).Decode(&page)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || err != nil {
				return false
			}
			local.Entries = append(local.Entries, page.Entries...)
			if !page.More {
				return true
			}
			after = page.Next
		}
	})
	// A command that only reads answers too: it makes no replay record,
	// which would need the quorum (workflows.ChangesNothing).
	poll(t, "/incident timeline answered without a quorum", func() bool {
		d, err := fake.Command(ctx, "U0ALICE", ch.ID, "timeline")
		if err != nil || d.Status != http.StatusOK {
			return false
		}
		_, text := d.Reply()
		return strings.Contains(text, "Timeline of INC-1")
	})
	msgs := 0
	for _, e := range local.Entries {
		if e.Kind == "message" {
			msgs++
		}
		if e.Text == "said without a quorum" {
			t.Error("the message refused without a quorum is in the timeline read without one")
		}
	}
	t.Logf("partitioned: the timeline read from %s's copy has %d messages (%d acknowledged so far)", alone.name, msgs, len(acked))
	if msgs < len(acked) {
		t.Errorf("the timeline read without a quorum has %d messages, want the %d acknowledged", msgs, len(acked))
	}
	for _, r := range reps {
		r.dead.Store(r == alone)
	}
	t.Logf("partitioned: %s leads the two others %v after the cut", leaderOf(t, reps).name, time.Since(cutAt).Round(10*time.Millisecond))
	partition(links, alone.name, false)
	alone.dead.Store(false)
	poll(t, "the redelivery acknowledged once the partition heals", func() bool {
		d, err := fake.Redeliver(ctx, id)
		return err == nil && d.Status == http.StatusOK
	})
	acked = append(acked, "said without a quorum")

	// The leader paused (SIGSTOP), as a leader cut off from the others
	// looks to them: another takes over and delivers; resumed, the old
	// one finds its lease gone and stops leading.
	paused := leaderOf(t, reps)
	// Due a second from now: the paused leader cannot fire it, the next
	// one must, and the paused one, resumed, must not again.
	remindAt(t, reps[(slices.Index(reps, paused)+1)%3].members, "INC-2", time.Now().Add(time.Second))
	if err := paused.p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	paused.dead.Store(true)
	pausedAt := time.Now()
	next := leaderOf(t, reps)
	for {
		d, err := fake.Command(ctx, "U0ALICE", ch.ID, "sev 2")
		if err == nil && d.Status == http.StatusOK {
			break
		}
		if time.Since(pausedAt) > 30*time.Second {
			t.Fatalf("sev 2 not answered within 30 s of pausing the leader: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	poll(t, "the SEV2 topic from the next leader", func() bool { return strings.HasPrefix(topic(fake, ch.ID), "INC-1 | SEV2") })
	t.Logf("leader %s paused: %s delivered the next effect after %v", paused.name, next.name, time.Since(pausedAt).Round(10*time.Millisecond))
	if err := paused.p.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	resumed := time.Now()
	poll(t, "the resumed former leader stepping down", func() bool {
		h, ok := health(paused.base)
		return ok && !h.Leader
	})
	steppedDown := time.Now()
	paused.dead.Store(false)
	t.Logf("the resumed former leader stepped down within %v", steppedDown.Sub(resumed).Round(10*time.Millisecond))
	// Between its resume and its stepping down it still thought it led:
	// its lease, by its own clock, had run out, so it delivered nothing.
	if n := paused.calls.between(resumed, steppedDown); n != 0 {
		t.Errorf("the resumed former leader made %d deliveries before it stepped down", n)
	}
	poll(t, "the reminder due across the pause", func() bool { return reminders(fake, ch2.ID) >= 2 })
	t.Logf("the reminder due across the pause posted %v after it", time.Since(pausedAt).Round(10*time.Millisecond))
	// One leader again (leadership may have moved since: a lease that
	// lapses on a loaded machine is handed over, fenced, like any other).
	t.Logf("leader after the resume: %s", leaderOf(t, reps).name)

	// RPO 0: every acknowledged message is stored, once.
	var survivor *replica
	for _, r := range reps {
		if !r.dead.Load() {
			survivor = r
		}
	}
	tl, body := apiTimeline(t, survivor.base, "INC-1", "")
	count := map[string]int{}
	for _, e := range tl.Entries {
		if e.Kind == "message" {
			count[e.Text]++
		}
	}
	for _, text := range acked {
		if count[text] != 1 {
			t.Errorf("acknowledged %s stored %d times", text, count[text])
		}
	}
	for text, n := range count {
		if n > 1 {
			t.Errorf("%s stored %d times", text, n)
		}
	}
	t.Logf("%d messages acknowledged, %d stored", len(acked), len(count))
	if len(acked) < total*9/10 {
		t.Errorf("only %d of %d messages acknowledged", len(acked), total)
	}
	if t.Failed() {
		t.Logf("timeline: %.2000s", body)
	}

	// No effect twice: one channel, each status update posted once.
	n := 0
	for _, c := range fake.Channels() {
		if strings.HasPrefix(c.Name, "inc-1-") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d incident channels created, want 1", n)
	}
	seen := map[string]int{}
	for _, m := range fake.Messages(ch.ID) {
		seen[m.Text]++
	}
	for text, n := range seen {
		if n > 1 {
			t.Errorf("message posted %d times: %q", n, text)
		}
	}
	// Two reminders came due (across the kill, across the pause): two
	// posted, whoever led.
	if n := reminders(fake, ch2.ID); n != 2 {
		t.Errorf("%d reminders posted in %s, want 2 (one per reminder due)", n, ch2.Name)
		for _, m := range fake.Messages(ch2.ID) {
			t.Logf("in %s at %s: %q", ch2.Name, m.TS, m.Text)
		}
		for _, r := range reps {
			r.calls.mu.Lock()
			for i, at := range r.calls.at {
				t.Logf("%s called %s at %s", r.name, r.calls.methods[i], at.Format("15:04:05.000"))
			}
			r.calls.mu.Unlock()
		}
	}
}

func topic(fake *slacktest.Server, id string) string {
	c, _ := fake.Channel(id)
	return c.Topic
}

// say delivers a message, and again until acknowledged, as Slack does; it
// reports whether it was.
func say(ctx context.Context, t *testing.T, fake *slacktest.Server, channel, text string) bool {
	t.Helper()
	_, d, err := fake.Say(ctx, "U0ALICE", channel, text)
	id := fake.LastEventID()
	for tries := 0; (err != nil || d.Status != http.StatusOK) && tries < 200 && ctx.Err() == nil; tries++ {
		time.Sleep(20 * time.Millisecond) // Slack's retry, compressed
		d, err = fake.Redeliver(ctx, id)
	}
	return err == nil && d.Status == http.StatusOK
}
