// Package slacktest is a stateful fake of the Slack a debrief bot talks to,
// for tests: an httptest server that speaks the Web API methods the adapter
// calls (with Slack's answers, errors included), a Socket Mode endpoint, and
// the other direction, people acting in Slack: commands, messages, edits,
// reactions, shortcuts, form submissions, delivered to the bot signed over
// HTTP or as Socket Mode envelopes.
//
// It keeps state like Slack does (channels with members, topics and
// purposes, messages, pins, open views, users with time zones), enforces the
// bot's scopes, and can be told to fail: HTTP 500s, 429s with Retry-After,
// or Slack error codes, for a number of calls or until cleared.
//
// The design follows GoAlert's mockslack: one state, one handler per
// method, each checking its inputs the way Slack documents.
package slacktest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// User is a person (or bot) of the fake workspace.
type User struct {
	ID          string
	Name        string // the handle, e.g. "alice"
	DisplayName string
	RealName    string
	TZ          string // IANA zone, e.g. "Europe/Berlin"
	IsBot       bool
	Deleted     bool
	// NoDMs makes conversations.open with this person fail as Slack does
	// when it hides them from the app (user_not_visible).
	NoDMs bool
}

// Channel is a conversation's state.
type Channel struct {
	ID       string
	Name     string
	Creator  string
	Topic    string
	Purpose  string
	Members  []string
	Archived bool
	Private  bool
	// IM is a direct message conversation between the bot and User, opened
	// with conversations.open; it has no name and is not listed.
	IM      bool
	User    string
	Created time.Time
}

// File is a shared file.
type File struct {
	ID        string
	Name      string
	Permalink string
	// Content is what the bot uploaded (files it shares itself), unless
	// it was longer than KeepFilesUpTo; Size and SHA256 (hex) are its
	// length and digest in any case.
	Content string
	Size    int64
	SHA256  string
}

// upload is a file between files.getUploadURLExternal and
// files.completeUploadExternal.
type upload struct {
	name     string
	length   int
	content  []byte
	size     int64
	sha256   string
	uploaded bool
	shared   bool
	// channel and ts are the channel it was shared in and the ts of the
	// message that shares it; hidden is how many more files.info answers
	// leave the share out (DelayShares).
	channel, ts string
	hidden      int
}

// Message is a message in a channel, as the fake keeps it.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string
	User     string
	BotID    string
	Text     string
	Files    []File
	EditedTS string // set when edited
	Deleted  bool
	// Blocks are the blocks the bot posted with the message, as sent.
	Blocks json.RawMessage
	// Extra are fields of the message's JSON beyond those above, as an
	// app or Slack itself sets them (attachments, blocks, subtype, files
	// shared over Slack Connect): see Post.
	Extra map[string]any
	// Tombstone is set on a thread parent deleted while it has replies:
	// Slack keeps it as "This message was deleted." by Slackbot.
	Tombstone bool
}

// View is a modal opened with views.open.
type View struct {
	ID        string
	User      string          // whose trigger opened it
	TriggerID string          // the trigger it was opened with
	JSON      json.RawMessage // the view as the bot sent it
	// CallbackID and PrivateMetadata are read from JSON.
	CallbackID      string
	PrivateMetadata string
}

// Call is one Web API call the fake answered.
type Call struct {
	Method string
	Params url.Values
	Status int    // HTTP status of the answer
	Error  string // Slack error code, when ok was false
}

// Fault makes calls fail. Faults are matched in the order they were
// injected; each matching call consumes one of Times.
type Fault struct {
	// Method is the Web API method ("chat.postMessage"); empty matches
	// every method.
	Method string
	// Times is how many calls fail; negative means until ClearFaults.
	Times int
	// Status is the HTTP status to answer (500, 503, 429). With 429,
	// RetryAfter (seconds) is sent as Retry-After when it is not zero.
	Status     int
	RetryAfter int
	// Error, with Status 0, answers HTTP 200 {"ok":false,"error":Error}.
	Error string
	// AfterApply lets the call take effect before the failure is
	// answered: the answer was lost, the state changed.
	AfterApply bool
}

// Server is the fake. Create it with New; the zero value is not usable.
type Server struct {
	// hangs are the methods Hang holds until unhang is closed.
	hangs  map[string]bool
	unhang chan struct{}

	// SigningSecret signs what the fake delivers to the bot.
	SigningSecret string
	// BotToken and AppToken are the tokens the Web API accepts.
	BotToken string
	AppToken string
	// TeamID, AppID, BotUserID and BotID identify the workspace, the app
	// and its bot user.
	TeamID, AppID, BotUserID, BotID string

	srv    *httptest.Server
	client *http.Client

	mu        sync.Mutex
	scopes    []string // nil: every scope
	target    string
	seq       int
	lastTS    time.Time
	users     map[string]*User
	order     []string // channel IDs in creation order
	channels  map[string]*Channel
	messages  map[string][]*Message
	pins      map[string][]string
	uploads   map[string]*upload // file ID -> upload in progress or done
	views     []*View
	triggers  map[string]trigger
	calls     []Call
	faults    []*Fault
	sent      map[string]sentEvent // event_id -> what was delivered
	lastEvent string
	general   string

	// offline is Offline's state: events are kept for Redeliver, not sent.
	offline bool
	// sharedFiles are the files people shared, for files.info.
	sharedFiles map[string]File

	sock socketState
	resp responses

	// shareDelay is DelayShares's n, under mu.
	shareDelay int
	// keepUpTo is KeepFilesUpTo's n, under mu.
	keepUpTo int64
}

type trigger struct {
	user string
	at   time.Time
}

type sentEvent struct {
	body  []byte
	retry int
}

// New starts a fake workspace with a #general channel, the bot user
// "debrief" and no people; AddUser adds them. Close it when done.
func New() *Server {
	s := &Server{
		SigningSecret: "fake-signing-secret",
		BotToken:      "xoxb-fake-bot-token",
		AppToken:      "xapp-fake-app-token",
		TeamID:        "T0FAKE",
		AppID:         "A0FAKE",
		BotUserID:     "U0DEBRIEF",
		BotID:         "B0DEBRIEF",
		users:         map[string]*User{},
		channels:      map[string]*Channel{},
		messages:      map[string][]*Message{},
		pins:          map[string][]string{},
		uploads:       map[string]*upload{},
		triggers:      map[string]trigger{},
		sent:          map[string]sentEvent{},
	}
	s.sock.init()
	s.users[s.BotUserID] = &User{ID: s.BotUserID, Name: "debrief", DisplayName: "debrief", IsBot: true, TZ: "UTC"}
	s.general = s.AddChannel("general", "")
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.serveAPI)
	mux.HandleFunc("/socket", s.serveSocket)
	mux.HandleFunc("/upload/", s.serveUpload)
	s.resp.ch = make(chan Response, 64)
	mux.HandleFunc("/commands/", s.serveResponse)
	s.srv = httptest.NewServer(mux)
	s.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	return s
}

// APIURL is the Web API base to give the bot (SLACK_API_URL).
func (s *Server) APIURL() string { return s.srv.URL + "/api/" }

// Close stops the server and drops Socket Mode connections.
func (s *Server) Close() {
	s.sock.closeAll()
	s.srv.Close()
	s.client.CloseIdleConnections()
}

// General is the ID of #general.
func (s *Server) General() string { return s.general }

// GrantScopes limits the bot to these scopes; a method needing another
// answers missing_scope. Without it, every scope is granted.
func (s *Server) GrantScopes(scopes []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scopes = slices.Clone(scopes)
}

// AddUser adds a person, who joins #general.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	uc := u
	s.users[u.ID] = &uc
	if g := s.channels[s.general]; g != nil && !slices.Contains(g.Members, u.ID) {
		g.Members = append(g.Members, u.ID)
	}
}

// AddChannel creates a public channel as creator ("" for Slack itself)
// with the given members, and returns its ID.
func (s *Server) AddChannel(name, creator string, members ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addChannel(name, creator, false, members).ID
}

func (s *Server) addChannel(name, creator string, private bool, members []string) *Channel {
	s.seq++
	prefix := "C"
	if private {
		prefix = "G"
	}
	c := &Channel{ID: fmt.Sprintf("%s%07d", prefix, s.seq), Name: name, Creator: creator,
		Members: slices.Clone(members), Private: private, Created: time.Now()}
	s.channels[c.ID] = c
	s.order = append(s.order, c.ID)
	return c
}

// Inject adds a fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fc := f
	s.faults = append(s.faults, &fc)
}

// Hang makes calls to method ("*" for every method) wait, unanswered,
// until Unhang or until the caller gives up: a Slack that accepts
// connections and never answers, which no status code can stand for.
func (s *Server) Hang(method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hangs == nil {
		s.hangs, s.unhang = map[string]bool{}, make(chan struct{})
	}
	s.hangs[method] = true
}

// Unhang answers the calls that hang and ends every Hang.
func (s *Server) Unhang() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unhang != nil {
		close(s.unhang)
	}
	s.hangs, s.unhang = nil, nil
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
	out := make([]Channel, 0, len(s.order))
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

// ChannelByName returns the channel with the given name.
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
	cc.Members = slices.Clone(c.Members)
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
		mc.Files = slices.Clone(m.Files)
		out = append(out, mc)
	}
	return out
}

// Pins returns the ts of the messages pinned in a channel.
func (s *Server) Pins(channel string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.pins[channel])
}

// Views returns the views opened, oldest first.
func (s *Server) Views() []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]View, len(s.views))
	for i, v := range s.views {
		out[i] = *v
	}
	return out
}

// Calls returns the calls of method ("" for all) answered so far.
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// nextTS returns a message timestamp: seconds.microseconds, strictly
// increasing like Slack's within a channel.
func (s *Server) nextTS() string {
	t := time.Now().Truncate(time.Microsecond)
	if !t.After(s.lastTS) {
		t = s.lastTS.Add(time.Microsecond)
	}
	s.lastTS = t
	return fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000)
}

func (s *Server) nextID(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%07d", prefix, s.seq)
}

// apiError is a Slack error answer: HTTP 200 with ok false.
type apiError struct {
	code string
	// extra fields, such as "needed" or "errors".
	extra map[string]any
}

func fail(code string) *apiError { return &apiError{code: code} }

type params struct {
	url.Values
	json map[string]json.RawMessage
}

func (p params) str(k string) string {
	if v := p.Get(k); v != "" {
		return v
	}
	if raw, ok := p.json[k]; ok {
		var v string
		if json.Unmarshal(raw, &v) == nil {
			return v
		}
		return string(raw)
	}
	return ""
}

// method is one Web API method: the scope it needs ("" for none), whether
// it takes the app-level token, and its handler, which runs under s.mu.
type method struct {
	scope string
	app   bool
	fn    func(s *Server, p params) (map[string]any, *apiError)
}

var methods = map[string]method{
	"auth.test":                    {"", false, (*Server).authTest},
	"apps.connections.open":        {"", true, (*Server).connectionsOpen},
	"conversations.create":         {"channels:manage", false, (*Server).conversationsCreate},
	"conversations.list":           {"channels:read", false, (*Server).conversationsList},
	"conversations.info":           {"channels:read", false, (*Server).conversationsInfo},
	"conversations.invite":         {"channels:manage", false, (*Server).conversationsInvite},
	"conversations.join":           {"channels:join", false, (*Server).conversationsJoin},
	"conversations.setTopic":       {"channels:manage", false, (*Server).conversationsSetTopic},
	"conversations.setPurpose":     {"channels:manage", false, (*Server).conversationsSetPurpose},
	"conversations.archive":        {"channels:manage", false, (*Server).conversationsArchive},
	"conversations.open":           {"im:write", false, (*Server).conversationsOpen},
	"chat.postMessage":             {"chat:write", false, (*Server).chatPostMessage},
	"chat.getPermalink":            {"", false, (*Server).chatGetPermalink},
	"conversations.history":        {"channels:history", false, (*Server).conversationsHistory},
	"conversations.replies":        {"channels:history", false, (*Server).conversationsReplies},
	"pins.add":                     {"pins:write", false, (*Server).pinsAdd},
	"pins.list":                    {"pins:read", false, (*Server).pinsList},
	"users.info":                   {"users:read", false, (*Server).usersInfo},
	"views.open":                   {"", false, (*Server).viewsOpen},
	"files.getUploadURLExternal":   {"files:write", false, (*Server).filesGetUploadURL},
	"files.completeUploadExternal": {"files:write", false, (*Server).filesCompleteUpload},
	"files.info":                   {"files:read", false, (*Server).filesInfo},
}

// serveAPI answers POST/GET /api/<method> the way Slack does: HTTP 200 with
// {"ok":true,...} or {"ok":false,"error":"..."}, unless a fault says
// otherwise.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/api/")
	p := params{Values: url.Values{}}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if len(body) > 0 {
			if err := json.Unmarshal(body, &p.json); err != nil {
				writeAPI(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_json"})
				return
			}
		}
	} else {
		form, _ := url.ParseQuery(string(body))
		p.Values = form
	}
	for k, v := range r.URL.Query() {
		p.Values[k] = v
	}
	token := p.Get("token")
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		token = t
	}
	p.Del("token") // never kept in the call log

	s.mu.Lock()
	hang, release := s.hangs[name] || s.hangs["*"], s.unhang
	s.mu.Unlock()
	if hang {
		select {
		case <-r.Context().Done():
			return
		case <-release:
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := methods[name]
	record := func(status int, code string) {
		s.calls = append(s.calls, Call{Method: name, Params: p.Values, Status: status, Error: code})
	}
	if !ok {
		record(http.StatusOK, "unknown_method")
		writeAPI(w, http.StatusOK, map[string]any{"ok": false, "error": "unknown_method"})
		return
	}
	f := s.fault(name)
	if f != nil && !f.AfterApply {
		s.answerFault(w, f, record)
		return
	}
	var apiErr *apiError
	var out map[string]any
	switch {
	case token == "":
		apiErr = fail("not_authed")
	case m.app && token != s.AppToken, !m.app && token != s.BotToken:
		apiErr = fail("invalid_auth")
	case m.scope != "" && s.scopes != nil && !slices.Contains(s.scopes, m.scope):
		apiErr = &apiError{code: "missing_scope", extra: map[string]any{"needed": m.scope, "provided": strings.Join(s.scopes, ",")}}
	default:
		out, apiErr = m.fn(s, p)
	}
	if f != nil {
		s.answerFault(w, f, record)
		return
	}
	if apiErr != nil {
		resp := map[string]any{"ok": false, "error": apiErr.code}
		for k, v := range apiErr.extra {
			resp[k] = v
		}
		record(http.StatusOK, apiErr.code)
		writeAPI(w, http.StatusOK, resp)
		return
	}
	if out == nil {
		out = map[string]any{}
	}
	out["ok"] = true
	record(http.StatusOK, "")
	writeAPI(w, http.StatusOK, out)
}

// fault returns the first fault matching method and consumes one of its
// times; nil when none does.
func (s *Server) fault(method string) *Fault {
	for i, f := range s.faults {
		if f.Method != "" && f.Method != method {
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

func (s *Server) answerFault(w http.ResponseWriter, f *Fault, record func(int, string)) {
	if f.Status == 0 {
		record(http.StatusOK, f.Error)
		writeAPI(w, http.StatusOK, map[string]any{"ok": false, "error": f.Error})
		return
	}
	if f.Status == http.StatusTooManyRequests {
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		}
		record(f.Status, "ratelimited")
		writeAPI(w, f.Status, map[string]any{"ok": false, "error": "ratelimited"})
		return
	}
	// Slack's 5xx pages are HTML, not JSON.
	record(f.Status, "")
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(f.Status)
	_, _ = io.WriteString(w, "<html><body>Slack is having trouble</body></html>")
}

func writeAPI(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) authTest(params) (map[string]any, *apiError) {
	return map[string]any{
		"url": "https://fake.slack.com/", "team": "Fake", "user": "debrief",
		"team_id": s.TeamID, "user_id": s.BotUserID, "bot_id": s.BotID,
	}, nil
}

func (s *Server) channelJSON(c *Channel) map[string]any {
	return map[string]any{
		"id": c.ID, "name": c.Name, "name_normalized": c.Name, "is_channel": !c.Private, "is_group": c.Private,
		"is_private": c.Private, "is_archived": c.Archived, "creator": c.Creator, "created": c.Created.Unix(),
		"is_member":   slices.Contains(c.Members, s.BotUserID),
		"topic":       map[string]any{"value": c.Topic},
		"purpose":     map[string]any{"value": c.Purpose},
		"num_members": len(c.Members),
	}
}

// validName follows conversations.create: lower case letters, digits,
// hyphens and underscores, at most 80 characters.
func validName(name string) *apiError {
	switch {
	case name == "":
		return fail("invalid_name_required")
	case utf8.RuneCountInString(name) > 80:
		return fail("invalid_name_maxlength")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fail("invalid_name_specials")
		}
	}
	return nil
}

func (s *Server) conversationsCreate(p params) (map[string]any, *apiError) {
	name := p.str("name")
	if err := validName(name); err != nil {
		return nil, err
	}
	for _, c := range s.channels {
		if c.Name == name {
			return nil, fail("name_taken")
		}
	}
	c := s.addChannel(name, s.BotUserID, p.str("is_private") == "true", []string{s.BotUserID})
	return map[string]any{"channel": s.channelJSON(c)}, nil
}

func (s *Server) conversationsList(p params) (map[string]any, *apiError) {
	types := strings.Split(p.str("types"), ",")
	if p.str("types") == "" {
		types = []string{"public_channel"}
	}
	limit, _ := strconv.Atoi(p.str("limit"))
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	start := 0
	if c := p.str("cursor"); c != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(c, "cursor-"))
		if err != nil || n < 0 || n > len(s.order) {
			return nil, fail("invalid_cursor")
		}
		start = n
	}
	var out []map[string]any
	next := ""
	i := start
	for ; i < len(s.order); i++ {
		if len(out) == limit {
			next = "cursor-" + strconv.Itoa(i)
			break
		}
		c := s.channels[s.order[i]]
		kind := "public_channel"
		if c.Private {
			kind = "private_channel"
		}
		if !slices.Contains(types, kind) || (c.Archived && p.str("exclude_archived") == "true") {
			continue
		}
		if c.Private && !slices.Contains(c.Members, s.BotUserID) {
			continue
		}
		out = append(out, s.channelJSON(c))
	}
	return map[string]any{"channels": out, "response_metadata": map[string]any{"next_cursor": next}}, nil
}

// channel looks up the channel a method acts on; member requires the bot
// to be in it, open that it is not archived.
func (s *Server) channel(p params, member, open bool) (*Channel, *apiError) {
	c, ok := s.channels[p.str("channel")]
	switch {
	case !ok, c.Private && !slices.Contains(c.Members, s.BotUserID):
		return nil, fail("channel_not_found")
	case open && c.Archived:
		return nil, fail("is_archived")
	case member && !slices.Contains(c.Members, s.BotUserID):
		return nil, fail("not_in_channel")
	}
	return c, nil
}

func (s *Server) conversationsInfo(p params) (map[string]any, *apiError) {
	c, err := s.channel(p, false, false)
	if err != nil {
		return nil, err
	}
	return map[string]any{"channel": s.channelJSON(c)}, nil
}

// conversationsInvite checks every user before inviting anyone: without
// force, one bad user fails the whole call, with the per-user errors.
func (s *Server) conversationsInvite(p params) (map[string]any, *apiError) {
	c, err := s.channel(p, true, true)
	if err != nil {
		return nil, err
	}
	ids := strings.Split(p.str("users"), ",")
	var errs []map[string]any
	for _, id := range ids {
		u, ok := s.users[id]
		code := ""
		switch {
		case id == s.BotUserID:
			code = "cant_invite_self"
		case !ok:
			code = "user_not_found"
		case u.Deleted:
			code = "user_is_deactivated"
		case slices.Contains(c.Members, id):
			code = "already_in_channel"
		}
		if code != "" {
			errs = append(errs, map[string]any{"user": id, "ok": false, "error": code})
		}
	}
	if len(errs) > 0 {
		return nil, &apiError{code: errs[0]["error"].(string), extra: map[string]any{"errors": errs}}
	}
	c.Members = append(c.Members, ids...)
	return map[string]any{"channel": s.channelJSON(c)}, nil
}

func (s *Server) conversationsJoin(p params) (map[string]any, *apiError) {
	c, ok := s.channels[p.str("channel")]
	switch {
	case !ok:
		return nil, fail("channel_not_found")
	case c.Private:
		return nil, fail("method_not_supported_for_channel_type")
	case c.Archived:
		return nil, fail("is_archived")
	}
	if !slices.Contains(c.Members, s.BotUserID) {
		c.Members = append(c.Members, s.BotUserID)
	}
	return map[string]any{"channel": s.channelJSON(c)}, nil
}

func (s *Server) conversationsSetTopic(p params) (map[string]any, *apiError) {
	c, err := s.channel(p, true, true)
	if err != nil {
		return nil, err
	}
	t := p.str("topic")
	if utf8.RuneCountInString(t) > 250 {
		return nil, fail("too_long")
	}
	c.Topic = t
	return map[string]any{"channel": s.channelJSON(c)}, nil
}

func (s *Server) conversationsSetPurpose(p params) (map[string]any, *apiError) {
	c, err := s.channel(p, true, true)
	if err != nil {
		return nil, err
	}
	t := p.str("purpose")
	if utf8.RuneCountInString(t) > 250 {
		return nil, fail("too_long")
	}
	c.Purpose = t
	return map[string]any{"channel": s.channelJSON(c)}, nil
}

func (s *Server) conversationsArchive(p params) (map[string]any, *apiError) {
	c, ok := s.channels[p.str("channel")]
	switch {
	case !ok:
		return nil, fail("channel_not_found")
	case c.ID == s.general:
		return nil, fail("cant_archive_general")
	case c.Archived:
		return nil, fail("already_archived")
	case !slices.Contains(c.Members, s.BotUserID):
		return nil, fail("not_in_channel")
	}
	c.Archived = true
	return nil, nil
}

// conversationsOpen opens (or finds) the direct message conversation
// between the bot and one person, as conversations.open with users= does:
// the answer is the IM's ID, with no_op and already_open true when it was
// open before. https://docs.slack.dev/reference/methods/conversations.open
func (s *Server) conversationsOpen(p params) (map[string]any, *apiError) {
	if id := p.str("channel"); id != "" {
		c, ok := s.channels[id]
		if !ok || !c.IM {
			return nil, fail("channel_not_found")
		}
		return map[string]any{"no_op": true, "already_open": true, "channel": map[string]any{"id": c.ID}}, nil
	}
	users := p.str("users")
	switch {
	case users == "":
		return nil, fail("users_list_not_supplied")
	case strings.Contains(users, ","):
		return nil, fail("not_enough_users") // a group DM: the bot only opens one-to-one DMs
	}
	u, ok := s.users[users]
	switch {
	case !ok:
		return nil, fail("user_not_found")
	case u.Deleted:
		return nil, fail("user_disabled")
	case u.IsBot:
		return nil, fail("cannot_dm_bot")
	case u.NoDMs:
		return nil, fail("user_not_visible")
	}
	for _, c := range s.channels {
		if c.IM && c.User == u.ID {
			return map[string]any{"no_op": true, "already_open": true, "channel": map[string]any{"id": c.ID}}, nil
		}
	}
	s.seq++
	c := &Channel{ID: fmt.Sprintf("D%07d", s.seq), IM: true, User: u.ID, Private: true,
		Members: []string{s.BotUserID, u.ID}, Created: time.Now()}
	s.channels[c.ID] = c
	return map[string]any{"channel": map[string]any{"id": c.ID}}, nil
}

// DirectMessages returns the messages the bot sent to a person in their
// direct message conversation, oldest first.
func (s *Server) DirectMessages(user string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, c := range s.channels {
		if !c.IM || c.User != user {
			continue
		}
		for _, m := range s.messages[c.ID] {
			out = append(out, *m)
		}
	}
	return out
}

func (s *Server) chatPostMessage(p params) (map[string]any, *apiError) {
	c, err := s.channel(p, true, true)
	if err != nil {
		return nil, err
	}
	text := p.str("text")
	switch {
	case text == "":
		return nil, fail("no_text")
	case utf8.RuneCountInString(text) > 40000:
		return nil, fail("msg_too_long")
	}
	m := &Message{Channel: c.ID, TS: s.nextTS(), ThreadTS: p.str("thread_ts"), User: s.BotUserID, BotID: s.BotID, Text: text}
	if b := p.str("blocks"); b != "" {
		if !json.Valid([]byte(b)) {
			return nil, fail("invalid_blocks")
		}
		m.Blocks = json.RawMessage(b)
	}
	s.messages[c.ID] = append(s.messages[c.ID], m)
	return map[string]any{"channel": c.ID, "ts": m.TS, "message": map[string]any{
		"type": "message", "user": m.User, "bot_id": m.BotID, "text": m.Text, "ts": m.TS,
	}}, nil
}

func (s *Server) message(channel, ts string) *Message {
	for _, m := range s.messages[channel] {
		if m.TS == ts && !m.Deleted {
			return m
		}
	}
	return nil
}

func (s *Server) pinsAdd(p params) (map[string]any, *apiError) {
	c, err := s.channel(p, true, true)
	if err != nil {
		return nil, err
	}
	ts := p.str("timestamp")
	switch {
	case ts == "":
		return nil, fail("no_item_specified")
	case s.message(c.ID, ts) == nil:
		return nil, fail("message_not_found")
	case slices.Contains(s.pins[c.ID], ts):
		return nil, fail("already_pinned")
	}
	s.pins[c.ID] = append(s.pins[c.ID], ts)
	return nil, nil
}

func (s *Server) pinsList(p params) (map[string]any, *apiError) {
	c, err := s.channel(p, false, false)
	if err != nil {
		return nil, err
	}
	var items []map[string]any
	for _, ts := range s.pins[c.ID] {
		m := s.message(c.ID, ts)
		if m == nil {
			continue
		}
		items = append(items, map[string]any{"type": "message", "channel": c.ID,
			"message": map[string]any{"type": "message", "ts": m.TS, "user": m.User, "text": m.Text}})
	}
	return map[string]any{"items": items}, nil
}

func (s *Server) usersInfo(p params) (map[string]any, *apiError) {
	u, ok := s.users[p.str("user")]
	if !ok {
		return nil, fail("user_not_found")
	}
	real := u.RealName
	if real == "" {
		real = u.Name
	}
	return map[string]any{"user": map[string]any{
		"id": u.ID, "team_id": s.TeamID, "name": u.Name, "deleted": u.Deleted, "real_name": real,
		"tz": u.TZ, "is_bot": u.IsBot,
		"profile": map[string]any{"display_name": u.DisplayName, "real_name": real},
	}}, nil
}

// triggerTTL is how long Slack accepts a trigger_id.
const triggerTTL = 3 * time.Second

func (s *Server) viewsOpen(p params) (map[string]any, *apiError) {
	id := p.str("trigger_id")
	tr, ok := s.triggers[id]
	switch {
	case id == "":
		return nil, fail("invalid_arguments")
	case !ok:
		return nil, fail("invalid_trigger_id")
	case time.Since(tr.at) > triggerTTL:
		return nil, fail("expired_trigger_id")
	}
	delete(s.triggers, id)
	raw := p.json["view"]
	var view struct {
		Type            string `json:"type"`
		CallbackID      string `json:"callback_id"`
		PrivateMetadata string `json:"private_metadata"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &view) != nil || view.Type != "modal" {
		return nil, fail("invalid_arguments")
	}
	if len(view.PrivateMetadata) > 3000 {
		return nil, fail("invalid_arguments")
	}
	v := &View{ID: s.nextID("V"), User: tr.user, TriggerID: id, JSON: raw,
		CallbackID: view.CallbackID, PrivateMetadata: view.PrivateMetadata}
	s.views = append(s.views, v)
	return map[string]any{"view": map[string]any{"id": v.ID, "type": "modal", "callback_id": v.CallbackID}}, nil
}

func (s *Server) connectionsOpen(params) (map[string]any, *apiError) {
	u := "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/socket?ticket=" + s.nextID("tk")
	return map[string]any{"url": u}, nil
}

func (s *Server) filesGetUploadURL(p params) (map[string]any, *apiError) {
	name := p.str("filename")
	n, err := strconv.Atoi(p.str("length"))
	if name == "" || err != nil || n <= 0 {
		return nil, fail("invalid_arguments")
	}
	id := s.nextID("F")
	s.uploads[id] = &upload{name: name, length: n}
	return map[string]any{"upload_url": s.srv.URL + "/upload/" + id, "file_id": id}, nil
}

// UploadMethod names the upload URL's POST in Calls and in a Fault's
// Method: it is not a Web API method, but it fails like one (a Fault's
// Status; its Error answers 500).
const UploadMethod = "upload"

// serveUpload takes the file's bytes the two ways files.slack.com does
// (https://docs.slack.dev/reference/methods/files.getUploadURLExternal):
// as multipart form field "file", or as the raw request body. It reads
// them as they come, keeping their SHA-256 and length, and their content
// only up to KeepFilesUpTo; a length other than the one announced is
// refused.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/upload/")
	s.mu.Lock()
	f := s.fault(UploadMethod)
	keep := s.keepUpTo
	s.mu.Unlock()
	record := func(status int, code string) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.calls = append(s.calls, Call{Method: UploadMethod, Params: url.Values{"file": {id}}, Status: status, Error: code})
	}
	if f != nil && !f.AfterApply {
		_, _ = io.Copy(io.Discard, r.Body)
		s.answerUploadFault(w, f, record)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.BotToken {
		record(http.StatusForbidden, "invalid_auth")
		http.Error(w, "invalid_auth", http.StatusForbidden)
		return
	}
	body := io.Reader(r.Body)
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		mr, err := r.MultipartReader()
		if err != nil {
			record(http.StatusBadRequest, "no file")
			http.Error(w, "no file", http.StatusBadRequest)
			return
		}
		for {
			part, err := mr.NextPart()
			if err != nil {
				record(http.StatusBadRequest, "no file")
				http.Error(w, "no file", http.StatusBadRequest)
				return
			}
			if part.FormName() == "file" {
				body = part
				break
			}
		}
	}
	h := sha256.New()
	var kept bytes.Buffer
	n, err := io.Copy(io.MultiWriter(h, &keeper{buf: &kept, max: keep}), body)
	if err != nil {
		record(http.StatusBadRequest, "read")
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	u, ok := s.uploads[id]
	if !ok || n != int64(u.length) {
		s.mu.Unlock()
		record(http.StatusBadRequest, "bad upload")
		http.Error(w, "bad upload", http.StatusBadRequest)
		return
	}
	u.size, u.sha256, u.uploaded = n, hex.EncodeToString(h.Sum(nil)), true
	if keep <= 0 || n <= keep {
		u.content = kept.Bytes()
	}
	s.mu.Unlock()
	if f != nil {
		s.answerUploadFault(w, f, record)
		return
	}
	record(http.StatusOK, "")
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, "OK - "+strconv.FormatInt(n, 10))
}

// answerUploadFault answers the upload URL's failure: a status and a
// plain page, not the Web API's JSON.
func (s *Server) answerUploadFault(w http.ResponseWriter, f *Fault, record func(int, string)) {
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	record(status, f.Error)
	http.Error(w, "upload failed", status)
}

// keeper keeps what is written to it up to max bytes (all when max is 0)
// and drops the rest, saying nothing of it.
type keeper struct {
	buf *bytes.Buffer
	max int64
}

func (k *keeper) Write(p []byte) (int, error) {
	if room := k.max - int64(k.buf.Len()); k.max <= 0 || room >= int64(len(p)) {
		k.buf.Write(p)
	} else if room > 0 {
		k.buf.Write(p[:room])
	}
	return len(p), nil
}

// KeepFilesUpTo makes the fake keep the content of the files uploaded
// from now on only when they are at most n bytes (all when n is 0, the
// default): a benchmark uploads a write-up of tens of megabytes, and the
// fake keeping it would be counted as the adapter's memory. A file not
// kept shows its Size and SHA256, with no Content.
func (s *Server) KeepFilesUpTo(n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keepUpTo = n
}

func (s *Server) filesCompleteUpload(p params) (map[string]any, *apiError) {
	var files []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if json.Unmarshal([]byte(p.str("files")), &files) != nil || len(files) == 0 {
		return nil, fail("invalid_arguments")
	}
	var c *Channel
	if p.str("channel_id") != "" {
		ch, err := s.channel(params{Values: url.Values{"channel": {p.str("channel_id")}}}, true, true)
		if err != nil {
			return nil, err
		}
		c = ch
	}
	var shared []File
	var out []map[string]any
	for _, f := range files {
		u, ok := s.uploads[f.ID]
		if !ok || !u.uploaded || u.shared {
			return nil, fail("file_not_found")
		}
		u.shared = c != nil
		shared = append(shared, File{ID: f.ID, Name: u.name, Content: string(u.content), Size: u.size, SHA256: u.sha256,
			Permalink: "https://fake.slack.com/files/" + s.BotUserID + "/" + f.ID + "/" + url.PathEscape(u.name)})
		out = append(out, map[string]any{"id": f.ID, "title": f.Title})
	}
	if c != nil {
		m := &Message{Channel: c.ID, TS: s.nextTS(), User: s.BotUserID, BotID: s.BotID,
			Text: p.str("initial_comment"), Files: shared}
		s.messages[c.ID] = append(s.messages[c.ID], m)
		for _, f := range files {
			u := s.uploads[f.ID]
			u.channel, u.ts, u.hidden = c.ID, m.TS, s.shareDelay
		}
	}
	return map[string]any{"files": out}, nil
}
