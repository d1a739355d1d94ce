package discord

import "github.com/bwmarrin/discordgo"

// permissionPinMessages is PIN_MESSAGES, which Discord split off
// MANAGE_MESSAGES in 2025; discordgo v0.29 predates it.
// https://discord.com/developers/docs/topics/permissions#permissions-bitwise-permission-flags
const permissionPinMessages int64 = 1 << 51

// Permission is one of the bot permissions debrief asks for, and why.
type Permission struct {
	Name string // as Discord's documentation names it
	Bit  int64
	Why  string
}

// BotPermissions are exactly the permissions the adapter uses. Their sum,
// BotPermissionBits, goes in the install URL's permissions parameter; the
// README shows the computation and a test keeps the two equal.
var BotPermissions = []Permission{
	{"MANAGE_CHANNELS", discordgo.PermissionManageChannels, "creates incident channels and sets their topics"},
	{"VIEW_CHANNEL", discordgo.PermissionViewChannel, "sees the incident and announcement channels and their messages"},
	{"SEND_MESSAGES", discordgo.PermissionSendMessages, "posts summaries, reminders and announcements"},
	{"ATTACH_FILES", discordgo.PermissionAttachFiles, "attaches the meeting invite (.ics) and the write-up"},
	{"READ_MESSAGE_HISTORY", discordgo.PermissionReadMessageHistory, "reads back what was said while debrief was away, and a pinned message that is not on the record yet"},
	{"MANAGE_ROLES", discordgo.PermissionManageRoles, "gives responders access to the channel and locks it on close (channel permission overwrites)"},
	// Discord lets a bot allow or deny in an overwrite only what it holds
	// itself: locking a channel denies these three to everyone.
	{"CREATE_PUBLIC_THREADS", discordgo.PermissionCreatePublicThreads, "denies it to everyone when locking a closed incident's channel"},
	{"CREATE_PRIVATE_THREADS", discordgo.PermissionCreatePrivateThreads, "denies it to everyone when locking a closed incident's channel"},
	{"SEND_MESSAGES_IN_THREADS", discordgo.PermissionSendMessagesInThreads, "denies it to everyone when locking a closed incident's channel"},
	{"PIN_MESSAGES", permissionPinMessages, "pins the incident summary"},
}

// BotPermissionBits is the sum of BotPermissions.
var BotPermissionBits = func() int64 {
	var n int64
	for _, p := range BotPermissions {
		n |= p.Bit
	}
	return n
}()

// Channel-level permission sets the adapter writes as overwrites.
const (
	// accessBits let an invited responder see the channel and take part,
	// even when the category hides it from everyone else.
	accessBits = discordgo.PermissionViewChannel | discordgo.PermissionSendMessages |
		discordgo.PermissionReadMessageHistory
	// lockBits are denied to everyone but the bot when an incident closes:
	// the record is kept and readable, and nothing new is said in it.
	lockBits = discordgo.PermissionSendMessages | discordgo.PermissionSendMessagesInThreads |
		discordgo.PermissionCreatePublicThreads | discordgo.PermissionCreatePrivateThreads
	// botBits keep the bot able to post in a locked channel (reminders,
	// the write-up) and to read it.
	botBits = accessBits | discordgo.PermissionAttachFiles | lockBits
)
