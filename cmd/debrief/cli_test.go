package main

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/debrief/debrief/store/bolt/bolttest"
	"go.etcd.io/bbolt"
)

// TestVersionFlag: -version and --version print what `version` prints, and
// without -X main.version the version comes from the build information.
func TestVersionFlag(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"-version"}, {"--version"}, {"serve", "--version"}} {
		out, err := runQuick(t, map[string]string{"DEBRIEF_TZ": "nowhere"}, args...)
		if err != nil || !strings.HasPrefix(out, "debrief dev") {
			t.Errorf("run(%q) = %q, %v; want the version", args, out, err)
		}
	}
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	if got, want := fromBuildInfo(bi), "v1.4.0 (rev 0123456789ab, 2026-12-01T10:00:00Z, modified) go1.26.8"; got != want {
		t.Errorf("fromBuildInfo = %q, want %q", got, want)
	}
	if got := fromBuildInfo(&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}); got != "dev" {
		t.Errorf("fromBuildInfo of a devel build with no VCS = %q, want dev", got)
	}
}

// TestUsageErrorsExit2: a command line that cannot be understood exits 2
// with one "debrief: " prefix; a bad configuration exits 1.
func TestUsageErrorsExit2(t *testing.T) {
	env := map[string]string{"DEBRIEF_DB": filepath.Join(t.TempDir(), "x.db"), "DEBRIEF_ADDR": "127.0.0.1:0"}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-nope"}, 2, "debrief: flag provided but not defined: -nope: run 'debrief help' for usage\n"},
		{[]string{"frobnicate"}, 2, "debrief: unknown command \"frobnicate\": run 'debrief help' for usage\n"},
		{[]string{"export"}, 2, "debrief: export takes one incident ID, e.g. export INC-1: run 'debrief help' for usage\n"},
		{[]string{"-addr", "localhost", "serve"}, 2, "debrief: -addr=\"localhost\": want host:port"},
		{[]string{"export", "INC-1"}, 1, "debrief: DEBRIEF_DB="},
	} {
		code, _, stderr := runBinary(t, env, tc.args...)
		if code != tc.code || !strings.HasPrefix(stderr, tc.want) {
			t.Errorf("debrief %q = exit %d, %q; want exit %d, %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
	if code, out, _ := runBinary(t, env, "--version"); code != 0 || out != "debrief "+testVersion+"\n" {
		t.Errorf("--version = %d %q", code, out)
	}
}

// TestValidateBeforeOpen: a bad or taken address stops serve before the
// database file is created.
func TestValidateBeforeOpen(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, tc := range []struct{ addr, want string }{
		{"localhost", `DEBRIEF_ADDR="localhost": want host:port`},
		{"127.0.0.1:http-ish", "want host:port"},
		{taken.Addr().String(), "DEBRIEF_ADDR=" + taken.Addr().String()},
	} {
		db := filepath.Join(t.TempDir(), "debrief.db")
		_, err := runQuick(t, map[string]string{"DEBRIEF_DB": db, "DEBRIEF_ADDR": tc.addr})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("serve on %q = %v, want %q", tc.addr, err, tc.want)
		}
		if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("serve on %q created the database (%v)", tc.addr, err)
		}
	}
}

// TestHealthcheck: `debrief healthcheck` asks GET /healthz on
// DEBRIEF_ADDR, fine on 200, an error with the reason otherwise.
func TestHealthcheck(t *testing.T) {
	status, reason := http.StatusOK, "ok"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(reason + "\n"))
	}))
	defer srv.Close()
	env := map[string]string{"DEBRIEF_ADDR": strings.TrimPrefix(srv.URL, "http://")}
	if out, err := runQuick(t, env, "healthcheck"); err != nil || !strings.Contains(out, "/healthz: ok") {
		t.Errorf("healthcheck of a healthy server = %q, %v", out, err)
	}
	status, reason = http.StatusServiceUnavailable, "slack: not connected yet"
	if _, err := runQuick(t, env, "healthcheck"); err == nil || !strings.Contains(err.Error(), "503 Service Unavailable: slack: not connected yet") {
		t.Errorf("healthcheck of an unready server = %v, want the status and reason", err)
	}
	srv.Close()
	if code, _, stderr := runBinary(t, env, "healthcheck"); code != 1 || !strings.Contains(stderr, "healthcheck") {
		t.Errorf("healthcheck with no server = exit %d, %q; want exit 1", code, stderr)
	}
}

// TestBackupUnauthorizedHint: a server that refuses the backup for want of
// the token says which variable to set.
func TestBackupUnauthorizedHint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "debrief.db")
	bolttest.OpenPath(t, path) // held, as by a running server
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"code": "unauthorized", "error": "missing bearer token"}`))
	}))
	defer srv.Close()
	env := map[string]string{"DEBRIEF_DB": path, "DEBRIEF_ADDR": strings.TrimPrefix(srv.URL, "http://")}
	_, err := runQuick(t, env, "backup", filepath.Join(t.TempDir(), "b.db"))
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "set DEBRIEF_API_TOKEN") {
		t.Errorf("backup refused with 401 = %v, want a hint to set DEBRIEF_API_TOKEN", err)
	}
	env["DEBRIEF_API_TOKEN"] = "wrong"
	_, err = runQuick(t, env, "backup", filepath.Join(t.TempDir(), "b.db"))
	if err == nil || !strings.Contains(err.Error(), "DEBRIEF_API_TOKEN is not the server's token") {
		t.Errorf("backup with a wrong token = %v, want a hint that it is wrong", err)
	}
}

// TestLogFormatAndLevel: DEBRIEF_LOG_FORMAT=json writes JSON lines, and
// DEBRIEF_LOG_LEVEL=debug shows the debug lines (an effect delivered);
// bad values are refused naming the variable.
func TestLogFormatAndLevel(t *testing.T) {
	env := map[string]string{
		"DEBRIEF_DB": filepath.Join(t.TempDir(), "debrief.db"), "DEBRIEF_ADDR": "127.0.0.1:0", "USER": "alice",
		"DEBRIEF_LOG_FORMAT": "json", "DEBRIEF_LOG_LEVEL": "debug",
	}
	p := startProc(t, env)
	p.stderr.expect(t, `"msg":"listening"`)
	p.send(t, "/incident declare db down")
	p.stderr.expect(t, `"level":"DEBUG","msg":"effect delivered"`)
	p.send(t, "/quit")
	if code := p.wait(t); code != 0 {
		t.Errorf("exit after /quit = %d", code)
	}
	for _, kv := range [][2]string{{"DEBRIEF_LOG_FORMAT", "xml"}, {"DEBRIEF_LOG_LEVEL", "loud"}} {
		_, err := LoadConfig(getenv(map[string]string{kv[0]: kv[1]}))
		if err == nil || !strings.Contains(err.Error(), kv[0]) {
			t.Errorf("%s=%s: %v, want an error naming it", kv[0], kv[1], err)
		}
	}
}

// TestSecondSignalExits: a second SIGTERM during a shutdown that is stuck
// ends the process at once with 130, as it must when debrief is PID 1 in a
// container, where the kernel ignores signals the process does not handle.
// The shutdown is held by a backup download that the client stopped
// reading: the server waits for it, up to shutdownGrace.
func TestSecondSignalExits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "debrief.db")
	padDatabase(t, path, 64<<20) // more than the sockets' buffers hold
	env := map[string]string{"DEBRIEF_DB": path, "DEBRIEF_ADDR": "127.0.0.1:0"}
	p := startProc(t, env)
	addr := p.stderr.match(t, listenRe)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /api/backup HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(conn, make([]byte, 1024)); err != nil {
		t.Fatal(err) // the download has started; now it is not read
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.stderr.expect(t, "shutting down")
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code := p.wait(t)
	if d := time.Since(start); code != 130 || d > shutdownGrace-time.Second {
		t.Errorf("after the second signal: exit %d after %s; want 130 at once (the stuck shutdown has %s)", code, d, shutdownGrace)
	}
	p.stderr.expect(t, "second signal")
}

// padDatabase makes a debrief database of about size bytes: the store's
// own buckets, and a bucket debrief does not read holding the padding.
func padDatabase(t *testing.T, path string, size int) {
	t.Helper()
	bolttest.Close(t, bolttest.OpenPath(t, path))
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	chunk := make([]byte, 1<<20)
	err = db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("test-padding"))
		if err != nil {
			return err
		}
		for i := 0; i < size/len(chunk); i++ {
			if err := b.Put([]byte(strconv.Itoa(i)), chunk); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
