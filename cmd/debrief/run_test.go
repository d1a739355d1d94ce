package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/console"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/store/bolt/bolttest"
	"github.com/debrief/debrief/workflows"
)

// workflowsReadTx shortens the View callbacks in tests.
type workflowsReadTx = store.ReadTx

// runQuick runs a subcommand that must finish on its own.
func runQuick(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	var out strings.Builder
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, append([]string{"debrief"}, args...), getenv(env), strings.NewReader(""), &out, io.Discard)
	}()
	select {
	case err := <-errc:
		return out.String(), err
	case <-ctx.Done():
		t.Fatalf("debrief %s did not return within %s", strings.Join(args, " "), waitFor)
		return "", nil
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	good := map[string]string{"DEBRIEF_DB": filepath.Join(dir, "missing.db")}
	with := func(k, v string) map[string]string {
		env := map[string]string{"DEBRIEF_DB": good["DEBRIEF_DB"], "DEBRIEF_ADDR": "127.0.0.1:0"}
		env[k] = v
		return env
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string // in the error
	}{
		{"unknown command", good, []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown flag", good, []string{"-nope"}, "flag provided but not defined: -nope"},
		{"export without ID", good, []string{"export"}, "export takes one incident ID"},
		{"backup without file", good, []string{"backup"}, "backup takes one file name"},
		{"serve with arguments", good, []string{"serve", "extra"}, "serve takes no arguments"},
		{"bad zone", with("DEBRIEF_TZ", "Mars/Olympus_Mons"), nil, "DEBRIEF_TZ"},
		{"bad cron", with("DEBRIEF_DIGEST_CRON", "every monday"), nil, "DEBRIEF_DIGEST_CRON"},
		{"bad repo", with("GITHUB_REPO", "just-a-name"), nil, "GITHUB_REPO"},
		{"bad url", with("SLACK_API_URL", "slack.com/api"), nil, "SLACK_API_URL"},
		{"bad writers", with("DEBRIEF_CONSOLE_WRITERS", "0"), nil, "DEBRIEF_CONSOLE_WRITERS"},
		{"bad status interval", with("DEBRIEF_STATUS_EVERY", "SEV1=soon"), nil, "DEBRIEF_STATUS_EVERY"},
		{"status interval too short", with("DEBRIEF_STATUS_EVERY", "SEV1=5s"), nil, "DEBRIEF_STATUS_EVERY"},
		{"bad close policy", with("DEBRIEF_CLOSE_WITHOUT_REVIEW", "SEV5"), nil, "DEBRIEF_CLOSE_WITHOUT_REVIEW"},
		{"bad lint mode", with("DEBRIEF_LINT", "sometimes"), nil, "DEBRIEF_LINT"},
		{"bad schedule deadline", with("DEBRIEF_SCHEDULE_WITHIN", "SEV1=tomorrow"), nil, "DEBRIEF_SCHEDULE_WITHIN"},
		{"gameday hook without secret", with("DEBRIEF_GAMEDAY_HOOK", "https://chaos.example/hook"), nil, "DEBRIEF_GAMEDAY_SECRET"},
		{"bad gameday hook", with("DEBRIEF_GAMEDAY_HOOK", "chaos.example/hook"), nil, "DEBRIEF_GAMEDAY_HOOK"},
		{"bad address", map[string]string{"DEBRIEF_DB": filepath.Join(dir, "addr.db"), "DEBRIEF_ADDR": "127.0.0.1:99999"}, nil, "DEBRIEF_ADDR"},
		{"export of a missing database", good, []string{"export", "INC-1"}, "DEBRIEF_DB=" + good["DEBRIEF_DB"]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runQuick(t, tc.env, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run(%q) = %v, want an error naming %q", tc.args, err, tc.want)
			}
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"export", "-h"}} {
		out, err := runQuick(t, nil, args...)
		if err != nil {
			t.Errorf("run(%q) = %v", args, err)
		}
		for _, want := range []string{"serve", "export <INC-n>", "backup <file>", "version", "DEBRIEF_API_TOKEN", "SLACK_BOT_TOKEN", "GET /api/incidents/{id}/timeline"} {
			if !strings.Contains(out, want) {
				t.Errorf("run(%q) usage lacks %q", args, want)
			}
		}
	}
	// version works even when the rest of the configuration is broken.
	out, err := runQuick(t, map[string]string{"DEBRIEF_TZ": "nowhere"}, "version")
	if err != nil || !strings.HasPrefix(out, "debrief dev") {
		t.Errorf("version = %q, %v", out, err)
	}
}

func TestUnknownIncidentExport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "debrief.db")
	bolttest.Close(t, bolttest.OpenPath(t, path))
	_, err := runQuick(t, map[string]string{"DEBRIEF_DB": path}, "export", "INC-4")
	if err == nil || !strings.Contains(err.Error(), `export INC-4: No incident`) {
		t.Errorf("export of an unknown incident = %v, want the user-facing message", err)
	}
}

// TestLockedInProcess: the file is held (here by this very process, which
// flock treats like any other holder); export fails fast with an error that
// says what to do.
func TestLockedInProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "debrief.db")
	bolttest.OpenPath(t, path)
	start := time.Now()
	_, err := runQuick(t, map[string]string{"DEBRIEF_DB": path}, "export", "INC-1")
	if err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Errorf("export of a locked database = %v, want a clear error", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the locked open took %s", d)
	}
}

// TestLockedBinary: a second debrief process on the same file exits
// non-zero with a clear error instead of hanging.
func TestLockedBinary(t *testing.T) {
	env := map[string]string{"DEBRIEF_DB": filepath.Join(t.TempDir(), "debrief.db"), "DEBRIEF_ADDR": "127.0.0.1:0"}
	first := startProc(t, env)
	addr := first.stderr.match(t, listenRe)

	for _, args := range [][]string{{"serve"}, {"export", "INC-1"}} {
		code, _, stderr := runBinary(t, env, args...)
		if code == 0 || !strings.Contains(stderr, "in use by another process (is debrief serve running?)") {
			t.Errorf("second debrief %s = exit %d, stderr %q; want a non-zero exit naming the lock", args[0], code, stderr)
		}
	}
	// backup needs no downtime: it asks the server that holds the lock.
	copyPath := filepath.Join(t.TempDir(), "b.db")
	online := map[string]string{"DEBRIEF_DB": env["DEBRIEF_DB"], "DEBRIEF_ADDR": addr}
	if code, out, stderr := runBinary(t, online, "backup", copyPath); code != 0 || !strings.Contains(out, "backed up http://"+addr) {
		t.Errorf("online backup = exit %d, %q, %q", code, out, stderr)
	} else if err := bolttest.OpenPath(t, copyPath).Check(); err != nil {
		t.Errorf("online backup fails the consistency check: %v", err)
	}
	// With the server's address unknown, the error says what was tried.
	if code, _, stderr := runBinary(t, env, "backup", copyPath+"2"); code == 0 || !strings.Contains(stderr, "held by a running server") {
		t.Errorf("backup with no server to ask = exit %d, %q", code, stderr)
	}
	if code, _, stderr := runBinary(t, env, "frobnicate"); code == 0 || !strings.Contains(stderr, "unknown command") {
		t.Errorf("unknown subcommand = exit %d %q", code, stderr)
	}

	// /quit stops the first one gracefully.
	first.send(t, "/quit")
	if code := first.wait(t); code != 0 {
		t.Errorf("exit code after /quit = %d", code)
	}
}

// TestDrainOutbox: the last pass at shutdown delivers everything due,
// including what a delivery queues (the pin of the posted summary).
func TestDrainOutbox(t *testing.T) {
	db := bolttest.Open(t)
	svc := &workflows.Service{Store: db, Config: workflows.DefaultConfig()}
	out := newLineLog()
	alice := bot.User{Platform: bot.Console, ID: "alice", Name: "alice"}
	con := console.New(svc, strings.NewReader(""), out, alice)
	svc.Chats = map[bot.Platform]workflows.Chat{bot.Console: con}
	ctx := context.Background()
	if r := svc.Execute(ctx, alice, bot.Channel{Platform: bot.Console, ID: "general"}, "declare db down"); r.IncidentID == "" {
		t.Fatalf("declare: %+v", r)
	}
	drainOutbox(ctx, svc, slog.New(slog.DiscardHandler))
	if n, err := db.OutboxDepth(ctx); err != nil || n != 0 {
		t.Errorf("outbox depth after the drain = %d, %v; want 0", n, err)
	}
	out.expect(t, "* joined #inc-1-db-down")
	out.expect(t, "pinned message")
}

// serveBriefly starts serve in-process, waits until it listens, stops it,
// and returns its log.
func serveBriefly(t *testing.T, env map[string]string) string {
	t.Helper()
	env["DEBRIEF_DB"] = filepath.Join(t.TempDir(), "debrief.db")
	stderr := newLineLog()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	inR, inW := io.Pipe()
	defer inW.Close()
	go func() { done <- run(ctx, []string{"debrief"}, getenv(env), inR, io.Discard, stderr) }()
	stderr.match(t, listenRe)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitFor):
		t.Fatalf("run did not return within %s of cancel", waitFor)
	}
	return stderr.String()
}

func TestStartupWarnings(t *testing.T) {
	// The archive beyond loopback needs an auth proxy or the token; with
	// the proxy, the JSON routes are still open, and the log says so.
	log := serveBriefly(t, map[string]string{"DEBRIEF_ADDR": "0.0.0.0:0", "DEBRIEF_WEB_USER_HEADER": "X-Forwarded-Email", "DEBRIEF_TRUSTED_PROXIES": "127.0.0.1"})
	for _, want := range []string{
		`level=WARN msg="listening beyond loopback without DEBRIEF_API_TOKEN`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}

	log = serveBriefly(t, map[string]string{"DEBRIEF_ADDR": "0.0.0.0:0", "DEBRIEF_API_TOKEN": "x"})
	if strings.Contains(log, "level=WARN") {
		t.Errorf("warning with a token set:\n%s", log)
	}
	log = serveBriefly(t, map[string]string{"DEBRIEF_ADDR": "127.0.0.1:0"})
	if strings.Contains(log, "level=WARN") {
		t.Errorf("warning on loopback:\n%s", log)
	}
}

func TestWorkflowsConfig(t *testing.T) {
	cfg, err := LoadConfig(getenv(map[string]string{
		"DEBRIEF_STATUS_EVERY":         "SEV1=5m, sev4=1h,P3=0",
		"DEBRIEF_CLOSE_WITHOUT_REVIEW": "SEV4",
		"DEBRIEF_ADMINS":               "slack:U1, @grace",
		"DEBRIEF_LINT":                 "warn",
		"DEBRIEF_SCHEDULE_WITHIN":      "SEV3=3",
	}))
	if err != nil {
		t.Fatal(err)
	}
	w := workflowsConfig(cfg)
	want := map[bot.Severity]time.Duration{bot.SEV1: 5 * time.Minute, bot.SEV2: 30 * time.Minute, bot.SEV4: time.Hour}
	for sev := bot.SEV1; sev <= bot.SEV4; sev++ {
		if w.StatusEvery[sev] != want[sev] {
			t.Errorf("StatusEvery[%s] = %s, want %s", sev, w.StatusEvery[sev], want[sev])
		}
	}
	if !w.Policy.SkipReview[bot.SEV4] || w.Policy.SkipReview[bot.SEV3] {
		t.Errorf("SkipReview = %v, want SEV4 only", w.Policy.SkipReview)
	}
	if !w.Policy.LintWarnOnly {
		t.Error("DEBRIEF_LINT=warn did not make the lint a warning")
	}
	if w.ScheduleWithin[bot.SEV3] != 3 || w.ScheduleWithin[bot.SEV1] != 2 {
		t.Errorf("ScheduleWithin = %v, want SEV3=3 and the SEV1 default 2", w.ScheduleWithin)
	}
	if !slices.Equal(w.Admins, []string{"slack:U1", "grace"}) {
		t.Errorf("Admins = %q", w.Admins)
	}
	// The defaults are not shared between configs.
	if d := workflows.DefaultConfig().StatusEvery[bot.SEV1]; d != 15*time.Minute {
		t.Errorf("DefaultConfig changed: SEV1 every %s", d)
	}
}
