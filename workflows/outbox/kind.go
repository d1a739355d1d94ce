package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
)

// Payload is what an effect kind carries: each kind has its own type, which
// names the kind it belongs to. It is stored as JSON in the envelope.
type Payload interface {
	EffectKind() store.EffectKind
}

// Sink is who delivers a kind of effect, and so what its lane is.
type Sink struct {
	// Name names the sink in lanes and in the timeline note of a dropped
	// effect with no platform ("github", "publish").
	Name string
	// PerPlatform sinks are chats: their lanes are per platform and
	// channel ("slack/C123", or "slack/INC-4" for the incident's channel),
	// so that messages keep their order within a channel. Other sinks have
	// one lane per incident ("github/INC-4").
	PerPlatform bool
	// Ready reports whether the sink is configured for platform; an effect
	// whose sink is not waits in the outbox (and holds its lane) until it
	// is.
	Ready func(platform bot.Platform) bool
}

// lane is the lane of an effect routed by r to this sink.
func (s Sink) lane(r Route) string {
	target := r.ChannelID
	if target == "" {
		target = r.IncidentID
	}
	if s.PerPlatform {
		return string(r.Platform) + "/" + target
	}
	return s.Name + "/" + r.IncidentID
}

// Route is where an effect goes, and how it is told from a retry.
type Route struct {
	Platform   bot.Platform
	IncidentID string
	// ChannelID is the target channel; empty means the incident's own
	// channel on Platform.
	ChannelID string
	// Key is the idempotency key; "effect-<ID>" when empty.
	Key string
	// Sent marks the effect as possibly done already (see store.Effect.Sent):
	// its sink looks for what an earlier attempt did before acting.
	Sent bool
}

// Attempt is one delivery attempt of an effect, as its kind sees it.
type Attempt struct {
	Effect store.Effect
	// Channel is the resolved target channel: Effect.ChannelID, or the
	// incident's channel on Effect.Platform when known ("" otherwise).
	Channel string
	// Retry says an earlier attempt may have reached the far side (the
	// Sent flag was set before it): look before acting again.
	Retry bool
	// Now is the time of the outbox pass.
	Now time.Time
}

// Result is what a delivered effect returns: the ID of what it made (a
// channel, a message, a published file's URL), and anything else its kind
// needs when it is delivered (the filed issue).
type Result struct {
	ID    string
	Value any
}

// Kind describes one effect kind, once: its payload type P, the sink that
// delivers it, whether it waits for the incident's channel, and what
// happens when it is delivered. The application's table of Kinds is all
// the outbox knows about effects.
type Kind[P Payload] struct {
	Sink Sink
	// NeedsChannel effects go into the incident's channel on their platform
	// (or the ChannelID they name) and wait until it exists.
	NeedsChannel bool
	// AtMostOnce kinds have a far side that cannot tell a retry from a new
	// request by the key (creating a GitHub issue): the Sent flag is made
	// durable before the first call, and later attempts are Retry.
	AtMostOnce bool
	// Deliver makes the call.
	Deliver func(ctx context.Context, a Attempt, p P) (Result, error)
	// Delivered, optional, applies what the delivery unlocks, in the
	// transaction that removes the effect from the outbox: either both
	// happen or the effect is tried again.
	Delivered func(tx store.Tx, a Attempt, p P, r Result) error
	// Legacy, optional, decodes the payload of an effect written before
	// effects were typed (store.LegacyEffect). Without it such an effect
	// is dropped with a timeline note.
	Legacy func(old store.LegacyEffect) P
}

// Spec is a Kind with its payload type erased, as the outbox engine holds
// it. Only *Kind implements it.
type Spec interface {
	erase() spec
}

// spec is what the engine needs of a kind.
type spec struct {
	kind         store.EffectKind
	sink         Sink
	needsChannel bool
	atMostOnce   bool
	deliver      func(ctx context.Context, a Attempt) (Result, error)
	delivered    func(tx store.Tx, a Attempt, r Result) error
}

func (k *Kind[P]) erase() spec {
	var zero P
	sp := spec{kind: zero.EffectKind(), sink: k.Sink, needsChannel: k.NeedsChannel, atMostOnce: k.AtMostOnce}
	sp.deliver = func(ctx context.Context, a Attempt) (Result, error) {
		p, err := k.decode(a.Effect)
		if err != nil {
			return Result{}, err
		}
		return k.Deliver(ctx, a, p)
	}
	sp.delivered = func(tx store.Tx, a Attempt, r Result) error {
		if k.Delivered == nil {
			return nil
		}
		p, err := k.decode(a.Effect)
		if err != nil {
			return err
		}
		return k.Delivered(tx, a, p, r)
	}
	return sp
}

// decode reads e's payload as P; a payload that cannot be read is a
// PermanentError, since no retry will make it readable.
func (k *Kind[P]) decode(e store.Effect) (P, error) {
	var p P
	if e.Legacy {
		var old store.LegacyEffect
		if k.Legacy == nil {
			return p, &PermanentError{Err: fmt.Errorf("effect %s of kind %s was written by an older debrief and cannot be read", e.Key, e.Kind)}
		}
		if err := json.Unmarshal(e.Payload, &old); err != nil {
			return p, &PermanentError{Err: fmt.Errorf("effect %s: legacy payload: %w", e.Key, err)}
		}
		return k.Legacy(old), nil
	}
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		return p, &PermanentError{Err: fmt.Errorf("effect %s: payload: %w", e.Key, err)}
	}
	return p, nil
}
