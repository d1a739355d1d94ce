package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/store/bolt/bolttest"
)

// TestReindex: `debrief reindex` builds DEBRIEF_INDEX (by default beside
// the database) from the database and says how much it indexed; with no
// database it changes nothing and says why.
func TestReindex(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "debrief.db")
	db := bolttest.OpenPath(t, path)
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	err := db.Update(context.Background(), func(tx store.Tx) error {
		inc := &bot.Incident{ID: "INC-1", Number: 1, Title: "disk full", Kind: bot.KindReal, Severity: bot.SEV2, Status: bot.StatusInvestigating, DeclaredAt: at}
		if err := tx.PutIncident(inc); err != nil {
			return err
		}
		for _, text := range []string{"declared", "the disk is full", "freed 10 GB"} {
			if _, _, err := tx.AppendEvent(bot.TimelineEvent{IncidentID: "INC-1", Kind: bot.EventMessage, Text: text, RecordedAt: at}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	bolttest.Close(t, db)

	out, err := runQuick(t, map[string]string{"DEBRIEF_DB": path}, "reindex")
	if err != nil || !strings.Contains(out, "indexed 3 timeline entries into "+path+".index") {
		t.Fatalf("reindex = %q, %v", out, err)
	}
	if _, err := os.Stat(path + ".index"); err != nil {
		t.Errorf("no index beside the database: %v", err)
	}
	other := filepath.Join(dir, "elsewhere")
	if out, err := runQuick(t, map[string]string{"DEBRIEF_DB": path, "DEBRIEF_INDEX": other}, "reindex"); err != nil || !strings.Contains(out, "into "+other) {
		t.Errorf("reindex into DEBRIEF_INDEX = %q, %v", out, err)
	}

	missing := filepath.Join(dir, "missing.db")
	if _, err := runQuick(t, map[string]string{"DEBRIEF_DB": missing}, "reindex"); err == nil || !strings.Contains(err.Error(), "DEBRIEF_DB="+missing) {
		t.Errorf("reindex of a missing database = %v, want an error naming it", err)
	}
	if _, err := os.Stat(missing + ".index"); err == nil {
		t.Errorf("reindex of a missing database created an index")
	}
}

// TestArchiveBeyondLoopback: serve beyond loopback with no access control
// starts, and says that the archive answers loopback only and what to set.
func TestArchiveBeyondLoopback(t *testing.T) {
	log := serveBriefly(t, map[string]string{"DEBRIEF_ADDR": "0.0.0.0:0"})
	if !strings.Contains(log, "the archive answers loopback only") || !strings.Contains(log, "DEBRIEF_WEB_USER_HEADER") {
		t.Errorf("log lacks the archive's loopback-only warning:\n%s", log)
	}
}
