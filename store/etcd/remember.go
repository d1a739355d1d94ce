package etcd

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Remember's record (store.Tx.Remember), as in bbolt:
//
//	seen/<key>                          expiry UnixNano, decimal
//	expiry/<expiry, 20 digits>/<key>    empty: what to forget first
//
// Two replicas remembering the same key at once both read seen/<key>
// absent; the second commit fails that condition, runs again and sees it:
// a replayed request is told apart on every replica.

// forgetPerCall bounds how many expired keys one Remember deletes, as in
// bbolt: each call adds one key, so this keeps up, and no call pays for a
// backlog at once.
const forgetPerCall = 8

// Remember records key until expires and reports whether it was already
// remembered at now.
func (t *tx) Remember(key string, now, expires time.Time) (bool, error) {
	if key == "" {
		return false, fmt.Errorf("store: etcd: remember: key required")
	}
	if !validTime(now) || !validTime(expires) {
		return false, fmt.Errorf("store: etcd: remember %s: time outside 1970..2262", key)
	}
	// Forget what expired, oldest first. The index range read stops at
	// now: new keys expire later, so concurrent Remembers rarely conflict
	// on it.
	prefix := t.s.key("expiry") + "/"
	old, err := t.scanN(prefix, prefix+num(uint64(now.UnixNano())+1), forgetPerCall)
	if err != nil {
		return false, err
	}
	for _, c := range old {
		k := strings.TrimPrefix(c.key, prefix)
		if len(k) < 21 {
			return false, fmt.Errorf("store: etcd: expiry index key %q", c.key)
		}
		if err := t.del(t.s.key("seen", k[21:])); err != nil {
			return false, err
		}
		if err := t.del(c.key); err != nil {
			return false, err
		}
	}
	c, err := t.get(t.s.key("seen", key))
	if err != nil {
		return false, err
	}
	if c.ok {
		exp, err := strconv.ParseInt(string(c.val), 10, 64)
		if err != nil {
			return false, fmt.Errorf("store: etcd: remember %s: expiry %q: %w", key, c.val, err)
		}
		if exp > now.UnixNano() {
			return true, nil
		}
		if err := t.del(t.s.key("expiry", num(uint64(exp)), key)); err != nil {
			return false, err
		}
	}
	if err := t.put(t.s.key("seen", key), []byte(strconv.FormatInt(expires.UnixNano(), 10))); err != nil {
		return false, err
	}
	return false, t.put(t.s.key("expiry", num(uint64(expires.UnixNano())), key), nil)
}
