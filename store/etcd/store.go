// Package etcd keeps debrief's state in an etcd cluster, so that several
// debrief replicas share it and any one of them may die: incidents, their
// timelines, the indexes that find them, the outbox and the reminders. It
// implements store.Store, passes the same contract suite as store/bolt
// (store/storetest), and holds no business rules.
//
// Layout, under a prefix (default "debrief/"); numbers are zero-padded to 20
// decimal digits so that etcd's byte order is the order callers want:
//
//	schema                            -> schema version
//	inc/<number>                      -> bot.Incident JSON
//	incidx/<number>                   -> the incident's status, kind, severity, declaration time (incindex.go)
//	incby/<field>/<value>/<number>    -> empty: the incidents by status, kind, severity (incby.go)
//	incby/open/<number>               -> empty: the incidents not closed
//	incchk                            -> the revision up to which every incident has its incby/ keys
//	ctr/incident, ctr/outbox          -> the last number / effect ID handed out
//	tl/<INC-n>/<RecordedAt ns>/<Seq>  -> timeline record JSON (entry with its Seq, dedupe key)
//	tlseq/<INC-n>/<Seq>               -> the tl/ key of the entry with that Seq
//	tlctr/<INC-n>                     -> the incident's last Seq: its timeline's length
//	dd/<dedupe key>                   -> the timeline key of the entry first stored with it
//	ch/<platform>/<channel ID>        -> incident ID
//	user/<key>                        -> UserPrefs JSON
//	outbox/<ID>                       -> Effect JSON
//	rem/<key>                         -> Reminder JSON
//	due/<Due ns>/<key>                -> empty: the due index
//	meta/<key>                        -> value of PutMeta
//	gen/outbox, gen/due               -> bumped by every delete in that range (see tx.deleted)
//
// A timeline entry's Seq is dense per incident, 1, 2, 3... in commit order
// (the store contract, store/store.go): every append reads the incident's
// tlctr/ counter and bumps it in the Txn that stores the entry, on the
// condition that the counter has not moved since. Within a replica, the
// appends to one incident queued meanwhile go in one Txn (Append's group
// commit); replicas appending to one incident at once conflict on the
// counter and retry. An earlier layout derived Seq from the etcd revision
// to avoid that contention, but then the length of a timeline was not its
// last Seq, and cursors (TimelineSince) and the archive's paging rely on
// it.
//
// Transactions are optimistic (see tx.go): reads come from one revision, and
// the commit is an etcd Txn that succeeds only if nothing read changed
// since; otherwise fn runs again on a fresh snapshot. Append is one Txn whose
// condition is that the dedupe key has never been created, so two replicas
// storing the same redelivery at once store it once.
package etcd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

var _ store.Store = (*Store)(nil)

// schemaVersion is written on creation; Open refuses a cluster holding
// another version rather than misreading it.
const schemaVersion = "2"

// ErrConflict is returned by Update when fn kept conflicting with other
// commits for commitTimeout: appends (this process's too, which do not
// take Update's lock) bump the counter of the incident an Update appends
// to, so under a stream of events an Update may lose many times in a row.
var ErrConflict = errors.New("store: etcd: transaction kept conflicting with other commits")

// ErrFenced is returned by Update when the context carries a fence (see
// Fence) and the key it names no longer has the revision it had: this
// replica lost its leadership, and nothing was written.
var ErrFenced = errors.New("store: etcd: fenced: leadership lost, write refused")

// Store is the etcd-backed store.Store. It is safe for concurrent use.
type Store struct {
	cli    *clientv3.Client
	prefix string

	// mu serializes Updates of this process: they would conflict with each
	// other on the counters anyway, and a local queue is cheaper than
	// rerunning fn. Append does not take it.
	mu sync.Mutex

	// counters holds a *seqCounter per incident ID (see Append).
	counters sync.Map

	// commitObserver, when set, is told how long each commit took.
	commitObserver func(time.Duration)
	// localReadObserver, when set, is told of each View answered from
	// the member's own copy, without a quorum.
	localReadObserver func()
	// localUntil (Unix nanoseconds) is until when Views go straight to
	// the member's own copy: one found no leader a moment ago, and asking
	// again costs each read of a cut-off replica that wait (a streamed
	// page is several Views).
	localUntil atomic.Int64

	// maxBatch is how many appends one Txn may carry (maxBatch, or
	// WithMaxTxnOps).
	maxBatch int

	// scanFilters has filtered pages read the incident index alone, as
	// before the field index (incby.go): for the benchmark's baseline.
	scanFilters bool
	// checkAfterUpdate has every Update check the incident indexes as
	// Open does, moving W past what it wrote (incby.go): for the contract
	// suite on a store whose incidents all predate W.
	checkAfterUpdate bool
}

// Option configures Open.
type Option func(*Store)

// WithPrefix keeps every key under prefix (default "debrief/"), so that one
// etcd cluster can hold several debrief installations.
func WithPrefix(prefix string) Option { return func(s *Store) { s.prefix = prefix } }

// WithCommitObserver has observe called with the latency of every etcd
// commit (Update's and Append's), for metrics.
func WithCommitObserver(observe func(time.Duration)) Option {
	return func(s *Store) { s.commitObserver = observe }
}

// WithMaxTxnOps says the cluster allows n operations per Txn branch
// (etcd's --max-txn-ops; debrief's embedded members allow 1024), so that
// a group commit of appends to one incident may carry (n-1)/4 of them:
// under a burst the queue drains in fewer, larger commits.
func WithMaxTxnOps(n int) Option {
	return func(s *Store) { s.maxBatch = max(1, (n-1)/4) }
}

// WithLocalReadObserver has observe called whenever a View is answered
// from this replica's member alone, without a quorum (see View), for
// metrics and logs.
func WithLocalReadObserver(observe func()) Option {
	return func(s *Store) { s.localReadObserver = observe }
}

// Open returns a Store on cli, writing the schema version on first use. It
// does not own cli: Close leaves it open.
func Open(ctx context.Context, cli *clientv3.Client, opts ...Option) (*Store, error) {
	s := &Store{cli: cli, prefix: "debrief/", maxBatch: maxBatch}
	for _, o := range opts {
		o(s)
	}
	k := s.key("schema")
	resp, err := cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).
		Then(clientv3.OpPut(k, schemaVersion)).
		Else(clientv3.OpGet(k)).
		Commit()
	if err != nil {
		return nil, fmt.Errorf("store: etcd: open: %w", err)
	}
	if !resp.Succeeded {
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if len(kvs) == 1 && string(kvs[0].Value) != schemaVersion {
			return nil, fmt.Errorf("store: etcd: open: schema version %q, this debrief reads %q", kvs[0].Value, schemaVersion)
		}
	}
	if err := s.fillIncidentIndex(ctx); err != nil {
		return nil, fmt.Errorf("store: etcd: open: %w", err)
	}
	return s, nil
}

// Client returns the etcd client the store uses.
func (s *Store) Client() *clientv3.Client { return s.cli }

// Prefix returns the prefix every key of the store is under.
func (s *Store) Prefix() string { return s.prefix }

// Close is a no-op: the store holds nothing but the client, which its owner
// closes. It exists so that a Store and a bolt.DB close alike.
func (s *Store) Close() error { return nil }

func (s *Store) key(parts ...string) string {
	k := s.prefix
	for i, p := range parts {
		if i > 0 {
			k += "/"
		}
		k += p
	}
	return k
}

// num formats n so that byte order is numeric order.
func num(n uint64) string { return fmt.Sprintf("%020d", n) }

func (s *Store) observe(start time.Time) {
	if s.commitObserver != nil {
		s.commitObserver(time.Since(start))
	}
}

// requireLeader makes etcd refuse a request at once when this client's
// member has no leader (it is cut off from the quorum), rather than hold it
// until the request times out: a replica that cannot commit answers with
// an error quickly, and the platform delivers again elsewhere.
func requireLeader(ctx context.Context) context.Context {
	return clientv3.WithRequireLeader(ctx)
}

type fenceKey struct{}

type fence struct {
	key string
	rev int64
}

// Fence returns a context under which every Update commits only while key
// still has create revision rev: the leader's election key. A replica that
// lost its lease (its key deleted, another's created) can then no longer
// write, even if it is paused and does not know yet (Update returns
// ErrFenced).
func Fence(ctx context.Context, key string, rev int64) context.Context {
	return context.WithValue(ctx, fenceKey{}, fence{key: key, rev: rev})
}

// Update runs fn in an optimistic transaction: reads from one revision,
// writes buffered, and one etcd Txn that commits them if nothing fn read
// has changed since. On a conflict fn runs again on a fresh snapshot, so fn
// must not act outside the transaction (as with any STM). fn's error is
// returned as is; Update returns only once etcd has committed.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, fenced := ctx.Value(fenceKey{}).(fence)
	ctx = requireLeader(ctx)
	deadline := time.Now().Add(commitTimeout)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if time.Now().After(deadline) {
				return ErrConflict
			}
			if err := conflictPause(ctx, attempt); err != nil {
				return err
			}
		}
		t := newTx(ctx, s, true)
		if err := fn(t); err != nil {
			if t.err != nil {
				// fn saw a read fail (and may have turned it into
				// something else): report the store's error.
				return t.err
			}
			return err
		}
		if t.err != nil {
			return t.err
		}
		ok, err := t.commit(f, fenced)
		if err != nil {
			return err
		}
		if ok {
			if s.checkAfterUpdate {
				return s.fillIncidentIndex(ctx)
			}
			return nil
		}
	}
}

// conflictPause waits a random while, growing with the attempt up to 20 ms,
// before a transaction that lost on a conflict runs again, so that the
// replica whose member is the raft leader (always the quickest) does not
// win every round.
func conflictPause(ctx context.Context, attempt int) error {
	select {
	case <-time.After(time.Duration(rand.Int64N(int64(min(attempt, 20)) * int64(time.Millisecond)))):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// View runs fn over the store as of one revision. fn's error is returned
// as is. Its reads are linearizable: they see every commit acknowledged
// before View began, whichever replica made it. When this replica's member
// has no leader (it is cut off from the quorum: the README's "lose 2"),
// fn runs again on the member's own copy (serializable reads), which may
// lag behind what the others committed: reads still answer while writes
// are refused. Each such View is reported to the local-read observer
// (WithLocalReadObserver).
func (s *Store) View(ctx context.Context, fn func(store.ReadTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if time.Now().UnixNano() >= s.localUntil.Load() {
		err := s.view(requireLeader(ctx), fn, false)
		if !errors.Is(err, rpctypes.ErrNoLeader) {
			return err
		}
		s.localUntil.Store(time.Now().Add(localReadHold).UnixNano())
	}
	if s.localReadObserver != nil {
		s.localReadObserver()
	}
	return s.view(ctx, fn, true)
}

// localReadHold is how long Views read the member's own copy without
// asking for the leader again, once one found none: a read may lag by
// that much more after the quorum is back.
const localReadHold = 2 * time.Second

func (s *Store) view(ctx context.Context, fn func(store.ReadTx) error, local bool) error {
	t := newTx(ctx, s, false)
	t.local = local
	err := fn(t)
	if t.err != nil {
		return t.err
	}
	return err
}

// seqCounter is this process's view of an incident's Seq counter and its
// queue of appends. Appends to one incident conflict on the counter, so
// this process commits them together: whoever finds no commit under way
// takes the queue (up to maxBatch) into one Txn, and the others wait for
// its answer (a group commit, as store/bolt does). n and mod (the counter's
// mod revision) are what the last commit left, a guess that saves a read:
// a stale guess (another replica appended since) fails the compare, whose
// answer carries the fresh value.
type seqCounter struct {
	mu      sync.Mutex
	pending []*appendReq
	active  bool // a commit of this queue is under way

	// Owned by whoever is active.
	known bool
	n     uint64
	mod   int64
}

type appendReq struct {
	p     prepared
	ddKey string
	done  chan appendRes // buffered: the committer never waits
}

type appendRes struct {
	ev  bot.TimelineEvent
	dup bool
	err error
}

// maxBatch keeps one Txn within etcd's default of 128 operations per
// branch (--max-txn-ops): four puts per entry and the counter.
// WithMaxTxnOps raises it for a cluster that allows more.
const maxBatch = 31

// maxBatchBytes keeps one Txn well within etcd's default request limit
// (--max-request-bytes, 1.5 MiB): a batch closes before its entries'
// estimated size passes it.
const maxBatchBytes = 1 << 20

// size estimates what r adds to a Txn: its texts, twice its dedupe key
// (a key and a compare) and room for the rest of the record and its keys.
func (r *appendReq) size() int {
	ev := r.p.ev
	return len(ev.Text) + len(ev.URL) + len(ev.Author.Name) + 2*len(r.ddKey) + 512
}

// commitTimeout bounds one group commit, which runs for several callers
// and so under none of their contexts.
const commitTimeout = 15 * time.Second

func (s *Store) counterOf(incidentID string) *seqCounter {
	c, _ := s.counters.LoadOrStore(incidentID, &seqCounter{})
	return c.(*seqCounter)
}

// Append stores ev in one etcd Txn (with the other appends to its incident
// queued in this process meanwhile), conditional on its incident existing,
// its dedupe key never having been stored and the incident's Seq counter
// being the one read; the Txn bumps the counter and writes each entry with
// its Seq and its Seq index key. It returns once etcd has committed. A
// redelivery writes nothing and gets the entry first stored; a counter
// moved by another replica makes the batch retry with the counter's new
// value.
func (s *Store) Append(ctx context.Context, ev bot.TimelineEvent) (bot.TimelineEvent, bool, error) {
	if err := ctx.Err(); err != nil {
		return bot.TimelineEvent{}, false, err
	}
	p, err := s.prepare(ev)
	if err != nil {
		return bot.TimelineEvent{}, false, err
	}
	req := &appendReq{p: p, done: make(chan appendRes, 1)}
	if ev.DedupeKey != "" {
		req.ddKey = s.key("dd", ev.DedupeKey)
	}
	ctr := s.counterOf(p.ev.IncidentID)
	ctr.mu.Lock()
	ctr.pending = append(ctr.pending, req)
	lead := !ctr.active
	ctr.active = true
	ctr.mu.Unlock()
	if lead {
		s.drain(ctx, ctr)
	}
	select {
	case r := <-req.done:
		return r.ev, r.dup, r.err
	case <-ctx.Done():
		// The entry may still be committed; unacknowledged, it is
		// redelivered and deduplicated.
		return bot.TimelineEvent{}, false, ctx.Err()
	}
}

// drain commits ctr's queue batch by batch until it is empty.
func (s *Store) drain(ctx context.Context, ctr *seqCounter) {
	ctx = context.WithoutCancel(ctx)
	for {
		ctr.mu.Lock()
		if len(ctr.pending) == 0 {
			ctr.active = false
			ctr.mu.Unlock()
			return
		}
		// Two appends with one dedupe key never share a batch: the
		// later one waits for the next, where it is a redelivery.
		var batch, rest []*appendReq
		seen := map[string]bool{}
		size := 0
		for _, r := range ctr.pending {
			n := r.size()
			if len(batch) == s.maxBatch || (len(batch) > 0 && size+n > maxBatchBytes) || (r.ddKey != "" && seen[r.ddKey]) {
				rest = append(rest, r)
				continue
			}
			size += n
			if r.ddKey != "" {
				seen[r.ddKey] = true
			}
			batch = append(batch, r)
		}
		ctr.pending = rest
		ctr.mu.Unlock()
		cctx, cancel := context.WithTimeout(requireLeader(ctx), commitTimeout)
		s.commitBatch(cctx, ctr, batch)
		cancel()
	}
}

// commitBatch commits batch (appends to one incident, distinct dedupe
// keys) and answers each request, retrying after conflicts on the counter.
func (s *Store) commitBatch(ctx context.Context, ctr *seqCounter, batch []*appendReq) {
	id := batch[0].p.ev.IncidentID
	incKey, ctrKey := s.incidentKey(batch[0].p.num), s.seqCounterKey(id)
	answerAll := func(err error) {
		for _, r := range batch {
			r.done <- appendRes{err: err}
		}
	}
	if !ctr.known {
		resp, err := s.cli.Get(ctx, ctrKey)
		if err == nil {
			err = ctr.set(resp.Kvs)
		}
		if err != nil {
			answerAll(fmt.Errorf("store: etcd: append %s: %w", id, err))
			return
		}
	}
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			// Bounded by commitTimeout (ctx), not by a number of losses.
			if err := conflictPause(ctx, attempt); err != nil {
				answerAll(fmt.Errorf("store: etcd: append %s: %w: %w", id, ErrConflict, err))
				return
			}
		}
		cmps := []clientv3.Cmp{
			clientv3.Compare(clientv3.CreateRevision(incKey), ">", 0),
			clientv3.Compare(clientv3.ModRevision(ctrKey), "=", ctr.mod),
		}
		elses := []clientv3.Op{clientv3.OpGet(incKey, clientv3.WithCountOnly()), clientv3.OpGet(ctrKey)}
		var puts []clientv3.Op
		stored := make([]bot.TimelineEvent, len(batch))
		seq := ctr.n
		for i, r := range batch {
			seq++
			ev, key, val, err := s.encode(r.p, seq)
			if err != nil {
				answerAll(err)
				return
			}
			stored[i] = ev
			puts = append(puts, clientv3.OpPut(key, string(val)), clientv3.OpPut(s.seqKey(id, seq), key))
			if r.ddKey != "" {
				cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(r.ddKey), "=", 0))
				puts = append(puts, clientv3.OpPut(r.ddKey, key))
				elses = append(elses, clientv3.OpGet(r.ddKey))
			}
		}
		puts = append(puts, clientv3.OpPut(ctrKey, strconv.FormatUint(seq, 10)))
		start := time.Now()
		resp, err := s.cli.Txn(ctx).If(cmps...).Then(puts...).Else(elses...).Commit()
		if err != nil {
			// Committed or not, the counter is unknown now.
			ctr.known = false
			answerAll(fmt.Errorf("store: etcd: append %s: %w", id, err))
			return
		}
		s.observe(start)
		if resp.Succeeded {
			ctr.n, ctr.mod, ctr.known = seq, resp.Header.Revision, true
			for i, r := range batch {
				r.done <- appendRes{ev: stored[i]}
			}
			return
		}
		// Which condition failed: a redelivery wins over a missing
		// incident, as the dedupe check spans every incident; a counter
		// that moved is retried. Redeliveries are answered and leave the
		// batch.
		var again []*appendReq
		j := 2
		for _, r := range batch {
			if r.ddKey == "" {
				again = append(again, r)
				continue
			}
			kvs := resp.Responses[j].GetResponseRange().Kvs
			j++
			if len(kvs) != 1 {
				again = append(again, r)
				continue
			}
			ev, err := s.entryAt(ctx, string(kvs[0].Value), resp.Header.Revision)
			r.done <- appendRes{ev: ev, dup: err == nil, err: err}
		}
		batch = again
		if len(batch) == 0 {
			return
		}
		if resp.Responses[0].GetResponseRange().Count == 0 {
			answerAll(noIncident(id))
			return
		}
		if err := ctr.set(resp.Responses[1].GetResponseRange().Kvs); err != nil {
			answerAll(fmt.Errorf("store: etcd: append %s: %w", id, err))
			return
		}
	}
}

// set takes the counter from a read of its key (none: 0, never written).
func (c *seqCounter) set(kvs []*mvccpb.KeyValue) error {
	c.known = false
	c.n, c.mod = 0, 0
	if len(kvs) == 1 {
		n, err := strconv.ParseUint(string(kvs[0].Value), 10, 64)
		if err != nil {
			return fmt.Errorf("counter %s: %w", kvs[0].Key, err)
		}
		c.n, c.mod = n, kvs[0].ModRevision
	}
	c.known = true
	return nil
}

// entryAt reads the timeline entry at key k as of revision rev.
func (s *Store) entryAt(ctx context.Context, k string, rev int64) (bot.TimelineEvent, error) {
	resp, err := s.cli.Get(ctx, k, clientv3.WithRev(rev), clientv3.WithSerializable())
	if err != nil {
		return bot.TimelineEvent{}, fmt.Errorf("store: etcd: read %s: %w", k, err)
	}
	if len(resp.Kvs) != 1 {
		return bot.TimelineEvent{}, fmt.Errorf("store: etcd: dedupe index names missing entry %s", k)
	}
	return decodeEntry(resp.Kvs[0].Value)
}

// Ping makes a linearizable read, which succeeds only while this client's
// member is part of a quorum: a replica cut off from the others is not
// ready (GET /healthz answers 503 and the load balancer sends elsewhere).
func (s *Store) Ping(ctx context.Context) error {
	if _, err := s.cli.Get(requireLeader(ctx), s.key("schema"), clientv3.WithCountOnly()); err != nil {
		return fmt.Errorf("store: etcd: no quorum: %w", err)
	}
	return nil
}

// Backup writes a snapshot of the member the client talks to (etcd's own
// snapshot format, restored with etcdutl snapshot restore) to w and
// returns the bytes written.
func (s *Store) Backup(ctx context.Context, w io.Writer) (int64, error) {
	rc, err := s.cli.Snapshot(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: etcd: snapshot: %w", err)
	}
	defer func() { _ = rc.Close() }()
	n, err := io.Copy(w, rc)
	if err != nil {
		return n, fmt.Errorf("store: etcd: snapshot: %w", err)
	}
	return n, nil
}

// OutboxDepth returns how many effects wait in the outbox, for metrics.
func (s *Store) OutboxDepth(ctx context.Context) (int, error) {
	resp, err := s.cli.Get(ctx, s.key("outbox")+"/", clientv3.WithPrefix(), clientv3.WithCountOnly(), clientv3.WithSerializable())
	if err != nil {
		return 0, fmt.Errorf("store: etcd: outbox depth: %w", err)
	}
	return int(resp.Count), nil
}

func (s *Store) incidentKey(n int) string { return s.key("inc", num(uint64(n))) }

func noIncident(id string) error {
	return bot.Errorf(bot.ENOTFOUND, "No incident %s.", id)
}
