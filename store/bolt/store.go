// Package bolt keeps debrief's state in one bbolt file: incidents, their
// timelines, the indexes that find them, the outbox and the reminders. It
// implements store.Store and holds no business rules.
//
// Layout (all keys big-endian where numeric, so cursor order is the order the
// callers want):
//
//	incidents   number (8 bytes)                 -> bot.Incident JSON; its NextSequence numbers incidents
//	timelines/  one nested bucket per incident ID: RecordedAt UnixNano (8) + seq (8) -> the entry, compact (record.go; JSON in files from schema 1)
//	late        incident number (8) + seq (8)    -> timeline key (16) of an entry keyed well before the last one (see lateWindow)
//	incindex    number (8)                       -> the incident's status, kind, severity and DeclaredAt, 15 bytes (incindex.go)
//	channels    "platform/channelID"             -> incident ID
//	dedupe      TimelineEvent.DedupeKey          -> timeline key (16) + incident ID
//	users       UserPrefs.Key                    -> UserPrefs JSON
//	outbox      Effect.ID (8)                    -> Effect JSON
//	reminders   Reminder.Key                     -> Reminder JSON
//	due         Due UnixNano (8) + Reminder.Key  -> empty
//	seen        key of Remember                   -> expiry UnixNano (8)
//	expiry      expiry UnixNano (8) + key        -> empty (what to forget first)
//	meta        "schema"                         -> schema version
//	            "kv/" + key                      -> value of PutMeta (e.g. the GitHub sync cursor)
//	gamedays    Gameday.Number (8)               -> store.Gameday JSON
//	nearmisses, alertgroups, signals: see signals.go
package bolt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

var _ store.Store = (*DB)(nil)

// ErrClosed is returned by Append and Check after Close.
var ErrClosed = errors.New("store: database is closed")

// schemaVersion is written to the meta bucket on creation; Open refuses a file
// with another version rather than misreading it, except schema 1, which it
// upgrades (upgradeSchema).
//
// Schema 2 stores timeline entries in the compact encoding (record.go). A
// debrief that reads only schema 1 would misread them, hence the new
// number: it refuses the file instead.
//
// Schema 3 adds the incident index (incindex.go), which PutIncident keeps
// in step with the incidents. A debrief of schema 2 would put incidents
// without it, and the filtered lists would then miss or keep incidents
// they should not: it refuses the file instead.
const schemaVersion = "3"

var (
	bucketIncidents = []byte("incidents")
	bucketTimelines = []byte("timelines")
	bucketChannels  = []byte("channels")
	bucketDedupe    = []byte("dedupe")
	bucketUsers     = []byte("users")
	bucketOutbox    = []byte("outbox")
	bucketReminders = []byte("reminders")
	bucketDue       = []byte("due")
	bucketMeta      = []byte("meta")
	bucketGamedays  = []byte("gamedays")
	bucketSeen      = []byte("seen")
	bucketExpiry    = []byte("expiry")
	bucketLate      = []byte("late")
	bucketIncIndex  = []byte("incindex")

	// A bucket added later (gamedays) is created at the next Open: the
	// schema version stays, older files simply lack it until then.
	allBuckets = [][]byte{
		bucketIncidents, bucketTimelines, bucketChannels, bucketDedupe,
		bucketUsers, bucketOutbox, bucketReminders, bucketDue, bucketMeta,
		bucketGamedays,
		bucketNearMisses, bucketAlertGroups, bucketSignals,
		bucketSeen, bucketExpiry, // added in place: files without them get them at Open
		bucketLate,     // schema 2: upgradeSchema fills it
		bucketIncIndex, // schema 3: upgradeSchema fills it
	}

	keySchema = []byte("schema")
)

// DB is the bbolt-backed Store. It is safe for concurrent use.
type DB struct {
	bolt *bbolt.DB
	path string

	// reqs feeds the committer goroutine. mu guards closed and orders every
	// sender's inflight.Add before Close's inflight.Wait, so reqs is closed
	// only when nobody can still send on it.
	reqs     chan *entry
	mu       sync.RWMutex
	closed   bool
	inflight sync.WaitGroup
	done     chan struct{} // closed when the committer has exited

	// lastCommit is the outcome of the latest commit (nil: it succeeded):
	// CommitErr reports it, for /healthz.
	lastCommit atomic.Pointer[commitFailure]
}

// commitFailure is a failed commit and when it failed.
type commitFailure struct {
	err error
	at  time.Time
}

// noteCommit records the outcome of a commit: a failure, or a success
// that clears the last one.
func (db *DB) noteCommit(err error) {
	if err == nil {
		if db.lastCommit.Load() != nil {
			db.lastCommit.Store(nil)
		}
		return
	}
	db.lastCommit.Store(&commitFailure{err: err, at: time.Now()})
}

// CommitErr returns why the latest commit failed (the disk is full, the
// file cannot be written), or nil when it succeeded: a store whose reads
// work but whose writes fail acknowledges nothing, and /healthz must say
// so. The next successful commit clears it.
func (db *DB) CommitErr() error {
	f := db.lastCommit.Load()
	if f == nil {
		return nil
	}
	return fmt.Errorf("the last commit failed at %s: %w", f.at.UTC().Format(time.RFC3339), f.err)
}

// Option configures Open.
type Option func(*options)

type options struct {
	timeout time.Duration
	maxSize int
}

// WithMaxSize caps the file at n bytes: a commit that would grow it past
// n fails as on a full disk. Tests use it to fill the disk without one.
func WithMaxSize(n int) Option {
	return func(o *options) { o.maxSize = n }
}

// WithTimeout sets how long Open waits for the file lock held by another
// process before giving up. The default is one second: a second debrief on
// the same file should fail fast with a clear message, not hang.
func WithTimeout(d time.Duration) Option {
	return func(o *options) { o.timeout = d }
}

// initialMmapSize is how much of the file bbolt maps at Open: 1 GiB,
// about 4M timeline entries. bbolt must remap the file to grow it past what
// is mapped, and a remap waits for every open read transaction to end, so
// a commit that needs one waits behind the longest reader (a backup, an
// export streamed from one View). Mapped ahead, the file grows without a
// remap up to this size. It costs address space, not memory: only the
// pages read are resident, and the file itself still grows as it fills
// (in steps of bbolt's AllocSize, 16 MiB, sparse until written).
const initialMmapSize = 1 << 30

// boltOptions are the bbolt settings of every DB; the raw baseline benchmark
// uses them too, so the comparison is like for like.
func boltOptions(timeout time.Duration) *bbolt.Options {
	o := &bbolt.Options{Timeout: timeout, FreelistType: bbolt.FreelistArrayType}
	if strconv.IntSize == 64 {
		o.InitialMmapSize = initialMmapSize
	}
	return o
}

// Open opens or creates the database file at path and starts the committer
// that group-commits Append calls. A file locked by another process makes
// Open fail after the timeout with an error wrapping bbolt's ErrTimeout.
func Open(path string, opts ...Option) (*DB, error) {
	o := options{timeout: time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	bo := boltOptions(o.timeout)
	if o.maxSize > 0 {
		// bbolt counts the next growth step (AllocSize past the mapped
		// size) against MaxSize, which a small cap cannot hold.
		bo.MaxSize, bo.InitialMmapSize = o.maxSize, 0
	}
	bdb, err := bbolt.Open(path, 0o600, bo)
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("store: open %s: database is locked by another process: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := bdb.Update(initSchema); err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db := &DB{
		bolt: bdb,
		path: path,
		reqs: make(chan *entry, reqBuffer),
		done: make(chan struct{}),
	}
	go db.commitLoop()
	return db, nil
}

// initSchema creates the buckets up front so that readers never meet a
// missing one, and refuses files written by another schema.
func initSchema(tx *bbolt.Tx) error {
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	switch v := meta.Get(keySchema); {
	case v == nil:
		return meta.Put(keySchema, []byte(schemaVersion))
	case string(v) == "1", string(v) == "2":
		return upgradeSchema(tx, meta, string(v))
	case string(v) != schemaVersion:
		return fmt.Errorf("schema version %q, this debrief reads %q", v, schemaVersion)
	}
	return nil
}

// upgradeSchema takes a file of schema 1 or 2 to schema 3, in the
// transaction that opens it. From schema 1 it finds the late entries
// already in its timelines (indexLate); from either it indexes the
// incidents (indexIncidents); then it writes the new number.
//
// The schema-1 timeline entries themselves stay as they are, in JSON, and are read
// in that encoding for good (decodeEntry tells the two apart by their
// first byte); entries appended from now on are compact, and pages split
// from now on are packed (timelineFill, dedupeFill).
//
// Rewriting the old entries instead would make Open read and write every
// entry of a file that may hold millions, in a start-up that then takes
// minutes, and would not shrink the file: bbolt never gives pages back to
// the file system, it reuses them. A file is made small by copying it
// (bbolt compact), which writes entries as they are, so the JSON decoder
// stays either way; keeping it costs one byte compared per entry.
func upgradeSchema(tx *bbolt.Tx, meta *bbolt.Bucket, from string) error {
	if from == "1" {
		tls := tx.Bucket(bucketTimelines)
		err := tls.ForEachBucket(func(name []byte) error {
			n, ok := bot.ParseIncidentID(string(name))
			if !ok {
				return fmt.Errorf("timeline bucket %q", name)
			}
			return indexLate(tls.Bucket(name), tx.Bucket(bucketLate), uint64(n))
		})
		if err != nil {
			return fmt.Errorf("upgrade schema 1 to %s: %w", schemaVersion, err)
		}
	}
	if err := indexIncidents(tx); err != nil {
		return fmt.Errorf("upgrade schema %s to %s: %w", from, schemaVersion, err)
	}
	if err := meta.Put(keySchema, []byte(schemaVersion)); err != nil {
		return fmt.Errorf("upgrade schema %s to %s: %w", from, schemaVersion, err)
	}
	return nil
}

// Path returns the file the database lives in.
func (db *DB) Path() string { return db.path }

// Close stops accepting appends, waits for the ones already submitted to
// commit, stops the committer and closes the file. Calling it again is a
// no-op.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return nil
	}
	db.closed = true
	db.mu.Unlock()

	db.inflight.Wait()
	close(db.reqs)
	<-db.done
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", db.path, err)
	}
	return nil
}

func (db *DB) isClosed() bool {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return db.closed
}

// Update runs fn in one read-write transaction that commits, fsynced, if fn
// returns nil and rolls back otherwise. fn's error is returned as is, so
// *bot.Error codes survive; a failed commit is wrapped.
func (db *DB) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var fnErr error
	err := db.bolt.Update(func(btx *bbolt.Tx) error {
		fnErr = fn(&tx{btx: btx})
		return fnErr
	})
	if fnErr != nil {
		return fnErr // rolled back on purpose: no commit was tried
	}
	db.noteCommit(err)
	if err != nil {
		return fmt.Errorf("store: update: %w", err)
	}
	return nil
}

// View runs fn in a read-only transaction over a consistent snapshot. fn's
// error is returned as is. Keep fn short (see store.Store.View): while it
// runs, commits cannot reuse the pages it may read, and a commit that must
// remap the file waits for it (BenchmarkAckWithReader).
func (db *DB) View(ctx context.Context, fn func(store.ReadTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var fnErr error
	err := db.bolt.View(func(btx *bbolt.Tx) error {
		fnErr = fn(&tx{btx: btx})
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("store: view: %w", err)
	}
	return nil
}

// OutboxDepth returns how many effects wait in the outbox, for metrics.
func (db *DB) OutboxDepth(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var n int
	err := db.bolt.View(func(btx *bbolt.Tx) error {
		n = btx.Bucket(bucketOutbox).Stats().KeyN
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: outbox depth: %w", err)
	}
	return n, nil
}

// Check verifies the file's page structure (bbolt's tx.Check) and returns
// every inconsistency found, joined, or nil. After Close it returns
// ErrClosed, so that a caller (a test's cleanup) can tell a store the test
// already closed from a damaged one.
func (db *DB) Check() error {
	if db.isClosed() {
		return fmt.Errorf("store: check %s: %w", db.path, ErrClosed)
	}
	// A writable transaction, rolled back: bbolt's Check reads the shared
	// freelist, which is only safe while holding the writer lock, and an
	// Update would commit (and fsync) an empty transaction.
	btx, err := db.bolt.Begin(true)
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		// Close won the race with the isClosed test above.
		return fmt.Errorf("store: check %s: %w", db.path, ErrClosed)
	}
	if err != nil {
		return fmt.Errorf("store: check %s: %w", db.path, err)
	}
	defer func() { _ = btx.Rollback() }()
	var errs []error
	for err := range btx.Check() {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: check %s: %w", db.path, err)
	}
	return nil
}

// Backup writes a consistent copy of the whole database to w while the
// database stays online, and returns the bytes written. Writers are not
// blocked, but while the copy runs bbolt cannot remap a growing file, so a
// commit that needs more room waits for it.
func (db *DB) Backup(ctx context.Context, w io.Writer) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var n int64
	err := db.bolt.View(func(btx *bbolt.Tx) error {
		var err error
		n, err = btx.WriteTo(ctxWriter{ctx: ctx, w: w})
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		return n, fmt.Errorf("store: backup: %w", err)
	}
	return n, nil
}

// BackupFile writes a consistent copy of the database to path. The copy goes
// to a temporary file in the same directory that is fsynced and then renamed,
// so path holds either the previous file or a complete new copy, never a
// torn one.
func (db *DB) BackupFile(ctx context.Context, path string) (err error) {
	if same, _ := sameFile(db.path, path); same {
		return fmt.Errorf("store: backup to %s: that is the live database", path)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err := db.Backup(ctx, f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	// The rename is durable only once the directory entry is.
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	return nil
}

func sameFile(a, b string) (bool, error) {
	fa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(fa, fb), nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		_ = d.Close()
		return err
	}
	return d.Close()
}

// ctxWriter makes a long copy stop when its context is cancelled: bbolt's
// WriteTo has no context of its own.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
