package web

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
)

// browser starts headless Chromium for t. Without one it skips, saying
// how to get one, except in CI (CI set), where .ci/run installs Debian's
// chromium and the browser tests must run.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("DEBRIEF_CHROME")
	if path == "" {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
			if p, err := exec.LookPath(name); err == nil {
				path = p
				break
			}
		}
	}
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no browser found, and CI must run the browser tests: apt-get install -y chromium (as .ci/run does)")
		}
		t.Skip("no browser found (chromium, google-chrome or DEBRIEF_CHROME): apt-get install -y chromium to run the browser tests")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.WindowSize(1280, 900))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	// Generous: on a loaded CI machine the browser alone can take a
	// minute to start.
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelT(); cancel(); cancelA() })
	return ctx
}

func run[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// navigate runs an action that loads another page (a click on a link, a
// form's submit) and waits for that page's load event: a wait for an
// element alone could find it on the page being left.
func navigate(t *testing.T, ctx context.Context, what string, a chromedp.Action[chromedp.Void]) {
	t.Helper()
	loaded := chromedp.Events(ctx, page.LoadEventFired)
	if err := chromedp.Do(ctx, a); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	for _, err := range loaded {
		if err != nil {
			t.Fatalf("%s: waiting for the page: %v", what, err)
		}
		return
	}
	t.Fatalf("%s: no page loaded", what)
}

func do(t *testing.T, ctx context.Context, what string, as ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, as...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// TestBrowser reads the archive the way a person does, in Chromium: the
// list, a filter, an incident with its key event, a search that links to
// the moment in the timeline, the zone picker, the stats' charts, and a
// chat message full of markup that stays text and runs nothing.
func TestBrowser(t *testing.T) {
	ctx := browser(t)
	a, _ := fixture(t)
	history(t, a)
	base := a.http.URL
	shots := os.Getenv("DEBRIEF_SCREENSHOTS")
	shoot := func(name string) {
		if shots == "" {
			return
		}
		// Quality 100 is chromedp's PNG; any other is a JPEG, which the
		// README's .png files held before.
		png := run(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
		if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
			t.Fatalf("screenshot %s is not a PNG", name)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The list, newest first.
	do(t, ctx, "open the list", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("table.incidents")))
	list := run(t, ctx, "read the list", chromedp.Text(chromedp.CSS("table.incidents tbody")))
	for _, id := range []string{"INC-1", "INC-2", "INC-3"} {
		if !strings.Contains(list, id) {
			t.Errorf("the list lacks %s:\n%s", id, list)
		}
	}
	shoot("list")

	// Filter by severity with the form.
	do(t, ctx, "pick SEV1", chromedp.SetValue(chromedp.CSS(`select[name="sev"]`), "1"))
	navigate(t, ctx, "filter SEV1", chromedp.Click(chromedp.CSS("#filter")))
	loc := run(t, ctx, "location", chromedp.Location())
	list = run(t, ctx, "read the filtered list", chromedp.Text(chromedp.CSS("table.incidents tbody")))
	if !strings.Contains(loc, "sev=1") || !strings.Contains(list, "INC-1") || strings.Contains(list, "INC-2") || strings.Contains(list, "INC-3") {
		t.Errorf("filtered by SEV1 at %s:\n%s", loc, list)
	}

	// Open the incident: its timeline shows, the key event highlighted.
	navigate(t, ctx, "open INC-1", chromedp.Click(chromedp.CSS(`a[href="/incidents/INC-1"]`)))
	key := run(t, ctx, "key event", chromedp.Text(chromedp.CSS("ol.timeline li.key_event")))
	if !strings.Contains(key, "failover started by hand") {
		t.Errorf("key event = %q", key)
	}
	bg := run(t, ctx, "key event style", chromedp.Evaluate[string](`getComputedStyle(document.querySelector('li.key_event')).backgroundColor`))
	plain := run(t, ctx, "plain entry style", chromedp.Evaluate[string](`getComputedStyle(document.querySelector('li.message')).backgroundColor`))
	if bg == plain {
		t.Errorf("the key event is not highlighted: background %s, like a message's", bg)
	}
	// The message full of markup is text, and nothing of it ran.
	text := run(t, ctx, "timeline", chromedp.Text(chromedp.CSS("ol.timeline")))
	if !strings.Contains(text, "<script>alert(1)</script><img src=x onerror=alert(2)>") {
		t.Errorf("the markup message is not shown as typed:\n%s", text)
	}
	injected := run(t, ctx, "count injected elements", chromedp.Evaluate[int](`document.querySelectorAll('main script, main img').length`))
	if injected != 0 {
		t.Errorf("%d script or img elements made it into the page", injected)
	}
	shoot("incident")

	// The zone picker changes the times shown, and remembers.
	before := run(t, ctx, "declared time", chromedp.Text(chromedp.CSS("ol.timeline li time")))
	do(t, ctx, "pick Tokyo", chromedp.SetValue(chromedp.CSS("#tz"), "Asia/Tokyo"))
	navigate(t, ctx, "set the zone", chromedp.Click(chromedp.CSS("#tz-set")))
	after := run(t, ctx, "declared time in Tokyo", chromedp.Text(chromedp.CSS("ol.timeline li time")))
	if before == after || !strings.Contains(after, "JST") || !strings.Contains(before, "UTC") {
		t.Errorf("time before the zone change %q, after %q; want UTC then JST", before, after)
	}
	do(t, ctx, "reload", chromedp.Navigate(base+"/incidents/INC-1"), chromedp.WaitVisible(chromedp.CSS("ol.timeline")))
	if again := run(t, ctx, "time after reload", chromedp.Text(chromedp.CSS("ol.timeline li time"))); again != after {
		t.Errorf("after reload the time is %q, want %q (the zone is remembered)", again, after)
	}

	// A search finds a word said in the timeline and links to that moment.
	do(t, ctx, "type a search", chromedp.SetValue(chromedp.CSS(`header input[name="q"]`), "replication"))
	navigate(t, ctx, "search", chromedp.Submit(chromedp.CSS(`header input[name="q"]`)))
	mark := run(t, ctx, "highlight", chromedp.Text(chromedp.CSS("ol.hits mark")))
	if !strings.EqualFold(mark, "replication") {
		t.Errorf("highlight = %q", mark)
	}
	navigate(t, ctx, "follow the hit", chromedp.Click(chromedp.CSS(`ol.hits a[href$="#e-2"]`)))
	target := run(t, ctx, "target", chromedp.Evaluate[string](`(document.querySelector(':target')||{}).id || location.hash`))
	said := run(t, ctx, "target text", chromedp.Evaluate[string](`(document.querySelector(':target')||{}).textContent || ''`))
	if target != "e-2" || !strings.Contains(said, "replication lag is 40s") {
		t.Errorf("the hit led to %q (%q), want e-2, the message", target, said)
	}

	// The stats page draws its charts.
	do(t, ctx, "stats", chromedp.Navigate(base+"/stats"), chromedp.WaitVisible(chromedp.CSS("svg.bars")))
	charts := run(t, ctx, "charts", chromedp.Evaluate[int](`document.querySelectorAll('svg.bars').length`))
	bars := run(t, ctx, "bars", chromedp.Evaluate[int](`document.querySelectorAll('svg.bars rect').length`))
	// By severity, by kind, and the weak signals.
	if charts != 3 || bars == 0 {
		t.Errorf("stats shows %d charts with %d bars, want 3 with bars", charts, bars)
	}
	// Every time on it is in the zone picked, the signals' too.
	quiet := run(t, ctx, "quiet signals", chromedp.Text(chromedp.CSS("table.quiet tbody")))
	if !strings.Contains(quiet, "HighDiskUsage") || !strings.Contains(quiet, "JST") {
		t.Errorf("the quiet signals' table, read in Tokyo:\n%s", quiet)
	}
	shoot("stats")
}

// history gives the fixture the past a team's archive has, so that the
// screenshots show lists and charts with something in them: closed
// incidents (none SEV1, and fewer than ten in all, so that the filter's
// checks by ID hold) spread over the weeks since, near misses, and an
// alert that keeps firing without ever becoming an incident.
func history(t *testing.T, a *archive) {
	t.Helper()
	past := []struct {
		title string
		sev   bot.Severity
		kind  bot.Kind
		days  int // after the fixture's, and before the server's now
		tag   string
	}{
		{"Checkout latency over 2 s", bot.SEV2, bot.KindReal, 3, "checkout"},
		{"Queue consumers stuck after deploy", bot.SEV3, bot.KindReal, 8, "queue"},
		{"Game day: region evacuation", bot.SEV2, bot.KindDrill, 12, "dr"},
		{"Login errors for EU users", bot.SEV2, bot.KindReal, 17, "auth"},
		{"Disk full on the metrics host", bot.SEV4, bot.KindReal, 22, "disk"},
		{"Near miss: backups pointed at prod", bot.SEV3, bot.KindNearMiss, 27, "db"},
	}
	for i, h := range past {
		inc := a.declare(h.title, h.sev, h.kind, h.tag)
		at := t0.AddDate(0, 0, h.days)
		inc.StartedAt, inc.DetectedAt, inc.AcknowledgedAt, inc.DeclaredAt = at.Add(-25*time.Minute), at.Add(-10*time.Minute), at.Add(-5*time.Minute), at
		inc.MitigatedAt, inc.ResolvedAt, inc.ClosedAt = at.Add(35*time.Minute), at.Add(time.Duration(50+25*i)*time.Minute), at.AddDate(0, 0, 2)
		inc.Status = bot.StatusClosed
		inc.Postmortem = bot.Postmortem{HeldAt: at.AddDate(0, 0, 1)}
		inc.Countermeasures = []bot.Countermeasure{{N: 1, Text: "Alert earlier on " + h.tag, Owner: grace, Due: bot.DateOf(at.AddDate(0, 0, 14)), State: bot.CMDone, DoneAt: at.AddDate(0, 0, 10)}}
		a.put(inc)
	}
	err := a.store.Update(context.Background(), func(tx store.Tx) error {
		for i, weeks := range []int{8, 5, 3, 1} {
			at := t0.AddDate(0, 0, -7*weeks)
			if err := tx.PutNearMiss(store.NearMiss{ID: fmt.Sprintf("NM-%d", i+1), Number: i + 1, Text: "a deploy almost went to the wrong region", Reporter: ada, At: at, RecordedAt: at}); err != nil {
				return err
			}
		}
		var fires []time.Time
		for d := 0; d < 70; d += 3 {
			fires = append(fires, t0.AddDate(0, 0, -d))
		}
		return tx.PutSignal(store.Signal{Key: "disk-db3", Name: "HighDiskUsage", Labels: map[string]string{"instance": "db-3"}, Count: len(fires), Fires: fires, FirstAt: fires[len(fires)-1], LastAt: fires[0], LastStart: fires[0]})
	})
	if err != nil {
		t.Fatal(err)
	}
	a.index()
}
