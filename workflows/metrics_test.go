package workflows_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestCommandMetrics: commands are counted and timed by the verb typed,
// also when they fail to parse; a line that names no verb is "unknown".
func TestCommandMetrics(t *testing.T) {
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	e.svc.Metrics = workflows.NewMetrics(reg)
	ctx := context.Background()
	for _, text := range []string{"declare db down", "sev 9", "pm schedule tomorrow", "frobnicate", "sev2x"} {
		e.svc.Execute(ctx, alice, general, text)
	}
	m := e.svc.Metrics
	for _, tc := range []struct {
		verb, code string
		want       float64
	}{
		{"declare", "ok", 1},
		{"sev", bot.EINVALID, 2},
		{"postmortem_schedule", bot.EINVALID, 1},
		{"unknown", bot.EINVALID, 1},
	} {
		if got := testutil.ToFloat64(m.Commands.WithLabelValues(tc.verb, tc.code)); got != tc.want {
			t.Errorf("commands{verb=%q,code=%q} = %v, want %v", tc.verb, tc.code, got, tc.want)
		}
	}
	if got := testutil.CollectAndCount(m.CommandSeconds); got != 4 {
		t.Errorf("command duration series = %d, want one per verb seen (4)", got)
	}
	n := histogramCount(t, reg, "debrief_command_duration_seconds")
	if n != 5 {
		t.Errorf("command duration observations = %d, want 5", n)
	}

	_, ch := e.declare("api slow")
	if _, err := e.svc.Record(ctx, ch, bot.TimelineEvent{Kind: bot.EventMessage, Author: bob, Text: "p99 is 4s", DedupeKey: "k1"}); err != nil {
		t.Fatal(err)
	}
	if n := histogramCount(t, reg, "debrief_timeline_commit_duration_seconds"); n != 1 {
		t.Errorf("commit duration observations = %d, want 1", n)
	}
}

func histogramCount(t *testing.T, g prometheus.Gatherer, name string) uint64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			n += m.GetHistogram().GetSampleCount()
		}
	}
	return n
}

// TestOutboxCollector: the outbox's depth and the age of its oldest effect
// are read at scrape time, so they are right the moment the outbox
// changes, with no pass in between.
func TestOutboxCollector(t *testing.T) {
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	reg.MustRegister(e.svc.OutboxCollector())
	want := func(depth, age float64) {
		t.Helper()
		exp := "# HELP debrief_outbox_depth Effects waiting in the outbox, read when scraped.\n# TYPE debrief_outbox_depth gauge\n" +
			"debrief_outbox_depth " + ftoa(depth) + "\n" +
			"# HELP debrief_outbox_oldest_age_seconds Age of the oldest undelivered effect, read when scraped; 0 when the outbox is empty.\n# TYPE debrief_outbox_oldest_age_seconds gauge\n" +
			"debrief_outbox_oldest_age_seconds " + ftoa(age) + "\n"
		if err := testutil.GatherAndCompare(reg, strings.NewReader(exp)); err != nil {
			t.Error(err)
		}
	}
	want(0, 0)
	e.run(alice, general, "declare db down")
	depth := float64(len(e.effects()))
	if depth == 0 {
		t.Fatal("declare queued no effect")
	}
	e.clock.Advance(90 * time.Second)
	want(depth, 90)
	e.deliver()
	want(0, 0)
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
