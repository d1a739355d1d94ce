package web

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
)

// MonthRow is one month of one severity: the mean times to detect,
// acknowledge and resolve of its real incidents.
type MonthRow struct {
	Month            string
	Sev              bot.Severity
	N                int
	MTTD, MTTA, MTTR time.Duration
}

// Week is one bar of a chart: counts per series in one week.
type Week struct {
	Start  string
	Counts []int
	Total  int
}

// Chart is an SVG bar chart with the numbers in a table beside it.
type Chart struct {
	Title  string
	Series []string
	Colors []string
	Weeks  []Week
	Bars   []Bar
	Height int
	Width  int
	// Ticks name the weeks under the bars; Top is the tallest week's
	// count, drawn at TopY; Empty says that no week counted anything.
	Ticks []Tick
	Top   int
	TopY  int
	Empty bool
}

// Tick is a label under a chart's bars.
type Tick struct {
	X     int
	Label string
}

// Bar is one rectangle of a chart.
type Bar struct {
	X, Y, W, H int
	Fill       string
	Label      string
}

// CMStats counts countermeasures by how they went.
type CMStats struct {
	OnTime, Late, Overdue, Open, Dropped int
}

type statsPage struct {
	Page
	Months         []MonthRow
	BySeverity     Chart
	ByKind         Chart
	CM             CMStats
	Reviews        int // incidents resolved with a review deadline
	ReviewedInTime int
	ReviewShare    string
	Kinds          []KindRow
	// Weak is the trend of the weak signals: near misses recorded and
	// alerts only counted (signal rules), per week; Quiet are the signals
	// that fired most in those weeks without ever becoming an incident.
	Weak  Chart
	Quiet []QuietSignal
}

// QuietSignal is a signal that fires without ever becoming an incident.
type QuietSignal struct {
	Name   string
	Labels string
	Fired  int
	LastAt time.Time
}

// maxQuiet is how many quiet signals /stats lists.
const maxQuiet = 10

// KindRow counts incidents of one kind: drills and near misses are shown
// apart from real incidents.
type KindRow struct {
	Kind    bot.Kind
	N       int
	MTTR    time.Duration
	OpenCMs int
}

// statsWeeks is how many weeks the charts show.
const statsWeeks = 12

var sevColors = []string{"#b71c1c", "#e65100", "#f9a825", "#558b2f"}
var kindColors = []string{"#1565c0", "#6a1b9a", "#00838f"}

func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	p := statsPage{Page: s.page(r, "Stats")}
	now := s.now()
	computeStats(&p, s.Catalog.All(), now, s.Service.Config.ScheduleWithin, p.Loc)
	var nms []store.NearMiss
	var sigs []store.Signal
	err := s.Service.Store.View(r.Context(), func(tx store.ReadTx) error {
		var err error
		if nms, err = tx.NearMisses(); err != nil {
			return err
		}
		sigs, err = tx.Signals()
		return err
	})
	if err != nil {
		s.internal(w, r, fmt.Errorf("web: stats: weak signals: %w", err))
		return
	}
	weakSignals(&p, nms, sigs, now, p.Loc)
	s.render(w, r, "stats", p)
}

// weakSignals charts the near misses and counted alerts of the last
// statsWeeks weeks, and lists the signals that fired most in them without
// becoming an incident: the warnings a team has learnt to ignore.
func weakSignals(p *statsPage, nms []store.NearMiss, sigs []store.Signal, now time.Time, loc *time.Location) {
	start := startOfWeek(now.In(loc)).AddDate(0, 0, -7*(statsWeeks-1))
	weeks := make([][]int, statsWeeks)
	for i := range weeks {
		weeks[i] = make([]int, 2)
	}
	week := func(t time.Time) (int, bool) {
		if t.Before(start) {
			return 0, false
		}
		i := int(t.In(loc).Sub(start).Hours() / (24 * 7))
		return i, i < statsWeeks
	}
	for _, nm := range nms {
		if i, ok := week(nm.At); ok {
			weeks[i][0]++
		}
	}
	for _, sg := range sigs {
		fired := 0
		for _, at := range sg.Fires {
			if i, ok := week(at); ok {
				weeks[i][1]++
				fired++
			}
		}
		if fired > 0 && len(sg.IncidentIDs) == 0 {
			p.Quiet = append(p.Quiet, QuietSignal{Name: sg.Name, Labels: labelList(sg.Labels), Fired: fired, LastAt: sg.LastAt})
		}
	}
	sort.SliceStable(p.Quiet, func(i, j int) bool { return p.Quiet[i].Fired > p.Quiet[j].Fired })
	if len(p.Quiet) > maxQuiet {
		p.Quiet = p.Quiet[:maxQuiet]
	}
	p.Weak = chart("Weak signals per week", []string{"near misses", "alerts counted"}, weakColors, start, weeks)
}

var weakColors = []string{"#00838f", "#ef6c00"}

// labelList renders labels as Alertmanager shows them: name="value", by
// name, the alert's name left out.
func labelList(labels map[string]string) string {
	names := make([]string, 0, len(labels))
	for n := range labels {
		if n != "alertname" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s=%q", n, labels[n])
	}
	return strings.Join(parts, ", ")
}

func computeStats(p *statsPage, incs []*bot.Incident, now time.Time, within map[bot.Severity]int, loc *time.Location) {
	type acc struct {
		n          int
		td, ta, tr time.Duration
		nd, na, nr int
	}
	months := map[string]map[bot.Severity]*acc{}
	kinds := map[bot.Kind]*KindRow{}
	weekStart := startOfWeek(now.In(loc)).AddDate(0, 0, -7*(statsWeeks-1))
	sevWeeks := make([][]int, statsWeeks)
	kindWeeks := make([][]int, statsWeeks)
	for i := range sevWeeks {
		sevWeeks[i] = make([]int, 4)
		kindWeeks[i] = make([]int, 3)
	}
	kindIndex := map[bot.Kind]int{bot.KindReal: 0, bot.KindDrill: 1, bot.KindNearMiss: 2}
	today := bot.DateOf(now.In(loc))
	for _, inc := range incs {
		k := inc.Kind
		if k == "" {
			k = bot.KindReal
		}
		kr := kinds[k]
		if kr == nil {
			kr = &KindRow{Kind: k}
			kinds[k] = kr
		}
		kr.N++
		kr.OpenCMs += openActions(inc)
		if !inc.ResolvedAt.IsZero() {
			kr.MTTR += inc.ResolvedAt.Sub(started(inc))
		}
		if wk := int(inc.DeclaredAt.In(loc).Sub(weekStart).Hours() / (24 * 7)); !inc.DeclaredAt.Before(weekStart) && wk < statsWeeks {
			if inc.Severity.Valid() && k == bot.KindReal {
				sevWeeks[wk][inc.Severity-1]++
			}
			kindWeeks[wk][kindIndex[k]]++
		}
		for _, cm := range inc.Countermeasures {
			switch {
			case cm.State == bot.CMDone && !cm.Due.IsZero() && bot.DateOf(cm.DoneAt.In(loc)).Before(cm.Due.AddDays(1)):
				p.CM.OnTime++
			case cm.State == bot.CMDone:
				p.CM.Late++
			case cm.State == bot.CMDropped:
				// Decided against: neither done nor still to do.
				p.CM.Dropped++
			case !cm.Due.IsZero() && cm.Due.Before(today):
				p.CM.Overdue++
			default:
				p.CM.Open++
			}
		}
		if k != bot.KindReal {
			continue
		}
		if days, ok := within[inc.Severity]; ok && !inc.ResolvedAt.IsZero() {
			p.Reviews++
			deadline := bot.AddWorkingDays(inc.ResolvedAt, days, loc)
			if inc.Postmortem.Held() && !inc.Postmortem.HeldAt.After(deadline) {
				p.ReviewedInTime++
			}
		}
		m := inc.DeclaredAt.In(loc).Format("2006-01")
		if months[m] == nil {
			months[m] = map[bot.Severity]*acc{}
		}
		a := months[m][inc.Severity]
		if a == nil {
			a = &acc{}
			months[m][inc.Severity] = a
		}
		a.n++
		if !inc.StartedAt.IsZero() && !inc.DetectedAt.IsZero() && !inc.DetectedAt.Before(inc.StartedAt) {
			a.td += inc.DetectedAt.Sub(inc.StartedAt)
			a.nd++
		}
		if !inc.AcknowledgedAt.IsZero() && !inc.DetectedAt.IsZero() && !inc.AcknowledgedAt.Before(inc.DetectedAt) {
			a.ta += inc.AcknowledgedAt.Sub(inc.DetectedAt)
			a.na++
		}
		if !inc.ResolvedAt.IsZero() {
			a.tr += inc.ResolvedAt.Sub(started(inc))
			a.nr++
		}
	}
	mean := func(d time.Duration, n int) time.Duration {
		if n == 0 {
			return 0
		}
		return (d / time.Duration(n)).Round(time.Second)
	}
	for m, sevs := range months {
		for sev, a := range sevs {
			p.Months = append(p.Months, MonthRow{Month: m, Sev: sev, N: a.n, MTTD: mean(a.td, a.nd), MTTA: mean(a.ta, a.na), MTTR: mean(a.tr, a.nr)})
		}
	}
	sort.Slice(p.Months, func(i, j int) bool {
		if p.Months[i].Month != p.Months[j].Month {
			return p.Months[i].Month > p.Months[j].Month
		}
		return p.Months[i].Sev < p.Months[j].Sev
	})
	for _, k := range []bot.Kind{bot.KindReal, bot.KindDrill, bot.KindNearMiss} {
		if kr := kinds[k]; kr != nil {
			resolved := 0
			for _, inc := range incs {
				if (inc.Kind == k || inc.Kind == "" && k == bot.KindReal) && !inc.ResolvedAt.IsZero() {
					resolved++
				}
			}
			kr.MTTR = mean(kr.MTTR, resolved)
			p.Kinds = append(p.Kinds, *kr)
		}
	}
	if p.Reviews > 0 {
		p.ReviewShare = fmt.Sprintf("%d%%", p.ReviewedInTime*100/p.Reviews)
	} else {
		p.ReviewShare = "–"
	}
	p.BySeverity = chart("Real incidents per week, by severity", []string{"SEV1", "SEV2", "SEV3", "SEV4"}, sevColors, weekStart, sevWeeks)
	p.ByKind = chart("Incidents per week, by kind", []string{"real", "drill", "near miss"}, kindColors, weekStart, kindWeeks)
}

func startOfWeek(t time.Time) time.Time {
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
	off := (int(d.Weekday()) + 6) % 7 // Monday first
	return d.AddDate(0, 0, -off)
}

// chart lays out stacked bars, one per week, on a 600x200 canvas: the
// bottom 20 pixels for the weeks' names, the top 10 for the scale.
func chart(title string, series, colors []string, start time.Time, counts [][]int) Chart {
	c := Chart{Title: title, Series: series, Colors: colors, Width: 600, Height: 200}
	top := 1
	for i, cs := range counts {
		w := Week{Start: start.AddDate(0, 0, 7*i).Format("Jan 02"), Counts: cs}
		for _, n := range cs {
			w.Total += n
		}
		top = max(top, w.Total)
		c.Weeks = append(c.Weeks, w)
	}
	bw := c.Width / len(counts)
	c.Top, c.TopY, c.Empty = top, 10, true
	for i, wk := range c.Weeks {
		c.Ticks = append(c.Ticks, Tick{X: i*bw + bw/2, Label: wk.Start})
		if wk.Total > 0 {
			c.Empty = false
		}
	}
	for i, wk := range c.Weeks {
		y := c.Height - 20
		for si, n := range wk.Counts {
			if n == 0 {
				continue
			}
			h := n * (c.Height - 30) / top
			h = max(h, 1)
			y -= h
			c.Bars = append(c.Bars, Bar{X: i*bw + 4, Y: y, W: bw - 8, H: h, Fill: colors[si], Label: fmt.Sprintf("%s, week of %s: %d", series[si], wk.Start, n)})
		}
	}
	return c
}
