package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	slackgo "github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// socketWorkers bounds the envelopes handled at once. Concurrent events are
// group-committed together, so more than one in flight is what makes Socket
// Mode keep up; the bound keeps a burst from becoming a goroutine flood.
const socketWorkers = 64

// ackTimeout bounds queueing an acknowledgement on the connection.
const ackTimeout = 10 * time.Second

// RunSocketMode receives events, slash commands and interactions over
// Socket Mode until ctx is done, with the same handlers as the HTTP routes.
// Each envelope is acknowledged only after its work is committed; one that
// fails is left unacknowledged, and Slack delivers it again. When ctx is
// done it stops taking envelopes, lets those in progress finish and
// acknowledge, then closes the connection. It returns an error when the
// connection cannot be (re)opened for good, e.g. a refused app token.
func (s *Slack) RunSocketMode(ctx context.Context) error {
	if s.cfg.AppToken == "" {
		return errors.New("slack: Socket Mode needs an app-level token (SLACK_APP_TOKEN)")
	}
	client := socketmode.New(s.api)
	connCtx, closeConn := context.WithCancel(context.WithoutCancel(ctx))
	defer closeConn()
	runErr := make(chan error, 1)
	go func() { runErr <- client.RunContext(connCtx) }()

	// Each connection, the first and every reconnect, reads back what
	// was said while none was open, beside the live events.
	bctx, stopBackfill := context.WithCancel(ctx)
	kickBackfill, waitBackfill := s.backfills(bctx)
	defer waitBackfill()
	defer stopBackfill() // runs first: a connection failed for good stops it too

	// Work that was taken finishes even when ctx is done meanwhile.
	work := context.WithoutCancel(ctx)
	var inflight sync.WaitGroup
	sem := make(chan struct{}, socketWorkers)
	finish := func() {
		inflight.Wait()
		closeConn()
	}
	for {
		select {
		case <-ctx.Done():
			finish()
			<-runErr
			return nil
		case err := <-runErr:
			inflight.Wait()
			if err == nil || errors.Is(err, context.Canceled) {
				return nil
			}
			return fmt.Errorf("slack: socket mode: %w", err)
		case evt := <-client.Events:
			switch evt.Type {
			case socketmode.EventTypeEventsAPI, socketmode.EventTypeSlashCommand, socketmode.EventTypeInteractive:
				if evt.Request == nil {
					continue
				}
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					continue // not taken: left unacknowledged for Slack to redeliver
				}
				inflight.Go(func() {
					defer func() { <-sem }()
					s.envelope(work, client, evt)
				})
			case socketmode.EventTypeConnected:
				s.socketDown.Store(false)
				s.log.InfoContext(ctx, "socket mode connected")
				kickBackfill()
			case socketmode.EventTypeConnectionError:
				s.socketDown.Store(true)
				s.log.WarnContext(ctx, "socket mode connection failed; retrying", "err", evt.Data)
			case socketmode.EventTypeInvalidAuth:
				s.socketDown.Store(true)
				s.log.ErrorContext(ctx, "socket mode: the app token was refused")
			case socketmode.EventTypeErrorBadMessage:
				// slack-go decodes every event into its own types, more
				// strictly than Slack writes them (pin_added with a number
				// for event_ts): an events_api envelope it cannot read is
				// read here, with the HTTP path's decoder, rather than
				// left unacknowledged for Slack to redeliver in vain.
				req, ok := badEnvelope(evt)
				if !ok {
					s.log.WarnContext(ctx, "socket mode: unreadable message", "type", evt.Type)
					continue
				}
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					continue
				}
				inflight.Go(func() {
					defer func() { <-sem }()
					s.envelope(work, client, socketmode.Event{Type: socketmode.EventTypeEventsAPI, Request: req})
				})
			case socketmode.EventTypeIncomingError:
				s.log.WarnContext(ctx, "socket mode: unreadable message", "type", evt.Type)
			}
		}
	}
}

// badEnvelope returns the events_api request of a message slack-go could
// not parse, if it is one.
func badEnvelope(evt socketmode.Event) (*socketmode.Request, bool) {
	bad, ok := evt.Data.(*socketmode.ErrorBadMessage)
	if !ok || bad == nil {
		return nil, false
	}
	var req socketmode.Request
	if err := json.Unmarshal(bad.Message, &req); err != nil || req.Type != socketmode.RequestTypeEventsAPI || req.EnvelopeID == "" {
		return nil, false
	}
	return &req, true
}

// envelope handles one Socket Mode request and acknowledges it once done.
func (s *Slack) envelope(ctx context.Context, client *socketmode.Client, evt socketmode.Event) {
	req := evt.Request
	var payload any
	var then func() // a deferred command's answer, sent after the ack
	switch evt.Type {
	case socketmode.EventTypeEventsAPI:
		if err := s.eventPayload(ctx, req.Payload, req.RetryAttempt); err != nil {
			return // not committed: no ack, Slack redelivers
		}
	case socketmode.EventTypeSlashCommand:
		sc, ok := evt.Data.(slackgo.SlashCommand)
		if !ok {
			return
		}
		then = s.command(ctx, sc, "", func(r *commandReply) {
			if r != nil {
				payload = r
			}
		})
	case socketmode.EventTypeInteractive:
		ic, ok := evt.Data.(slackgo.InteractionCallback)
		if !ok {
			return
		}
		payload = s.interaction(ctx, ic)
	}
	actx, cancel := context.WithTimeout(ctx, ackTimeout)
	defer cancel()
	if err := client.AckCtx(actx, req.EnvelopeID, payload); err != nil {
		s.log.WarnContext(ctx, "socket mode ack failed", "envelope_id", req.EnvelopeID, "err", err)
	}
	if then != nil {
		then()
	}
}
