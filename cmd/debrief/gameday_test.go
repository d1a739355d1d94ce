package main

import (
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/gameday/gamedaytest"
)

// TestGamedayInProcess runs serve with the chaos hook configured: a game
// day scheduled in the console is listed by GET /api/gamedays, and a
// drill's inject reaches the fake chaos tool signed with
// DEBRIEF_GAMEDAY_SECRET, through the wiring serve builds.
func TestGamedayInProcess(t *testing.T) {
	tool := gamedaytest.New(t, "chaos-s3cret", time.Now)
	env := map[string]string{
		"DEBRIEF_DB": filepath.Join(t.TempDir(), "debrief.db"), "DEBRIEF_ADDR": "127.0.0.1:0", "DEBRIEF_API_TOKEN": token, "USER": "alice",
		"DEBRIEF_GAMEDAY_HOOK": tool.URL, "DEBRIEF_GAMEDAY_SECRET": "chaos-s3cret",
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

	day := time.Now().UTC().Add(48 * time.Hour).Format("2006-01-02")
	send("/incident gameday schedule " + day + " 10:00 UTC Primary DB failover hypothesis: checkout keeps working")
	stdout.expect(t, "[#general] debrief: [DRILL] Scheduled game day GD-1: Primary DB failover, at "+day+" 10:00 UTC for 1h.")
	status, body := get(t, base+"/api/gamedays", token)
	var list struct {
		Gamedays []struct{ ID, State string } `json:"gamedays"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Gamedays) != 1 ||
		list.Gamedays[0].ID != "GD-1" || list.Gamedays[0].State != "scheduled" {
		t.Errorf("GET /api/gamedays = %d %s", status, body)
	}
	if status, _ := get(t, base+"/api/gamedays", ""); status != 401 {
		t.Errorf("GET /api/gamedays without the token = %d, want 401", status)
	}

	send(`/incident declare "Cache eviction" drill`)
	stdout.expect(t, "* joined #inc-1-drill-cache-eviction")
	send("/incident gameday inject")
	stdout.expect(t, "Injection of INC-1 recorded")
	wctx, wcancel := context.WithTimeout(ctx, waitFor)
	defer wcancel()
	reqs, err := tool.Wait(wctx, 1) // serve's outbox delivers on its own goroutine
	if err != nil || len(reqs) != 1 || reqs[0].Action != "inject" || reqs[0].Drill != "INC-1" || !strings.HasPrefix(reqs[0].Delivery, "INC-1/inject/") {
		t.Errorf("the tool got %+v, %v (refused: %q)", reqs, err, tool.Refused())
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run = %v", err)
		}
	case <-time.After(waitFor):
		t.Fatal("run did not return")
	}
}
