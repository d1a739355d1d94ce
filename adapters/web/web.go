// Package web is the archive: every incident, its timeline and its
// post-mortem as server-rendered pages (html/template, no script), full-text
// search over a bleve index fed from the store, stats with SVG charts, and
// an Atom feed of closed post-mortems. Routes, variables and the access rule
// are in the README ("The archive").
package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

// Web is the archive as a component of `debrief serve`: its routes, and
// the Indexer it runs.
type Web struct {
	Server  *Server
	Indexer *Indexer
	path    string
}

// FromEnv builds the archive from DEBRIEF_ADDR, DEBRIEF_DB, DEBRIEF_INDEX,
// DEBRIEF_API_TOKEN, DEBRIEF_WEB_USER_HEADER, DEBRIEF_TRUSTED_PROXIES and
// DEBRIEF_WEB_URL, and joins the Service: its index finds the similar
// incidents a declare posts, its URL links the digest's year-ago list.
// The archive is always on; beyond loopback without the proxy header or
// the token, it answers loopback addresses only, as the API does.
func FromEnv(ctx context.Context, getenv func(string) string, svc *workflows.Service, log *slog.Logger) (*Web, error) {
	auth, err := authFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	if auth.LoopbackOnly {
		log.Warn("listening beyond loopback without DEBRIEF_API_TOKEN or an auth proxy: the archive answers loopback only; set DEBRIEF_API_TOKEN, or DEBRIEF_WEB_USER_HEADER with DEBRIEF_TRUSTED_PROXIES")
	}
	db := getenv("DEBRIEF_DB")
	if db == "" {
		db = "./debrief.db"
	}
	path := getenv("DEBRIEF_INDEX")
	if path == "" {
		path = db + ".index"
	}
	if u := getenv("DEBRIEF_WEB_URL"); u != "" {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("DEBRIEF_WEB_URL=%s is not an http(s) URL", u)
		}
		// The digest links the incidents of a year ago into the archive.
		svc.Config.ArchiveURL = u
	}
	cat := NewCatalog()
	srv := &Server{Service: svc, Catalog: cat, Auth: auth, Log: log}
	w := &Web{Server: srv, Indexer: &Indexer{Catalog: cat, Log: log}, path: path}
	svc.Similar = w
	return w, nil
}

// Register mounts the archive's pages.
func (w *Web) Register(mux *http.ServeMux) { w.Server.Register(mux) }

// Run opens the index, follows the store into it until ctx is done, then
// closes it. The index is opened here, after the database, so that a
// second debrief on the same files fails on the database's lock with the
// message that explains it.
func (w *Web) Run(ctx context.Context) error {
	idx, err := OpenIndex(w.path)
	if err != nil {
		return fmt.Errorf("DEBRIEF_INDEX=%s: %w", w.path, err)
	}
	w.Server.idx.Store(idx)
	w.Indexer.Store = w.Server.Service.Store
	w.Indexer.Index = idx
	err = w.Indexer.Run(ctx)
	w.Server.idx.Store(nil)
	// What is not on disk at close would be indexed again at the next
	// start; a clean stop need not cost that.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	if serr := idx.Sync(sctx); serr != nil {
		w.Server.log().Warn("index not synced at stop: what was not written is indexed again at the next start", "err", serr)
	}
	cancel()
	if cerr := idx.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close index %s: %w", w.path, cerr))
	}
	return err
}

// Ready is always nil: the archive answers from the first request (the
// list fills in at the Indexer's first Tick, milliseconds after start),
// and a slow index must not take the bot out of a load balancer.
func (w *Web) Ready() error { return nil }

// Auth says who may read the archive.
type Auth struct {
	// Open lets anyone in when neither of the others is configured:
	// anyone who can reach a loopback listener, and with LoopbackOnly
	// (a listener beyond loopback) only requests from loopback addresses,
	// as the API answers without a token.
	Open, LoopbackOnly bool
	// UserHeader names the user when the request comes from one of
	// Trusted (an auth proxy such as oauth2-proxy).
	UserHeader string
	Trusted    []netip.Prefix
	// Token is DEBRIEF_API_TOKEN: a login with it sets a session cookie;
	// a bearer token is accepted too.
	Token string
}

func authFromEnv(getenv func(string) string) (Auth, error) {
	a := Auth{UserHeader: getenv("DEBRIEF_WEB_USER_HEADER"), Token: getenv("DEBRIEF_API_TOKEN")}
	for _, f := range strings.FieldsFunc(getenv("DEBRIEF_TRUSTED_PROXIES"), func(r rune) bool { return r == ',' || r == ' ' }) {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			ip, ierr := netip.ParseAddr(f)
			if ierr != nil {
				return a, fmt.Errorf("DEBRIEF_TRUSTED_PROXIES: %q is neither an address nor a CIDR", f)
			}
			p = netip.PrefixFrom(ip, ip.BitLen())
		}
		a.Trusted = append(a.Trusted, p)
	}
	if a.UserHeader != "" && len(a.Trusted) == 0 {
		return a, errors.New("DEBRIEF_WEB_USER_HEADER is set without DEBRIEF_TRUSTED_PROXIES: the header would be believed from anyone")
	}
	if a.UserHeader == "" && len(a.Trusted) > 0 {
		return a, errors.New("DEBRIEF_TRUSTED_PROXIES is set without DEBRIEF_WEB_USER_HEADER")
	}
	addr := getenv("DEBRIEF_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	if a.UserHeader == "" && a.Token == "" {
		a.Open, a.LoopbackOnly = true, !loopback(addr)
	}
	return a, nil
}

// loopback reports whether the listen address addr is on loopback only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

const sessionCookie = "debrief_session"

// session is the cookie value of a login with token: derived from it, so
// that the server keeps no sessions and a new token ends the old ones.
func session(token string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("debrief web session v1"))
	return hex.EncodeToString(m.Sum(nil))
}

// user returns who the request is from, and whether they may read.
func (a Auth) user(r *http.Request) (string, bool) {
	if a.UserHeader != "" {
		if u := r.Header.Get(a.UserHeader); u != "" && a.trusted(r.RemoteAddr) {
			return u, true
		}
	}
	if a.Token != "" {
		if c, err := r.Cookie(sessionCookie); err == nil && equal(c.Value, session(a.Token)) {
			return "token", true
		}
		if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && equal(b, a.Token) {
			return "token", true
		}
	}
	return "", a.Open && (!a.LoopbackOnly || fromLoopback(r.RemoteAddr))
}

// fromLoopback reports whether the request's remote address is loopback.
func fromLoopback(remote string) bool {
	ap, err := netip.ParseAddrPort(remote)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

func (a Auth) trusted(remote string) bool {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	for _, p := range a.Trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// secure sets the headers every answer carries: no script at all, no
// framing, no sniffing.
func secure(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
}

// guard lets a request through when Auth does; otherwise it sends the
// reader to the login form (with a token configured) or refuses.
func (s *Server) guard(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		secure(w.Header())
		if _, ok := s.Auth.user(r); !ok {
			if s.Auth.Token != "" {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			if s.Auth.LoopbackOnly {
				s.fail(w, r, http.StatusForbidden, "This archive answers its own machine only: its operator can set DEBRIEF_API_TOKEN, or an auth proxy with DEBRIEF_WEB_USER_HEADER and DEBRIEF_TRUSTED_PROXIES.")
				return
			}
			s.fail(w, r, http.StatusUnauthorized, "Sign in through your organisation's proxy to read the archive.")
			return
		}
		next(w, r)
	}
}

// localPath returns p when it is a path on this site, else "/": a login
// or zone change never sends the reader elsewhere.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "/"
	}
	return p
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	secure(w.Header())
	if r.Method == http.MethodPost {
		// Bounded before anything reads the form.
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
	}
	next := localPath(r.FormValue("next"))
	if r.Method == http.MethodPost {
		if s.Auth.Token != "" && equal(r.PostFormValue("token"), s.Auth.Token) {
			http.SetCookie(w, &http.Cookie{
				Name: sessionCookie, Value: session(s.Auth.Token), Path: "/",
				HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
				MaxAge: int((30 * 24 * time.Hour).Seconds()),
			})
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
		s.render(w, r, "login", loginPage{Page: s.page(r, "Sign in"), Next: next, Failed: true})
		return
	}
	s.render(w, r, "login", loginPage{Page: s.page(r, "Sign in"), Next: next})
}

type loginPage struct {
	Page
	Next   string
	Failed bool
}

var _ workflows.SimilarFinder = (*Web)(nil)

// Similar finds, in the index, up to n past incidents like inc: what a
// declare posts in the new channel. Nothing while the index is not open.
func (w *Web) Similar(ctx context.Context, inc *bot.Incident, n int) ([]*bot.Incident, error) {
	return w.Server.similar(ctx, inc, n)
}
