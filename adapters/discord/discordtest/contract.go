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
