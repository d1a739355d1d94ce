package etcd_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/store/etcd"
	"github.com/debrief/debrief/store/etcd/etcdtest"
	"go.uber.org/zap"
)

// TestMemberDirInUse: a second member on a running member's directory is
// refused at once, naming the directory, rather than waiting forever for
// etcd's lock.
func TestMemberDirInUse(t *testing.T) {
	dir := t.TempDir()
	peers := fmt.Sprintf("solo=http://127.0.0.1:%d", etcdtest.FreePort(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := etcd.StartMember(ctx, etcd.MemberConfig{Name: "solo", Peers: peers, Dir: dir, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	_, err = etcd.StartMember(ctx, etcd.MemberConfig{Name: "solo", Peers: peers, Dir: dir, Logger: zap.NewNop()})
	if err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Errorf("second member on %s = %v, want refused: in use", dir, err)
	}
	if _, err := etcd.StartMember(ctx, etcd.MemberConfig{Name: "x", Peers: peers, Dir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "not among the peers") {
		t.Errorf("member not among its peers = %v", err)
	}
}
