package outbox

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Marker is the text a chat adapter leaves on a channel it creates (Slack's
// purpose, Discord's topic) so that a retry of the create_channel effect
// with key finds the channel an earlier attempt made, when the answer was
// lost or the process died: "debrief INC-4 <key>", the incident read from
// the channel name "inc-4-...". Platforms that cannot create a channel
// idempotently by themselves need it; the key is what makes it work.
func Marker(channelName, key string) string {
	inc := "incident"
	if rest, ok := strings.CutPrefix(channelName, "inc-"); ok {
		n, _, _ := strings.Cut(rest, "-")
		if _, err := strconv.Atoi(n); err == nil {
			inc = "INC-" + n
		}
	}
	return fmt.Sprintf("debrief %s %s", inc, key)
}

// HasMarker reports whether text (a purpose or topic read back) carries
// key's Marker.
func HasMarker(text, key string) bool {
	return key != "" && slices.Contains(strings.Fields(text), key)
}
