package discord_test

import (
	"fmt"
	"math/bits"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/debrief/debrief/adapters/discord"
)

// TestREADMEPermissions: the README asks operators for exactly the
// permissions the code uses, computes their sum right, and puts that sum
// in the install URL.
func TestREADMEPermissions(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	total := strconv.FormatInt(discord.BotPermissionBits, 10)
	if !strings.Contains(readme, "scope=bot+applications.commands&permissions="+total) {
		t.Errorf("README's install URL lacks scope=bot+applications.commands&permissions=%s", total)
	}
	if !strings.Contains(readme, "= **"+total+"**") {
		t.Errorf("README's computation does not end in **%s**", total)
	}
	var values []string
	for _, p := range discord.BotPermissions {
		row := fmt.Sprintf("| `%s` | `1 << %d` | %d |", p.Name, bits.TrailingZeros64(uint64(p.Bit)), p.Bit)
		if !strings.Contains(readme, row) {
			t.Errorf("README lacks the row %s", row)
		}
		values = append(values, strconv.FormatInt(p.Bit, 10))
	}
	rows := regexp.MustCompile("(?m)^\\| `[A-Z_]+` \\| `1 << \\d+` \\|").FindAllString(readme, -1)
	if len(rows) != len(discord.BotPermissions) {
		t.Errorf("README lists %d permissions, the code uses %d", len(rows), len(discord.BotPermissions))
	}
	sum := strings.Join(values, " + ")
	flat := strings.Join(strings.Fields(readme), " ")
	if !strings.Contains(flat, sum+" = **"+total+"**") {
		t.Errorf("README's computation is not %s = %s", sum, total)
	}
	if !strings.Contains(readme, "Message Content Intent") {
		t.Errorf("README does not say to enable the Message Content intent")
	}
}
