package discord_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/debrief/debrief/adapters/discord"
	"github.com/debrief/debrief/adapters/discord/discordtest"
	"github.com/debrief/debrief/workflows"
)

// fileChat is the adapter on a fake guild whose attachment limit is
// limit, told its limit is max, with a channel to post in.
func fileChat(t *testing.T, limit, max int64) (*discord.Discord, *discordtest.Server, string) {
	t.Helper()
	fake := discordtest.New()
	t.Cleanup(fake.Close)
	fake.GrantPermissions(discord.BotPermissionBits)
	fake.UploadLimit = limit
	dc, err := discord.New(&workflows.Service{}, discord.Config{
		BotToken: fake.BotToken, AppID: fake.AppID, GuildID: fake.GuildID, APIURL: fake.APIURL(), MaxAttachment: max,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	defer cancel()
	if err := dc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ch, err := dc.CreateChannel(ctx, "effect-1", "inc-1-file")
	if err != nil {
		t.Fatal(err)
	}
	return dc, fake, ch
}

// writeup is a spooled document of lines, about n bytes long.
func writeup(t *testing.T, n int, firstLine string) (*workflows.Document, string) {
	t.Helper()
	var b strings.Builder
	b.WriteString(firstLine + "\n")
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "- 10:%02d alice: checked the pool, step %d\n", i%60, i)
	}
	doc, err := workflows.SpoolDocument(t.TempDir(), func(w io.Writer) error {
		_, err := io.WriteString(w, b.String())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	doc.Whole = "`debrief export INC-1`"
	t.Cleanup(func() { doc.Close() })
	return doc, b.String()
}

// TestPostFileOverTheLimit: a write-up longer than the guild takes is
// attached cut at the end of a line, within the limit, ending with a note
// that says how much of it this is and where the whole is; the message
// says it too. One that fits is attached whole.
func TestPostFileOverTheLimit(t *testing.T) {
	const limit = 64 << 10
	ctx := t.Context()
	dc, fake, ch := fileChat(t, limit, limit)
	doc, text := writeup(t, 200<<10, "# INC-1: Checkout is down")
	if _, err := dc.PostFile(ctx, "effect-2", ch, "INC-1-postmortem.md", doc, "The write-up of INC-1"); err != nil {
		t.Fatalf("PostFile of %d bytes over a limit of %d = %v, want the start attached", doc.Size(), limit, err)
	}
	msgs := fake.Messages(ch)
	if len(msgs) != 1 || len(msgs[0].Attachments) != 1 {
		t.Fatalf("messages %+v, want one with the file", msgs)
	}
	got := msgs[0].Attachments[0].Content
	body, note, ok := strings.Cut(got, "\n\n---\n\n*Cut here")
	if !ok || len(got) > limit || len(body) < limit/2 || !strings.HasPrefix(text, body) || !strings.HasSuffix(body, "\n") {
		t.Errorf("attached %d bytes, want the write-up's start cut at a line (within %d) and a note; ends %q", len(got), limit, got[max(0, len(got)-200):])
	}
	if !strings.Contains(note, fmt.Sprintf("the first %d bytes of %d bytes", len(body), doc.Size())) || !strings.Contains(note, "`debrief export INC-1`") {
		t.Errorf("the note %q does not say how much and where the whole is", note)
	}
	if m := msgs[0].Content; !strings.Contains(m, "The write-up of INC-1") || !strings.Contains(m, "the first") || !strings.Contains(m, "debrief export INC-1") {
		t.Errorf("message %q, want the comment, how much is attached and where the whole is", m)
	}

	small, smallText := writeup(t, limit-1024, "# INC-1")
	if _, err := dc.PostFile(ctx, "effect-3", ch, "INC-1-postmortem.md", small, "Again"); err != nil {
		t.Fatal(err)
	}
	if msgs := fake.Messages(ch); len(msgs) != 2 || len(msgs[1].Attachments) != 1 || msgs[1].Attachments[0].Content != smallText {
		t.Errorf("a write-up within the limit was not attached whole")
	}
}

// TestPostFileFirstLineTooLong: a document whose first line alone is over
// the limit is not attached; the message says it is too large and where
// it is.
func TestPostFileFirstLineTooLong(t *testing.T) {
	const limit = 4 << 10
	dc, fake, ch := fileChat(t, limit, limit)
	doc, _ := writeup(t, 16<<10, strings.Repeat("#", 8<<10))
	if _, err := dc.PostFile(t.Context(), "effect-2", ch, "INC-1-postmortem.md", doc, "The write-up"); err != nil {
		t.Fatal(err)
	}
	msgs := fake.Messages(ch)
	if len(msgs) != 1 || len(msgs[0].Attachments) != 0 || !strings.Contains(msgs[0].Content, "too large to attach") || !strings.Contains(msgs[0].Content, "debrief export INC-1") {
		t.Errorf("messages %+v, want one saying the file is too large and where it is", msgs)
	}
}

// TestPostFileRefusedAsTooLarge: a guild whose limit is lower than the
// adapter was told refuses the file with 413 (40005); retrying cannot
// change that, so it is a permanent error, not an effect retried forever.
func TestPostFileRefusedAsTooLarge(t *testing.T) {
	dc, fake, ch := fileChat(t, 8<<10, 64<<10)
	doc, _ := writeup(t, 32<<10, "# INC-1")
	_, err := dc.PostFile(t.Context(), "effect-2", ch, "INC-1-postmortem.md", doc, "The write-up")
	var perm *workflows.PermanentError
	if !errors.As(err, &perm) {
		t.Errorf("PostFile refused as too large = %v, want a permanent error", err)
	}
	if msgs := fake.Messages(ch); len(msgs) != 0 {
		t.Errorf("a refused file posted %+v", msgs)
	}
}

// TestPostFileBoostedGuild: told no limit, the adapter attaches within the
// limit of the guild's boost level, read from Discord once: a guild at
// level 2 takes a 12 MiB write-up whole, where a guild without boosts
// would have it cut at 10 MiB.
func TestPostFileBoostedGuild(t *testing.T) {
	dc, fake, ch := fileChat(t, 50<<20, 0)
	fake.PremiumTier = 2
	doc, text := writeup(t, 12<<20, "# INC-1")
	for i, key := range []string{"effect-2", "effect-3"} {
		if _, err := dc.PostFile(t.Context(), key, ch, "INC-1-postmortem.md", doc, "The write-up"); err != nil {
			t.Fatal(err)
		}
		if msgs := fake.Messages(ch); len(msgs) != i+1 || len(msgs[i].Attachments) != 1 || msgs[i].Attachments[0].Content != text {
			t.Fatalf("post %d: a 12 MiB write-up in a guild at boost level 2 was not attached whole", i+1)
		}
	}
	if n := len(fake.Calls(discordtest.RouteGetGuild)); n != 1 {
		t.Errorf("the guild was read %d times for two files, want once", n)
	}
}

// TestPostFileGuildUnreadable: when the guild cannot be read, the file is
// attached within the limit of a guild without boosts rather than refused.
func TestPostFileGuildUnreadable(t *testing.T) {
	dc, fake, ch := fileChat(t, 50<<20, 0)
	fake.PremiumTier = 3
	fake.Inject(discordtest.Fault{Route: discordtest.RouteGetGuild, Times: 1, Status: 500})
	doc, _ := writeup(t, 12<<20, "# INC-1")
	if _, err := dc.PostFile(t.Context(), "effect-2", ch, "INC-1-postmortem.md", doc, "The write-up"); err != nil {
		t.Fatal(err)
	}
	msgs := fake.Messages(ch)
	if len(msgs) != 1 || len(msgs[0].Attachments) != 1 || len(msgs[0].Attachments[0].Content) > discord.DefaultMaxAttachment ||
		!strings.Contains(msgs[0].Attachments[0].Content, "Cut here") {
		t.Errorf("with the guild unreadable, want the write-up cut within %d bytes", discord.DefaultMaxAttachment)
	}
}
