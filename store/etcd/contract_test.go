package etcd_test

import (
	"fmt"
	"testing"

	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/store/etcd"
	"github.com/debrief/debrief/store/etcd/etcdtest"
	"github.com/debrief/debrief/store/storetest"
)

// TestContract runs the storage contract suite on a real embedded etcd
// member: one member for the suite, each subtest a store under a prefix of
// its own, so each starts empty.
func TestContract(t *testing.T) {
	cli := etcdtest.Client(t, etcdtest.Member(t))
	n := 0
	storetest.Run(t, func(t *testing.T) store.Store {
		n++
		return etcdtest.Open(t, cli, fmt.Sprintf("contract%d/", n))
	})
}

// TestContractChecked runs the suite again with every Update followed by
// the check Open makes, so that the filters read the incidents through
// their field keys (incby.go) rather than as modified since the last
// Open, which is how the suite's stores, opened empty, read them.
func TestContractChecked(t *testing.T) {
	cli := etcdtest.Client(t, etcdtest.Member(t))
	n := 0
	storetest.Run(t, func(t *testing.T) store.Store {
		n++
		s := etcdtest.Open(t, cli, fmt.Sprintf("checked%d/", n))
		etcd.CheckAfterUpdates(s)
		return s
	})
}
