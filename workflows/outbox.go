package workflows

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
)

// Chat is what a chat adapter does for the outbox. Each method is retried
// until it succeeds, so each must be safe to repeat: key is the effect's
// idempotency key, for platforms that can use one.
//
// Methods return *RetryAfterError when the platform asks to slow down and
// a PermanentError when retrying cannot help; any other error is retried
// with exponential backoff.
type Chat interface {
	// CreateChannel creates the incident's channel named name (or a free
	// variant of it) and returns its ID.
	CreateChannel(ctx context.Context, key, name string) (channelID string, err error)
	// Post posts text in the channel and returns the message's ID.
	Post(ctx context.Context, key, channelID, text string) (messageID string, err error)
	// Invite adds the users to the channel; users already in it are fine.
	Invite(ctx context.Context, channelID string, users []bot.User) error
	// Pin pins the message.
	Pin(ctx context.Context, channelID, messageID string) error
	// SetTopic sets the channel's topic.
	SetTopic(ctx context.Context, channelID, topic string) error
	// Archive archives (or locks) the channel.
	Archive(ctx context.Context, channelID string) error
}

// FilePoster is a Chat that can attach files (the meeting's .ics, the
// write-up). Platforms that cannot get the file's text as a message.
type FilePoster interface {
	// PostFile attaches a file named name with content to the channel,
	// with comment as its message, and returns the message's ID.
	PostFile(ctx context.Context, key, channelID, name, content, comment string) (messageID string, err error)
}

// Publisher commits a closed incident's write-up where engineers already
// search (GitHub: the contents API in GITHUB_REPO).
type Publisher interface {
	// Publish creates or updates the file at path with content, keeping
	// its history, and returns a link to it.
	Publish(ctx context.Context, key, path, content, message string) (url string, err error)
}

// publishPlatform is the outbox lane of publishing: it is not a chat.
const publishPlatform bot.Platform = "publish"

// RetryAfterError says the platform asked us to wait (HTTP 429 with
// Retry-After, Discord's retry_after). The outbox waits exactly that long.
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("retry after %s: %v", e.After, e.Err)
}

func (e *RetryAfterError) Unwrap() error { return e.Err }

// PermanentError marks a failure that retrying cannot fix (the channel was
// deleted, the bot was removed). The effect is dropped, and the drop is
// recorded in the incident's timeline so that nothing vanishes silently.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Backoff bounds for effects that fail without a Retry-After.
const (
	backoffBase = 2 * time.Second
	backoffMax  = 10 * time.Minute
)

// Backoff returns the wait after the given number of failed attempts:
// exponential from 2 s, capped at 10 min, with jitter in [d/2, d) so that
// many effects failing together do not retry together. j is in [0,1).
func Backoff(attempts int, j float64) time.Duration {
	d := backoffBase
	for i := 1; i < attempts && d < backoffMax; i++ {
		d *= 2
	}
	d = min(d, backoffMax)
	return d/2 + time.Duration(j*float64(d/2))
}

// DeliverDue makes one pass over the outbox at the injected clock's now:
// every effect whose time has come is attempted once, in ID order. Effects
// aimed at an incident channel wait while an earlier effect for the same
// channel is pending, so messages keep their order and nothing is posted
// before the channel exists. It returns how many effects were delivered.
func (s *Service) DeliverDue(ctx context.Context) (int, error) {
	var pending []store.Effect
	channels := map[string]map[bot.Platform]string{}
	err := s.Store.View(ctx, func(tx store.ReadTx) error {
		var err error
		if pending, err = tx.Effects(); err != nil {
			return err
		}
		for _, e := range pending {
			if _, ok := channels[e.IncidentID]; ok || e.IncidentID == "" {
				continue
			}
			inc, err := tx.Incident(e.IncidentID)
			if err != nil {
				return err
			}
			channels[e.IncidentID] = inc.Channels
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("workflows: outbox: %w", err)
	}
	s.metrics().OutboxDepth.Set(float64(len(pending)))
	now := s.now()
	blocked := map[string]bool{}
	delivered := 0
	for _, e := range pending {
		if err := ctx.Err(); err != nil {
			return delivered, err
		}
		lane := laneOf(e)
		if blocked[lane] {
			continue
		}
		ch := e.ChannelID
		if ch == "" {
			ch = channels[e.IncidentID][e.Platform]
		}
		chat := s.Chats[e.Platform]
		if e.NextAt.After(now) || !s.sinkReady(e) || (needsChannel(e.Kind) && ch == "") {
			blocked[lane] = true
			continue
		}
		retry := e.Sent
		if e.Kind == store.EffectFileIssue && !e.Sent {
			// Durably, before the call: if the process dies while the
			// tracker creates the issue, the next attempt looks for it.
			e.Sent = true
			if err := s.Store.Update(ctx, func(tx store.Tx) error { return tx.UpdateEffect(e) }); err != nil {
				return delivered, fmt.Errorf("workflows: outbox %s %s: %w", e.Kind, e.Key, err)
			}
		}
		result, err := s.attempt(ctx, chat, e, ch, retry)
		if err != nil {
			blocked[lane] = true
			if err := s.failed(ctx, e, err, now); err != nil {
				return delivered, err
			}
			continue
		}
		if err := s.delivered(ctx, e, result); err != nil {
			return delivered, err
		}
		if e.Kind == store.EffectCreateChannel {
			if channels[e.IncidentID] == nil {
				channels[e.IncidentID] = map[bot.Platform]string{}
			}
			channels[e.IncidentID][e.Platform] = result.id
		}
		delivered++
	}
	return delivered, nil
}

// laneOf is the ordering domain of an effect: effects in one lane are
// delivered in ID order, one lane's failure does not hold up another.
func laneOf(e store.Effect) string {
	if e.ChannelID != "" {
		return string(e.Platform) + "/" + e.ChannelID
	}
	return string(e.Platform) + "/" + e.IncidentID
}

// outcome is what a delivered effect returns: the ID of what it created
// (channel, message, published file's URL) or the filed issue.
type outcome struct {
	id    string
	issue IssueState
}

// sinkReady reports whether whoever delivers e is configured: the
// tracker, the publisher, or the Chat of e's platform.
func (s *Service) sinkReady(e store.Effect) bool {
	switch e.Kind {
	case store.EffectFileIssue:
		return s.Tracker != nil
	case store.EffectPublish:
		return s.Publisher != nil
	}
	return s.Chats[e.Platform] != nil
}

// needsChannel reports whether e goes into a chat channel that must exist
// before it can be delivered.
func needsChannel(k store.EffectKind) bool {
	switch k {
	case store.EffectCreateChannel, store.EffectFileIssue, store.EffectPublish:
		return false
	}
	return true
}

func (s *Service) attempt(ctx context.Context, chat Chat, e store.Effect, ch string, retry bool) (outcome, error) {
	switch e.Kind {
	case store.EffectFileIssue:
		is, err := s.Tracker.FileIssue(ctx, e.Key, Issue{Title: e.Name, Body: e.Text, Labels: e.Labels, Assignee: e.Assignee}, retry)
		return outcome{id: is.URL, issue: is}, err
	case store.EffectPublish:
		url, err := s.Publisher.Publish(ctx, e.Key, e.Name, e.Text, e.Comment)
		return outcome{id: url}, err
	}
	id, err := s.attemptChat(ctx, chat, e, ch)
	return outcome{id: id}, err
}

func (s *Service) attemptChat(ctx context.Context, chat Chat, e store.Effect, ch string) (string, error) {
	switch e.Kind {
	case store.EffectCreateChannel:
		return chat.CreateChannel(ctx, e.Key, e.Name)
	case store.EffectPost:
		return chat.Post(ctx, e.Key, ch, e.Text)
	case store.EffectInvite:
		return "", chat.Invite(ctx, ch, e.Users)
	case store.EffectPin:
		return "", chat.Pin(ctx, ch, e.MessageID)
	case store.EffectTopic:
		return "", chat.SetTopic(ctx, ch, e.Text)
	case store.EffectArchive:
		return "", chat.Archive(ctx, ch)
	case store.EffectFile:
		if fp, ok := chat.(FilePoster); ok {
			return fp.PostFile(ctx, e.Key, ch, e.Name, e.Text, e.Comment)
		}
		return chat.Post(ctx, e.Key, ch, e.Comment+"\n"+e.Name+":\n```\n"+e.Text+"\n```")
	case store.EffectDirect:
		if dp, ok := chat.(DirectPoster); ok && len(e.Users) > 0 {
			return dp.PostDirect(ctx, e.Key, e.Users[0], e.Text)
		}
		text := e.Text
		if len(e.Users) > 0 {
			text = e.Users[0].Display() + " " + text
		}
		return chat.Post(ctx, e.Key, ch, text)
	}
	return "", &PermanentError{Err: fmt.Errorf("unknown effect kind %q", e.Kind)}
}

// delivered removes e from the outbox and applies what its success
// unlocks, in one transaction: a created channel is recorded and indexed, a
// posted summary gets its pin queued, a filed issue files its
// countermeasure.
func (s *Service) delivered(ctx context.Context, e store.Effect, out outcome) error {
	now := s.now()
	result := out.id
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeleteEffect(e.ID); err != nil {
			return err
		}
		switch {
		case e.Kind == store.EffectCreateChannel:
			inc, err := tx.Incident(e.IncidentID)
			if err != nil {
				return err
			}
			if inc.Channels == nil {
				inc.Channels = map[bot.Platform]string{}
			}
			inc.Channels[e.Platform] = result
			ch := bot.Channel{Platform: e.Platform, ID: result}
			if err := tx.PutChannel(ch, inc.ID); err != nil {
				return err
			}
			if _, _, err := tx.AppendEvent(bot.TimelineEvent{
				IncidentID: inc.ID, Kind: bot.EventBot, Author: botUser(e.Platform),
				Text: fmt.Sprintf("opened channel #%s on %s", e.Name, e.Platform), RecordedAt: now, PlatformAt: now,
			}); err != nil {
				return err
			}
			return tx.PutIncident(inc)
		case e.Kind == store.EffectFileIssue:
			// The countermeasure is filed, the link posted and recorded,
			// in the transaction that removes the effect: either all of
			// it happens or the effect stays and is tried again (and
			// finds the issue by its marker).
			inc, err := tx.Incident(e.IncidentID)
			if err != nil {
				return err
			}
			if e.N < 1 || e.N > len(inc.Countermeasures) {
				return nil
			}
			_, err = s.applyIssue(tx, inc, e.N, out.issue, now)
			return err
		case e.Kind == store.EffectPublish:
			_, _, err := tx.AppendEvent(bot.TimelineEvent{
				IncidentID: e.IncidentID, Kind: bot.EventBot, Author: botUser(e.Platform),
				Text: "published the write-up: " + result, URL: result, RecordedAt: now, PlatformAt: now,
			})
			return err
		case e.Kind == store.EffectPost && e.Pin && result != "":
			_, err := tx.AddEffect(store.Effect{
				Kind: store.EffectPin, Platform: e.Platform, IncidentID: e.IncidentID, ChannelID: e.ChannelID,
				MessageID: result, Key: e.Key + "/pin", CreatedAt: now, NextAt: now,
			})
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("workflows: outbox delivered %s %s: %w", e.Kind, e.Key, err)
	}
	s.metrics().OutboxDelivered.WithLabelValues(string(e.Kind)).Inc()
	if e.Kind == store.EffectCreateChannel {
		s.log().InfoContext(ctx, "channel created", "incident", e.IncidentID, "platform", e.Platform, "channel", result)
	}
	if e.Kind == store.EffectFileIssue {
		s.log().InfoContext(ctx, "countermeasure filed", "incident", e.IncidentID, "platform", e.Platform, "key", e.Key, "url", result)
	}
	return nil
}

// failed records a failed attempt: the effect is retried later, or dropped
// with a timeline note when the failure is permanent.
func (s *Service) failed(ctx context.Context, e store.Effect, cause error, now time.Time) error {
	var perm *PermanentError
	if errors.As(cause, &perm) {
		s.log().ErrorContext(ctx, "effect dropped", "incident", e.IncidentID, "platform", e.Platform,
			"kind", e.Kind, "key", e.Key, "err", cause)
		s.metrics().OutboxDropped.WithLabelValues(string(e.Kind)).Inc()
		return s.Store.Update(ctx, func(tx store.Tx) error {
			if err := tx.DeleteEffect(e.ID); err != nil {
				return err
			}
			if e.IncidentID == "" {
				return nil
			}
			_, _, err := tx.AppendEvent(bot.TimelineEvent{
				IncidentID: e.IncidentID, Kind: bot.EventBot, Author: botUser(e.Platform),
				Text:       fmt.Sprintf("could not %s on %s: %v", e.Kind, e.Platform, perm.Err),
				RecordedAt: now, PlatformAt: now,
			})
			return err
		})
	}
	e.Attempts++
	e.LastError = cause.Error()
	var ra *RetryAfterError
	if errors.As(cause, &ra) {
		e.NextAt = now.Add(ra.After)
	} else {
		e.NextAt = now.Add(Backoff(e.Attempts, s.jitter()))
	}
	s.metrics().OutboxRetries.WithLabelValues(string(e.Kind)).Inc()
	s.log().WarnContext(ctx, "effect failed, will retry", "incident", e.IncidentID, "platform", e.Platform,
		"kind", e.Kind, "key", e.Key, "attempts", e.Attempts, "next_at", e.NextAt, "err", cause)
	return s.Store.Update(ctx, func(tx store.Tx) error { return tx.UpdateEffect(e) })
}

func botUser(p bot.Platform) bot.User {
	return bot.User{Platform: p, ID: "debrief", Name: "debrief"}
}

// NextDue returns when the earliest pending effect is due, and false when
// the outbox is empty.
func (s *Service) NextDue(ctx context.Context) (time.Time, bool, error) {
	var next time.Time
	found := false
	err := s.Store.View(ctx, func(tx store.ReadTx) error {
		effects, err := tx.Effects()
		if err != nil {
			return err
		}
		for _, e := range effects {
			if !found || e.NextAt.Before(next) {
				next, found = e.NextAt, true
			}
		}
		return nil
	})
	return next, found, err
}

func (s *Service) wakeChan() chan struct{} {
	s.wakeOnce.Do(func() { s.wake = make(chan struct{}, 1) })
	return s.wake
}

// kick tells the outbox worker there is new work.
func (s *Service) kick() {
	select {
	case s.wakeChan() <- struct{}{}:
	default:
	}
}

// RunOutbox delivers effects until ctx is done: it runs DeliverDue, then
// sleeps until the next effect is due or new work is queued. This loop is
// the only place that waits on the wall clock; tests call DeliverDue.
func (s *Service) RunOutbox(ctx context.Context) {
	const idle = time.Minute
	wake := s.wakeChan()
	for {
		if _, err := s.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			s.log().ErrorContext(ctx, "outbox pass failed", "err", err)
		}
		wait := idle
		if next, ok, err := s.NextDue(ctx); err == nil && ok {
			wait = min(max(next.Sub(s.now()), 10*time.Millisecond), idle)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-wake:
			t.Stop()
		case <-t.C:
		}
	}
}
