package discord

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/debrief/debrief/workflows"
)

// maxBucketWait bounds how long discordgo may sleep before a request whose
// rate-limit bucket Discord said is empty. Waiting a little avoids a 429
// (Discord bans clients that collect too many); a longer wait is left to
// the outbox, which gets the 429 and waits exactly its retry_after without
// holding anything else up.
const maxBucketWait = 2 * time.Second

// transport points discordgo at the configured API base and turns a 429
// into an error the outbox can act on.
//
// discordgo's endpoints are package variables built from discord.com at
// init; rewriting the URL per request, instead of setting them, keeps every
// Session (and parallel tests with their own fakes) independent. A 429 is
// answered here, before discordgo sees it: discordgo would otherwise sleep
// for retry_after (or fail to parse a non-JSON body) and the outbox would
// never learn that Discord asked for a pause.
type transport struct {
	base http.RoundTripper
	from string // discordgo.EndpointAPI
	to   string // Config.APIURL
	// keepBucket leaves the rate-limit headers as Discord sent them,
	// for a caller that waits on them itself (the catch-up's getJSON).
	keepBucket bool
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if rest, ok := strings.CutPrefix(req.URL.String(), t.from); ok {
		u, err := url.Parse(t.to + rest)
		if err != nil {
			// Not the URL in the message: an interaction's carries its
			// token.
			return nil, fmt.Errorf("discord: rewrite the URL for %s: %w", t.to, err)
		}
		req = req.Clone(req.Context())
		req.URL, req.Host = u, u.Host
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return nil, rateLimited(resp.Header, body)
	}
	if !t.keepBucket {
		boundBucketWait(resp.Header)
	}
	return resp, nil
}

// boundBucketWait caps the reset discordgo's rate limiter reads, and drops
// the absolute reset it would otherwise compute from the Date header
// without any bound.
func boundBucketWait(h http.Header) {
	h.Del("X-RateLimit-Reset")
	h.Del("X-RateLimit-Global")
	if v := h.Get("X-RateLimit-Reset-After"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			h.Del("X-RateLimit-Reset-After")
			return
		}
		if f > maxBucketWait.Seconds() {
			h.Set("X-RateLimit-Reset-After", strconv.FormatFloat(maxBucketWait.Seconds(), 'f', 3, 64))
		}
	}
}

// rateLimitError is a 429 from Discord: how long to wait, and whether the
// limit is global (every route) or the route's own.
type rateLimitError struct {
	After   time.Duration
	Global  bool
	Message string
}

func (e *rateLimitError) Error() string {
	scope := "route"
	if e.Global {
		scope = "global"
	}
	return fmt.Sprintf("rate limited (%s): retry after %s: %s", scope, e.After, e.Message)
}

// rateLimited reads a 429: the JSON body's retry_after (seconds, a float:
// https://discord.com/developers/docs/topics/rate-limits#exceeding-a-rate-limit),
// else the Retry-After header (whole seconds), else X-RateLimit-Reset-After.
// Cloudflare's 429s in front of the API come without JSON; the headers
// still say how long.
func rateLimited(h http.Header, body []byte) *rateLimitError {
	var b struct {
		RetryAfter *float64 `json:"retry_after"`
		Global     bool     `json:"global"`
		Message    string   `json:"message"`
	}
	e := &rateLimitError{Message: "You are being rate limited."}
	if json.Unmarshal(body, &b) == nil {
		e.Global = b.Global
		if b.Message != "" {
			e.Message = b.Message
		}
		if b.RetryAfter != nil && *b.RetryAfter > 0 {
			e.After = seconds(*b.RetryAfter)
			return e
		}
	}
	e.Global = e.Global || h.Get("X-RateLimit-Global") != ""
	for _, k := range []string{"Retry-After", "X-RateLimit-Reset-After"} {
		if f, err := strconv.ParseFloat(h.Get(k), 64); err == nil && f > 0 {
			e.After = seconds(f)
			return e
		}
	}
	return e
}

// seconds turns Discord's float seconds into a duration, rounded up to the
// millisecond so that the wait is never shorter than asked.
func seconds(f float64) time.Duration {
	return time.Duration(math.Ceil(f*1000)) * time.Millisecond
}

// Discord's JSON error codes that retrying cannot fix.
// https://discord.com/developers/docs/topics/opcodes-and-status-codes#json-json-error-codes
const (
	codeUnknownChannel     = 10003
	codeUnknownGuild       = 10004
	codeUnknownMessage     = 10008
	codeUnknownOverwrite   = 10009
	codeUnknownUser        = 10013
	codeUnknownWebhook     = 10015
	codeUnknownInteraction = 10062
	codeMaxPins            = 30003
	codeEntityTooLarge     = 40005
	codeAlreadyAcked       = 40060
	codeMissingAccess      = 50001
	codeCannotSendEmpty    = 50006
	codeMissingPermissions = 50013
	codeInvalidFormBody    = 50035
)

// A file over the guild's limit (codeEntityTooLarge) stays over it:
// PostFile cuts to Config.MaxAttachment, and a guild whose limit is lower
// refuses for good.
var permanentCodes = map[int]bool{
	codeUnknownChannel: true, codeUnknownGuild: true, codeUnknownMessage: true, codeUnknownOverwrite: true,
	codeUnknownUser: true, codeUnknownWebhook: true, codeUnknownInteraction: true, codeMaxPins: true,
	codeAlreadyAcked: true, codeMissingAccess: true, codeCannotSendEmpty: true, codeMissingPermissions: true,
	codeInvalidFormBody: true, codeEntityTooLarge: true,
}

// classify maps a REST failure to what the outbox does with it: a 429
// waits exactly its retry_after (*workflows.RetryAfterError); an answer
// retrying cannot fix (the channel is gone, access or a permission is
// missing, the token was revoked, the request is malformed) is dropped and
// noted (*workflows.PermanentError); anything else (5xx, network) is
// retried with backoff. The request URL is left out of the message: an
// interaction's URL carries its token.
func classify(op string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	werr := fmt.Errorf("discord: %s: %w", op, err)
	var rl *rateLimitError
	if errors.As(err, &rl) {
		if rl.After > 0 {
			return &workflows.RetryAfterError{After: rl.After, Err: werr}
		}
		return werr
	}
	var drl *discordgo.RateLimitError
	if errors.As(err, &drl) && drl.TooManyRequests != nil && drl.RetryAfter > 0 {
		return &workflows.RetryAfterError{After: drl.RetryAfter, Err: werr}
	}
	var pe *workflows.PermanentError
	if errors.As(err, &pe) {
		return err
	}
	var re *discordgo.RESTError
	if !errors.As(err, &re) || re.Response == nil {
		return werr
	}
	status := re.Response.StatusCode
	switch {
	case status >= 500:
		return werr
	case re.Message != nil && permanentCodes[re.Message.Code]:
		return &workflows.PermanentError{Err: werr}
	case status == http.StatusBadRequest, status == http.StatusUnauthorized,
		status == http.StatusForbidden, status == http.StatusNotFound:
		return &workflows.PermanentError{Err: werr}
	}
	return werr
}

// restCode is the JSON error code of a REST answer, 0 when err is not one.
func restCode(err error) int {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Message != nil {
		return re.Message.Code
	}
	return 0
}

// isStatus reports whether err is a REST answer with the given status.
func isStatus(err error, status int) bool {
	var re *discordgo.RESTError
	return errors.As(err, &re) && re.Response != nil && re.Response.StatusCode == status
}
