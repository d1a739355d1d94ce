package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/debrief/debrief/store/bolt"
	"github.com/debrief/debrief/store/etcd"
	berrors "go.etcd.io/bbolt/errors"
)

// backup copies the database to path. A stopped server's file is copied
// directly; while a server holds the file (bbolt locks it to one process),
// the copy comes from that server over GET /api/backup, so backups need no
// downtime.
func backup(ctx context.Context, cfg Config, path string, stdout io.Writer) (err error) {
	if cfg.Cluster.On() {
		return backupEtcd(ctx, cfg, path, stdout)
	}
	db, err := openExisting(cfg.DB)
	if errors.Is(err, berrors.ErrTimeout) {
		return backupOnline(ctx, cfg, path, stdout)
	}
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close %s: %w", cfg.DB, cerr)
		}
	}()
	if err := db.BackupFile(ctx, path); err != nil {
		return fmt.Errorf("backup %s to %s: %w", cfg.DB, path, err)
	}
	return reportBackup(stdout, cfg.DB, path)
}

func reportBackup(stdout io.Writer, from, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("backup %s: %w", path, err)
	}
	_, err = fmt.Fprintf(stdout, "backed up %s to %s (%d bytes)\n", from, path, fi.Size())
	return err
}

// backupOnline downloads the running server's copy into a temporary file
// beside path, opens it and runs bbolt's consistency check (a download cut
// midway must not become the backup), then renames it into place.
func backupOnline(ctx context.Context, cfg Config, path string, stdout io.Writer) error {
	if err := download(ctx, cfg, path, checkCopy, stdout); err != nil {
		return fmt.Errorf("DEBRIEF_DB=%s is held by a running server: %w", cfg.DB, err)
	}
	return nil
}

// download fetches GET /api/backup from the running server into a
// temporary file beside path, checks it with check, then renames it into
// place.
func download(ctx context.Context, cfg Config, path string, check func(string) error, stdout io.Writer) (err error) {
	url := "http://" + dialAddr(cfg.Addr) + "/api/backup"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if cfg.APIToken != "" {
		req.Header.Set("Authorization", "Bearer "+cfg.APIToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("backup: asking the running server at %s failed: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		hint := ""
		if resp.StatusCode == http.StatusUnauthorized {
			hint = "; set DEBRIEF_API_TOKEN to the server's token"
			if cfg.APIToken != "" {
				hint = "; DEBRIEF_API_TOKEN is not the server's token"
			}
		}
		return fmt.Errorf("backup: %s answered %s: %s%s", url, resp.Status, strings.TrimSpace(string(msg)), hint)
	}

	tmp, err := os.CreateTemp(filepath.Dir(path), ".debrief-backup-*")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	_, err = io.Copy(tmp, resp.Body)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("backup: download from %s: %w", url, err)
	}
	if err := check(tmp.Name()); err != nil {
		return fmt.Errorf("backup: the copy from %s is not sound: %w", url, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return reportBackup(stdout, url, path)
}

func checkCopy(path string) error {
	db, err := bolt.Open(path)
	if err != nil {
		return err
	}
	return errors.Join(db.Check(), db.Close())
}

// dialAddr turns a listen address into one to connect to: a server
// listening on all interfaces is reached on loopback.
func dialAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// backupEtcd saves a snapshot of the etcd cluster (etcd's own format, which
// etcdutl snapshot restore turns into a member's data directory). With
// DEBRIEF_ETCD_ENDPOINTS it asks the cluster directly; with an embedded
// member, which only its replica can reach, it asks the running replica at
// DEBRIEF_ADDR over GET /api/backup. Either way the snapshot's trailing
// SHA-256 is checked before the file is kept.
func backupEtcd(ctx context.Context, cfg Config, path string, stdout io.Writer) (err error) {
	if cfg.Cluster.Embedded() {
		return download(ctx, cfg, path, checkSnapshot, stdout)
	}
	cli, err := etcd.NewClient(etcd.ClientConfig{Endpoints: cfg.Cluster.Endpoints, Cert: cfg.Cluster.Cert, Key: cfg.Cluster.Key, CA: cfg.Cluster.CA})
	if err != nil {
		return fmt.Errorf("DEBRIEF_ETCD_ENDPOINTS=%s: %w", cfg.Cluster.Endpoints, err)
	}
	defer func() { _ = cli.Close() }()
	s, err := etcd.Open(ctx, cli)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".debrief-backup-*")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	_, err = s.Backup(ctx, tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := checkSnapshot(tmp.Name()); err != nil {
		return fmt.Errorf("backup: the snapshot is not sound: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return reportBackup(stdout, cfg.Cluster.Endpoints, path)
}

// checkSnapshot verifies the SHA-256 etcd appends to a snapshot: a
// download cut short or corrupted does not match it.
func checkSnapshot(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if len(b) < sha256.Size {
		return fmt.Errorf("%d bytes: too short for an etcd snapshot", len(b))
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return errors.New("its SHA-256 does not match: the snapshot is incomplete or damaged")
	}
	return nil
}
