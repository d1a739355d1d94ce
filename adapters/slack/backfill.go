package slack

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
	slackgo "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// The backfill (README, "None lost while debrief was down"): on start, and
// after every Socket Mode reconnect, each open incident's channel is read
// back from conversations.history (and conversations.replies for threads)
// since the last message stored from it, and what is missing is recorded
// with its original time, marked recovered. Each entry has the dedupe key
// the live event would have had, so a message both read back and
// redelivered by Slack is stored once, whichever comes first.
const (
	// historyPage is the page size asked of conversations.history and
	// .replies: Slack's advice for paging (it allows up to 999).
	historyPage = 200
	// recordWorkers bounds the recovered entries committed at once: they
	// are keyed at their platform time, so order of commit does not
	// matter, and concurrent appends share the store's group commit.
	recordWorkers = 64
	// rateLimitTries bounds the waits for one call that Slack keeps
	// rate limiting.
	rateLimitTries = 20
	// backfillRetry is how long a failed backfill waits before it runs
	// again (a reconnect runs it sooner).
	backfillRetry = time.Minute
)

// BackfillStats is what one backfill did.
type BackfillStats struct {
	Channels int // incident channels read back
	Calls    int // conversations.history and .replies pages read
	Messages int // messages (and files) recorded that were missing
	Edits    int // edits recorded that were missing
	Deletes  int // deletes recorded that were missing
	// RateLimited is how many times Slack answered 429 and was waited out.
	RateLimited int
}

// Backfill reads back every open incident's Slack channel and records the
// messages, edits and deletes missing from its timeline. It runs beside
// the live events, never on their path. It returns the first error of
// each channel it could not read, after trying every channel.
func (s *Slack) Backfill(ctx context.Context) (BackfillStats, error) {
	var st BackfillStats
	if _, err := s.identity(ctx); err != nil {
		// Without it the bot's own messages could not be told apart.
		return st, err
	}
	catchups, err := s.svc.Catchups(ctx, bot.Slack)
	if err != nil {
		return st, err
	}
	var errs []error
	for _, c := range catchups {
		if err := s.backfillChannel(ctx, c, &st); err != nil {
			if ctx.Err() != nil {
				return st, err
			}
			var pe *workflows.PermanentError
			if errors.As(err, &pe) {
				// Deleted, or the bot removed from it: trying again would
				// fail again, so it is logged and the run goes on.
				s.log.WarnContext(ctx, "backfill: the channel cannot be read back", "incident", c.IncidentID,
					"channel", c.Channel.ID, "err", err)
				continue
			}
			errs = append(errs, fmt.Errorf("slack: backfill %s (%s): %w", c.IncidentID, c.Channel.ID, err))
		}
	}
	return st, errors.Join(errs...)
}

// stored is what the timeline holds of one message.
type stored struct {
	ev      bot.TimelineEvent
	deleted bool
}

// backfill is one channel's read-back.
type backfill struct {
	s  *Slack
	ch string
	st *BackfillStats
	// since is the ts of the last message stored (exclusive); oldest is
	// where the read starts, as far back as the stored messages compared
	// for edits and deletes.
	since, oldest string
	inclusive     bool
	// known are the messages the timeline has, by ts; checked are those of
	// them (people's messages and files) a delete is recorded for when
	// they are gone from Slack.
	known   map[string]stored
	checked map[string]stored
	// seen are the ts read back; threads the threads to read, fetched
	// those read.
	mu      sync.Mutex
	seen    map[string]bool
	threads map[string]bool
	fetched map[string]bool
}

func (s *Slack) backfillChannel(ctx context.Context, c workflows.Catchup, st *BackfillStats) error {
	b := &backfill{s: s, ch: c.Channel.ID, st: st, since: tsOf(c.Since),
		known: map[string]stored{}, checked: map[string]stored{},
		seen: map[string]bool{}, threads: map[string]bool{}, fetched: map[string]bool{}}
	// What is stored was read (Catchups) before the history: a message
	// stored after that read is not compared, so a live message that
	// arrives during the backfill is never taken for one deleted. Only the
	// last workflows.CatchupLookback entries are compared; older messages
	// are not read again.
	b.readStored(c.Recent)
	cursor := ""
	for {
		var page *slackgo.GetConversationHistoryResponse
		err := s.patiently(ctx, "conversations.history", st, func() error {
			var err error
			page, err = s.api.GetConversationHistoryContext(ctx, &slackgo.GetConversationHistoryParameters{
				ChannelID: b.ch, Oldest: b.oldest, Inclusive: b.inclusive, Limit: historyPage, Cursor: cursor,
			})
			return err
		})
		if err != nil {
			return classify("conversations.history "+b.ch, err)
		}
		st.Calls++
		for _, m := range page.Messages {
			if m.ReplyCount > 0 && (m.LatestReply == "" || !tsLess(m.LatestReply, b.oldest)) {
				b.threads[m.Timestamp] = true
			}
		}
		if err := b.record(ctx, page.Messages); err != nil {
			return err
		}
		cursor = page.ResponseMetaData.NextCursor
		if !page.HasMore || cursor == "" {
			break
		}
	}
	st.Channels++
	for _, ts := range slices.Sorted(maps.Keys(b.threads)) {
		if err := b.thread(ctx, ts); err != nil {
			return err
		}
	}
	return b.deletes(ctx)
}

// readStored takes in the incident's last entries (Catchup.Recent): the
// messages it has, and where the history read starts.
func (b *backfill) readStored(tail []bot.TimelineEvent) {
	b.oldest = b.since
	for _, ev := range tail {
		if ev.MessageID == "" || ev.Author.Platform != bot.Slack || parseTS(ev.MessageID).IsZero() {
			continue
		}
		switch ev.Kind {
		case bot.EventDelete:
			k := b.known[ev.MessageID]
			k.deleted = true
			b.known[ev.MessageID] = k
			delete(b.checked, ev.MessageID)
			continue
		case bot.EventMessage, bot.EventFile:
			if _, ok := b.checked[ev.MessageID]; !ok || ev.Kind == bot.EventMessage {
				if k := b.known[ev.MessageID]; !k.deleted {
					b.checked[ev.MessageID] = stored{ev: ev}
				}
			}
			if ev.ThreadID != "" {
				b.threads[ev.ThreadID] = true
			}
			if tsLess(ev.MessageID, b.oldest) {
				b.oldest, b.inclusive = ev.MessageID, true
			}
		case bot.EventBot, bot.EventEdit:
		default:
			continue // a pin or key reaction names a message; it is not one
		}
		if _, ok := b.known[ev.MessageID]; !ok {
			b.known[ev.MessageID] = stored{ev: ev}
		}
	}
}

// record records what a page read back says: messages missing from the
// timeline, edits made since, deletes of thread parents (tombstones).
func (b *backfill) record(ctx context.Context, msgs []slackgo.Message) error {
	var evs []bot.TimelineEvent
	users := make([]string, 0, len(msgs))
	for _, m := range msgs {
		users = append(users, m.User)
	}
	lctx, cancel := context.WithTimeout(ctx, b.s.lookupBudget())
	b.s.prefetch(lctx, users)
	cancel()
	for _, hm := range msgs {
		m := historyMessage(hm)
		if m.TS == "" {
			continue
		}
		b.mu.Lock()
		b.seen[m.TS] = true
		b.mu.Unlock()
		k, stored := b.known[m.TS]
		if m.Subtype == subtypeTombstone {
			if c, ok := b.checked[m.TS]; ok && !k.deleted {
				evs = append(evs, b.deleteOf(c.ev))
			}
			continue
		}
		if !stored {
			for _, ev := range b.s.messageEvents(ctx, &inner{Type: string(slackevents.Message), Subtype: m.Subtype, Channel: b.ch, message: m}) {
				if ev.Kind == bot.EventEdit || ev.Kind == bot.EventDelete {
					continue
				}
				evs = append(evs, ev)
			}
		}
		if m.Edited != nil && m.Edited.TimeStamp != "" && tsLess(b.since, m.Edited.TimeStamp) && !k.deleted {
			evs = append(evs, b.s.editOf(ctx, b.ch, m, m.Edited.TimeStamp))
		}
	}
	return b.commit(ctx, evs, recordWorkers)
}

// deleteOf is the delete of a stored message, as the live message_deleted
// would record it. When it happened is unknown: it is recorded when found.
func (b *backfill) deleteOf(ev bot.TimelineEvent) bot.TimelineEvent {
	return bot.TimelineEvent{
		Kind: bot.EventDelete, Author: ev.Author, Text: ev.Text, URL: ev.URL,
		MessageID: ev.MessageID, ThreadID: ev.ThreadID,
		DedupeKey: deleteKey(b.ch, ev.MessageID),
	}
}

// thread reads a thread's replies since the read's start.
func (b *backfill) thread(ctx context.Context, ts string) error {
	cursor := ""
	for {
		var msgs []slackgo.Message
		var more bool
		var next string
		err := b.s.patiently(ctx, "conversations.replies", b.st, func() error {
			var err error
			msgs, more, next, err = b.s.api.GetConversationRepliesContext(ctx, &slackgo.GetConversationRepliesParameters{
				ChannelID: b.ch, Timestamp: ts, Oldest: b.oldest, Inclusive: b.inclusive, Limit: historyPage, Cursor: cursor,
			})
			return err
		})
		if slackError(err) == "thread_not_found" {
			// The parent and every reply are gone: all deleted.
			b.fetched[ts] = true
			return nil
		}
		if err != nil {
			return classify("conversations.replies "+b.ch+" "+ts, err)
		}
		b.st.Calls++
		replies := msgs[:0:0]
		for _, m := range msgs {
			if m.Timestamp != ts {
				replies = append(replies, m)
			}
		}
		if err := b.record(ctx, replies); err != nil {
			return err
		}
		if !more || next == "" {
			b.fetched[ts] = true
			return nil
		}
		cursor = next
	}
}

// deletes records the delete of every stored message read back no more.
// A reply whose thread was not read is left alone: its absence says
// nothing.
func (b *backfill) deletes(ctx context.Context) error {
	var evs []bot.TimelineEvent
	for ts, c := range b.checked {
		if b.seen[ts] || tsLess(ts, b.oldest) {
			continue
		}
		if c.ev.ThreadID != "" && !b.fetched[c.ev.ThreadID] {
			continue
		}
		evs = append(evs, b.deleteOf(c.ev))
	}
	slices.SortFunc(evs, func(x, y bot.TimelineEvent) int {
		if tsLess(x.MessageID, y.MessageID) {
			return -1
		}
		if x.MessageID == y.MessageID {
			return 0
		}
		return 1
	})
	// One at a time: they share the time they are found at, and their
	// commit order is their order.
	return b.commit(ctx, evs, 1)
}

// commit records evs as recovered, at most workers at once.
func (b *backfill) commit(ctx context.Context, evs []bot.TimelineEvent, workers int) error {
	if len(evs) == 0 {
		return nil
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	sem := make(chan struct{}, workers)
	for _, ev := range evs {
		ev.Recovered = true
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			_, err := b.s.svc.Record(ctx, bot.Channel{Platform: bot.Slack, ID: b.ch}, ev)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case bot.ErrorCode(err) == bot.EINVALID:
				b.s.log.WarnContext(ctx, "recovered message dropped: it cannot be stored", "channel", b.ch, "ts", ev.MessageID, "err", err)
			case err != nil:
				if first == nil {
					first = err
				}
			case ev.Kind == bot.EventEdit:
				b.st.Edits++
			case ev.Kind == bot.EventDelete:
				b.st.Deletes++
			default:
				b.st.Messages++
			}
		})
	}
	wg.Wait()
	return first
}

// patiently calls fn, waiting out Slack's rate limits (HTTP 429 with
// Retry-After) on the adapter's clock, up to rateLimitTries times.
func (s *Slack) patiently(ctx context.Context, method string, st *BackfillStats, fn func() error) error {
	for try := 1; ; try++ {
		err := fn()
		var rl *slackgo.RateLimitedError
		if !errors.As(err, &rl) || try == rateLimitTries {
			return err
		}
		st.RateLimited++
		wait := rl.RetryAfter
		if wait <= 0 {
			wait = time.Second
		}
		s.log.InfoContext(ctx, "rate limited; waiting", "method", method, "retry_after", wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.after(wait):
		}
	}
}

// historyMessage is a message read from the Web API as events carry it.
func historyMessage(m slackgo.Message) message {
	msg := message{
		User: m.User, BotID: m.BotID, Username: m.Username, Text: m.Text, TS: m.Timestamp,
		ThreadTS: m.ThreadTimestamp, Subtype: m.SubType, atts: m.Attachments,
	}
	if len(m.Blocks.BlockSet) > 0 {
		msg.blocks = &m.Blocks
	}
	if m.Edited != nil {
		msg.Edited = &slackevents.Edited{User: m.Edited.User, TimeStamp: m.Edited.Timestamp}
	}
	for _, f := range m.Files {
		msg.Files = append(msg.Files, file{ID: f.ID, Name: f.Name, Title: f.Title, Permalink: f.Permalink, FileAccess: f.FileAccess})
	}
	return msg
}

// tsOf is t as a Slack ts.
func tsOf(t time.Time) string {
	return fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000)
}

// tsLess orders Slack timestamps: seconds, then microseconds.
func tsLess(a, b string) bool {
	ta, tb := parseTS(a), parseTS(b)
	return ta.Before(tb)
}

// backfills runs Backfill each time kick is called, one run at a time (a
// kick during a run makes one more run after it), until ctx is done; a
// failed run is tried again after backfillRetry. wait returns once the
// loop has stopped.
func (s *Slack) backfills(ctx context.Context) (kick func(), wait func()) {
	kicks := make(chan struct{}, 1)
	kick = func() {
		select {
		case kicks <- struct{}{}:
		default: // one is pending already
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-kicks:
			}
			for {
				start := time.Now()
				st, err := s.Backfill(ctx)
				if s.cfg.OnBackfill != nil {
					s.cfg.OnBackfill(st, err)
				}
				if ctx.Err() != nil {
					return
				}
				args := []any{"channels", st.Channels, "calls", st.Calls, "messages", st.Messages, "edits", st.Edits,
					"deletes", st.Deletes, "rate_limited", st.RateLimited, "took", time.Since(start).Round(time.Millisecond)}
				if err == nil {
					s.log.InfoContext(ctx, "backfill done", args...)
					break
				}
				s.log.WarnContext(ctx, "backfill failed; trying again", append(args, "err", err)...)
				select {
				case <-ctx.Done():
					return
				case <-kicks:
				case <-s.after(backfillRetry):
				}
			}
		}
	}()
	return kick, func() { <-done }
}
