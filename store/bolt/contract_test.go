package bolt_test

import (
	"testing"

	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/store/bolt/bolttest"
	"github.com/debrief/debrief/store/storetest"
)

// TestContract runs the storage contract suite on bbolt: each subtest gets a
// fresh file, checked for consistency and closed at its cleanup. What only
// the bbolt store does (files, locks, schema, group commit, backups) is
// tested in this package's other files.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return bolttest.Open(t) })
}
