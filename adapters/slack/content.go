package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	slackgo "github.com/slack-go/slack"
)

// content is what message m says, in Slack's markup, and the link it
// points to, if any. Most messages say it in text. Those that do not say
// it there (README, "What goes into the timeline"):
//
//   - forwarded and shared messages, app notifications (GitHub, CI bots)
//     and link shares: attachments, each rendered from its pretext, title,
//     text, fields and link, or its fallback when it has none of those; a
//     share with a comment keeps both, the comment first;
//   - apps that post blocks only: the text of the rich_text, section,
//     header, context and markdown blocks.
//
// A link preview Slack added to a message that has text of its own is
// left out: it repeats the link the text has.
func (s *Slack) content(ctx context.Context, m message) (text, link string) {
	text = m.Text
	if text == "" && m.blocks != nil {
		text = blocksText(*m.blocks)
	}
	if text == "" && len(m.Blocks) > 0 && !isNull(m.Blocks) {
		var b slackgo.Blocks
		if err := json.Unmarshal(m.Blocks, &b); err != nil {
			s.log.DebugContext(ctx, "unreadable blocks", "ts", m.TS, "err", err)
		} else {
			text = blocksText(b)
		}
	}
	atts := m.atts
	if len(m.Attachments) > 0 && !isNull(m.Attachments) {
		if err := json.Unmarshal(m.Attachments, &atts); err != nil {
			s.log.WarnContext(ctx, "unreadable attachments: the message is recorded with its text only", "ts", m.TS, "err", err)
			return text, ""
		}
	}
	if len(atts) == 0 {
		return text, ""
	}
	parts := []string{}
	if text != "" {
		parts = append(parts, text)
	}
	for _, a := range atts {
		share := a.IsShare || a.IsMsgUnfurl
		if !share && m.Text != "" && (a.FromURL != "" || a.OriginalURL != "") {
			continue // a preview of a link the text has
		}
		body, l := attachmentText(a)
		if body == "" {
			continue
		}
		if link == "" {
			link = l
		}
		parts = append(parts, body)
	}
	return strings.Join(parts, "\n"), link
}

// attachmentText renders one attachment as quoted lines, and returns its
// link.
func attachmentText(a slackgo.Attachment) (text, link string) {
	link = a.TitleLink
	if link == "" {
		link = a.FromURL
	}
	if link == "" {
		link = a.OriginalURL
	}
	var lines []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			lines = append(lines, s)
		}
	}
	if a.IsShare || a.IsMsgUnfurl {
		who := a.AuthorName
		if who == "" {
			who = a.AuthorSubname
		}
		if who != "" {
			add("shared a message from " + who + ":")
		} else {
			add("shared a message:")
		}
	}
	add(a.Pretext)
	switch {
	case a.Title != "" && link != "":
		add(a.Title + " (" + link + ")")
	case a.Title != "":
		add(a.Title)
	}
	add(a.Text)
	for _, f := range a.Fields {
		switch {
		case f.Title != "" && f.Value != "":
			add(f.Title + ": " + f.Value)
		default:
			add(f.Title + f.Value)
		}
	}
	if len(a.Blocks.BlockSet) > 0 {
		add(blocksText(a.Blocks))
	}
	if len(lines) == 0 || len(lines) == 1 && (a.IsShare || a.IsMsgUnfurl) {
		add(a.Fallback)
	}
	if a.Title == "" && link != "" && len(lines) > 0 {
		add(link)
	}
	if len(lines) == 0 {
		return "", link
	}
	return "> " + strings.Join(lines, "\n> "), link
}

// blocksText is the text of the blocks people read: rich_text (what a
// person typed, or an app posted), section text and fields, headers,
// context lines and markdown blocks. Buttons, images and dividers say
// nothing.
func blocksText(b slackgo.Blocks) string {
	var out []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	obj := func(t *slackgo.TextBlockObject) {
		if t != nil {
			add(t.Text)
		}
	}
	for _, blk := range b.BlockSet {
		switch blk := blk.(type) {
		case *slackgo.RichTextBlock:
			add(richText(blk.Elements))
		case *slackgo.SectionBlock:
			obj(blk.Text)
			for _, f := range blk.Fields {
				obj(f)
			}
		case *slackgo.HeaderBlock:
			obj(blk.Text)
		case *slackgo.ContextBlock:
			var line []string
			for _, e := range blk.ContextElements.Elements {
				if t, ok := e.(*slackgo.TextBlockObject); ok && strings.TrimSpace(t.Text) != "" {
					line = append(line, strings.TrimSpace(t.Text))
				}
			}
			add(strings.Join(line, " "))
		case *slackgo.MarkdownBlock:
			add(blk.Text)
		}
	}
	return strings.Join(out, "\n")
}

// richText renders rich_text elements in Slack's text markup (mentions as
// <@U…>, links as <url|text>), so that plainText treats them as it treats
// a message's text.
func richText(elems []slackgo.RichTextElement) string {
	var b strings.Builder
	section := func(es []slackgo.RichTextSectionElement) {
		for _, e := range es {
			switch e := e.(type) {
			case *slackgo.RichTextSectionTextElement:
				b.WriteString(e.Text)
			case *slackgo.RichTextSectionLinkElement:
				if e.Text != "" {
					b.WriteString("<" + e.URL + "|" + e.Text + ">")
				} else {
					b.WriteString("<" + e.URL + ">")
				}
			case *slackgo.RichTextSectionUserElement:
				b.WriteString("<@" + e.UserID + ">")
			case *slackgo.RichTextSectionChannelElement:
				b.WriteString("<#" + e.ChannelID + ">")
			case *slackgo.RichTextSectionEmojiElement:
				b.WriteString(":" + e.Name + ":")
			case *slackgo.RichTextSectionBroadcastElement:
				b.WriteString("<!" + e.Range + ">")
			}
		}
	}
	for i, el := range elems {
		if i > 0 {
			b.WriteString("\n")
		}
		switch el := el.(type) {
		case *slackgo.RichTextSection:
			section(el.Elements)
		case *slackgo.RichTextQuote:
			b.WriteString("> ")
			section(el.Elements)
		case *slackgo.RichTextPreformatted:
			section(el.Elements)
		case *slackgo.RichTextList:
			for j, item := range el.Elements {
				if j > 0 {
					b.WriteString("\n")
				}
				b.WriteString("• ")
				if sec, ok := item.(*slackgo.RichTextSection); ok {
					section(sec.Elements)
				}
			}
		}
	}
	return b.String()
}

func isNull(raw []byte) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// borrowedJSON is a JSON value kept as the bytes of the body it was
// decoded from, without the copy json.RawMessage makes: every message a
// person types carries its blocks, read only when its text is empty. It
// is valid as long as the body is, which outlives the event's handling
// (the request's body, the Socket Mode envelope's payload) and nothing
// keeps it longer.
type borrowedJSON []byte

func (b *borrowedJSON) UnmarshalJSON(data []byte) error {
	*b = data
	return nil
}

// flexTS is a Slack timestamp that arrives as a string ("1712345678.000100",
// or "1712345678" without a fraction) or, in some payloads, as a bare JSON
// number: either is kept as its text.
type flexTS string

func (t *flexTS) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*t = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = flexTS(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("slack: a ts that is neither a string nor a number: %w", err)
		}
		*t = flexTS(n.String())
	}
	return nil
}

// fileAccessCheck is the file_access of a file shared over Slack Connect:
// the event carries its ID only, and files.info has the rest.
const fileAccessCheck = "check_file_info"

// fileTTL is how long a files.info answer is kept: a file shared in one
// message is usually named again only by its redeliveries.
const fileTTL = 10 * time.Minute

type fileEntry struct {
	ready   chan struct{}
	f       file
	err     error
	expires time.Time
}

type fileCache struct {
	mu sync.Mutex
	m  map[string]*fileEntry
}

// fileInfo completes f (name, title, permalink) from files.info, as user
// names are looked up: within ctx's budget, one request per file however
// many wait for it, and a request that outlives the budget goes on to
// fill the cache. Past the budget f is returned as it came (its ID).
func (s *Slack) fileInfo(ctx context.Context, f file) file {
	if f.ID == "" {
		return f
	}
	s.fileInfos.mu.Lock()
	if s.fileInfos.m == nil {
		s.fileInfos.m = map[string]*fileEntry{}
	}
	e, ok := s.fileInfos.m[f.ID]
	if ok {
		select {
		case <-e.ready:
			if !s.now().Before(e.expires) {
				ok = false
			}
		default:
		}
	}
	if !ok {
		e = &fileEntry{ready: make(chan struct{})}
		s.fileInfos.m[f.ID] = e
		go func() {
			got, err := s.fetchFile(ctx, f.ID)
			ttl := fileTTL
			if err != nil {
				ttl = userFailTTL
				s.log.WarnContext(ctx, "files.info failed: the file is recorded by its ID", "file", f.ID, "err", err)
			}
			e.f, e.err, e.expires = got, err, s.now().Add(ttl)
			close(e.ready)
		}()
	}
	s.fileInfos.mu.Unlock()
	select {
	case <-e.ready:
		if e.err != nil {
			return f
		}
		out := f
		out.Name, out.Title, out.Permalink = e.f.Name, e.f.Title, e.f.Permalink
		return out
	case <-ctx.Done():
		s.log.InfoContext(ctx, "files.info slower than the budget: the file is recorded by its ID", "file", f.ID)
		return f
	}
}

func (s *Slack) fetchFile(ctx context.Context, id string) (file, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	f, _, _, err := s.api.GetFileInfoContext(ctx, id, 1, 1)
	if err != nil {
		return file{}, fmt.Errorf("slack: files.info %s: %w", id, err)
	}
	return file{ID: f.ID, Name: f.Name, Title: f.Title, Permalink: f.Permalink}, nil
}

// eventFiles returns the files of an event that only files.info can name.
func eventFiles(e *inner) []file {
	var out []file
	for _, m := range []*message{&e.message, e.Message} {
		if m == nil {
			continue
		}
		for _, f := range m.Files {
			if f.FileAccess == fileAccessCheck || f.Name == "" && f.Title == "" && f.Permalink == "" {
				out = append(out, f)
			}
		}
	}
	return out
}

// prefetchFiles asks files.info for every file at once, waiting at most
// for ctx (the event's lookup budget).
func (s *Slack) prefetchFiles(ctx context.Context, fs []file) {
	var wg sync.WaitGroup
	for _, f := range fs {
		wg.Go(func() { s.fileInfo(ctx, f) })
	}
	wg.Wait()
}
