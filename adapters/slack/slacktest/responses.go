package slacktest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// Response is a message the bot posted to a response_url: the answer of a
// slash command that was acknowledged first and answered later.
// https://docs.slack.dev/interactivity/handling-user-interaction#message_responses
type Response struct {
	Path         string // /commands/<team> for slash commands
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
}

// responses is what the fake keeps of the response_url posts; its own
// lock, so that waiting for one does not hold the workspace's.
type responses struct {
	ch chan Response
}

// serveResponse takes a POST to a response_url the fake handed out.
func (s *Server) serveResponse(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	b, err := io.ReadAll(r.Body)
	var resp Response
	if err == nil {
		err = json.Unmarshal(b, &resp)
	}
	if err != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	resp.Path = r.URL.Path
	s.resp.ch <- resp
	_, _ = io.WriteString(w, "ok")
}

// WaitResponse returns the next message posted to a response_url, waiting
// for it until ctx is done.
func (s *Server) WaitResponse(ctx context.Context) (Response, error) {
	select {
	case r := <-s.resp.ch:
		return r, nil
	case <-ctx.Done():
		return Response{}, fmt.Errorf("slacktest: no message on a response_url: %w", ctx.Err())
	}
}

// Answer is a slash command's answer as the user who ran it sees it: the
// answer to its request, or, when the bot acknowledged with an empty 200
// to answer later (a slow machine past its budget), the message it posts
// to the response_url, waited for until ctx is done. A test that reads
// the state after a command must wait for this: a deferred command is
// still running when its request returns.
func (s *Server) Answer(ctx context.Context, d Delivery) (responseType, text string, err error) {
	if len(bytes.TrimSpace(d.Body)) > 0 {
		responseType, text = d.Reply()
		return responseType, text, nil
	}
	r, err := s.WaitResponse(ctx)
	if err != nil {
		return "", "", fmt.Errorf("slacktest: a deferred answer: %w", err)
	}
	return r.ResponseType, r.Text, nil
}
