package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store/bolt/bolttest"
)

const token = "t0ken"

// lifecycle drives the console through an incident: declare, messages from
// two people, a severity change, resolve, and a close the bot refuses
// because the post-mortem has not happened.
func lifecycle(t *testing.T, send func(string), out *lineLog) {
	t.Helper()
	send(`/incident declare "Checkout is down" sev2`)
	// The channel is an outbox effect: wait until it exists and the
	// declarer was moved into it. The outbox worker may print that before
	// the console prints the command's reply (a loaded machine does), so
	// either order passes.
	out.expectEach(t, "[#general] debrief: Declared INC-1: Checkout is down (SEV2).", "* joined #inc-1-checkout-is-down")
	send("payments API returns 502 since 09:12")
	send("/who bob")
	out.expect(t, "* you are now @bob")
	send("I see it too, rolling back the deploy")
	send("/who alice")
	out.expect(t, "* you are now @alice")
	send("/incident sev 1")
	out.expect(t, "[#inc-1-checkout-is-down] debrief: INC-1 is now SEV1 (was SEV2).")
	send("/incident resolve rolled back to v41")
	out.expect(t, "INC-1 is resolved.")
	send("/incident close")
	out.expect(t, "[#inc-1-checkout-is-down] debrief: Cannot close INC-1:")
	out.expect(t, "- the post-mortem meeting has not been scheduled")
	out.expect(t, "- the post-mortem meeting has not been marked held")
}

// checkTimeline reads INC-1's timeline through the API, with and without
// the token.
func checkTimeline(t *testing.T, base string) {
	t.Helper()
	tl, _ := apiTimeline(t, base, "INC-1", token)
	var got []string
	for i, e := range tl.Entries {
		if e.At.IsZero() || (i > 0 && e.At.Before(tl.Entries[i-1].At)) {
			t.Errorf("entry %d at %v: want a time, oldest first", i, e.At)
		}
		got = append(got, e.Kind+" "+e.Author.ID+" "+e.Text)
	}
	want := []string{
		`lifecycle alice declared INC-1 "Checkout is down" (SEV2, real); commander @alice`,
		"bot_action debrief opened channel #inc-1-checkout-is-down on console",
		"message alice payments API returns 502 since 09:12",
		"message bob I see it too, rolling back the deploy",
		"severity alice severity SEV2 -> SEV1",
		"lifecycle alice resolved: rolled back to v41",
	}
	if tl.IncidentID != "INC-1" || !slices.Equal(got, want) {
		t.Errorf("timeline of %s =\n%s\nwant\n%s", tl.IncidentID, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	if status, body := get(t, base+"/api/incidents/INC-1/timeline", ""); status != 401 || !strings.Contains(body, `"code":"unauthorized"`) {
		t.Errorf("timeline without the token = %d %s, want 401 with a JSON error", status, body)
	}
	if status, body := get(t, base+"/api/incidents/INC-9", token); status != 404 || !strings.Contains(body, `"code":"not_found"`) {
		t.Errorf("unknown incident = %d %s, want 404 not_found", status, body)
	}
	if status, body := get(t, base+"/healthz", ""); status != 200 || strings.TrimSpace(body) != `{"ready":true,"leader":true}` {
		t.Errorf("healthz = %d %q", status, body)
	}
	if status, body := get(t, base+"/metrics", ""); status != 200 ||
		!strings.Contains(body, `debrief_commands_total{code="conflict",verb="close"} 1`) ||
		!strings.Contains(body, `debrief_timeline_events_appended_total 2`) {
		t.Errorf("metrics = %d, want the close refusal and 2 appended messages counted:\n%s", status, body)
	}
}

// TestServeInProcess runs the whole program in this process: the console
// on a pipe, the HTTP server on a free port.
func TestServeInProcess(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "debrief.db")
	env := map[string]string{
		"DEBRIEF_DB": dbPath, "DEBRIEF_ADDR": "127.0.0.1:0", "DEBRIEF_API_TOKEN": token, "USER": "alice",
	}
	inR, inW := io.Pipe()
	stdout, stderr := newLineLog(), newLineLog()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"debrief"}, getenv(env), inR, stdout, stderr) }()
	defer inW.Close()

	base := "http://" + stderr.match(t, listenRe)
	send := func(line string) {
		if _, err := io.WriteString(inW, line+"\n"); err != nil {
			t.Fatalf("write %q: %v", line, err)
		}
	}
	lifecycle(t, send, stdout)
	checkTimeline(t, base)

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run = %v, want nil after a graceful shutdown", err)
		}
	case <-time.After(waitFor):
		t.Fatalf("run did not return within %s of cancel", waitFor)
	}
	// Shut down cleanly means the file is closed and consistent.
	db := bolttest.OpenPath(t, dbPath)
	if err := db.Check(); err != nil {
		t.Error(err)
	}
	// Shutdown drains the outbox while the platform is reachable.
	if n, err := db.OutboxDepth(context.Background()); err != nil || n != 0 {
		t.Errorf("outbox depth after shutdown = %d, %v; want 0", n, err)
	}
}

// TestBinary runs the built binary through the same lifecycle, stops it
// with SIGTERM, and exports the post-mortem Markdown and a backup.
func TestBinary(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		"DEBRIEF_DB": filepath.Join(dir, "debrief.db"), "DEBRIEF_ADDR": "127.0.0.1:0",
		"DEBRIEF_API_TOKEN": token, "USER": "alice",
	}
	p := startProc(t, env)
	base := "http://" + p.stderr.match(t, listenRe)
	lifecycle(t, func(line string) { p.send(t, line) }, p.stdout)
	checkTimeline(t, base)

	// End of input is not the end: a container has no terminal, and the
	// HTTP server keeps serving.
	p.stdin.Close()
	p.stderr.expect(t, "console input closed")
	if status, _ := get(t, base+"/api/incidents/INC-1", token); status != 200 {
		t.Errorf("after end of input, GET incident = %d, want 200", status)
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d, want 0; stderr:\n%s", code, p.stderr.String())
	}
	p.stderr.expect(t, "shutting down")
	p.stderr.expect(t, "msg=stopped")

	env["DEBRIEF_TZ"] = "Europe/Berlin"
	code, md, stderr := runBinary(t, env, "export", "INC-1")
	if code != 0 {
		t.Fatalf("export = %d: %s", code, stderr)
	}
	checkMarkdown(t, md)

	backupPath := filepath.Join(dir, "copy.db")
	if code, out, stderr := runBinary(t, env, "backup", backupPath); code != 0 || !strings.Contains(out, "backed up") {
		t.Fatalf("backup = %d %q %s", code, out, stderr)
	}
	// The copy is a whole database: it exports the same document.
	code, md2, stderr := runBinary(t, env, "-db", backupPath, "export", "INC-1")
	if code != 0 || md2 != md {
		t.Errorf("export from the backup = %d %s, differs from the original:\n%s", code, stderr, md2)
	}

	if code, out, _ := runBinary(t, env, "version"); code != 0 || out != "debrief "+testVersion+"\n" {
		t.Errorf("version = %d %q, want the -X main.version of the build", code, out)
	}
}

func checkMarkdown(t *testing.T, md string) {
	t.Helper()
	for _, want := range []string{
		"# INC-1: Checkout is down\n",
		"| Severity | SEV1 |",
		"| Status | resolved |",
		"| Commander | @alice |",
		"## Summary\n\nrolled back to v41\n",
		"## Timeline (Europe/Berlin)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("export lacks %q:\n%s", want, md)
		}
	}
	// The timeline is in order, in the zone asked for.
	last := -1
	for _, want := range []string{
		`\[lifecycle\] declared INC-1`,
		"**@alice**: payments API returns 502 since 09:12",
		"**@bob**: I see it too, rolling back the deploy",
		`\[severity\] severity SEV2 -> SEV1`,
		`\[lifecycle\] resolved: rolled back to v41`,
	} {
		i := strings.Index(md, want)
		if i < 0 || i < last {
			t.Errorf("export timeline lacks %q after the entry before it:\n%s", want, md)
		}
		last = i
	}
	if !strings.Contains(md, " CET |") && !strings.Contains(md, " CEST |") {
		t.Errorf("export times are not in Europe/Berlin:\n%s", md)
	}
}

// TestCrash SIGKILLs the binary while many messages are being recorded at
// once. Every message it acknowledged must be in the database exactly once
// afterwards, and the file must pass bbolt's consistency check.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test in -short mode")
	}
	dbPath := filepath.Join(t.TempDir(), "debrief.db")
	env := map[string]string{
		"DEBRIEF_DB": dbPath, "DEBRIEF_ADDR": "127.0.0.1:0", "USER": "alice",
		"DEBRIEF_CONSOLE_ACK": "1", "DEBRIEF_CONSOLE_WRITERS": "32",
	}
	p := startProc(t, env)
	p.stderr.match(t, listenRe)
	p.send(t, `/incident declare "Crash test" sev3`)
	p.stdout.expect(t, "* joined #inc-1-crash-test")

	const total, killAfter = 50000, 2000
	go func() {
		// Write errors are expected: the reader dies mid-stream.
		for i := range total {
			if _, err := fmt.Fprintf(p.stdin, "crash message %d\n", i); err != nil {
				return
			}
		}
	}()
	acks := func(lines []string) []string {
		var keys []string
		for _, line := range lines {
			if k, ok := strings.CutPrefix(line, "ack "); ok {
				keys = append(keys, k)
			}
		}
		return keys
	}
	p.stdout.wait(t, fmt.Sprint(killAfter, " acks"), func(lines []string) bool { return len(acks(lines)) >= killAfter })
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	p.wait(t)
	acked := acks(p.stdout.Lines())
	if len(acked) >= total {
		t.Fatalf("all %d messages were acknowledged before the kill: the crash hit nothing", total)
	}
	t.Logf("killed after %d acknowledged messages", len(acked))

	// The lock died with the process: the file opens at once.
	db := bolttest.OpenPath(t, dbPath)
	if err := db.Check(); err != nil {
		t.Fatalf("consistency check after SIGKILL: %v", err)
	}
	var tl []bot.TimelineEvent
	err := db.View(context.Background(), func(tx workflowsReadTx) error {
		var err error
		tl, err = tx.Timeline("INC-1")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]int{}
	texts := map[string]int{}
	for _, ev := range tl {
		if ev.Kind != bot.EventMessage {
			continue
		}
		byID[ev.MessageID]++
		texts[ev.Text]++
	}
	for text, n := range texts {
		if n != 1 {
			t.Errorf("%q stored %d times", text, n)
		}
	}
	seen := map[string]bool{}
	for _, key := range acked {
		if seen[key] {
			t.Errorf("%s acknowledged twice", key)
		}
		seen[key] = true
		seq := key[strings.LastIndexByte(key, '/')+1:]
		if _, err := strconv.Atoi(seq); err != nil {
			t.Fatalf("ack key %q does not end in the message number", key)
		}
		if byID[seq] != 1 {
			t.Errorf("acknowledged %s is stored %d times, want once", key, byID[seq])
		}
		// The dedupe index knows it too: a redelivery is not stored again.
		_, dup, err := db.Append(context.Background(), bot.TimelineEvent{
			IncidentID: "INC-1", Kind: bot.EventMessage, Author: bot.User{Platform: bot.Console, ID: "alice"},
			Text: "redelivered", DedupeKey: key, RecordedAt: time.Now(),
		})
		if err != nil || !dup {
			t.Errorf("Append(%s) again = dup %v, %v; want a duplicate", key, dup, err)
		}
	}
	if len(byID) < len(acked) {
		t.Errorf("%d messages stored, fewer than the %d acknowledged", len(byID), len(acked))
	}
}
