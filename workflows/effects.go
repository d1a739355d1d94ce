package workflows

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows/outbox"
)

// The effect kinds. Each is a payload type, which names its kind, and one
// row of the table in effectKinds, which says who delivers it, whether it
// waits for the incident's channel and what its delivery unlocks. A new
// kind is a payload type and a row here, the code that enqueues it, and
// the sink method that performs it.

// CreateChannel creates the incident's channel; once delivered the channel
// is recorded on the incident and the effects waiting for it go.
type CreateChannel struct {
	Name string `json:"name"`
}

// Post posts a message; Pin pins it once posted.
type Post struct {
	Text string `json:"text"`
	Pin  bool   `json:"pin,omitempty"`
}

// Invite adds people to the channel.
type Invite struct {
	Users []bot.User `json:"users"`
}

// PinMessage pins a message posted before.
type PinMessage struct {
	MessageID string `json:"message_id"`
}

// SetTopic sets the channel's topic.
type SetTopic struct {
	Topic string `json:"topic"`
}

// Archive archives (Slack) or locks (Discord) the channel.
type Archive struct{}

// PostFile attaches a file (the meeting's .ics, the write-up) with Comment
// as its message; where the Chat cannot attach files, the content is
// posted as a message. The write-up is not copied into the outbox (at a
// million entries it is tens of megabytes, rendered inside the command's
// write transaction): Writeup names it, and it is rendered at delivery
// from the incident of the effect. A record with Content (one queued
// before) is delivered with that Content.
type PostFile struct {
	Name    string      `json:"name"`
	Content string      `json:"content,omitempty"`
	Writeup *WriteupRef `json:"writeup,omitempty"`
	Comment string      `json:"comment"`
}

// Publish commits the write-up at Path in the Publisher's repository: the
// write-up Writeup names, rendered at delivery, or, in a record queued
// before references, its Content.
type Publish struct {
	Path    string      `json:"path"`
	Content string      `json:"content,omitempty"`
	Writeup *WriteupRef `json:"writeup,omitempty"`
	Message string      `json:"message"`
}

// WriteupRef names the write-up of the effect's incident (Effect.IncidentID)
// instead of carrying it: it is rendered when the effect is delivered, as
// the incident stands then, times in Zone.
type WriteupRef struct {
	Zone string `json:"zone"`
}

// FileIssue files countermeasure N as an issue in the Tracker; once
// delivered, the countermeasure is filed and the link posted.
type FileIssue struct {
	N     int   `json:"n"`
	Issue Issue `json:"issue"`
}

// Direct sends Text to User alone where the Chat can (DirectPoster);
// elsewhere it is posted with a mention in the effect's channel.
type Direct struct {
	User bot.User `json:"user"`
	Text string   `json:"text"`
}

// HookInject asks the chaos tool to inject a drill's fault. It is called
// at most once: a second call could inject the fault twice, so any failure
// is recorded in the timeline, for the responders to inject by hand.
type HookInject struct {
	HookRequest
}

// HookAbort asks the chaos tool to stop a drill's fault. Stopping twice is
// harmless and stopping matters, so it is retried until the tool answers.
type HookAbort struct {
	HookRequest
}

// PostButton posts Text with one button that runs Command (the words
// after /incident) as whoever clicks it: the Declare of a suggested alert
// or a near miss. Where the Chat has no buttons (ButtonPoster), the
// command is written out for people to type.
type PostButton struct {
	Text    string `json:"text"`
	Label   string `json:"label"`
	Command string `json:"command"`
}

// EffectKind implementations name each payload's kind as it is stored.
func (CreateChannel) EffectKind() store.EffectKind { return "create_channel" }
func (Post) EffectKind() store.EffectKind          { return "post" }
func (Invite) EffectKind() store.EffectKind        { return "invite" }
func (PinMessage) EffectKind() store.EffectKind    { return "pin" }
func (SetTopic) EffectKind() store.EffectKind      { return "topic" }
func (Archive) EffectKind() store.EffectKind       { return "archive" }
func (PostFile) EffectKind() store.EffectKind      { return "file" }
func (Publish) EffectKind() store.EffectKind       { return "publish" }
func (FileIssue) EffectKind() store.EffectKind     { return "file_issue" }
func (Direct) EffectKind() store.EffectKind        { return "direct" }
func (HookInject) EffectKind() store.EffectKind    { return "gameday_inject" }
func (HookAbort) EffectKind() store.EffectKind     { return "gameday_abort" }
func (PostButton) EffectKind() store.EffectKind    { return "post_button" }

// publishPlatform names the Publisher in lanes and notes: it is not a chat.
const publishPlatform bot.Platform = "publish"

// kinds builds a Service's effect table; its rows reach the Service's
// sinks and store.
type kinds struct{ s *Service }

// table is the table of effect kinds: one row per kind. The sinks are the
// platform's Chat, the Tracker and the Publisher; their names are the
// lanes' prefixes and the platform named when a drop is noted.
func (k kinds) table() []outbox.Spec {
	s := k.s
	chat := outbox.Sink{Name: "chat", PerPlatform: true, Ready: func(p bot.Platform) bool { return s.Chats[p] != nil }}
	tracker := outbox.Sink{Name: string(trackerPlatform), Ready: func(bot.Platform) bool { return s.Tracker != nil }}
	publisher := outbox.Sink{Name: string(publishPlatform), Ready: func(bot.Platform) bool { return s.Publisher != nil }}
	hook := outbox.Sink{Name: string(hookPlatform), Ready: func(bot.Platform) bool { return s.Hook != nil }}
	return []outbox.Spec{
		&outbox.Kind[CreateChannel]{
			Sink: chat,
			Deliver: func(ctx context.Context, a outbox.Attempt, p CreateChannel) (outbox.Result, error) {
				id, err := s.Chats[a.Effect.Platform].CreateChannel(ctx, a.Effect.Key, p.Name)
				return outbox.Result{ID: id}, err
			},
			Delivered: k.channelCreated,
			Legacy:    func(o store.LegacyEffect) CreateChannel { return CreateChannel{Name: o.Name} },
		},
		&outbox.Kind[Post]{
			Sink: chat, NeedsChannel: true,
			Deliver: func(ctx context.Context, a outbox.Attempt, p Post) (outbox.Result, error) {
				id, err := s.Chats[a.Effect.Platform].Post(ctx, a.Effect.Key, a.Channel, p.Text)
				return outbox.Result{ID: id}, err
			},
			Delivered: k.posted,
			Legacy:    func(o store.LegacyEffect) Post { return Post{Text: o.Text, Pin: o.Pin} },
		},
		&outbox.Kind[Invite]{
			Sink: chat, NeedsChannel: true,
			Deliver: func(ctx context.Context, a outbox.Attempt, p Invite) (outbox.Result, error) {
				return outbox.Result{}, s.Chats[a.Effect.Platform].Invite(ctx, a.Channel, p.Users)
			},
			Legacy: func(o store.LegacyEffect) Invite { return Invite{Users: o.Users} },
		},
		&outbox.Kind[PinMessage]{
			Sink: chat, NeedsChannel: true,
			Deliver: func(ctx context.Context, a outbox.Attempt, p PinMessage) (outbox.Result, error) {
				return outbox.Result{}, s.Chats[a.Effect.Platform].Pin(ctx, a.Channel, p.MessageID)
			},
			Legacy: func(o store.LegacyEffect) PinMessage { return PinMessage{MessageID: o.MessageID} },
		},
		&outbox.Kind[SetTopic]{
			Sink: chat, NeedsChannel: true,
			Deliver: func(ctx context.Context, a outbox.Attempt, p SetTopic) (outbox.Result, error) {
				return outbox.Result{}, s.Chats[a.Effect.Platform].SetTopic(ctx, a.Channel, p.Topic)
			},
			Legacy: func(o store.LegacyEffect) SetTopic { return SetTopic{Topic: o.Text} },
		},
		&outbox.Kind[Archive]{
			Sink: chat, NeedsChannel: true,
			Deliver: func(ctx context.Context, a outbox.Attempt, _ Archive) (outbox.Result, error) {
				return outbox.Result{}, s.Chats[a.Effect.Platform].Archive(ctx, a.Channel)
			},
			Legacy: func(store.LegacyEffect) Archive { return Archive{} },
		},
		&outbox.Kind[PostFile]{
			Sink: chat, NeedsChannel: true,
			Deliver: func(ctx context.Context, a outbox.Attempt, p PostFile) (outbox.Result, error) {
				c := s.Chats[a.Effect.Platform]
				doc, err := s.documentOf(ctx, a.Effect.IncidentID, p.Content, p.Writeup, true)
				if err != nil {
					return outbox.Result{}, err
				}
				defer doc.Close()
				if fp, ok := c.(FilePoster); ok {
					id, err := fp.PostFile(ctx, a.Effect.Key, a.Channel, p.Name, doc, p.Comment)
					return outbox.Result{ID: id}, err
				}
				text, whole, err := doc.Text(maxInlineFile)
				if err != nil {
					return outbox.Result{}, err
				}
				if !whole {
					text += "… (cut at " + strconv.Itoa(len(text)) + " of " + strconv.FormatInt(doc.Size(), 10) + " bytes"
					if doc.Whole != "" {
						text += "; the whole: " + doc.Whole
					}
					text += ")"
				}
				id, err := c.Post(ctx, a.Effect.Key, a.Channel, p.Comment+"\n"+p.Name+":\n```\n"+text+"\n```")
				return outbox.Result{ID: id}, err
			},
			Legacy: func(o store.LegacyEffect) PostFile {
				return PostFile{Name: o.Name, Content: o.Text, Comment: o.Comment}
			},
		},
		&outbox.Kind[Direct]{
			Sink: chat, NeedsChannel: true,
			Deliver: func(ctx context.Context, a outbox.Attempt, p Direct) (outbox.Result, error) {
				c := s.Chats[a.Effect.Platform]
				if dp, ok := c.(DirectPoster); ok && p.User.ID != "" {
					id, err := dp.PostDirect(ctx, a.Effect.Key, p.User, p.Text)
					if !errors.Is(err, ErrNoDirect) {
						return outbox.Result{ID: id}, err
					}
					s.log().InfoContext(ctx, "direct message refused, posting in the channel", "incident", a.Effect.IncidentID,
						"platform", a.Effect.Platform, "user", p.User.ID, "err", err)
				}
				text := p.Text
				if p.User.ID != "" {
					text = p.User.Display() + " " + text
				}
				id, err := c.Post(ctx, a.Effect.Key, a.Channel, text)
				return outbox.Result{ID: id}, err
			},
			Legacy: func(o store.LegacyEffect) Direct {
				d := Direct{Text: o.Text}
				if len(o.Users) > 0 {
					d.User = o.Users[0]
				}
				return d
			},
		},
		&outbox.Kind[PostButton]{
			Sink: chat, NeedsChannel: true,
			Deliver: func(ctx context.Context, a outbox.Attempt, p PostButton) (outbox.Result, error) {
				c := s.Chats[a.Effect.Platform]
				if bp, ok := c.(ButtonPoster); ok {
					id, err := bp.PostButton(ctx, a.Effect.Key, a.Channel, p.Text, p.Label, p.Command)
					return outbox.Result{ID: id}, err
				}
				id, err := c.Post(ctx, a.Effect.Key, a.Channel, p.Text+"\n"+p.Label+": /incident "+p.Command)
				return outbox.Result{ID: id}, err
			},
			Legacy: func(o store.LegacyEffect) PostButton { return PostButton{Text: o.Text} },
		},
		&outbox.Kind[Publish]{
			Sink: publisher,
			Deliver: func(ctx context.Context, a outbox.Attempt, p Publish) (outbox.Result, error) {
				// A publisher that can take only the start of it points
				// elsewhere, not to the file it writes.
				doc, err := s.documentOf(ctx, a.Effect.IncidentID, p.Content, p.Writeup, false)
				if err != nil {
					return outbox.Result{}, err
				}
				defer doc.Close()
				url, err := s.Publisher.Publish(ctx, a.Effect.Key, p.Path, doc, p.Message)
				return outbox.Result{ID: url}, err
			},
			Delivered: k.published,
			Legacy:    func(o store.LegacyEffect) Publish { return Publish{Path: o.Name, Content: o.Text, Message: o.Comment} },
		},
		&outbox.Kind[HookInject]{
			Sink: hook, AtMostOnce: true,
			Deliver: func(ctx context.Context, a outbox.Attempt, p HookInject) (outbox.Result, error) {
				return k.callHook(ctx, a, p.HookRequest, true)
			},
			Delivered: func(tx store.Tx, a outbox.Attempt, p HookInject, r outbox.Result) error {
				return k.hookAnswered(tx, a, p.HookRequest, r)
			},
		},
		&outbox.Kind[HookAbort]{
			Sink: hook,
			Deliver: func(ctx context.Context, a outbox.Attempt, p HookAbort) (outbox.Result, error) {
				return k.callHook(ctx, a, p.HookRequest, false)
			},
			Delivered: func(tx store.Tx, a outbox.Attempt, p HookAbort, r outbox.Result) error {
				return k.hookAnswered(tx, a, p.HookRequest, r)
			},
		},
		&outbox.Kind[FileIssue]{
			Sink: tracker, AtMostOnce: true,
			Deliver: func(ctx context.Context, a outbox.Attempt, p FileIssue) (outbox.Result, error) {
				is, err := s.Tracker.FileIssue(ctx, a.Effect.Key, p.Issue, a.Retry)
				return outbox.Result{ID: is.URL, Value: is}, err
			},
			Delivered: k.issueFiled,
			Legacy: func(o store.LegacyEffect) FileIssue {
				return FileIssue{N: o.N, Issue: Issue{Title: o.Name, Body: o.Text, Labels: o.Labels, Assignee: o.Assignee}}
			},
		},
	}
}

// maxInlineFile is how much of a document a Chat without files
// (FilePoster) gets in its message: no chat shows tens of megabytes in
// one message, and reading them into one would hold them all in memory.
const maxInlineFile = 1 << 20

// documentOf returns what a PostFile or Publish effect delivers: content
// (an invite, or a record queued before references), in memory, or the
// write-up ref names, rendered at delivery into a spool file
// (writeupDocument), its Whole naming the published file when published
// is set (wholeWriteup). The caller closes it.
func (s *Service) documentOf(ctx context.Context, incidentID, content string, ref *WriteupRef, published bool) (*Document, error) {
	if ref == nil {
		return TextDocument(content), nil
	}
	return s.writeupDocument(ctx, incidentID, *ref, published)
}

// writeupDocument renders the write-up a WriteupRef names, for delivery,
// into a spool file (SpoolDocument in SpoolDir): the sinks read it as
// they send it, as often as they need (its length up front for Slack,
// its blob SHA and its base64 for GitHub), and it is never whole in
// memory. It is read from the store a page at a time (WriteExport),
// never in a write transaction, once per attempt, as the incident stands
// then. An incident that is gone can never be rendered: the effect is
// dropped. A spool that cannot be written is an error like a platform's
// outage: the effect stays and is tried again.
func (s *Service) writeupDocument(ctx context.Context, incidentID string, ref WriteupRef, published bool) (*Document, error) {
	loc, err := time.LoadLocation(ref.Zone)
	if err != nil {
		loc = s.zone()
	}
	doc, err := SpoolDocument(s.SpoolDir, func(w io.Writer) error {
		return s.WriteExport(ctx, w, incidentID, loc)
	})
	if bot.ErrorCode(err) == bot.ENOTFOUND {
		return nil, &outbox.PermanentError{Err: fmt.Errorf("write-up of %s: %w", incidentID, err)}
	}
	if err != nil {
		return nil, fmt.Errorf("workflows: write-up of %s: %w", incidentID, err)
	}
	doc.Whole = s.wholeWriteup(ctx, incidentID, published)
	return doc, nil
}

// wholeWriteup says where the whole write-up of an incident can be read,
// for a sink that takes only the start of a long one (Discord's
// attachments, GitHub's files): the published file once the incident is
// closed and there is a Publisher that can link it (when published is
// set), the archive's page when there is one, and always debrief export.
func (s *Service) wholeWriteup(ctx context.Context, incidentID string, published bool) string {
	var where []string
	if l, ok := s.Publisher.(Linker); ok && published {
		if inc, err := s.Incident(ctx, incidentID); err == nil && inc.Status == bot.StatusClosed {
			where = append(where, l.FileURL(path.Join(s.PublishPath, incidentID+".md")))
		}
	}
	if s.Config.ArchiveURL != "" {
		where = append(where, strings.TrimSuffix(s.Config.ArchiveURL, "/")+"/incidents/"+incidentID)
	}
	return strings.Join(append(where, "`debrief export "+incidentID+"`"), ", ")
}

// channelCreated records the incident's new channel on the effect's
// platform, indexes it and notes it in the timeline.
func (k kinds) channelCreated(tx store.Tx, a outbox.Attempt, p CreateChannel, r outbox.Result) error {
	s := k.s
	e := a.Effect
	inc, err := tx.Incident(e.IncidentID)
	if err != nil {
		return err
	}
	if inc.Channels == nil {
		inc.Channels = map[bot.Platform]string{}
	}
	inc.Channels[e.Platform] = r.ID
	if err := tx.PutChannel(bot.Channel{Platform: e.Platform, ID: r.ID}, inc.ID); err != nil {
		return err
	}
	if _, _, err := tx.AppendEvent(bot.TimelineEvent{
		IncidentID: inc.ID, Kind: bot.EventBot, Author: outbox.BotUser(e.Platform),
		Text: fmt.Sprintf("opened channel #%s on %s", p.Name, e.Platform), RecordedAt: a.Now, PlatformAt: a.Now,
	}); err != nil {
		return err
	}
	s.log().Info("channel created", "incident", e.IncidentID, "platform", e.Platform, "channel", r.ID)
	return tx.PutIncident(inc)
}

// posted queues the pin of a message that asked for one (the summary).
func (k kinds) posted(tx store.Tx, a outbox.Attempt, p Post, r outbox.Result) error {
	s := k.s
	if !p.Pin || r.ID == "" {
		return nil
	}
	e := a.Effect
	_, err := s.Outbox().Enqueue(tx, outbox.Route{
		Platform: e.Platform, IncidentID: e.IncidentID, ChannelID: e.ChannelID, Key: e.Key + "/pin",
	}, PinMessage{MessageID: r.ID}, a.Now)
	return err
}

// published notes the published write-up's link in the timeline.
func (k kinds) published(tx store.Tx, a outbox.Attempt, _ Publish, r outbox.Result) error {
	_, _, err := tx.AppendEvent(bot.TimelineEvent{
		IncidentID: a.Effect.IncidentID, Kind: bot.EventBot, Author: outbox.BotUser(publishPlatform),
		Text: "published the write-up: " + r.ID, URL: r.ID, RecordedAt: a.Now, PlatformAt: a.Now,
	})
	return err
}

// issueFiled files the countermeasure and posts the link, in the
// transaction that removes the effect: either all of it happens or the
// effect stays and is tried again (and finds the issue by its marker).
func (k kinds) issueFiled(tx store.Tx, a outbox.Attempt, p FileIssue, r outbox.Result) error {
	s := k.s
	e := a.Effect
	inc, err := tx.Incident(e.IncidentID)
	if err != nil {
		return err
	}
	if p.N < 1 || p.N > len(inc.Countermeasures) {
		return nil
	}
	is, _ := r.Value.(IssueState)
	if _, err := s.applyIssue(tx, inc, p.N, is, a.Now); err != nil {
		return err
	}
	s.log().Info("countermeasure filed", "incident", e.IncidentID, "platform", trackerPlatform, "key", e.Key, "url", r.ID)
	return nil
}
