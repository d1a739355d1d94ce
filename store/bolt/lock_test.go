package bolt

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	berrors "go.etcd.io/bbolt/errors"
)

// flock(2) locks belong to the open file description, so a second Open of
// the same file conflicts even within one process, just as a second debrief
// process would.
func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "debrief.db")
	db := mustOpen(t, path)

	start := time.Now()
	second, err := Open(path, WithTimeout(100*time.Millisecond))
	if err == nil {
		second.Close()
		t.Fatal("second Open of a locked file succeeded")
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("second Open took %v to fail", elapsed)
	}
	if !errors.Is(err, berrors.ErrTimeout) || !strings.Contains(err.Error(), "database is locked by another process") {
		t.Errorf("second Open: %v, want a locked-database error wrapping ErrTimeout", err)
	}
	// The failed attempt closed its own descriptor; the lock is still ours.
	if _, err := Open(path, WithTimeout(50*time.Millisecond)); !errors.Is(err, berrors.ErrTimeout) {
		t.Errorf("third Open: %v, want ErrTimeout", err)
	}
	declare(t, db, "still writable")

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Closing releases it.
	mustOpen(t, path)
}
