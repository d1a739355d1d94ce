// Package paritytest runs one incident scenario on Slack and on Discord,
// each through its real adapter against its fake, and asserts that both
// give the same replies, topics, posts, announcements and timeline: the
// commands mean the same on every platform, and that is tested, not
// claimed. It has no code besides its test.
package paritytest
