package discord_test

import (
	"testing"

	"github.com/debrief/debrief/adapters/discord/discordtest"
)

// TestAutocompleteAnswered: an autocomplete interaction (type 4, sent
// while someone types an option) is answered with an autocomplete result
// (type 8) carrying "choices": [] (discordgo would drop the empty list),
// over HTTP in the response and over the gateway through the callback
// endpoint, never with a message. The fake refuses the answer Discord
// would refuse.
func TestAutocompleteAnswered(t *testing.T) {
	for _, m := range []mode{overGateway, overHTTP} {
		t.Run(string(m), func(t *testing.T) {
			h, ch := declared(t, m)
			ctx, cancel := h.waitCtx()
			defer cancel()
			inv := cmd("sev", discordtest.Option{Name: "severity", Type: 4, Value: "", Focused: true})
			ia, err := h.fake.Autocomplete(ctx, h.alice, ch, inv)
			if err != nil {
				t.Fatal(err)
			}
			a, err := ia.Wait(ctx, func(a discordtest.Answer) bool {
				return a.Type != 0 || a.Refused != "" || a.Status != 0 && a.Status != 200
			})
			if err != nil {
				t.Fatal(err)
			}
			if a.Type != 8 || a.Refused != "" || a.Choices == nil || len(a.Choices) != 0 {
				t.Errorf("answer = %+v, want type 8 with an empty choices array", a)
			}
			if m == overGateway {
				calls := h.fake.Calls(discordtest.RouteCallback)
				if last := calls[len(calls)-1]; last.Status != 204 {
					t.Errorf("callback answered %+v, want 204", last)
				}
			}
			if msgs := h.fake.BotMessages(ch); len(msgs) > 0 && msgs[len(msgs)-1] == "debrief only answers /incident." {
				t.Errorf("autocomplete answered with a message")
			}
		})
	}
}
