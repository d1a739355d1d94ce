package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/debrief/debrief/store/bolt"
	berrors "go.etcd.io/bbolt/errors"
)

// backup copies the database to path. A stopped server's file is copied
// directly; while a server holds the file (bbolt locks it to one process),
// the copy comes from that server over GET /api/backup, so backups need no
// downtime.
func backup(ctx context.Context, cfg Config, path string, stdout io.Writer) (err error) {
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
func backupOnline(ctx context.Context, cfg Config, path string, stdout io.Writer) (err error) {
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
		return fmt.Errorf("backup: DEBRIEF_DB=%s is held by a running server, and asking it at %s failed: %w", cfg.DB, url, err)
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
	if err := checkCopy(tmp.Name()); err != nil {
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
