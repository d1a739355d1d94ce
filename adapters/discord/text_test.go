package discord

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/debrief/debrief/adapters/discord/discordtest"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
)

func TestPlainText(t *testing.T) {
	n := names{
		users:   map[string]string{"111": "alice", "222": "Carol Shaw"},
		channel: func(id string) string { return map[string]string{"333": "general"}[id] },
		role:    func(id string) string { return map[string]string{"444": "oncall"}[id] },
	}
	for _, tc := range []struct{ in, want string }{
		{"plain text", "plain text"},
		{"hi <@111> and <@!222>", "hi @alice and @Carol Shaw"},
		{"<@999>", "@999"},
		{"see <#333> or <#555>", "see #general or #555"},
		{"ping <@&444> <@&666>", "ping @oncall @role"},
		{"<:pushpin:123456> <a:party:789>", ":pushpin: :party:"},
		{"at <t:1772442000:R>", "at 2026-03-02 09:00 UTC"},
		{"a <- b, x < y > z", "a <- b, x < y > z"},
		{"<https://example.com>", "<https://example.com>"},
		{"unclosed <@111", "unclosed <@111"},
		{"**bold** and `code`", "**bold** and `code`"},
	} {
		if got := plainText(tc.in, n); got != tc.want {
			t.Errorf("plainText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSplit(t *testing.T) {
	line := strings.Repeat("x", 30)
	text := strings.Repeat(line+"\n", 10) + line
	parts := split(text, 100)
	if strings.Join(parts, "\n") != text {
		t.Errorf("split then join lost text: %q", parts)
	}
	for _, p := range parts {
		if runeLen(p) > 100 || strings.HasPrefix(p, "\n") {
			t.Errorf("part %q: %d characters", p, runeLen(p))
		}
	}
	// A line longer than the limit is cut where it must be.
	long := strings.Repeat("é", 250)
	parts = split(long, 100)
	if len(parts) != 3 || strings.Join(parts, "") != long {
		t.Errorf("split(250 runes, 100) = %d parts", len(parts))
	}
	if got := split("short", 100); len(got) != 1 || got[0] != "short" {
		t.Errorf("split(short) = %q", got)
	}
}

func TestLabel(t *testing.T) {
	for _, tc := range []struct {
		u    *discordgo.User
		m    *discordgo.Member
		name string
		lbl  string
	}{
		{&discordgo.User{Username: "alice"}, nil, "alice", "alice"},
		{&discordgo.User{Username: "bob", GlobalName: "Bob"}, nil, "Bob", "Bob"},
		{&discordgo.User{Username: "bob", GlobalName: "Bob Dylan"}, nil, "Bob Dylan", "bob"},
		{&discordgo.User{Username: "bob", GlobalName: "Bob Dylan"}, &discordgo.Member{Nick: "bobby"}, "bobby", "bobby"},
		{&discordgo.User{Username: "eve", GlobalName: "<@1>"}, nil, "<@1>", "eve"},
	} {
		p := personOf(tc.u, tc.m)
		if p.name != tc.name || p.label() != tc.lbl {
			t.Errorf("person(%+v, %+v) = %q label %q, want %q and %q", tc.u, tc.m, p.name, p.label(), tc.name, tc.lbl)
		}
	}
}

// TestRateLimited: a 429's wait comes from the JSON retry_after
// (fractional seconds), else Retry-After, else X-RateLimit-Reset-After,
// and is never shorter than asked.
func TestRateLimited(t *testing.T) {
	for _, tc := range []struct {
		header http.Header
		body   string
		want   time.Duration
		global bool
	}{
		{nil, `{"message":"You are being rate limited.","retry_after":1.337,"global":false}`, 1337 * time.Millisecond, false},
		{nil, `{"retry_after":0.0004,"global":true}`, time.Millisecond, true},
		{http.Header{"Retry-After": {"3"}}, `<html>`, 3 * time.Second, false},
		{http.Header{"X-Ratelimit-Reset-After": {"0.5"}, "X-Ratelimit-Global": {"true"}}, ``, 500 * time.Millisecond, true},
		{nil, ``, 0, false},
	} {
		e := rateLimited(tc.header, []byte(tc.body))
		if e.After != tc.want || e.Global != tc.global {
			t.Errorf("rateLimited(%v, %s) = %s global %t, want %s global %t", tc.header, tc.body, e.After, e.Global, tc.want, tc.global)
		}
	}
}

// TestBoundBucketWait: discordgo sleeps before a request whose bucket is
// empty; that sleep is capped, and the unbounded absolute reset dropped.
func TestBoundBucketWait(t *testing.T) {
	h := http.Header{"X-Ratelimit-Reset-After": {"60"}, "X-Ratelimit-Reset": {"1999999999"}, "X-Ratelimit-Remaining": {"0"}}
	boundBucketWait(h)
	if h.Get("X-RateLimit-Reset-After") != "2.000" || h.Get("X-RateLimit-Reset") != "" || h.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("headers after bounding: %v", h)
	}
	h = http.Header{"X-Ratelimit-Reset-After": {"0.25"}}
	if boundBucketWait(h); h.Get("X-RateLimit-Reset-After") != "0.25" {
		t.Errorf("a short reset was changed: %v", h)
	}
}

// TestClassify: what the outbox does with each kind of failure.
func TestClassify(t *testing.T) {
	rest := func(status, code int) error {
		return &discordgo.RESTError{Response: &http.Response{StatusCode: status, Status: http.StatusText(status)},
			Message: &discordgo.APIErrorMessage{Code: code}}
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&rateLimitError{After: time.Second}, "retry"},
		{&rateLimitError{}, "backoff"},
		{rest(500, 0), "backoff"},
		{rest(502, 0), "backoff"},
		{rest(404, codeUnknownChannel), "permanent"},
		{rest(403, codeMissingAccess), "permanent"},
		{rest(403, codeMissingPermissions), "permanent"},
		{rest(401, 0), "permanent"},
		{rest(400, codeInvalidFormBody), "permanent"},
		{rest(409, 0), "backoff"},
		{errors.New("connection reset"), "backoff"},
	} {
		err := classify("op", tc.err)
		var ra *workflows.RetryAfterError
		var pe *workflows.PermanentError
		got := "backoff"
		switch {
		case errors.As(err, &ra):
			got = "retry"
		case errors.As(err, &pe):
			got = "permanent"
		}
		if got != tc.want {
			t.Errorf("classify(%v) = %s (%v), want %s", tc.err, got, err, tc.want)
		}
	}
}

// TestMention: a USER option becomes the neutral mention token, named by
// the label, and the grammar reads it as that person; Discord's own
// <@id> is not the grammar's.
func TestMention(t *testing.T) {
	for _, tc := range []struct {
		id   string
		p    person
		want string
		user bot.User
	}{
		{"111", person{name: "bob", handle: "bob"}, "@{111|bob}", bot.User{ID: "111", Name: "bob"}},
		{"111", person{name: "Bob Dylan", handle: "bob"}, "@{111|bob}", bot.User{ID: "111", Name: "bob"}},
		{"222", person{}, "@{222}", bot.User{ID: "222"}},
		{"333", person{name: "a|b}", handle: "x y"}, "@{333}", bot.User{ID: "333"}},
	} {
		got := mention(tc.id, tc.p)
		if got != tc.want {
			t.Errorf("mention(%s, %+v) = %q, want %q", tc.id, tc.p, got, tc.want)
		}
		cmd, err := bot.Parse("role comms " + got)
		if err != nil || len(cmd.Users) != 1 || cmd.Users[0] != tc.user {
			t.Errorf("Parse(role comms %s) = %+v, %v, want user %+v", got, cmd, err, tc.user)
		}
	}
	if _, err := bot.Parse("role comms <@111>"); err == nil {
		t.Errorf("Parse(role comms <@111>) succeeded: Discord markup must be translated by the adapter")
	}
}

func TestSnowflakeTime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		// The example of https://discord.com/developers/docs/reference#snowflakes.
		{"175928847299117063", time.Date(2016, 4, 30, 11, 18, 25, 796e6, time.UTC)},
		{"0", time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"", time.Time{}},
		{"abc", time.Time{}},
		{"-4194304", time.Time{}},
		{"+4194304", time.Time{}},
		{"99999999999999999999", time.Time{}},
	} {
		got := snowflakeTime(tc.in)
		if !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("snowflakeTime(%q) = %v, want %v in UTC", tc.in, got, tc.want)
		}
	}
}

// TestDiscordTextTimes: a time token becomes Discord's timestamp markup in
// its style, read back by the fake as Discord reads it; the text around it
// is left as it is (Discord escapes nothing); a delimiter that opens no
// token never reaches Discord.
func TestDiscordTextTimes(t *testing.T) {
	at := time.Date(2026, 3, 4, 13, 0, 0, 0, time.UTC)
	for _, style := range []bot.TimeStyle{bot.StyleTime, bot.StyleTimeSeconds, bot.StyleDate, bot.StyleLongDate, bot.StyleDateTime, bot.StyleLongDateTime} {
		got := discordText("at " + bot.TimeToken(bot.Stamp{At: at, Style: style, Fallback: "13:00 UTC"}) + "!")
		ts := discordtest.Timestamps(got)
		if want := "at <t:1772629200:" + string(style) + ">!"; got != want || len(ts) != 1 || ts[0].Unix != at.Unix() || ts[0].Style != string(style) {
			t.Errorf("style %c: %q (%+v), want %q", style, got, ts, want)
		}
	}
	if got := discordText("x \ufdd0t:1:f|y z"); got != "x \ufffdt:1:f|y z" {
		t.Errorf("a broken token = %q", got)
	}
}
