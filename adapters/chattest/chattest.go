// Package chattest is the contract suite of workflows.Chat: one set of tests
// that every chat adapter runs against the fake of its platform, the way
// litestream runs one suite against every ReplicaClient. Slack, Discord and
// the console each call Run from a test of their own, with a constructor
// that builds the adapter on a fresh fake and a view of that fake's state.
//
// What the suite holds every adapter to is what the outbox relies on
// (workflows/outbox.go, workflows/tracker.go):
//
//   - each method does what its doc says, read back from the platform (the
//     channel exists, the message is there, the topic is set, the people
//     are in, the message is pinned, the file is attached, the DM went to
//     that person alone, the channel is archived);
//   - each method is safe to repeat: the outbox repeats an effect whenever
//     it did not learn that the last attempt succeeded (a lost answer, a
//     crash before the commit), so a repeat with the same key must not
//     make a second channel, message, pin or member;
//   - errors are classified: *workflows.RetryAfterError with exactly the
//     delay the platform asked for, *workflows.PermanentError when retrying
//     cannot help (the channel was deleted, the bot removed or refused), a
//     plain error for anything worth retrying (5xx, a lost answer), and a
//     retry after a plain error or a rate limit succeeds with no trace of
//     the failed attempt.
//
// Where a platform cannot do what a check asks (Slack has no idempotency
// key for chat.postMessage), the harness says so in Limits and the check is
// skipped with that reason; where an adapter falls short of the contract
// today, KnownDefects skips the check naming the defect, so the suite stays
// green while the defect is on record and the skip is removed with the fix.
package chattest

import (
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

// Harness is one adapter under test, on a fresh fake of its platform.
type Harness struct {
	// Name names the adapter in skip messages ("slack").
	Name string
	// Chat is the adapter. The suite also uses it as a workflows.FilePoster
	// and a workflows.DirectPoster when it is one.
	Chat workflows.Chat
	// Fake is the platform, read back and made to fail.
	Fake Fake
	// Users are at least two people of the platform, in no channel the
	// suite creates; Invite and PostDirect are given them.
	Users []bot.User
	// Stranger is someone the platform refuses to add (a deactivated
	// account, a user outside the guild); zero when the platform has none,
	// and the check that needs one is skipped.
	Stranger bot.User
	// Limits maps a check ("Post/same key posts once") to why the platform
	// cannot meet it; the check is skipped with that reason. Every key must
	// name a check of the suite.
	Limits map[string]string
	// KnownDefects maps a check to an adapter defect that fails it today;
	// the check is skipped as a known defect until the adapter is fixed and
	// the entry removed. Every key must name a check of the suite.
	KnownDefects map[string]string
}

// Fake is the platform's state as the fake keeps it, and the fake's ways of
// failing. Methods that return ok report false when the fake cannot do
// that; the checks that need it are then skipped.
type Fake interface {
	// Channels returns every channel, in creation order.
	Channels() []Channel
	// Channel returns the channel with the ID the adapter uses for it.
	Channel(id string) (Channel, bool)
	// Messages returns what the bot posted in a channel, oldest first
	// (deleted messages and the platform's own notices left out).
	Messages(channelID string) []Message
	// DirectMessages returns what the bot sent u directly, oldest first;
	// ok is false when the fake has no direct messages.
	DirectMessages(u bot.User) (msgs []Message, ok bool)
	// AddChannel makes a channel named name the way a person would: not
	// the bot's, the bot not in it. It returns its ID.
	AddChannel(name string) (id string, ok bool)
	// DeleteChannel deletes a channel, as an admin would by hand.
	DeleteChannel(id string) (ok bool)
	// RemoveBot takes the bot out of the workspace or server for good:
	// every call it makes from then on is refused.
	RemoveBot() (ok bool)
	// Fail makes the next request that op sends for its effect (Slack's
	// chat.postMessage for Post, Discord's POST /channels/{id}/messages)
	// fail with f.
	Fail(op Op, f Fault) (ok bool)
}

// Channel is a channel as the platform shows it.
type Channel struct {
	ID   string
	Name string
	// Topic is the channel's topic ("" when none).
	Topic string
	// Members are the IDs of the people (the bot left out) who were added
	// to the channel or given access to it.
	Members []string
	// Pins are the IDs of the pinned messages.
	Pins []string
	// Archived is true once the channel is archived (Slack) or locked
	// (Discord: nobody but the bot may post).
	Archived bool
}

// Message is something the bot posted.
type Message struct {
	// ID is the platform's ID of the message, as Post returns it; empty
	// where the platform shows none (the console prints no IDs).
	ID    string
	Text  string
	Files []File
}

// File is a file attached to a message.
type File struct {
	Name    string
	Content string
}

// Op names a method of the chat contract.
type Op string

// The ops, named after the methods.
const (
	OpCreateChannel Op = "CreateChannel"
	OpPost          Op = "Post"
	OpInvite        Op = "Invite"
	OpPin           Op = "Pin"
	OpSetTopic      Op = "SetTopic"
	OpArchive       Op = "Archive"
	OpPostFile      Op = "PostFile"
	OpPostDirect    Op = "PostDirect"
)

// FaultKind is how a request fails.
type FaultKind int

// The kinds of failure the suite injects.
const (
	// RateLimited is HTTP 429 asking to wait Fault.RetryAfter (Slack's
	// Retry-After header, Discord's retry_after).
	RateLimited FaultKind = iota + 1
	// ServerError is a 5xx answered before the request took effect.
	ServerError
	// LostAnswer is a request that took effect, then answered 502: the
	// adapter cannot know it succeeded, and the outbox repeats it.
	LostAnswer
	// Refused is an answer that retrying cannot change (a permission or
	// scope the bot lacks).
	Refused
)

func (k FaultKind) String() string {
	switch k {
	case RateLimited:
		return "rate limited"
	case ServerError:
		return "server error"
	case LostAnswer:
		return "answer lost"
	case Refused:
		return "refused"
	}
	return "unknown fault"
}

// Fault is one injected failure.
type Fault struct {
	Kind FaultKind
	// RetryAfter is the delay a RateLimited answer asks for.
	RetryAfter time.Duration
}
