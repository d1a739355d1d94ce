package bolttest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/store/bolt"
	"github.com/debrief/debrief/store/bolt/bolttest"
)

// recorder is a testing.TB whose cleanups run when the test says, and whose
// errors are kept rather than failing the test, so that the helper's own
// reports can be inspected.
type recorder struct {
	testing.TB
	errs     []string
	cleanups []func()
}

func (r *recorder) Helper()                   {}
func (r *recorder) Cleanup(f func())          { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Errorf(f string, a ...any) { r.errs = append(r.errs, fmt.Sprintf(f, a...)) }
func (r *recorder) Error(a ...any)            { r.errs = append(r.errs, fmt.Sprint(a...)) }
func (r *recorder) Fatalf(f string, a ...any) { r.TB.Fatalf(f, a...) }
func (r *recorder) Logf(string, ...any)       {}
func (r *recorder) runCleanups() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

func putMeta(t *testing.T, db *bolt.DB, kv ...string) {
	t.Helper()
	err := db.Update(context.Background(), func(tx store.Tx) error {
		for i := 0; i < len(kv); i += 2 {
			if err := tx.PutMeta(kv[i], kv[i+1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func meta(t *testing.T, db *bolt.DB, key string) string {
	t.Helper()
	var v string
	err := db.View(context.Background(), func(tx store.ReadTx) error {
		var err error
		v, _, err = tx.Meta(key)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOpenClosesCleanStore(t *testing.T) {
	rec := &recorder{TB: t}
	db := bolttest.Open(rec)
	putMeta(t, db, "k", "v")
	rec.runCleanups()
	if len(rec.errs) != 0 {
		t.Errorf("cleanup of a sound store reported %q", rec.errs)
	}
	if err := db.Check(); !errors.Is(err, bolt.ErrClosed) {
		t.Errorf("Check after cleanup = %v, want ErrClosed: cleanup must close the store", err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	rec := &recorder{TB: t}
	db := bolttest.Open(rec)
	putMeta(t, db, "k", "v")
	db2 := bolttest.Reopen(rec, db)
	if got := meta(t, db2, "k"); got != "v" {
		t.Errorf("Meta(k) after Reopen = %q, want v", got)
	}
	// The first store's cleanup finds it closed and leaves it alone; the
	// second is checked and closed.
	rec.runCleanups()
	if len(rec.errs) != 0 {
		t.Errorf("cleanups reported %q", rec.errs)
	}
	if err := db2.Check(); !errors.Is(err, bolt.ErrClosed) {
		t.Errorf("Check of the reopened store after cleanup = %v, want ErrClosed", err)
	}
}

// TestCleanupFindsDamage damages a page of a closed file (two keys of one
// bucket swapped out of order, which bbolt's Open does not notice) and
// expects the cleanup of the store reopened on it to report it.
func TestCleanupFindsDamage(t *testing.T) {
	rec := &recorder{TB: t}
	db := bolttest.Open(rec)
	// A value over a quarter page keeps the meta bucket out of line, on a
	// leaf page of its own, where the damage below lands.
	putMeta(t, db, "aaaa", strings.Repeat("x", 2048), "bbbb", "y")
	path := db.Path()
	bolttest.Close(rec, db)

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(raw, []byte("kv/bbbb")) != 1 {
		t.Fatalf("kv/bbbb appears %d times in the file, want once", bytes.Count(raw, []byte("kv/bbbb")))
	}
	raw = bytes.Replace(raw, []byte("kv/bbbb"), []byte("kv/0000"), 1)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}

	bolttest.OpenPath(rec, path)
	rec.runCleanups()
	if len(rec.errs) != 1 || !strings.Contains(rec.errs[0], "consistency check") {
		t.Errorf("cleanup of a damaged store reported %q, want one consistency check error", rec.errs)
	}
}
