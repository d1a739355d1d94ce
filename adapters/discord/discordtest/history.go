package discordtest

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
)

// The routes of a channel's history, which the bot reads back after an
// outage.
const (
	RouteListMessages = "GET /channels/{channel}/messages"
	RouteActiveThread = "GET /guilds/{guild}/threads/active"
)

// Bucket is the rate limit the fake announces on RouteListMessages, in
// Discord's X-RateLimit-* headers: Limit calls, then an empty bucket that
// refills ResetAfter seconds later. The fake does not keep time: a call
// made into an empty bucket is counted (EarlyCalls), not refused; inject
// a 429 Fault to refuse calls.
type Bucket struct {
	Limit      int
	ResetAfter float64
}

// historyState is the history routes' state, under s.mu.
type historyState struct {
	bucket Bucket
	used   int  // calls in the current bucket
	empty  bool // the last answer said the bucket was empty
	early  int  // calls made while it was
	waits  int  // calls the bot waited for, as far as it told (Waited)

	// hmu guards the holds apart from s.mu: a held call waits without
	// it, and WaitHeldCall reads them under the gateway's lock.
	hmu   sync.Mutex
	holds map[string]chan struct{}
	held  map[string]int
}

// SetBucket sets the rate limit RouteListMessages announces; the zero
// Bucket announces none.
func (s *Server) SetBucket(b Bucket) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hist.bucket, s.hist.used, s.hist.empty = b, 0, false
}

// BucketWaited tells the fake that the bot waited for the bucket to
// refill: the next call is not early. Tests call it from the bot's
// injected sleep.
func (s *Server) BucketWaited() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hist.empty {
		s.hist.empty, s.hist.used = false, 0
		s.hist.waits++
	}
}

// EarlyCalls is how many RouteListMessages calls came into an empty
// bucket without the bot waiting (BucketWaited) first: each would have
// been a 429 at Discord.
func (s *Server) EarlyCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hist.early
}

// Hold makes calls of route wait, before they are answered, until the
// returned release is called: Discord is slow.
func (s *Server) Hold(route string) (release func()) {
	s.hist.hmu.Lock()
	defer s.hist.hmu.Unlock()
	if s.hist.holds == nil {
		s.hist.holds, s.hist.held = map[string]chan struct{}{}, map[string]int{}
	}
	ch := make(chan struct{})
	s.hist.holds[route] = ch
	return func() {
		s.hist.hmu.Lock()
		defer s.hist.hmu.Unlock()
		if s.hist.holds[route] == ch {
			delete(s.hist.holds, route)
			close(ch)
		}
	}
}

// WaitHeldCall waits until a call of route is held (Hold).
func (s *Server) WaitHeldCall(ctx context.Context, route string) error {
	return s.gw.wait(ctx, "a held call of "+route, func() bool {
		s.hist.hmu.Lock()
		defer s.hist.hmu.Unlock()
		return s.hist.held[route] > 0
	})
}

// awaitHold waits while route is held. s.mu is not held.
func (s *Server) awaitHold(route string) {
	s.hist.hmu.Lock()
	ch := s.hist.holds[route]
	if ch != nil {
		s.hist.held[route]++
	}
	s.hist.hmu.Unlock()
	if ch == nil {
		return
	}
	s.gw.mu.Lock()
	s.gw.notify()
	s.gw.mu.Unlock()
	<-ch
	s.hist.hmu.Lock()
	s.hist.held[route]--
	s.hist.hmu.Unlock()
}

// listMessages is GET /channels/{channel}/messages: with after, the limit
// (1 to 100, 50 by default) oldest messages after that ID; with before, or
// neither, the newest ones before it; newest first either way, as Discord
// answers. REST messages carry no guild_id.
// https://discord.com/developers/docs/resources/message#get-channel-messages
func (s *Server) listMessages(q *request) (int, any) {
	c, e := s.channel(q)
	if e != nil {
		return 0, e
	}
	if e := s.need(c, PermReadMessageHistory); e != nil {
		return 0, e
	}
	v := q.r.URL.Query()
	limit := 50
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 100 {
			return 0, invalidForm("limit", "int value should be less than or equal to 100.")
		}
		limit = n
	}
	id := func(k string) (uint64, bool, *apiError) {
		x := v.Get(k)
		if x == "" {
			return 0, false, nil
		}
		n, err := strconv.ParseUint(x, 10, 64)
		if err != nil {
			return 0, false, invalidForm(k, "Value \""+x+"\" is not snowflake.")
		}
		return n, true, nil
	}
	after, hasAfter, e := id("after")
	if e != nil {
		return 0, e
	}
	before, hasBefore, e := id("before")
	if e != nil {
		return 0, e
	}
	// A channel's messages are kept in the order they were made, and
	// IDs grow with time: the page is found by binary search.
	all := s.messages[c.ID]
	num := func(m *Message) uint64 { n, _ := strconv.ParseUint(m.ID, 10, 64); return n }
	var page []*Message
	if hasAfter && !hasBefore {
		i, _ := slices.BinarySearchFunc(all, after+1, func(m *Message, t uint64) int { return cmp.Compare(num(m), t) })
		for ; i < len(all) && len(page) < limit; i++ {
			if !all[i].Deleted {
				page = append(page, all[i])
			}
		}
	} else {
		end := len(all)
		if hasBefore {
			end, _ = slices.BinarySearchFunc(all, before, func(m *Message, t uint64) int { return cmp.Compare(num(m), t) })
		}
		for i := end - 1; i >= 0 && len(page) < limit; i-- {
			if !all[i].Deleted {
				page = append([]*Message{all[i]}, page...)
			}
		}
	}
	out := make([]map[string]any, 0, len(page))
	for i := len(page) - 1; i >= 0; i-- {
		j := s.messageJSON(page[i])
		delete(j, "guild_id")
		out = append(out, j)
	}
	s.rateHeaders(q)
	return http.StatusOK, out
}

// rateHeaders announces the history bucket on the answer, and counts a
// call made into an empty bucket.
func (s *Server) rateHeaders(q *request) {
	b := &s.hist
	if b.bucket.Limit <= 0 {
		return
	}
	if b.empty {
		b.early++
		b.empty, b.used = false, 0
	}
	b.used++
	remaining := b.bucket.Limit - b.used
	q.header = http.Header{}
	q.header.Set("X-RateLimit-Limit", strconv.Itoa(b.bucket.Limit))
	q.header.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	q.header.Set("X-RateLimit-Bucket", "fake-channel-messages")
	after := 0.0
	if remaining <= 0 {
		b.empty = true
		after = b.bucket.ResetAfter
	}
	q.header.Set("X-RateLimit-Reset-After", strconv.FormatFloat(after, 'f', 3, 64))
}

// activeThreads is GET /guilds/{guild}/threads/active: the guild's active
// threads the bot can see, and the bot's thread members (none: it joins
// none in the fake).
// https://discord.com/developers/docs/resources/guild#list-active-guild-threads
func (s *Server) activeThreads(q *request) (int, any) {
	if q.r.PathValue("guild") != s.GuildID {
		return 0, fail(http.StatusNotFound, 10004)
	}
	threads := []map[string]any{}
	for _, id := range s.order {
		c := s.channels[id]
		if c.Type != TypePublicThread && c.Type != TypePrivateThread || c.Archived {
			continue
		}
		if s.perms(c)&PermViewChannel == 0 {
			continue
		}
		j := s.channelJSON(c)
		n := 0
		for _, m := range s.messages[c.ID] {
			if !m.Deleted {
				n++
			}
		}
		j["message_count"], j["member_count"], j["total_message_sent"] = n, 1, n
		threads = append(threads, j)
	}
	return http.StatusOK, map[string]any{"threads": threads, "members": []any{}}
}

// ArchiveThread archives a thread, as Discord does after its
// auto_archive_duration without messages: it leaves the active list.
func (s *Server) ArchiveThread(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[id]
	if c == nil || (c.Type != TypePublicThread && c.Type != TypePrivateThread) {
		return fmt.Errorf("discordtest: no thread %s", id)
	}
	c.Archived = true
	return nil
}

// PostWebhook posts a webhook's message in channel, as a monitoring tool
// or CI does: name is the webhook's, embeds the message's embeds as
// Discord carries them (a JSON array), content often empty. It delivers
// MESSAGE_CREATE and returns the message's ID once the bot acknowledged
// it (at once when Away).
func (s *Server) PostWebhook(ctx context.Context, channel, name, content string, embeds json.RawMessage) (string, error) {
	var id string
	err := s.act(ctx, func() ([]event, error) {
		if s.channels[channel] == nil {
			return nil, fmt.Errorf("discordtest: no channel %s", channel)
		}
		if !json.Valid(embeds) {
			return nil, fmt.Errorf("discordtest: embeds are not JSON")
		}
		hook := &User{ID: s.nextID(), Username: name, Bot: true}
		s.users[hook.ID] = hook
		m := s.post(channel, hook.ID, content, MessageDefault, nil)
		m.RichEmbeds, m.WebhookID = embeds, hook.ID
		id = m.ID
		return []event{{"MESSAGE_CREATE", s.messageJSON(m)}}, nil
	})
	return id, err
}

// Redeliver sends MESSAGE_CREATE again for message id of channel, as
// Discord may (it delivers at least once), and returns once the bot
// acknowledged it.
func (s *Server) Redeliver(ctx context.Context, channel, id string) error {
	return s.act(ctx, func() ([]event, error) {
		m, err := s.find(channel, id)
		if err != nil {
			return nil, err
		}
		return []event{{"MESSAGE_CREATE", s.messageJSON(m)}}, nil
	})
}
