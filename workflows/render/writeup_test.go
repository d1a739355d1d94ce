package render_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows/render"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var (
	grace = bot.User{Platform: bot.Slack, ID: "U01GRACE", Name: "grace"}
	omar  = bot.User{Platform: bot.Slack, ID: "U02OMAR", Name: "omar"}
	yuki  = bot.User{Platform: bot.Slack, ID: "U03YUKI", Name: "yuki"}
)

// realisticIncident is a SEV2 that ran for two and a half hours across the hour
// boundaries, with n chat messages among the lifecycle events, and edits,
// deletions, files and key events sprinkled through it.
func realisticIncident(n int) (*bot.Incident, []bot.TimelineEvent) {
	t0 := time.Date(2026, 3, 27, 22, 41, 0, 0, time.UTC) // a Friday night, in CET
	inc := &bot.Incident{
		ID: "INC-42", Number: 42, Title: "Checkout returns 502 for card payments", Kind: bot.KindReal,
		Severity: bot.SEV1, Status: bot.StatusClosed, Tags: []string{"payments", "checkout"},
		DeclaredBy: omar, Roles: map[bot.Role]bot.User{bot.Commander: grace, bot.Scribe: yuki, bot.Comms: omar},
		Responders: []bot.User{omar, grace, yuki},
		StartedAt:  t0.Add(-17 * time.Minute), DetectedAt: t0.Add(-6 * time.Minute), DeclaredAt: t0,
		AcknowledgedAt: t0, MitigatedAt: t0.Add(94 * time.Minute), ResolvedAt: t0.Add(151 * time.Minute),
		ClosedAt: t0.Add(6 * 24 * time.Hour),
		Summary:  "A connection-pool limit lowered in the payments config release made card authorisations queue\nand time out behind the gateway's 30 s limit.",
		Impact:   "About 18% of card checkouts failed between 22:24 and 01:12 UTC; PayPal was unaffected.",
		Factors: []string{
			"The pool size was set per pod, and the config review showed the new value without the pod count.",
			"The 502 alert paged on the gateway, two hops away from the pool that was exhausted.",
		},
		Postmortem: bot.Postmortem{
			ScheduledAt: time.Date(2026, 3, 31, 8, 0, 0, 0, time.UTC), Zone: "Europe/Berlin", Duration: time.Hour,
			HeldAt: time.Date(2026, 3, 31, 9, 5, 0, 0, time.UTC), Attendees: []bot.User{grace, omar, yuki},
			Notes: "Walked the timeline. The config diff looked safe at the time: it showed 20, not 20 × 3 pods.\n> omar: the pool dashboard was on a different board",
		},
		Countermeasures: []bot.Countermeasure{
			{N: 1, Text: "Show effective pool size (per pod × replicas) in config review", Owner: yuki, Due: bot.Date{Year: 2026, Month: 4, Day: 15}, State: bot.CMFiled, Tracker: "https://github.com/acme/payments/issues/311"},
			{N: 2, Text: "Alert on pool wait time | not only on gateway 502s", Owner: omar, Due: bot.Date{Year: 2026, Month: 4, Day: 30}, State: bot.CMOpen},
		},
	}
	var tl []bot.TimelineEvent
	seq := uint64(0)
	add := func(at time.Time, kind bot.EventKind, who bot.User, text, msgID, url string) {
		seq++
		tl = append(tl, bot.TimelineEvent{Seq: seq, IncidentID: inc.ID, Kind: kind, Author: who, Text: text,
			MessageID: msgID, URL: url, PlatformAt: at, RecordedAt: at})
	}
	add(t0, bot.EventLifecycle, omar, `declared INC-42 "Checkout returns 502 for card payments" (SEV2, real); commander @grace`, "", "")
	add(t0.Add(2*time.Second), bot.EventBot, bot.User{Platform: bot.Slack, ID: "debrief", Name: "debrief"}, "opened channel #inc-42-checkout-returns-502 on slack", "", "")
	people := []bot.User{omar, grace, yuki}
	lines := []string{
		"502s on /checkout/pay, only card payments",
		"gateway logs show upstream timeouts at 30s",
		"looking at payments-api pods",
		"pool wait time is way up | p99 28s",
		"was there a release tonight?",
		"config release 2026.03.27-2 went out at 22:20",
	}
	step := 150 * time.Minute / time.Duration(n+1) // all before the resolve at +151m
	for i := 0; i < n; i++ {
		at := t0.Add(time.Duration(i+1) * step)
		who := people[i%len(people)]
		id := fmt.Sprintf("1774651%03d.%06d", i/1000, i%1000)
		switch {
		case i == n/5:
			add(at, bot.EventSeverity, grace, "severity SEV2 -> SEV1", "", "")
		case i == n/4:
			add(at, bot.EventRole, grace, "@yuki is now scribe", "", "")
		case i == n/2:
			add(at, bot.EventLifecycle, grace, "mitigated", "", "")
		case i%17 == 5:
			add(at, bot.EventFile, who, fmt.Sprintf("pool-wait-%d.png", i), id, "https://files.slack.test/"+id)
		case i%13 == 7 && i > 0:
			add(at, bot.EventEdit, tl[len(tl)-1].Author, lines[i%len(lines)]+" (corrected)", tl[len(tl)-1].MessageID, "")
		case i%29 == 11:
			add(at, bot.EventDelete, tl[len(tl)-1].Author, "", tl[len(tl)-1].MessageID, "")
		case i%19 == 3:
			add(at, bot.EventKey, who, lines[i%len(lines)], id, "")
		case i%23 == 9:
			add(at, bot.EventStatus, grace, "rolling back config release 2026.03.27-2", "", "")
		default:
			text := lines[i%len(lines)]
			if i%31 == 0 {
				text += "\nsecond line of the same message"
			}
			add(at, bot.EventMessage, who, text, id, "")
		}
	}
	add(t0.Add(151*time.Minute), bot.EventLifecycle, grace, "resolved: rolled back the pool size", "", "")
	return inc, tl
}

// TestWriteupGolden renders a realistic incident (100+ entries, edits,
// deletions, files, key events) in Europe/Berlin with UTC alongside and
// compares it with testdata/writeup.golden. Run with -update after an
// intended change, and read the diff.
func TestWriteupGolden(t *testing.T) {
	inc, tl := realisticIncident(120)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	got := render.Writeup(inc, tl, berlin)
	path := filepath.Join("testdata", "writeup.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestWriteupGolden -update ./workflows/ to create it)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < max(len(gl), len(wl)); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("write-up differs from %s at line %d:\n got %q\nwant %q", path, i+1, g, w)
			}
		}
	}
	// Facts the golden file must show, so that -update cannot bless a
	// broken render unnoticed.
	for _, want := range []string{
		"| Started | 2026-03-27 22:24 | 2026-03-27 23:24 CET |",
		"| Resolved | 2026-03-28 01:12 | 2026-03-28 02:12 CET |",
		"| Time undetected (MTTD) | 11m |",
		"| Time to resolve (MTTR) | 2h37m |",
		"| Total impact | 2h48m |",
		"### 2026-03-28 00:00 CET (23:00 UTC)",
		" edited the message of ",
		" deleted the message of ",
		" shared [pool-wait-5.png](https://files.slack.test/",
		" marked a key event: ",
		"| 2 | Alert on pool wait time \\| not only on gateway 502s | @omar | 2026-04-30 | open | - |",
		"gateway logs show upstream timeouts at 30s / second line",
		"No findings in the summary, impact, notes or contributing factors.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("write-up lacks %q", want)
		}
	}
	if n := strings.Count(got, "\n- ") - len(inc.Factors); n < 120 {
		t.Errorf("write-up lists %d entries, want every one of the 120+", n)
	}
}

// BenchmarkWriteup renders the write-up of a 100k-entry incident; the
// target is under 200 ms.
func BenchmarkWriteup(b *testing.B) {
	inc, tl := realisticIncident(100_000)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	b.ReportAllocs()
	b.ResetTimer()
	var n int
	for b.Loop() {
		n = len(render.Writeup(inc, tl, berlin))
	}
	b.ReportMetric(float64(n)/1e6, "MB")
}
