package slack_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/debrief/debrief/adapters/slack"
	"go.yaml.in/yaml/v3"
)

// manifest is the part of slack-app-manifest.yml the adapter depends on.
type manifest struct {
	Features struct {
		SlashCommands []struct {
			Command      string `yaml:"command"`
			URL          string `yaml:"url"`
			ShouldEscape bool   `yaml:"should_escape"`
		} `yaml:"slash_commands"`
		Shortcuts []struct {
			Type       string `yaml:"type"`
			CallbackID string `yaml:"callback_id"`
		} `yaml:"shortcuts"`
	} `yaml:"features"`
	OAuth struct {
		Scopes struct {
			Bot []string `yaml:"bot"`
		} `yaml:"scopes"`
	} `yaml:"oauth_config"`
	Settings struct {
		Events struct {
			RequestURL string   `yaml:"request_url"`
			BotEvents  []string `yaml:"bot_events"`
		} `yaml:"event_subscriptions"`
		Interactivity struct {
			Enabled    bool   `yaml:"is_enabled"`
			RequestURL string `yaml:"request_url"`
		} `yaml:"interactivity"`
		SocketMode *bool `yaml:"socket_mode_enabled"`
	} `yaml:"settings"`
}

// TestManifest keeps slack-app-manifest.yml true to the code: the scopes
// are exactly BotScopes, the routes and callback IDs are the ones served,
// and mentions arrive escaped, which the command parser relies on.
func TestManifest(t *testing.T) {
	b, err := os.ReadFile("../../slack-app-manifest.yml")
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("slack-app-manifest.yml: %v", err)
	}
	got := slices.Clone(m.OAuth.Scopes.Bot)
	slices.Sort(got)
	want := scopeNames()
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("manifest bot scopes = %q\nBotScopes          = %q", got, want)
	}
	if len(m.Features.SlashCommands) != 1 {
		t.Fatalf("slash commands = %+v, want /incident", m.Features.SlashCommands)
	}
	if c := m.Features.SlashCommands[0]; c.Command != "/incident" || !strings.HasSuffix(c.URL, "/slack/commands") || !c.ShouldEscape {
		t.Errorf("slash command = %+v, want /incident on /slack/commands with should_escape", c)
	}
	if len(m.Features.Shortcuts) != 1 || m.Features.Shortcuts[0].Type != "message" || m.Features.Shortcuts[0].CallbackID != slack.ShortcutCallback {
		t.Errorf("shortcuts = %+v, want the message shortcut %s", m.Features.Shortcuts, slack.ShortcutCallback)
	}
	if !strings.HasSuffix(m.Settings.Events.RequestURL, "/slack/events") {
		t.Errorf("events request_url = %q", m.Settings.Events.RequestURL)
	}
	ev := slices.Clone(m.Settings.Events.BotEvents)
	slices.Sort(ev)
	if want := []string{"message.channels", "message.groups", "pin_added", "reaction_added"}; !slices.Equal(ev, want) {
		t.Errorf("bot events = %q, want %q", ev, want)
	}
	if !m.Settings.Interactivity.Enabled || !strings.HasSuffix(m.Settings.Interactivity.RequestURL, "/slack/interactivity") {
		t.Errorf("interactivity = %+v", m.Settings.Interactivity)
	}
	if m.Settings.SocketMode == nil || *m.Settings.SocketMode {
		t.Errorf("socket_mode_enabled should be present and false (HTTP is the default)")
	}
}

// TestReadmeExplainsScopes: the README says what each scope is for.
func TestReadmeExplainsScopes(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range slack.BotScopes {
		if !strings.Contains(string(b), "`"+s.Name+"`") {
			t.Errorf("README.md does not explain the scope %s", s.Name)
		}
	}
}
