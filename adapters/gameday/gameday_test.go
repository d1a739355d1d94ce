package gameday_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/gameday"
	"github.com/debrief/debrief/adapters/gameday/gamedaytest"
	"github.com/debrief/debrief/workflows"
)

var t0 = time.Date(2026, 3, 4, 14, 5, 0, 0, time.UTC)

// TestSignatureDocumented: our header is the documented algorithm,
// computed here from the README's words (HMAC-SHA256 over "<t>.<body>",
// hex), verifies at the receiver, and fails with another secret, another
// body or a stale timestamp.
func TestSignatureDocumented(t *testing.T) {
	body := []byte(`{"action":"inject","drill":"INC-7"}`)
	got := gameday.Sign([]byte("s3cret"), t0, body)
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write([]byte("1772633100." + string(body)))
	if want := "t=1772633100,v1=" + hex.EncodeToString(mac.Sum(nil)); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	for _, tc := range []struct {
		name   string
		secret string
		body   []byte
		now    time.Time
		ok     bool
	}{
		{"as sent", "s3cret", body, t0, true},
		{"4 minutes later", "s3cret", body, t0.Add(4 * time.Minute), true},
		{"another secret", "other", body, t0, false},
		{"another body", "s3cret", []byte(`{"action":"abort","drill":"INC-7"}`), t0, false},
		{"replayed 10 minutes later", "s3cret", body, t0.Add(10 * time.Minute), false},
	} {
		err := gamedaytest.Verify([]byte(tc.secret), got, tc.body, tc.now, 5*time.Minute)
		if (err == nil) != tc.ok {
			t.Errorf("%s: Verify = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
	for _, h := range []string{"", "t=1772633100", "v1=abcd", "t=x,v1=" + strings.Repeat("0", 64)} {
		if err := gamedaytest.Verify([]byte("s3cret"), h, body, t0, time.Minute); err == nil {
			t.Errorf("Verify(%q) accepted", h)
		}
	}
}

// TestCall: the request is the documented JSON, signed, with the key in
// X-Debrief-Delivery; any answer comes back with its status; no answer is
// an error, which says when the request never left.
func TestCall(t *testing.T) {
	now := func() time.Time { return t0 }
	tool := gamedaytest.New(t, "s3cret", now)
	h := &gameday.Hook{URL: tool.URL, Secret: []byte("s3cret"), Now: now}
	req := workflows.HookRequest{Action: "inject", Drill: "INC-7", Title: "Failover", Fault: "kill", Target: "db-1", At: t0}
	ans, err := h.Call(context.Background(), "INC-7/inject/1", req)
	if err != nil || ans.Status != http.StatusOK || !strings.Contains(ans.Body, "exp-1") {
		t.Fatalf("Call = %+v, %v", ans, err)
	}
	got := tool.Requests()
	if len(got) != 1 || got[0].Delivery != "INC-7/inject/1" || got[0].Fault != "kill" || !got[0].At.Equal(t0) {
		t.Errorf("tool got %+v", got)
	}
	raw, _ := json.Marshal(req)
	if !strings.Contains(string(raw), `"at":"2026-03-04T14:05:00Z"`) || !strings.Contains(string(raw), `"action":"inject"`) {
		t.Errorf("body = %s, want RFC 3339 at and the action", raw)
	}

	tool.Answer(http.StatusInternalServerError)
	if ans, err := h.Call(context.Background(), "k", req); err != nil || ans.Status != 500 {
		t.Errorf("a 500 = %+v, %v, want the answer", ans, err)
	}
	bad := &gameday.Hook{URL: tool.URL, Secret: []byte("other"), Now: now}
	if ans, err := bad.Call(context.Background(), "k", req); err != nil || ans.Status != http.StatusUnauthorized {
		t.Errorf("another secret = %+v, %v, want 401", ans, err)
	}
	stale := &gameday.Hook{URL: tool.URL, Secret: []byte("s3cret"), Now: func() time.Time { return t0.Add(-time.Hour) }}
	if ans, _ := stale.Call(context.Background(), "k", req); ans.Status != http.StatusUnauthorized {
		t.Errorf("a stale timestamp = %+v, want 401", ans)
	}
	if n := len(tool.Refused()); n != 2 {
		t.Errorf("tool refused %d, want 2", n)
	}

	tool.Hang()
	h.Timeout = 30 * time.Millisecond
	if _, err := h.Call(context.Background(), "k", req); err == nil || errors.Is(err, workflows.ErrNotSent) || !strings.Contains(err.Error(), "no answer within 30ms") {
		t.Errorf("a hanging tool = %v", err)
	}
	tool.Close()
	if _, err := h.Call(context.Background(), "k", req); !errors.Is(err, workflows.ErrNotSent) {
		t.Errorf("a tool that is down = %v, want ErrNotSent", err)
	}
}

// TestFromEnv: off without the hook; a hook without a secret, or not an
// http(s) URL, stops debrief with the variable's name and no secret.
func TestFromEnv(t *testing.T) {
	for _, tc := range []struct {
		env     map[string]string
		on      bool
		wantErr string
	}{
		{map[string]string{}, false, ""},
		{map[string]string{"DEBRIEF_GAMEDAY_SECRET": "x"}, false, ""},
		{map[string]string{"DEBRIEF_GAMEDAY_HOOK": "https://chaos.example/hook", "DEBRIEF_GAMEDAY_SECRET": "x"}, true, ""},
		{map[string]string{"DEBRIEF_GAMEDAY_HOOK": "https://chaos.example/hook"}, false, "DEBRIEF_GAMEDAY_SECRET"},
		{map[string]string{"DEBRIEF_GAMEDAY_HOOK": "ftp://chaos.example", "DEBRIEF_GAMEDAY_SECRET": "x"}, false, "DEBRIEF_GAMEDAY_HOOK"},
		{map[string]string{"DEBRIEF_GAMEDAY_HOOK": "https://u:pw@chaos.example/?token=t0k", "DEBRIEF_GAMEDAY_SECRET": "x"}, true, ""},
	} {
		svc := &workflows.Service{}
		c, err := gameday.FromEnv(context.Background(), func(k string) string { return tc.env[k] }, svc, nil)
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%v: err = %v, want one naming %s", tc.env, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("%v: %v", tc.env, err)
		case (c != nil) != tc.on || (svc.Hook != nil) != tc.on:
			t.Errorf("%v: component %v, hook %v, want on %v", tc.env, c, svc.Hook, tc.on)
		}
	}
}

// TestRedactedErrors: the hook URL's credentials never reach an error
// (which ends up in a timeline).
func TestRedactedErrors(t *testing.T) {
	h := &gameday.Hook{URL: "http://user:pw@127.0.0.1:1/?token=t0k", Secret: []byte("s")}
	_, err := h.Call(context.Background(), "k", workflows.HookRequest{Action: "abort"})
	if err == nil || strings.Contains(err.Error(), "pw") || strings.Contains(err.Error(), "t0k") {
		t.Errorf("err = %v", err)
	}
}
