// Package bolttest opens real bbolt stores for tests, the way bbolt's own
// btesting.MustCreateDB and wtf's MustOpenDB do: in the test's temporary
// directory, checked for consistency (bbolt's tx.Check) and closed at
// cleanup. Every test that needs a store uses it rather than calling
// bolt.Open, so that a test which leaves the file damaged fails where it
// did the damage, and no test leaks an open file or a committer goroutine.
//
// Tests inside package bolt itself cannot import it (that would be an
// import cycle); they have their own mustOpen with the same cleanup.
package bolttest

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/debrief/debrief/store/bolt"
)

// fileName is the name Open gives the database file in tb.TempDir(): the
// default of DEBRIEF_DB, so that a test's file looks like a real one.
const fileName = "debrief.db"

// Open opens a new, empty store in a file of its own under tb.TempDir().
// At cleanup the store is checked and closed, as Close does; a store the
// test closed itself is left alone.
func Open(tb testing.TB, opts ...bolt.Option) *bolt.DB {
	tb.Helper()
	return OpenPath(tb, filepath.Join(tb.TempDir(), fileName), opts...)
}

// OpenPath opens the store in the file at path, creating it if it does not
// exist, with the same cleanup as Open. It is for tests that restart the
// store on the same file, open a backup or an export, or read what a killed
// process left behind.
func OpenPath(tb testing.TB, path string, opts ...bolt.Option) *bolt.DB {
	tb.Helper()
	db, err := bolt.Open(path, opts...)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { Close(tb, db) })
	return db
}

// Close checks db's consistency and closes it, reporting any problem with
// tb.Errorf: what Open's cleanup does, for a test that shuts the store down
// midway (a restart, or handing the file to a subprocess). Closing a store
// that is already closed does nothing: its test is done with it, and the
// file was checked, if at all, by whoever closed it.
func Close(tb testing.TB, db *bolt.DB) {
	tb.Helper()
	if err := db.Check(); err != nil && !errors.Is(err, bolt.ErrClosed) {
		tb.Errorf("consistency check: %v", err)
	}
	if err := db.Close(); err != nil {
		tb.Errorf("close store: %v", err)
	}
}

// Reopen checks and closes db as Close does, then opens its file again as
// OpenPath does: a clean restart of the process that holds the store.
func Reopen(tb testing.TB, db *bolt.DB, opts ...bolt.Option) *bolt.DB {
	tb.Helper()
	Close(tb, db)
	return OpenPath(tb, db.Path(), opts...)
}
