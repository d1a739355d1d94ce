// Package etcdtest starts real etcd members for tests: a single embedded
// member on loopback ports, its data in t.TempDir(), stopped at cleanup.
package etcdtest

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/store/etcd"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// FreePort returns a loopback port free at the time of the call.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// Member starts a single-member cluster and returns it; it is closed at
// cleanup.
func Member(t testing.TB) *etcd.Member {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := etcd.StartMember(ctx, etcd.MemberConfig{
		Name:   "solo",
		Peers:  fmt.Sprintf("solo=http://127.0.0.1:%d", FreePort(t)),
		Dir:    t.TempDir(),
		Logger: zap.NewNop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// Client returns a client of m, closed at cleanup.
func Client(t testing.TB, m *etcd.Member) *clientv3.Client {
	t.Helper()
	cli, err := m.Client()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// Open returns a store on m under a prefix of its own, so that many stores
// share one member (starting a member per test costs about a second).
func Open(t testing.TB, cli *clientv3.Client, prefix string) *etcd.Store {
	t.Helper()
	s, err := etcd.Open(context.Background(), cli, etcd.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Cluster starts an n-member cluster on loopback, as n embedded replicas
// would form, and returns its members once all have joined; they are
// closed at cleanup.
func Cluster(t testing.TB, n int) []*etcd.Member {
	t.Helper()
	var peers []string
	for i := range n {
		peers = append(peers, fmt.Sprintf("m%d=http://127.0.0.1:%d", i, FreePort(t)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ms := make([]*etcd.Member, n)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			m, err := etcd.StartMember(ctx, etcd.MemberConfig{
				Name: fmt.Sprintf("m%d", i), Peers: strings.Join(peers, ","), Dir: t.TempDir(), Logger: zap.NewNop(),
			})
			ms[i] = m
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range ms {
		t.Cleanup(m.Close)
	}
	return ms
}
