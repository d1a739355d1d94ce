// Package githubtest is a fake GitHub for tests: a stateful httptest server
// speaking the REST endpoints debrief uses (issues, labels, the
// authenticated user, repository contents), with GitHub's JSON, errors,
// rate-limit headers and Link pagination, that can be told to fail the ways
// GitHub does; and a sender of signed webhook deliveries.
package githubtest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fault is a way a request can fail.
type Fault int

// The faults. The "After" ones do what was asked first, so the client
// cannot know whether it happened: the ambiguous failures that make a
// naive retry create a second issue.
const (
	None Fault = iota
	// Fail500 answers 500 and does nothing.
	Fail500
	// Fail502After does the request, then answers 502 (a proxy gave up).
	Fail502After
	// ResetAfter does the request, then cuts the connection unanswered.
	ResetAfter
	// HangAfter does the request, then never answers: the client times
	// out.
	HangAfter
	// SecondaryLimit answers 403 with Retry-After and the documentation
	// URL of GitHub's secondary rate limits, and does nothing.
	SecondaryLimit
	// PrimaryLimit answers 403 with X-RateLimit-Remaining: 0 and
	// X-RateLimit-Reset, and does nothing.
	PrimaryLimit
	// TooMany answers 429 with Retry-After, and does nothing.
	TooMany
)

func (f Fault) String() string {
	return [...]string{"none", "500", "502 after", "reset after", "hang after", "secondary limit", "primary limit", "429"}[f]
}

// Config sets up a Server.
type Config struct {
	Owner, Repo string // the one repository; default "acme/ops"
	Token       string // the token requests must carry; default "ghp_test"
	Login       string // the token's user; default "debrief-bot"
	// Now stamps issues and rate-limit resets; time.Now when nil.
	Now func() time.Time
	// MaxPerPage caps per_page as GitHub does at 100; tests lower it to
	// make pagination happen.
	MaxPerPage int
	// RetryAfter is the wait the rate-limit faults ask for; default 60 s.
	RetryAfter time.Duration
	// Assignable says who may be assigned issues; anyone when nil.
	// GitHub refuses others with a 422.
	Assignable []string
	// KeepUpTo is the longest file whose content the fake keeps (all
	// when 0): a longer one is checked and committed with its SHA and
	// size only, so that a benchmark's write-up of tens of megabytes is
	// not counted as the client's memory. Its GET answers as GitHub does
	// past 1 MB, without the content.
	KeepUpTo int64
}

// Issue is an issue as the fake stores it.
type Issue struct {
	Number int
	Title  string
	Body   string
	State  string // open or closed
	// StateReason is GitHub's state_reason: completed or not_planned
	// once closed (completed when a test leaves it empty), reopened.
	StateReason string
	// Repo is "owner/name" for an issue in a repository other than the
	// configured one (transferred there); empty in the configured one.
	Repo string
	// Deleted issues answer 410 and are listed nowhere.
	Deleted bool
	// MovedTo is where a transferred issue went: GET answers 301 there,
	// and the listing leaves it out.
	MovedTo   string
	MovedToN  int
	Labels    []string
	Assignees []string
	Creator   string
	CreatedAt time.Time
	UpdatedAt time.Time
	ClosedAt  time.Time
}

// Label is a repository label.
type Label struct {
	Name, Color, Description string
	// Auto is set for labels GitHub created on the fly for an issue,
	// without colour or description.
	Auto bool
}

// FileVersion is one commit of a file.
type FileVersion struct {
	SHA, Content, Message string
	// Size is the file's length. Content is empty for a file longer than
	// Config.KeepUpTo: the fake kept only its SHA and Size.
	Size int64
	// Kept is set when Content is the file's.
	Kept bool
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	URL string // the API base, ending in "/"

	cfg  Config
	srv  *httptest.Server
	hang chan struct{} // closed at Close: releases HangAfter requests

	mu       sync.Mutex
	issues   []*Issue
	others   map[string][]*Issue // by lower-case "owner/name": transferred issues
	labels   map[string]*Label
	files    map[string][]FileVersion
	inject   func(r *http.Request) Fault
	requests []string
	faults   map[Fault]int
}

// New starts a fake GitHub, closed at the end of the test.
func New(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	if cfg.Owner == "" || cfg.Repo == "" {
		cfg.Owner, cfg.Repo = "acme", "ops"
	}
	if cfg.Token == "" {
		cfg.Token = "ghp_test"
	}
	if cfg.Login == "" {
		cfg.Login = "debrief-bot"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxPerPage <= 0 {
		cfg.MaxPerPage = 100
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = time.Minute
	}
	s := &Server{
		cfg: cfg, hang: make(chan struct{}),
		labels: map[string]*Label{}, files: map[string][]FileVersion{}, faults: map[Fault]int{},
		others: map[string][]*Issue{},
	}
	mux := http.NewServeMux()
	repo := "/repos/{owner}/{repo}"
	mux.HandleFunc("GET /user", s.user)
	mux.HandleFunc("GET "+repo+"/labels/{name}", s.repoOnly(s.getLabel))
	mux.HandleFunc("POST "+repo+"/labels", s.repoOnly(s.createLabel))
	mux.HandleFunc("GET "+repo+"/issues", s.repoOnly(s.listIssues))
	mux.HandleFunc("POST "+repo+"/issues", s.repoOnly(s.createIssue))
	mux.HandleFunc("GET "+repo+"/issues/{number}", s.getIssue)
	mux.HandleFunc("PATCH "+repo+"/issues/{number}", s.repoOnly(s.editIssue))
	mux.HandleFunc("GET "+repo+"/contents/{path...}", s.repoOnly(s.getContents))
	mux.HandleFunc("PUT "+repo+"/contents/{path...}", s.repoOnly(s.putContents))
	s.srv = httptest.NewServer(s.middleware(mux))
	s.URL = s.srv.URL + "/"
	tb.Cleanup(s.Close)
	return s
}

// Close releases hanging requests and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.hang:
	default:
		close(s.hang)
	}
	s.mu.Unlock()
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Config returns the server's configuration, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Inject decides the fault of each request from now on; nil stops
// injecting. It runs under the server's lock: keep it quick.
func (s *Server) Inject(f func(r *http.Request) Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inject = f
}

// FailNext makes the next n requests for which match reports true fail
// with f (every request when match is nil).
func (s *Server) FailNext(n int, f Fault, match func(r *http.Request) bool) {
	s.Inject(func(r *http.Request) Fault {
		if n <= 0 || (match != nil && !match(r)) {
			return None
		}
		n--
		return f
	})
}

// IsCreateIssue matches the requests that create an issue.
func IsCreateIssue(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/issues")
}

// Requests returns "METHOD /path" of every request so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Faults returns how many requests failed with each fault.
func (s *Server) Faults() map[Fault]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[Fault]int, len(s.faults))
	for f, n := range s.faults {
		out[f] = n
	}
	return out
}

// Issues returns copies of every issue, by number.
func (s *Server) Issues() []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Issue, len(s.issues))
	for i, is := range s.issues {
		out[i] = copyIssue(is)
	}
	return out
}

// Issue returns issue n.
func (s *Server) Issue(n int) (Issue, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n < 1 || n > len(s.issues) {
		return Issue{}, false
	}
	return copyIssue(s.issues[n-1]), true
}

func copyIssue(is *Issue) Issue {
	c := *is
	c.Labels = slices.Clone(is.Labels)
	c.Assignees = slices.Clone(is.Assignees)
	return c
}

// Labels returns the repository's labels by name.
func (s *Server) Labels() map[string]Label {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]Label{}
	for k, l := range s.labels {
		out[k] = *l
	}
	return out
}

// FileHistory returns the commits of the file at path, oldest first.
func (s *Server) FileHistory(path string) []FileVersion {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.files[path])
}

// Open creates an issue as creator (anyone, as in a public repository),
// with labels, and returns its number: how tests copy a countermeasure's
// marker onto an issue the bot did not file.
func (s *Server) Open(creator, title, body string, labels ...string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	is := &Issue{Number: len(s.issues) + 1, Title: title, Body: body, State: "open", Creator: creator,
		Labels: slices.Clone(labels), CreatedAt: now, UpdatedAt: now}
	s.issues = append(s.issues, is)
	return is.Number
}

// Update changes issue n as a person on GitHub would, stamping it with the
// clock, and returns it. fn may set State, Body, Title, Assignees.
func (s *Server) Update(n int, fn func(*Issue)) Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issues[n-1]
	was := is.State
	fn(is)
	s.stamp(is, was)
	return copyIssue(is)
}

// stamp dates a change to is, whose state was was, as GitHub does.
func (s *Server) stamp(is *Issue, was string) {
	is.UpdatedAt = s.now()
	switch {
	case is.State == "closed" && was != "closed":
		is.ClosedAt = is.UpdatedAt
		if is.StateReason == "" || is.StateReason == "reopened" {
			is.StateReason = "completed"
		}
	case is.State == "open":
		is.ClosedAt = time.Time{}
		if was == "closed" {
			is.StateReason = "reopened"
		}
	}
}

// UpdateIn is Update for issue n of repository repo ("owner/name"), one
// an issue was transferred to.
func (s *Server) UpdateIn(repo string, n int, fn func(*Issue)) Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.others[strings.ToLower(repo)][n-1]
	was := is.State
	fn(is)
	s.stamp(is, was)
	return copyIssue(is)
}

// IssueIn returns issue n of repository repo (Transfer).
func (s *Server) IssueIn(repo string, n int) (Issue, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.others[strings.ToLower(repo)]
	if n < 1 || n > len(list) {
		return Issue{}, false
	}
	return copyIssue(list[n-1]), true
}

// Transfer moves issue n to repository repo ("owner/name"), as GitHub's
// "Transfer issue" does: a new issue there, numbered in that repository,
// with the same title, body, state, labels and assignees; the old number
// answers 301 to it from then on. It returns the new number.
func (s *Server) Transfer(n int, repo string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.issues[n-1]
	key := strings.ToLower(repo)
	moved := copyIssue(old)
	moved.Number, moved.Repo = len(s.others[key])+1, repo
	moved.UpdatedAt = s.now()
	s.others[key] = append(s.others[key], &moved)
	old.MovedTo, old.MovedToN, old.UpdatedAt = repo, moved.Number, s.now()
	return moved.Number
}

// Delete deletes issue n, as a repository admin can: it answers 410 from
// then on and is listed nowhere.
func (s *Server) Delete(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.issues[n-1].Deleted = true
}

func (s *Server) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Second) }

// middleware authenticates, logs, injects faults and sets the rate-limit
// headers GitHub sends on every answer.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Method+" "+r.URL.Path)
		fault := None
		if s.inject != nil {
			fault = s.inject(r)
		}
		if fault != None {
			s.faults[fault]++
		}
		reset := s.now().Add(s.cfg.RetryAfter)
		s.mu.Unlock()

		h := w.Header()
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("X-RateLimit-Limit", "5000")
		h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		h.Set("X-RateLimit-Remaining", "4999")
		if r.Header.Get("Authorization") != "Bearer "+s.cfg.Token {
			writeError(w, http.StatusUnauthorized, "Bad credentials", "https://docs.github.com/rest")
			return
		}
		retryAfter := strconv.Itoa(int(s.cfg.RetryAfter / time.Second))
		switch fault {
		case Fail500:
			writeError(w, http.StatusInternalServerError, "Server Error", "")
			return
		case SecondaryLimit:
			h.Set("Retry-After", retryAfter)
			writeError(w, http.StatusForbidden, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
				"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits")
			return
		case PrimaryLimit:
			h.Set("X-RateLimit-Remaining", "0")
			writeError(w, http.StatusForbidden, "API rate limit exceeded for user ID 1.",
				"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting")
			return
		case TooMany:
			h.Set("Retry-After", retryAfter)
			writeError(w, http.StatusTooManyRequests, "Too Many Requests", "")
			return
		case Fail502After, ResetAfter, HangAfter:
			// Do it for real, then lose the answer.
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			switch fault {
			case Fail502After:
				h.Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusBadGateway)
				_, _ = io.WriteString(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
			case ResetAfter:
				if hj, ok := w.(http.Hijacker); ok {
					if conn, _, err := hj.Hijack(); err == nil {
						_ = conn.Close()
						return
					}
				}
				panic(http.ErrAbortHandler) // cuts the connection where hijacking cannot
			case HangAfter:
				select {
				case <-r.Context().Done():
				case <-s.hang:
				}
			}
			return
		}
		next.ServeHTTP(w, r)
	})
}

// errorBody is GitHub's error JSON.
type errorBody struct {
	Message          string        `json:"message"`
	DocumentationURL string        `json:"documentation_url,omitempty"`
	Errors           []errorDetail `json:"errors,omitempty"`
}

type errorDetail struct {
	Resource string `json:"resource"`
	Field    string `json:"field"`
	Code     string `json:"code"`
	Value    string `json:"value,omitempty"`
}

func writeError(w http.ResponseWriter, code int, msg, doc string, details ...errorDetail) {
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(errorBody{Message: msg, DocumentationURL: doc, Errors: details})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// repoOnly answers 404 for any repository but the configured one, as GitHub
// does for repositories the token cannot see.
func (s *Server) repoOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.PathValue("owner"), s.cfg.Owner) || !strings.EqualFold(r.PathValue("repo"), s.cfg.Repo) {
			writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
			return
		}
		h(w, r)
	}
}

func (s *Server) user(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"login": s.cfg.Login, "id": 1, "type": "Bot"})
}

type labelJSON struct {
	Name        string `json:"name"`
	Color       string `json:"color,omitempty"`
	Description string `json:"description,omitempty"`
}

func (s *Server) getLabel(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	l, ok := s.labels[strings.ToLower(r.PathValue("name"))]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/issues/labels#get-a-label")
		return
	}
	writeJSON(w, http.StatusOK, labelJSON{l.Name, l.Color, l.Description})
}

func (s *Server) createLabel(w http.ResponseWriter, r *http.Request) {
	var in labelJSON
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Name == "" {
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed", "", errorDetail{"Label", "name", "missing_field", ""})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.labels[strings.ToLower(in.Name)]; ok {
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed", "", errorDetail{"Label", "name", "already_exists", in.Name})
		return
	}
	s.labels[strings.ToLower(in.Name)] = &Label{Name: in.Name, Color: in.Color, Description: in.Description}
	writeJSON(w, http.StatusCreated, in)
}

type userJSON struct {
	Login string `json:"login"`
}

type issueJSON struct {
	ID     int64  `json:"id"`
	Number int    `json:"number"`
	Title  string `json:"title"`
	Body   string `json:"body"`
	State  string `json:"state"`
	// StateReason is null while an issue was never closed.
	StateReason   *string     `json:"state_reason"`
	URL           string      `json:"url"`
	RepositoryURL string      `json:"repository_url"`
	HTMLURL       string      `json:"html_url"`
	Labels        []labelJSON `json:"labels"`
	Assignee      *userJSON   `json:"assignee"`
	Assignees     []userJSON  `json:"assignees"`
	User          userJSON    `json:"user"`
	CreatedAt     string      `json:"created_at"`
	UpdatedAt     string      `json:"updated_at"`
	ClosedAt      *string     `json:"closed_at"`
}

// IssueJSON renders issue is as the REST API and webhooks do.
func (s *Server) IssueJSON(is Issue) any { return s.issueJSON(&is) }

func (s *Server) issueJSON(is *Issue) issueJSON {
	repo := s.cfg.Owner + "/" + s.cfg.Repo
	if is.Repo != "" {
		repo = is.Repo
	}
	out := issueJSON{
		ID: int64(1000 + is.Number), Number: is.Number, Title: is.Title, Body: is.Body, State: is.State,
		URL:           fmt.Sprintf("%srepos/%s/issues/%d", s.URL, repo, is.Number),
		RepositoryURL: fmt.Sprintf("%srepos/%s", s.URL, repo),
		HTMLURL:       fmt.Sprintf("%s%s/issues/%d", s.URL, repo, is.Number),
		Labels:        []labelJSON{},
		Assignees:     []userJSON{},
		User:          userJSON{is.Creator},
		CreatedAt:     is.CreatedAt.Format(time.RFC3339), UpdatedAt: is.UpdatedAt.Format(time.RFC3339),
	}
	for _, l := range is.Labels {
		out.Labels = append(out.Labels, labelJSON{Name: l})
	}
	for _, a := range is.Assignees {
		out.Assignees = append(out.Assignees, userJSON{a})
	}
	if len(is.Assignees) > 0 {
		out.Assignee = &userJSON{is.Assignees[0]}
	}
	if !is.ClosedAt.IsZero() {
		c := is.ClosedAt.Format(time.RFC3339)
		out.ClosedAt = &c
	}
	if is.StateReason != "" {
		out.StateReason = &is.StateReason
	}
	return out
}

// IssueURL is the page of issue n.
func (s *Server) IssueURL(n int) string {
	return fmt.Sprintf("%s%s/%s/issues/%d", s.URL, s.cfg.Owner, s.cfg.Repo, n)
}

type issueRequest struct {
	Title       *string   `json:"title"`
	Body        *string   `json:"body"`
	State       *string   `json:"state"`
	StateReason *string   `json:"state_reason"`
	Labels      *[]string `json:"labels"`
	Assignee    *string   `json:"assignee"`
	Assignees   *[]string `json:"assignees"`
}

func (s *Server) assignable(logins []string) (string, bool) {
	if s.cfg.Assignable == nil {
		return "", true
	}
	for _, l := range logins {
		if !slices.ContainsFunc(s.cfg.Assignable, func(a string) bool { return strings.EqualFold(a, l) }) {
			return l, false
		}
	}
	return "", true
}

func (s *Server) createIssue(w http.ResponseWriter, r *http.Request) {
	var in issueRequest
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON", "")
		return
	}
	if in.Title == nil || *in.Title == "" {
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed", "", errorDetail{"Issue", "title", "missing_field", ""})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	is := &Issue{Number: len(s.issues) + 1, Title: *in.Title, State: "open", Creator: s.cfg.Login, CreatedAt: now, UpdatedAt: now}
	if in.Body != nil {
		is.Body = *in.Body
	}
	if in.Assignees != nil {
		is.Assignees = slices.Clone(*in.Assignees)
	} else if in.Assignee != nil {
		is.Assignees = []string{*in.Assignee}
	}
	if bad, ok := s.assignable(is.Assignees); !ok {
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed", "", errorDetail{"Issue", "assignees", "invalid", bad})
		return
	}
	if in.Labels != nil {
		for _, l := range *in.Labels {
			// GitHub creates missing labels on the fly, bare.
			if _, ok := s.labels[strings.ToLower(l)]; !ok {
				s.labels[strings.ToLower(l)] = &Label{Name: l, Color: "ededed", Auto: true}
			}
			is.Labels = append(is.Labels, l)
		}
	}
	s.issues = append(s.issues, is)
	writeJSON(w, http.StatusCreated, s.issueJSON(is))
}

func (s *Server) issueIn(w http.ResponseWriter, r *http.Request) (*Issue, bool) {
	n, err := strconv.Atoi(r.PathValue("number"))
	if err != nil || n < 1 || n > len(s.issues) {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/issues/issues#get-an-issue")
		return nil, false
	}
	return s.issues[n-1], true
}

// getIssue is GET /repos/{owner}/{repo}/issues/{number}: in the
// configured repository, 410 for a deleted issue and 301 to the new place
// of a transferred one, as GitHub answers; in a repository an issue was
// transferred to, that issue; 404 anywhere else.
func (s *Server) getIssue(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	repo := r.PathValue("owner") + "/" + r.PathValue("repo")
	if list, ok := s.others[strings.ToLower(repo)]; ok {
		n, err := strconv.Atoi(r.PathValue("number"))
		if err != nil || n < 1 || n > len(list) {
			writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/issues/issues#get-an-issue")
			return
		}
		writeJSON(w, http.StatusOK, s.issueJSON(list[n-1]))
		return
	}
	if !strings.EqualFold(repo, s.cfg.Owner+"/"+s.cfg.Repo) {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
		return
	}
	is, ok := s.issueIn(w, r)
	switch {
	case !ok:
	case is.Deleted:
		writeError(w, http.StatusGone, "This issue was deleted", "https://docs.github.com/rest/issues/issues#get-an-issue")
	case is.MovedTo != "":
		to := fmt.Sprintf("%srepos/%s/issues/%d", s.URL, is.MovedTo, is.MovedToN)
		w.Header().Set("Location", to)
		writeJSON(w, http.StatusMovedPermanently, map[string]string{
			"message": "Moved Permanently", "url": to, "documentation_url": "https://docs.github.com/rest/issues/issues#get-an-issue",
		})
	default:
		writeJSON(w, http.StatusOK, s.issueJSON(is))
	}
}

func (s *Server) editIssue(w http.ResponseWriter, r *http.Request) {
	var in issueRequest
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON", "")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	is, ok := s.issueIn(w, r)
	if !ok {
		return
	}
	if in.Title != nil {
		is.Title = *in.Title
	}
	if in.Body != nil {
		is.Body = *in.Body
	}
	if in.Assignees != nil {
		is.Assignees = slices.Clone(*in.Assignees)
	}
	is.UpdatedAt = s.now()
	if in.StateReason != nil {
		is.StateReason = *in.StateReason
	}
	if in.State != nil && *in.State != is.State {
		was := is.State
		is.State = *in.State
		s.stamp(is, was)
	}
	writeJSON(w, http.StatusOK, s.issueJSON(is))
}

// listIssues is GET /repos/{owner}/{repo}/issues with GitHub's filters
// (state, labels, creator, assignee, since) and order (sort, direction),
// paginated by page and per_page with a Link header.
func (s *Server) listIssues(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	var labels []string
	if v := q.Get("labels"); v != "" {
		labels = strings.Split(v, ",")
	}
	var since time.Time
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeError(w, http.StatusUnprocessableEntity, "Validation Failed", "", errorDetail{"Issue", "since", "invalid", v})
			return
		}
		since = t
	}
	page, perPage := atoiOr(q.Get("page"), 1), atoiOr(q.Get("per_page"), 30)
	perPage = min(max(perPage, 1), s.cfg.MaxPerPage)
	page = max(page, 1)

	s.mu.Lock()
	var match []*Issue
	for _, is := range s.issues {
		if state != "all" && is.State != state || is.Deleted || is.MovedTo != "" {
			continue
		}
		if c := q.Get("creator"); c != "" && !strings.EqualFold(c, is.Creator) {
			continue
		}
		if a := q.Get("assignee"); a != "" && !slices.ContainsFunc(is.Assignees, func(x string) bool { return strings.EqualFold(x, a) }) {
			continue
		}
		if !since.IsZero() && is.UpdatedAt.Before(since) {
			continue
		}
		if !hasLabels(is, labels) {
			continue
		}
		match = append(match, is)
	}
	key := func(is *Issue) time.Time { return is.CreatedAt }
	if q.Get("sort") == "updated" {
		key = func(is *Issue) time.Time { return is.UpdatedAt }
	}
	asc := q.Get("direction") == "asc"
	sort.SliceStable(match, func(i, j int) bool {
		a, b := key(match[i]), key(match[j])
		if a.Equal(b) {
			if asc {
				return match[i].Number < match[j].Number
			}
			return match[i].Number > match[j].Number
		}
		if asc {
			return a.Before(b)
		}
		return a.After(b)
	})
	last := max((len(match)+perPage-1)/perPage, 1)
	from := min((page-1)*perPage, len(match))
	to := min(from+perPage, len(match))
	out := make([]issueJSON, 0, to-from)
	for _, is := range match[from:to] {
		out = append(out, s.issueJSON(is))
	}
	s.mu.Unlock()

	if last > 1 {
		link := func(p int, rel string) string {
			u := *r.URL
			v := u.Query()
			v.Set("page", strconv.Itoa(p))
			v.Set("per_page", strconv.Itoa(perPage))
			u.RawQuery = v.Encode()
			return fmt.Sprintf(`<%s%s>; rel="%s"`, strings.TrimSuffix(s.URL, "/"), u.RequestURI(), rel)
		}
		var links []string
		if page > 1 {
			links = append(links, link(page-1, "prev"), link(1, "first"))
		}
		if page < last {
			links = append(links, link(page+1, "next"), link(last, "last"))
		}
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	writeJSON(w, http.StatusOK, out)
}

func hasLabels(is *Issue, want []string) bool {
	for _, l := range want {
		if !slices.ContainsFunc(is.Labels, func(x string) bool { return strings.EqualFold(x, l) }) {
			return false
		}
	}
	return true
}

func atoiOr(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return def
}

type contentJSON struct {
	Type     string `json:"type"`
	Encoding string `json:"encoding,omitempty"`
	Content  string `json:"content,omitempty"`
	Name     string `json:"name"`
	Path     string `json:"path"`
	SHA      string `json:"sha"`
	Size     int    `json:"size"`
	HTMLURL  string `json:"html_url"`
}

// contentOf is a file's JSON in the contents API: its content in base64
// up to 1 MB, past that (or when the fake did not keep it) none, with
// "encoding": "none", as GitHub answers the default media type.
func (s *Server) contentOf(path string, v FileVersion) contentJSON {
	name := path[strings.LastIndex(path, "/")+1:]
	c := contentJSON{Type: "file", Encoding: "none", Name: name, Path: path, SHA: v.SHA, Size: int(v.Size), HTMLURL: s.FileURL(path)}
	if v.Kept && v.Size <= maxInline {
		c.Encoding, c.Content = "base64", base64.StdEncoding.EncodeToString([]byte(v.Content))
	}
	return c
}

// FileURL is the page of the file at path in the default branch.
func (s *Server) FileURL(path string) string {
	return fmt.Sprintf("%s%s/%s/blob/main/%s", s.URL, s.cfg.Owner, s.cfg.Repo, path)
}

func (s *Server) getContents(w http.ResponseWriter, r *http.Request) {
	path := r.PathValue("path")
	s.mu.Lock()
	versions := s.files[path]
	s.mu.Unlock()
	if len(versions) == 0 {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/repos/contents#get-repository-content")
		return
	}
	writeJSON(w, http.StatusOK, s.contentOf(path, versions[len(versions)-1]))
}

// putContents creates a file, or updates it when given the sha of its
// current version: GitHub refuses an update without it (422) or with a
// stale one (409), so that no commit silently overwrites another.
func (s *Server) putContents(w http.ResponseWriter, r *http.Request) {
	path := r.PathValue("path")
	// The body is read as it comes, however long (GitHub takes files up
	// to 100 MB, 133 MB of base64): the content is decoded into a spool.
	sp := &spool{keep: s.cfg.KeepUpTo}
	in, err := decodePut(r.Body, sp)
	if errors.Is(err, errBadBase64) || (err == nil && (!in.sawContent || in.Message == "")) {
		sp.discard()
		writeError(w, http.StatusUnprocessableEntity, "Invalid request.\n\ncontent is not valid Base64, or message is missing.", "")
		return
	}
	if err != nil {
		sp.discard()
		writeError(w, http.StatusBadRequest, "Problems parsing JSON", "")
		return
	}
	sha, content, kept, err := sp.finish()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "Server Error", "")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	versions := s.files[path]
	code := http.StatusCreated
	if len(versions) > 0 {
		cur := versions[len(versions)-1].SHA
		switch {
		case in.SHA == "":
			writeError(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"sha\" wasn't supplied.", "https://docs.github.com/rest/repos/contents#create-or-update-file-contents")
			return
		case in.SHA != cur:
			writeError(w, http.StatusConflict, fmt.Sprintf("%s does not match %s", path, in.SHA), "https://docs.github.com/rest/repos/contents#create-or-update-file-contents")
			return
		}
		code = http.StatusOK
	}
	v := FileVersion{SHA: sha, Content: string(content), Message: in.Message, Size: sp.n, Kept: kept}
	s.files[path] = append(versions, v)
	commit := sha256.Sum256([]byte(path + strconv.Itoa(len(s.files[path])) + v.SHA))
	out := s.contentOf(path, v)
	// The PUT's answer describes the file without its content.
	out.Encoding, out.Content = "", ""
	writeJSON(w, code, map[string]any{
		"content": out,
		"commit":  map[string]any{"sha": hex.EncodeToString(commit[:20]), "message": in.Message},
	})
}

// Delivery is one webhook delivery.
type Delivery struct {
	ID      string // X-GitHub-Delivery
	Event   string // X-GitHub-Event
	Payload []byte
}

// IssueEvent renders an issues event for issue n as it is now, as GitHub
// would deliver it, with a new delivery ID.
func (s *Server) IssueEvent(action string, n int, sender string) Delivery {
	s.mu.Lock()
	is := s.issueJSON(s.issues[n-1])
	s.mu.Unlock()
	payload, err := json.Marshal(map[string]any{
		"action": action,
		"issue":  is,
		"repository": map[string]any{
			"full_name": s.cfg.Owner + "/" + s.cfg.Repo, "name": s.cfg.Repo, "owner": userJSON{s.cfg.Owner},
		},
		"sender": userJSON{sender},
	})
	if err != nil {
		panic(err)
	}
	return Delivery{ID: newDeliveryID(), Event: "issues", Payload: payload}
}

// IssueEventIn is IssueEvent for issue n of repository repo, one an issue
// was transferred to: what an organisation's webhook delivers.
func (s *Server) IssueEventIn(repo, action string, n int, sender string) Delivery {
	s.mu.Lock()
	is := s.issueJSON(s.others[strings.ToLower(repo)][n-1])
	s.mu.Unlock()
	owner, name, _ := strings.Cut(repo, "/")
	payload, err := json.Marshal(map[string]any{
		"action": action, "issue": is,
		"repository": map[string]any{"full_name": repo, "name": name, "owner": userJSON{owner}},
		"sender":     userJSON{sender},
	})
	if err != nil {
		panic(err)
	}
	return Delivery{ID: newDeliveryID(), Event: "issues", Payload: payload}
}

// TransferEvent renders the transferred issues event GitHub delivers to
// the configured repository's webhook after Transfer(n, ...): the issue as
// it was, and under changes the issue at its new place (new_issue) and
// its repository (new_repository).
func (s *Server) TransferEvent(n int, sender string) Delivery {
	s.mu.Lock()
	old := s.issues[n-1]
	moved := s.others[strings.ToLower(old.MovedTo)][old.MovedToN-1]
	was := copyIssue(old)
	was.MovedTo, was.MovedToN = "", 0
	oldJSON, newJSON := s.issueJSON(&was), s.issueJSON(moved)
	s.mu.Unlock()
	owner, name, _ := strings.Cut(moved.Repo, "/")
	payload, err := json.Marshal(map[string]any{
		"action": "transferred",
		"changes": map[string]any{
			"new_issue":      newJSON,
			"new_repository": map[string]any{"full_name": moved.Repo, "name": name, "owner": userJSON{owner}},
		},
		"issue": oldJSON,
		"repository": map[string]any{
			"full_name": s.cfg.Owner + "/" + s.cfg.Repo, "name": s.cfg.Repo, "owner": userJSON{s.cfg.Owner},
		},
		"sender": userJSON{sender},
	})
	if err != nil {
		panic(err)
	}
	return Delivery{ID: newDeliveryID(), Event: "issues", Payload: payload}
}

// Ping is the event GitHub sends when a webhook is created.
func Ping() Delivery {
	return Delivery{ID: newDeliveryID(), Event: "ping", Payload: []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`)}
}

func newDeliveryID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// Sign returns the X-Hub-Signature-256 of payload with secret.
func Sign(secret, payload []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(payload)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Send posts d to url signed with secret (unsigned when secret is nil) and
// returns the status.
func Send(ctx context.Context, url string, secret []byte, d Delivery) (int, error) {
	return SendSigned(ctx, url, d, signature(secret, d.Payload))
}

func signature(secret, payload []byte) string {
	if secret == nil {
		return ""
	}
	return Sign(secret, payload)
}

// SendSigned posts d to url with the given X-Hub-Signature-256 (none when
// empty), for forged deliveries.
func SendSigned(ctx context.Context, target string, d Delivery, sig string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(d.Payload))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/test")
	req.Header.Set("X-GitHub-Event", d.Event)
	req.Header.Set("X-GitHub-Delivery", d.ID)
	if sig != "" {
		req.Header.Set("X-Hub-Signature-256", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}
