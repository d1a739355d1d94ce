package workflows

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows/outbox"
)

// CountermeasureKey is the idempotency key of countermeasure n of an
// incident, "INC-42#3": the tracker's issue carries it in its marker, which
// is how a retry finds an issue an earlier attempt created, and how a
// webhook finds the countermeasure of an issue (not by its title, which
// people edit).
func CountermeasureKey(incidentID string, n int) string {
	return incidentID + "#" + strconv.Itoa(n)
}

// ParseCountermeasureKey splits "INC-42#3" into "INC-42" and 3.
func ParseCountermeasureKey(key string) (incidentID string, n int, ok bool) {
	id, num, found := strings.Cut(key, "#")
	inc, okID := bot.ParseIncidentID(id)
	n, err := strconv.Atoi(num)
	if !found || !okID || err != nil || n <= 0 {
		return "", 0, false
	}
	return bot.IncidentID(inc), n, true
}

// IssueMarker is the hidden line that ties an issue to its countermeasure.
// HTML comments do not show in rendered Markdown.
func IssueMarker(key string) string {
	return "<!-- debrief:countermeasure " + key + " -->"
}

var (
	markerRe = regexp.MustCompile(`<!-- debrief:countermeasure (\S+) -->`)
	// dueRe finds the Due: line people edit to move the due date.
	dueRe = regexp.MustCompile(`(?mi)^[ \t>*_]*due[*_]*:[*_]*[ \t]*(\d{4}-\d{2}-\d{2})\b`)
)

// IssueKey returns the countermeasure key in an issue body's marker.
func IssueKey(body string) (string, bool) {
	m := markerRe.FindStringSubmatch(body)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// IssueDue returns the date of the body's first Due: line, if it has a
// valid one.
func IssueDue(body string) (bot.Date, bool) {
	m := dueRe.FindStringSubmatch(body)
	if m == nil {
		return bot.Date{}, false
	}
	d, err := bot.ParseDate(m[1])
	return d, err == nil
}

// maxIssueTitle bounds the title; the full text is in the body.
const maxIssueTitle = 200

// issueFor renders countermeasure cm of inc as an issue assigned to login.
func (s *Service) issueFor(inc *bot.Incident, cm bot.Countermeasure, login string) Issue {
	title := fmt.Sprintf("[%s] %s", inc.ID, cm.Text)
	if utf8.RuneCountInString(title) > maxIssueTitle {
		title = string([]rune(title)[:maxIssueTitle-1]) + "…"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Countermeasure #%d of **%s: %s** (%s), from its blameless post-mortem.\n\n", cm.N, inc.ID, inc.Title, inc.Severity)
	for _, line := range strings.Split(cm.Text, "\n") {
		b.WriteString("> " + line + "\n")
	}
	b.WriteString("\n")
	owner := fmt.Sprintf("%s on %s", cm.Owner.Display(), cm.Owner.Platform)
	if login != "" {
		fmt.Fprintf(&b, "Owner: %s (GitHub @%s)\n", owner, login)
	} else {
		fmt.Fprintf(&b, "Owner: %s (no GitHub login known: they can set one with `/incident github <login>`)\n", owner)
	}
	fmt.Fprintf(&b, "Due: %s\n\n", cm.Due)
	fmt.Fprintf(&b, "Incident channel: #%s\n", inc.ChannelName())
	if s.Publisher != nil {
		p := path.Join(s.PublishPath, inc.ID+".md")
		if l, ok := s.Publisher.(Linker); ok {
			fmt.Fprintf(&b, "Post-mortem: [%s](%s) (committed when the incident closes)\n", p, l.FileURL(p))
		} else {
			fmt.Fprintf(&b, "Post-mortem: `%s` (committed when the incident closes)\n", p)
		}
	}
	b.WriteString("\nClose this issue when the countermeasure is in place: debrief then marks it done and stops reminding the owner. " +
		"To move the due date, edit the `Due:` line above.\n\n")
	b.WriteString(IssueMarker(CountermeasureKey(inc.ID, cm.N)) + "\n")
	return Issue{
		Title:    title,
		Body:     b.String(),
		Labels:   issueLabels(inc),
		Assignee: login,
	}
}

// loginOf returns u's tracker login: the one they set with /incident github,
// else the one in the operator's mapping (GITHUB_USERS_FILE), else "".
func (s *Service) loginOf(tx store.ReadTx, u bot.User) (string, error) {
	p, err := tx.UserPrefs(u.Key())
	if err != nil {
		return "", fmt.Errorf("workflows: login of %s: %w", u.Key(), err)
	}
	if p.GitHub != "" {
		return p.GitHub, nil
	}
	return s.Config.Logins[u.Key()], nil
}

// fileIssue queues the filing of cm. sent marks it as possibly done before
// (see Effect.Sent), so that the tracker looks for it first.
func (s *Service) fileIssue(tx store.Tx, inc *bot.Incident, cm bot.Countermeasure, now time.Time, sent bool) error {
	login, err := s.loginOf(tx, cm.Owner)
	if err != nil {
		return err
	}
	is := s.issueFor(inc, cm, login)
	return s.queue(tx, inc, now).add(outbox.Route{Key: CountermeasureKey(inc.ID, cm.N), Sent: sent}, FileIssue{N: cm.N, Issue: is})
}

// errDuplicate rolls back a transaction that met a delivery already applied.
var errDuplicate = errors.New("workflows: duplicate delivery")

// ApplyIssue applies what the tracker says about a countermeasure's issue:
// closed as completed marks the countermeasure done (recorded, the owner
// thanked in the channel, the nudges stopped), closed as not planned marks
// it dropped (said in the channel, nudges stopped, never counted as done),
// reopened makes it filed again, a changed Due: line moves the due date, a
// changed assignee is recorded, a transferred issue is followed to its new
// repository and number, and a deleted one is recorded and its owner told
// to settle it with action done or action drop. It is
// shared by the webhook and the reconcile, and idempotent: it compares with
// the state already applied, ignores news older than it (UpdatedAt), and a
// redelivered webhook (same Delivery) changes nothing. It reports whether
// anything changed; an issue without a marker, or whose countermeasure is
// unknown here, is ignored, and so is a marker copied onto another issue
// (see IssueState.ByUs).
func (s *Service) ApplyIssue(ctx context.Context, st IssueState) (bool, error) {
	return s.applyIssueAt(ctx, st, s.now())
}

// applyIssueAt is ApplyIssue at now.
func (s *Service) applyIssueAt(ctx context.Context, st IssueState, now time.Time) (bool, error) {
	// The tracker's texts are quoted in posts: none may carry a time
	// token (bot.DefuseTimes).
	st.URL, st.Actor = bot.DefuseTimes(st.URL), bot.DefuseTimes(st.Actor)
	st.Assignees = slices.Clone(st.Assignees)
	for i, a := range st.Assignees {
		st.Assignees[i] = bot.DefuseTimes(a)
	}
	key, ok := IssueKey(st.Body)
	if !ok {
		return false, nil
	}
	incID, n, ok := ParseCountermeasureKey(key)
	if !ok {
		return false, nil
	}
	return s.applyIssueTo(ctx, incID, n, st, now)
}

// applyIssueTo applies st to countermeasure n of incident incID, known
// otherwise than by a marker (a deleted issue has no body).
func (s *Service) applyIssueTo(ctx context.Context, incID string, n int, st IssueState, now time.Time) (bool, error) {
	key := CountermeasureKey(incID, n)
	changed := false
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		changed = false
		inc, err := tx.Incident(incID)
		if bot.ErrorCode(err) == bot.ENOTFOUND {
			return nil
		}
		if err != nil {
			return err
		}
		if n > len(inc.Countermeasures) {
			return nil
		}
		changed, err = s.applyIssue(tx, inc, n, st, now)
		return err
	})
	if errors.Is(err, errDuplicate) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("workflows: apply issue #%d (%s): %w", st.Number, key, err)
	}
	if changed {
		s.kick()
	}
	return changed, nil
}

// applyIssue applies st to countermeasure n of inc within tx and saves inc
// if anything changed.
func (s *Service) applyIssue(tx store.Tx, inc *bot.Incident, n int, st IssueState, now time.Time) (bool, error) {
	cm := &inc.Countermeasures[n-1]
	moved := st.MovedFrom.Number != 0
	switch {
	case cm.Issue == 0:
		if !st.ByUs || st.Repo != "" || st.Gone || moved {
			return false, nil // not yet tied, and not created by our token in our repository
		}
	case moved && cm.Issue == st.MovedFrom.Number && strings.EqualFold(cm.Repo, st.MovedFrom.Repo):
		// Transferred: followed below.
	case cm.Issue == st.Number && strings.EqualFold(cm.Repo, st.Repo):
		moved = false // already followed, or not moved
	default:
		return false, nil // a copy of the marker on some other issue
	}
	if cm.IssueGone {
		return false, nil // settled by hand since; nothing comes back from a deletion
	}
	if !st.UpdatedAt.IsZero() && st.UpdatedAt.Before(cm.TrackerAt) && !moved && !st.Gone {
		return false, nil // older news than what we have
	}
	author := outbox.BotUser(trackerPlatform)
	by := ""
	if st.Actor != "" {
		author = bot.User{Platform: trackerPlatform, ID: st.Actor, Name: st.Actor}
		by = " by @" + st.Actor
	}
	var events []bot.TimelineEvent
	event := func(text string) {
		events = append(events, bot.TimelineEvent{
			IncidentID: inc.ID, Kind: bot.EventAction, Author: author, Text: text, URL: cm.Tracker,
			PlatformAt: st.UpdatedAt, RecordedAt: now,
		})
	}
	var posts []string
	nudges := false // reschedule the nudges
	stop := false   // stop them

	if st.Gone {
		// Deleted: the link is dead and nothing on the tracker can settle
		// it any more, so people do (action done, action drop). The
		// nudges go on until then, saying how.
		ref := CountermeasureKey(inc.ID, cm.N)
		event(fmt.Sprintf("countermeasure #%d: its issue #%d was deleted%s", cm.N, cm.Issue, by))
		cm.IssueGone, cm.Tracker = true, ""
		if !cm.Settled() {
			posts = append(posts, fmt.Sprintf("%s: the issue of countermeasure #%d of %s (%s) was deleted on GitHub. "+
				"Settle it here when it is in place or decided against: /incident action done %s, or /incident action drop %s.",
				cm.Owner.Display(), cm.N, inc.ID, cm.Text, ref, ref))
			nudges = true
		}
		return s.commitIssue(tx, inc, cm, st, now, events, posts, false, nudges, false)
	}
	if moved {
		from := fmt.Sprintf("#%d", cm.Issue)
		if cm.Repo != "" {
			from = cm.Repo + from
		}
		to := fmt.Sprintf("#%d", st.Number)
		if st.Repo != "" {
			to = st.Repo + to
		}
		cm.Issue, cm.Repo, cm.Tracker = st.Number, st.Repo, st.URL
		event(fmt.Sprintf("countermeasure #%d: its issue %s was transferred to %s%s", cm.N, from, to, by))
		posts = append(posts, fmt.Sprintf("Countermeasure #%d of %s is now tracked in %s (transferred from %s).", cm.N, inc.ID, cm.Tracker, from))
	}
	first := cm.Issue == 0
	if first {
		cm.Issue, cm.Tracker = st.Number, st.URL
		if cm.State == bot.CMOpen {
			cm.State = bot.CMFiled
		}
		event(fmt.Sprintf("countermeasure #%d filed as issue #%d", cm.N, st.Number))
		posts = append(posts, fmt.Sprintf("Countermeasure #%d of %s is filed: %s (owner %s, due %s)",
			cm.N, inc.ID, cm.Tracker, cm.Owner.Display(), cm.Due))
	}
	switch {
	case st.Closed && st.NotPlanned && cm.State != bot.CMDropped:
		// Closed as not planned: decided against, which is not done.
		cm.State, cm.DroppedAt, cm.DoneAt = bot.CMDropped, now, time.Time{}
		event(fmt.Sprintf("countermeasure #%d dropped: issue #%d closed as not planned%s", cm.N, cm.Issue, by))
		posts = append(posts, fmt.Sprintf("Countermeasure #%d of %s is dropped: its issue was closed as not planned (%s). "+
			"It will not be done, and is not counted as done. %s", cm.N, inc.ID, cm.Text, cm.Tracker))
		stop = true
	case st.Closed && !st.NotPlanned && cm.State != bot.CMDone:
		cm.State, cm.DoneAt, cm.DroppedAt = bot.CMDone, now, time.Time{}
		event(fmt.Sprintf("countermeasure #%d done: issue #%d closed%s", cm.N, cm.Issue, by))
		posts = append(posts, fmt.Sprintf("Thank you %s: countermeasure #%d of %s is done (%s). %s",
			cm.Owner.Display(), cm.N, inc.ID, cm.Text, cm.Tracker))
		stop = true
	case !st.Closed && cm.Settled():
		cm.State, cm.DoneAt, cm.DroppedAt = bot.CMFiled, time.Time{}, time.Time{}
		event(fmt.Sprintf("countermeasure #%d reopened: issue #%d reopened%s", cm.N, cm.Issue, by))
		nudges = true
	}
	if due, ok := IssueDue(st.Body); ok && due != cm.Due {
		event(fmt.Sprintf("countermeasure #%d due date moved from %s to %s%s", cm.N, cm.Due, due, by))
		cm.Due = due
		nudges = !cm.Settled()
	}
	assignee := ""
	if len(st.Assignees) > 0 {
		assignee = st.Assignees[0]
	}
	if assignee != cm.Assignee {
		if !first {
			if assignee == "" {
				event(fmt.Sprintf("countermeasure #%d unassigned on GitHub%s", cm.N, by))
			} else {
				event(fmt.Sprintf("countermeasure #%d assigned to @%s on GitHub%s", cm.N, assignee, by))
			}
		}
		cm.Assignee = assignee
	}
	if st.UpdatedAt.After(cm.TrackerAt) {
		cm.TrackerAt = st.UpdatedAt
	}
	return s.commitIssue(tx, inc, cm, st, now, events, posts, stop, nudges, first)
}

// commitIssue records what applyIssue found within tx: the timeline
// entries (deduplicated by the webhook delivery), the posts, the nudges
// stopped or rescheduled, the incident, and a refreshed write-up.
func (s *Service) commitIssue(tx store.Tx, inc *bot.Incident, cm *bot.Countermeasure, st IssueState, now time.Time,
	events []bot.TimelineEvent, posts []string, stop, nudges, first bool) (bool, error) {
	if len(events) == 0 {
		return false, nil
	}
	for i := range events {
		if st.Delivery != "" {
			events[i].DedupeKey = st.Delivery
			if i > 0 {
				events[i].DedupeKey += "/" + strconv.Itoa(i+1)
			}
		}
		_, dup, err := tx.AppendEvent(events[i])
		if err != nil {
			return false, fmt.Errorf("workflows: timeline %s: %w", inc.ID, err)
		}
		if dup {
			return false, errDuplicate
		}
	}
	for _, text := range posts {
		if err := s.queue(tx, inc, now).postOrAnnounce(text); err != nil {
			return false, err
		}
	}
	key := countermeasureReminderKey(inc.ID, cm.N)
	switch {
	case stop:
		if err := tx.DeleteReminder(key); err != nil {
			return false, fmt.Errorf("workflows: stop nudges of %s#%d: %w", inc.ID, cm.N, err)
		}
	case nudges:
		if err := s.Nudges().schedule(tx, inc, *cm, now); err != nil {
			return false, err
		}
	}
	if err := tx.PutIncident(inc); err != nil {
		return false, fmt.Errorf("workflows: put %s: %w", inc.ID, err)
	}
	// A closed incident's published write-up shows its countermeasures'
	// states: keep it current.
	if inc.Status == bot.StatusClosed && s.Publisher != nil && !first {
		if err := s.queuePublish(tx, inc, now); err != nil {
			return false, err
		}
	}
	return true, nil
}

// FileUnfiled queues the filing of every countermeasure that is still open
// and has no filing pending: those recorded before a tracker was
// configured, and those whose filing was dropped (a refused token, a
// mistyped repository) before the operator fixed it. It runs once at start.
// The filings look for an existing issue first, so running it again files
// nothing twice. It returns how many it queued.
func (s *Service) FileUnfiled(ctx context.Context) (int, error) {
	if s.Tracker == nil {
		return 0, nil
	}
	// Found in a read transaction, which decodes every incident and no
	// writer waits for; then filed in a write transaction that reads only
	// the incidents found, and checks each again.
	var todo map[string][]int // incident ID -> countermeasure numbers
	unfiled := func(inc *bot.Incident, cm bot.Countermeasure, pending map[string]bool) bool {
		return cm.State == bot.CMOpen && !pending[CountermeasureKey(inc.ID, cm.N)]
	}
	err := s.Store.View(ctx, func(tx store.ReadTx) error {
		todo = map[string][]int{}
		pending, err := pendingFilings(tx)
		if err != nil {
			return err
		}
		incs, err := tx.Incidents()
		if err != nil {
			return err
		}
		for _, inc := range incs {
			for _, cm := range inc.Countermeasures {
				if unfiled(inc, cm, pending) {
					todo[inc.ID] = append(todo[inc.ID], cm.N)
				}
			}
		}
		return nil
	})
	queued := 0
	if err == nil && len(todo) > 0 {
		err = s.Store.Update(ctx, func(tx store.Tx) error {
			queued = 0
			pending, err := pendingFilings(tx)
			if err != nil {
				return err
			}
			now := s.now()
			for id, ns := range todo {
				inc, err := tx.Incident(id)
				if err != nil {
					return err
				}
				for _, cm := range inc.Countermeasures {
					if !slices.Contains(ns, cm.N) || !unfiled(inc, cm, pending) {
						continue
					}
					if err := s.fileIssue(tx, inc, cm, now, true); err != nil {
						return err
					}
					queued++
				}
			}
			return nil
		})
	}
	if err != nil {
		return 0, fmt.Errorf("workflows: file unfiled countermeasures: %w", err)
	}
	if queued > 0 {
		s.log().InfoContext(ctx, "filing countermeasures that were never filed", "platform", trackerPlatform, "count", queued)
		s.kick()
	}
	return queued, nil
}

// pendingFilings returns the keys of the issue filings in the outbox.
func pendingFilings(tx store.ReadTx) (map[string]bool, error) {
	effects, err := tx.Effects()
	if err != nil {
		return nil, err
	}
	pending := map[string]bool{}
	for _, e := range effects {
		if e.Kind == (FileIssue{}).EffectKind() {
			pending[e.Key] = true
		}
	}
	return pending, nil
}

// metaReconcileCursor is the store key of the tracker's last update seen by
// the Reconciler.
const metaReconcileCursor = "tracker/reconcile_since"

// Reconciler is the loop that asks the tracker for the countermeasure
// issues updated since the last sync and applies each like a webhook
// delivery (ApplyIssue): GitHub does not redeliver a webhook that failed,
// so without it a missed close would never be seen.
type Reconciler struct {
	s     *Service
	every time.Duration
}

// DefaultReconcileEvery is how often the Reconciler runs when
// Service.ReconcileEvery is zero: the bound on how late a close whose
// webhook was lost is noticed (README, "Reconcile").
const DefaultReconcileEvery = 10 * time.Minute

// Reconciler returns the Service's reconcile loop, run every
// Service.ReconcileEvery (DefaultReconcileEvery when zero).
func (s *Service) Reconciler() *Reconciler {
	every := s.ReconcileEvery
	if every <= 0 {
		every = DefaultReconcileEvery
	}
	return &Reconciler{s: s, every: every}
}

// Tick applies the issues updated since the last sync at now. The cursor
// is the newest update applied, kept in the store; it moves only after
// every issue up to it was applied. It returns how many issues changed
// something; nothing without a Tracker.
func (r *Reconciler) Tick(ctx context.Context, now time.Time) (int, error) {
	s := r.s
	if s.Tracker == nil {
		return 0, nil
	}
	var since time.Time
	err := s.Store.View(ctx, func(tx store.ReadTx) error {
		v, ok, err := tx.Meta(metaReconcileCursor)
		if err != nil || !ok {
			return err
		}
		since, err = time.Parse(time.RFC3339Nano, v)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("workflows: reconcile cursor: %w", err)
	}
	issues, err := s.Tracker.UpdatedIssues(ctx, since)
	if err != nil {
		return 0, fmt.Errorf("workflows: reconcile since %s: %w", since.Format(time.RFC3339), err)
	}
	changed := 0
	newest := since
	for _, st := range issues {
		ok, err := s.applyIssueAt(ctx, st, now)
		if err != nil {
			return changed, err
		}
		if ok {
			changed++
		}
		if st.UpdatedAt.After(newest) {
			newest = st.UpdatedAt
		}
	}
	if newest.After(since) {
		err := s.Store.Update(ctx, func(tx store.Tx) error {
			return tx.PutMeta(metaReconcileCursor, newest.UTC().Format(time.RFC3339Nano))
		})
		if err != nil {
			return changed, fmt.Errorf("workflows: reconcile cursor: %w", err)
		}
	}
	checked, err := r.check(ctx, issues, now)
	changed += checked
	if err != nil {
		return changed, err
	}
	if changed > 0 {
		s.log().InfoContext(ctx, "reconciled countermeasure issues", "platform", trackerPlatform, "changed", changed, "listed", len(issues))
	}
	return changed, nil
}

// metaSweepAt is the store key of the time the Reconciler last read every
// unsettled countermeasure's issue (check).
const metaSweepAt = "tracker/sweep_at"

// SweepEvery is how often the Reconciler reads, one by one, the issues of
// the unsettled countermeasures in the tracker's own repository, to find
// the deleted and transferred ones the listing cannot show: a deleted
// issue is in no list, a transferred one is listed in another repository.
// Those already transferred elsewhere are read at every tick.
const SweepEvery = 6 * time.Hour

// check reads the issues the listing cannot show (IssueGetter) and applies
// them: at every tick those transferred out of the tracker's repository,
// and every SweepEvery the rest of the unsettled ones not listed just now.
// A 404 or 410 is a deleted issue, a 301 a transferred one
// (adapters/github). A failure to read one is logged and left to the next
// tick. It returns how many changed something.
func (r *Reconciler) check(ctx context.Context, listed []IssueState, now time.Time) (int, error) {
	s := r.s
	getter, ok := s.Tracker.(IssueGetter)
	if !ok {
		return 0, nil
	}
	seen := map[int]bool{}
	for _, st := range listed {
		if st.Repo == "" {
			seen[st.Number] = true
		}
	}
	type target struct {
		inc string
		n   int
		ref IssueRef
	}
	var targets []target
	sweep := false
	err := s.Store.View(ctx, func(tx store.ReadTx) error {
		v, ok, err := tx.Meta(metaSweepAt)
		if err != nil {
			return err
		}
		last, _ := time.Parse(time.RFC3339Nano, v)
		sweep = !ok || now.Sub(last) >= SweepEvery || now.Before(last)
		incs, err := tx.Incidents()
		if err != nil {
			return err
		}
		for _, inc := range incs {
			for _, cm := range inc.Countermeasures {
				if cm.Issue == 0 || cm.IssueGone || cm.Settled() {
					continue
				}
				if cm.Repo != "" || sweep && !seen[cm.Issue] {
					targets = append(targets, target{inc.ID, cm.N, IssueRef{Repo: cm.Repo, Number: cm.Issue}})
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("workflows: reconcile check: %w", err)
	}
	changed := 0
	for _, t := range targets {
		st, err := getter.Issue(ctx, t.ref)
		if err != nil {
			if ctx.Err() != nil {
				return changed, ctx.Err()
			}
			s.log().WarnContext(ctx, "countermeasure issue unreadable", "platform", trackerPlatform, "incident", t.inc,
				"issue", t.ref.Number, "repo", t.ref.Repo, "err", err)
			var wait *RetryAfterError
			if errors.As(err, &wait) {
				// Rate-limited: the rest waits for the next tick, and the
				// sweep is not counted as done.
				return changed, nil
			}
			continue
		}
		ok, err := s.applyIssueTo(ctx, t.inc, t.n, st, now)
		if err != nil {
			return changed, err
		}
		if ok {
			changed++
		}
	}
	if sweep {
		err := s.Store.Update(ctx, func(tx store.Tx) error {
			return tx.PutMeta(metaSweepAt, now.UTC().Format(time.RFC3339Nano))
		})
		if err != nil {
			return changed, fmt.Errorf("workflows: reconcile sweep: %w", err)
		}
	}
	return changed, nil
}

// Run reconciles once at start and then every interval until ctx is done.
func (r *Reconciler) Run(ctx context.Context) error {
	run := func() error {
		_, err := r.Tick(ctx, r.s.now())
		return err
	}
	if err := run(); err != nil && ctx.Err() == nil {
		r.s.log().WarnContext(ctx, "reconcile failed", "platform", trackerPlatform, "err", err)
	}
	return r.s.runCron(ctx, "@every "+r.every.String(), "reconcile", run)
}

// issueLabels are the labels of inc's countermeasure issues; a drill's
// say it came from a drill.
func issueLabels(inc *bot.Incident) []string {
	ls := []string{bot.IssueLabel, inc.Severity.String(), inc.ID}
	if inc.IsDrill() {
		ls = append(ls, "drill")
	}
	return ls
}
