package github

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/debrief/debrief/internal/httpbody"
	"github.com/debrief/debrief/workflows"
)

// MaxWebhookBody bounds a webhook delivery. GitHub caps payloads at 25 MB,
// but an issues event is a few kilobytes; anything near a mebibyte is not
// one we want.
const MaxWebhookBody = 1 << 20

// IssueApplier is what the webhook needs from the workflows: Service does
// it (ApplyIssue).
type IssueApplier interface {
	// ApplyIssue applies what GitHub says about a countermeasure's issue,
	// idempotently, and returns once it is committed.
	ApplyIssue(ctx context.Context, st workflows.IssueState) (bool, error)
}

var _ IssueApplier = (*workflows.Service)(nil)

// Webhook serves POST /github/webhook: GitHub's issues events for the
// countermeasure issues. Register it on the repository (or organisation)
// with content type application/json, the secret GITHUB_WEBHOOK_SECRET and
// the "Issues" event.
//
// A delivery is answered 200 only after what it changed is committed, so a
// failure (500) shows in GitHub's delivery log; GitHub does not retry it,
// which is why the reconcile job exists.
type Webhook struct {
	// Secret is GITHUB_WEBHOOK_SECRET. Without one every delivery is
	// refused: an unsigned webhook would let anyone close countermeasures.
	Secret  []byte
	Repo    string // owner/name: events from other repositories are ignored
	Service IssueApplier
	// Me returns the login of the tracker's token (Client.Login): an issue
	// it created may tie a countermeasure not yet tied to its issue. When
	// nil, or when it fails, no delivery ties one; the outbox's own filing
	// and the reconcile still do.
	Me  func(context.Context) (string, error)
	Log *slog.Logger
}

// handledActions are the issue events that can change a countermeasure:
// each delivers the whole issue, which is applied as a snapshot; a
// transferred one also the issue at its new place (changes.new_issue), a
// deleted one the issue as it was.
var handledActions = map[string]bool{
	"closed": true, "reopened": true, "edited": true, "assigned": true, "unassigned": true,
	"transferred": true, "deleted": true,
}

// transferChanges is the changes object of a transferred issues event,
// which go-github's EditChange does not carry: the issue in the
// repository it was transferred to.
type transferChanges struct {
	Changes struct {
		NewIssue      *gh.Issue      `json:"new_issue"`
		NewRepository *gh.Repository `json:"new_repository"`
	} `json:"changes"`
}

func (h *Webhook) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.New(slog.DiscardHandler)
}

// ServeHTTP verifies and handles one delivery: 413 when the body is over
// MaxWebhookBody, 401 when the secret is unset or the X-Hub-Signature-256 is
// missing or wrong (nothing is read into the state), 400 for a payload that
// does not parse, 500 when the change could not be committed, and 200
// otherwise, including for pings, other events and issues that are not
// countermeasures.
func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	delivery := gh.DeliveryID(r)
	log := h.log().With("platform", "github", "event_id", delivery)
	if len(h.Secret) == 0 {
		log.WarnContext(r.Context(), "webhook refused: GITHUB_WEBHOOK_SECRET is not set")
		http.Error(w, "webhook secret not configured", http.StatusUnauthorized)
		return
	}
	if r.Header.Get(gh.SHA256SignatureHeader) == "" {
		// ValidatePayload would fall back to the SHA-1 header; debrief
		// accepts only SHA-256 signatures.
		http.Error(w, "missing X-Hub-Signature-256", http.StatusUnauthorized)
		return
	}
	r.Header.Del(gh.SHA1SignatureHeader)
	// Read under the process-wide budget of unverified bodies, then
	// verified from memory.
	body, ok := httpbody.Read(w, r, MaxWebhookBody)
	if !ok {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	payload, err := gh.ValidatePayload(r, h.Secret)
	if err != nil {
		log.WarnContext(r.Context(), "webhook refused", "err", err)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	event := gh.WebHookType(r)
	if event != "issues" {
		// ping, and anything else the hook was set up to send.
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("ignored\n"))
		return
	}
	parsed, err := gh.ParseWebHook(event, payload)
	ev, ok := parsed.(*gh.IssuesEvent)
	if err != nil || !ok || ev.Issue == nil {
		http.Error(w, "malformed issues event", http.StatusBadRequest)
		return
	}
	if !handledActions[ev.GetAction()] || ev.Issue.IsPullRequest() {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("ignored\n"))
		return
	}
	// Events from another repository (an organisation's webhook) count
	// only for a countermeasure whose issue was transferred there: the
	// Service matches them by repository and number (IssueState.Repo).
	from := otherRepo(ev.GetRepo().GetFullName(), h.Repo)
	st := stateOf(ev.Issue, h.Repo)
	if st.Repo == "" {
		st.Repo = from
	}
	switch ev.GetAction() {
	case "deleted":
		// The payload is the issue as it was: its body's marker finds the
		// countermeasure.
		st.Gone = true
	case "transferred":
		var tc transferChanges
		if err := json.Unmarshal(payload, &tc); err != nil || tc.Changes.NewIssue == nil {
			http.Error(w, "malformed transferred event: no changes.new_issue", http.StatusBadRequest)
			return
		}
		moved := stateOf(tc.Changes.NewIssue, h.Repo)
		if moved.Repo == "" && tc.Changes.NewIssue.GetRepositoryURL() == "" {
			moved.Repo = otherRepo(tc.Changes.NewRepository.GetFullName(), h.Repo)
		}
		moved.MovedFrom = workflows.IssueRef{Repo: st.Repo, Number: st.Number}
		ev.Issue = tc.Changes.NewIssue // its creator, for ByUs below
		st = moved
	}
	if h.Me != nil {
		// Only a delivery for an issue not yet tied needs this; the login
		// is cached after the first ask, so it costs nothing later.
		if me, err := h.Me(r.Context()); err == nil {
			st.ByUs = strings.EqualFold(ev.Issue.GetUser().GetLogin(), me)
		} else {
			log.WarnContext(r.Context(), "who the token is unknown: the issue's creator is not trusted", "err", err)
		}
	}
	st.Actor = ev.GetSender().GetLogin()
	st.Delivery = "github:" + delivery
	if delivery == "" {
		st.Delivery = ""
	}
	changed, err := h.Service.ApplyIssue(r.Context(), st)
	if err != nil {
		log.ErrorContext(r.Context(), "webhook not applied", "issue", st.Number, "action", ev.GetAction(), "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	log.InfoContext(r.Context(), "webhook applied", "issue", st.Number, "action", ev.GetAction(), "changed", changed)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("ok\n"))
}
