// Package discordtest is a stateful fake of the Discord a debrief bot talks
// to, for tests: an httptest server that speaks the REST routes the adapter
// calls (with Discord's JSON errors, 429s with retry_after, 5xx pages), a
// gateway websocket that speaks the real protocol (HELLO, IDENTIFY, READY,
// heartbeats and their ACKs, numbered dispatches, RESUME with replay,
// RECONNECT, INVALID_SESSION, close codes), and the other direction, people
// acting in the server: messages, edits, deletes, reactions, pins, threads,
// files, and /incident interactions over the gateway or signed (Ed25519)
// over HTTP.
//
// It keeps state like Discord does (channels with topics, categories and
// permission overwrites, messages, pins, registered commands, interactions
// and their webhooks), checks the bot's permissions where Discord does,
// and can be told to fail: 5xx, 429 with retry_after, or Discord's JSON
// error codes, for a number of calls or until cleared.
//
// A gateway client has no per-event acknowledgement; debrief's heartbeat
// carries the sequence number of the last event it committed, and the
// fake's WaitAck waits for that. People's actions return once the bot has
// acknowledged them this way.
package discordtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Channel types and permission bits the fake knows.
// https://discord.com/developers/docs/resources/channel#channel-object-channel-types
const (
	TypeText          = 0
	TypeDM            = 1
	TypeCategory      = 4
	TypePublicThread  = 11
	TypePrivateThread = 12

	PermManageChannels      int64 = 1 << 4
	PermAddReactions        int64 = 1 << 6
	PermViewChannel         int64 = 1 << 10
	PermSendMessages        int64 = 1 << 11
	PermManageMessages      int64 = 1 << 13
	PermAttachFiles         int64 = 1 << 15
	PermReadMessageHistory  int64 = 1 << 16
	PermManageRoles         int64 = 1 << 28
	PermCreatePublicThreads int64 = 1 << 35
	PermCreatePrivateThread int64 = 1 << 36
	PermSendInThreads       int64 = 1 << 38
	PermPinMessages         int64 = 1 << 51
)

// Message types and flags. https://discord.com/developers/docs/resources/message
const (
	MessageDefault       = 0
	MessagePinned        = 6
	MessageThreadCreated = 18
	MessageReply         = 19
	MessageChatInput     = 20
	FlagEphemeral        = 1 << 6
)

// Overwrite target types.
const (
	OverwriteRole   = 0
	OverwriteMember = 1
)

// User is a person (or bot) of the fake guild.
type User struct {
	ID         string
	Username   string
	GlobalName string
	Nick       string // the guild nickname
	Bot        bool
	// NoDMs closes the person's direct messages to the bot: messages sent
	// in their DM channel fail with 50007, as Discord answers.
	NoDMs bool
}

// Overwrite is a channel permission overwrite.
type Overwrite struct {
	ID    string
	Type  int
	Allow int64
	Deny  int64
}

// Channel is a guild channel, category or thread.
type Channel struct {
	ID         string
	Type       int
	Name       string
	Topic      string
	ParentID   string
	Overwrites []Overwrite
	// Archived is a thread's thread_metadata.archived.
	Archived bool
	// Recipient is the person of a DM channel (TypeDM), opened with
	// POST /users/@me/channels; DM channels are not the guild's and are
	// not listed.
	Recipient string
}

// Overwrite returns the channel's overwrite for id.
func (c Channel) Overwrite(id string) (Overwrite, bool) {
	for _, o := range c.Overwrites {
		if o.ID == id {
			return o, true
		}
	}
	return Overwrite{}, false
}

// Attachment is a file attached to a message.
type Attachment struct {
	ID          string
	Filename    string
	URL         string
	ContentType string
	Content     string // what was uploaded
}

// Message is a message in a channel, as the fake keeps it.
type Message struct {
	ID          string
	ChannelID   string
	AuthorID    string
	Content     string
	Type        int
	Flags       int
	Attachments []Attachment
	Timestamp   time.Time
	EditedAt    *time.Time
	Reference   string // message_reference: the pinned (or replied to) message
	Nonce       string
	Deleted     bool
	Pinned      bool
	Embeds      int
	// Components are the message's action rows, as the bot sent them.
	Components json.RawMessage
	// RichEmbeds are the embeds a bot or webhook sent (PostWebhook), as
	// Discord carries them; WebhookID is the webhook's.
	RichEmbeds json.RawMessage
	WebhookID  string
}

// Call is one REST call the fake answered.
type Call struct {
	Route  string // "POST /channels/{channel}/messages"
	Path   string
	Status int
	Code   int // Discord's JSON error code, when the answer was one
}

// Fault makes calls fail. Faults are matched in the order they were
// injected; each matching call consumes one of Times.
type Fault struct {
	// Route is a route constant (RouteCreateMessage); empty matches every
	// route.
	Route string
	// Times is how many calls fail; negative means until ClearFaults.
	Times int
	// Status is the HTTP status to answer. With 429, RetryAfter (seconds)
	// is sent in the body's retry_after and, rounded up, as Retry-After;
	// NoBody sends the header alone, as Cloudflare does.
	Status     int
	RetryAfter float64
	Global     bool
	NoBody     bool
	// Code, with a 4xx Status, answers Discord's JSON error
	// {"code": Code, "message": ...}.
	Code int
	// AfterApply lets the call take effect before the failure is
	// answered: the answer was lost, the state changed.
	AfterApply bool
}

// The routes, as Fault.Route and Calls name them.
const (
	RouteGateway       = "GET /gateway"
	RouteGatewayBot    = "GET /gateway/bot"
	RouteMe            = "GET /users/{user}"
	RouteCommands      = "PUT /applications/{app}/guilds/{guild}/commands"
	RouteGetGuild      = "GET /guilds/{guild}"
	RouteListChannels  = "GET /guilds/{guild}/channels"
	RouteCreateChannel = "POST /guilds/{guild}/channels"
	RouteGetChannel    = "GET /channels/{channel}"
	RouteEditChannel   = "PATCH /channels/{channel}"
	RoutePermission    = "PUT /channels/{channel}/permissions/{target}"
	RouteCreateMessage = "POST /channels/{channel}/messages"
	RouteOpenDM        = "POST /users/@me/channels"
	RouteGetMessage    = "GET /channels/{channel}/messages/{message}"
	RoutePin           = "PUT /channels/{channel}/pins/{message}"
	RouteListPins      = "GET /channels/{channel}/pins"
	RouteCallback      = "POST /interactions/{id}/{token}/callback"
	RouteFollowUp      = "POST /webhooks/{app}/{token}"
	RouteEditOriginal  = "PATCH /webhooks/{app}/{token}/messages/{message}"
	RouteDeleteOrig    = "DELETE /webhooks/{app}/{token}/messages/{message}"
)

// DefaultUploadLimit is Discord's attachment limit in a server without
// boosts: 10 MiB (https://discord.com/developers/docs/reference#uploading-files).
const DefaultUploadLimit = 10 << 20

// Server is the fake. Create it with New; the zero value is not usable.
type Server struct {
	// BotToken is the token the API and the gateway accept (without
	// "Bot ").
	BotToken string
	// UploadLimit is the largest attachment the guild takes, in bytes;
	// a larger one is refused as Discord does, 413 with code 40005.
	// DefaultUploadLimit unless a test changes it before the first
	// request.
	UploadLimit int64
	// PremiumTier is the guild's boost level (0 to 3), as GET
	// /guilds/{guild} reports it; set it with UploadLimit, which the fake
	// does not derive from it.
	PremiumTier int
	// AppID, GuildID and BotUserID identify the application, the guild and
	// the bot's user.
	AppID, GuildID, BotUserID string
	// PublicKey verifies what the fake signs; give its hex (PublicKeyHex)
	// to the bot.
	PublicKey ed25519.PublicKey
	private   ed25519.PrivateKey

	srv    *httptest.Server
	client *http.Client

	mu        sync.Mutex
	lastID    uint64
	botPerms  int64
	kicked    bool // Kick: the bot is no longer in the guild
	users     map[string]*User
	order     []string // channel IDs in creation order
	channels  map[string]*Channel
	messages  map[string][]*Message // channel -> messages
	pins      map[string][]string
	commands  json.RawMessage
	overwrote int
	calls     []Call
	faults    []*Fault
	target    string
	general   string
	inter     map[string]*Interaction // by token

	// InteractionDeadline is how long after it was sent an interaction
	// may be answered (Discord: 3 s).
	InteractionDeadline time.Duration

	hist historyState
	// away: people's actions do not wait for the bot (Away).
	away bool

	gw gateway
}

// New starts a fake guild with a #general channel, the bot user "debrief"
// (with every permission, see GrantPermissions) and no people; AddUser
// adds them. Close it when done.
func New() *Server {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	s := &Server{
		BotToken: "fake-bot-token", PublicKey: pub, private: priv,
		users: map[string]*User{}, channels: map[string]*Channel{}, messages: map[string][]*Message{},
		pins: map[string][]string{}, inter: map[string]*Interaction{},
		botPerms:            math.MaxInt64 &^ (1 << 3), // everything but ADMINISTRATOR
		InteractionDeadline: 3 * time.Second,
		UploadLimit:         DefaultUploadLimit,
	}
	s.AppID, s.GuildID, s.BotUserID = s.nextID(), s.nextID(), s.nextID()
	s.users[s.BotUserID] = &User{ID: s.BotUserID, Username: "debrief", Bot: true}
	s.gw.init()
	s.general = s.AddChannel("general", "")
	mux := http.NewServeMux()
	for route, fn := range map[string]func(*Server, *request) (int, any){
		RouteGateway: (*Server).getGateway, RouteGatewayBot: (*Server).getGateway, RouteMe: (*Server).getUser,
		RouteCommands: (*Server).putCommands, RouteGetGuild: (*Server).getGuild, RouteListChannels: (*Server).listChannels,
		RouteCreateChannel: (*Server).createChannel, RouteGetChannel: (*Server).getChannel,
		RouteEditChannel: (*Server).editChannel, RoutePermission: (*Server).putPermission,
		RouteCreateMessage: (*Server).createMessage, RouteGetMessage: (*Server).getMessage, RouteOpenDM: (*Server).openDM,
		RoutePin: (*Server).pin, RouteListPins: (*Server).listPins, RouteCallback: (*Server).callback,
		RouteFollowUp: (*Server).followUp, RouteEditOriginal: (*Server).editOriginal, RouteDeleteOrig: (*Server).deleteOriginal,
		RouteListMessages: (*Server).listMessages, RouteActiveThread: (*Server).activeThreads,
	} {
		method, p, _ := strings.Cut(route, " ")
		mux.HandleFunc(method+" /api/v10"+p, s.handle(route, fn))
	}
	mux.HandleFunc("/gateway/", s.serveGateway)
	mux.HandleFunc("/gateway-resume/", s.serveGateway)
	s.srv = httptest.NewServer(mux)
	s.client = &http.Client{Timeout: 30 * time.Second}
	return s
}

// APIURL is the REST base to give the bot (DISCORD_API_URL).
func (s *Server) APIURL() string { return s.srv.URL + "/api/v10/" }

// PublicKeyHex is the public key as the developer portal shows it
// (DISCORD_PUBLIC_KEY).
func (s *Server) PublicKeyHex() string { return hex.EncodeToString(s.PublicKey) }

// Close stops the server and drops gateway connections.
func (s *Server) Close() {
	s.gw.closeAll()
	s.srv.Close()
	s.client.CloseIdleConnections()
}

// General is the ID of #general.
func (s *Server) General() string { return s.general }

// GrantPermissions sets the bot's guild permissions (Discord's bit set);
// what it does beyond them is refused with 50013 Missing Permissions.
func (s *Server) GrantPermissions(bits int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.botPerms = bits
}

// nextID returns a snowflake: milliseconds since Discord's epoch, shifted,
// plus a counter, so IDs sort by time like Discord's.
func (s *Server) nextID() string {
	id := uint64(time.Now().UnixMilli()-1420070400000) << 22
	if id <= s.lastID {
		id = s.lastID + 1
	}
	s.lastID = id
	return strconv.FormatUint(id, 10)
}

// AddUser adds a person to the guild and returns their ID.
func (s *Server) AddUser(u User) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.ID == "" {
		u.ID = s.nextID()
	}
	uc := u
	s.users[u.ID] = &uc
	return u.ID
}

// AddChannel creates a text channel under parent ("" for none) and
// returns its ID.
func (s *Server) AddChannel(name, parent string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addChannel(TypeText, name, parent).ID
}

// AddCategory creates a category and returns its ID.
func (s *Server) AddCategory(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addChannel(TypeCategory, name, "").ID
}

func (s *Server) addChannel(typ int, name, parent string) *Channel {
	c := &Channel{ID: s.nextID(), Type: typ, Name: name, ParentID: parent}
	if p := s.channels[parent]; p != nil && typ != TypePublicThread && typ != TypePrivateThread {
		c.Overwrites = slices.Clone(p.Overwrites) // a new channel syncs with its category
	}
	s.channels[c.ID] = c
	s.order = append(s.order, c.ID)
	return c
}

// SetOverwrite sets a permission overwrite on a channel, as an admin in
// Discord's client would.
func (s *Server) SetOverwrite(channel string, o Overwrite) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.channels[channel]; c != nil {
		setOverwrite(c, o)
	}
}

func setOverwrite(c *Channel, o Overwrite) {
	for i := range c.Overwrites {
		if c.Overwrites[i].ID == o.ID {
			c.Overwrites[i] = o
			return
		}
	}
	c.Overwrites = append(c.Overwrites, o)
}

// DeleteChannel deletes a channel, as an admin would by hand.
func (s *Server) DeleteChannel(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.channels, id)
	s.order = slices.DeleteFunc(s.order, func(x string) bool { return x == id })
}

// Inject adds a fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fc := f
	s.faults = append(s.faults, &fc)
}

// ClearFaults ends every fault: the outage is over.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Channels returns every channel, in creation order.
func (s *Server) Channels() []Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Channel
	for _, id := range s.order {
		out = append(out, copyChannel(s.channels[id]))
	}
	return out
}

// Channel returns the channel with the given ID.
func (s *Server) Channel(id string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[id]
	if !ok {
		return Channel{}, false
	}
	return copyChannel(c), true
}

// ChannelByName returns the first channel with the given name.
func (s *Server) ChannelByName(name string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.order {
		if c := s.channels[id]; c.Name == name {
			return copyChannel(c), true
		}
	}
	return Channel{}, false
}

func copyChannel(c *Channel) Channel {
	cc := *c
	cc.Overwrites = slices.Clone(c.Overwrites)
	return cc
}

// Messages returns the messages of a channel, oldest first, deleted ones
// included (marked).
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages[channel] {
		mc := *m
		mc.Attachments = slices.Clone(m.Attachments)
		out = append(out, mc)
	}
	return out
}

// BotMessages returns the contents of what the bot posted in a channel,
// its public answers to commands included (pin notices left out).
func (s *Server) BotMessages(channel string) []string {
	var out []string
	for _, m := range s.Messages(channel) {
		if m.AuthorID == s.BotUserID && m.Type != MessagePinned && !m.Deleted {
			out = append(out, m.Content)
		}
	}
	return out
}

// Pins returns the IDs of the messages pinned in a channel, oldest first.
func (s *Server) Pins(channel string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.pins[channel])
}

// Commands returns the application commands the bot registered last, as
// JSON, and how many times it overwrote them.
func (s *Server) Commands() (json.RawMessage, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.commands), s.overwrote
}

// Calls returns the calls of route ("" for all) answered so far.
func (s *Server) Calls(route string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if route == "" || c.Route == route {
			out = append(out, c)
		}
	}
	return out
}

// apiError is one of Discord's JSON errors.
type apiError struct {
	status  int
	code    int
	message string
}

var messages = map[int]string{
	10003: "Unknown Channel", 10004: "Unknown Guild", 10011: "Unknown Role", 10008: "Unknown Message", 10013: "Unknown User", 10015: "Unknown Webhook",
	10062: "Unknown interaction", 30003: "Maximum number of pins reached (50)", 40060: "Interaction has already been acknowledged.",
	50001: "Missing Access", 50006: "Cannot send an empty message", 50007: "Cannot send messages to this user", 50033: "Invalid Recipient(s)", 50013: "Missing Permissions",
	50035: "Invalid Form Body", 40005: "Request entity too large", 0: "Internal Server Error",
}

func fail(status, code int) *apiError {
	return &apiError{status: status, code: code, message: messages[code]}
}

func invalidForm(field, msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: 50035, message: "Invalid Form Body (" + field + ": " + msg + ")"}
}

// request is one REST call being answered, under s.mu.
type request struct {
	r    *http.Request
	body []byte
	form *multipart.Form
	// header is added to a successful answer (rate-limit headers).
	header http.Header
}

func (q *request) decode(v any) *apiError {
	b := q.body
	if q.form != nil {
		b = []byte(firstValue(q.form, "payload_json"))
	}
	if err := json.Unmarshal(b, v); err != nil {
		return invalidForm("body", "not JSON")
	}
	return nil
}

func firstValue(f *multipart.Form, k string) string {
	if v := f.Value[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// handle wraps a route: authentication, faults, the call log, and
// Discord's JSON answers.
func (s *Server) handle(route string, fn func(*Server, *request) (int, any)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch route {
		case RouteFollowUp, RouteEditOriginal, RouteDeleteOrig:
			s.awaitAnswered(r.PathValue("token"))
		}
		s.awaitHold(route)
		q := &request{r: r}
		if mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && mt == "multipart/form-data" {
			form, err := multipart.NewReader(r.Body, params["boundary"]).ReadForm(32 << 20)
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]any{"code": 50035, "message": "Invalid Form Body"})
				return
			}
			q.form = form
		} else {
			q.body, _ = io.ReadAll(io.LimitReader(r.Body, 32<<20))
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		record := func(status, code int) {
			s.calls = append(s.calls, Call{Route: route, Path: r.URL.Path, Status: status, Code: code})
		}
		webhook := strings.Contains(route, "{token}")
		if !webhook && r.Header.Get("Authorization") != "Bot "+s.BotToken {
			record(http.StatusUnauthorized, 0)
			writeJSON(w, http.StatusUnauthorized, map[string]any{"code": 0, "message": "401: Unauthorized"})
			return
		}
		f := s.fault(route)
		if f != nil && !f.AfterApply {
			s.answerFault(w, f, record)
			return
		}
		status, out := fn(s, q)
		if f != nil {
			s.answerFault(w, f, record)
			return
		}
		if e, ok := out.(*apiError); ok {
			record(e.status, e.code)
			writeJSON(w, e.status, map[string]any{"code": e.code, "message": e.message})
			return
		}
		record(status, 0)
		for k, v := range q.header {
			w.Header()[k] = v
		}
		if status == http.StatusNoContent || out == nil {
			w.WriteHeader(status)
			return
		}
		writeJSON(w, status, out)
	}
}

func (s *Server) fault(route string) *Fault {
	for i, f := range s.faults {
		if f.Route != "" && f.Route != route {
			continue
		}
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
		}
		return f
	}
	return nil
}

func (s *Server) answerFault(w http.ResponseWriter, f *Fault, record func(int, int)) {
	switch {
	case f.Status == http.StatusTooManyRequests:
		record(f.Status, 0)
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(f.RetryAfter))))
		}
		w.Header().Set("X-RateLimit-Scope", "user")
		if f.Global {
			w.Header().Set("X-RateLimit-Global", "true")
		}
		if f.NoBody {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(f.Status)
			_, _ = io.WriteString(w, "<html><body>You are being rate limited.</body></html>")
			return
		}
		writeJSON(w, f.Status, map[string]any{"message": "You are being rate limited.", "retry_after": f.RetryAfter, "global": f.Global})
	case f.Status >= 500:
		// Discord's edge answers 5xx with an HTML page.
		record(f.Status, 0)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.Status)
		_, _ = io.WriteString(w, "<html><body>Discord is having trouble</body></html>")
	default:
		record(f.Status, f.Code)
		msg := messages[f.Code]
		if msg == "" {
			msg = "Error"
		}
		writeJSON(w, f.Status, map[string]any{"code": f.Code, "message": msg})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// wsURL is the server's address with a websocket scheme.
func (s *Server) wsURL(path string) string {
	return "ws" + strings.TrimPrefix(s.srv.URL, "http") + path
}

func (s *Server) getGateway(*request) (int, any) {
	return http.StatusOK, map[string]any{"url": s.wsURL("/gateway/"), "shards": 1,
		"session_start_limit": map[string]any{"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}}
}

func (s *Server) getUser(q *request) (int, any) {
	id := q.r.PathValue("user")
	if id == "@me" {
		id = s.BotUserID
	}
	u := s.users[id]
	if u == nil {
		return 0, fail(http.StatusNotFound, 10013)
	}
	return http.StatusOK, s.userJSON(u)
}

func (s *Server) userJSON(u *User) map[string]any {
	j := map[string]any{"id": u.ID, "username": u.Username, "discriminator": "0", "global_name": nil, "avatar": nil, "bot": u.Bot}
	if u.GlobalName != "" {
		j["global_name"] = u.GlobalName
	}
	return j
}

func (s *Server) memberJSON(u *User) map[string]any {
	j := map[string]any{"roles": []string{}, "joined_at": "2024-01-01T00:00:00.000000+00:00", "deaf": false, "mute": false, "flags": 0}
	if u.Nick != "" {
		j["nick"] = u.Nick
	} else {
		j["nick"] = nil
	}
	return j
}

var (
	commandName = regexp.MustCompile(`^[-_\p{Ll}\p{N}]{1,32}$`)
)

// putCommands is the bulk overwrite: it checks what Discord checks of a
// command's shape, so a definition Discord would refuse fails here too.
func (s *Server) putCommands(q *request) (int, any) {
	if q.r.PathValue("app") != s.AppID || q.r.PathValue("guild") != s.GuildID {
		return 0, fail(http.StatusForbidden, 50001)
	}
	var cmds []map[string]any
	if err := json.Unmarshal(q.body, &cmds); err != nil {
		return 0, invalidForm("body", "not a list of commands")
	}
	for i, c := range cmds {
		if e := checkCommand(c, fmt.Sprint(i)); e != nil {
			return 0, e
		}
		c["id"], c["application_id"], c["guild_id"], c["version"] = s.nextID(), s.AppID, s.GuildID, s.nextID()
	}
	s.commands, _ = json.Marshal(cmds)
	s.overwrote++
	return http.StatusOK, cmds
}

// checkCommand applies Discord's rules for a command: names, descriptions,
// at most 25 options, required options first, subcommand nesting, and at
// most 8000 characters of names, descriptions and choices in all.
// https://discord.com/developers/docs/interactions/application-commands#application-command-object
func checkCommand(c map[string]any, at string) *apiError {
	total := 0
	var walk func(o map[string]any, at string, depth int) *apiError
	walk = func(o map[string]any, at string, depth int) *apiError {
		name, _ := o["name"].(string)
		desc, _ := o["description"].(string)
		if !commandName.MatchString(name) {
			return invalidForm(at+".name", "invalid name "+strconv.Quote(name))
		}
		if n := utf8.RuneCountInString(desc); n < 1 || n > 100 {
			return invalidForm(at+".description", "must be 1 to 100 characters")
		}
		total += utf8.RuneCountInString(name) + utf8.RuneCountInString(desc)
		opts, _ := o["options"].([]any)
		if len(opts) > 25 {
			return invalidForm(at+".options", "at most 25")
		}
		optional := false
		seen := map[string]bool{}
		for i, x := range opts {
			opt, _ := x.(map[string]any)
			typ, _ := opt["type"].(float64)
			req, _ := opt["required"].(bool)
			oat := fmt.Sprintf("%s.options.%d", at, i)
			n, _ := opt["name"].(string)
			if seen[n] {
				return invalidForm(oat+".name", "duplicate")
			}
			seen[n] = true
			switch int(typ) {
			case 1, 2: // subcommand, group
				if depth >= 2 || (int(typ) == 2 && depth >= 1) {
					return invalidForm(oat, "nested too deep")
				}
			default:
				if req && optional {
					return invalidForm(oat+".required", "required options must be placed before non-required options")
				}
				optional = optional || !req
			}
			cs, _ := opt["choices"].([]any)
			if len(cs) > 25 {
				return invalidForm(oat+".choices", "at most 25")
			}
			for _, c := range cs {
				cm, _ := c.(map[string]any)
				cn, _ := cm["name"].(string)
				total += utf8.RuneCountInString(cn) + utf8.RuneCountInString(fmt.Sprint(cm["value"]))
			}
			if e := walk(opt, oat, depth+1); e != nil {
				return e
			}
		}
		return nil
	}
	if e := walk(c, at, 0); e != nil {
		return e
	}
	if total > 8000 {
		return invalidForm(at, fmt.Sprintf("the command is %d characters, at most 8000", total))
	}
	return nil
}

func (s *Server) channelJSON(c *Channel) map[string]any {
	if c.Type == TypeDM {
		return map[string]any{"id": c.ID, "type": TypeDM, "last_message_id": nil,
			"recipients": []map[string]any{s.userJSON(s.users[c.Recipient])}}
	}
	ows := []map[string]any{}
	for _, o := range c.Overwrites {
		ows = append(ows, map[string]any{"id": o.ID, "type": o.Type,
			"allow": strconv.FormatInt(o.Allow, 10), "deny": strconv.FormatInt(o.Deny, 10)})
	}
	j := map[string]any{"id": c.ID, "type": c.Type, "guild_id": s.GuildID, "name": c.Name,
		"topic": nil, "parent_id": nil, "position": slices.Index(s.order, c.ID), "permission_overwrites": ows, "nsfw": false}
	if c.Topic != "" {
		j["topic"] = c.Topic
	}
	if c.ParentID != "" {
		j["parent_id"] = c.ParentID
	}
	if c.Type == TypePublicThread || c.Type == TypePrivateThread {
		j["thread_metadata"] = map[string]any{"archived": c.Archived, "auto_archive_duration": 1440, "locked": false}
	}
	return j
}

// perms are the bot's permissions in channel c: its guild permissions,
// then the channel's @everyone overwrite, then its own member overwrite.
// (The bot has no other roles in the fake.)
func (s *Server) perms(c *Channel) int64 {
	p := s.botPerms
	if c == nil {
		return p
	}
	if c.Type == TypeDM {
		// A DM is not the guild's: no role or overwrite applies.
		return math.MaxInt64
	}
	if c.Type == TypePublicThread || c.Type == TypePrivateThread {
		c = s.channels[c.ParentID]
		if c == nil {
			return p
		}
	}
	if o, ok := c.Overwrite(s.GuildID); ok {
		p = (p &^ o.Deny) | o.Allow
	}
	if o, ok := c.Overwrite(s.BotUserID); ok {
		p = (p &^ o.Deny) | o.Allow
	}
	return p
}

func (s *Server) need(c *Channel, bits int64) *apiError {
	if s.perms(c)&(bits|PermViewChannel) != bits|PermViewChannel {
		if s.perms(c)&PermViewChannel == 0 {
			return fail(http.StatusForbidden, 50001)
		}
		return fail(http.StatusForbidden, 50013)
	}
	return nil
}

func (s *Server) listChannels(q *request) (int, any) {
	if q.r.PathValue("guild") != s.GuildID {
		return 0, fail(http.StatusNotFound, 10004)
	}
	if s.kicked {
		return 0, fail(http.StatusForbidden, 50001)
	}
	out := []map[string]any{}
	for _, id := range s.order {
		if c := s.channels[id]; c.Type != TypePublicThread && c.Type != TypePrivateThread {
			out = append(out, s.channelJSON(c))
		}
	}
	return http.StatusOK, out
}

func (s *Server) createChannel(q *request) (int, any) {
	if q.r.PathValue("guild") != s.GuildID {
		return 0, fail(http.StatusNotFound, 10004)
	}
	if s.botPerms&PermManageChannels == 0 {
		return 0, fail(http.StatusForbidden, 50013)
	}
	var b struct {
		Name       string `json:"name"`
		Type       int    `json:"type"`
		Topic      string `json:"topic"`
		ParentID   string `json:"parent_id"`
		Overwrites []struct {
			ID    string `json:"id"`
			Type  int    `json:"type"`
			Allow string `json:"allow"`
			Deny  string `json:"deny"`
		} `json:"permission_overwrites"`
	}
	if e := q.decode(&b); e != nil {
		return 0, e
	}
	switch {
	case utf8.RuneCountInString(b.Name) < 1 || utf8.RuneCountInString(b.Name) > 100:
		return 0, invalidForm("name", "must be 1 to 100 characters")
	case b.Type != TypeText && b.Type != TypeCategory:
		return 0, invalidForm("type", "not a text channel or category")
	case utf8.RuneCountInString(b.Topic) > 1024:
		return 0, invalidForm("topic", "must be 1024 or fewer in length")
	case b.ParentID != "" && (s.channels[b.ParentID] == nil || s.channels[b.ParentID].Type != TypeCategory):
		return 0, invalidForm("parent_id", "Category does not exist")
	}
	// Discord lower-cases text channel names and turns spaces into dashes.
	name := b.Name
	if b.Type == TypeText {
		name = strings.ReplaceAll(strings.ToLower(name), " ", "-")
	}
	c := s.addChannel(b.Type, name, b.ParentID)
	c.Topic = b.Topic
	if len(b.Overwrites) > 0 {
		c.Overwrites = nil
		for _, o := range b.Overwrites {
			allow, _ := strconv.ParseInt(o.Allow, 10, 64)
			deny, _ := strconv.ParseInt(o.Deny, 10, 64)
			c.Overwrites = append(c.Overwrites, Overwrite{ID: o.ID, Type: o.Type, Allow: allow, Deny: deny})
		}
	}
	j := s.channelJSON(c)
	s.gw.dispatch("CHANNEL_CREATE", j)
	return http.StatusCreated, j
}

func (s *Server) channel(q *request) (*Channel, *apiError) {
	c := s.channels[q.r.PathValue("channel")]
	if c == nil {
		return nil, fail(http.StatusNotFound, 10003)
	}
	return c, nil
}

// getGuild answers with the guild's few fields debrief reads.
func (s *Server) getGuild(q *request) (int, any) {
	if q.r.PathValue("guild") != s.GuildID {
		return 0, fail(http.StatusNotFound, 10004)
	}
	if s.kicked {
		return 0, fail(http.StatusForbidden, 50001)
	}
	return http.StatusOK, map[string]any{"id": s.GuildID, "name": "fake guild", "premium_tier": s.PremiumTier}
}

func (s *Server) getChannel(q *request) (int, any) {
	c, e := s.channel(q)
	if e != nil {
		return 0, e
	}
	if e := s.need(c, 0); e != nil {
		return 0, e
	}
	return http.StatusOK, s.channelJSON(c)
}

func (s *Server) editChannel(q *request) (int, any) {
	c, e := s.channel(q)
	if e != nil {
		return 0, e
	}
	if e := s.need(c, PermManageChannels); e != nil {
		return 0, e
	}
	var b struct {
		Name     *string `json:"name"`
		Topic    *string `json:"topic"`
		ParentID *string `json:"parent_id"`
	}
	if e := q.decode(&b); e != nil {
		return 0, e
	}
	if b.Topic != nil {
		if utf8.RuneCountInString(*b.Topic) > 1024 {
			return 0, invalidForm("topic", "must be 1024 or fewer in length")
		}
		c.Topic = *b.Topic
	}
	if b.Name != nil {
		c.Name = *b.Name
	}
	if b.ParentID != nil {
		c.ParentID = *b.ParentID
	}
	j := s.channelJSON(c)
	s.gw.dispatch("CHANNEL_UPDATE", j)
	return http.StatusOK, j
}

func (s *Server) putPermission(q *request) (int, any) {
	c, e := s.channel(q)
	if e != nil {
		return 0, e
	}
	if e := s.need(c, PermManageRoles); e != nil {
		return 0, e
	}
	var b struct {
		Type  int    `json:"type"`
		Allow string `json:"allow"`
		Deny  string `json:"deny"`
	}
	if e := q.decode(&b); e != nil {
		return 0, e
	}
	allow, err1 := strconv.ParseInt(b.Allow, 10, 64)
	deny, err2 := strconv.ParseInt(b.Deny, 10, 64)
	if (b.Allow != "" && err1 != nil) || (b.Deny != "" && err2 != nil) {
		return 0, invalidForm("allow", "not a permission set")
	}
	target := q.r.PathValue("target")
	switch b.Type {
	case OverwriteRole:
		if target != s.GuildID {
			return 0, fail(http.StatusNotFound, 10011)
		}
	case OverwriteMember:
		if s.users[target] == nil {
			return 0, fail(http.StatusNotFound, 10013)
		}
	default:
		return 0, invalidForm("type", "not a role or member")
	}
	// A bot may allow or deny only what it holds itself, in the guild.
	if (allow|deny)&^s.botPerms != 0 {
		return 0, fail(http.StatusForbidden, 50013)
	}
	setOverwrite(c, Overwrite{ID: target, Type: b.Type, Allow: allow, Deny: deny})
	s.gw.dispatch("CHANNEL_UPDATE", s.channelJSON(c))
	return http.StatusNoContent, nil
}

// mentionRe finds user mentions in content: <@id> and <@!id>.
var mentionRe = regexp.MustCompile(`<@!?(\d+)>`)

// messageJSON is a message as the API and the gateway carry it: the
// author (and, for people, their member), the people it mentions (each
// with their member, as gateway events carry them), attachments.
func (s *Server) messageJSON(m *Message) map[string]any {
	author := s.users[m.AuthorID]
	if author == nil {
		author = &User{ID: m.AuthorID, Username: "unknown"}
	}
	mentions := []map[string]any{}
	seen := map[string]bool{}
	for _, sm := range mentionRe.FindAllStringSubmatch(m.Content, -1) {
		if u := s.users[sm[1]]; u != nil && !seen[u.ID] {
			seen[u.ID] = true
			j := s.userJSON(u)
			j["member"] = s.memberJSON(u)
			mentions = append(mentions, j)
		}
	}
	atts := []map[string]any{}
	for _, a := range m.Attachments {
		atts = append(atts, map[string]any{"id": a.ID, "filename": a.Filename, "url": a.URL,
			"proxy_url": strings.Replace(a.URL, "cdn.discordapp.com", "media.discordapp.net", 1),
			"size":      len(a.Content), "content_type": a.ContentType})
	}
	j := map[string]any{
		"id": m.ID, "channel_id": m.ChannelID, "guild_id": s.GuildID, "type": m.Type, "content": m.Content,
		"author": s.userJSON(author), "timestamp": m.Timestamp.Format(time.RFC3339Nano), "edited_timestamp": nil,
		"tts": false, "mention_everyone": false, "mentions": mentions, "mention_roles": []string{},
		"attachments": atts, "embeds": []any{}, "pinned": m.Pinned, "flags": m.Flags,
	}
	if m.EditedAt != nil {
		j["edited_timestamp"] = m.EditedAt.Format(time.RFC3339Nano)
	}
	if len(m.Components) > 0 {
		j["components"] = m.Components
	}
	if !author.Bot {
		j["member"] = s.memberJSON(author)
	}
	if m.Reference != "" {
		j["message_reference"] = map[string]any{"type": 0, "message_id": m.Reference, "channel_id": m.ChannelID, "guild_id": s.GuildID}
	}
	if m.Nonce != "" {
		j["nonce"] = m.Nonce
	}
	if m.Embeds > 0 {
		j["embeds"] = []any{map[string]any{"type": "link", "url": "https://example.com", "title": "Example"}}
	}
	if len(m.RichEmbeds) > 0 {
		j["embeds"] = m.RichEmbeds
	}
	if m.WebhookID != "" {
		// A webhook's message: its author is the webhook, no user and
		// no member.
		j["webhook_id"] = m.WebhookID
		j["author"] = map[string]any{"id": m.WebhookID, "username": author.Username, "discriminator": "0000", "global_name": nil, "avatar": nil, "bot": true}
		delete(j, "member")
	}
	return j
}

// post stores a message; the caller dispatches it.
func (s *Server) post(channel, author, content string, typ int, atts []Attachment) *Message {
	m := &Message{ID: s.nextID(), ChannelID: channel, AuthorID: author, Content: content, Type: typ,
		Attachments: atts, Timestamp: time.Now().UTC()}
	s.messages[channel] = append(s.messages[channel], m)
	return m
}

func (s *Server) message(channel, id string) *Message {
	for _, m := range s.messages[channel] {
		if m.ID == id && !m.Deleted {
			return m
		}
	}
	return nil
}

func (s *Server) attachments(q *request, refs []struct {
	ID       json.Number `json:"id"`
	Filename string      `json:"filename"`
}, channel string) []Attachment {
	var out []Attachment
	if q.form == nil {
		return nil
	}
	for i := 0; ; i++ {
		fhs := q.form.File[fmt.Sprintf("files[%d]", i)]
		if len(fhs) == 0 {
			break
		}
		f, err := fhs[0].Open()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(f)
		f.Close()
		name := fhs[0].Filename
		for _, r := range refs {
			if r.ID.String() == strconv.Itoa(i) && r.Filename != "" {
				name = r.Filename
			}
		}
		id := s.nextID()
		out = append(out, Attachment{ID: id, Filename: name, ContentType: fhs[0].Header.Get("Content-Type"),
			URL: cdnURL(channel, id, name), Content: string(b)})
	}
	return out
}

// openDM opens (or returns) the DM channel between the bot and a person:
// POST /users/@me/channels {"recipient_id"}.
// https://discord.com/developers/docs/resources/user#create-dm
// cdnURL is an attachment's URL as Discord gives it: signed, and good for
// about a day (ex= is when it expires, is= when it was issued, both hex
// Unix seconds; hm= the signature).
// https://discord.com/developers/docs/reference#signed-attachment-cdn-urls
func cdnURL(channel, id, name string) string {
	now := time.Now().Unix()
	return fmt.Sprintf("https://cdn.discordapp.com/attachments/%s/%s/%s?ex=%x&is=%x&hm=%x&", channel, id, name, now+86400, now, sha256.Sum256([]byte(id)))
}

func (s *Server) openDM(q *request) (int, any) {
	var b struct {
		RecipientID string `json:"recipient_id"`
	}
	if e := q.decode(&b); e != nil {
		return 0, e
	}
	u := s.users[b.RecipientID]
	switch {
	case b.RecipientID == "":
		return 0, invalidForm("recipient_id", "This field is required")
	case u == nil:
		return 0, fail(http.StatusBadRequest, 50033)
	}
	for _, c := range s.channels {
		if c.Type == TypeDM && c.Recipient == u.ID {
			return http.StatusOK, s.channelJSON(c)
		}
	}
	c := &Channel{ID: s.nextID(), Type: TypeDM, Recipient: u.ID}
	s.channels[c.ID] = c
	return http.StatusOK, s.channelJSON(c)
}

// DirectMessages returns the contents of what the bot sent a person in
// their DM channel, oldest first.
func (s *Server) DirectMessages(user string) []string {
	s.mu.Lock()
	var dm string
	for _, c := range s.channels {
		if c.Type == TypeDM && c.Recipient == user {
			dm = c.ID
		}
	}
	s.mu.Unlock()
	if dm == "" {
		return nil
	}
	return s.BotMessages(dm)
}

func (s *Server) createMessage(q *request) (int, any) {
	c, e := s.channel(q)
	if e != nil {
		return 0, e
	}
	if c.Type == TypeDM {
		// A bot may message only people it shares a server with.
		if u := s.users[c.Recipient]; u == nil || u.NoDMs || u.Bot || s.kicked {
			return 0, fail(http.StatusForbidden, 50007)
		}
	}
	var b struct {
		Content      string `json:"content"`
		Nonce        any    `json:"nonce"`
		EnforceNonce bool   `json:"enforce_nonce"`
		Attachments  []struct {
			ID       json.Number `json:"id"`
			Filename string      `json:"filename"`
		} `json:"attachments"`
		AllowedMentions *struct {
			Parse []string `json:"parse"`
		} `json:"allowed_mentions"`
		Components json.RawMessage `json:"components"`
	}
	if e := q.decode(&b); e != nil {
		return 0, e
	}
	for _, btn := range buttonsOf(b.Components) {
		if btn.CustomID == "" || len(btn.CustomID) > 100 {
			return 0, invalidForm("components", "custom_id must be 1 to 100 characters long.")
		}
		if btn.Label == "" || len(btn.Label) > 80 {
			return 0, invalidForm("components", "label must be 1 to 80 characters long.")
		}
	}
	atts := s.attachments(q, b.Attachments, c.ID)
	for _, a := range atts {
		if int64(len(a.Content)) > s.UploadLimit {
			return 0, fail(http.StatusRequestEntityTooLarge, 40005)
		}
	}
	need := PermSendMessages
	if len(atts) > 0 {
		need |= PermAttachFiles
	}
	if c.Type == TypePublicThread || c.Type == TypePrivateThread {
		need = PermSendInThreads
	}
	if e := s.need(c, need); e != nil {
		return 0, e
	}
	if utf8.RuneCountInString(b.Content) > 2000 {
		return 0, invalidForm("content", "Must be 2000 or fewer in length.")
	}
	if b.Content == "" && len(atts) == 0 {
		return 0, fail(http.StatusBadRequest, 50006)
	}
	nonce := ""
	if b.Nonce != nil {
		nonce = fmt.Sprint(b.Nonce)
		if len(nonce) > 25 {
			return 0, invalidForm("nonce", "Must be 25 or fewer in length.")
		}
	}
	if b.EnforceNonce && nonce != "" {
		for _, m := range s.messages[c.ID] {
			if m.Nonce == nonce && m.AuthorID == s.BotUserID {
				return http.StatusOK, s.messageJSON(m)
			}
		}
	}
	m := s.post(c.ID, s.BotUserID, b.Content, MessageDefault, atts)
	m.Nonce = nonce
	if len(b.Components) > 0 && string(b.Components) != "null" {
		m.Components = b.Components
	}
	j := s.messageJSON(m)
	if c.Type != TypeDM { // DM events need the DIRECT_MESSAGES intent, which debrief does not ask for
		s.gw.dispatch("MESSAGE_CREATE", j)
	}
	return http.StatusOK, j
}

func (s *Server) getMessage(q *request) (int, any) {
	c, e := s.channel(q)
	if e != nil {
		return 0, e
	}
	if e := s.need(c, PermReadMessageHistory); e != nil {
		return 0, e
	}
	m := s.message(c.ID, q.r.PathValue("message"))
	if m == nil {
		return 0, fail(http.StatusNotFound, 10008)
	}
	return http.StatusOK, s.messageJSON(m)
}

func (s *Server) pin(q *request) (int, any) {
	c, e := s.channel(q)
	if e != nil {
		return 0, e
	}
	if e := s.need(c, PermPinMessages); e != nil {
		return 0, e
	}
	evs, e := s.pinMessage(c, q.r.PathValue("message"), s.BotUserID)
	if e != nil {
		return 0, e
	}
	for _, ev := range evs {
		s.gw.dispatch(ev.t, ev.d)
	}
	return http.StatusNoContent, nil
}

// pinMessage pins id in c as user, and returns the events that says: the
// CHANNEL_PINNED_MESSAGE system message (who pinned what) and
// CHANNEL_PINS_UPDATE (neither).
func (s *Server) pinMessage(c *Channel, id, user string) ([]event, *apiError) {
	m := s.message(c.ID, id)
	if m == nil {
		return nil, fail(http.StatusNotFound, 10008)
	}
	if m.Pinned {
		return nil, nil
	}
	if len(s.pins[c.ID]) >= 50 {
		return nil, fail(http.StatusBadRequest, 30003)
	}
	m.Pinned = true
	s.pins[c.ID] = append(s.pins[c.ID], id)
	sys := s.post(c.ID, user, "", MessagePinned, nil)
	sys.Reference = id
	return []event{
		{"MESSAGE_CREATE", s.messageJSON(sys)},
		{"CHANNEL_PINS_UPDATE", map[string]any{"guild_id": s.GuildID, "channel_id": c.ID,
			"last_pin_timestamp": time.Now().UTC().Format(time.RFC3339Nano)}},
	}, nil
}

func (s *Server) listPins(q *request) (int, any) {
	c, e := s.channel(q)
	if e != nil {
		return 0, e
	}
	if e := s.need(c, PermReadMessageHistory); e != nil {
		return 0, e
	}
	out := []map[string]any{}
	pins := s.pins[c.ID]
	for i := len(pins) - 1; i >= 0; i-- {
		if m := s.message(c.ID, pins[i]); m != nil {
			out = append(out, s.messageJSON(m))
		}
	}
	return http.StatusOK, out
}
