// Package github is debrief's GitHub adapter: it files countermeasures as
// issues (workflows.Tracker) and commits post-mortems (workflows.Publisher)
// through go-github, and serves the issues webhook that closes the loop.
//
// It is a thin translator. What must survive a crash lives in debrief's
// store, not here: retries are the outbox's, and an issue is found again by
// the marker in its body (workflows.IssueMarker), never by anything this
// process remembers.
package github

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

var (
	_ workflows.Tracker     = (*Client)(nil)
	_ workflows.IssueGetter = (*Client)(nil)
	_ workflows.Publisher   = (*Client)(nil)
	_ workflows.Linker      = (*Client)(nil)
)

// Config configures a Client.
type Config struct {
	Token string // GITHUB_TOKEN; sent only to APIURL, never logged
	Repo  string // GITHUB_REPO, owner/name
	// APIURL is the REST base (GITHUB_API_URL); https://api.github.com/
	// when empty. GitHub Enterprise: https://HOST/api/v3/.
	APIURL string
	// HTTPClient makes the requests; one with Timeout when nil.
	HTTPClient *http.Client
	// Timeout bounds each request when HTTPClient is nil (default 30 s):
	// a request that hangs is a failure whose outcome is unknown, and the
	// outbox retries it.
	Timeout time.Duration
	// Now is the clock rate-limit waits are measured on; time.Now when
	// nil.
	Now func() time.Time
	Log *slog.Logger
	// MaxFile is the largest file Publish writes, in bytes
	// (DefaultMaxFile when zero): a longer document is published cut at
	// a line, with a note saying where the whole is.
	MaxFile int64
}

// DefaultMaxFile is the largest file GitHub takes: it refuses files over
// 100 MB (https://docs.github.com/repositories/working-with-files/managing-large-files/about-large-files-on-github).
const DefaultMaxFile = 100 * 1000 * 1000

// Client talks to one repository. It is safe for concurrent use; writes
// are serialised, as GitHub asks of integrations to stay clear of its
// secondary rate limits.
type Client struct {
	owner, repo string
	token       string
	base        *url.URL
	web         string // https://github.com, for links to files
	http        *http.Client
	now         func() time.Time
	log         *slog.Logger
	maxFile     int64

	// mu serialises writes, and guards the label cache. The caches only
	// save requests; losing them changes nothing.
	mu     sync.Mutex
	labels map[string]bool // labels known to exist

	// loginMu guards login alone, so that the webhook asking who the
	// token is never waits behind a write in flight.
	loginMu sync.Mutex
	login   string // the token's user
}

// New returns a Client for cfg.Repo. It makes no request.
func New(cfg Config) (*Client, error) {
	owner, repo, ok := strings.Cut(cfg.Repo, "/")
	if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
		return nil, fmt.Errorf("github: repository %q: want owner/name", cfg.Repo)
	}
	if cfg.Token == "" {
		return nil, errors.New("github: a token is required")
	}
	api := cfg.APIURL
	if api == "" {
		api = "https://api.github.com/"
	}
	base, err := url.Parse(api)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("github: API URL %q: not an http(s) URL", api)
	}
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	hc := cfg.HTTPClient
	if hc == nil {
		timeout := cfg.Timeout
		if timeout <= 0 {
			timeout = 30 * time.Second
		}
		hc = &http.Client{Timeout: timeout}
	}
	c := &Client{
		owner: owner, repo: repo, token: cfg.Token, base: base, http: hc, now: cfg.Now, log: cfg.Log,
		labels: map[string]bool{}, maxFile: cfg.MaxFile,
	}
	if c.maxFile <= 0 {
		c.maxFile = DefaultMaxFile
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	// The web host serving the pages: github.com for api.github.com, the
	// same host for GitHub Enterprise (HOST/api/v3/) and the fake.
	c.web = base.Scheme + "://" + strings.TrimPrefix(base.Host, "api.")
	return c, nil
}

// Repo returns owner/name.
func (c *Client) Repo() string { return c.owner + "/" + c.repo }

// api returns a fresh go-github client for one operation. Fresh on purpose:
// go-github remembers rate limits in memory and refuses requests by the
// wall clock until they reset, but debrief's waits live in the outbox,
// durable and on the injected clock. One place decides when to try again.
func (c *Client) api() *gh.Client {
	g := gh.NewClient(c.http).WithAuthToken(c.token)
	g.BaseURL = c.base
	g.UserAgent = "debrief"
	return g
}

// classify maps a go-github error to the outbox's vocabulary: rate limits
// become *workflows.RetryAfterError with GitHub's wait, refusals that a
// retry cannot fix a *workflows.PermanentError, and everything else (a 5xx,
// a timeout, a cut connection: outcomes unknown) a plain error, retried
// with backoff. what names the operation.
func (c *Client) classify(what string, err error) error {
	if err == nil {
		return nil
	}
	err = fmt.Errorf("github: %s: %w", what, err)
	var rl *gh.RateLimitError
	if errors.As(err, &rl) {
		return &workflows.RetryAfterError{After: c.until(rl.Rate.Reset.Time), Err: err}
	}
	var abuse *gh.AbuseRateLimitError
	if errors.As(err, &abuse) {
		wait := time.Minute // GitHub: wait at least a minute when it does not say
		if abuse.RetryAfter != nil && *abuse.RetryAfter > 0 {
			wait = *abuse.RetryAfter
		}
		return &workflows.RetryAfterError{After: wait, Err: err}
	}
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		h := er.Response.Header
		switch code := er.Response.StatusCode; {
		case code == http.StatusTooManyRequests || (code == http.StatusForbidden && h.Get("Retry-After") != ""):
			if s, perr := strconv.Atoi(h.Get("Retry-After")); perr == nil && s >= 0 {
				return &workflows.RetryAfterError{After: max(time.Duration(s)*time.Second, time.Second), Err: err}
			}
			if reset, perr := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); perr == nil {
				return &workflows.RetryAfterError{After: c.until(time.Unix(reset, 0)), Err: err}
			}
			return &workflows.RetryAfterError{After: time.Minute, Err: err}
		case code == http.StatusUnauthorized:
			return &workflows.PermanentError{Err: fmt.Errorf("%w (is GITHUB_TOKEN valid?)", err)}
		case code == http.StatusNotFound:
			return &workflows.PermanentError{Err: fmt.Errorf("%w (does GITHUB_REPO=%s exist, and may the token write to it?)", err, c.Repo())}
		case code == http.StatusForbidden, code == http.StatusUnprocessableEntity, code == http.StatusGone:
			return &workflows.PermanentError{Err: err}
		}
	}
	return err
}

// until is how long from now until t, at least a second: the reset of a
// primary rate limit is a Unix time, and a clock a little ahead of GitHub's
// must not retry in a tight loop.
func (c *Client) until(t time.Time) time.Duration {
	if t.IsZero() {
		return time.Minute
	}
	return max(t.Sub(c.now()), time.Second)
}

// FileIssue creates the countermeasure issue is, creating its labels when
// missing, and returns it. With retry set it first looks for the issue
// with key's marker, which an earlier attempt may have created before
// failing, and returns that one instead. Errors are classified as described
// at workflows.Tracker.
func (c *Client) FileIssue(ctx context.Context, key string, is workflows.Issue, retry bool) (workflows.IssueState, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !strings.Contains(is.Body, workflows.IssueMarker(key)) {
		return workflows.IssueState{}, &workflows.PermanentError{Err: fmt.Errorf("github: issue %s: the body lacks its marker", key)}
	}
	if retry {
		found, ok, err := c.findMarker(ctx, key)
		if err != nil {
			return workflows.IssueState{}, err
		}
		if ok {
			c.log.InfoContext(ctx, "found the issue an earlier attempt created", "platform", "github", "key", key, "issue", found.Number)
			return found, nil
		}
	}
	if err := c.ensureLabels(ctx, is.Labels); err != nil {
		return workflows.IssueState{}, err
	}
	req := &gh.IssueRequest{Title: &is.Title, Body: &is.Body, Labels: &is.Labels}
	if is.Assignee != "" {
		req.Assignees = &[]string{is.Assignee}
	}
	issue, _, err := c.api().Issues.Create(ctx, c.owner, c.repo, req)
	if is.Assignee != "" && invalidAssignee(err) {
		// A mapped login that cannot be assigned here (not a
		// collaborator, a typo) must not keep the countermeasure from
		// being tracked: GitHub created nothing, so file it unassigned;
		// the body still names the owner.
		c.log.WarnContext(ctx, "assignee refused; filing unassigned", "platform", "github", "key", key, "login", is.Assignee)
		req.Assignees = nil
		issue, _, err = c.api().Issues.Create(ctx, c.owner, c.repo, req)
	}
	if err != nil {
		return workflows.IssueState{}, c.classify("create issue "+key, err)
	}
	st := stateOf(issue, c.Repo())
	st.ByUs = true // created just now with the token
	return st, nil
}

// invalidAssignee reports whether err is GitHub's 422 about an assignee.
func invalidAssignee(err error) bool {
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil || er.Response.StatusCode != http.StatusUnprocessableEntity {
		return false
	}
	for _, e := range er.Errors {
		if e.Field == "assignees" || e.Field == "assignee" {
			return true
		}
	}
	return strings.Contains(strings.ToLower(er.Message), "assignee")
}

// findMarker looks for the issue carrying key's marker among the
// countermeasure issues the token's user created, newest first, page by
// page (the Link header). The list API is used rather than search, which
// indexes new issues with a delay: the issue looked for may be seconds old.
func (c *Client) findMarker(ctx context.Context, key string) (workflows.IssueState, bool, error) {
	me, err := c.me(ctx)
	if err != nil {
		return workflows.IssueState{}, false, err
	}
	marker := workflows.IssueMarker(key)
	opts := &gh.IssueListByRepoOptions{
		State: "all", Creator: me, Labels: []string{bot.IssueLabel}, Sort: "created", Direction: "desc",
		ListOptions: gh.ListOptions{PerPage: 100},
	}
	for {
		issues, resp, err := c.api().Issues.ListByRepo(ctx, c.owner, c.repo, opts)
		if err != nil {
			return workflows.IssueState{}, false, c.classify("look for issue "+key, err)
		}
		for _, is := range issues {
			if is.IsPullRequest() {
				continue
			}
			if strings.Contains(is.GetBody(), marker) {
				st := stateOf(is, c.Repo())
				st.ByUs = true // listed with Creator: me
				return st, true, nil
			}
		}
		if resp.NextPage == 0 {
			return workflows.IssueState{}, false, nil
		}
		opts.Page = resp.NextPage
	}
}

// me returns the token's login, asking once.
func (c *Client) me(ctx context.Context) (string, error) {
	c.loginMu.Lock()
	login := c.login
	c.loginMu.Unlock()
	if login != "" {
		return login, nil
	}
	// Asked without the lock held: two first callers may both ask, which
	// costs a request; holding a lock over a call would make every caller
	// wait on a hanging GitHub.
	u, _, err := c.api().Users.Get(ctx, "")
	if err != nil {
		return "", c.classify("who am I", err)
	}
	c.loginMu.Lock()
	c.login = u.GetLogin()
	c.loginMu.Unlock()
	return u.GetLogin(), nil
}

// Login returns the login of the token's user (asked once, then cached):
// the webhook trusts the marker of an issue not yet tied to its
// countermeasure only when this user created it (workflows.IssueState.ByUs).
func (c *Client) Login(ctx context.Context) (string, error) { return c.me(ctx) }

// labelColors are the colours of the labels debrief creates.
func labelColor(name string) (color, description string) {
	switch {
	case name == bot.IssueLabel:
		return "0e8a16", "An action agreed in a blameless post-mortem (debrief)"
	case strings.HasPrefix(name, "SEV"):
		return "b60205", "Severity of the incident (debrief)"
	default:
		return "c5def5", "The incident this came from (debrief)"
	}
}

// ensureLabels creates the labels that do not exist yet. GitHub would create
// missing labels on the fly too, but without a colour or a description, and
// only for tokens with push access.
func (c *Client) ensureLabels(ctx context.Context, names []string) error {
	for _, name := range names {
		if c.labels[name] {
			continue
		}
		_, _, err := c.api().Issues.GetLabel(ctx, c.owner, c.repo, name)
		if isStatus(err, http.StatusNotFound) {
			color, desc := labelColor(name)
			_, _, err = c.api().Issues.CreateLabel(ctx, c.owner, c.repo, &gh.Label{Name: &name, Color: &color, Description: &desc})
			if isStatus(err, http.StatusUnprocessableEntity) {
				err = nil // created meanwhile: it exists, which is all we need
			}
		}
		if err != nil {
			return c.classify("label "+name, err)
		}
		c.labels[name] = true
	}
	return nil
}

func isStatus(err error, code int) bool {
	var er *gh.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == code
}

// UpdatedIssues lists the repository's countermeasure issues, open and
// closed, updated at or after since, least recently updated first, following
// the Link header page by page.
func (c *Client) UpdatedIssues(ctx context.Context, since time.Time) ([]workflows.IssueState, error) {
	me, err := c.me(ctx)
	if err != nil {
		return nil, err
	}
	opts := &gh.IssueListByRepoOptions{
		State: "all", Labels: []string{bot.IssueLabel}, Sort: "updated", Direction: "asc", Since: since,
		ListOptions: gh.ListOptions{PerPage: 100},
	}
	var out []workflows.IssueState
	for {
		issues, resp, err := c.api().Issues.ListByRepo(ctx, c.owner, c.repo, opts)
		if err != nil {
			return nil, c.classify("list countermeasure issues", err)
		}
		for _, is := range issues {
			if !is.IsPullRequest() {
				st := stateOf(is, c.Repo())
				st.ByUs = strings.EqualFold(is.GetUser().GetLogin(), me)
				out = append(out, st)
			}
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// stateOf translates an issue; home is the tracker's repository
// ("owner/name"), whose issues have no IssueState.Repo.
func stateOf(is *gh.Issue, home string) workflows.IssueState {
	st := workflows.IssueState{
		Number: is.GetNumber(), URL: is.GetHTMLURL(), Body: is.GetBody(),
		Closed: is.GetState() == "closed", UpdatedAt: is.GetUpdatedAt().Time,
		NotPlanned: is.GetState() == "closed" && is.GetStateReason() == "not_planned",
		Repo:       otherRepo(repoOf(is.GetRepositoryURL()), home),
	}
	for _, a := range is.Assignees {
		st.Assignees = append(st.Assignees, a.GetLogin())
	}
	if len(st.Assignees) == 0 && is.Assignee != nil {
		st.Assignees = []string{is.Assignee.GetLogin()}
	}
	return st
}

// repoOf returns "owner/name" of an issue's repository_url
// (https://api.github.com/repos/owner/name), "" when it is not one.
func repoOf(apiURL string) string {
	u, err := url.Parse(apiURL)
	if err != nil {
		return ""
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) < 3 || parts[len(parts)-3] != "repos" {
		return ""
	}
	return parts[len(parts)-2] + "/" + parts[len(parts)-1]
}

// otherRepo is repo, or "" when it is home (or unknown): IssueState.Repo
// names only repositories other than the tracker's.
func otherRepo(repo, home string) string {
	if repo == "" || strings.EqualFold(repo, home) {
		return ""
	}
	return repo
}

// Issue reads one countermeasure issue, ref (in GITHUB_REPO when ref.Repo
// is empty), for the reconcile (workflows.IssueGetter). GitHub answers a
// transferred issue with 301 to its new place, which the HTTP client
// follows: the state returned is then the issue there, with MovedFrom set
// to ref. A deleted issue is 410, or 404 where the token cannot see where
// it went: Gone. Other errors are classified as for the Tracker.
func (c *Client) Issue(ctx context.Context, ref workflows.IssueRef) (workflows.IssueState, error) {
	owner, repo := c.owner, c.repo
	if ref.Repo != "" {
		o, r, ok := strings.Cut(ref.Repo, "/")
		if !ok {
			return workflows.IssueState{}, &workflows.PermanentError{Err: fmt.Errorf("github: issue %s#%d: not a repository", ref.Repo, ref.Number)}
		}
		owner, repo = o, r
	}
	is, _, err := c.api().Issues.Get(ctx, owner, repo, ref.Number)
	if isStatus(err, http.StatusGone) || isStatus(err, http.StatusNotFound) {
		return workflows.IssueState{Number: ref.Number, Repo: ref.Repo, Gone: true}, nil
	}
	if err != nil {
		return workflows.IssueState{}, c.classify(fmt.Sprintf("read issue %s/%s#%d", owner, repo, ref.Number), err)
	}
	st := stateOf(is, c.Repo())
	if st.Repo == "" && is.GetRepositoryURL() == "" {
		st.Repo = ref.Repo // an answer without repository_url: where it was asked
	}
	if st.Number != ref.Number || !strings.EqualFold(st.Repo, ref.Repo) {
		st.MovedFrom = ref
	}
	me, err := c.me(ctx)
	if err == nil {
		st.ByUs = strings.EqualFold(is.GetUser().GetLogin(), me)
	}
	return st, nil
}

// Publish commits doc to path in the repository's default branch: it
// reads the file's current blob SHA and updates it, or creates the file
// when there is none, so every export is a commit and the history is kept.
// A file whose SHA is already doc's (doc.BlobSHA: a retried publish whose
// first attempt committed) is left alone, without an empty commit and
// without downloading it: the read is for its metadata (GitHub sends a
// file's content along only up to 1 MB). It returns the file's page.
func (c *Client) Publish(ctx context.Context, key, p string, doc *workflows.Document, message string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	doc, err := c.fit(p, doc)
	if err != nil {
		return "", err
	}
	sha, err := doc.BlobSHA()
	if err != nil {
		return "", fmt.Errorf("github: write %s: %w", p, err)
	}
	var cur string
	file, _, _, err := c.api().Repositories.GetContents(ctx, c.owner, c.repo, p, nil)
	switch {
	case isStatus(err, http.StatusNotFound):
		// A new file (or no repository: the write below says which).
	case err != nil:
		return "", c.classify("read "+p, err)
	case file == nil:
		return "", &workflows.PermanentError{Err: fmt.Errorf("github: %s is a directory", p)}
	case file.GetSHA() == sha:
		return file.GetHTMLURL(), nil // nothing new to commit
	default:
		cur = file.GetSHA()
	}
	url, err := c.putContents(ctx, p, doc, message, cur)
	if isStatus(err, http.StatusConflict) || (cur == "" && isStatus(err, http.StatusUnprocessableEntity)) {
		// Someone committed the file between the read and the write:
		// read it again on the next attempt.
		return "", fmt.Errorf("github: write %s: changed meanwhile: %w", p, err)
	}
	if err != nil {
		return "", c.classify("write "+p, err)
	}
	return url, nil
}

// fit returns doc, or, when it is longer than GitHub takes (MaxFile), its
// start cut at a line followed by a note that says how much of it this
// is and where the whole is (doc.Whole): GitHub refuses a longer file
// with a 422, for good, and a write-up is still worth its first 100 MB.
// One whose first line alone is too long cannot be published.
func (c *Client) fit(p string, doc *workflows.Document) (*workflows.Document, error) {
	fit, _, err := doc.Fit(c.maxFile, func(n int64) string {
		s := fmt.Sprintf("\n\n---\n\n*Cut here by GitHub's file size limit: the first %d of %d bytes", n, doc.Size())
		if doc.Whole != "" {
			s += "; the whole: " + doc.Whole
		}
		return s + ".*\n"
	})
	if err != nil {
		return nil, fmt.Errorf("github: write %s: %w", p, err)
	}
	if fit == nil {
		return nil, &workflows.PermanentError{Err: fmt.Errorf("github: %s: its first line alone is over GitHub's limit of %d bytes", p, c.maxFile)}
	}
	return fit, nil
}

// putContents is the contents API's PUT
// (https://docs.github.com/rest/repos/contents#create-or-update-file-contents)
// with doc streamed: the body is JSON whose content is doc in base64, so
// it is written as it is sent, the JSON's head, doc encoded a block at a
// time, and its tail, with its length known up front. go-github's
// UpdateFile would marshal the whole (the base64 of a 91 MB write-up is
// 121 MB) before sending a byte. The request goes through go-github
// (NewRequest, Do) for the same authentication, headers and errors
// (classify). sha is the file's current blob SHA, empty for a new file.
// It returns the file's page.
func (c *Client) putContents(ctx context.Context, p string, doc *workflows.Document, message, sha string) (string, error) {
	head, err := json.Marshal(message)
	if err != nil {
		return "", fmt.Errorf("github: write %s: %w", p, err)
	}
	top := `{"message":` + string(head) + `,"content":"`
	tail := `"}`
	if sha != "" {
		tail = `","sha":"` + sha + `"}`
	}
	body := func() io.ReadCloser {
		return io.NopCloser(io.MultiReader(strings.NewReader(top), &base64Reader{src: doc.Reader()}, strings.NewReader(tail)))
	}
	g := c.api()
	req, err := g.NewRequest(http.MethodPut, fmt.Sprintf("repos/%v/%v/contents/%v", c.owner, c.repo, p), nil)
	if err != nil {
		return "", fmt.Errorf("github: write %s: %w", p, err)
	}
	req.Body, req.GetBody = body(), func() (io.ReadCloser, error) { return body(), nil }
	req.ContentLength = int64(len(top)) + int64(base64.StdEncoding.EncodedLen(int(doc.Size()))) + int64(len(tail))
	req.Header.Set("Content-Type", "application/json")
	var res gh.RepositoryContentResponse
	if _, err := g.Do(ctx, req, &res); err != nil {
		return "", err
	}
	return res.Content.GetHTMLURL(), nil
}

// base64Reader reads src encoded in standard base64 (padded), a block at
// a time: what JSON's content string holds.
type base64Reader struct {
	src io.Reader
	in  [3 * 1024]byte
	out [4 * 1024]byte
	buf []byte // encoded, not read yet
	eof bool
}

func (r *base64Reader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.eof {
			return 0, io.EOF
		}
		// A whole block, or what is left of src: padding only at its end.
		n, err := io.ReadFull(r.src, r.in[:])
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			r.eof = true
		case err != nil:
			return 0, err
		}
		base64.StdEncoding.Encode(r.out[:], r.in[:n])
		r.buf = r.out[:base64.StdEncoding.EncodedLen(n)]
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// FileURL returns the page of the file at path in the default branch.
func (c *Client) FileURL(p string) string {
	return fmt.Sprintf("%s/%s/%s/blob/HEAD/%s", c.web, c.owner, c.repo, strings.TrimPrefix(path.Clean("/"+p), "/"))
}
