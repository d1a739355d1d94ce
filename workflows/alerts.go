package workflows

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows/outbox"
	"github.com/debrief/debrief/workflows/render"
)

// AlertAction is what a rule decides an alert does (README, "Alerts in"),
// weakest first: a group does what its strongest alert asks.
type AlertAction int

// The actions of alert rules.
const (
	AlertIgnore AlertAction = iota
	AlertSignal
	AlertSuggest
	AlertDeclare
)

var actionNames = []string{"ignore", "signal", "suggest", "declare"}

// String names the action as the rules write it.
func (a AlertAction) String() string {
	if a < 0 || int(a) >= len(actionNames) {
		return "unknown"
	}
	return actionNames[a]
}

// ParseAlertAction reads an action as the rules write it.
func ParseAlertAction(s string) (AlertAction, bool) {
	i := slices.Index(actionNames, strings.ToLower(strings.TrimSpace(s)))
	return AlertAction(i), i >= 0
}

// RedeliveryWindow is how long the same notification of a group again is
// a redelivery (stored once) rather than a repeat (noted). Alertmanager
// retries a failed webhook within its group_interval, 5 minutes by
// default, and repeats after repeat_interval, 4 hours by default.
const RedeliveryWindow = 5 * time.Minute

// AlertNotice is one notification about one group of alerts, translated
// by the alerts adapter from Alertmanager's webhook or an Events v2 event.
type AlertNotice struct {
	// Source names the sender ("alertmanager", "events"); Key is the
	// group (groupKey, dedup_key).
	Source, Key string
	// Event is "acknowledge" for an Events v2 acknowledgement; empty
	// otherwise.
	Event  string
	Alerts []Alert
	// Truncated is how many alerts the sender left out (truncatedAlerts).
	Truncated int
	// Link is where the sender shows the group (externalURL).
	Link string
}

// defused is n with the texts the sender wrote unable to carry a time
// token into what the bot posts (bot.DefuseTimes).
func (n AlertNotice) defused() AlertNotice {
	n.Link = bot.DefuseTimes(n.Link)
	as := make([]Alert, len(n.Alerts))
	for i, a := range n.Alerts {
		a.Name, a.Summary, a.URL = bot.DefuseTimes(a.Name), bot.DefuseTimes(a.Summary), bot.DefuseTimes(a.URL)
		as[i] = a
	}
	n.Alerts = as
	return n
}

// Alert is one alert of a notice, with what its rule decided.
type Alert struct {
	// Fingerprint identifies the alert within its group.
	Fingerprint string
	// Name is the alert's name (alertname); Summary the summary
	// annotation, or the name.
	Name, Summary string
	Labels        map[string]string
	Firing        bool
	StartsAt      time.Time
	EndsAt        time.Time
	// URL links back (generatorURL, Events v2 links).
	URL string
	// Action is what its rule decided; Severity and Tags what an incident
	// opened from it gets.
	Action   AlertAction
	Severity bot.Severity
	Tags     []string
}

// AlertOutcome is what a notice did.
type AlertOutcome struct {
	GroupID    string
	IncidentID string
	Action     AlertAction
	// Duplicate says the notice was a redelivery and changed nothing.
	Duplicate bool
	// Entries is how many timeline entries it appended.
	Entries int
}

// alertUser is who alert entries and declarations are by.
func alertUser(source string, p bot.Platform) bot.User {
	return bot.User{Platform: p, ID: source, Name: source}
}

// GroupID is the short, stable ID of an alert group: AL- and a hash of
// its source and key (a groupKey is long and full of braces).
func GroupID(source, key string) string {
	h := sha256.Sum256([]byte(source + "\x00" + key))
	return "AL-" + strings.ToUpper(hex.EncodeToString(h[:5]))
}

// SignalKey identifies an alert by its name and labels, whatever group it
// comes in.
func SignalKey(name string, labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(name)
	for _, k := range keys {
		fmt.Fprintf(&b, "\x00%s=%s", k, labels[k])
	}
	h := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(h[:10])
}

// digest hashes what a notice says, to tell a redelivery.
func (n AlertNotice) digest() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%s", n.Event, n.Truncated, n.Link)
	for _, a := range n.Alerts {
		fmt.Fprintf(h, "\x00%s\x00%t\x00%d\x00%d\x00%s\x00%s", a.Fingerprint, a.Firing, a.StartsAt.UnixNano(), a.EndsAt.UnixNano(), a.Summary, a.URL)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// alertOrigin is where incidents opened by alerts live and suggestions
// are posted: the first platform with an announcement channel (Slack,
// then Discord), else the console's #general.
func (s *Service) alertOrigin() bot.Channel {
	for _, p := range []bot.Platform{bot.Slack, bot.Discord} {
		if ch := s.Config.Announce[p]; ch != "" && s.Chats[p] != nil {
			return bot.Channel{Platform: p, ID: ch}
		}
	}
	return bot.Channel{Platform: bot.Console, ID: "general"}
}

// Alerts handles one notice: the group's alerts are counted as signals,
// and, by the strongest rule among them, the group opens an incident
// (declare), is offered with a Declare button (suggest), or is only
// counted (signal). A group that has an incident appends what changed to
// its timeline instead; when all its alerts have resolved, the channel is
// told and mitigate suggested. The same notice again within
// RedeliveryWindow changes nothing.
func (s *Service) Alerts(ctx context.Context, n AlertNotice) (AlertOutcome, error) {
	now := s.now()
	n = n.defused()
	id := GroupID(n.Source, n.Key)
	out := AlertOutcome{GroupID: id}
	for _, a := range n.Alerts {
		out.Action = max(out.Action, a.Action)
	}
	if out.Action == AlertIgnore {
		return out, nil
	}
	digest := n.digest()
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		out.Entries, out.IncidentID, out.Duplicate = 0, "", false
		g, ok, err := tx.AlertGroup(id)
		if err != nil {
			return fmt.Errorf("workflows: alert group %s: %w", id, err)
		}
		if ok && g.Digest == digest && now.Sub(g.LastAt) < RedeliveryWindow {
			out.Duplicate, out.IncidentID = true, g.IncidentID
			return nil
		}
		if !ok {
			g = store.AlertGroup{ID: id, Source: n.Source, Key: n.Key, DetectedAt: now, Alerts: map[string]store.AlertState{}}
		}
		if g.Alerts == nil {
			g.Alerts = map[string]store.AlertState{}
		}
		g.Digest, g.LastAt = digest, now
		if n.Link != "" {
			g.Link = n.Link
		}
		var inc *bot.Incident
		if g.IncidentID != "" {
			if inc, err = tx.Incident(g.IncidentID); err != nil {
				return err
			}
			if inc.Status == bot.StatusClosed && anyFiring(n) {
				// Closed is over: the group firing again is news.
				inc, g.IncidentID, g.Suggested, g.DetectedAt, g.StartedAt = nil, "", false, now, time.Time{}
				g.Alerts = map[string]store.AlertState{}
			}
		}
		// What the group is: its strongest firing alert's title, severity
		// and tags, set until an incident takes them.
		if inc == nil {
			s.describe(&g, n)
		}
		changes, err := s.applyAlerts(tx, &g, n, now)
		if err != nil {
			return err
		}
		switch {
		case inc != nil:
			out.Entries, err = s.alertEntries(tx, inc, g, n, changes, now)
		case out.Action == AlertDeclare && anyFiring(n):
			origin := s.alertOrigin()
			actor := alertUser(n.Source, origin.Platform)
			inc, err = s.open(tx, actor, origin, bot.Command{Verb: bot.VerbDeclare, Text: g.Title, Severity: g.Severity, Tags: g.Tags, Kind: bot.KindReal},
				opening{started: g.StartedAt, detected: g.DetectedAt}, now)
			if err == nil {
				g.IncidentID = inc.ID
				out.Entries, err = s.alertEntries(tx, inc, g, n, changes, now)
			}
		case out.Action == AlertSuggest && anyFiring(n) && !g.Suggested:
			g.Suggested = true
			err = s.suggest(tx, g, now)
		}
		if err != nil {
			return err
		}
		if inc != nil {
			out.IncidentID = inc.ID
			if err := s.markDeclared(tx, g, inc.ID); err != nil {
				return err
			}
		}
		return tx.PutAlertGroup(g)
	})
	if err != nil {
		return AlertOutcome{}, err
	}
	if !out.Duplicate {
		s.kick()
	}
	return out, nil
}

func anyFiring(n AlertNotice) bool {
	for _, a := range n.Alerts {
		if a.Firing {
			return true
		}
	}
	return false
}

// describe sets the group's title, severity and tags from its strongest
// firing alert (the most severe among those of the strongest action).
func (s *Service) describe(g *store.AlertGroup, n AlertNotice) {
	var best *Alert
	for i := range n.Alerts {
		a := &n.Alerts[i]
		if !a.Firing {
			continue
		}
		if best == nil || a.Action > best.Action || a.Action == best.Action && sevRank(a.Severity) < sevRank(best.Severity) {
			best = a
		}
	}
	if best == nil {
		return
	}
	title := best.Summary
	if title == "" {
		title = best.Name
	}
	g.Title = headline(title, bot.MaxTitle)
	g.Severity = best.Severity
	g.Tags = best.Tags
}

// sevRank orders severities, an unset one last.
func sevRank(s bot.Severity) int {
	if !s.Valid() {
		return 99
	}
	return int(s)
}

// alertChange is one alert that started firing or resolved.
type alertChange struct {
	a      Alert
	firing bool
}

// applyAlerts records the notice's alerts in the group and counts each new
// firing as a signal; it returns what changed.
func (s *Service) applyAlerts(tx store.Tx, g *store.AlertGroup, n AlertNotice, now time.Time) ([]alertChange, error) {
	var changes []alertChange
	for _, a := range n.Alerts {
		fp := a.Fingerprint
		if fp == "" {
			fp = SignalKey(a.Name, a.Labels)
		}
		old, seen := g.Alerts[fp]
		sigKey := SignalKey(a.Name, a.Labels)
		if seen && a.Labels == nil {
			sigKey = old.Signal // an Events v2 resolve names the group only
		}
		st := store.AlertState{Name: a.Name, Firing: a.Firing, StartsAt: a.StartsAt, EndsAt: a.EndsAt, Signal: sigKey}
		g.Alerts[fp] = st
		if a.Firing && (g.StartedAt.IsZero() || (!a.StartsAt.IsZero() && a.StartsAt.Before(g.StartedAt))) {
			g.StartedAt = a.StartsAt
			if g.StartedAt.IsZero() || g.StartedAt.After(now) {
				g.StartedAt = now
			}
		}
		if seen && old.Firing == a.Firing && old.StartsAt.Equal(a.StartsAt) {
			continue // nothing new about this alert
		}
		if !seen && !a.Firing {
			// Resolved before we heard it fire: still a change to note.
			changes = append(changes, alertChange{a, false})
			continue
		}
		changes = append(changes, alertChange{a, a.Firing})
		if a.Firing {
			if err := s.countSignal(tx, a, st.Signal, now); err != nil {
				return nil, err
			}
		}
	}
	return changes, nil
}

// countSignal counts one firing of alert a (once per firing: startsAt).
func (s *Service) countSignal(tx store.Tx, a Alert, key string, now time.Time) error {
	sig, ok, err := tx.Signal(key)
	if err != nil {
		return fmt.Errorf("workflows: signal %s: %w", a.Name, err)
	}
	if ok && !a.StartsAt.IsZero() && sig.LastStart.Equal(a.StartsAt) {
		return nil
	}
	if !ok {
		sig = store.Signal{Key: key, Name: a.Name, Labels: a.Labels, FirstAt: now}
	}
	sig.Count++
	sig.LastAt, sig.LastStart = now, a.StartsAt
	sig.Fires = append(sig.Fires, now)
	if len(sig.Fires) > store.MaxSignalFires {
		sig.Fires = sig.Fires[len(sig.Fires)-store.MaxSignalFires:]
	}
	return tx.PutSignal(sig)
}

// markDeclared notes on the group's signals that they became incident id.
func (s *Service) markDeclared(tx store.Tx, g store.AlertGroup, id string) error {
	for _, st := range g.Alerts {
		sig, ok, err := tx.Signal(st.Signal)
		if err != nil {
			return fmt.Errorf("workflows: signal %s: %w", st.Name, err)
		}
		if !ok || slices.Contains(sig.IncidentIDs, id) {
			continue
		}
		sig.IncidentIDs = append(sig.IncidentIDs, id)
		if err := tx.PutSignal(sig); err != nil {
			return err
		}
	}
	return nil
}

// alertEntries appends "alert firing"/"alert resolved" entries for the
// changes to inc's timeline (or, when nothing changed, one "still firing"
// entry for a repeat, or the acknowledgement),
// and when every alert of the group has resolved, says so in the channel
// and suggests mitigate. It returns how many entries it appended.
func (s *Service) alertEntries(tx store.Tx, inc *bot.Incident, g store.AlertGroup, n AlertNotice, changes []alertChange, now time.Time) (int, error) {
	author := alertUser(n.Source, inc.Origin.Platform)
	appended := 0
	add := func(text, url, key string, at time.Time) error {
		if at.IsZero() {
			at = now
		}
		_, dup, err := tx.AppendEvent(bot.TimelineEvent{
			IncidentID: inc.ID, Kind: bot.EventBot, Author: author, Text: text, URL: url,
			PlatformAt: at, RecordedAt: now, DedupeKey: key,
		})
		if err != nil {
			return fmt.Errorf("workflows: alert entry in %s: %w", inc.ID, err)
		}
		if !dup {
			appended++
		}
		return nil
	}
	link := func(a Alert) string {
		if a.URL != "" {
			return a.URL
		}
		return n.Link
	}
	for _, c := range changes {
		a := c.a
		what, at := "alert firing", a.StartsAt
		if !c.firing {
			what, at = "alert resolved", a.EndsAt
		}
		text := fmt.Sprintf("%s: %s", what, a.Name)
		if a.Summary != "" && a.Summary != a.Name {
			text += " — " + a.Summary
		}
		if l := link(a); l != "" {
			text += " (" + l + ")"
		}
		key := fmt.Sprintf("alert/%s/%s/%d/%t", g.ID, a.Fingerprint, a.StartsAt.UnixNano(), c.firing)
		if err := add(text, link(a), key, at); err != nil {
			return appended, err
		}
	}
	// A notice that changes no alert is a repeat (Alertmanager's
	// repeat_interval) or an acknowledgement: noted, once per notice.
	if len(changes) == 0 {
		text := ""
		switch {
		case n.Event == "acknowledge":
			text = "alert acknowledged at the source"
		case firing(g) > 0:
			text = fmt.Sprintf("alert still firing: %d of %s's alerts (repeat)", firing(g), g.ID)
		}
		if text != "" {
			if err := add(text, n.Link, fmt.Sprintf("alert/%s/repeat/%d", g.ID, now.UnixNano()), now); err != nil {
				return appended, err
			}
		}
	}
	if n.Truncated > 0 {
		if err := add(fmt.Sprintf("%d more alerts of the group were left out by the sender (truncated)", n.Truncated), n.Link,
			fmt.Sprintf("alert/%s/truncated/%d", g.ID, now.UnixNano()), now); err != nil {
			return appended, err
		}
	}
	resolvedNow := false
	for _, c := range changes {
		if !c.firing {
			resolvedNow = true
		}
	}
	if resolvedNow && firing(g) == 0 && inc.Open() {
		text := fmt.Sprintf("All alerts of %s have resolved. If the impact is contained too: /incident mitigate", g.ID)
		if err := add("all alerts resolved", n.Link, fmt.Sprintf("alert/%s/allresolved/%d", g.ID, now.UnixNano()), now); err != nil {
			return appended, err
		}
		if err := s.queue(tx, inc, now).post(text); err != nil {
			return appended, err
		}
	}
	return appended, nil
}

func firing(g store.AlertGroup) int {
	n := 0
	for _, a := range g.Alerts {
		if a.Firing {
			n++
		}
	}
	return n
}

// suggest posts the group with a Declare button where alert incidents
// are announced.
func (s *Service) suggest(tx store.Tx, g store.AlertGroup, now time.Time) error {
	ch := s.alertOrigin()
	text := fmt.Sprintf("Alert %s: %s (%s), firing since %s", g.ID, g.Title, g.Severity, render.At(g.StartedAt, s.zone(), bot.StyleDateTime, "2006-01-02 15:04 MST"))
	if g.Link != "" {
		text += " " + g.Link
	}
	_, err := s.Outbox().Enqueue(tx, outbox.Route{Platform: ch.Platform, ChannelID: ch.ID, Key: "suggest/" + g.ID + "/" + g.DetectedAt.Format(time.RFC3339Nano)},
		PostButton{Text: text, Label: "Declare", Command: "declare --from " + g.ID}, now)
	if err != nil {
		return fmt.Errorf("workflows: suggest %s: %w", g.ID, err)
	}
	return nil
}

// declareGroup opens an incident from a suggested alert group (the
// Declare button, declare --from AL-…): started and detected are the
// group's, and its firing alerts are the first timeline entries.
func (s *Service) declareGroup(tx store.Tx, actor bot.User, ch bot.Channel, cmd bot.Command, commander bot.User, now time.Time) (*bot.Incident, error) {
	g, ok, err := tx.AlertGroup(cmd.From)
	if err != nil {
		return nil, fmt.Errorf("workflows: alert group %s: %w", cmd.From, err)
	}
	if !ok {
		return nil, bot.Errorf(bot.ENOTFOUND, "There is no alert group %s.", cmd.From)
	}
	if g.IncidentID != "" {
		return nil, bot.Errorf(bot.ECONFLICT, "%s was already declared as %s.", g.ID, g.IncidentID)
	}
	if cmd.Text == "" {
		cmd.Text = g.Title
	}
	if cmd.Severity == 0 {
		cmd.Severity = g.Severity
	}
	if len(cmd.Tags) == 0 {
		cmd.Tags = g.Tags
	}
	var seed []bot.TimelineEvent
	for fp, a := range g.Alerts {
		if !a.Firing {
			continue
		}
		text := "alert firing: " + a.Name
		if g.Link != "" {
			text += " (" + g.Link + ")"
		}
		seed = append(seed, bot.TimelineEvent{
			Kind: bot.EventBot, Author: alertUser(g.Source, ch.Platform), Text: text, URL: g.Link,
			PlatformAt: a.StartsAt, RecordedAt: now,
			DedupeKey: fmt.Sprintf("alert/%s/%s/%d/true", g.ID, fp, a.StartsAt.UnixNano()),
		})
	}
	sort.Slice(seed, func(i, j int) bool { return seed[i].PlatformAt.Before(seed[j].PlatformAt) })
	inc, err := s.open(tx, actor, ch, cmd, opening{commander: commander, started: g.StartedAt, detected: g.DetectedAt, seed: seed}, now)
	if err != nil {
		return nil, err
	}
	g.IncidentID = inc.ID
	if err := s.markDeclared(tx, g, inc.ID); err != nil {
		return nil, err
	}
	if err := tx.PutAlertGroup(g); err != nil {
		return nil, err
	}
	return inc, nil
}

// Signals returns every signal, most fired first.
func (s *Service) Signals(ctx context.Context) ([]store.Signal, error) {
	var out []store.Signal
	err := s.Store.View(ctx, func(tx store.ReadTx) error {
		var err error
		out, err = tx.Signals()
		return err
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Count > out[j].Count })
	return out, err
}

// ErrUnknownGroup says an alert group was never seen.
var ErrUnknownGroup = errors.New("unknown alert group")

// AlertState returns the alerts of the group source/key as last heard,
// with the action they had (the group's strongest, for all), for an
// acknowledgement or a resolve that names the group only.
func (s *Service) AlertState(ctx context.Context, source, key string) ([]Alert, error) {
	var out []Alert
	err := s.Store.View(ctx, func(tx store.ReadTx) error {
		g, ok, err := tx.AlertGroup(GroupID(source, key))
		if err != nil {
			return err
		}
		if !ok {
			return ErrUnknownGroup
		}
		action := AlertSignal
		switch {
		case g.IncidentID != "":
			action = AlertDeclare
		case g.Suggested:
			action = AlertSuggest
		}
		for fp, a := range g.Alerts {
			out = append(out, Alert{Fingerprint: fp, Name: a.Name, Firing: a.Firing, StartsAt: a.StartsAt, EndsAt: a.EndsAt, Action: action, Severity: g.Severity})
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Fingerprint < out[j].Fingerprint })
	return out, err
}
