package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

// The catch-up (README, "None lost while debrief was down"): what was said
// in an open incident's channel while debrief was stopped or disconnected
// reaches no gateway session (a RESUME replays only a session that
// survived; a new IDENTIFY replays nothing), so on every READY and RESUMED
// each open incident's channel and its active threads are read back with
// GET /channels/{id}/messages?after= and recorded, marked Recovered, under
// the dedupe keys a live event would have: a message seen both ways is
// stored once, whichever comes first.

const (
	// pageSize is the most messages Discord returns per page.
	pageSize = 100
	// editWindow is how many of the last messages on record are read again
	// to see what was edited or deleted meanwhile: Discord keeps no log of
	// edits and deletes, only the messages as they are now.
	editWindow = 100
	// maxAttempts bounds the tries of one REST call: 429s are waited out
	// (retry_after) and 5xx backed off; past it the channel waits for the
	// next catch-up.
	maxAttempts = 8
	// maxPage bounds a history page's body: 100 messages of 2000
	// characters with their embeds are well under it.
	maxPage = 16 << 20
)

// catchups runs one catch-up at a time: a READY or RESUMED arriving while
// one runs asks for another pass after it, so that nothing said during the
// first is left for the next reconnect.
type catchups struct {
	mu      sync.Mutex
	running bool
	again   bool
	passes  int
	changed chan struct{}
}

// catchUp starts a catch-up in the background, or asks the one running
// for another pass. Live events are not held up: the gateway loop goes on
// while it runs, and Record interleaves both.
func (d *Discord) catchUp(ctx context.Context) {
	c := &d.catchups
	c.mu.Lock()
	if c.running {
		c.again = true
		c.mu.Unlock()
		return
	}
	c.running = true
	c.mu.Unlock()
	d.bg.Go(func() {
		for {
			d.catchUpAll(ctx)
			c.mu.Lock()
			c.passes++
			if c.changed != nil {
				close(c.changed)
				c.changed = nil
			}
			if !c.again || ctx.Err() != nil {
				c.running = false
				c.mu.Unlock()
				return
			}
			c.again = false
			c.mu.Unlock()
		}
	})
}

// waitCatchUps waits until n passes are done in all, or ctx is done.
func (d *Discord) waitCatchUps(ctx context.Context, n int) error {
	c := &d.catchups
	for {
		c.mu.Lock()
		if c.passes >= n {
			c.mu.Unlock()
			return nil
		}
		if c.changed == nil {
			c.changed = make(chan struct{})
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("discord: %d catch-ups: %w", n, ctx.Err())
		}
	}
}

// catchUpAll reads back every open incident's channel. A channel that
// fails is logged and left for the next pass (the next READY or RESUMED);
// the others go on.
func (d *Discord) catchUpAll(ctx context.Context) {
	cs, err := d.svc.Catchups(ctx, bot.Discord)
	if err != nil {
		d.log.ErrorContext(ctx, "catch-up: open incidents unreadable", "err", err)
		return
	}
	if len(cs) == 0 {
		return
	}
	start := time.Now()
	threads, err := d.activeThreads(ctx)
	if err != nil {
		d.log.WarnContext(ctx, "catch-up: active threads unreadable; the next connection tries again", "err", err)
		return
	}
	total := 0
	for _, c := range cs {
		if ctx.Err() != nil {
			return
		}
		n, err := d.catchUpChannel(ctx, c, threads[c.Channel.ID])
		total += n
		if err != nil {
			d.log.WarnContext(ctx, "catch-up of a channel stopped; the next connection tries again", "incident", c.IncidentID, "channel", c.Channel.ID, "entries", n, "err", err)
			continue
		}
		if n > 0 {
			d.log.InfoContext(ctx, "catch-up: recorded what was missed", "incident", c.IncidentID, "channel", c.Channel.ID, "entries", n)
		}
	}
	// entries counts what was recorded, redeliveries of what was on
	// record already (stored once) included.
	d.log.InfoContext(ctx, "catch-up done", "channels", len(cs), "entries", total, "took", time.Since(start).Round(time.Millisecond))
}

// onRecordMsg is a message on record in the timeline: where it was said
// (its thread, "" for the channel itself) and whether it was deleted.
type onRecordMsg struct {
	thread  string
	deleted bool
}

// catchUpChannel reads back one incident channel and its active threads,
// and records what is not on record yet, oldest first: new messages, the
// edits of messages on record, and the deletes of messages on record that
// are gone. It returns how many entries it recorded.
func (d *Discord) catchUpChannel(ctx context.Context, c workflows.Catchup, threads []string) (int, error) {
	ch := c.Channel.ID
	known, after := recentOnRecord(c)
	fetched, err := d.history(ctx, ch, after)
	if err != nil {
		return 0, err
	}
	read := map[string]bool{"": true} // the threads read: "" is the channel
	for _, t := range threads {
		ms, err := d.history(ctx, t, after)
		if err != nil {
			return 0, err
		}
		read[t] = true
		fetched = append(fetched, ms...)
	}
	// One order for all: snowflakes sort by time.
	slices.SortFunc(fetched, func(a, b message) int { return compareSnowflakes(a.ID, b.ID) })

	seen := make(map[string]bool, len(fetched))
	jobs := make([]job, 0, len(fetched))
	for _, m := range fetched {
		seen[m.ID] = true
		if k, ok := known[m.ID]; ok {
			if m.EditedTimestamp != nil && !k.deleted {
				jobs = append(jobs, job{m.Message, d.updated(m), *m.EditedTimestamp})
			}
			continue
		}
		jobs = append(jobs, job{m.Message, d.created(m), m.Timestamp})
	}
	n, err := d.recordJobs(ctx, jobs)
	if err != nil {
		return n, err
	}
	// What is on record, in a channel or thread read to its end, and
	// was not found there, was deleted meanwhile.
	gone := make([]string, 0)
	for id, k := range known {
		if !k.deleted && read[k.thread] && !seen[id] {
			gone = append(gone, id)
		}
	}
	slices.SortFunc(gone, compareSnowflakes)
	for _, id := range gone {
		where := ch
		if t := known[id].thread; t != "" {
			where = t
		}
		m := &discordgo.Message{ID: id, ChannelID: where, GuildID: d.cfg.GuildID}
		k, err := d.recordRecovered(ctx, m, d.deleted(m))
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// job is a message to record and how.
type job struct {
	m  *discordgo.Message
	tr translator
	at time.Time // its platform time
}

// wave is how many messages are recorded at once: the store commits
// concurrent appends together (store/bolt's group commit), so a wave
// costs about one commit, where one message after the other costs one
// each (BenchmarkCatchUp compares both). A variable only so that the
// benchmark can set it to 1 for its baseline.
var wave = 64

// recordJobs records jobs, oldest first, a wave at a time. Within a wave
// the commits may come in any order; the timeline's order is still the
// platform's, since a recovered entry is keyed at its platform time
// (Service.Record), and messages of the same millisecond are recorded one
// after the other. A wave with a time not before debrief's clock (a
// clock behind Discord's) would be keyed at now, in commit order: it is
// recorded one message after the other.
func (d *Discord) recordJobs(ctx context.Context, jobs []job) (int, error) {
	now := time.Now
	if d.svc.Now != nil {
		now = d.svc.Now
	}
	total := 0
	for len(jobs) > 0 {
		w := jobs[:min(wave, len(jobs))]
		jobs = jobs[len(w):]
		var units [][]job
		for i, j := range w {
			if i > 0 && j.at.Equal(w[i-1].at) {
				units[len(units)-1] = append(units[len(units)-1], j)
			} else {
				units = append(units, []job{j})
			}
		}
		if !w[len(w)-1].at.Before(now()) {
			units = [][]job{w}
		}
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			first error
		)
		for _, u := range units {
			wg.Go(func() {
				for _, j := range u {
					k, err := d.recordRecovered(ctx, j.m, j.tr)
					mu.Lock()
					total += k
					if err != nil && first == nil {
						first = err
					}
					mu.Unlock()
					if err != nil {
						return
					}
				}
			})
		}
		wg.Wait()
		if first != nil {
			return total, first
		}
	}
	return total, nil
}

// recordRecovered records what tr makes of m as recovered entries, and
// returns how many it made.
func (d *Discord) recordRecovered(ctx context.Context, m *discordgo.Message, tr translator) (int, error) {
	n := 0
	err := d.record(ctx, m, func(ctx context.Context, ch, incident string) []bot.TimelineEvent {
		evs := tr(ctx, ch, incident)
		for i := range evs {
			evs[i].Recovered = true
		}
		n = len(evs)
		return evs
	})
	return n, err
}

// recentOnRecord returns the last editWindow messages of the channel on
// record among the incident's last entries (Catchup.Recent), and whether
// each was deleted since, and the snowflake to read
// the channel after: just before the oldest of them, so that their edits
// and deletes are seen too; or just before the incident's declaration
// when nothing said there is on record.
func recentOnRecord(c workflows.Catchup) (map[string]onRecordMsg, string) {
	tail := c.Recent
	known := map[string]onRecordMsg{}
	deleted := map[string]bool{}
	for i := len(tail) - 1; i >= 0 && len(known) < editWindow; i-- {
		ev := tail[i]
		if ev.MessageID == "" || ev.Author.Platform != bot.Discord || !isSnowflake(ev.MessageID) {
			continue
		}
		switch ev.Kind {
		case bot.EventDelete:
			deleted[ev.MessageID] = true
		case bot.EventMessage, bot.EventBot, bot.EventFile:
			if _, ok := known[ev.MessageID]; !ok {
				known[ev.MessageID] = onRecordMsg{thread: ev.ThreadID}
			}
		}
	}
	oldest := ""
	for id := range known {
		if oldest == "" || compareSnowflakes(id, oldest) < 0 {
			oldest = id
		}
		if deleted[id] {
			known[id] = onRecordMsg{thread: known[id].thread, deleted: true}
		}
	}
	if oldest == "" {
		return known, before(snowflakeAt(c.Since))
	}
	return known, before(oldest)
}

// history reads channel ch from the message after the snowflake after to
// the newest, oldest first. Discord answers each page newest first.
// https://discord.com/developers/docs/resources/message#get-channel-messages
func (d *Discord) history(ctx context.Context, ch, after string) ([]message, error) {
	var out []message
	for {
		var page []json.RawMessage
		q := url.Values{"after": {after}, "limit": {strconv.Itoa(pageSize)}}
		if err := d.getJSON(ctx, "channels/"+ch+"/messages?"+q.Encode(), &page); err != nil {
			return nil, err
		}
		ms := make([]message, 0, len(page))
		for _, raw := range page {
			m, err := decodeMessage(raw)
			if err != nil || m.ID == "" {
				d.log.WarnContext(ctx, "catch-up: unreadable message skipped", "channel", ch, "err", err)
				continue
			}
			// A REST message carries no guild_id: the channel's guild
			// is debrief's.
			m.GuildID = d.cfg.GuildID
			if m.ChannelID == "" {
				m.ChannelID = ch
			}
			ms = append(ms, m)
		}
		slices.SortFunc(ms, func(a, b message) int { return compareSnowflakes(a.ID, b.ID) })
		out = append(out, ms...)
		if len(page) < pageSize || len(ms) == 0 {
			return out, nil
		}
		after = ms[len(ms)-1].ID
	}
}

// activeThreads returns the guild's active threads by their channel, and
// keeps them in the channel cache so that their messages find their
// incident.
// Archived threads are not read: a thread is archived after a day or
// more without a message, longer than most outages.
// https://discord.com/developers/docs/resources/guild#list-active-guild-threads
func (d *Discord) activeThreads(ctx context.Context) (map[string][]string, error) {
	var list discordgo.ThreadsList
	if err := d.getJSON(ctx, "guilds/"+d.cfg.GuildID+"/threads/active", &list); err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, t := range list.Threads {
		if t == nil || t.ID == "" || t.ParentID == "" {
			continue
		}
		d.channels.put(t.ID, t.Type, t.ParentID, t.Name)
		out[t.ParentID] = append(out[t.ParentID], t.ID)
	}
	for _, ts := range out {
		slices.SortFunc(ts, compareSnowflakes)
	}
	return out, nil
}

// getJSON GETs path (under the API base) into v, honouring Discord's rate
// limits with the injected wait: a 429's retry_after, and a bucket the
// answer says is empty (X-RateLimit-Remaining 0) for X-RateLimit-Reset-After,
// before the next call. 5xx and network errors are tried again with the
// reconnect backoff, up to maxAttempts; other refusals are errors.
// https://discord.com/developers/docs/topics/rate-limits
func (d *Discord) getJSON(ctx context.Context, path string, v any) error {
	var last error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.cfg.APIURL+path, nil)
		if err != nil {
			return fmt.Errorf("discord: GET %s: %w", path, err)
		}
		req.Header.Set("Authorization", d.api.Token)
		req.Header.Set("User-Agent", d.api.UserAgent)
		resp, err := d.rest.Do(req)
		if err != nil {
			var rl *rateLimitError
			if errors.As(err, &rl) {
				last = classify("GET "+path, err)
				wait := rl.After
				if wait <= 0 {
					wait = time.Second
				}
				d.log.InfoContext(ctx, "catch-up: rate limited", "path", path, "retry_after", wait, "global", rl.Global)
				if err := d.sleep(ctx, wait); err != nil {
					return err
				}
				continue
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			last = classify("GET "+path, err)
		} else {
			body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxPage))
			resp.Body.Close()
			switch {
			case rerr != nil:
				last = fmt.Errorf("discord: GET %s: %w", path, rerr)
			case resp.StatusCode == http.StatusOK:
				if err := json.Unmarshal(body, v); err != nil {
					return fmt.Errorf("discord: GET %s: %w", path, err)
				}
				if resp.Header.Get("X-RateLimit-Remaining") == "0" {
					if f, err := strconv.ParseFloat(resp.Header.Get("X-RateLimit-Reset-After"), 64); err == nil && f > 0 {
						return d.sleep(ctx, seconds(f))
					}
				}
				return nil
			default:
				re := &discordgo.RESTError{Request: req, Response: resp, ResponseBody: body}
				var msg discordgo.APIErrorMessage
				if json.Unmarshal(body, &msg) == nil {
					re.Message = &msg
				}
				err := classify("GET "+path, re)
				var perm *workflows.PermanentError
				if errors.As(err, &perm) {
					return err
				}
				last = err
			}
		}
		if err := d.sleep(ctx, d.backoff(attempt)); err != nil {
			return err
		}
	}
	return fmt.Errorf("discord: gave up after %d tries: %w", maxAttempts, last)
}

// sleep waits d on the injected clock (Config.Sleep), or until ctx is
// done.
func (d *Discord) sleep(ctx context.Context, dur time.Duration) error {
	if d.cfg.Sleep != nil {
		return d.cfg.Sleep(ctx, dur)
	}
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// discordEpoch is the first millisecond of 2015, where snowflakes count
// from. https://discord.com/developers/docs/reference#snowflakes
const discordEpoch = 1420070400000

// snowflakeAt is the smallest snowflake made at t.
func snowflakeAt(t time.Time) string {
	ms := t.UnixMilli() - discordEpoch
	if ms < 0 {
		ms = 0
	}
	return strconv.FormatUint(uint64(ms)<<22, 10)
}

// before is the snowflake just before id: reading after it includes id.
func before(id string) string {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil || n == 0 {
		return "0"
	}
	return strconv.FormatUint(n-1, 10)
}

// compareSnowflakes orders snowflakes by value (by time); they are
// decimal strings of up to 20 digits.
func compareSnowflakes(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
