package main

import (
	"context"
	"net/http"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"
	slackgo "github.com/slack-go/slack"

	"github.com/debrief/debrief/adapters/github"
	"github.com/debrief/debrief/adapters/github/githubtest"
	"github.com/debrief/debrief/adapters/slack"
	"github.com/debrief/debrief/adapters/slack/slacktest"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/store/bolt"
	"github.com/debrief/debrief/workflows"
	"github.com/debrief/debrief/workflows/outbox"
)

// BenchmarkDeliverWriteup measures, in one run, what delivering a long
// incident's write-up costs in memory (README, "Benchmarks"): the file
// posted in the incident's Slack channel and the publication on GitHub,
// both delivered by the outbox through the adapters to the fakes of
// Slack and GitHub (which keep only the SHA and size of a file past 1
// MiB, so that their copy is not counted as debrief's).
//
//   - deliver_heap_MiB, deliver_rss_anon_MiB: the peaks of the Go heap in
//     use and of the process's anonymous memory while the two effects
//     are delivered: the write-up spooled to a file once per effect
//     (workflows.Document), uploaded to Slack and PUT to GitHub as it is
//     read (goal: both < 100 MiB).
//   - old_heap_MiB, old_rss_anon_MiB: the same delivery over the path it
//     replaced, measured in the same run: the write-up rendered into one
//     string (Service.Export) and given whole to slack-go's UploadFile
//     and go-github's UpdateFile, as the adapters did.
//   - heap_x_old, rss_x_old: the ratios.
//   - writeup_MB: the write-up's length.
//
// The new path is measured first: the process's anonymous memory hardly
// shrinks once grown, and the old path grows it most.
//
// It runs once (b.N is ignored) on DEBRIEF_BENCH_ENTRIES entries (default
// 1,000,000; building them takes about a minute):
//
//	go test -run xxx -bench DeliverWriteup -benchtime 1x -timeout 30m ./cmd/debrief/
func BenchmarkDeliverWriteup(b *testing.B) {
	entries := benchEntries(b)
	ctx := context.Background()
	dir := b.TempDir()
	db, err := bolt.Open(filepath.Join(dir, "debrief.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	t0 := time.Now().Add(-30 * 24 * time.Hour).Truncate(time.Second)
	start := time.Now()
	fillLong(b, db, bot.Channel{Platform: bot.Console, ID: "inc-1-long"}, t0, entries, 1)
	b.Logf("built %d entries in %s", entries, time.Since(start).Round(time.Millisecond))

	sfake := slacktest.New()
	defer sfake.Close()
	sfake.KeepFilesUpTo(1 << 20)
	gfake := githubtest.New(b, githubtest.Config{KeepUpTo: 1 << 20})
	gcfg := gfake.Config()
	// The fakes answer on loopback: a long client timeout, the upload's
	// own allowance aside, keeps the old path's whole-body requests from
	// being cut.
	hc := &http.Client{Timeout: 10 * time.Minute}
	svc := &workflows.Service{Store: db, Config: workflows.DefaultConfig(), SpoolDir: dir, PublishPath: "postmortems"}
	sl := slack.New(svc, slack.Config{BotToken: sfake.BotToken, APIURL: sfake.APIURL(), HTTPClient: hc})
	pub, err := github.New(github.Config{Token: gcfg.Token, Repo: gcfg.Owner + "/" + gcfg.Repo, APIURL: gfake.URL, HTTPClient: hc})
	if err != nil {
		b.Fatal(err)
	}
	svc.Chats = map[bot.Platform]workflows.Chat{bot.Slack: sl}
	svc.Publisher = pub
	ch, err := sl.CreateChannel(ctx, "bench-channel", "inc-1-long")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	err = db.Update(ctx, func(tx store.Tx) error {
		inc, err := tx.Incident("INC-1")
		if err != nil {
			return err
		}
		inc.Channels[bot.Slack] = ch
		if err := tx.PutIncident(inc); err != nil {
			return err
		}
		if err := tx.PutChannel(bot.Channel{Platform: bot.Slack, ID: ch}, inc.ID); err != nil {
			return err
		}
		o := svc.Outbox()
		if _, err := o.Enqueue(tx, outbox.Route{Platform: bot.Slack, IncidentID: inc.ID}, workflows.PostFile{
			Name: "INC-1-postmortem.md", Writeup: &workflows.WriteupRef{Zone: "UTC"}, Comment: "Post-mortem write-up of INC-1."}, now); err != nil {
			return err
		}
		_, err = o.Enqueue(tx, outbox.Route{IncidentID: inc.ID}, workflows.Publish{
			Path: "postmortems/INC-1.md", Writeup: &workflows.WriteupRef{Zone: "UTC"}, Message: "Post-mortem of INC-1"}, now)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	var size countWriter
	if err := svc.WriteExport(ctx, &size, "INC-1", time.UTC); err != nil {
		b.Fatal(err)
	}

	b.ResetTimer()
	heap, rss, took := peakHeap(func() {
		if _, err := svc.Outbox().Tick(ctx, now); err != nil {
			b.Fatal(err)
		}
	})
	var left []store.Effect
	if err := db.View(ctx, func(tx store.ReadTx) error { left, err = tx.Effects(); return err }); err != nil || len(left) != 0 {
		b.Fatalf("%d effects left after delivery (%v): %+v", len(left), err, left)
	}
	msgs := sfake.Messages(ch)
	if len(msgs) != 1 || len(msgs[0].Files) != 1 || msgs[0].Files[0].Size != size.n {
		b.Fatalf("Slack shows %+v, want one message sharing the %d-byte write-up", msgs, size.n)
	}
	if h := gfake.FileHistory("postmortems/INC-1.md"); len(h) != 1 || h[0].Size != size.n {
		b.Fatalf("GitHub has %+v, want one commit of the %d-byte write-up", h, size.n)
	}

	// Memory back to the system before the old path, so that it starts
	// from where the new one did.
	runtime.GC()
	debug.FreeOSMemory()
	oldHeap, oldRSS, oldTook := peakHeap(func() {
		md, err := svc.Export(ctx, "INC-1", time.UTC)
		if err != nil {
			b.Fatal(err)
		}
		api := slackgo.New(sfake.BotToken, slackgo.OptionAPIURL(sfake.APIURL()), slackgo.OptionHTTPClient(hc))
		if _, err := api.UploadFileContext(ctx, slackgo.UploadFileParameters{
			Content: md, FileSize: len(md), Filename: "INC-1-postmortem.md", Title: "INC-1-postmortem.md",
			InitialComment: "Post-mortem write-up of INC-1.", Channel: ch,
		}); err != nil {
			b.Fatal(err)
		}
		g := gh.NewClient(hc).WithAuthToken(gcfg.Token)
		g.BaseURL, _ = g.BaseURL.Parse(gfake.URL)
		file, _, _, err := g.Repositories.GetContents(ctx, gcfg.Owner, gcfg.Repo, "postmortems/INC-1.md", nil)
		if err != nil {
			b.Fatal(err)
		}
		msg := "Post-mortem of INC-1, again"
		if _, _, err := g.Repositories.UpdateFile(ctx, gcfg.Owner, gcfg.Repo, "postmortems/INC-1.md",
			&gh.RepositoryContentFileOptions{Message: &msg, Content: []byte(md), SHA: file.SHA}); err != nil {
			b.Fatal(err)
		}
	})
	b.StopTimer()

	mib := func(n uint64) float64 { return float64(n) / (1 << 20) }
	b.Logf("write-up %.1f MB; delivered (Slack file and GitHub commit) in %s: heap peak %.1f MiB, RssAnon peak %.1f MiB; "+
		"the old whole-string path in %s: heap peak %.1f MiB, RssAnon peak %.1f MiB",
		float64(size.n)/1e6, took.Round(time.Millisecond), mib(heap), mib(rss), oldTook.Round(time.Millisecond), mib(oldHeap), mib(oldRSS))
	b.ReportMetric(float64(size.n)/1e6, "writeup_MB")
	b.ReportMetric(mib(heap), "deliver_heap_MiB")
	b.ReportMetric(mib(rss), "deliver_rss_anon_MiB")
	b.ReportMetric(mib(oldHeap), "old_heap_MiB")
	b.ReportMetric(mib(oldRSS), "old_rss_anon_MiB")
	b.ReportMetric(float64(heap)/float64(oldHeap), "heap_x_old")
	if oldRSS > 0 {
		b.ReportMetric(float64(rss)/float64(oldRSS), "rss_x_old")
	}
	b.ReportMetric(took.Seconds(), "deliver_s")
	b.ReportMetric(oldTook.Seconds(), "old_s")
}
