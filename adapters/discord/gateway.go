package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/debrief/debrief/workflows/outbox"
	"github.com/gorilla/websocket"
)

// Intents are the gateway events debrief asks for: guilds (channels and
// threads, to tie a thread to its incident channel), guild messages and
// their content (privileged: it must be enabled in the developer portal),
// and reactions (the key emoji). Interactions come without an intent.
// https://discord.com/developers/docs/events/gateway#gateway-intents
const Intents = discordgo.IntentGuilds | discordgo.IntentGuildMessages | discordgo.IntentMessageContent |
	discordgo.IntentGuildMessageReactions

// gatewayVersion is the gateway and API version debrief speaks.
const gatewayVersion = "10"

// Gateway opcodes.
// https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-gateway-opcodes
const (
	opDispatch       = 0
	opHeartbeat      = 1
	opIdentify       = 2
	opResume         = 6
	opReconnect      = 7
	opInvalidSession = 9
	opHello          = 10
	opHeartbeatAck   = 11
)

// closeResuming closes a connection debrief gives up on (a commit failed,
// a heartbeat went unanswered) without ending the session: Discord
// invalidates a session closed with 1000 or 1001, and debrief wants to
// RESUME it.
const closeResuming = 4000

// fatalCodes are the close codes after which reconnecting cannot help; the
// operator has to change something.
// https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-gateway-close-event-codes
var fatalCodes = map[int]string{
	4004: "Discord refused the bot token (DISCORD_BOT_TOKEN)",
	4010: "Discord refused the shard",
	4011: "Discord asks for sharding, which debrief does not do",
	4012: "Discord refused the gateway version",
	4013: "Discord refused the gateway intents",
	4014: "Discord refused the Message Content intent: enable it in the developer portal (Bot -> Privileged Gateway Intents -> Message Content Intent)",
}

// newSessionCodes end the session: the next connection identifies anew.
var newSessionCodes = map[int]bool{4007: true, 4009: true}

// FatalError is a gateway failure that reconnecting cannot fix.
type FatalError struct {
	Code   int
	Reason string
}

func (e *FatalError) Error() string {
	return fmt.Sprintf("discord: gateway closed with %d: %s", e.Code, e.Reason)
}

// frame is one gateway message.
type frame struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d"`
	S  *int64          `json:"s"`
	T  string          `json:"t"`
}

// session is what survives a reconnect: the session to resume, where to
// resume it, and the sequence number of the last event handled. seq
// advances only after an event is committed, so a RESUME replays every
// event whose commit failed or was cut off.
type session struct {
	gateway   string // from GET /gateway
	id        string
	resumeURL string
	seq       atomic.Int64
}

func (s *session) reset() {
	s.id, s.resumeURL = "", ""
	s.seq.Store(0)
}

// errInvalidSession is Discord's opcode 9; resumable says whether the
// session survives it.
type errInvalidSession struct{ resumable bool }

func (e errInvalidSession) Error() string {
	return fmt.Sprintf("invalid session (resumable %t)", e.resumable)
}

var (
	errReconnect = errors.New("Discord asked to reconnect")
	errZombie    = errors.New("no heartbeat acknowledgement: the connection is dead")
)

// RunGateway receives gateway events until ctx is done: messages of
// incident channels and their threads go into the timeline, interactions
// are answered. A dropped connection is resumed, and Discord replays what
// was missed, including every event whose commit did not succeed; the
// dedupe keys store replays once. It returns nil when ctx is done, and an
// error when the gateway refuses debrief for good (a revoked token, the
// Message Content intent not enabled).
func (d *Discord) RunGateway(ctx context.Context) error {
	var s session
	failures := 0
	for {
		established, err := d.connect(ctx, &s)
		if ctx.Err() != nil {
			return nil
		}
		var fatal *FatalError
		if errors.As(err, &fatal) {
			d.log.ErrorContext(ctx, "gateway refused debrief", "code", fatal.Code, "reason", fatal.Reason)
			return err
		}
		var inv errInvalidSession
		wait := time.Duration(0)
		switch {
		case errors.As(err, &inv):
			if !inv.resumable {
				s.reset()
			}
			// Discord asks for a pause of 1 to 5 seconds before
			// identifying again.
			wait = d.cfg.ReconnectMin + time.Duration(d.jitter()*float64(4*d.cfg.ReconnectMin))
		case established:
			failures = 0
		default:
			failures++
			wait = d.backoff(failures)
		}
		d.log.WarnContext(ctx, "gateway disconnected; reconnecting", "err", err, "resume", s.id != "", "wait", wait)
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
		}
	}
}

// backoff is the wait after n failed connections in a row: the outbox's
// curve (outbox.Curve), stepping from ReconnectMin up to ReconnectMax, so
// that debrief retries everything one way.
func (d *Discord) backoff(n int) time.Duration {
	return outbox.Curve{First: d.cfg.ReconnectMin, Max: d.cfg.ReconnectMax}.Wait(n, d.jitter())
}

// jitter is a number in [0,1) from the application's source of jitter,
// workflows.Service.Rand (fixed in tests, so that waits are known), or
// from rand.Float64 when it has none.
func (d *Discord) jitter() float64 {
	if d.svc != nil && d.svc.Rand != nil {
		return d.svc.Rand()
	}
	return rand.Float64()
}

// conn is one gateway websocket: gorilla allows one writer at a time.
type conn struct {
	ws  *websocket.Conn
	wmu sync.Mutex
}

func (c *conn) write(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteJSON(v)
}

func (c *conn) close(code int, text string) {
	c.wmu.Lock()
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
	c.wmu.Unlock()
	_ = c.ws.Close()
}

// connect runs one connection: HELLO, IDENTIFY or RESUME, heartbeats, and
// the events in order until the connection ends. established reports
// whether Discord accepted the session (READY or RESUMED).
func (d *Discord) connect(ctx context.Context, s *session) (established bool, err error) {
	if s.gateway == "" {
		g, err := d.api.Gateway(discordgo.WithContext(ctx))
		if err != nil {
			if isStatus(err, 401) {
				return false, &FatalError{Code: 4004, Reason: fatalCodes[4004]}
			}
			return false, classify("get gateway", err)
		}
		s.gateway = g
	}
	base := s.gateway
	if s.id != "" && s.resumeURL != "" {
		base = s.resumeURL
	}
	u, err := url.Parse(base)
	if err != nil {
		s.gateway = ""
		return false, fmt.Errorf("discord: gateway URL %q: %w", base, err)
	}
	q := u.Query()
	q.Set("v", gatewayVersion)
	q.Set("encoding", "json")
	u.RawQuery = q.Encode()
	dialer := d.cfg.Dialer
	if dialer == nil {
		dialer = &websocket.Dialer{HandshakeTimeout: 15 * time.Second, Proxy: websocket.DefaultDialer.Proxy}
	}
	ws, _, err := dialer.DialContext(ctx, u.String(), nil)
	if err != nil {
		s.gateway = "" // ask again: the gateway may have moved
		return false, fmt.Errorf("discord: dial gateway: %w", err)
	}
	// A guild's GUILD_CREATE lists every channel; tens of megabytes would
	// be a very large server.
	ws.SetReadLimit(64 << 20)
	c := &conn{ws: ws}
	defer ws.Close()

	// Until the event loop watches ctx, shutdown closes the socket: the
	// handshake's read and write would otherwise hold RunGateway up to
	// their deadlines (30 s for HELLO).
	unwatch := context.AfterFunc(ctx, func() { ws.Close() })
	interval, err := d.handshake(c, s)
	if !unwatch() {
		return false, ctx.Err()
	}
	if err != nil {
		return false, err
	}

	events := make(chan frame, 1024)
	done := make(chan error, 2) // the reader's and the heart's end
	var acked atomic.Bool
	acked.Store(true)
	beat := func() error {
		var seq any
		if n := s.seq.Load(); n > 0 {
			seq = n
		}
		return c.write(map[string]any{"op": opHeartbeat, "d": seq})
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() { done <- read(ws, events, &acked, beat, stop) }()
	go func() { done <- heart(interval, &acked, beat, stop) }()

	// A handler is never cut off by shutdown: an event taken is
	// committed or left for the replay.
	work := context.WithoutCancel(ctx)
	for {
		select {
		case <-ctx.Done():
			c.close(websocket.CloseNormalClosure, "shutting down")
			return established, ctx.Err()
		case err := <-done:
			c.close(closeResuming, "reconnecting")
			// The events read before the end are handled still, in
			// order. A select with both cases ready picks one at
			// random, so without this they would be dropped about half
			// the time: replayed after a RESUME, but lost for good when
			// the session ended (opcode 9, 4007, 4009), for Discord
			// sent them once and will not again. Shutdown stops the
			// draining: nothing resumes the session after it.
			for ctx.Err() == nil {
				select {
				case f := <-events:
					ok, herr := d.handle(ctx, work, s, f)
					established = established || ok
					if herr != nil {
						// Stop here: the sequence stays before this
						// event, and a RESUME replays it.
						d.log.WarnContext(ctx, "gateway event not handled after the connection ended", "err", herr)
						return established, err
					}
				default:
					return established, err
				}
			}
			return established, err
		case f := <-events:
			ok, err := d.handle(ctx, work, s, f)
			established = established || ok
			if err != nil {
				// Not committed: the sequence stays before this event,
				// and the RESUME replays it.
				c.close(closeResuming, "resuming after an event not handled")
				return established, err
			}
		}
	}
}

// handshake reads HELLO and sends IDENTIFY, or RESUME when there is a
// session to resume, and returns the heartbeat interval HELLO asked for.
func (d *Discord) handshake(c *conn, s *session) (time.Duration, error) {
	interval, err := hello(c.ws)
	if err != nil {
		return 0, err
	}
	if s.id != "" {
		err = c.write(map[string]any{"op": opResume, "d": map[string]any{
			"token": d.token(), "session_id": s.id, "seq": s.seq.Load()}})
	} else {
		s.seq.Store(0)
		err = c.write(map[string]any{"op": opIdentify, "d": map[string]any{
			"token": d.token(), "intents": Intents,
			"properties": map[string]string{"os": "linux", "browser": "debrief", "device": "debrief"},
		}})
	}
	if err != nil {
		return 0, fmt.Errorf("discord: gateway handshake: %w", err)
	}
	return interval, nil
}

// handle handles one dispatch of session s: READY and RESUMED here, the
// rest by d.dispatch with the context work. It advances s.seq past the
// event only once it is handled, and reports whether the event was
// Discord accepting the session (READY or RESUMED). An error means the
// event was not handled and must be replayed.
func (d *Discord) handle(ctx, work context.Context, s *session, f frame) (accepted bool, err error) {
	switch f.T {
	case "READY":
		var r struct {
			SessionID        string          `json:"session_id"`
			ResumeGatewayURL string          `json:"resume_gateway_url"`
			User             *discordgo.User `json:"user"`
		}
		if err := json.Unmarshal(f.D, &r); err != nil || r.SessionID == "" {
			return false, fmt.Errorf("discord: malformed READY: %v", err)
		}
		s.id, s.resumeURL = r.SessionID, r.ResumeGatewayURL
		if r.User != nil {
			d.setSelf(r.User.ID)
		}
		accepted = true
		d.log.InfoContext(ctx, "gateway ready", "session", s.id)
		// A new session replays nothing: read back what was said
		// since the last message on record.
		d.catchUp(ctx)
		d.bg.Go(func() {
			rctx, cancel := context.WithTimeout(work, 30*time.Second)
			defer cancel()
			if err := d.registerCommands(rctx); err != nil {
				d.log.ErrorContext(rctx, "command registration failed", "err", err)
			}
		})
	case "RESUMED":
		accepted = true
		d.log.InfoContext(ctx, "gateway resumed", "session", s.id, "seq", s.seq.Load())
		// The replay covers this session; the catch-up covers what it
		// could not hold (Discord keeps a session's events for a short
		// while only).
		d.catchUp(ctx)
	default:
		if err := d.dispatch(work, f.T, f.D); err != nil {
			return false, fmt.Errorf("discord: %s not committed: %w", f.T, err)
		}
	}
	if f.S != nil && *f.S > s.seq.Load() {
		s.seq.Store(*f.S)
	}
	return accepted, nil
}

// token is the bot token as IDENTIFY and RESUME carry it: without the
// "Bot " of the REST header.
func (d *Discord) token() string { return strings.TrimPrefix(d.api.Token, "Bot ") }

// hello reads Discord's first message, HELLO, and returns the heartbeat
// interval it asks for.
func hello(ws *websocket.Conn) (time.Duration, error) {
	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	defer ws.SetReadDeadline(time.Time{})
	var f frame
	if err := ws.ReadJSON(&f); err != nil {
		return 0, fmt.Errorf("discord: gateway hello: %w", err)
	}
	var h struct {
		HeartbeatInterval int64 `json:"heartbeat_interval"`
	}
	if f.Op != opHello || json.Unmarshal(f.D, &h) != nil || h.HeartbeatInterval <= 0 {
		return 0, fmt.Errorf("discord: gateway sent op %d before HELLO", f.Op)
	}
	return time.Duration(h.HeartbeatInterval) * time.Millisecond, nil
}

// read reads frames until the connection ends: acknowledgements and
// requests for a heartbeat are handled here, at once, so that a slow
// commit never looks like a dead connection; events go to the loop, in
// order.
func read(ws *websocket.Conn, events chan<- frame, acked *atomic.Bool, beat func() error, stop <-chan struct{}) error {
	for {
		var f frame
		if err := ws.ReadJSON(&f); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				if reason, ok := fatalCodes[ce.Code]; ok {
					return &FatalError{Code: ce.Code, Reason: reason}
				}
				if newSessionCodes[ce.Code] {
					return errInvalidSession{resumable: false}
				}
			}
			return fmt.Errorf("discord: gateway read: %w", err)
		}
		switch f.Op {
		case opDispatch:
			select {
			case events <- f:
			case <-stop:
				return nil
			}
		case opHeartbeatAck:
			acked.Store(true)
		case opHeartbeat:
			if err := beat(); err != nil {
				return fmt.Errorf("discord: heartbeat: %w", err)
			}
		case opReconnect:
			return errReconnect
		case opInvalidSession:
			var resumable bool
			_ = json.Unmarshal(f.D, &resumable)
			return errInvalidSession{resumable: resumable}
		}
	}
}

// heart sends a heartbeat every interval, the first after a random part of
// it (as Discord asks, so that reconnecting clients do not beat in step).
// Two beats in a row without an acknowledgement mean the connection is
// dead (Discord says one; one late answer on a busy host is not worth a
// reconnect).
func heart(interval time.Duration, acked *atomic.Bool, beat func() error, stop <-chan struct{}) error {
	t := time.NewTimer(time.Duration(rand.Float64() * float64(interval)))
	defer t.Stop()
	missed := 0
	for {
		select {
		case <-stop:
			return nil
		case <-t.C:
		}
		if acked.Swap(false) {
			missed = 0
		} else if missed++; missed >= 2 {
			return errZombie
		}
		if err := beat(); err != nil {
			return fmt.Errorf("discord: heartbeat: %w", err)
		}
		t.Reset(interval)
	}
}
