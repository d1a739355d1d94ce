package slack

import (
	"strings"
	"testing"
)

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

// TestFromEnv: the SLACK_* variables are read and checked in one place,
// with errors that name the variable and never show a token; they are
// checked when Slack is off too.
func TestFromEnv(t *testing.T) {
	c, err := fromEnv(env(nil))
	if err != nil || c.enabled() || c.KeyEmoji != "pushpin" || !c.ArchiveOnClose || c.APIURL != "https://slack.com/api/" {
		t.Errorf("defaults = %+v, %v", c, err)
	}
	c, err = fromEnv(env(map[string]string{"SLACK_KEY_EMOJI": ":rotating_light:", "SLACK_ARCHIVE_ON_CLOSE": "false",
		"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}))
	if err != nil || !c.enabled() || c.KeyEmoji != "rotating_light" || c.ArchiveOnClose {
		t.Errorf("fromEnv = %+v, %v", c, err)
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"SLACK_BOT_TOKEN": "xoxb-secret-1"}, "SLACK_SIGNING_SECRET"},
		{map[string]string{"SLACK_APP_TOKEN": "xapp-secret-1"}, "SLACK_BOT_TOKEN"},
		{map[string]string{"SLACK_SIGNING_SECRET": "secret-1"}, "SLACK_SIGNING_SECRET is set but SLACK_BOT_TOKEN is not"},
		{map[string]string{"SLACK_BOT_TOKEN": "xoxp-secret-1", "SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN: not a bot token"},
		{map[string]string{"SLACK_BOT_TOKEN": "xoxb-secret-1", "SLACK_APP_TOKEN": "xoxb-secret-2"}, "SLACK_APP_TOKEN: not an app-level token"},
		{map[string]string{"SLACK_KEY_EMOJI": "Push Pin"}, "SLACK_KEY_EMOJI"},
		{map[string]string{"SLACK_ARCHIVE_ON_CLOSE": "sometimes"}, "SLACK_ARCHIVE_ON_CLOSE"},
		{map[string]string{"SLACK_ANNOUNCE_CHANNEL": "#incidents"}, "SLACK_ANNOUNCE_CHANNEL"},
		{map[string]string{"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL"},
	} {
		_, err := fromEnv(env(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("fromEnv(%v) = %v, want an error naming %q", tc.env, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret-") {
			t.Errorf("the error shows a token: %v", err)
		}
	}
}
