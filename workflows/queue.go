package workflows

import (
	"fmt"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows/outbox"
	"github.com/debrief/debrief/workflows/render"
)

// queue adds the effects about one incident within one transaction: they
// commit with the state change that causes them, and the outbox delivers
// them after (Service.kick).
type queue struct {
	s   *Service
	tx  store.Tx
	inc *bot.Incident
	now time.Time
}

// queue returns the effect queue of inc within tx at now.
func (s *Service) queue(tx store.Tx, inc *bot.Incident, now time.Time) queue {
	return queue{s: s, tx: tx, inc: inc, now: now}
}

// add queues p routed by r (its incident set to the queue's). Whatever a
// drill says is marked as a drill's (render.Mark), so that nobody takes a
// rehearsal for an outage.
func (q queue) add(r outbox.Route, p outbox.Payload) error {
	r.IncidentID = q.inc.ID
	switch m := p.(type) {
	case Post:
		m.Text = render.Mark(q.inc, m.Text)
		p = m
	case Direct:
		m.Text = render.Mark(q.inc, m.Text)
		p = m
	case PostFile:
		m.Comment = render.Mark(q.inc, m.Comment)
		p = m
	}
	if _, err := q.s.Outbox().Enqueue(q.tx, r, p, q.now); err != nil {
		return fmt.Errorf("workflows: %w", err)
	}
	return nil
}

// everywhere queues p into the incident's channel on every platform it has
// one on (or will have: the origin platform).
func (q queue) everywhere(p outbox.Payload) error {
	for _, pl := range incidentPlatforms(q.inc) {
		if err := q.add(outbox.Route{Platform: pl}, p); err != nil {
			return err
		}
	}
	return nil
}

// post queues a message to the incident's channels.
func (q queue) post(text string) error { return q.everywhere(Post{Text: text}) }

// announce queues a message to the announcement channel of each platform
// the incident lives on, where there is one.
func (q queue) announce(text string) error {
	for _, p := range incidentPlatforms(q.inc) {
		ch := q.s.Config.Announce[p]
		if ch == "" {
			continue
		}
		if err := q.add(outbox.Route{Platform: p, ChannelID: ch}, Post{Text: text}); err != nil {
			return err
		}
	}
	return nil
}

// postOrAnnounce posts text in the incident's channels; once the incident
// is closed and its channels archived, in the announcement channels instead
// (or, where there is none, still the incident's, where it may be refused).
func (q queue) postOrAnnounce(text string) error {
	for _, p := range incidentPlatforms(q.inc) {
		if err := q.add(outbox.Route{Platform: p, ChannelID: q.fallbackChannel(p)}, Post{Text: text}); err != nil {
			return err
		}
	}
	return nil
}

// direct queues text for u alone, on u's platform (Direct).
func (q queue) direct(u bot.User, text string) error {
	return q.add(outbox.Route{Platform: u.Platform, ChannelID: q.fallbackChannel(u.Platform)}, Direct{User: u, Text: text})
}

// fallbackChannel is where a message about the incident goes on p: ""
// (the incident channel) unless the incident is closed and its channel
// archived, then the announcement channel.
func (q queue) fallbackChannel(p bot.Platform) string {
	if q.inc.Status == bot.StatusClosed && !q.s.Config.KeepChannelOnClose[p] {
		return q.s.Config.Announce[p]
	}
	return ""
}

// incidentPlatforms are the platforms the incident lives on: its origin
// first, then those it has a channel on.
func incidentPlatforms(inc *bot.Incident) []bot.Platform {
	ps := []bot.Platform{inc.Origin.Platform}
	for p := range inc.Channels {
		if p != inc.Origin.Platform {
			ps = append(ps, p)
		}
	}
	return ps
}
