package discordtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// DefaultHeartbeatInterval is Discord's usual heartbeat_interval; tests
// set Server.HeartbeatInterval much lower, since acknowledgements ride on
// heartbeats.
const DefaultHeartbeatInterval = 41250 * time.Millisecond

// Intent bits the fake checks.
const (
	IntentGuilds         = 1 << 0
	IntentGuildMessages  = 1 << 9
	IntentGuildReactions = 1 << 10
	IntentMessageContent = 1 << 15
)

// Identify is an IDENTIFY the bot sent.
type Identify struct {
	Intents int
	Path    string
}

// Resume is a RESUME the bot sent.
type Resume struct {
	SessionID string
	Seq       int64
	// Path is the URL path it came on: /gateway-resume/ is READY's
	// resume_gateway_url, where Discord wants resumes.
	Path string
	// Replayed is how many missed events the fake sent again.
	Replayed int
}

// gateway is the websocket side: one session at a time (one shard), the
// dispatches of each session for replay, and what the bot sent.
type gateway struct {
	mu sync.Mutex
	// interval is the heartbeat_interval sent in HELLO.
	interval       time.Duration
	messageContent bool
	sessions       map[string]*gwSession
	cur            *gwSession
	conns          map[*gwConn]bool
	changed        chan struct{} // closed and replaced on every change
	identifies     []Identify
	resumes        []Resume
	accepted       int    // READYs and RESUMEDs sent
	replayFrom     *int64 // the next RESUME replays from here, not the bot's seq
	beats          int
	noAck          bool // heartbeats go unanswered: a zombie connection
	// hold keeps the bot's new connections waiting before HELLO until
	// its session has dispatched up to seq (DisconnectMissing); held
	// counts the connections waiting.
	hold   *holdUntil
	held   int
	refuse int  // the next connections are answered 503 (RefuseConnections)
	closed bool // the server is closing: nothing waits any more
}

// holdUntil is where a hold ends: once sess has dispatched seq.
type holdUntil struct {
	sess *gwSession
	seq  int64
	// manual holds until released (LoseSession).
	manual bool
}

type gwSession struct {
	id    string
	seq   int64
	log   []outFrame
	conn  *gwConn
	acked int64 // the highest sequence number a heartbeat carried
}

type outFrame struct {
	Op int             `json:"op"`
	T  string          `json:"t,omitempty"`
	S  int64           `json:"s,omitempty"`
	D  json.RawMessage `json:"d"`
}

type gwConn struct {
	c   *websocket.Conn
	wmu sync.Mutex
}

func (c *gwConn) write(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.c.WriteJSON(v)
}

func (g *gateway) init() {
	g.interval = DefaultHeartbeatInterval
	g.messageContent = true
	g.sessions = map[string]*gwSession{}
	g.conns = map[*gwConn]bool{}
	g.changed = make(chan struct{})
}

// notify wakes waiters; g.mu is held.
func (g *gateway) notify() {
	close(g.changed)
	g.changed = make(chan struct{})
}

// SetHeartbeatInterval sets the heartbeat_interval of the next HELLOs.
func (s *Server) SetHeartbeatInterval(d time.Duration) {
	s.gw.mu.Lock()
	defer s.gw.mu.Unlock()
	s.gw.interval = d
}

// EnableMessageContent says whether the privileged Message Content intent
// is enabled in the developer portal; when it is not, an IDENTIFY asking
// for it is closed with 4014, as Discord does.
func (s *Server) EnableMessageContent(on bool) {
	s.gw.mu.Lock()
	defer s.gw.mu.Unlock()
	s.gw.messageContent = on
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// serveGateway is the gateway: HELLO, then IDENTIFY (READY, GUILD_CREATE)
// or RESUME (the missed dispatches, RESUMED), then heartbeats.
func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("v") != "10" || r.URL.Query().Get("encoding") != "json" {
		http.Error(w, "want ?v=10&encoding=json", http.StatusBadRequest)
		return
	}
	g := &s.gw
	g.mu.Lock()
	refuse := g.refuse > 0
	if refuse {
		g.refuse--
	}
	g.mu.Unlock()
	if refuse {
		http.Error(w, "gateway unavailable", http.StatusServiceUnavailable)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &gwConn{c: ws}
	g.mu.Lock()
	g.conns[c] = true
	g.notify()
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.conns, c)
		for _, sess := range g.sessions {
			if sess.conn == c {
				sess.conn = nil
			}
		}
		// A session ended by its client's close is gone from
		// g.sessions, but may still be current.
		if g.cur != nil && g.cur.conn == c {
			g.cur.conn = nil
		}
		g.notify()
		g.mu.Unlock()
		ws.Close()
	}()
	if !g.waitHold() {
		return
	}
	g.mu.Lock()
	interval := g.interval
	g.mu.Unlock()
	if c.write(map[string]any{"op": 10, "d": map[string]any{"heartbeat_interval": interval.Milliseconds()}}) != nil {
		return
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	var first struct {
		Op int             `json:"op"`
		D  json.RawMessage `json:"d"`
	}
	if ws.ReadJSON(&first) != nil {
		return
	}
	_ = ws.SetReadDeadline(time.Time{})
	switch first.Op {
	case 2:
		if !s.identify(c, first.D, r.URL.Path) {
			return
		}
	case 6:
		if !s.resume(c, first.D, r.URL.Path) {
			return
		}
	default:
		closeWith(c, 4003, "Not authenticated.")
		return
	}
	for {
		var f struct {
			Op int             `json:"op"`
			D  json.RawMessage `json:"d"`
		}
		if err := ws.ReadJSON(&f); err != nil {
			// Discord ends a session its client closes with 1000 or
			// 1001: a RESUME of it is refused, and the client must
			// identify anew. Any other code keeps it resumable.
			var ce *websocket.CloseError
			if errors.As(err, &ce) && (ce.Code == websocket.CloseNormalClosure || ce.Code == websocket.CloseGoingAway) {
				g.mu.Lock()
				for id, sess := range g.sessions {
					if sess.conn == c {
						delete(g.sessions, id)
					}
				}
				g.mu.Unlock()
			}
			return
		}
		switch f.Op {
		case 1:
			var seq *int64
			_ = json.Unmarshal(f.D, &seq)
			g.mu.Lock()
			g.beats++
			for _, sess := range g.sessions {
				if sess.conn == c && seq != nil && *seq > sess.acked {
					sess.acked = *seq
				}
			}
			noAck := g.noAck
			g.notify()
			g.mu.Unlock()
			if !noAck && c.write(map[string]any{"op": 11, "d": nil}) != nil {
				return
			}
		case 2, 6:
			closeWith(c, 4005, "Already authenticated.")
			return
		}
	}
}

// waitHold keeps a new connection waiting, before HELLO, while a hold
// (DisconnectMissing) lasts, and ends the hold once it is over. It reports
// false when the server closes meanwhile. The request's context is no use
// here: a hijacked connection's is not cancelled when the bot hangs up.
func (g *gateway) waitHold() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	counted := false
	for g.hold != nil && (g.hold.manual || g.hold.sess.seq < g.hold.seq) && !g.closed {
		if !counted {
			counted = true
			g.held++
			g.notify()
		}
		ch := g.changed
		g.mu.Unlock()
		<-ch
		g.mu.Lock()
	}
	if counted {
		g.held--
	}
	g.hold = nil
	return !g.closed
}

func closeWith(c *gwConn, code int, text string) {
	c.wmu.Lock()
	_ = c.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
	c.wmu.Unlock()
	c.c.Close()
}

func (s *Server) identify(c *gwConn, d json.RawMessage, path string) bool {
	var id struct {
		Token   string `json:"token"`
		Intents int    `json:"intents"`
	}
	if json.Unmarshal(d, &id) != nil {
		closeWith(c, 4002, "Error while decoding payload.")
		return false
	}
	g := &s.gw
	g.mu.Lock()
	g.identifies = append(g.identifies, Identify{Intents: id.Intents, Path: path})
	content := g.messageContent
	g.notify()
	g.mu.Unlock()
	if id.Token != s.BotToken {
		closeWith(c, 4004, "Authentication failed.")
		return false
	}
	if id.Intents&IntentMessageContent != 0 && !content {
		closeWith(c, 4014, "Disallowed intent(s).")
		return false
	}
	s.mu.Lock()
	sessID := fmt.Sprintf("fake-session-%s", s.nextID())
	bot := s.userJSON(s.users[s.BotUserID])
	guild := s.guildJSON()
	s.mu.Unlock()
	g.mu.Lock()
	sess := &gwSession{id: sessID, conn: c}
	g.sessions[sessID] = sess
	g.cur = sess
	g.mu.Unlock()
	s.gw.dispatch("READY", map[string]any{
		"v": 10, "user": bot, "guilds": []any{map[string]any{"id": s.GuildID, "unavailable": true}},
		"session_id": sessID, "resume_gateway_url": s.wsURL("/gateway-resume/"),
		"application": map[string]any{"id": s.AppID, "flags": 1 << 19}, "private_channels": []any{},
	})
	s.gw.dispatch("GUILD_CREATE", guild)
	g.accept()
	return true
}

// accept counts a session accepted once its READY (and GUILD_CREATE) or
// RESUMED is dispatched, not before: WaitSessions then Settle must wait
// for the bot to acknowledge them, and Seq read earlier would be short of
// them.
func (g *gateway) accept() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.accepted++
	g.notify()
}

// guildJSON is GUILD_CREATE: the guild's channels and active threads, and
// its roles. s.mu is held.
func (s *Server) guildJSON() map[string]any {
	chs, threads := []any{}, []any{}
	for _, id := range s.order {
		c := s.channels[id]
		if c.Type == TypePublicThread || c.Type == TypePrivateThread {
			threads = append(threads, s.channelJSON(c))
		} else {
			chs = append(chs, s.channelJSON(c))
		}
	}
	return map[string]any{"id": s.GuildID, "name": "Fake", "channels": chs, "threads": threads,
		"roles":   []any{map[string]any{"id": s.GuildID, "name": "@everyone", "permissions": "0"}},
		"members": []any{}, "member_count": len(s.users), "unavailable": false}
}

func (s *Server) resume(c *gwConn, d json.RawMessage, path string) bool {
	var rs struct {
		Token     string `json:"token"`
		SessionID string `json:"session_id"`
		Seq       int64  `json:"seq"`
	}
	if json.Unmarshal(d, &rs) != nil {
		closeWith(c, 4002, "Error while decoding payload.")
		return false
	}
	if rs.Token != s.BotToken {
		closeWith(c, 4004, "Authentication failed.")
		return false
	}
	g := &s.gw
	g.mu.Lock()
	g.resumes = append(g.resumes, Resume{SessionID: rs.SessionID, Seq: rs.Seq, Path: path})
	sess := g.sessions[rs.SessionID]
	g.notify()
	if sess == nil || rs.Seq > sess.seq {
		g.mu.Unlock()
		_ = c.write(map[string]any{"op": 9, "d": false})
		closeWith(c, 4009, "Session timed out.")
		return false
	}
	if old := sess.conn; old != nil && old != c {
		old.c.Close()
	}
	from := rs.Seq
	if g.replayFrom != nil {
		from = min(from, *g.replayFrom)
		g.replayFrom = nil
	}
	// Replayed and new dispatches go out in order: the session's conn is
	// set while g.mu is held, after the replay is written.
	var missed []outFrame
	for _, f := range sess.log {
		if f.S > from {
			missed = append(missed, f)
		}
	}
	for _, f := range missed {
		if c.write(f) != nil {
			g.mu.Unlock()
			return false
		}
	}
	g.resumes[len(g.resumes)-1].Replayed = len(missed)
	sess.conn = c
	g.cur = sess
	g.mu.Unlock()
	g.dispatch("RESUMED", map[string]any{})
	g.accept()
	return true
}

// dispatch sends an event in the current session, numbered, and keeps it
// for replay; with no connection it waits in the log for a RESUME. It
// returns the event's sequence number, 0 when no session was ever opened.
func (g *gateway) dispatch(t string, d any) int64 {
	raw, err := json.Marshal(d)
	if err != nil {
		panic(err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	sess := g.cur
	if sess == nil {
		return 0
	}
	sess.seq++
	f := outFrame{Op: 0, T: t, S: sess.seq, D: raw}
	sess.log = append(sess.log, f)
	if sess.conn != nil {
		// A failed write drops the connection; the event waits for the
		// RESUME.
		_ = sess.conn.write(f)
	}
	g.notify()
	return sess.seq
}

// Dispatch sends an event to the bot (INTERACTION_CREATE, or anything the
// helpers do not cover) and returns its sequence number.
func (s *Server) Dispatch(t string, d any) int64 { return s.gw.dispatch(t, d) }

// Seq is the sequence number of the last event sent.
func (s *Server) Seq() int64 {
	s.gw.mu.Lock()
	defer s.gw.mu.Unlock()
	if s.gw.cur == nil {
		return 0
	}
	return s.gw.cur.seq
}

// Acked is the highest sequence number the bot's heartbeats carried.
func (s *Server) Acked() int64 {
	s.gw.mu.Lock()
	defer s.gw.mu.Unlock()
	if s.gw.cur == nil {
		return 0
	}
	return s.gw.cur.acked
}

// wait blocks until cond (called with g.mu held) holds, or ctx is done.
func (g *gateway) wait(ctx context.Context, what string, cond func() bool) error {
	for {
		g.mu.Lock()
		ok, ch := cond(), g.changed
		g.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("discordtest: %s: %w", what, ctx.Err())
		}
	}
}

// ErrNotAcked is returned when the bot did not acknowledge an event in
// time.
var ErrNotAcked = errors.New("discordtest: event not acknowledged")

// WaitAck waits until the bot's heartbeat carries seq: the bot has handled
// (for debrief: committed) every event up to it.
func (s *Server) WaitAck(ctx context.Context, seq int64) error {
	err := s.gw.wait(ctx, fmt.Sprintf("heartbeat with seq %d", seq), func() bool {
		return s.gw.cur != nil && s.gw.cur.acked >= seq
	})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotAcked, err)
	}
	return nil
}

// Settle waits until the bot acknowledged every event sent so far.
func (s *Server) Settle(ctx context.Context) error { return s.WaitAck(ctx, s.Seq()) }

// WaitSessions waits until n sessions were accepted in all (READY or
// RESUMED) and one is connected: after Disconnect, n is one more than
// before.
func (s *Server) WaitSessions(ctx context.Context, n int) error {
	return s.gw.wait(ctx, fmt.Sprintf("%d gateway sessions", n), func() bool {
		return s.gw.accepted >= n && s.gw.cur != nil && s.gw.cur.conn != nil
	})
}

// WaitIdentifies waits until n IDENTIFYs were sent.
func (s *Server) WaitIdentifies(ctx context.Context, n int) error {
	return s.gw.wait(ctx, fmt.Sprintf("%d IDENTIFYs", n), func() bool { return len(s.gw.identifies) >= n })
}

// Identifies returns the IDENTIFYs the bot sent.
func (s *Server) Identifies() []Identify {
	s.gw.mu.Lock()
	defer s.gw.mu.Unlock()
	return append([]Identify(nil), s.gw.identifies...)
}

// Resumes returns the RESUMEs the bot sent.
func (s *Server) Resumes() []Resume {
	s.gw.mu.Lock()
	defer s.gw.mu.Unlock()
	return append([]Resume(nil), s.gw.resumes...)
}

// Connected reports whether the bot has a gateway connection.
func (s *Server) Connected() bool {
	s.gw.mu.Lock()
	defer s.gw.mu.Unlock()
	return s.gw.cur != nil && s.gw.cur.conn != nil
}

// Disconnect drops the gateway connection without a close frame, as a
// network failure does; the bot resumes.
func (s *Server) Disconnect() {
	s.gw.mu.Lock()
	var c *gwConn
	if s.gw.cur != nil {
		c = s.gw.cur.conn
		s.gw.cur.conn = nil
	}
	s.gw.mu.Unlock()
	if c != nil {
		c.c.Close()
	}
}

// DisconnectMissing drops the gateway connection, as Disconnect does, and
// keeps the bot away until n more events were dispatched: its next
// connection waits before HELLO. Those n events are then certainly ones
// it missed, and come in the RESUME's replay. After a plain Disconnect the
// bot may be back before the next event, which then arrives live.
func (s *Server) DisconnectMissing(n int) {
	s.gw.mu.Lock()
	if s.gw.cur != nil {
		s.gw.hold = &holdUntil{sess: s.gw.cur, seq: s.gw.cur.seq + int64(n)}
	}
	s.gw.mu.Unlock()
	s.Disconnect()
}

// LoseSession drops the gateway connection and forgets its session, as
// Discord does with a session that timed out: the bot's RESUME is answered
// INVALID_SESSION (d: false) and it identifies anew, and nothing
// dispatched meanwhile is ever replayed. The bot's connections wait before
// HELLO until release is called. Pair it with Away, so that people's
// actions meanwhile do not wait for the bot.
func (s *Server) LoseSession() (release func()) {
	s.gw.mu.Lock()
	if s.gw.cur != nil {
		delete(s.gw.sessions, s.gw.cur.id)
		s.gw.hold = &holdUntil{sess: s.gw.cur, manual: true}
	}
	s.gw.mu.Unlock()
	s.Disconnect()
	return func() {
		s.gw.mu.Lock()
		defer s.gw.mu.Unlock()
		if s.gw.hold != nil {
			s.gw.hold.manual = false
		}
		s.gw.notify()
	}
}

// WaitHeld waits until a connection of the bot is held by
// DisconnectMissing: the bot has reconnected and waits for HELLO.
func (s *Server) WaitHeld(ctx context.Context) error {
	return s.gw.wait(ctx, "a held connection", func() bool { return s.gw.held > 0 })
}

// RefuseConnections answers the bot's next n gateway connections with 503
// Service Unavailable, as a gateway that is down does: the bot backs off
// between them.
func (s *Server) RefuseConnections(n int) {
	s.gw.mu.Lock()
	defer s.gw.mu.Unlock()
	s.gw.refuse = n
}

// ReplayFrom makes the next RESUME replay every event after seq, even the
// ones the bot had acknowledged: Discord delivers at least once.
func (s *Server) ReplayFrom(seq int64) {
	s.gw.mu.Lock()
	defer s.gw.mu.Unlock()
	s.gw.replayFrom = &seq
}

// AckHeartbeats says whether heartbeats are answered (HEARTBEAT_ACK); a
// connection that stops answering is a zombie the bot must leave.
func (s *Server) AckHeartbeats(on bool) {
	s.gw.mu.Lock()
	defer s.gw.mu.Unlock()
	s.gw.noAck = !on
}

// SendReconnect sends opcode 7: the bot must reconnect and resume.
func (s *Server) SendReconnect() { s.sendOp(7, nil) }

// InvalidateSession sends opcode 9; a session that is not resumable is
// forgotten, and the bot must identify anew.
func (s *Server) InvalidateSession(resumable bool) {
	if !resumable {
		s.gw.mu.Lock()
		if s.gw.cur != nil {
			delete(s.gw.sessions, s.gw.cur.id)
		}
		s.gw.mu.Unlock()
	}
	s.sendOp(9, resumable)
}

func (s *Server) sendOp(op int, d any) {
	s.gw.mu.Lock()
	var c *gwConn
	if s.gw.cur != nil {
		c = s.gw.cur.conn
	}
	s.gw.mu.Unlock()
	if c != nil {
		_ = c.write(map[string]any{"op": op, "d": d})
	}
}

// CloseGateway closes the connection with a close code, as Discord does
// on a fatal error (4004: authentication failed).
func (s *Server) CloseGateway(code int, text string) {
	s.gw.mu.Lock()
	var c *gwConn
	if s.gw.cur != nil {
		c = s.gw.cur.conn
	}
	s.gw.mu.Unlock()
	if c != nil {
		closeWith(c, code, text)
	}
}

func (g *gateway) closeAll() {
	g.mu.Lock()
	g.closed = true
	g.notify()
	var cs []*gwConn
	for c := range g.conns {
		cs = append(cs, c)
	}
	g.mu.Unlock()
	for _, c := range cs {
		c.c.Close()
	}
}

// Heartbeats is how many heartbeats the bot sent.
func (s *Server) Heartbeats() int {
	s.gw.mu.Lock()
	defer s.gw.mu.Unlock()
	return s.gw.beats
}
