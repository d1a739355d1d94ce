package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	discordadapter "github.com/debrief/debrief/adapters/discord"
	slackadapter "github.com/debrief/debrief/adapters/slack"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/store/etcd"
	"github.com/debrief/debrief/workflows"
	"github.com/debrief/debrief/workflows/outbox"
	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// ClusterConfig says where the state lives when it is not one bbolt file
// (the README's "Running three replicas"): an existing etcd cluster
// (Endpoints), or a member embedded in this replica (Name, Peers).
type ClusterConfig struct {
	Endpoints     string // DEBRIEF_ETCD_ENDPOINTS
	Cert, Key, CA string // DEBRIEF_ETCD_CERT, _KEY, _CA: client TLS

	Name                      string // DEBRIEF_CLUSTER_NAME: this member
	Peers                     string // DEBRIEF_CLUSTER_PEERS: name=URL,...
	Dir                       string // DEBRIEF_CLUSTER_DIR, default <DEBRIEF_DB>.etcd
	PeerCert, PeerKey, PeerCA string // DEBRIEF_CLUSTER_CERT, _KEY, _CA: peer TLS
	URL                       string // DEBRIEF_CLUSTER_URL: where other replicas reach this one's HTTP
	Listen                    string // DEBRIEF_CLUSTER_LISTEN: where this member listens for peers
}

// On reports whether the state lives in etcd.
func (c ClusterConfig) On() bool { return c.Endpoints != "" || c.Name != "" }

// Embedded reports whether this replica runs an etcd member.
func (c ClusterConfig) Embedded() bool { return c.Name != "" }

// loadCluster reads and checks the cluster variables, before anything is
// opened, with errors that name the variable.
func loadCluster(getenv func(string) string) (ClusterConfig, error) {
	v := func(name string) string { return strings.TrimSpace(getenv(name)) }
	c := ClusterConfig{
		Endpoints: v("DEBRIEF_ETCD_ENDPOINTS"),
		Cert:      v("DEBRIEF_ETCD_CERT"), Key: v("DEBRIEF_ETCD_KEY"), CA: v("DEBRIEF_ETCD_CA"),
		Name: v("DEBRIEF_CLUSTER_NAME"), Peers: v("DEBRIEF_CLUSTER_PEERS"), Dir: v("DEBRIEF_CLUSTER_DIR"),
		PeerCert: v("DEBRIEF_CLUSTER_CERT"), PeerKey: v("DEBRIEF_CLUSTER_KEY"), PeerCA: v("DEBRIEF_CLUSTER_CA"),
		URL:    strings.TrimRight(v("DEBRIEF_CLUSTER_URL"), "/"),
		Listen: v("DEBRIEF_CLUSTER_LISTEN"),
	}
	switch {
	case c.Endpoints != "" && (c.Name != "" || c.Peers != ""):
		return c, errors.New("DEBRIEF_ETCD_ENDPOINTS and DEBRIEF_CLUSTER_NAME/DEBRIEF_CLUSTER_PEERS are exclusive: use an existing etcd cluster or embed a member, not both")
	case c.Name != "" && c.Peers == "":
		return c, fmt.Errorf("DEBRIEF_CLUSTER_NAME=%s needs DEBRIEF_CLUSTER_PEERS (every member: a=http://10.0.0.1:2380,b=...)", c.Name)
	case c.Peers != "" && c.Name == "":
		return c, errors.New("DEBRIEF_CLUSTER_PEERS needs DEBRIEF_CLUSTER_NAME, this member's name in it")
	case c.Name == "" && c.Dir != "":
		return c, errors.New("DEBRIEF_CLUSTER_DIR is set but DEBRIEF_CLUSTER_NAME is not: no member is embedded")
	case c.Name == "" && c.Listen != "":
		return c, errors.New("DEBRIEF_CLUSTER_LISTEN is set but DEBRIEF_CLUSTER_NAME is not: no member is embedded")
	}
	if c.URL != "" {
		if !c.On() {
			return c, errors.New("DEBRIEF_CLUSTER_URL is set but neither DEBRIEF_ETCD_ENDPOINTS nor DEBRIEF_CLUSTER_NAME is: there are no other replicas")
		}
		if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return c, fmt.Errorf("DEBRIEF_CLUSTER_URL=%q is not an http(s)://host:port URL", c.URL)
		}
	}
	if c.Endpoints != "" {
		for _, e := range strings.Split(c.Endpoints, ",") {
			e = strings.TrimSpace(e)
			if !strings.HasPrefix(e, "http://") && !strings.HasPrefix(e, "https://") {
				return c, fmt.Errorf("DEBRIEF_ETCD_ENDPOINTS=%q: %q is not an http(s):// URL", c.Endpoints, e)
			}
		}
	}
	if c.Peers != "" {
		peers, err := etcd.ParsePeers(c.Peers)
		if err != nil {
			return c, fmt.Errorf("DEBRIEF_CLUSTER_PEERS=%q: %w", c.Peers, err)
		}
		self, ok := peers[c.Name]
		if !ok {
			return c, fmt.Errorf("DEBRIEF_CLUSTER_NAME=%s is not among DEBRIEF_CLUSTER_PEERS=%s", c.Name, c.Peers)
		}
		if c.Listen != "" {
			if u, err := url.Parse(c.Listen); err != nil || u.Scheme != self.Scheme || u.Port() == "" {
				return c, fmt.Errorf("DEBRIEF_CLUSTER_LISTEN=%q is not a %s://host:port URL, as this member's entry in DEBRIEF_CLUSTER_PEERS", c.Listen, self.Scheme)
			}
		}
		peerTLS := c.PeerCert != "" || c.PeerKey != "" || c.PeerCA != ""
		if peerTLS != (self.Scheme == "https") {
			return c, fmt.Errorf("DEBRIEF_CLUSTER_PEERS: peer TLS (DEBRIEF_CLUSTER_CERT/_KEY/_CA) needs https:// peer URLs, and https:// needs them")
		}
	}
	for _, f := range []struct{ name, cert, key, ca string }{
		{"DEBRIEF_ETCD", c.Cert, c.Key, c.CA},
		{"DEBRIEF_CLUSTER", c.PeerCert, c.PeerKey, c.PeerCA},
	} {
		if (f.cert == "") != (f.key == "") {
			return c, fmt.Errorf("%s_CERT and %s_KEY go together", f.name, f.name)
		}
		if f.cert != "" && f.ca == "" {
			return c, fmt.Errorf("%s_CERT needs %s_CA, the CA that signed the other side's certificate", f.name, f.name)
		}
		for suffix, path := range map[string]string{"_CERT": f.cert, "_KEY": f.key, "_CA": f.ca} {
			if path == "" {
				continue
			}
			if _, err := os.Stat(path); err != nil {
				return c, fmt.Errorf("%s%s=%s: %w", f.name, suffix, path, err)
			}
		}
	}
	return c, nil
}

// backend is the store serve runs on, and what only its kind can do.
type backend struct {
	store.Store
	backup func(ctx context.Context, w io.Writer) (int64, error)
	close  func() error
	// cli and prefix are set on etcd: the election runs on them.
	cli    *clientv3.Client
	prefix string
	etcd   *etcd.Store
	ping   func(context.Context) error
	where  string // for the log
	// commitErr says why the latest commit failed (bbolt: a full disk);
	// nil on etcd, whose /healthz check is the quorum read (ping).
	commitErr func() error
}

// pingTimeout bounds the quorum check of GET /healthz: a member cut off
// from the others would hold a linearizable read until etcd's own request
// timeout.
const pingTimeout = 2 * time.Second

// ready adds the store's quorum check, on etcd, to the components'.
func (b *backend) ready(components func() error) func() error {
	if b.ping == nil {
		return components
	}
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
		defer cancel()
		if err := b.ping(ctx); err != nil {
			return err
		}
		return components()
	}
}

// openEtcd connects to the configured cluster, starting this replica's
// member first when it is embedded. It waits for the member to join its
// cluster (a quorum of peers up), or ctx. log, when not nil, is warned when
// reads are answered without a quorum.
func openEtcd(ctx context.Context, cfg Config, reg prometheus.Registerer, log *slog.Logger) (*backend, error) {
	cc := cfg.Cluster
	var member *etcd.Member
	var cli *clientv3.Client
	var err error
	where := cc.Endpoints
	if cc.Embedded() {
		dir := cc.Dir
		if dir == "" {
			dir = cfg.DB + ".etcd"
		}
		member, err = etcd.StartMember(ctx, etcd.MemberConfig{
			Name: cc.Name, Peers: cc.Peers, Listen: cc.Listen, Dir: dir,
			PeerCert: cc.PeerCert, PeerKey: cc.PeerKey, PeerCA: cc.PeerCA,
		})
		if err != nil {
			return nil, fmt.Errorf("DEBRIEF_CLUSTER_NAME=%s: %w", cc.Name, err)
		}
		if cli, err = member.Client(); err != nil {
			member.Close()
			return nil, err
		}
		where = "embedded member " + cc.Name + " in " + dir + ", clients on " + member.ClientURL()
	} else {
		cli, err = etcd.NewClient(etcd.ClientConfig{Endpoints: cc.Endpoints, Cert: cc.Cert, Key: cc.Key, CA: cc.CA})
		if err != nil {
			return nil, fmt.Errorf("DEBRIEF_ETCD_ENDPOINTS=%s: %w", cc.Endpoints, err)
		}
	}
	commits := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "debrief_etcd_commit_seconds",
		Help:    "Latency of etcd commits (Update and Append transactions).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	})
	localReads := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "debrief_etcd_local_reads_total",
		Help: "Reads answered from this replica's member alone, without a quorum (possibly behind the others).",
	})
	if reg != nil {
		reg.MustRegister(commits, localReads)
	}
	var warned atomic.Int64 // UnixNano of the last warning
	noteLocal := func() {
		localReads.Inc()
		if now := time.Now().UnixNano(); log != nil && now-warned.Load() > int64(time.Minute) {
			warned.Store(now)
			log.Warn("no quorum: reads answered from this replica's copy, which may be behind; writes are refused")
		}
	}
	closeAll := func() error {
		err := cli.Close()
		if member != nil {
			member.Close()
		}
		return err
	}
	opts := []etcd.Option{etcd.WithCommitObserver(func(d time.Duration) { commits.Observe(d.Seconds()) }),
		etcd.WithLocalReadObserver(noteLocal)}
	if member != nil {
		opts = append(opts, etcd.WithMaxTxnOps(etcd.MemberMaxTxnOps))
	}
	s, err := etcd.Open(ctx, cli, opts...)
	if err != nil {
		_ = closeAll()
		return nil, err
	}
	return &backend{Store: s, backup: s.Backup, close: closeAll, cli: cli, prefix: s.Prefix(), etcd: s, ping: s.Ping, where: where}, nil
}

// leaderTTL is the lease of the leader key, in seconds: a leader that dies
// hands over after at most this long (plus an etcd leader election when
// its member was etcd's leader too), and a replica that cannot renew its
// lease for this long stops leading.
const leaderTTL = 3

// leaseMargin is how much of its lease a leader must know to be left
// before it makes a delivery (gate): time for the call to leave before
// the lease could expire and the next leader deliver the same effect.
const leaseMargin = time.Second

// leaseProbe is how often a leader renews its lease itself and times the
// answer (keepFresh), on top of the session's own keepalives.
const leaseProbe = 500 * time.Millisecond

// leadership campaigns for this replica and tells the rest of serve when
// it leads. Only the leader runs the application's loops (outbox,
// reminders, digest...) and the long-lived platform connections; each term
// is a context cancelled when the lease is lost, carrying a fence on the
// leader key, so that a former leader that was paused cannot write, and a
// gate on the lease (gate), so that it does not deliver either.
type leadership struct {
	cli    *clientv3.Client
	prefix string
	name   string
	url    string // where other replicas send their appends; "" when not known
	log    *slog.Logger

	leading atomic.Bool
	mu      sync.Mutex
	term    context.Context // the current term; nil when not leading
	changed chan struct{}   // closed and replaced when term changes

	// leaderURL is the current leader's url (watchLeader).
	leaderURL atomic.Pointer[string]

	// since reads a monotonic clock (time.Since a fixed instant); tests
	// replace it to stand for a pause. alive says until which reading
	// the lease of a term (by its revision) is known to live on etcd's
	// side (keepFresh); nil when not known.
	since func() time.Duration
	alive atomic.Pointer[aliveLease]

	gauge, termGauge prometheus.Gauge
}

func newLeadership(cli *clientv3.Client, prefix, name, url string, log *slog.Logger, reg prometheus.Registerer) *leadership {
	start := time.Now()
	l := &leadership{
		cli: cli, prefix: prefix, name: name, url: url, log: log, changed: make(chan struct{}),
		since: func() time.Duration { return time.Since(start) },
		gauge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "debrief_leader", Help: "1 while this replica leads its cluster (runs the loops and platform connections).",
		}),
		termGauge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "debrief_leader_term", Help: "The election term this replica last led: the etcd revision of its leader key.",
		}),
	}
	if reg != nil {
		reg.MustRegister(l.gauge, l.termGauge)
	}
	return l
}

// Leading reports whether this replica leads now.
func (l *leadership) Leading() bool { return l.leading.Load() }

// Term returns the current term's context (nil when not leading) and a
// channel closed at the next change.
func (l *leadership) Term() (context.Context, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.term, l.changed
}

// begin starts a term.
func (l *leadership) begin(term context.Context) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.term = term
	l.leading.Store(true)
	l.notify()
}

// end ends the term.
func (l *leadership) end() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.term = nil
	l.leading.Store(false)
	l.notify()
}

// notify wakes Term's waiters; l.mu is held.
func (l *leadership) notify() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// Run campaigns until ctx is done, leading whenever elected.
func (l *leadership) Run(ctx context.Context) {
	for ctx.Err() == nil {
		if err := l.campaign(ctx); err != nil && ctx.Err() == nil {
			l.log.Warn("leader election", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// aliveLease is what keepFresh last learnt of a term's lease.
type aliveLease struct {
	term  int64         // the term's revision
	until time.Duration // a reading of since
}

// candidate is the value of a leader key: who leads, and where the
// others send their appends.
type candidate struct {
	Name string `json:"name"`
	URL  string `json:"url,omitempty"`
}

func (l *leadership) campaign(ctx context.Context) error {
	sess, err := concurrency.NewSession(l.cli, concurrency.WithTTL(leaderTTL), concurrency.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	defer func() { _ = sess.Close() }()
	el := concurrency.NewElection(sess, l.prefix+"leader")
	val, err := json.Marshal(candidate{Name: l.name, URL: l.url})
	if err != nil {
		return fmt.Errorf("campaign: %w", err)
	}
	if err := el.Campaign(ctx, string(val)); err != nil {
		return fmt.Errorf("campaign: %w", err)
	}
	rev := el.Rev()
	l.alive.Store(nil)
	gate := func(ctx context.Context) error { return l.gate(ctx, rev) }
	term, cancel := context.WithCancel(outbox.WithGate(etcd.Fence(ctx, el.Key(), rev), gate))
	defer cancel()
	fresh := make(chan struct{})
	go func() {
		defer close(fresh)
		l.keepFresh(term, rev, sess.Lease())
	}()
	l.log.Info("leading", "term", el.Rev())
	l.gauge.Set(1)
	l.termGauge.Set(float64(el.Rev()))
	l.begin(term)
	// The lease is lost when keepalives fail for its TTL (this replica cut
	// off from the quorum) or it expired; either way stop at once: the
	// next leader may already be elected.
	select {
	case <-sess.Done():
		l.log.Warn("leadership lost: lease expired", "term", el.Rev())
	case <-ctx.Done():
	}
	cancel()
	<-fresh
	l.alive.Store(nil)
	l.end()
	l.gauge.Set(0)
	if ctx.Err() != nil {
		// Hand over now rather than after the TTL.
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer rcancel()
		_ = el.Resign(rctx)
	}
	return nil
}

// keepFresh renews the term's lease every leaseProbe and records, by the
// monotonic clock, until when etcd keeps it alive: etcd restarts a lease's
// TTL when it receives the renewal, which is after it was sent, so the
// lease lives at least until the sending instant plus the TTL it answers.
// It is what gate reads; the session's own keepalives cannot say when
// their requests left (an answer read after a pause is old news).
func (l *leadership) keepFresh(term context.Context, rev int64, lease clientv3.LeaseID) {
	for {
		sent := l.since()
		ctx, cancel := context.WithTimeout(clientv3.WithRequireLeader(term), leaseProbe*2)
		resp, err := l.cli.KeepAliveOnce(ctx, lease)
		cancel()
		if err == nil && resp.TTL > 0 {
			until := sent + time.Duration(resp.TTL)*time.Second
			if a := l.alive.Load(); a == nil || a.term != rev || until > a.until {
				l.alive.Store(&aliveLease{term: rev, until: until})
			}
		}
		select {
		case <-term.Done():
			return
		case <-time.After(leaseProbe):
		}
	}
}

// gate lets a delivery of term go only while the term's lease is known to
// live for leaseMargin more (keepFresh): never once another term began, waiting otherwise until it is renewed
// or the term ends. A leader paused past its lease (and replaced) finds,
// when it resumes, that the lease it knew of has run out, and delivers
// nothing before it notices it no longer leads: the term's context is
// cancelled then. The outbox calls it right before each delivery
// (outbox.WithGate).
func (l *leadership) gate(ctx context.Context, term int64) error {
	for {
		if a := l.alive.Load(); a != nil && a.term == term && l.since()+leaseMargin < a.until {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("lease not known to be alive: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// watchLeader keeps leaderURL current: the url of the oldest key under
// the election prefix, which is the leader's (concurrency.Election).
func (l *leadership) watchLeader(ctx context.Context) {
	pfx := l.prefix + "leader/"
	read := func() (int64, error) {
		resp, err := l.cli.Get(clientv3.WithRequireLeader(ctx), pfx, clientv3.WithFirstCreate()...)
		if err != nil {
			return 0, err
		}
		u := ""
		if len(resp.Kvs) == 1 {
			var c candidate
			if json.Unmarshal(resp.Kvs[0].Value, &c) == nil {
				u = c.URL
			}
		}
		l.leaderURL.Store(&u)
		return resp.Header.Revision, nil
	}
	for ctx.Err() == nil {
		rev, err := read()
		if err == nil {
			for wr := range l.cli.Watch(clientv3.WithRequireLeader(ctx), pfx, clientv3.WithPrefix(), clientv3.WithRev(rev+1)) {
				if wr.Err() != nil {
					break
				}
				if _, err := read(); err != nil {
					break
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// appendTarget is where this replica sends its keyed appends
// (etcd.Routed): the leader's URL, or "" (append here) while this replica
// leads or no leader is known. One writer per incident's Seq counter
// spares the replicas their conflicts on it.
func (l *leadership) appendTarget() string {
	if l.Leading() {
		return ""
	}
	u := l.leaderURL.Load()
	if u == nil || *u == l.url {
		return ""
	}
	return *u
}

// routeURL is where the other replicas reach this one's HTTP server
// (DEBRIEF_CLUSTER_URL): by default the host of its peer URL, which they
// reach already, at the port the server listens on. Without a member and
// without the variable there is none ("": this replica's appends are not
// routed to it).
func routeURL(cc ClusterConfig, addr net.Addr) string {
	if cc.URL != "" {
		return cc.URL
	}
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !cc.Embedded() {
		return ""
	}
	peers, err := etcd.ParsePeers(cc.Peers)
	if err != nil || peers[cc.Name] == nil {
		return ""
	}
	return "http://" + net.JoinHostPort(peers[cc.Name].Hostname(), strconv.Itoa(tcp.Port))
}

// routeAppends has this replica send its keyed appends to the leader
// (etcd.Routed) and returns the handler of those sent to it, for
// etcd.RoutePath.
func (b *backend) routeAppends(ctx context.Context, lead *leadership) (http.Handler, error) {
	r, err := b.etcd.Route(ctx, lead.appendTarget)
	if err != nil {
		return nil, err
	}
	b.Store = r
	return r.Handler(), nil
}

// eachTerm runs start at the beginning of every term this replica leads,
// with the term's context, and the function it returns when the term ends;
// until ctx is done (then the last stop runs before eachTerm returns).
func (l *leadership) eachTerm(ctx context.Context, start func(term context.Context) (stop func())) {
	for {
		term, changed := l.Term()
		if term != nil {
			stop := start(term)
			select {
			case <-term.Done():
			case <-ctx.Done():
			}
			stop()
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

// watchOutbox kicks the outbox whenever an effect is added, by any
// replica: an effect enqueued by a command answered on a follower must not
// wait for the leader's next timer. It returns when term ends.
func watchOutbox(term context.Context, cli *clientv3.Client, prefix string, kick func()) {
	for resp := range cli.Watch(clientv3.WithRequireLeader(term), prefix+"outbox/", clientv3.WithPrefix(), clientv3.WithFilterDelete()) {
		if resp.Err() != nil {
			return
		}
		kick()
	}
}

// leaderOnly runs a component that holds a long-lived platform connection
// (Discord's gateway, Slack's Socket Mode) only while this replica leads:
// two connections would deliver every event twice and race for the
// session. Its HTTP routes stay on every replica. On a follower it is
// ready: the leader holds the connection.
type leaderOnly struct {
	component
	lead *leadership
}

func (c leaderOnly) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var failed error
	c.lead.eachTerm(ctx, func(term context.Context) func() {
		tctx, stop := context.WithCancel(term)
		done := make(chan struct{})
		go func() {
			defer close(done)
			// A component that fails for good stops debrief, as it
			// would on a single replica.
			if err := c.component.Run(tctx); err != nil && tctx.Err() == nil {
				failed = err
				cancel()
			}
		}()
		return func() { stop(); <-done }
	})
	return failed
}

func (c leaderOnly) Ready() error {
	if !c.lead.Leading() {
		return nil
	}
	return c.component.Ready()
}

// openBackend opens the store the configuration names: bbolt by default,
// etcd when DEBRIEF_ETCD_ENDPOINTS or DEBRIEF_CLUSTER_NAME is set.
func openBackend(ctx context.Context, cfg Config, reg prometheus.Registerer, log *slog.Logger) (*backend, error) {
	if cfg.Cluster.On() {
		return openEtcd(ctx, cfg, reg, log)
	}
	db, err := openStore(cfg.DB)
	if err != nil {
		return nil, err
	}
	return &backend{Store: db, backup: db.Backup, close: db.Close, where: cfg.DB, commitErr: db.CommitErr}, nil
}

// holdsConnection reports whether c keeps a long-lived connection to its
// platform that only one replica may hold: Discord's gateway, and Slack
// in Socket Mode.
func holdsConnection(c component, getenv func(string) string) bool {
	switch c.(type) {
	case *discordadapter.Discord:
		return true
	case *slackadapter.Slack:
		return strings.TrimSpace(getenv("SLACK_APP_TOKEN")) != ""
	}
	return false
}

// leadWorkers runs the application's loops during each term this replica
// leads, under the term's fenced context, and watches the outbox for
// effects other replicas add. The function it returns ends the current
// term's loops and stops campaigning.
func leadWorkers(ctx context.Context, lead *leadership, db *backend, svc *workflows.Service, loops []workflows.NamedLoop, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { lead.Run(ctx) })
	wg.Go(func() { lead.watchLeader(ctx) })
	wg.Go(func() {
		lead.eachTerm(ctx, func(term context.Context) func() {
			stopLoops := startWorkers(term, loops, log)
			wctx, stopWatch := context.WithCancel(term)
			watched := make(chan struct{})
			go func() {
				defer close(watched)
				watchOutbox(wctx, db.cli, db.prefix, svc.Outbox().Kick)
			}()
			// Effects added while no one led are due now.
			svc.Outbox().Kick()
			return func() {
				stopWatch()
				<-watched
				stopLoops()
			}
		})
	})
	return sync.OnceFunc(func() {
		cancel()
		wg.Wait()
	})
}
