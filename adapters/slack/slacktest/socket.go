package slacktest

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

// PingEvery is how often the Socket Mode endpoint pings a connection.
// slack-go's client reconnects when no ping came for 30 seconds.
var PingEvery = 5 * time.Second

// socketState is the Socket Mode side: the live connections and the
// envelopes waiting for their acknowledgement.
type socketState struct {
	mu        sync.Mutex
	conns     []*wsConn
	changed   chan struct{} // closed and replaced when conns change
	waiting   map[string]chan json.RawMessage
	acks      []Ack
	envelopes int
	opened    int // connections ever opened
}

// Ack is an acknowledgement the bot sent for an envelope.
type Ack struct {
	EnvelopeID string
	Payload    json.RawMessage
}

type wsConn struct {
	c    *websocket.Conn
	wmu  sync.Mutex // gorilla allows one writer at a time
	done chan struct{}
}

func (st *socketState) init() {
	st.changed = make(chan struct{})
	st.waiting = map[string]chan json.RawMessage{}
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// serveSocket is the URL apps.connections.open hands out: it says hello,
// pings, and reads acknowledgements.
func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	conn := &wsConn{c: c, done: make(chan struct{})}
	hello := map[string]any{"type": "hello", "num_connections": 1,
		"connection_info": map[string]any{"app_id": s.AppID},
		"debug_info":      map[string]any{"host": "fake-applink", "approximate_connection_time": 3600}}
	if err := conn.write(hello); err != nil {
		c.Close()
		return
	}
	// Ping first, so the client's dead-man timer is fed from the start.
	_ = c.WriteControl(websocket.PingMessage, []byte("fake"), time.Now().Add(time.Second))
	s.sock.add(conn)
	defer s.sock.remove(conn)
	defer c.Close()

	go func() {
		t := time.NewTicker(PingEvery)
		defer t.Stop()
		for {
			select {
			case <-conn.done:
				return
			case <-t.C:
				if c.WriteControl(websocket.PingMessage, []byte("fake"), time.Now().Add(time.Second)) != nil {
					return
				}
			}
		}
	}()
	defer close(conn.done)
	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			return
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &ack) != nil || ack.EnvelopeID == "" {
			continue
		}
		s.sock.acked(Ack{EnvelopeID: ack.EnvelopeID, Payload: ack.Payload})
	}
}

func (c *wsConn) write(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.c.WriteJSON(v)
}

func (st *socketState) add(c *wsConn) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.conns = append(st.conns, c)
	st.opened++
	close(st.changed)
	st.changed = make(chan struct{})
}

func (st *socketState) remove(c *wsConn) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for i, x := range st.conns {
		if x == c {
			st.conns = append(st.conns[:i], st.conns[i+1:]...)
			break
		}
	}
	close(st.changed)
	st.changed = make(chan struct{})
}

func (st *socketState) acked(a Ack) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.acks = append(st.acks, a)
	if ch, ok := st.waiting[a.EnvelopeID]; ok {
		ch <- a.Payload
		delete(st.waiting, a.EnvelopeID)
	}
}

func (st *socketState) closeAll() {
	st.mu.Lock()
	conns := append([]*wsConn(nil), st.conns...)
	st.mu.Unlock()
	for _, c := range conns {
		c.c.Close()
	}
}

// WaitConnected waits until a Socket Mode connection is open.
func (s *Server) WaitConnected(ctx context.Context) error { return s.WaitConnections(ctx, 1) }

// WaitConnections waits until n connections have been opened in all and
// one is open: after Disconnect, n is one more than before.
func (s *Server) WaitConnections(ctx context.Context, n int) error {
	for {
		s.sock.mu.Lock()
		live, opened, ch := len(s.sock.conns), s.sock.opened, s.sock.changed
		s.sock.mu.Unlock()
		if live > 0 && opened >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("slacktest: %d Socket Mode connections opened, want %d: %w", opened, n, ctx.Err())
		}
	}
}

// Disconnect closes the Socket Mode connections, as Slack does from time
// to time; the client reconnects.
func (s *Server) Disconnect() { s.sock.closeAll() }

// Acks returns the acknowledgements received, oldest first.
func (s *Server) Acks() []Ack {
	s.sock.mu.Lock()
	defer s.sock.mu.Unlock()
	return append([]Ack(nil), s.sock.acks...)
}

// ErrNoAck is returned when an envelope was not acknowledged in time.
var ErrNoAck = errors.New("slacktest: envelope not acknowledged")

// sendEnvelope pushes an envelope of the given type on the newest
// connection and waits for its acknowledgement, whose payload it returns.
func (s *Server) sendEnvelope(ctx context.Context, typ string, payload []byte, retry int) (json.RawMessage, error) {
	st := &s.sock
	st.mu.Lock()
	if len(st.conns) == 0 {
		st.mu.Unlock()
		return nil, errors.New("slacktest: no Socket Mode connection")
	}
	conn := st.conns[len(st.conns)-1]
	st.envelopes++
	id := fmt.Sprintf("env-%06d", st.envelopes)
	ack := make(chan json.RawMessage, 1)
	st.waiting[id] = ack
	st.mu.Unlock()
	defer func() {
		st.mu.Lock()
		delete(st.waiting, id)
		st.mu.Unlock()
	}()

	env := map[string]any{
		"envelope_id": id, "type": typ, "payload": json.RawMessage(payload),
		"accepts_response_payload": typ != "events_api", "retry_attempt": retry,
	}
	if retry > 0 {
		env["retry_reason"] = "timeout"
	}
	if err := conn.write(env); err != nil {
		return nil, fmt.Errorf("slacktest: send envelope: %w", err)
	}
	select {
	case p := <-ack:
		return p, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %s %s", ErrNoAck, typ, id)
	}
}
