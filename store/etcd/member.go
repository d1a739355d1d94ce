package etcd

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// MemberConfig describes one member of an etcd cluster embedded in a
// debrief replica, as k3s embeds etcd: three debrief processes form the
// cluster and nothing else runs.
type MemberConfig struct {
	// Name is this member's name: its entry in Peers.
	Name string
	// Peers lists every member in etcd's initial-cluster syntax:
	// "a=http://10.0.0.1:2380,b=http://10.0.0.2:2380,c=...". This member
	// listens for peers on its own entry's port, unless Listen says where.
	Peers string
	// Listen, when set, is the URL this member listens for peers on,
	// while the others reach it at its entry in Peers: behind a port
	// mapping, a NAT, or a proxy (the failover test cuts one to partition
	// a member).
	Listen string
	// Dir holds the member's data. A member restarted with its Dir
	// rejoins the cluster.
	Dir string
	// PeerCert, PeerKey and PeerCA turn on mutual TLS between members (the
	// peer URLs must then be https).
	PeerCert, PeerKey, PeerCA string
	// Logger receives etcd's own logs; nil logs etcd's warnings and errors
	// to stderr in etcd's format.
	Logger *zap.Logger
	// ClientURL is where the member serves clients; default
	// http://127.0.0.1:0 (a free loopback port: only this replica talks to
	// its own member).
	ClientURL string
}

// ParsePeers parses etcd's initial-cluster syntax into name -> peer URL.
func ParsePeers(peers string) (map[string]*url.URL, error) {
	out := map[string]*url.URL{}
	for _, p := range strings.Split(peers, ",") {
		name, raw, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || name == "" || raw == "" {
			return nil, fmt.Errorf("%q is not name=URL", p)
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Port() == "" {
			return nil, fmt.Errorf("%q: peer URL must be http(s)://host:port", p)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("member %q listed twice", name)
		}
		out[name] = u
	}
	return out, nil
}

// MemberMaxTxnOps is how many operations an embedded member allows in one
// Txn (etcd's --max-txn-ops, 128 by default): Stores on such members use
// WithMaxTxnOps(MemberMaxTxnOps).
const MemberMaxTxnOps = 1024

// Member is a running embedded etcd member.
type Member struct {
	etcd      *embed.Etcd
	clientURL string
	closeOnce sync.Once
}

// StartMember starts the member and waits until it has joined its cluster
// (a quorum of the peers is up) or ctx ends.
func StartMember(ctx context.Context, mc MemberConfig) (*Member, error) {
	peers, err := ParsePeers(mc.Peers)
	if err != nil {
		return nil, fmt.Errorf("etcd member: peers: %w", err)
	}
	self, ok := peers[mc.Name]
	if !ok {
		return nil, fmt.Errorf("etcd member: %q is not among the peers %s", mc.Name, mc.Peers)
	}
	if err := notInUse(mc.Dir); err != nil {
		return nil, fmt.Errorf("etcd member %s: %w", mc.Name, err)
	}
	cfg := embed.NewConfig()
	cfg.Name = mc.Name
	cfg.Dir = mc.Dir
	cfg.InitialCluster = mc.Peers
	cfg.InitialClusterToken = "debrief"
	cfg.ClusterState = embed.ClusterStateFlagNew
	if _, err := os.Stat(filepath.Join(mc.Dir, "member")); err == nil {
		cfg.ClusterState = embed.ClusterStateFlagExisting
	}
	listen := *self
	if mc.Listen != "" {
		u, err := url.Parse(mc.Listen)
		if err != nil || u.Scheme != self.Scheme || u.Port() == "" {
			return nil, fmt.Errorf("etcd member: listen URL %q: want %s://host:port", mc.Listen, self.Scheme)
		}
		listen = *u
	} else if ip := net.ParseIP(self.Hostname()); ip == nil {
		// A name (a Kubernetes pod's DNS name) is what others dial; this
		// member listens on every interface at that port.
		listen.Host = net.JoinHostPort("0.0.0.0", self.Port())
	}
	cfg.ListenPeerUrls = []url.URL{listen}
	cfg.AdvertisePeerUrls = []url.URL{*self}
	client := mc.ClientURL
	if client == "" {
		client = "http://127.0.0.1:0"
	}
	cu, err := url.Parse(client)
	if err != nil {
		return nil, fmt.Errorf("etcd member: client URL %q: %w", client, err)
	}
	cfg.ListenClientUrls = []url.URL{*cu}
	cfg.AdvertiseClientUrls = []url.URL{*cu}
	if mc.PeerCert != "" || mc.PeerKey != "" || mc.PeerCA != "" {
		cfg.PeerTLSInfo = transport.TLSInfo{
			CertFile: mc.PeerCert, KeyFile: mc.PeerKey, TrustedCAFile: mc.PeerCA, ClientCertAuth: true,
		}
	}
	// debrief's transactions read a handful of keys; migrate writes in
	// chunks below this.
	cfg.MaxTxnOps = MemberMaxTxnOps
	// Keep an hour of history: transactions read at one revision, which
	// must not be compacted under them.
	cfg.AutoCompactionMode = embed.CompactorModePeriodic
	cfg.AutoCompactionRetention = "1h"
	cfg.LogLevel = "warn"
	cfg.LogOutputs = []string{"stderr"}
	if mc.Logger != nil {
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(mc.Logger)
	}

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("etcd member %s: start: %w", mc.Name, err)
	}
	m := &Member{etcd: e, clientURL: "http://" + e.Clients[0].Addr().String()}
	select {
	case <-e.Server.ReadyNotify():
		return m, nil
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("etcd member %s: %w", mc.Name, err)
	case <-ctx.Done():
		e.Close()
		return nil, fmt.Errorf("etcd member %s: waiting for the cluster: %w", mc.Name, ctx.Err())
	}
}

// ClientURL is where the member serves clients.
func (m *Member) ClientURL() string { return m.clientURL }

// Client returns a new client of this member alone.
func (m *Member) Client() (*clientv3.Client, error) {
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: []string{m.clientURL}, DialTimeout: 5 * time.Second,
		Logger: nopLogger(),
	})
	if err != nil {
		return nil, fmt.Errorf("etcd member: client: %w", err)
	}
	return cli, nil
}

// Err reports the member's fatal errors.
func (m *Member) Err() <-chan error { return m.etcd.Err() }

// Close stops the member; closing it again does nothing (embed's Close
// would panic).
func (m *Member) Close() { m.closeOnce.Do(m.etcd.Close) }

// notInUse fails when another process runs a member on dir: etcd would
// wait for the lock on its database forever, and a second debrief (or
// migrate, on a running replica) would hang instead of saying why.
func notInUse(dir string) error {
	db := filepath.Join(dir, "member", "snap", "db")
	if _, err := os.Stat(db); err != nil {
		return nil // a new member
	}
	b, err := bbolt.Open(db, 0o600, &bbolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("%s is in use by another process (is this replica running?): %w", dir, err)
	}
	return b.Close()
}
