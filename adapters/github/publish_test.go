package github_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/debrief/debrief/adapters/github"
	"github.com/debrief/debrief/adapters/github/githubtest"
	"github.com/debrief/debrief/workflows"
)

// roundTrip is an http.RoundTripper from a function.
type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// wire records what a client sends and receives.
type wire struct {
	mu   sync.Mutex
	puts []*http.Request
	// got is how many bytes each GET's answer carried.
	got []int64
	// beforePut runs before a PUT is sent, once.
	beforePut func()
}

func (w *wire) client() *http.Client {
	return &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		w.mu.Lock()
		before := w.beforePut
		if r.Method == http.MethodPut {
			w.puts = append(w.puts, r)
			w.beforePut = nil
		}
		w.mu.Unlock()
		if r.Method == http.MethodPut && before != nil {
			before()
		}
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err == nil && r.Method == http.MethodGet {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			w.mu.Lock()
			w.got = append(w.got, int64(len(b)))
			w.mu.Unlock()
			resp.Body = io.NopCloser(strings.NewReader(string(b)))
		}
		return resp, err
	})}
}

// longDoc spools a write-up of about n bytes, in lines.
func longDoc(t *testing.T, n int, seed string) *workflows.Document {
	t.Helper()
	doc, err := workflows.SpoolDocument(t.TempDir(), func(w io.Writer) error {
		for i := 0; i*64 < n; i++ {
			if _, err := fmt.Fprintf(w, "%-63s\n", fmt.Sprintf("- %s line %d: checked the pool", seed, i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { doc.Close() })
	return doc
}

func readAll(t *testing.T, doc *workflows.Document) string {
	t.Helper()
	b, err := io.ReadAll(doc.Reader())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func newPublisher(t *testing.T, fake *githubtest.Server, hc *http.Client) *github.Client {
	t.Helper()
	fc := fake.Config()
	c, err := github.New(github.Config{Token: fc.Token, Repo: fc.Owner + "/" + fc.Repo, APIURL: fake.URL, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPublishStreams: a write-up of megabytes is PUT with its length up
// front (not chunked), arrives whole with its blob SHA, and publishing
// it again commits nothing, without downloading the file to see that.
func TestPublishStreams(t *testing.T) {
	ctx := context.Background()
	fake := githubtest.New(t, githubtest.Config{})
	var w wire
	c := newPublisher(t, fake, w.client())
	doc := longDoc(t, 3<<20, "first")
	url, err := c.Publish(ctx, "k", "postmortems/INC-1.md", doc, "Post-mortem of INC-1")
	if err != nil {
		t.Fatal(err)
	}
	if url != fake.FileURL("postmortems/INC-1.md") {
		t.Errorf("Publish = %q, want the file's page", url)
	}
	h := fake.FileHistory("postmortems/INC-1.md")
	sha, _ := doc.BlobSHA()
	if len(h) != 1 || h[0].Size != doc.Size() || h[0].SHA != sha || h[0].Content != readAll(t, doc) {
		t.Fatalf("history = %d versions (first %d bytes, sha %s), want the document (%d bytes, sha %s)", len(h), h[0].Size, h[0].SHA, doc.Size(), sha)
	}
	w.mu.Lock()
	put := w.puts[0]
	want := int64(len(`{"message":"Post-mortem of INC-1","content":"`)) + int64(base64.StdEncoding.EncodedLen(int(doc.Size()))) + int64(len(`"}`))
	if put.ContentLength != want || len(put.TransferEncoding) != 0 {
		t.Errorf("PUT with Content-Length %d and Transfer-Encoding %v, want %d and none", put.ContentLength, put.TransferEncoding, want)
	}
	w.mu.Unlock()

	// The same document again: a retry whose first attempt committed.
	again := longDoc(t, 3<<20, "first")
	if _, err := c.Publish(ctx, "k", "postmortems/INC-1.md", again, "again"); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.FileHistory("postmortems/INC-1.md")); n != 1 {
		t.Errorf("identical publish committed: %d versions", n)
	}
	w.mu.Lock()
	if last := w.got[len(w.got)-1]; last > 4<<10 {
		t.Errorf("the read before the second publish downloaded %d bytes, want the file's metadata", last)
	}
	w.mu.Unlock()

	// A changed one is an update of that file.
	next := longDoc(t, 3<<20, "second")
	if _, err := c.Publish(ctx, "k", "postmortems/INC-1.md", next, "update"); err != nil {
		t.Fatal(err)
	}
	h = fake.FileHistory("postmortems/INC-1.md")
	if len(h) != 2 || h[1].Content != readAll(t, next) || h[1].Message != "update" {
		t.Errorf("history after an update = %d versions, want 2 ending with the new document", len(h))
	}
}

// TestPublishChangedMeanwhile: when someone commits the file between the
// read and the write, GitHub answers 409 (a stale sha) or 422 (no sha for
// a file that now exists): a plain error, retried, never a drop; the
// retry reads the file again and commits over it.
func TestPublishChangedMeanwhile(t *testing.T) {
	ctx := context.Background()
	for _, exists := range []bool{true, false} {
		t.Run(fmt.Sprintf("exists=%v", exists), func(t *testing.T) {
			fake := githubtest.New(t, githubtest.Config{})
			other := newPublisher(t, fake, nil)
			if exists {
				if _, err := other.Publish(ctx, "k0", "INC-1.md", workflows.TextDocument("# first\n"), "first"); err != nil {
					t.Fatal(err)
				}
			}
			var w wire
			w.beforePut = func() {
				if _, err := other.Publish(ctx, "k1", "INC-1.md", workflows.TextDocument("# someone else's\n"), "meanwhile"); err != nil {
					t.Error(err)
				}
			}
			c := newPublisher(t, fake, w.client())
			doc := longDoc(t, 64<<10, "ours")
			_, err := c.Publish(ctx, "k", "INC-1.md", doc, "ours")
			var perm *workflows.PermanentError
			var ra *workflows.RetryAfterError
			if err == nil || errors.As(err, &perm) || errors.As(err, &ra) || !strings.Contains(err.Error(), "changed meanwhile") {
				t.Fatalf("Publish over a concurrent commit = %v, want a plain error saying it changed meanwhile", err)
			}
			if _, err := c.Publish(ctx, "k", "INC-1.md", doc, "ours"); err != nil {
				t.Fatalf("retry = %v", err)
			}
			h := fake.FileHistory("INC-1.md")
			if last := h[len(h)-1]; last.Content != readAll(t, doc) || last.Message != "ours" {
				t.Errorf("last version %q, want ours", last.Message)
			}
		})
	}
}

// TestFakeDecodesContentsPUT holds the fake to the contents API's body as
// GitHub reads it: JSON with any members in any order, escapes in its
// strings, base64 content (line breaks allowed); a body that is not JSON
// is 400, content that is not base64 or a missing message 422.
func TestFakeDecodesContentsPUT(t *testing.T) {
	fake := githubtest.New(t, githubtest.Config{})
	fc := fake.Config()
	put := func(path, body string) int {
		req, err := http.NewRequest(http.MethodPut, fake.URL+"repos/"+fc.Owner+"/"+fc.Repo+"/contents/"+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+fc.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	content := base64.StdEncoding.EncodeToString([]byte("# INC-1\n\nThe write-up, with a / and é.\n"))
	escaped := strings.ReplaceAll(content[:20], "/", `\/`) + `\n` + content[20:]
	for _, c := range []struct {
		name, path, body string
		want             int
	}{
		{"escapes and other members", "a.md", `{"branch":"main","committer":{"name":"d\"b","email":"b@x","n":[1,2.5e3,true,null]},` +
			`"content":"` + escaped + `", "message":"Post-mortem \u00e9 \ud83d\ude00"}`, http.StatusCreated},
		{"not JSON", "b.md", `{"message":"m","content":"` + content, http.StatusBadRequest},
		{"trailing data", "b.md", `{"message":"m","content":"` + content + `"} x`, http.StatusBadRequest},
		{"not base64", "b.md", `{"message":"m","content":"#not base64!"}`, http.StatusUnprocessableEntity},
		{"cut base64", "b.md", `{"message":"m","content":"` + content[:len(content)-2] + `"}`, http.StatusUnprocessableEntity},
		{"no message", "b.md", `{"content":"` + content + `"}`, http.StatusUnprocessableEntity},
		{"no content", "b.md", `{"message":"m"}`, http.StatusUnprocessableEntity},
	} {
		if got := put(c.path, c.body); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	h := fake.FileHistory("a.md")
	if len(h) != 1 || h[0].Content != "# INC-1\n\nThe write-up, with a / and é.\n" || h[0].Message != "Post-mortem é 😀" {
		t.Errorf("a.md = %+v", h)
	}
	if h := fake.FileHistory("b.md"); len(h) != 0 {
		t.Errorf("refused bodies committed %+v", h)
	}
}

// TestPublishOverTheLimit: a write-up longer than GitHub takes is
// published cut at a line, within the limit, ending with a note that says
// how much of it this is and where the whole is; publishing it again
// commits nothing. One whose first line alone is too long is dropped
// (a permanent error) and writes nothing.
func TestPublishOverTheLimit(t *testing.T) {
	ctx := context.Background()
	const limit = 16 << 10
	fake := githubtest.New(t, githubtest.Config{})
	fc := fake.Config()
	c, err := github.New(github.Config{Token: fc.Token, Repo: fc.Owner + "/" + fc.Repo, APIURL: fake.URL, MaxFile: limit})
	if err != nil {
		t.Fatal(err)
	}
	doc := longDoc(t, 64<<10, "first")
	doc.Whole = "`debrief export INC-1`"
	if _, err := c.Publish(ctx, "k", "postmortems/INC-1.md", doc, "Post-mortem of INC-1"); err != nil {
		t.Fatalf("Publish of %d bytes over a limit of %d = %v, want its start published", doc.Size(), limit, err)
	}
	h := fake.FileHistory("postmortems/INC-1.md")
	if len(h) != 1 {
		t.Fatalf("%d versions, want 1", len(h))
	}
	got := h[0].Content
	body, note, ok := strings.Cut(got, "\n\n---\n\n*Cut here by GitHub's file size limit")
	if !ok || len(got) > limit || len(body) < limit/2 || !strings.HasPrefix(readAll(t, doc), body) || !strings.HasSuffix(body, "\n") {
		t.Fatalf("published %d bytes, want the start cut at a line (within %d) and a note; ends %q", len(got), limit, got[max(0, len(got)-200):])
	}
	if !strings.Contains(note, fmt.Sprintf("the first %d of %d bytes", len(body), doc.Size())) || !strings.Contains(note, "`debrief export INC-1`") {
		t.Errorf("the note %q does not say how much and where the whole is", note)
	}
	if _, err := c.Publish(ctx, "k", "postmortems/INC-1.md", doc, "again"); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.FileHistory("postmortems/INC-1.md")); n != 1 {
		t.Errorf("the same cut write-up published again committed: %d versions", n)
	}

	long, err := workflows.SpoolDocument(t.TempDir(), func(w io.Writer) error {
		_, err := io.WriteString(w, strings.Repeat("#", limit+1)+"\nrest\n")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer long.Close()
	_, err = c.Publish(ctx, "k", "postmortems/INC-2.md", long, "Post-mortem of INC-2")
	var perm *workflows.PermanentError
	if !errors.As(err, &perm) {
		t.Errorf("Publish of a first line over the limit = %v, want a permanent error", err)
	}
	if h := fake.FileHistory("postmortems/INC-2.md"); len(h) != 0 {
		t.Errorf("a document that cannot be cut was published: %d versions", len(h))
	}
}
