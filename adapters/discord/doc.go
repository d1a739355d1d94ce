// Package discord connects debrief to a Discord server: the /incident
// application command (over the gateway and on POST /discord/interactions,
// verified with Ed25519), the gateway events of incident channels and their
// threads (messages, edits, deletes, attachments, the key reaction and pins
// become the timeline), and the outbox's effects (channels, topics, posts,
// pins, access, locking) through the REST API.
//
// It is a translator: every decision is workflows'. Interactions are turned
// into the text grammar of bot.Parse and run through workflows.Execute, so
// the commands mean the same on every platform. A gateway event counts as
// handled only once its timeline entry is committed: the gateway's resume
// point advances past an event only then, so a failed commit is replayed by
// Discord after a RESUME, and the dedupe keys store replays once. What no
// session replays (said while debrief was stopped, or before a session
// Discord would not resume) is read back from the channels' history after
// every READY and RESUMED (catchup.go) under the same keys.
//
// # Decision: debrief runs its own gateway client
//
// REST calls and the wire types come from github.com/bwmarrin/discordgo;
// the gateway websocket (gateway.go) does not. As of discordgo v0.29.0
// (wsapi.go unless noted), its gateway breaks three rules debrief keeps:
//
//   - The resume point runs ahead of the handlers. (*Session).onEvent
//     stores an event's sequence number (atomic.StoreInt64(s.sequence, ...))
//     before handleEvent runs the handlers, which return nothing and by
//     default run in goroutines of their own ((*Session).handle, event.go).
//     (*Session).heartbeat and the RESUME sent by (*Session).Open carry that
//     number, so an event whose commit failed is not replayed on resume: it
//     is lost from the timeline. debrief advances the sequence only after
//     the commit, and a failed commit ends the connection to resume.
//   - resume_gateway_url is ignored. Ready (events.go) has no field for it
//     and (*Session).Open dials the URL from GET /gateway for a RESUME as
//     for an IDENTIFY; Discord asks that sessions be resumed on READY's
//     resume_gateway_url and disconnects clients that do not more often.
//   - Fatal close codes are retried. Open's close handler ignores the code;
//     (*Session).listen answers any read error with Close and reconnect;
//     (*Session).reconnect calls Open again, waiting 1 s doubling to 600 s,
//     for as long as ShouldReconnectOnError is set (New sets it). A revoked
//     token (4004) or a Message Content intent not enabled (4014) becomes
//     a silent retry loop; RunGateway returns a FatalError that names what
//     the operator must change. (onEvent also answers opcode 9 with an
//     IDENTIFY at once, whether or not the session is resumable and without
//     the 1 to 5 s pause Discord asks for.)
//
// The cost: some 450 lines of protocol code in gateway.go (HELLO, IDENTIFY
// and RESUME, heartbeats and their acknowledgements, opcodes 7 and 9, close
// codes, reconnecting), a fake gateway of some 650 lines in discordtest to
// test it against, and Discord's gateway changes (new close codes or
// opcodes, intents, the next API version) to follow by hand from Discord's
// change log. One shard only: Discord requires sharding from 2,500 guilds,
// and debrief serves one.
//
// What would let debrief go back to discordgo's gateway: a release whose
// handlers can hold the resume point back (a handler that returns an error,
// or a sequence the application reports as committed, used by heartbeats
// and RESUME), that resumes on resume_gateway_url, and that returns fatal
// close codes (4004, 4010 to 4014) to the caller instead of reconnecting.
// The gateway tests (gateway_test.go, against discordtest's gateway) are
// the acceptance test for such a switch.
package discord
