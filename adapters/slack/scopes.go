package slack

// Scope is an OAuth bot scope the app asks for, and why.
type Scope struct {
	Name string
	// For lists the Web API methods and events that need it.
	For string
}

// BotScopes are exactly the bot scopes the adapter uses: each method it
// calls and each event it subscribes to needs one of them, and none is
// asked for that nothing uses. slack-app-manifest.yml lists the same set
// (a test compares them), and the README explains each.
var BotScopes = []Scope{
	{"channels:history", "message.channels events: messages, edits, deletes and files in public incident channels; conversations.history and conversations.replies: the backfill after downtime"},
	{"channels:join", "conversations.join: joining the announcement channel before the first post there"},
	{"channels:manage", "conversations.create, conversations.invite, conversations.setTopic, conversations.setPurpose, conversations.archive"},
	{"channels:read", "conversations.list: finding a channel debrief created before a crash, when its name is taken"},
	{"chat:write", "chat.postMessage: summaries, status reminders, announcements"},
	{"commands", "the /incident slash command and the Declare incident message shortcut"},
	{"files:read", "the name and permalink of files shared in incident channels; files.info: files shared over Slack Connect (an ID only), and the message that shares a file debrief uploaded"},
	{"files:write", "files.getUploadURLExternal, files.completeUploadExternal: the post-mortem's calendar invite and write-up as files"},
	{"groups:history", "message.groups events: incident channels an admin made private keep being recorded, and are read back after downtime"},
	{"im:write", "conversations.open: countermeasure nudges sent to their owner as a direct message"},
	{"pins:read", "pin_added events: pinned messages are key events"},
	{"pins:write", "pins.add: pinning the incident summary"},
	{"reactions:read", "reaction_added events: the key-event emoji"},
	{"users:read", "users.info: people's names and time zones"},
}
