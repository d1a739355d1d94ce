package bot

import "strings"

// DefaultNearMissEmoji is the reaction that records a message as a near
// miss (DEBRIEF_NEARMISS_EMOJI).
const DefaultNearMissEmoji = "😬"

// emojiNames are the names Slack gives the emoji debrief uses by default;
// Discord reports standard emoji as the characters themselves.
var emojiNames = map[string]string{"😬": "grimacing", "📌": "pushpin"}

// EmojiForms returns an emoji as a name (Slack's reaction, "grimacing")
// and as the character (Discord's, "😬"), from either form, colons
// trimmed. A custom emoji has only its name; both forms are then the name.
func EmojiForms(e string) (name, char string) {
	e = strings.Trim(strings.TrimSpace(e), ":")
	if n, ok := emojiNames[e]; ok {
		return n, e
	}
	for c, n := range emojiNames {
		if n == e {
			return n, c
		}
	}
	return e, e
}
