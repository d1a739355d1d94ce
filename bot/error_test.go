package bot_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/debrief/debrief/bot"
)

func TestErrorCodeAndMessage(t *testing.T) {
	const internal = "Internal error: the operators have the details in the log."
	notFound := bot.Errorf(bot.ENOTFOUND, "No incident %s.", "INC-9")
	tests := []struct {
		name     string
		err      error
		wantCode string
		wantMsg  string
	}{
		{"nil", nil, "", ""},
		{"plain", errors.New("disk on fire"), bot.EINTERNAL, internal},
		{"coded", notFound, bot.ENOTFOUND, "No incident INC-9."},
		{"wrapped", fmt.Errorf("workflows: close: %w", notFound), bot.ENOTFOUND, "No incident INC-9."},
		{"wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", bot.Errorf(bot.EFORBIDDEN, "Only the commander."))), bot.EFORBIDDEN, "Only the commander."},
		{"joined", errors.Join(errors.New("x"), bot.Errorf(bot.ECONFLICT, "No.")), bot.ECONFLICT, "No."},
		{"wrapped plain", fmt.Errorf("store: %w", errors.New("bolt: timeout")), bot.EINTERNAL, internal},
		// %v loses the chain: the detail stays internal.
		{"formatted, not wrapped", fmt.Errorf("x: %v", notFound), bot.EINTERNAL, internal},
	}
	for _, tt := range tests {
		if got := bot.ErrorCode(tt.err); got != tt.wantCode {
			t.Errorf("%s: ErrorCode(%v) = %q, want %q", tt.name, tt.err, got, tt.wantCode)
		}
		if got := bot.ErrorMessage(tt.err); got != tt.wantMsg {
			t.Errorf("%s: ErrorMessage(%v) = %q, want %q", tt.name, tt.err, got, tt.wantMsg)
		}
	}
}

func TestErrorString(t *testing.T) {
	err := bot.Errorf(bot.EINVALID, "Missing the %s.", "title")
	if got, want := err.Error(), "bot: invalid: Missing the title."; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if err.Code != bot.EINVALID || err.Message != "Missing the title." {
		t.Errorf("Errorf = %+v", err)
	}
}
