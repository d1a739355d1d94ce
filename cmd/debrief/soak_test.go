//go:build soak

package main

// The soak test: the real binary under N senders for a while, with random
// SIGKILLs, Slack 500 and 429 storms and hangs, GitHub outages and, when
// running as root, a full disk. It is behind the soak build tag and run by
// .ci/soak; RELIABILITY.md has the figures of the last run.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/github/githubtest"
	"github.com/debrief/debrief/adapters/slack/slacktest"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store/bolt/bolttest"
	"github.com/debrief/debrief/workflows"
)

// soakEnv reads a setting of the soak run.
func soakEnv(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// soakBox is the binary and what it talks to, restartable.
type soakBox struct {
	t     *testing.T
	env   map[string]string
	slack *slacktest.Server
	base  atomic.Pointer[string] // the running process's http://addr
	mu    sync.Mutex
	p     *proc
}

func (b *soakBox) start() {
	b.t.Helper()
	p := startProc(b.t, b.env)
	u := "http://" + p.stderr.match(b.t, listenRe)
	b.mu.Lock()
	b.p = p
	b.mu.Unlock()
	b.base.Store(&u)
}

func (b *soakBox) kill() {
	b.mu.Lock()
	p := b.p
	b.mu.Unlock()
	_ = p.cmd.Process.Kill()
	<-p.done
}

// post sends a signed Slack request to the running process; 0 when the
// connection failed (the process was being killed).
func (b *soakBox) post(path, ctype string, body []byte) int {
	req, err := http.NewRequest(http.MethodPost, *b.base.Load()+path, bytes.NewReader(body))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", ctype)
	slacktest.SetHeaders(req.Header, b.slack.SigningSecret, body)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (b *soakBox) command(channel, text string) int {
	return b.post("/slack/commands", "application/x-www-form-urlencoded", []byte(url.Values{
		"user_id": {"U0ALICE"}, "user_name": {"alice"}, "channel_id": {channel}, "command": {"/incident"}, "text": {text},
		"trigger_id": {fmt.Sprint(time.Now().UnixNano(), ".soak")},
	}.Encode()))
}

func (b *soakBox) message(channel, ts, text string) int {
	body, _ := json.Marshal(map[string]any{
		"type": "event_callback", "event_id": "Ev" + ts, "team_id": b.slack.TeamID,
		"event": map[string]any{"type": "message", "channel": channel, "user": "U0ALICE", "text": text, "ts": ts},
	})
	return b.post("/slack/events", "application/json", body)
}

// SoakReport is what a run measured.
type SoakReport struct {
	Senders, Seconds, Kills, SlackStorms, Slack429, SlackHangs, GitHubOutages int
	Sent, Acked, Stored, Lost, Duplicated                                     int
	Countermeasures, IssuesFiledTwice, PostsDeliveredTwice                    int
	DiskFull                                                                  string
	Check                                                                     string
}

func TestSoak(t *testing.T) {
	senders := soakEnv("SOAK_SENDERS", 12)
	seconds := soakEnv("SOAK_SECONDS", 120)
	killEvery := time.Duration(soakEnv("SOAK_KILL_EVERY_MS", 4000)) * time.Millisecond
	rep := SoakReport{Senders: senders, Seconds: seconds}

	fake := slacktest.New()
	t.Cleanup(fake.Close)
	fake.AddUser(slacktest.User{ID: "U0ALICE", Name: "alice", DisplayName: "alice", TZ: "UTC"})
	gh := githubtest.New(t, githubtest.Config{})
	var ghDown atomic.Bool
	gh.Inject(func(r *http.Request) githubtest.Fault {
		if ghDown.Load() {
			return githubtest.Fail500
		}
		return githubtest.None
	})
	dir := t.TempDir()
	b := &soakBox{t: t, slack: fake, env: map[string]string{
		"DEBRIEF_DB": filepath.Join(dir, "debrief.db"), "DEBRIEF_ADDR": "127.0.0.1:0",
		"SLACK_BOT_TOKEN": fake.BotToken, "SLACK_SIGNING_SECRET": fake.SigningSecret, "SLACK_API_URL": fake.APIURL(),
		"GITHUB_TOKEN": gh.Config().Token, "GITHUB_REPO": gh.Config().Owner + "/" + gh.Config().Repo, "GITHUB_API_URL": gh.URL,
		"HOME": dir,
	}}
	b.start()
	if code := b.command(fake.General(), "declare Soak test sev3"); code != 200 {
		t.Fatalf("declare = %d", code)
	}
	var ch string
	for deadline := time.Now().Add(30 * time.Second); ch == ""; {
		for _, c := range fake.Channels() {
			if strings.HasPrefix(c.Name, "inc-1-") {
				ch = c.ID
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the incident channel was never created")
		}
		time.Sleep(50 * time.Millisecond) // polling a separate process's effect
	}

	// Senders: each message is sent until acknowledged (as Slack
	// retries), up to 5 times; the acknowledged ones must be stored
	// exactly once.
	var (
		seq          atomic.Int64
		sent, nacked atomic.Int64
		ackMu        sync.Mutex
		acked        = map[string]bool{}
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				n := seq.Add(1)
				ts := fmt.Sprintf("1772442000.%06d", n)
				text := fmt.Sprintf("soak s%d n%d", s, n)
				sent.Add(1)
				for try := 0; try < 5; try++ {
					if b.message(ch, ts, text) == 200 {
						ackMu.Lock()
						acked[text] = true
						ackMu.Unlock()
						break
					}
					if try == 4 {
						nacked.Add(1)
					}
					time.Sleep(time.Duration(50*(try+1)) * time.Millisecond) // a sender's backoff, like Slack's
				}
				if i%200 == 0 {
					// Now and then a countermeasure, filed on GitHub
					// through the outbox.
					b.command(ch, fmt.Sprintf("action soak fix %d @alice due 2027-01-01", n))
				}
			}
		})
	}

	// Chaos: a random fault every killEvery on average.
	end := time.Now().Add(time.Duration(seconds) * time.Second)
	for time.Now().Before(end) {
		time.Sleep(time.Duration(rand.Int64N(int64(killEvery))) + killEvery/2)
		switch rand.IntN(5) {
		case 0, 1:
			b.kill()
			rep.Kills++
			b.start()
		case 2:
			rep.SlackStorms++
			fake.Inject(slacktest.Fault{Status: 500, Times: -1})
			time.Sleep(2 * time.Second)
			fake.ClearFaults()
			rep.Slack429++
			fake.Inject(slacktest.Fault{Status: 429, RetryAfter: 1, Times: -1})
			time.Sleep(2 * time.Second)
			fake.ClearFaults()
		case 3:
			rep.SlackHangs++
			fake.Hang("*")
			time.Sleep(3 * time.Second)
			fake.Unhang()
		case 4:
			rep.GitHubOutages++
			ghDown.Store(true)
			time.Sleep(3 * time.Second)
			ghDown.Store(false)
		}
	}
	close(stop)
	wg.Wait()

	// Let the outbox catch up, then stop.
	time.Sleep(15 * time.Second)
	b.mu.Lock()
	p := b.p
	b.mu.Unlock()
	_ = p.cmd.Process.Signal(os.Interrupt)
	<-p.done

	db := bolttest.OpenPath(t, b.env["DEBRIEF_DB"])
	rep.Check = "ok"
	if err := db.Check(); err != nil {
		rep.Check = err.Error()
		t.Errorf("consistency check: %v", err)
	}
	var tl []bot.TimelineEvent
	var inc *bot.Incident
	if err := db.View(context.Background(), func(tx workflowsReadTx) error {
		var err error
		if inc, err = tx.Incident("INC-1"); err != nil {
			return err
		}
		tl, err = tx.Timeline("INC-1")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	stored := map[string]int{}
	for _, ev := range tl {
		if strings.HasPrefix(ev.Text, "soak s") {
			stored[ev.Text]++
		}
	}
	rep.Sent, rep.Acked, rep.Stored = int(sent.Load()), len(acked), len(stored)
	for text := range acked {
		if stored[text] == 0 {
			rep.Lost++
		}
	}
	for _, n := range stored {
		if n > 1 {
			rep.Duplicated++
		}
	}
	rep.Countermeasures = len(inc.Countermeasures)
	perKey := map[string]int{}
	for _, is := range gh.Issues() {
		if k, ok := workflows.IssueKey(is.Body); ok {
			perKey[k]++
		}
	}
	for _, n := range perKey {
		if n > 1 {
			rep.IssuesFiledTwice++
		}
	}
	posts := map[string]int{}
	for _, m := range fake.Messages(ch) {
		if strings.Contains(m.Text, "is filed:") {
			posts[m.Text]++
		}
	}
	for _, n := range posts {
		if n > 1 {
			rep.PostsDeliveredTwice++
		}
	}
	rep.DiskFull = soakDiskFull(t, b)

	out, _ := json.MarshalIndent(rep, "", "  ")
	t.Logf("soak report:\n%s", out)
	if f := os.Getenv("SOAK_REPORT"); f != "" {
		_ = os.WriteFile(f, out, 0o644)
	}
	if rep.Lost != 0 || rep.Duplicated != 0 || rep.IssuesFiledTwice != 0 {
		t.Errorf("lost %d, duplicated %d, issues filed twice %d: want none", rep.Lost, rep.Duplicated, rep.IssuesFiledTwice)
	}
}

// soakDiskFull runs the binary on a small tmpfs until the disk is full:
// no event is acknowledged that is not stored, /healthz says not ready,
// and once the disk grows everything acknowledged is there. It needs root
// (mount); otherwise it says why it was skipped.
func soakDiskFull(t *testing.T, b *soakBox) string {
	if os.Geteuid() != 0 {
		return "skipped: not root (mount needs it)"
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt).CombinedOutput(); err != nil {
		return fmt.Sprintf("skipped: mount tmpfs: %v %s", err, out)
	}
	defer exec.Command("umount", "-l", mnt).Run()
	env := map[string]string{}
	for k, v := range b.env {
		env[k] = v
	}
	env["DEBRIEF_DB"] = filepath.Join(mnt, "debrief.db")
	full := &soakBox{t: t, slack: b.slack, env: env}
	full.start()
	if code := full.command(b.slack.General(), "declare Disk full sev3"); code != 200 {
		return fmt.Sprintf("failed: declare = %d", code)
	}
	var ch string
	for deadline := time.Now().Add(30 * time.Second); ch == "" && time.Now().Before(deadline); {
		for _, c := range b.slack.Channels() {
			if strings.HasPrefix(c.Name, "inc-1-disk-full") {
				ch = c.ID
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	acked, refused := map[string]bool{}, 0
	big := strings.Repeat("x", 4000)
	for n := 0; n < 2000 && refused < 20; n++ {
		text := fmt.Sprintf("full n%d %s", n, big)
		if full.message(ch, fmt.Sprintf("1772443000.%06d", n), text) == 200 {
			acked[text] = true
		} else {
			refused++
		}
	}
	resp, err := http.Get(*full.base.Load() + "/healthz")
	health := "?"
	if err == nil {
		health = resp.Status
		resp.Body.Close()
	}
	// More room: everything acknowledged is there, and writes go on.
	if out, err := exec.Command("mount", "-o", "remount,size=64m", mnt).CombinedOutput(); err != nil {
		return fmt.Sprintf("failed: remount: %v %s", err, out)
	}
	ok := full.message(ch, "1772443999.000001", "after the disk grew") == 200
	full.mu.Lock()
	p := full.p
	full.mu.Unlock()
	_ = p.cmd.Process.Signal(os.Interrupt)
	<-p.done
	db := bolttest.OpenPath(t, env["DEBRIEF_DB"])
	var tl []bot.TimelineEvent
	_ = db.View(context.Background(), func(tx workflowsReadTx) error {
		var err error
		tl, err = tx.Timeline("INC-1")
		return err
	})
	have := map[string]bool{}
	for _, ev := range tl {
		have[ev.Text] = true
	}
	lost := 0
	for text := range acked {
		if !have[text] {
			lost++
		}
	}
	if lost > 0 || refused == 0 {
		t.Errorf("full disk: %d acknowledged events lost, %d refused", lost, refused)
	}
	return fmt.Sprintf("1 MiB tmpfs: %d acknowledged, %d refused (5xx), healthz while full %q, %d acknowledged lost, write after growing ok=%v",
		len(acked), refused, health, lost, ok)
}
