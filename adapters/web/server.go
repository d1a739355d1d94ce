package web

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows"
	"github.com/debrief/debrief/workflows/render"
)

//go:embed templates/*.html static/style.css
var files embed.FS

var pages = parsePages()

// parsePages builds one template set per page: the layout plus the page.
func parsePages() map[string]*template.Template {
	funcs := template.FuncMap{
		"dur": func(d time.Duration) string {
			if d <= 0 {
				return "–"
			}
			return render.Duration(d)
		},
		"human": func(s bot.Status) string { return s.Human() },
		"kind":  render.KindName,
		"add":   func(a, b int) int { return a + b },
		"half":  func(a int) int { return a / 2 },
		"int":   func(s bot.Severity) int { return int(s) },
		"list":  func(s ...string) []string { return s },
	}
	out := map[string]*template.Template{}
	for _, name := range []string{"list", "search", "incident", "stats", "login", "error"} {
		out[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/"+name+".html"))
	}
	return out
}

// Server renders the archive.
type Server struct {
	Service *workflows.Service
	// Index is the search index; the component sets idx instead, once
	// it has opened the index in Run.
	Index   *Index
	idx     atomic.Pointer[Index]
	Catalog *Catalog
	Auth    Auth
	Log     *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// ListSize and TimelineSize are the rows per page of the list and of a
	// timeline; 50 and 200 when zero.
	ListSize, TimelineSize int
}

// Register mounts the archive's routes on mux.
func (s *Server) Register(mux *http.ServeMux) {
	for _, r := range s.routes() {
		mux.HandleFunc(r.pattern, r.handler)
	}
}

type route struct {
	pattern string
	handler http.HandlerFunc
}

// routes are the archive's routes, each in the README's HTTP table
// (readme_test.go holds it to this list).
func (s *Server) routes() []route {
	return []route{
		{"GET /{$}", s.guard(s.list)},
		{"GET /search", s.guard(s.search)},
		{"GET /incidents/{id}", s.guard(s.incident)},
		{"GET /stats", s.guard(s.stats)},
		{"GET /feed.atom", s.guard(s.feed)},
		{"GET /zone", s.guard(s.zone)},
		{"GET /login", s.login},
		{"POST /login", s.login},
		{"GET /static/style.css", s.style},
	}
}

func (s *Server) style(w http.ResponseWriter, r *http.Request) {
	secure(w.Header())
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=3600")
	b, _ := files.ReadFile("static/style.css")
	_, _ = w.Write(b)
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (s *Server) store() store.Store { return s.Service.Store }

// index returns the search index, or nil while it is not open.
func (s *Server) index() *Index {
	if x := s.idx.Load(); x != nil {
		return x
	}
	return s.Index
}

// Page is what every page's layout needs.
type Page struct {
	Title string
	// Loc is the reader's zone (the tz cookie, else DEBRIEF_TZ).
	Loc   *time.Location
	Zones []string
	// Here is the page's own URL, for the zone picker to come back to.
	Here string
	Q    string
}

// zones are offered by the picker; the reader's own is added when missing.
var zones = []string{
	"UTC", "America/Los_Angeles", "America/Denver", "America/Chicago", "America/New_York",
	"America/Sao_Paulo", "Europe/London", "Europe/Paris", "Europe/Berlin", "Europe/Helsinki",
	"Africa/Johannesburg", "Asia/Kolkata", "Asia/Singapore", "Asia/Tokyo", "Australia/Sydney",
	"Pacific/Auckland",
}

const zoneCookie = "debrief_tz"

func (s *Server) page(r *http.Request, title string) Page {
	loc := s.Service.Config.Zone
	if loc == nil {
		loc = time.UTC
	}
	if c, err := r.Cookie(zoneCookie); err == nil {
		if l, err := time.LoadLocation(c.Value); err == nil && c.Value != "" && c.Value != "Local" {
			loc = l
		}
	}
	zs := zones
	if !slices.Contains(zs, loc.String()) {
		zs = append([]string{loc.String()}, zs...)
	}
	return Page{Title: title, Loc: loc, Zones: zs, Here: r.URL.RequestURI()}
}

// Moment is a time as the pages show it: in the reader's zone, with UTC
// beside it unless that zone is UTC.
type Moment struct {
	Local, UTC, ISO string
	Zero            bool
}

// T shows t in the reader's zone.
func (p Page) T(t time.Time) Moment {
	if t.IsZero() {
		return Moment{Zero: true}
	}
	m := Moment{
		Local: t.In(p.Loc).Format("2006-01-02 15:04 MST"),
		UTC:   t.UTC().Format("15:04 UTC"),
		ISO:   t.UTC().Format(time.RFC3339),
	}
	if _, off := t.In(p.Loc).Zone(); off == 0 && strings.HasSuffix(m.Local, " UTC") {
		// Read in UTC: the same time twice says nothing.
		m.UTC = ""
	}
	return m
}

// zone sets the reader's zone cookie and goes back.
func (s *Server) zone(w http.ResponseWriter, r *http.Request) {
	tz := r.FormValue("tz")
	if _, err := time.LoadLocation(tz); err != nil || tz == "" || tz == "Local" || len(tz) > 64 {
		s.fail(w, r, http.StatusBadRequest, "Unknown time zone "+strconv.Quote(tz)+": pick one from the list.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: zoneCookie, Value: tz, Path: "/", MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteLaxMode, HttpOnly: true})
	http.Redirect(w, r, localPath(r.FormValue("back")), http.StatusSeeOther)
}

// render executes the page into a buffer first, so that a template error
// is a 500, not half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, data any) {
	var buf bytes.Buffer
	if err := pages[name].Execute(&buf, data); err != nil {
		s.log().ErrorContext(r.Context(), "render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = buf.WriteTo(w)
}

type errorPage struct {
	Page
	Status  int
	Message string
}

// fail answers with an error page; msg is for the reader.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	secure(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	var buf bytes.Buffer
	if err := pages["error"].Execute(&buf, errorPage{Page: s.page(r, http.StatusText(status)), Status: status, Message: msg}); err != nil {
		s.log().ErrorContext(r.Context(), "render", "page", "error", "err", err)
		return
	}
	_, _ = buf.WriteTo(w)
}

// internal logs err and answers 500 without its details.
func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.log().ErrorContext(r.Context(), "archive", "path", r.URL.Path, "err", err)
	s.fail(w, r, http.StatusInternalServerError, "Internal error: it has been logged.")
}

// pageNumber reads ?page= (1-based); an error is for the reader.
func pageNumber(r *http.Request) (int, error) {
	v := r.FormValue("page")
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1_000_000 {
		return 0, errors.New("page must be a number from 1")
	}
	return n, nil
}

// Pager links the pages of a list.
type Pager struct {
	N, Of      int
	Prev, Next string
}

func pager(r *http.Request, n, total, size int) Pager {
	of := max(1, (total+size-1)/size)
	p := Pager{N: n, Of: of}
	link := func(k int) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(k))
		q.Del("seq")
		return r.URL.Path + "?" + q.Encode()
	}
	if n > 1 {
		p.Prev = link(min(n-1, of))
	}
	if n < of {
		p.Next = link(n + 1)
	}
	return p
}

func trimTag(s string) string { return strings.TrimPrefix(strings.TrimSpace(s), "#") }
