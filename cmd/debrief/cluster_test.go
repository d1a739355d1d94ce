package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/store/bolt"
	"github.com/debrief/debrief/store/etcd/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// TestClusterConfig: bad cluster settings are refused before anything is
// opened, with the variable named.
func TestClusterConfig(t *testing.T) {
	cert := filepath.Join(t.TempDir(), "c.pem")
	if err := os.WriteFile(cert, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env  map[string]string
		want string // "" when valid
	}{
		{map[string]string{"DEBRIEF_ETCD_ENDPOINTS": "http://10.0.0.1:2379,https://10.0.0.2:2379"}, ""},
		{map[string]string{"DEBRIEF_CLUSTER_NAME": "a", "DEBRIEF_CLUSTER_PEERS": "a=http://127.0.0.1:2380,b=http://127.0.0.1:2381"}, ""},
		{map[string]string{"DEBRIEF_ETCD_ENDPOINTS": "10.0.0.1:2379"}, "DEBRIEF_ETCD_ENDPOINTS"},
		{map[string]string{"DEBRIEF_ETCD_ENDPOINTS": "http://x:2379", "DEBRIEF_CLUSTER_URL": "http://10.0.0.1:8080/"}, ""},
		{map[string]string{"DEBRIEF_ETCD_ENDPOINTS": "http://x:2379", "DEBRIEF_CLUSTER_URL": "10.0.0.1:8080"}, "DEBRIEF_CLUSTER_URL"},
		{map[string]string{"DEBRIEF_ETCD_ENDPOINTS": "http://x:2379", "DEBRIEF_CLUSTER_URL": "http://h:1/x"}, "DEBRIEF_CLUSTER_URL"},
		{map[string]string{"DEBRIEF_CLUSTER_URL": "http://10.0.0.1:8080"}, "no other replicas"},
		{map[string]string{"DEBRIEF_CLUSTER_NAME": "a", "DEBRIEF_CLUSTER_PEERS": "a=http://10.0.0.1:2380", "DEBRIEF_CLUSTER_LISTEN": "http://0.0.0.0:12380"}, ""},
		{map[string]string{"DEBRIEF_CLUSTER_NAME": "a", "DEBRIEF_CLUSTER_PEERS": "a=http://10.0.0.1:2380", "DEBRIEF_CLUSTER_LISTEN": "https://0.0.0.0:12380"}, "DEBRIEF_CLUSTER_LISTEN"},
		{map[string]string{"DEBRIEF_CLUSTER_LISTEN": "http://0.0.0.0:12380"}, "DEBRIEF_CLUSTER_LISTEN"},
		{map[string]string{"DEBRIEF_ETCD_ENDPOINTS": "http://x:2379", "DEBRIEF_CLUSTER_NAME": "a"}, "exclusive"},
		{map[string]string{"DEBRIEF_CLUSTER_NAME": "a"}, "needs DEBRIEF_CLUSTER_PEERS"},
		{map[string]string{"DEBRIEF_CLUSTER_PEERS": "a=http://127.0.0.1:2380"}, "needs DEBRIEF_CLUSTER_NAME"},
		{map[string]string{"DEBRIEF_CLUSTER_DIR": "/tmp/x"}, "DEBRIEF_CLUSTER_DIR"},
		{map[string]string{"DEBRIEF_CLUSTER_NAME": "z", "DEBRIEF_CLUSTER_PEERS": "a=http://127.0.0.1:2380"}, "is not among DEBRIEF_CLUSTER_PEERS"},
		{map[string]string{"DEBRIEF_CLUSTER_NAME": "a", "DEBRIEF_CLUSTER_PEERS": "a=127.0.0.1:2380"}, "DEBRIEF_CLUSTER_PEERS"},
		{map[string]string{"DEBRIEF_CLUSTER_NAME": "a", "DEBRIEF_CLUSTER_PEERS": "a=http://h:1,a=http://h:2"}, "twice"},
		{map[string]string{"DEBRIEF_CLUSTER_NAME": "a", "DEBRIEF_CLUSTER_PEERS": "a=https://h:1"}, "peer TLS"},
		{map[string]string{"DEBRIEF_ETCD_ENDPOINTS": "https://x:2379", "DEBRIEF_ETCD_CERT": cert}, "DEBRIEF_ETCD_CERT and DEBRIEF_ETCD_KEY"},
		{map[string]string{"DEBRIEF_ETCD_ENDPOINTS": "https://x:2379", "DEBRIEF_ETCD_CERT": cert, "DEBRIEF_ETCD_KEY": cert}, "needs DEBRIEF_ETCD_CA"},
		{map[string]string{"DEBRIEF_ETCD_ENDPOINTS": "https://x:2379", "DEBRIEF_ETCD_CERT": cert, "DEBRIEF_ETCD_KEY": cert, "DEBRIEF_ETCD_CA": "/nonexistent/ca.pem"}, "DEBRIEF_ETCD_CA=/nonexistent/ca.pem"},
	} {
		_, err := LoadConfig(getenv(tc.env))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("LoadConfig(%v) = %v, want it accepted", tc.env, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("LoadConfig(%v) = %v, want an error naming %q", tc.env, err, tc.want)
		}
	}
}

// fill writes one of every record into s.
func fill(t *testing.T, s store.Store) {
	t.Helper()
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	err := s.Update(context.Background(), func(tx store.Tx) error {
		for i := range 3 {
			n, err := tx.NextIncidentNumber()
			if err != nil {
				return err
			}
			inc := &bot.Incident{ID: bot.IncidentID(n), Number: n, Title: "db latency", Kind: bot.KindReal,
				Severity: bot.SEV2, Status: bot.StatusInvestigating, DeclaredAt: at}
			if err := tx.PutIncident(inc); err != nil {
				return err
			}
			if err := tx.PutChannel(bot.Channel{Platform: bot.Slack, ID: "C" + inc.ID}, inc.ID); err != nil {
				return err
			}
			for j := range 40 {
				ev := bot.TimelineEvent{IncidentID: inc.ID, Kind: bot.EventMessage, Text: "said", RecordedAt: at.Add(time.Duration(j%5) * time.Second)}
				if j%2 == 0 {
					ev.DedupeKey = "slack/" + inc.ID + "/" + string(rune('a'+j))
				}
				if _, _, err := tx.AppendEvent(ev); err != nil {
					return err
				}
			}
			if err := tx.PutReminder(store.Reminder{Key: inc.ID + "/status_update", IncidentID: inc.ID, Kind: store.RemindStatus, Due: at.Add(time.Duration(i) * time.Hour)}); err != nil {
				return err
			}
			if _, err := tx.AddEffect(store.Effect{Kind: "post", Lane: "slack/" + inc.ID, Platform: bot.Slack, IncidentID: inc.ID, CreatedAt: at}); err != nil {
				return err
			}
		}
		if err := tx.PutUserPrefs(store.UserPrefs{Key: "slack:U1", Zone: "Europe/Berlin", GitHub: "ada"}); err != nil {
			return err
		}
		if err := tx.PutMeta("github/cursor", "2026-03-01T10:00:00Z"); err != nil {
			return err
		}
		// The weak-signal records and a game day (store/signals.go).
		if err := tx.PutGameday(store.Gameday{ID: "GD-1", Number: 1, Title: "failover drill", Start: at.Add(48 * time.Hour), Duration: time.Hour, Zone: "UTC"}); err != nil {
			return err
		}
		if err := tx.PutNearMiss(store.NearMiss{ID: store.NearMissID(1), Number: 1, Text: "almost dropped the table", Tags: []string{"db"}, At: at, RecordedAt: at}); err != nil {
			return err
		}
		if err := tx.PutAlertGroup(store.AlertGroup{ID: "AL-1a2b", Source: "alertmanager", Key: "{}:{alertname=\"HighLatency\"}", Title: "HighLatency", StartedAt: at, DetectedAt: at, LastAt: at,
			Alerts: map[string]store.AlertState{"fp1": {Name: "HighLatency", Firing: true, StartsAt: at, Signal: "sig1"}}}); err != nil {
			return err
		}
		return tx.PutSignal(store.Signal{Key: "sig1", Name: "HighLatency", Labels: map[string]string{"service": "db"}, Count: 2, Fires: []time.Time{at, at.Add(time.Hour)}, FirstAt: at, LastAt: at.Add(time.Hour), LastStart: at.Add(time.Hour)})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMigrate copies a bbolt database into etcd and back into a new file,
// and compares the result with the original entry by entry; a second copy
// into the same etcd is refused.
func TestMigrate(t *testing.T) {
	m := etcdtest.Member(t)
	dir := t.TempDir()
	orig := filepath.Join(dir, "orig.db")
	db, err := bolt.Open(orig)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DEBRIEF_DB": orig, "DEBRIEF_ETCD_ENDPOINTS": m.ClientURL()}
	out, err := runQuick(t, env, "migrate", "to-etcd")
	if err != nil || !strings.Contains(out, "3 incidents, 120 timeline entries, 3 channels, 1 users, 3 reminders, 3 effects, 1 meta, 1 game days, 1 near misses, 1 alert groups, 1 signals") {
		t.Fatalf("migrate to-etcd = %q, %v", out, err)
	}
	// export reads etcd when it is configured.
	if md, err := runQuick(t, env, "export", "INC-2"); err != nil || !strings.Contains(md, "db latency") {
		t.Errorf("export INC-2 from etcd = %.200q, %v", md, err)
	}
	if _, err := runQuick(t, env, "migrate", "to-etcd"); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("second migrate to-etcd = %v, want refused: not empty", err)
	}
	back := filepath.Join(dir, "back.db")
	env["DEBRIEF_DB"] = back
	if out, err := runQuick(t, env, "migrate", "to-bolt"); err != nil {
		t.Fatalf("migrate to-bolt = %q, %v", out, err)
	}
	a, err := bolt.Open(orig)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := bolt.Open(back)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := compareStores(context.Background(), a, b); err != nil {
		t.Errorf("after bbolt -> etcd -> bbolt: %v", err)
	}
	if _, err := runQuick(t, map[string]string{"DEBRIEF_DB": orig}, "migrate", "to-etcd"); err == nil || !strings.Contains(err.Error(), "DEBRIEF_ETCD_ENDPOINTS") {
		t.Errorf("migrate without etcd = %v, want the variables named", err)
	}
	if _, err := runQuick(t, env, "migrate", "sideways"); err == nil {
		t.Error("migrate sideways accepted")
	}
}

// TestBackupEtcd: backup saves a snapshot whose checksum holds, and a
// damaged one is refused by the check.
func TestBackupEtcd(t *testing.T) {
	m := etcdtest.Member(t)
	path := filepath.Join(t.TempDir(), "snap.db")
	env := map[string]string{"DEBRIEF_ETCD_ENDPOINTS": m.ClientURL()}
	if out, err := runQuick(t, env, "backup", path); err != nil || !strings.Contains(out, "backed up") {
		t.Fatalf("backup = %q, %v", out, err)
	}
	if err := checkSnapshot(path); err != nil {
		t.Fatalf("the snapshot fails its check: %v", err)
	}
	b, _ := os.ReadFile(path)
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := checkSnapshot(path); err == nil {
		t.Error("a damaged snapshot passes the check")
	}
}

// TestRouteURL: the URL other replicas send appends to.
func TestRouteURL(t *testing.T) {
	addr := &net.TCPAddr{IP: net.IPv4zero, Port: 8080}
	for _, tc := range []struct {
		cc   ClusterConfig
		want string
	}{
		{ClusterConfig{Name: "b", Peers: "a=http://10.0.0.1:2380,b=http://debrief-b.debrief:2380"}, "http://debrief-b.debrief:8080"},
		{ClusterConfig{Name: "b", Peers: "a=http://10.0.0.1:2380,b=http://10.0.0.2:2380", URL: "https://b.example:443"}, "https://b.example:443"},
		{ClusterConfig{Endpoints: "http://etcd:2379"}, ""},
	} {
		if got := routeURL(tc.cc, addr); got != tc.want {
			t.Errorf("routeURL(%+v) = %q, want %q", tc.cc, got, tc.want)
		}
	}
}

// TestLeaseGate: a leader delivers while its lease is known to be alive;
// once it is not (the lease gone and, by the monotonic clock, its last
// renewal older than the TTL less the margin: what a leader paused past its
// lease finds when it resumes), the gate holds deliveries until the term
// ends, and the term ends.
func TestLeaseGate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an etcd member")
	}
	cli := etcdtest.Client(t, etcdtest.Member(t))
	l := newLeadership(cli, "gate/", "a", "", slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	var paused atomic.Int64
	start := time.Now()
	l.since = func() time.Duration { return time.Since(start) + time.Duration(paused.Load()) }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx) }()
	defer func() { cancel(); <-done }()
	poll(t, "leading", l.Leading)
	term, _ := l.Term()
	resp, err := cli.Get(ctx, "gate/leader/", clientv3.WithPrefix())
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("leader key: %v %v", resp, err)
	}
	rev, lease := resp.Kvs[0].CreateRevision, clientv3.LeaseID(resp.Kvs[0].Lease)
	gctx, gcancel := context.WithTimeout(term, 5*time.Second)
	err = l.gate(gctx, rev)
	gcancel()
	if err != nil {
		t.Fatalf("gate of a fresh lease: %v", err)
	}

	// 10 s later by this replica's clock, with no renewal seen since: not
	// known to be alive, whatever etcd thinks.
	paused.Store(int64(10 * time.Second))
	stale, stop := context.WithCancel(context.Background())
	stop()
	if err := l.gate(stale, rev); err == nil {
		t.Error("gate let a delivery go 10 s after the last renewal it saw")
	}
	paused.Store(0)

	// The lease gone (as after a pause past it) and a pause of 30 s on
	// this replica's clock (past any renewal seen while it read 10 s
	// ahead).
	time.Sleep(2 * leaseProbe) // no renewal in flight from before
	if _, err := cli.Revoke(ctx, lease); err != nil {
		t.Fatal(err)
	}
	paused.Store(int64(30 * time.Second))
	gctx, gcancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	err = l.gate(gctx, rev)
	gcancel()
	if err == nil {
		t.Fatal("gate let a delivery go past the lease")
	}
	poll(t, "the term ended", func() bool { return term.Err() != nil })
}
