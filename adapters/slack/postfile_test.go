package slack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/slack"
	"github.com/debrief/debrief/adapters/slack/slacktest"
	"github.com/debrief/debrief/workflows"
)

// TestPostFileWaitsForTheShare returns the ts of the message that shares
// the file, also when Slack shows the share only after a few files.info
// looks (it shares asynchronously), and an unknown ID rather than an error
// when it never shows: the file is in the channel, and an error would make
// the outbox upload it again.
func TestPostFileWaitsForTheShare(t *testing.T) {
	for _, c := range []struct {
		name    string
		delay   int
		want    bool // the ts is found
		waits   int  // pauses taken
		lookups int  // files.info calls
	}{
		{"at once", 0, true, 0, 1},
		{"after two looks", 2, true, 2, 3},
		{"never", 100, false, 4, 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			fake := slacktest.New()
			t.Cleanup(fake.Close)
			fake.GrantScopes(scopeNames())
			var mu sync.Mutex
			var waited []time.Duration
			// The clock fires at once: no test sleeps.
			after := func(d time.Duration) <-chan time.Time {
				mu.Lock()
				waited = append(waited, d)
				mu.Unlock()
				ch := make(chan time.Time, 1)
				ch <- time.Time{}
				return ch
			}
			sl := slack.New(&workflows.Service{}, slack.Config{BotToken: fake.BotToken, APIURL: fake.APIURL(), After: after})
			ctx, cancel := context.WithTimeout(t.Context(), waitFor)
			defer cancel()
			ch, err := sl.CreateChannel(ctx, "effect-1", "inc-1-file")
			if err != nil {
				t.Fatal(err)
			}
			fake.DelayShares(c.delay)
			id, err := sl.PostFile(ctx, "effect-2", ch, "INC-1-postmortem.md", workflows.TextDocument("# INC-1\n"), "The write-up")
			if err != nil {
				t.Fatalf("PostFile = %v, want nil: the file is shared", err)
			}
			msgs := fake.Messages(ch)
			if len(msgs) != 1 || len(msgs[0].Files) != 1 {
				t.Fatalf("messages %+v, want one sharing the file", msgs)
			}
			if want := map[bool]string{true: msgs[0].TS, false: ""}[c.want]; id != want {
				t.Errorf("PostFile = %q, want %q (the file is %s)", id, want, msgs[0].Files[0].ID)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(waited) != c.waits {
				t.Errorf("waited %v, want %d pauses", waited, c.waits)
			}
			if n := len(fake.Calls("files.info")); n != c.lookups {
				t.Errorf("%d files.info calls, want %d", n, c.lookups)
			}
		})
	}
}

// uploads records the requests a Slack client sends to the upload URL.
type uploads struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (u *uploads) client() *http.Client {
	return &http.Client{Timeout: 15 * time.Second, Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		if strings.HasPrefix(r.URL.Path, "/upload/") {
			u.mu.Lock()
			u.reqs = append(u.reqs, r)
			u.mu.Unlock()
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// spooled is a document of about n bytes, in lines, spooled to a file.
func spooled(t *testing.T, n int) (*workflows.Document, string) {
	t.Helper()
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "- line %d of a long write-up: checked the pool\n", i)
	}
	doc, err := workflows.SpoolDocument(t.TempDir(), func(w io.Writer) error {
		_, err := io.WriteString(w, b.String())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { doc.Close() })
	return doc, b.String()
}

// TestPostFileStreams: a write-up of megabytes goes up in one POST to the
// upload URL with its Content-Length up front (the length
// files.getUploadURLExternal was given), and is shared whole.
func TestPostFileStreams(t *testing.T) {
	fake := slacktest.New()
	t.Cleanup(fake.Close)
	fake.GrantScopes(scopeNames())
	var up uploads
	sl := slack.New(&workflows.Service{}, slack.Config{BotToken: fake.BotToken, APIURL: fake.APIURL(), HTTPClient: up.client()})
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	defer cancel()
	ch, err := sl.CreateChannel(ctx, "effect-1", "inc-1-file")
	if err != nil {
		t.Fatal(err)
	}
	doc, text := spooled(t, 3<<20)
	if _, err := sl.PostFile(ctx, "effect-2", ch, "INC-1-postmortem.md", doc, "The write-up"); err != nil {
		t.Fatal(err)
	}
	msgs := fake.Messages(ch)
	if len(msgs) != 1 || len(msgs[0].Files) != 1 || msgs[0].Files[0].Content != text || msgs[0].Files[0].Size != doc.Size() {
		t.Fatalf("messages %d, want one sharing the %d-byte write-up", len(msgs), doc.Size())
	}
	if calls := fake.Calls("files.getUploadURLExternal"); len(calls) != 1 || calls[0].Params.Get("length") != fmt.Sprint(doc.Size()) {
		t.Errorf("files.getUploadURLExternal calls %+v, want one with length %d", calls, doc.Size())
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	if len(up.reqs) != 1 {
		t.Fatalf("%d uploads, want 1", len(up.reqs))
	}
	if r := up.reqs[0]; r.ContentLength <= doc.Size() || r.ContentLength > doc.Size()+1024 || len(r.TransferEncoding) != 0 {
		t.Errorf("upload with Content-Length %d and Transfer-Encoding %v, want the form's length (the file's %d and its head and tail)", r.ContentLength, r.TransferEncoding, doc.Size())
	}
}

// TestPostFileUploadFails: when the upload URL fails, PostFile fails with
// an error the outbox retries, nothing is shared, and the retry shares
// the file once.
func TestPostFileUploadFails(t *testing.T) {
	fake := slacktest.New()
	t.Cleanup(fake.Close)
	fake.GrantScopes(scopeNames())
	sl := slack.New(&workflows.Service{}, slack.Config{BotToken: fake.BotToken, APIURL: fake.APIURL()})
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	defer cancel()
	ch, err := sl.CreateChannel(ctx, "effect-1", "inc-1-file")
	if err != nil {
		t.Fatal(err)
	}
	doc, text := spooled(t, 256<<10)
	fake.Inject(slacktest.Fault{Method: slacktest.UploadMethod, Status: http.StatusServiceUnavailable, Times: 1})
	_, err = sl.PostFile(ctx, "effect-2", ch, "INC-1-postmortem.md", doc, "The write-up")
	var perm *workflows.PermanentError
	if err == nil || errors.As(err, &perm) || !strings.Contains(err.Error(), "upload") {
		t.Fatalf("PostFile with the upload URL down = %v, want an error to retry", err)
	}
	if msgs := fake.Messages(ch); len(msgs) != 0 {
		t.Fatalf("a failed upload shared %d messages", len(msgs))
	}
	if _, err := sl.PostFile(ctx, "effect-2", ch, "INC-1-postmortem.md", doc, "The write-up"); err != nil {
		t.Fatalf("retry = %v", err)
	}
	if msgs := fake.Messages(ch); len(msgs) != 1 || len(msgs[0].Files) != 1 || msgs[0].Files[0].Content != text {
		t.Errorf("after the retry: %d messages, want one sharing the file", len(msgs))
	}
}

// TestFakeUploadTakesRawBytes: Slack's upload URL takes the file as the
// raw body as well as a multipart form, and refuses a length other than
// the one announced.
func TestFakeUploadTakesRawBytes(t *testing.T) {
	fake := slacktest.New()
	t.Cleanup(fake.Close)
	api := func(method string, form url.Values) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, fake.APIURL()+method, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+fake.BotToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	upload := func(u, body string) int {
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+fake.BotToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	const body = "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
	short := api("files.getUploadURLExternal", url.Values{"filename": {"a.ics"}, "length": {fmt.Sprint(len(body) + 1)}})
	if got := upload(short["upload_url"].(string), body); got != http.StatusBadRequest {
		t.Errorf("upload of a length other than announced = %d, want 400", got)
	}
	u := api("files.getUploadURLExternal", url.Values{"filename": {"a.ics"}, "length": {fmt.Sprint(len(body))}})
	if got := upload(u["upload_url"].(string), body); got != http.StatusOK {
		t.Fatalf("raw upload = %d, want 200", got)
	}
	files, _ := json.Marshal([]map[string]string{{"id": u["file_id"].(string), "title": "a.ics"}})
	ch := fake.AddChannel("raw", "", fake.BotUserID)
	if out := api("files.completeUploadExternal", url.Values{"files": {string(files)}, "channel_id": {ch}}); out["ok"] != true {
		t.Fatalf("files.completeUploadExternal = %v", out)
	}
	if msgs := fake.Messages(ch); len(msgs) != 1 || len(msgs[0].Files) != 1 || msgs[0].Files[0].Content != body {
		t.Errorf("messages %+v, want one sharing the raw upload", msgs)
	}
}
