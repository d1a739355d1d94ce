package workflows

import (
	"context"
	"errors"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows/outbox"
)

// Chat is what a chat adapter does for the outbox. Each method is retried
// until it succeeds, so each must be safe to repeat: key is the effect's
// idempotency key, for platforms that can use one.
//
// Methods return *RetryAfterError when the platform asks to slow down and
// a PermanentError when retrying cannot help; any other error is retried
// with exponential backoff.
type Chat interface {
	// CreateChannel creates the incident's channel named name (or a free
	// variant of it) and returns its ID.
	CreateChannel(ctx context.Context, key, name string) (channelID string, err error)
	// Post posts text in the channel and returns the message's ID.
	Post(ctx context.Context, key, channelID, text string) (messageID string, err error)
	// Invite adds the users to the channel; users already in it are fine.
	Invite(ctx context.Context, channelID string, users []bot.User) error
	// Pin pins the message.
	Pin(ctx context.Context, channelID, messageID string) error
	// SetTopic sets the channel's topic.
	SetTopic(ctx context.Context, channelID, topic string) error
	// Archive archives (or locks) the channel.
	Archive(ctx context.Context, channelID string) error
}

// FilePoster is a Chat that can attach files (the meeting's .ics, the
// write-up). Platforms that cannot get the file's text as a message.
type FilePoster interface {
	// PostFile attaches a file named name with doc's bytes to the
	// channel, with comment as its message, and returns the message's
	// ID. It reads doc as it sends it (doc.Reader, as often as it needs)
	// and holds no more of it in memory than a platform's limit for one
	// attachment: a long write-up is tens of megabytes. A platform that
	// takes less than the whole attaches the start of it, cut at a line,
	// and says so and where the whole is (doc.Whole). The caller closes
	// doc.
	PostFile(ctx context.Context, key, channelID, name string, doc *Document, comment string) (messageID string, err error)
}

// Publisher commits a closed incident's write-up where engineers already
// search (GitHub: the contents API in GITHUB_REPO).
type Publisher interface {
	// Publish creates or updates the file at path with doc's bytes,
	// keeping its history, and returns a link to it. A file that already
	// holds them (doc.BlobSHA) is left as it is: no empty commit. It
	// streams doc (doc.Reader) rather than holding it; the caller closes
	// doc.
	Publish(ctx context.Context, key, path string, doc *Document, message string) (url string, err error)
}

// DirectPoster is a Chat that can message one person directly: Slack (a
// DM opened with conversations.open), Discord (a DM channel), the console.
// Nudges about a countermeasure go to its owner this way; when a platform
// cannot reach the person (ErrNoDirect), or on a Chat without it, they are
// posted with a mention in the incident channel (the announcement channel
// once the incident is closed and archived).
type DirectPoster interface {
	// PostDirect sends text to u alone and returns the message's ID. It
	// returns an error wrapping ErrNoDirect when u cannot be messaged
	// directly (unknown to the platform, DMs closed, the app lacks the
	// scope); other errors are retried like any effect's.
	PostDirect(ctx context.Context, key string, u bot.User, text string) (messageID string, err error)
}

// ButtonPoster is a Chat that can post a message with a button (Slack: a
// block action; Discord: a button component). A click runs command (the
// words after /incident) as the person who clicked, like a typed command.
type ButtonPoster interface {
	// PostButton posts text with one button labelled label and returns
	// the message's ID.
	PostButton(ctx context.Context, key, channelID, text, label, command string) (messageID string, err error)
}

// ErrNoDirect says a person cannot be messaged directly; the message goes
// to the channel with a mention instead.
var ErrNoDirect = errors.New("cannot message this person directly")

// Linker is a Publisher that can tell where a published file will be read,
// so that an issue can link the post-mortem before it is committed.
type Linker interface {
	FileURL(path string) string
}

// Tracker files countermeasures as issues and reports what happens to them
// (GitHub: adapters/github). Writes go through the outbox, so each method
// may be called again after any failure.
//
// Methods return *RetryAfterError when the tracker asks to slow down (rate
// limits) and a PermanentError when retrying cannot help (the token is
// refused, the repository does not exist); any other error (a timeout, a
// 5xx, a connection cut) is retried with exponential backoff.
type Tracker interface {
	// FileIssue creates the issue is, whose body carries key's marker
	// (IssueMarker), and returns its state. When retry is set, an earlier
	// attempt may have created it although it failed or never reported
	// back: FileIssue first looks for an issue with key's marker and
	// returns that one instead of creating a second.
	FileIssue(ctx context.Context, key string, is Issue, retry bool) (IssueState, error)
	// UpdatedIssues returns the countermeasure issues (bot.IssueLabel)
	// updated at or after since, all of them for the zero time, least
	// recently updated first.
	UpdatedIssues(ctx context.Context, since time.Time) ([]IssueState, error)
}

// Issue is a countermeasure issue to create.
type Issue struct {
	Title  string
	Body   string // Markdown, ending with the marker
	Labels []string
	// Assignee is the owner's tracker login; empty when unknown (the body
	// names the owner instead).
	Assignee string
}

// IssueState is what the tracker says about a countermeasure's issue: what
// FileIssue returns, what a webhook delivers and what UpdatedIssues lists.
type IssueState struct {
	Number int
	// Repo is the issue's repository ("owner/name") when it is not the
	// tracker's own (an issue transferred out of it); empty there.
	Repo   string
	URL    string // for people: the issue's page
	Body   string // carries the marker and the Due: line
	Closed bool
	// NotPlanned is set on a closed issue whose state_reason is
	// not_planned: the countermeasure is dropped, not done.
	NotPlanned bool
	// Gone is set when the issue was deleted (a deleted webhook, whose
	// other fields are the issue as it was, or the tracker answering 404
	// or 410 for it, when only Number and Repo are set).
	Gone bool
	// MovedFrom is where the issue was before it was transferred (a
	// transferred webhook, or a 301 the tracker followed): this state is
	// the issue at its new place. Zero when it did not move.
	MovedFrom IssueRef
	Assignees []string
	// UpdatedAt is the tracker's last-update time of the issue: news
	// older than what was already applied is ignored.
	UpdatedAt time.Time
	// Actor is who made the change (a webhook's sender); empty when
	// unknown.
	Actor string
	// ByUs is set when the tracker's own identity (the bot's token)
	// created the issue. A marker is only a line of text anyone can copy
	// into an issue of theirs: before a countermeasure is tied to its issue
	// the marker counts only on an issue that ByUs; after, only the issue
	// whose Number was recorded may change it.
	ByUs bool
	// Delivery is the webhook delivery's ID; it becomes the dedupe key of
	// the timeline entry the change produces, so a redelivery is stored
	// once. Empty for reconcile.
	Delivery string
}

// IssueRef names an issue: its number in Repo, the tracker's own
// repository when Repo is empty.
type IssueRef struct {
	Repo   string
	Number int
}

// IssueGetter is what a Tracker that can read one issue adds (GitHub:
// adapters/github): the reconcile reads the issues the listing cannot
// show, those transferred to another repository, and looks for deleted
// ones (Reconciler).
type IssueGetter interface {
	// Issue returns issue ref as it is now: Gone when the tracker says it
	// was deleted (404, 410), and MovedFrom set to ref when it was
	// transferred (the tracker redirected to its new place).
	Issue(ctx context.Context, ref IssueRef) (IssueState, error)
}

// ZoneSource tells a user's time zone as their platform knows it.
type ZoneSource interface {
	// Zone returns the user's IANA zone name, or "" when the platform does
	// not know it. Implementations cache: it is called for every command.
	Zone(ctx context.Context, u bot.User) (string, error)
}

// trackerPlatform is the outbox lane of the tracker: filings are delivered
// in order, and a failing tracker holds up no chat.
const trackerPlatform bot.Platform = "github"

// RetryAfterError says the platform asked us to wait; the outbox waits
// exactly that long. It is outbox.RetryAfterError, named here for the
// adapters that implement the sinks.
type RetryAfterError = outbox.RetryAfterError

// PermanentError marks a failure that retrying cannot fix: the effect is
// dropped with a timeline note. It is outbox.PermanentError.
type PermanentError = outbox.PermanentError

// Outbox returns the outbox that delivers the Service's effects (the table
// in effectKinds). cmd runs it (Run); tests call its Tick.
func (s *Service) Outbox() *outbox.Outbox {
	s.outboxOnce.Do(func() {
		m := s.metrics()
		o := outbox.New(s.Store, kinds{s}.table()...)
		o.Now, o.Rand, o.Log = s.now, s.jitter, s.log()
		o.Metrics = outbox.Metrics{Delivered: m.OutboxDelivered, Retries: m.OutboxRetries, Dropped: m.OutboxDropped}
		s.ob = o
	})
	return s.ob
}

// kick tells the outbox there is new work.
func (s *Service) kick() { s.Outbox().Kick() }

// Hook is the chaos tool a game day calls to inject or abort its fault
// (DEBRIEF_GAMEDAY_HOOK: adapters/gamedayhook signs and POSTs the request).
// It returns the tool's answer whatever its status: what an answer means
// for the drill is the application's rule (gameday.go). An error means no
// answer came: errors wrapping ErrNotSent say the request never left (the
// connection was refused), any other may have reached the tool.
type Hook interface {
	Call(ctx context.Context, key string, req HookRequest) (HookAnswer, error)
}

// HookRequest is the JSON body the chaos tool receives (README, "Game
// days").
type HookRequest struct {
	Action string    `json:"action"` // "inject" or "abort"
	Drill  string    `json:"drill"`  // the drill incident's ID
	Title  string    `json:"title"`
	Fault  string    `json:"fault,omitempty"`
	Target string    `json:"target,omitempty"`
	At     time.Time `json:"at"` // when it was asked for, RFC 3339
}

// HookAnswer is the chaos tool's answer: its HTTP status and the start of
// its body.
type HookAnswer struct {
	Status int
	Body   string
}

// ErrNotSent says a hook request never reached the far side.
var ErrNotSent = errors.New("request not sent")
