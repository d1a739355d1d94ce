package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// waitFor bounds every wait on observable output. Tests poll what the
// program prints, never sleep and hope.
const waitFor = 20 * time.Second

// lineLog is an io.Writer that keeps what was written as lines and lets a
// test wait for a line to appear. It never blocks the writer: a console that
// cannot print would stall the outbox and with it the shutdown.
type lineLog struct {
	mu      sync.Mutex
	lines   []string
	partial []byte
	changed chan struct{} // closed and replaced on every new line
	cursor  int           // expect searches from here
}

func newLineLog() *lineLog { return &lineLog{changed: make(chan struct{})} }

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	grew := false
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, string(l.partial[:i]))
		l.partial = l.partial[i+1:]
		grew = true
	}
	if grew {
		close(l.changed)
		l.changed = make(chan struct{})
	}
	return len(p), nil
}

// Lines returns the complete lines so far; a line cut short (the process
// was killed mid-write) is not among them.
func (l *lineLog) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

func (l *lineLog) String() string { return strings.Join(l.Lines(), "\n") }

// wait blocks until match returns true for the lines so far, or fails the
// test after waitFor.
func (l *lineLog) wait(t *testing.T, what string, match func(lines []string) bool) {
	t.Helper()
	deadline := time.NewTimer(waitFor)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		ok := match(l.lines)
		ch := l.changed
		l.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("no %s within %s; output so far:\n%s", what, waitFor, l.String())
		}
	}
}

// expect waits for a line containing want after the previous match, and
// returns it.
func (l *lineLog) expect(t *testing.T, want string) string {
	t.Helper()
	var got string
	l.wait(t, "line containing "+want, func(lines []string) bool {
		for i := l.cursor; i < len(lines); i++ {
			if strings.Contains(lines[i], want) {
				got, l.cursor = lines[i], i+1
				return true
			}
		}
		return false
	})
	return got
}

// expectEach waits until every one of wants is in a line after the
// previous match, in any order, and moves past the last of them: for lines
// printed by two goroutines (a command's reply and the outbox worker's
// delivery of its effects) whose order is the scheduler's.
func (l *lineLog) expectEach(t *testing.T, wants ...string) {
	t.Helper()
	l.wait(t, "lines containing "+strings.Join(wants, " and "), func(lines []string) bool {
		last := l.cursor
		for _, want := range wants {
			found := false
			for i := l.cursor; i < len(lines); i++ {
				if strings.Contains(lines[i], want) {
					found, last = true, max(last, i+1)
					break
				}
			}
			if !found {
				return false
			}
		}
		l.cursor = last
		return true
	})
}

// match waits for a line matching re anywhere and returns its first group.
func (l *lineLog) match(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	var got string
	l.wait(t, "line matching "+re.String(), func(lines []string) bool {
		for _, line := range lines {
			if m := re.FindStringSubmatch(line); m != nil {
				got = m[1]
				return true
			}
		}
		return false
	})
	return got
}

var listenRe = regexp.MustCompile(`msg=listening addr=(\S+)`)

// getenv turns a map into run's getenv.
func getenv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// timelineJSON is what GET /api/incidents/{id}/timeline answers.
type timelineJSON struct {
	IncidentID string `json:"incident_id"`
	Next       string `json:"next"`
	More       bool   `json:"more"`
	Entries    []struct {
		Kind   string `json:"kind"`
		Author struct {
			Platform string `json:"platform"`
			ID       string `json:"id"`
			Name     string `json:"name"`
		} `json:"author"`
		Text string    `json:"text"`
		At   time.Time `json:"at"`
	} `json:"entries"`
}

// apiTimeline fetches an incident's whole timeline through the JSON API,
// page after page, failing the test unless each answers 200 with a
// timeline; it returns the bodies too, for messages.
func apiTimeline(t *testing.T, base, id, token string) (timelineJSON, string) {
	t.Helper()
	var all timelineJSON
	var bodies strings.Builder
	after := ""
	for {
		status, body := get(t, base+"/api/incidents/"+id+"/timeline?limit=1000&after="+after, token)
		if status != 200 {
			t.Fatalf("GET timeline = %d %s", status, body)
		}
		var tl timelineJSON
		if err := json.Unmarshal([]byte(body), &tl); err != nil {
			t.Fatalf("timeline: %v in %s", err, body)
		}
		bodies.WriteString(body)
		all.IncidentID = tl.IncidentID
		all.Entries = append(all.Entries, tl.Entries...)
		if !tl.More {
			return all, bodies.String()
		}
		after = tl.Next
	}
}

// get fetches url with the bearer token, if any, and returns the status and
// body.
func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// The binary is built once per test run, for the tests that need a real
// process: signals, SIGKILL, a second process on a locked file.
var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

const testVersion = "v0.0.0-e2e"

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		// go test runs with the toolchain's bin directory on PATH.
		goTool, err := exec.LookPath("go")
		if err != nil {
			binErr = err
			return
		}
		binDir, binErr = os.MkdirTemp("", "debrief-e2e-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "debrief")
		cmd := exec.Command(goTool, "build", "-o", binPath, "-ldflags", "-X main.version="+testVersion, ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = &buildError{err: err, out: string(out)}
		}
	})
	if binErr != nil {
		t.Fatalf("build debrief: %v", binErr)
	}
	return binPath
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// proc is the debrief binary running as a child process.
type proc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *lineLog
	stderr *lineLog
	done   chan struct{}
	err    error // set when done is closed
}

// envList renders env for exec; nothing is inherited, so the developer's
// own DEBRIEF_* or USER cannot change what the test sees.
func envList(env map[string]string) []string {
	var list []string
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	return list
}

// startProc runs the binary with args. The process is killed at cleanup if
// the test did not stop it, and after a generous bound in any case.
func startProc(t *testing.T, env map[string]string, args ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Env = envList(env)
	p := &proc{cmd: cmd, stdout: newLineLog(), stderr: newLineLog(), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-p.done
		if t.Failed() {
			t.Logf("debrief %s stderr:\n%s", strings.Join(args, " "), p.stderr.String())
		}
	})
	return p
}

func (p *proc) send(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		t.Fatalf("write %q: %v", line, err)
	}
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(waitFor):
		t.Fatalf("debrief did not exit within %s; stderr:\n%s", waitFor, p.stderr.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

// runBinary runs a short subcommand to completion and returns its exit
// code, stdout and stderr. The context bounds it: a hang is a failure, not
// a stuck CI job.
func runBinary(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Env = envList(env)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("debrief %s did not finish within %s", strings.Join(args, " "), waitFor)
	}
	if err != nil && cmd.ProcessState == nil {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}
