package slack

import (
	"encoding/json"
	"net/http"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/debrief/debrief/internal/httpbody"
)

// MaxBody bounds a request body. Slack's largest payloads (a view
// submission with every block's state) are tens of kilobytes; a megabyte is
// generous and still cheap to refuse.
const MaxBody = 1 << 20

// verified reads the request body and checks Slack's signature over it:
// v0 HMAC-SHA256 of "v0:<timestamp>:<body>" with the signing secret, and a
// timestamp within 5 minutes (slack.NewSecretsVerifier). It answers 401 when
// the signature or its headers are missing, wrong or stale, and 413 when
// the body is over MaxBody; ok is false then and the handler returns.
// Nothing in the request is parsed before this returns ok.
func (s *Slack) verified(w http.ResponseWriter, r *http.Request) (body []byte, ok bool) {
	sv, err := slackgo.NewSecretsVerifier(r.Header, s.cfg.SigningSecret)
	if err != nil {
		s.refuse(w, r, err)
		return nil, false
	}
	if body, ok = httpbody.Read(w, r, MaxBody); !ok {
		return nil, false
	}
	if _, err := sv.Write(body); err != nil {
		s.refuse(w, r, err)
		return nil, false
	}
	if err := sv.Ensure(); err != nil {
		s.refuse(w, r, err)
		return nil, false
	}
	return body, true
}

// replayWindow is how long a signature is remembered: Slack's verifier
// accepts a timestamp up to 5 minutes either side of now, so a signature
// can be replayed for 10 minutes at most; remembered for as long, no
// replay within the window runs.
const replayWindow = 10 * time.Minute

// fresh reports whether a verified request is new, remembering its
// signature durably (workflows.Service.FirstTime): the same signed slash
// command or interaction sent twice runs once, across restarts. A replay
// is answered 200 with replayed's answer (nil for a bare 200), and logged;
// a store that cannot remember answers 500. ok is false then and the
// handler returns.
func (s *Slack) fresh(w http.ResponseWriter, r *http.Request, replayed any) bool {
	first, err := s.svc.FirstTime(r.Context(), "slack/sig/"+r.Header.Get("X-Slack-Signature"), replayWindow)
	if err != nil {
		s.log.ErrorContext(r.Context(), "could not remember a request's signature", "path", r.URL.Path, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return false
	}
	if !first {
		s.log.WarnContext(r.Context(), "refused a replayed request", "path", r.URL.Path, "remote", r.RemoteAddr)
		writeJSON(w, replayed)
		return false
	}
	return true
}

// refuse answers 401. The reason is logged (never the secret or the
// signature) and not told to the caller, who may be probing.
func (s *Slack) refuse(w http.ResponseWriter, r *http.Request, err error) {
	s.log.WarnContext(r.Context(), "refused an unverified request", "path", r.URL.Path,
		"remote", r.RemoteAddr, "reason", err.Error())
	http.Error(w, "request not verified", http.StatusUnauthorized)
}

// writeJSON answers 200 with v, or with an empty body when v is nil, which
// Slack reads as a plain acknowledgement.
func writeJSON(w http.ResponseWriter, v any) {
	if v == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}
