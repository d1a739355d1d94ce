package github

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFromEnv: the GITHUB_* variables, and the users file, are read and
// checked in one place, with errors that name the variable (and the line).
func TestFromEnv(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	good := write("good.txt", "# comment\n\nslack:U024BE7LH octocat\nconsole:bob @hubot\n")
	c, err := fromEnv(env(map[string]string{"GITHUB_TOKEN": "x", "GITHUB_REPO": "acme/ops", "GITHUB_USERS_FILE": good, "GITHUB_POSTMORTEM_PATH": "/pm/"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Logins["slack:U024BE7LH"] != "octocat" || c.Logins["console:bob"] != "hubot" || c.ReconcileEvery != 10*time.Minute || c.PostmortemPath != "pm" {
		t.Errorf("fromEnv = %+v", c)
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"GITHUB_TOKEN": "x"}, "GITHUB_REPO is not"},
		{map[string]string{"GITHUB_REPO": "just-a-name"}, "GITHUB_REPO"},
		{map[string]string{"GITHUB_REPO": "acme/ops"}, "GITHUB_REPO is set but GITHUB_TOKEN is not"},
		{map[string]string{"GITHUB_WEBHOOK_SECRET": "s"}, "GITHUB_WEBHOOK_SECRET is set but GITHUB_TOKEN is not"},
		{map[string]string{"GITHUB_API_URL": "api.github.com"}, "GITHUB_API_URL"},
		{map[string]string{"GITHUB_USERS_FILE": filepath.Join(dir, "missing")}, "GITHUB_USERS_FILE"},
		{map[string]string{"GITHUB_USERS_FILE": write("bad1.txt", "U024BE7LH octocat\n")}, "line 1"},
		{map[string]string{"GITHUB_USERS_FILE": write("bad2.txt", "slack:U1 -bad-\n")}, "line 1"},
		{map[string]string{"GITHUB_USERS_FILE": write("bad3.txt", "\nslack:U1 a b\n")}, "line 2"},
		{map[string]string{"GITHUB_RECONCILE_EVERY": "10s"}, "GITHUB_RECONCILE_EVERY"},
	} {
		if _, err := fromEnv(env(tc.env)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("fromEnv(%v) = %v, want an error naming %q", tc.env, err, tc.want)
		}
	}
}
