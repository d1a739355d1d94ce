package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/github/githubtest"
)

// TestGitHubInProcess runs debrief with GITHUB_* pointed at the fake GitHub:
// a countermeasure typed in the console becomes an issue assigned through
// the users file, its link comes back to the channel, a signed webhook
// closing it thanks the owner (an unsigned one is refused), and the close
// of the incident commits its write-up.
func TestGitHubInProcess(t *testing.T) {
	fake := githubtest.New(t, githubtest.Config{})
	fc := fake.Config()
	dir := t.TempDir()
	users := filepath.Join(dir, "users.txt")
	if err := os.WriteFile(users, []byte("# chat user -> GitHub login\nconsole:bob octocat\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	secret := "webhook-secret"
	env := map[string]string{
		"DEBRIEF_DB": filepath.Join(dir, "debrief.db"), "DEBRIEF_ADDR": "127.0.0.1:0", "USER": "alice",
		"DEBRIEF_CLOSE_WITHOUT_REVIEW": "SEV4",
		"GITHUB_TOKEN":                 fc.Token, "GITHUB_REPO": fc.Owner + "/" + fc.Repo, "GITHUB_API_URL": fake.URL,
		"GITHUB_WEBHOOK_SECRET": secret, "GITHUB_POSTMORTEM_PATH": "postmortems/", "GITHUB_USERS_FILE": users,
	}
	inR, inW := io.Pipe()
	defer inW.Close()
	stdout, stderr := newLineLog(), newLineLog()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"debrief"}, getenv(env), inR, stdout, stderr) }()
	hook := "http://" + stderr.match(t, listenRe) + "/github/webhook"
	send := func(line string) {
		if _, err := io.WriteString(inW, line+"\n"); err != nil {
			t.Fatalf("write %q: %v", line, err)
		}
	}

	send("/incident declare Disk full sev4")
	stdout.expect(t, "* joined #inc-1-disk-full")
	due := time.Now().AddDate(0, 1, 0).Format(time.DateOnly)
	send("/incident action Be more careful with disks @bob due " + due)
	stdout.expect(t, "is not a countermeasure")
	send("/incident action Add an alert at 80% disk @bob due " + due)
	stdout.expect(t, "Countermeasure #1 of INC-1 is filed: "+fake.IssueURL(1))
	is, ok := fake.Issue(1)
	if !ok || is.Title != "[INC-1] Add an alert at 80% disk" || !slices.Equal(is.Assignees, []string{"octocat"}) ||
		!slices.Equal(is.Labels, []string{"countermeasure", "SEV4", "INC-1"}) || !strings.Contains(is.Body, "Due: "+due) {
		t.Fatalf("issue = %+v", is)
	}

	fake.Update(1, func(is *githubtest.Issue) { is.State = "closed" })
	d := fake.IssueEvent("closed", 1, "octocat")
	if code, err := githubtest.Send(ctx, hook, nil, d); err != nil || code != 401 {
		t.Errorf("unsigned webhook = %d, %v; want 401", code, err)
	}
	if code, err := githubtest.Send(ctx, hook, []byte(secret), d); err != nil || code != 200 {
		t.Fatalf("signed webhook = %d, %v; want 200", code, err)
	}
	stdout.expect(t, "Thank you @bob: countermeasure #1 of INC-1 is done")

	send("/incident resolve")
	send("/incident close")
	stdout.expect(t, "INC-1 is closed.")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run = %v", err)
		}
	case <-time.After(waitFor):
		t.Fatalf("run did not return within %s of cancel", waitFor)
	}
	// Published by the worker, or at the latest by the drain at shutdown.
	if h := fake.FileHistory("postmortems/INC-1.md"); len(h) != 1 || !strings.Contains(h[0].Content, "# INC-1: Disk full") {
		t.Errorf("published write-up = %+v", h)
	}
	if strings.Contains(stderr.String(), fc.Token) || strings.Contains(stderr.String(), secret) {
		t.Errorf("the log shows a secret:\n%s", stderr.String())
	}
}
