package slacktest

import "slices"

// DeleteChannel deletes a channel, its messages and pins, as a workspace
// admin would by hand: from then on every method naming it answers
// channel_not_found, which is how the chat contract suite
// (adapters/chattest) checks that the adapter gives up on it for good.
func (s *Server) DeleteChannel(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.channels, id)
	delete(s.messages, id)
	delete(s.pins, id)
	s.order = slices.DeleteFunc(s.order, func(x string) bool { return x == id })
}
