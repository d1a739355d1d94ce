package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows"
)

// fixture is a small archive: a SEV1 database incident with a long
// timeline, a drill, and a closed SEV3.
func fixture(t testing.TB) (*archive, *bot.Incident) {
	a := newArchive(t)
	db := a.declare("Database primary failover stuck", bot.SEV1, bot.KindReal, "db")
	a.say(db.ID, bot.EventMessage, "replication lag is 40s on the replica", t0.Add(70*time.Minute))
	a.say(db.ID, bot.EventMessage, "<script>alert(1)</script><img src=x onerror=alert(2)>", t0.Add(71*time.Minute))
	a.say(db.ID, bot.EventKey, "failover started by hand", t0.Add(72*time.Minute))
	a.say(db.ID, bot.EventEdit, "replication lag is 45s", t0.Add(73*time.Minute))
	a.say(db.ID, bot.EventDelete, "", t0.Add(74*time.Minute))
	db.Status, db.MitigatedAt, db.ResolvedAt = bot.StatusResolved, t0.Add(80*time.Minute), t0.Add(90*time.Minute)
	db.Summary = "The **failover** stalled. <script>alert(3)</script>"
	db.Impact = "Checkout was down for 30 minutes."
	db.Countermeasures = []bot.Countermeasure{{N: 1, Text: "Alert on replication lag", Owner: grace, Due: bot.Date{Year: 2025, Month: 4, Day: 1}, State: bot.CMFiled, Tracker: "https://github.com/acme/ops/issues/7", Issue: 7}}
	a.put(db)
	dr := a.declare("Game day: database failover", bot.SEV3, bot.KindDrill, "db")
	a.say(dr.ID, bot.EventMessage, "injecting the fault now", t0.Add(3*time.Hour))
	cl := a.declare("CDN certificate expired", bot.SEV3, bot.KindReal, "cdn")
	cl.Status, cl.ResolvedAt, cl.ClosedAt = bot.StatusClosed, t0.Add(5*time.Hour), t0.Add(48*time.Hour)
	cl.Summary = "A cert <b>expired</b> & nobody knew"
	a.put(cl)
	a.say(cl.ID, bot.EventLifecycle, "closed", t0.Add(48*time.Hour))
	a.index()
	return a, db
}

func TestList(t *testing.T) {
	a, _ := fixture(t)
	code, body, hdr := a.get("/")
	if code != 200 {
		t.Fatalf("GET / = %d", code)
	}
	mustContain(t, "GET /", body, "INC-1", "INC-2", "INC-3", "Database primary failover stuck", "SEV1", "50m")
	if i, j := strings.Index(body, "INC-3"), strings.Index(body, "INC-1"); i > j {
		t.Errorf("GET / lists INC-1 before INC-3: want newest first")
	}
	if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
		t.Errorf("CSP = %q, want no script at all", csp)
	}
	if hdr.Get("X-Frame-Options") != "DENY" || hdr.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("security headers missing: %v", hdr)
	}
	for _, tc := range []struct {
		query      string
		want, lack []string
	}{
		{"sev=1", []string{"INC-1"}, []string{"INC-2", "INC-3"}},
		{"kind=drill", []string{"INC-2"}, []string{"INC-1", "INC-3"}},
		{"status=closed", []string{"INC-3"}, []string{"INC-1", "INC-2"}},
		{"tag=db", []string{"INC-1", "INC-2"}, []string{"INC-3"}},
		{"from=2025-03-14&to=2025-03-14", []string{"INC-1", "INC-3"}, nil},
		{"from=2025-03-15", nil, []string{"INC-1", "INC-2", "INC-3"}},
	} {
		code, body, _ := a.get("/?" + tc.query)
		if code != 200 {
			t.Errorf("GET /?%s = %d", tc.query, code)
		}
		mustContain(t, "GET /?"+tc.query, body, tc.want...)
		mustLack(t, "GET /?"+tc.query, body, fmtIDs(tc.lack)...)
	}
}

// fmtIDs turns IDs into the list's link text, so that INC-1 does not
// match INC-10.
func fmtIDs(ids []string) []string {
	var out []string
	for _, id := range ids {
		out = append(out, ">"+id+"<")
	}
	return out
}

func TestBadInput(t *testing.T) {
	a, _ := fixture(t)
	for _, tc := range []struct {
		path string
		code int
		want string
	}{
		{"/incidents/INC-99", 404, "No incident INC-99."},
		{"/incidents/nonsense", 404, "No incident nonsense."},
		{"/incidents/INC-1?page=0", 400, "page must be a number"},
		{"/incidents/INC-1?page=x", 400, "page must be a number"},
		{"/incidents/INC-1?page=9", 404, "There is no page 9"},
		{"/incidents/INC-1?seq=abc", 400, "seq must be a number"},
		{"/?page=7", 404, "There is no page 7"},
		{"/?page=-1", 400, "page must be a number"},
		{"/?sev=9", 400, "choose 1 to 4"},
		{"/?from=yesterday", 400, "dates are YYYY-MM-DD"},
		{"/?status=burning", 400, "is not a status"},
		{"/search?q=%22unclosed", 400, "quoted phrase is not closed"},
		{"/search?q=sev:7", 400, "the severity is 1 to 4"},
		{"/search?q=after:2025-13-01", 400, "dates are YYYY-MM-DD"},
		{"/search?q=" + strings.Repeat("a", 600), 413, "at most 512"},
		{"/search?q=lag&page=99", 404, "There is no page 99"},
		{"/zone?tz=Mars/Olympus&back=/", 400, "Unknown time zone"},
	} {
		code, body, _ := a.get(tc.path)
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("GET %s = %d, want %d with %q; body:\n%.300s", tc.path, code, tc.code, tc.want, body)
		}
	}
	// A zone change never sends the reader off the site.
	_, _, hdr := a.get("/zone?tz=Europe/Paris&back=//evil.example/")
	if loc := hdr.Get("Location"); loc != "/" {
		t.Errorf("zone redirect to %q, want /", loc)
	}
}

func TestSearch(t *testing.T) {
	a, db := fixture(t)
	code, body, _ := a.get("/search?q=replication")
	if code != 200 {
		t.Fatalf("search = %d", code)
	}
	mustContain(t, "search replication", body, "<mark>replication</mark>", "/incidents/INC-1?seq=2#e-2")

	for _, tc := range []struct {
		q          string
		want, lack []string
	}{
		{`"replication lag is 40s"`, []string{"seq=2#"}, []string{"seq=5#"}},
		{`failover kind:drill`, []string{"INC-2"}, []string{"INC-1 "}},
		{`failover sev:1`, []string{"INC-1"}, []string{"INC-2 "}},
		{`failover tag:db`, []string{"INC-1", "INC-2"}, nil},
		{`certificate tag:db`, nil, []string{"INC-3"}},
		{`fault before:2025-03-14`, nil, []string{"INC-2"}},
		{`fault after:2025-03-14`, []string{"INC-2"}, nil},
		{`lag`, []string{"Alert on replication <mark>lag</mark>"}, nil},
	} {
		code, body, _ := a.get("/search?q=" + urlq(tc.q))
		if code != 200 {
			t.Errorf("search %s = %d", tc.q, code)
		}
		mustContain(t, "search "+tc.q, body, tc.want...)
		mustLack(t, "search "+tc.q, body, tc.lack...)
	}

	// What a user typed is text in the snippets too.
	_, body, _ = a.get("/search?q=script")
	mustContain(t, "search script", body, "&lt;<mark>script</mark>&gt;")
	mustLack(t, "search script", body, "<script>", "<img src=x")

	// A message said after the last index pass is found after the next.
	a.say(db.ID, bot.EventMessage, "zebra crossing", t0.Add(100*time.Minute))
	if _, body, _ := a.get("/search?q=zebra"); strings.Contains(body, "<mark>zebra") {
		t.Errorf("zebra found before indexing")
	}
	a.index()
	if _, body, _ := a.get("/search?q=zebra"); !strings.Contains(body, "<mark>zebra</mark>") {
		t.Errorf("zebra not found after indexing")
	}
}

// TestSearchUnsorted: a query matching sortLimit entries or more lists
// them unsorted, page after page, without a page count; one matching
// fewer is counted and sorted newest first. Either way every hit matches
// and is highlighted.
func TestSearchUnsorted(t *testing.T) {
	a := newArchive(t)
	a.idx.sortLimit = 10
	inc := a.declare("pineapple outage", bot.SEV2, bot.KindReal)
	for i := range 45 {
		a.say(inc.ID, bot.EventMessage, fmt.Sprintf("mango %d is ripe", i), t0.Add(time.Duration(i+2)*time.Minute))
	}
	for i := range 3 {
		a.say(inc.ID, bot.EventMessage, fmt.Sprintf("papaya %d papaya", i), t0.Add(time.Duration(i+50)*time.Minute))
	}
	a.say(inc.ID, bot.EventMessage, "a papaya fell", t0.Add(60*time.Minute))
	a.index()

	seen := map[string]bool{}
	for n := 1; n <= 3; n++ {
		code, body, _ := a.get(fmt.Sprintf("/search?q=mango&page=%d", n))
		if code != 200 {
			t.Fatalf("page %d = %d", n, code)
		}
		mustContain(t, "mango unsorted", body, "matches, unsorted", "page "+strconv.Itoa(n)+" ", "<mark>mango</mark>")
		if n == 1 {
			mustContain(t, "mango page 1", body, "20 or more matches")
		}
		mustLack(t, "mango unsorted", body, " of 3")
		if got, want := strings.Contains(body, `rel="next"`), n < 3; got != want {
			t.Errorf("page %d: next link %v, want %v", n, got, want)
		}
		for _, m := range regexp.MustCompile(`seq=(\d+)#`).FindAllStringSubmatch(body, -1) {
			if seen[m[1]] {
				t.Errorf("page %d repeats entry %s", n, m[1])
			}
			seen[m[1]] = true
		}
	}
	if len(seen) != 45 {
		t.Errorf("3 pages hold %d entries, want the 45 that match", len(seen))
	}
	if code, _, _ := a.get("/search?q=mango&page=4"); code != 404 {
		t.Errorf("page 4 = %d, want 404", code)
	}

	// Fewer than the limit: counted, newest first, paged with a count.
	_, body, _ := a.get("/search?q=papaya")
	mustContain(t, "papaya sorted", body, "4 matches, newest first", "<mark>papaya</mark>")
	fell, two, zero := strings.Index(body, "<mark>papaya</mark> fell"), strings.Index(body, "papaya</mark> 2"), strings.Index(body, "papaya</mark> 0")
	if fell < 0 || two < fell || zero < two {
		t.Errorf("papaya: not newest first (positions %d, %d, %d)", fell, two, zero)
	}
}

func urlq(s string) string {
	return strings.NewReplacer(" ", "+", `"`, "%22", ":", "%3A").Replace(s)
}

func TestIncidentPage(t *testing.T) {
	a, _ := fixture(t)
	code, body, _ := a.get("/incidents/INC-1")
	if code != 200 {
		t.Fatalf("incident = %d", code)
	}
	mustContain(t, "INC-1", body,
		"Time undetected", "15m", "Time to resolve", "50m", "Checkout was down",
		"<strong>failover</strong>", // Markdown
		`id="e-2"`, `class="entry key_event key"`, "edited a message:", "deleted a message",
		"Alert on replication lag", `href="https://github.com/acme/ops/issues/7"`,
		"&lt;script&gt;alert(1)&lt;/script&gt;",
		// Before or after it: a later one is the same trouble again.
		"Similar incidents", "INC-2", "declared",
	)
	mustLack(t, "INC-1", body, "<script>", "<img src=x", "alert(3)</script>")
}

func TestTimelinePages(t *testing.T) {
	a := newArchive(t)
	a.srv.TimelineSize = 10
	inc := a.declare("long one", bot.SEV2, bot.KindReal)
	for i := range 25 {
		a.say(inc.ID, bot.EventMessage, fmt.Sprintf("message %d", i), t0.Add(time.Duration(i+2)*time.Hour))
	}
	a.index()
	_, body, _ := a.get("/incidents/INC-1?page=3")
	mustContain(t, "page 3", body, "message 24", "page 3 of 3", `rel="prev"`)
	mustLack(t, "page 3", body, "message 8<")
	// A link to entry 17 (message 15) opens page 2.
	_, body, _ = a.get("/incidents/INC-1?seq=17")
	mustContain(t, "seq=17", body, `id="e-17"`, "page 2 of 3")
}

func TestStatsAndFeed(t *testing.T) {
	a, _ := fixture(t)
	code, body, _ := a.get("/stats")
	if code != 200 {
		t.Fatalf("stats = %d", code)
	}
	mustContain(t, "stats", body, "<svg", "<rect", "2025-03", "SEV1", "MTTD", "Drills and near misses", "Done on time")
	code, body, hdr := a.get("/feed.atom")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/atom+xml") {
		t.Fatalf("feed = %d %s", code, hdr.Get("Content-Type"))
	}
	mustContain(t, "feed", body, "<feed xmlns=\"http://www.w3.org/2005/Atom\">", "INC-3 SEV3: CDN certificate expired", "A cert &lt;b&gt;expired&lt;/b&gt; &amp; nobody knew")
	mustLack(t, "feed", body, "INC-1 SEV1", "<b>expired")
}

func TestAuth(t *testing.T) {
	a, _ := fixture(t)
	a.srv.Auth = Auth{UserHeader: "X-Forwarded-Email", Trusted: mustPrefixes(t, "127.0.0.1/32"), Token: "s3cret"}
	if code, _, hdr := a.get("/"); code != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "/login") {
		t.Errorf("anonymous GET / = %d %s, want a redirect to /login", code, hdr.Get("Location"))
	}
	if code, _, _ := a.get("/", "X-Forwarded-Email", "ada@example.com"); code != 200 {
		t.Errorf("GET / from the trusted proxy = %d, want 200", code)
	}
	if code, _, _ := a.get("/", "Authorization", "Bearer s3cret"); code != 200 {
		t.Errorf("GET / with the token = %d, want 200", code)
	}
	if code, _, _ := a.get("/", "Cookie", sessionCookie+"="+session("s3cret")); code != 200 {
		t.Errorf("GET / with a session = %d, want 200", code)
	}
	if code, _, _ := a.get("/", "Cookie", sessionCookie+"="+session("guess")); code == 200 {
		t.Errorf("GET / with a forged session = 200")
	}
	// The header from anyone else is not believed.
	a.srv.Auth.Trusted = mustPrefixes(t, "10.0.0.1/32")
	a.srv.Auth.Token = ""
	if code, _, _ := a.get("/", "X-Forwarded-Email", "mallory@example.com"); code != http.StatusUnauthorized {
		t.Errorf("GET / with the header from an untrusted address = %d, want 401", code)
	}
}

func TestLogin(t *testing.T) {
	a, _ := fixture(t)
	a.srv.Auth = Auth{Token: "s3cret"}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.PostForm(a.http.URL+"/login", map[string][]string{"token": {"wrong"}, "next": {"/stats"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized || len(res.Cookies()) != 0 {
		t.Errorf("login with a wrong token = %d, cookies %v", res.StatusCode, res.Cookies())
	}
	// An oversized form is refused, token or not.
	res, err = c.PostForm(a.http.URL+"/login", map[string][]string{"token": {"s3cret"}, "next": {"/" + strings.Repeat("x", 5000)}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode == http.StatusSeeOther || len(res.Cookies()) != 0 {
		t.Errorf("login with a 5 kB form = %d, cookies %v; want refused", res.StatusCode, res.Cookies())
	}
	res, err = c.PostForm(a.http.URL+"/login", map[string][]string{"token": {"s3cret"}, "next": {"/stats"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/stats" {
		t.Errorf("login = %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	var got *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == sessionCookie {
			got = ck
		}
	}
	if got == nil || !got.HttpOnly || got.SameSite != http.SameSiteStrictMode {
		t.Errorf("session cookie = %+v, want HttpOnly and SameSite=Strict", got)
	}
}

func TestAuthFromEnv(t *testing.T) {
	for _, tc := range []struct {
		env          map[string]string
		open         bool
		err          string
		loopbackOnly bool
	}{
		{map[string]string{}, true, "", false},
		{map[string]string{"DEBRIEF_ADDR": "localhost:80"}, true, "", false},
		{map[string]string{"DEBRIEF_ADDR": "0.0.0.0:8080"}, true, "", true},
		{map[string]string{"DEBRIEF_ADDR": ":8080"}, true, "", true},
		{map[string]string{"DEBRIEF_ADDR": "0.0.0.0:8080", "DEBRIEF_API_TOKEN": "t"}, false, "", false},
		{map[string]string{"DEBRIEF_ADDR": "0.0.0.0:8080", "DEBRIEF_WEB_USER_HEADER": "X-Email", "DEBRIEF_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1"}, false, "", false},
		{map[string]string{"DEBRIEF_WEB_USER_HEADER": "X-Email"}, false, "without DEBRIEF_TRUSTED_PROXIES", false},
		{map[string]string{"DEBRIEF_TRUSTED_PROXIES": "10.0.0.1"}, false, "without DEBRIEF_WEB_USER_HEADER", false},
		{map[string]string{"DEBRIEF_WEB_USER_HEADER": "X", "DEBRIEF_TRUSTED_PROXIES": "proxy.local"}, false, "neither an address nor a CIDR", false},
	} {
		a, err := authFromEnv(func(k string) string { return tc.env[k] })
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("authFromEnv(%v) = %v, want error with %q", tc.env, err, tc.err)
			}
			continue
		}
		if err != nil || a.Open != tc.open || a.LoopbackOnly != tc.loopbackOnly {
			t.Errorf("authFromEnv(%v) = open %v loopback only %v, %v; want open %v loopback only %v",
				tc.env, a.Open, a.LoopbackOnly, err, tc.open, tc.loopbackOnly)
		}
	}
}

// TestLoopbackOnly: an archive listening beyond loopback with no access
// control answers loopback addresses and refuses the others, saying what
// to set.
func TestLoopbackOnly(t *testing.T) {
	a := Auth{Open: true, LoopbackOnly: true}
	for remote, want := range map[string]bool{
		"127.0.0.1:5000": true, "[::1]:5000": true, "192.0.2.7:5000": false, "[2001:db8::1]:5000": false, "garbage": false,
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = remote
		if _, ok := a.user(r); ok != want {
			t.Errorf("user from %s = %v, want %v", remote, ok, want)
		}
	}
	arc := newArchive(t)
	arc.srv.Auth = a
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "192.0.2.7:5000"
	rec := httptest.NewRecorder()
	arc.srv.guard(func(http.ResponseWriter, *http.Request) { t.Error("a remote reader got through") })(rec, r)
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "DEBRIEF_API_TOKEN") {
		t.Errorf("remote reader = %d %q, want 403 naming DEBRIEF_API_TOKEN", rec.Code, rec.Body)
	}
}

// TestIndexFollowsChanges: a severity change re-files the incident's
// earlier entries under the new severity, and a sweep picks up a change
// that added no entry.
func TestIndexFollowsChanges(t *testing.T) {
	a, db := fixture(t)
	if _, body, _ := a.get("/search?q=replication+sev%3A2"); strings.Contains(body, "seq=2#") {
		t.Fatalf("found as SEV2 before the change")
	}
	db.Severity = bot.SEV2
	a.put(db)
	a.say(db.ID, bot.EventSeverity, "severity SEV1 -> SEV2", t0.Add(3*time.Hour))
	a.index()
	if _, body, _ := a.get("/search?q=replication+sev%3A2"); !strings.Contains(body, "seq=2#") {
		t.Errorf("an entry said before the severity change is not found under sev:2")
	}
	if _, body, _ := a.get("/search?q=replication+sev%3A1"); strings.Contains(body, "seq=2#") {
		t.Errorf("an entry is still found under the old severity")
	}

	// No entry: only the sweep sees it.
	db.Impact = "Quokkas could not check out."
	a.put(db)
	a.index()
	if _, body, _ := a.get("/search?q=quokkas"); !strings.Contains(body, "<mark>Quokkas</mark>") {
		t.Errorf("a change without an entry is not indexed after a sweep")
	}
}

// TestSweepInShares: between full sweeps, each Tick rereads its share of
// the incidents, so that a change without an entry (and without a
// timeline that grew) is indexed within SweepEvery, not all at once.
func TestSweepInShares(t *testing.T) {
	a := newArchive(t)
	var incs []*bot.Incident
	for i := range 10 {
		incs = append(incs, a.declare(fmt.Sprintf("outage %d", i), bot.SEV3, bot.KindReal))
	}
	a.index()
	a.x.SweepEvery = 10 * time.Second
	clock := a.clock
	tick := func() {
		clock = clock.Add(time.Second)
		if _, err := a.x.Tick(context.Background(), clock); err != nil {
			t.Fatal(err)
		}
	}
	tick()
	// A tenth of the incidents a Tick: one.
	incs[4].Impact = "Wombats could not log in."
	incs[4].Severity = bot.SEV1
	a.put(incs[4])
	for i := range 10 {
		tick()
		if found(t, a, "wombats") {
			if i == 0 {
				t.Errorf("the first Tick found the change: the sweep was not in shares")
			}
			break
		}
		if i == 9 {
			t.Fatalf("a change without an entry is not indexed within SweepEvery")
		}
	}
	// A new incident is found at the next Tick, even with no entry yet:
	// TimelineLens lists every incident, the empty timelines too.
	err := a.store.Update(context.Background(), func(tx store.Tx) error {
		n, err := tx.NextIncidentNumber()
		if err != nil {
			return err
		}
		return tx.PutIncident(&bot.Incident{ID: bot.IncidentID(n), Number: n, Title: "numbat sighting", Kind: bot.KindReal, Severity: bot.SEV4, Status: bot.StatusInvestigating, DeclaredAt: clock})
	})
	if err != nil {
		t.Fatal(err)
	}
	tick()
	if !found(t, a, "numbat") || a.x.Catalog.Get("INC-11") == nil {
		t.Errorf("a new incident without entries is not indexed at the next Tick")
	}

	// Its entries were re-filed under the new severity.
	q, _ := ParseQuery("outage sev:1")
	res, err := a.idx.Search(context.Background(), q, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	seqs := 0
	for _, h := range res.Hits {
		if h.IncidentID != incs[4].ID {
			t.Errorf("sev:1 finds %s", h.IncidentID)
		}
		if h.Seq > 0 {
			seqs++
		}
	}
	if seqs != 1 {
		t.Errorf("sev:1 finds %d of the changed incident's entries, want its declare entry", seqs)
	}
}

// TestReindex: `debrief reindex` rebuilds from the store what the Indexer
// built, and a second Tick on the result indexes nothing again.
func TestReindex(t *testing.T) {
	a, _ := fixture(t)
	path := filepath.Join(t.TempDir(), "rebuilt")
	n, err := Reindex(context.Background(), a.store, path)
	if err != nil {
		t.Fatal(err)
	}
	if n != 10 {
		t.Errorf("Reindex indexed %d entries, want 10", n)
	}
	idx, err := OpenIndex(path)
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	docs, _ := idx.DocCount()
	want, _ := a.idx.DocCount()
	if docs != want {
		t.Errorf("rebuilt index holds %d documents, the live one %d", docs, want)
	}
	x := &Indexer{Store: a.store, Index: idx, Catalog: NewCatalog()}
	if n, err := x.Tick(context.Background(), t0); err != nil || n != 0 {
		t.Errorf("Tick after Reindex = %d, %v; want nothing to do", n, err)
	}
}

// TestSimilarOnDeclare: a declare posts the similar past incidents, with
// their open countermeasures, in the new channel (an outbox post queued
// with the declare).
func TestSimilarOnDeclare(t *testing.T) {
	a, _ := fixture(t)
	svc := a.srv.Service
	svc.Similar = &Web{Server: a.srv}
	rep := svc.Execute(context.Background(), ada, bot.Channel{Platform: bot.Console, ID: "ops"}, "declare database failover slow again sev2 #db")
	if rep.IncidentID == "" {
		t.Fatalf("declare = %q", rep.Text)
	}
	var posts []string
	err := a.store.View(context.Background(), func(tx store.ReadTx) error {
		effs, err := tx.Effects()
		for _, e := range effs {
			if e.IncidentID == rep.IncidentID && e.Kind == "post" {
				posts = append(posts, string(e.Payload))
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(posts, "\n")
	mustContain(t, "the declare's posts", all, "Similar past incidents:", "INC-1 Database primary failover stuck", "still open: #1 Alert on replication lag", "INC-2 Game day")
	mustLack(t, "the declare's posts", all, "CDN certificate")
}

// TestTimesDST: times are shown in the reader's zone with its daylight
// saving on the day, and UTC beside.
func TestTimesDST(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	p := Page{Loc: paris}
	for _, tc := range []struct {
		at   time.Time
		want Moment
	}{
		{time.Date(2025, 3, 30, 0, 59, 0, 0, time.UTC), Moment{Local: "2025-03-30 01:59 CET", UTC: "00:59 UTC", ISO: "2025-03-30T00:59:00Z"}},
		{time.Date(2025, 3, 30, 1, 0, 0, 0, time.UTC), Moment{Local: "2025-03-30 03:00 CEST", UTC: "01:00 UTC", ISO: "2025-03-30T01:00:00Z"}},
		{time.Date(2025, 10, 26, 0, 30, 0, 0, time.UTC), Moment{Local: "2025-10-26 02:30 CEST", UTC: "00:30 UTC", ISO: "2025-10-26T00:30:00Z"}},
		{time.Date(2025, 10, 26, 1, 30, 0, 0, time.UTC), Moment{Local: "2025-10-26 02:30 CET", UTC: "01:30 UTC", ISO: "2025-10-26T01:30:00Z"}},
		{time.Time{}, Moment{Zero: true}},
	} {
		if got := p.T(tc.at); got != tc.want {
			t.Errorf("T(%v) = %+v, want %+v", tc.at, got, tc.want)
		}
	}
	// Read in UTC, or in London in winter (GMT): UTC beside only when
	// the zone is not UTC itself.
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 1, 10, 9, 0, 0, 0, time.UTC)
	if got := (Page{Loc: time.UTC}).T(at); got.UTC != "" || got.Local != "2025-01-10 09:00 UTC" {
		t.Errorf("in UTC: %+v, want the time once", got)
	}
	if got := (Page{Loc: london}).T(at); got.UTC != "09:00 UTC" {
		t.Errorf("in London: %+v, want UTC beside GMT", got)
	}
}

// TestWebURL: DEBRIEF_WEB_URL must be an http(s) URL; it becomes the
// Service's ArchiveURL, and FromEnv joins the Service as its SimilarFinder.
func TestWebURL(t *testing.T) {
	for _, tc := range []struct {
		url, err string
	}{
		{"https://debrief.example.com", ""},
		{"ftp://debrief.example.com", "not an http(s) URL"},
		{"debrief.example.com", "not an http(s) URL"},
	} {
		svc := &workflows.Service{}
		env := map[string]string{"DEBRIEF_WEB_URL": tc.url, "DEBRIEF_DB": filepath.Join(t.TempDir(), "db")}
		w, err := FromEnv(context.Background(), func(k string) string { return env[k] }, svc, nil)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("DEBRIEF_WEB_URL=%s: %v, want %q", tc.url, err, tc.err)
			}
			continue
		}
		if err != nil || svc.Config.ArchiveURL != tc.url || svc.Similar != w {
			t.Errorf("DEBRIEF_WEB_URL=%s: %v, ArchiveURL %q, Similar %v", tc.url, err, svc.Config.ArchiveURL, svc.Similar)
		}
	}
}

// TestStatsWeakSignals: /stats charts the near misses and counted alerts of
// the last weeks and lists the signals that fired without ever becoming an
// incident, most fired first; a signal that became one is not listed, and
// firings before the chart's weeks are not counted.
func TestStatsWeakSignals(t *testing.T) {
	a := newArchive(t)
	now := a.srv.Now()
	err := a.store.Update(context.Background(), func(tx store.Tx) error {
		for i, at := range []time.Time{now.AddDate(0, 0, -1), now.AddDate(0, 0, -9), now.AddDate(-1, 0, 0)} {
			nm := store.NearMiss{ID: store.NearMissID(i + 1), Number: i + 1, Text: "almost dropped the table", At: at, RecordedAt: at}
			if err := tx.PutNearMiss(nm); err != nil {
				return err
			}
		}
		fires := func(n int, from time.Time) []time.Time {
			var ts []time.Time
			for i := range n {
				ts = append(ts, from.Add(time.Duration(i)*time.Hour))
			}
			return ts
		}
		for _, sg := range []store.Signal{
			{Key: "disk", Name: "HighDiskUsage", Labels: map[string]string{"alertname": "HighDiskUsage", "instance": "db-3"}, Count: 14, Fires: fires(14, now.AddDate(0, 0, -20)), LastAt: now.AddDate(0, 0, -19)},
			{Key: "cpu", Name: "HighCPU", Labels: map[string]string{"instance": "web-1"}, Count: 3, Fires: fires(3, now.AddDate(0, 0, -2)), LastAt: now.AddDate(0, 0, -2)},
			{Key: "db", Name: "ReplicationLag", Count: 5, Fires: fires(5, now.AddDate(0, 0, -3)), LastAt: now.AddDate(0, 0, -3), IncidentIDs: []string{"INC-1"}},
			{Key: "old", Name: "AncientAlert", Count: 2, Fires: fires(2, now.AddDate(-1, 0, 0)), LastAt: now.AddDate(-1, 0, 0)},
		} {
			if err := tx.PutSignal(sg); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	code, body, _ := a.get("/stats")
	if code != 200 {
		t.Fatalf("stats = %d", code)
	}
	mustContain(t, "stats", body, "Weak signals per week", "near misses", "alerts counted",
		"Signals that fire and are never declared", "HighDiskUsage", `instance=&#34;db-3&#34;`, "HighCPU")
	mustLack(t, "stats", body, "ReplicationLag", "AncientAlert")
	if i, j := strings.Index(body, "HighDiskUsage"), strings.Index(body, "HighCPU"); i > j {
		t.Errorf("HighCPU (3 firings) listed before HighDiskUsage (14)")
	}
	// The chart's table: 2 near misses and 14+3+5 firings in the weeks
	// shown (the year-old ones are not).
	var p statsPage
	var nms []store.NearMiss
	var sigs []store.Signal
	_ = a.store.View(context.Background(), func(tx store.ReadTx) error {
		nms, _ = tx.NearMisses()
		sigs, _ = tx.Signals()
		return nil
	})
	weakSignals(&p, nms, sigs, now, time.UTC)
	var near, fired int
	for _, w := range p.Weak.Weeks {
		near += w.Counts[0]
		fired += w.Counts[1]
	}
	if near != 2 || fired != 22 {
		t.Errorf("weak signal chart counts %d near misses and %d firings, want 2 and 22", near, fired)
	}
}
