package github_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/debrief/debrief/adapters/github"
	"github.com/debrief/debrief/adapters/github/githubtest"
	"github.com/debrief/debrief/store/bolt/bolttest"
	"github.com/debrief/debrief/workflows"
)

// FuzzWebhook sends any signed delivery of any event: applied, ignored or
// refused as malformed; never a 500 with a healthy store, never a panic.
func FuzzWebhook(f *testing.F) {
	marker := workflows.IssueMarker("INC-1#1")
	for _, s := range []struct{ event, body string }{
		{"ping", `{"zen":"z","hook_id":1}`},
		{"issues", `{"action":"closed","issue":{"number":1,"state":"closed","body":"Due: 2026-03-11\n` + marker + `","user":{"login":"debrief-bot"}},"repository":{"full_name":"acme/ops"},"sender":{"login":"octocat"}}`},
		{"issues", `{"action":"edited","issue":{"number":4242,"body":"Due: 9999-99-99 ` + marker + `","user":{"login":"mallory"}},"repository":{"full_name":"acme/ops"}}`},
		{"issues", `{"action":"closed","issue":{"number":1,"pull_request":{}},"repository":{"full_name":"acme/ops"}}`},
		{"issues", `{"action":"reopened","issue":null}`},
		{"push", `{"ref":"refs/heads/main"}`},
	} {
		f.Add(s.event, []byte(s.body))
	}
	db := bolttest.Open(f)
	secret := []byte("s3cret")
	svc := &workflows.Service{Store: db, Config: workflows.DefaultConfig()}
	hook := &github.Webhook{Secret: secret, Repo: "acme/ops", Service: svc}
	f.Fuzz(func(t *testing.T, event string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/github/webhook", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", event)
		req.Header.Set("X-GitHub-Delivery", "d-1")
		req.Header.Set("X-Hub-Signature-256", githubtest.Sign(secret, body))
		rec := httptest.NewRecorder()
		hook.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("%s %q = %d %q", event, body, rec.Code, rec.Body)
		}
	})
}
