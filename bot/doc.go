// Package bot is debrief's domain: incidents, their lifecycle, the timeline,
// post-mortems, countermeasures, the command grammar and the error codes that
// every adapter renders.
//
// It is pure on purpose: no I/O and no clock. Every function that needs the
// time takes it as an argument, so the rules can be tested as tables and the
// callers (workflows) decide where "now" comes from.
package bot
