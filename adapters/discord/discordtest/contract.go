package discordtest

// DMChannel returns the ID of the DM channel between the bot and the
// person user, once POST /users/@me/channels opened it: what the chat
// contract suite (adapters/chattest) reads a direct message back from.
func (s *Server) DMChannel(user string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.channels {
		if c.Type == TypeDM && c.Recipient == user {
			return c.ID, true
		}
	}
	return "", false
}

// Kick takes the bot out of the guild, as an admin kicking it would: it
// keeps its token, but holds no permission there and may not list the
// guild's channels (Missing Access). It shares no server with anyone any
// more either, so its DM channels still open but a message in one answers
// Cannot send messages to this user (50007), as when a person closed
// their DMs.
func (s *Server) Kick() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.botPerms, s.kicked = 0, true
}
