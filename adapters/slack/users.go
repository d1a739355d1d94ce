package slack

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

var _ workflows.ZoneSource = (*Slack)(nil)

// Cache lifetimes. People rarely rename themselves or move zones, and
// users.info is rate limited (Tier 4, about 100 a minute), so a found user
// is kept for an hour. A failed lookup is remembered briefly, so that while
// Slack is down every message does not wait for a lookup that will fail.
const (
	userTTL     = time.Hour
	userFailTTL = 30 * time.Second
	// lookupTimeout bounds a lookup made while Slack waits for an answer
	// (3 seconds for a slash command) unless Config.LookupBudget says
	// otherwise: a name is nice, the answer is vital.
	lookupTimeout = 1500 * time.Millisecond
)

// person is what debrief keeps of a Slack user.
type person struct {
	name   string // display name, else real name, else handle
	handle string // the username: one word
	tz     string // IANA zone from the profile
}

// userEntry is one cache slot. ready is closed when the lookup that fills
// it ends, so concurrent callers for the same user share one request.
type userEntry struct {
	ready   chan struct{}
	p       person
	err     error
	expires time.Time
}

type userCache struct {
	mu sync.Mutex
	m  map[string]*userEntry
}

// lookup returns the user with ID id, from the cache or users.info. It
// gives up when ctx is done; the request it started goes on, bounded on its
// own, and fills the cache for the next caller.
func (s *Slack) lookup(ctx context.Context, id string) (person, error) {
	s.users.mu.Lock()
	e, ok := s.users.m[id]
	if ok {
		select {
		case <-e.ready:
			if s.now().Before(e.expires) {
				s.users.mu.Unlock()
				return e.p, e.err
			}
			ok = false // expired: look it up again
		default: // someone is looking it up: wait for them
		}
	}
	if !ok {
		e = &userEntry{ready: make(chan struct{})}
		s.users.m[id] = e
		go func() {
			p, err := s.fetchUser(ctx, id)
			ttl := userTTL
			if err != nil {
				ttl = userFailTTL
			}
			e.p, e.err, e.expires = p, err, s.now().Add(ttl)
			close(e.ready)
		}()
	}
	s.users.mu.Unlock()
	select {
	case <-e.ready:
		return e.p, e.err
	case <-ctx.Done():
		return person{}, ctx.Err()
	}
}

func (s *Slack) fetchUser(ctx context.Context, id string) (person, error) {
	// The lookup outlives a caller that gives up waiting: others may be
	// waiting on the same entry, and the answer is worth caching.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	u, err := s.api.GetUserInfoContext(ctx, id)
	if err != nil {
		return person{}, fmt.Errorf("slack: users.info %s: %w", id, err)
	}
	name := u.Profile.DisplayName
	if name == "" {
		name = u.Profile.RealName
	}
	if name == "" {
		name = u.RealName
	}
	if name == "" {
		name = u.Name
	}
	return person{name: name, handle: u.Name, tz: u.TZ}, nil
}

// user returns the bot.User for a Slack user ID, named from the cache or
// users.info. fallback (the handle a payload carries) names them when the
// lookup fails or takes too long: a command is not refused for a name.
func (s *Slack) user(ctx context.Context, id, fallback string) bot.User {
	u := bot.User{Platform: bot.Slack, ID: id, Name: fallback}
	if id == "" {
		return u
	}
	ctx, cancel := context.WithTimeout(ctx, s.lookupBudget())
	defer cancel()
	p, err := s.lookup(ctx, id)
	if err != nil {
		s.log.DebugContext(ctx, "user lookup failed", "platform", bot.Slack, "user", id, "err", err)
		return u
	}
	if p.name != "" {
		u.Name = p.name
	}
	return u
}

// name resolves a mention's user ID for plainText; "" when unknown.
func (s *Slack) name(ctx context.Context) func(id string) string {
	return func(id string) string {
		ctx, cancel := context.WithTimeout(ctx, s.lookupBudget())
		defer cancel()
		p, err := s.lookup(ctx, id)
		if err != nil {
			return ""
		}
		return p.name
	}
}

// mentionNames names the people mentioned in command text by the name
// debrief shows them by elsewhere: <@U1> and <@U1|handle> become
// <@U1|name>. The grammar splits words at spaces, so a name with a space
// in it is given as the one-word handle instead. A person who cannot be
// looked up keeps what Slack sent.
func (s *Slack) mentionNames(ctx context.Context, text string) string {
	return rewriteMentions(text, func(id string) string { return s.mentionLabel(ctx, id) })
}

// mentionedIDs returns the user IDs mentioned in command text, to look
// them up together before mentionNames asks for each.
func mentionedIDs(text string) []string {
	var ids []string
	rewriteMentions(text, func(id string) string {
		ids = append(ids, id)
		return ""
	})
	return ids
}

// rewriteMentions calls label with the user ID of each <@ID> or
// <@ID|label> in text, and writes <@ID|label> in its place, or the token
// as Slack sent it when label returns "".
func rewriteMentions(text string, label func(id string) string) string {
	if !strings.Contains(text, "<@") {
		return text
	}
	var b strings.Builder
	for {
		i := strings.Index(text, "<@")
		if i < 0 {
			break
		}
		j := strings.IndexByte(text[i:], '>')
		if j < 0 {
			break
		}
		b.WriteString(text[:i])
		id, _, _ := strings.Cut(text[i+2:i+j], "|")
		l := ""
		if id != "" && !strings.ContainsAny(id, " \t\n<") {
			l = label(id)
		}
		if l != "" {
			b.WriteString("<@" + id + "|" + l + ">")
		} else {
			b.WriteString(text[i : i+j+1])
		}
		text = text[i+j+1:]
	}
	b.WriteString(text)
	return b.String()
}

// prefetch looks the users up at once, each in its own request (or an
// entry already in the cache), and waits at most lookupTimeout for all of
// them: a command naming three people waits for the slowest lookup, not
// for the sum. What is not back in time keeps filling the cache.
func (s *Slack) prefetch(ctx context.Context, ids []string) {
	ctx, cancel := context.WithTimeout(ctx, s.lookupBudget())
	defer cancel()
	var wg sync.WaitGroup
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		wg.Go(func() { _, _ = s.lookup(ctx, id) })
	}
	wg.Wait()
}

func (s *Slack) mentionLabel(ctx context.Context, id string) string {
	ctx, cancel := context.WithTimeout(ctx, s.lookupBudget())
	defer cancel()
	p, err := s.lookup(ctx, id)
	if err != nil {
		return ""
	}
	// bot owns the rule of which names a mention token can carry.
	return bot.MentionName(p.name, p.handle)
}

// Zone returns the zone in the user's Slack profile, so that the times the
// bot shows a person are in that person's zone unless they set another
// with /incident tz. It implements workflows.ZoneSource.
func (s *Slack) Zone(ctx context.Context, u bot.User) (string, error) {
	if u.Platform != bot.Slack || u.ID == "" {
		return "", nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.lookupBudget())
	defer cancel()
	p, err := s.lookup(ctx, u.ID)
	if err != nil {
		return "", err
	}
	return p.tz, nil
}

// lookupBudget is Config.LookupBudget, or lookupTimeout.
func (s *Slack) lookupBudget() time.Duration {
	if s.cfg.LookupBudget > 0 {
		return s.cfg.LookupBudget
	}
	return lookupTimeout
}
