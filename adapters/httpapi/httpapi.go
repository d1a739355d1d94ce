// Package httpapi serves debrief's operator HTTP routes: health, metrics, and
// read-only JSON about incidents and their timelines. Chat platforms' webhook
// routes live in their own adapters and share the same mux.
package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Server holds what the routes need. Its fields are set before Register and
// not changed after.
type Server struct {
	Service *workflows.Service
	// Token, when not empty, is the bearer token every /api/ route requires.
	// /healthz and /metrics stay open: they carry no incident data and
	// probes rarely carry credentials.
	Token string
	// LoopbackOnly, set when there is no Token and the server listens
	// beyond loopback (unless DEBRIEF_INSECURE_API=true), answers the /api/
	// routes, the backup included, only to loopback addresses: without a
	// token, the whole database would be one GET away for anyone who can
	// reach the port.
	LoopbackOnly bool
	// Commits returns why the store's latest commit failed, or nil
	// (bolt.DB.CommitErr): a store that reads but cannot write
	// acknowledges nothing, and GET /healthz answers 503 with it. Nil
	// skips the check.
	Commits func() error
	// Gatherer is what /metrics exposes; prometheus.DefaultGatherer when nil.
	Gatherer prometheus.Gatherer
	// Backup writes a consistent copy of the database to w. It serves
	// GET /api/backup, which is how `debrief backup` copies the database
	// of a running server: bbolt locks the file to the server's process.
	// Nil leaves the route out.
	Backup func(ctx context.Context, w io.Writer) (int64, error)
	// Ready returns why debrief's components (the chat platforms, the
	// tracker) cannot serve right now; GET /healthz answers 503 with it.
	// Nil counts the store only.
	Ready func() error
	// Leader reports whether this replica leads its cluster (GET /healthz
	// shows it); nil means it always does: one process, no cluster.
	Leader func() bool
	Log    *slog.Logger
}

// Register adds the routes to mux.
func (s *Server) Register(mux *http.ServeMux) {
	g := s.Gatherer
	if g == nil {
		g = prometheus.DefaultGatherer
	}
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorLog: slogErrorLog{s.log()}}))
	mux.Handle("GET /api/incidents", s.auth(s.incidents))
	mux.Handle("GET /api/incidents/{id}", s.auth(s.incident))
	mux.Handle("GET /api/incidents/{id}/timeline", s.auth(s.timeline))
	mux.Handle("GET /api/incidents/{id}/postmortem.md", s.auth(s.postmortem))
	mux.Handle("GET /api/gamedays", s.auth(s.gamedays))
	mux.Handle("GET /api/nearmisses", s.auth(s.nearMisses))
	mux.Handle("GET /api/signals", s.auth(s.signals))
	if s.Backup != nil {
		mux.Handle("GET /api/backup", s.auth(s.backup))
	}
	// Anything else under /api/ is answered like the rest of the API, in
	// JSON, rather than by the mux's text/plain 404.
	mux.Handle("/api/", s.auth(s.noRoute(mux)))
}

// noRoute answers what no /api/ route takes: 405 when the path is a route
// for GET (every API route is), 404 otherwise.
func (s *Server) noRoute(mux *http.ServeMux) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			get := r.Clone(r.Context())
			get.Method = http.MethodGet
			if _, pattern := mux.Handler(get); pattern != "/api/" {
				w.Header().Set("Allow", "GET, HEAD")
				writeJSON(w, http.StatusMethodNotAllowed, errorBody{Code: bot.EINVALID,
					Error: fmt.Sprintf("%s %s: the API is read-only; use GET.", r.Method, r.URL.Path)})
				return
			}
		}
		writeJSON(w, http.StatusNotFound, errorBody{Code: bot.ENOTFOUND,
			Error: fmt.Sprintf("No API route %s %s; the README's HTTP section lists them.", r.Method, r.URL.Path)})
	}
}

// backup streams the database. Once bytes are out the status cannot change,
// so a failure midway aborts the connection: the client sees a truncated
// body, and `debrief backup` checks what it received before keeping it.
func (s *Server) backup(w http.ResponseWriter, r *http.Request) {
	// A large database takes longer than the server's write timeout.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="debrief.db"`)
	n, err := s.Backup(r.Context(), w)
	if err == nil {
		return
	}
	if n == 0 {
		s.fail(w, r, fmt.Errorf("httpapi: backup: %w", err))
		return
	}
	s.log().ErrorContext(r.Context(), "backup aborted midway", "bytes", n, "err", err)
	panic(http.ErrAbortHandler)
}

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// health is GET /healthz's answer. Ready says whether this replica
// serves (its store answers and every component is ready); Leader whether
// it runs the loops and the platform connections, which one replica of a
// cluster does (a single replica always does).
type health struct {
	Ready  bool   `json:"ready"`
	Leader bool   `json:"leader"`
	Reason string `json:"reason,omitempty"`
}

// healthz answers 200 when the database answers a read and every component
// is ready, so a wedged or closed store (an etcd member cut off from its
// quorum), or a platform debrief cannot reach, takes the instance out of
// rotation with 503 and shows why.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	h := health{Ready: true, Leader: s.Leader == nil || s.Leader()}
	if err := s.Service.Store.View(ctx, func(store.ReadTx) error { return nil }); err != nil {
		s.log().ErrorContext(ctx, "health check failed", "err", err)
		h.Ready, h.Reason = false, "store unavailable"
	} else if err := s.commits(); err != nil {
		s.log().ErrorContext(ctx, "not ready: commits fail", "err", err)
		h.Ready, h.Reason = false, "not ready: store cannot commit: "+err.Error()
	} else if s.Ready != nil {
		if err := s.Ready(); err != nil {
			s.log().WarnContext(ctx, "not ready", "err", err)
			h.Ready, h.Reason = false, "not ready: "+err.Error()
		}
	}
	status := http.StatusOK
	if !h.Ready {
		status = http.StatusServiceUnavailable
	}
	// One line, as writeJSON writes: probes and scripts grep it.
	b, _ := json.Marshal(h)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// commits is Commits, or nil when there is none.
func (s *Server) commits() error {
	if s.Commits == nil {
		return nil
	}
	return s.Commits()
}

// auth requires "Authorization: Bearer <Token>" when a token is configured.
// Both sides are hashed before the constant-time compare so that neither
// the content nor the length of the token leaks through timing.
func (s *Server) auth(next http.HandlerFunc) http.Handler {
	if s.Token == "" && s.LoopbackOnly {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !fromLoopback(r) {
				s.log().WarnContext(r.Context(), "refused an API request from beyond loopback: no DEBRIEF_API_TOKEN", "remote", r.RemoteAddr, "path", r.URL.Path)
				writeJSON(w, http.StatusForbidden, errorBody{Code: "forbidden",
					Error: "The API answers only on loopback without DEBRIEF_API_TOKEN; set a token (or DEBRIEF_INSECURE_API=true)."})
				return
			}
			next(w, r)
		})
	}
	if s.Token == "" {
		return next
	}
	want := sha256.Sum256([]byte(s.Token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="debrief"`)
			writeJSON(w, http.StatusUnauthorized, errorBody{Code: "unauthorized", Error: "A valid bearer token is required."})
			return
		}
		next(w, r)
	})
}

// fromLoopback reports whether r came from a loopback address.
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// gamedays lists the game days, upcoming first, with the drills' own
// figures: they never count in the real incidents' (README, "Game days").
func (s *Server) gamedays(w http.ResponseWriter, r *http.Request) {
	rs, f, err := s.Service.GamedayList(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toGamedays(rs, f))
}

func (s *Server) incident(w http.ResponseWriter, r *http.Request) {
	inc, err := s.Service.Incident(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toIncident(inc))
}

// postmortem serves the same Markdown as `debrief export`, in the
// configured zone.
func (s *Server) postmortem(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	inc, err := s.Service.Incident(ctx, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Streamed a page at a time (WriteExport): no read transaction waits
	// on the client, and a long write-up outlasts the write timeout.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	if err := s.Service.WriteExport(ctx, w, inc.ID, nil); err != nil {
		s.abort(r, err)
	}
}

// errorBody is every error answer: a stable code for programs, a message
// for people.
type errorBody struct {
	Code  string `json:"code"`
	Error string `json:"error"`
}

// fail maps err's bot code to a status. Internal errors are logged in full
// and answered with a generic message: their text may name files or
// internals that are none of the caller's business.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := bot.ErrorCode(err)
	status := statusOf(code)
	if status == http.StatusInternalServerError {
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			return // the client went away; nobody reads the answer
		}
		s.log().ErrorContext(r.Context(), "api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeJSON(w, status, errorBody{Code: bot.EINTERNAL, Error: "Internal error: the operators have the details in the log."})
		return
	}
	writeJSON(w, status, errorBody{Code: code, Error: bot.ErrorMessage(err)})
}

func statusOf(code string) int {
	switch code {
	case bot.ENOTFOUND:
		return http.StatusNotFound
	case bot.EINVALID:
		return http.StatusBadRequest
	case bot.EFORBIDDEN:
		return http.StatusForbidden
	case bot.ECONFLICT:
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	// Compact: a list of a thousand entries indented is a third spaces.
	enc := json.NewEncoder(w)
	// The answers are read by programs and people, never embedded in a
	// page: "->" stays "->", not "\u003e".
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// slogErrorLog lets promhttp report encoding errors through slog.
type slogErrorLog struct{ log *slog.Logger }

func (l slogErrorLog) Println(v ...any) {
	l.log.Error("metrics handler failed", "err", fmt.Sprint(v...))
}
