package bolt

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	bbolt "go.etcd.io/bbolt"
)

var _ store.Tx = (*tx)(nil)

// tx implements store.Tx (and so ReadTx) over one bbolt transaction.
// Write methods fail with bbolt's ErrTxNotWritable in a View.
type tx struct {
	btx *bbolt.Tx
}

func u64(n uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return b[:]
}

// incidentKey maps an incident ID ("INC-42", "inc-42", "42") to its key in
// the incidents bucket.
func incidentKey(id string) ([]byte, bool) {
	n, ok := bot.ParseIncidentID(id)
	if !ok {
		return nil, false
	}
	return u64(uint64(n)), true
}

func noIncident(id string) error {
	return bot.Errorf(bot.ENOTFOUND, "No incident %s.", id)
}

func channelKey(c bot.Channel) []byte {
	return []byte(string(c.Platform) + "/" + c.ID)
}

// Incident returns the incident with the given ID, or a *bot.Error with
// code ENOTFOUND.
func (t *tx) Incident(id string) (*bot.Incident, error) {
	k, ok := incidentKey(id)
	if !ok {
		return nil, noIncident(id)
	}
	v := t.btx.Bucket(bucketIncidents).Get(k)
	if v == nil {
		return nil, noIncident(id)
	}
	inc := new(bot.Incident)
	if err := json.Unmarshal(v, inc); err != nil {
		return nil, fmt.Errorf("store: incident %s: %w", id, err)
	}
	return inc, nil
}

// Incidents returns every incident in number order, which is oldest first.
func (t *tx) Incidents() ([]*bot.Incident, error) {
	var incs []*bot.Incident
	err := t.btx.Bucket(bucketIncidents).ForEach(func(k, v []byte) error {
		inc := new(bot.Incident)
		if err := json.Unmarshal(v, inc); err != nil {
			return fmt.Errorf("store: incidents: %x: %w", k, err)
		}
		incs = append(incs, inc)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return incs, nil
}

// IncidentByChannel returns the ID of the incident that lives in c, or a
// *bot.Error with code ENOTFOUND.
func (t *tx) IncidentByChannel(c bot.Channel) (string, error) {
	v := t.btx.Bucket(bucketChannels).Get(channelKey(c))
	if v == nil {
		return "", bot.Errorf(bot.ENOTFOUND, "This channel is not an incident channel.")
	}
	return string(v), nil
}

// Timeline returns the incident's entries oldest first, by (RecordedAt,
// Seq): the key order. An unknown incident is ENOTFOUND; a known one with
// no entries has an empty timeline.
func (t *tx) Timeline(incidentID string) ([]bot.TimelineEvent, error) {
	n, ok := bot.ParseIncidentID(incidentID)
	if !ok {
		return nil, noIncident(incidentID)
	}
	id := bot.IncidentID(n)
	tl := t.btx.Bucket(bucketTimelines).Bucket([]byte(id))
	if tl == nil {
		return nil, noIncident(incidentID)
	}
	evs := []bot.TimelineEvent{}
	err := tl.ForEach(func(k, v []byte) error {
		ev, err := decodeEntry(id, k, v)
		if err != nil {
			return fmt.Errorf("store: timeline %s: %x: %w", incidentID, k, err)
		}
		evs = append(evs, ev)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return evs, nil
}

// UserPrefs returns what the user set about themselves; the zero value with
// Key set when nothing was.
func (t *tx) UserPrefs(key string) (store.UserPrefs, error) {
	p := store.UserPrefs{Key: key}
	v := t.btx.Bucket(bucketUsers).Get([]byte(key))
	if v == nil {
		return p, nil
	}
	if err := json.Unmarshal(v, &p); err != nil {
		return store.UserPrefs{}, fmt.Errorf("store: user %s: %w", key, err)
	}
	return p, nil
}

// Effects returns the pending outbox effects in ID order.
func (t *tx) Effects() ([]store.Effect, error) {
	return all[store.Effect](t.btx.Bucket(bucketOutbox), "effect")
}

// DueReminders returns the reminders due at or before now, earliest first,
// by a cursor over the due index that stops at the first later one.
func (t *tx) DueReminders(now time.Time) ([]store.Reminder, error) {
	if now.Before(time.Unix(0, 0)) {
		return nil, nil
	}
	if now.After(maxTime) {
		now = maxTime
	}
	limit := u64(uint64(now.UnixNano()))
	rems := t.btx.Bucket(bucketReminders)
	var due []store.Reminder
	c := t.btx.Bucket(bucketDue).Cursor()
	for k, _ := c.First(); k != nil && bytes.Compare(k[:8], limit) <= 0; k, _ = c.Next() {
		v := rems.Get(k[8:])
		if v == nil {
			return nil, fmt.Errorf("store: due reminders: index names missing reminder %q", k[8:])
		}
		var r store.Reminder
		if err := json.Unmarshal(v, &r); err != nil {
			return nil, fmt.Errorf("store: reminder %s: %w", k[8:], err)
		}
		due = append(due, r)
	}
	return due, nil
}

// Reminder returns the reminder with key k, and whether it exists.
func (t *tx) Reminder(k string) (store.Reminder, bool, error) {
	v := t.btx.Bucket(bucketReminders).Get([]byte(k))
	if v == nil {
		return store.Reminder{}, false, nil
	}
	var r store.Reminder
	if err := json.Unmarshal(v, &r); err != nil {
		return store.Reminder{}, false, fmt.Errorf("store: reminder %s: %w", k, err)
	}
	return r, true, nil
}

// NextIncidentNumber returns the next incident number from the incidents
// bucket's sequence. The sequence is part of the transaction: a number taken
// by a transaction that rolls back is handed out again, so no committed
// incident ever shares a number with another.
func (t *tx) NextIncidentNumber() (int, error) {
	n, err := t.btx.Bucket(bucketIncidents).NextSequence()
	if err != nil {
		return 0, fmt.Errorf("store: next incident number: %w", err)
	}
	return int(n), nil
}

// PutIncident inserts or replaces inc, keyed by its number; inc.ID must be
// bot.IncidentID(inc.Number). It also creates the incident's timeline, which
// is how Append knows the incident exists.
func (t *tx) PutIncident(inc *bot.Incident) error {
	if inc == nil {
		return fmt.Errorf("store: put incident: nil incident")
	}
	if inc.Number <= 0 || inc.ID != bot.IncidentID(inc.Number) {
		return fmt.Errorf("store: put incident: ID %q does not match number %d", inc.ID, inc.Number)
	}
	v, err := json.Marshal(inc)
	if err != nil {
		return fmt.Errorf("store: put incident %s: %w", inc.ID, err)
	}
	b := t.btx.Bucket(bucketIncidents)
	if err := b.Put(u64(uint64(inc.Number)), v); err != nil {
		return fmt.Errorf("store: put incident %s: %w", inc.ID, err)
	}
	if err := putIncIndex(t.btx, inc); err != nil {
		return fmt.Errorf("store: put incident %s: index: %w", inc.ID, err)
	}
	// A number stored from elsewhere (an import) must never be handed out
	// again by NextIncidentNumber.
	if uint64(inc.Number) > b.Sequence() {
		if err := b.SetSequence(uint64(inc.Number)); err != nil {
			return fmt.Errorf("store: put incident %s: %w", inc.ID, err)
		}
	}
	if _, err := t.btx.Bucket(bucketTimelines).CreateBucketIfNotExists([]byte(inc.ID)); err != nil {
		return fmt.Errorf("store: put incident %s: timeline: %w", inc.ID, err)
	}
	return nil
}

// PutChannel records that incidentID lives in channel c. The incident must
// exist (ENOTFOUND otherwise).
func (t *tx) PutChannel(c bot.Channel, incidentID string) error {
	if c.Platform == "" || c.ID == "" {
		return fmt.Errorf("store: put channel %q/%q: platform and ID required", c.Platform, c.ID)
	}
	k, ok := incidentKey(incidentID)
	if !ok || t.btx.Bucket(bucketIncidents).Get(k) == nil {
		return noIncident(incidentID)
	}
	n, _ := bot.ParseIncidentID(incidentID)
	if err := t.btx.Bucket(bucketChannels).Put(channelKey(c), []byte(bot.IncidentID(n))); err != nil {
		return fmt.Errorf("store: put channel %s/%s: %w", c.Platform, c.ID, err)
	}
	return nil
}

// AppendEvent is Append within this transaction: same checks, same
// deduplication, durable when the transaction commits. If it returns an
// error other than a *bot.Error, the transaction must be rolled back.
func (t *tx) AppendEvent(ev bot.TimelineEvent) (bot.TimelineEvent, bool, error) {
	// Not from the pool: bbolt keeps the entry's buffers until the caller's
	// transaction ends, which may be long after this returns.
	e := &entry{}
	if err := e.prepare(ev); err != nil {
		return bot.TimelineEvent{}, false, err
	}
	if err := e.write(t.btx); err != nil {
		return bot.TimelineEvent{}, false, fmt.Errorf("store: append %s: %w", e.ev.IncidentID, err)
	}
	return e.stored, e.dup, e.err
}

// PutUserPrefs inserts or replaces p.
func (t *tx) PutUserPrefs(p store.UserPrefs) error {
	if p.Key == "" {
		return fmt.Errorf("store: put user prefs: key required")
	}
	v, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("store: put user %s: %w", p.Key, err)
	}
	if err := t.btx.Bucket(bucketUsers).Put([]byte(p.Key), v); err != nil {
		return fmt.Errorf("store: put user %s: %w", p.Key, err)
	}
	return nil
}

// AddEffect adds e to the outbox with the next ID from the outbox bucket's
// sequence (and Key "effect-<ID>" when empty), and returns it.
func (t *tx) AddEffect(e store.Effect) (store.Effect, error) {
	b := t.btx.Bucket(bucketOutbox)
	id, err := b.NextSequence()
	if err != nil {
		return store.Effect{}, fmt.Errorf("store: add effect: %w", err)
	}
	e.ID = id
	if e.Key == "" {
		e.Key = "effect-" + strconv.FormatUint(id, 10)
	}
	if err := t.putEffect(b, e); err != nil {
		return store.Effect{}, err
	}
	return e, nil
}

// UpdateEffect replaces the pending effect with e.ID, or returns ENOTFOUND
// if it is no longer pending.
func (t *tx) UpdateEffect(e store.Effect) error {
	b := t.btx.Bucket(bucketOutbox)
	if b.Get(u64(e.ID)) == nil {
		return bot.Errorf(bot.ENOTFOUND, "No pending effect %d.", e.ID)
	}
	return t.putEffect(b, e)
}

func (t *tx) putEffect(b *bbolt.Bucket, e store.Effect) error {
	v, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("store: put effect %d: %w", e.ID, err)
	}
	if err := b.Put(u64(e.ID), v); err != nil {
		return fmt.Errorf("store: put effect %d: %w", e.ID, err)
	}
	return nil
}

// DeleteEffect removes a delivered effect. Deleting one already gone is not
// an error: delivery is at least once, and so is its acknowledgement.
func (t *tx) DeleteEffect(id uint64) error {
	if err := t.btx.Bucket(bucketOutbox).Delete(u64(id)); err != nil {
		return fmt.Errorf("store: delete effect %d: %w", id, err)
	}
	return nil
}

func dueKey(due time.Time, key string) []byte {
	k := make([]byte, 8, 8+len(key))
	binary.BigEndian.PutUint64(k, uint64(due.UnixNano()))
	return append(k, key...)
}

// PutReminder inserts or replaces the reminder with r.Key, moving its entry
// in the due index.
func (t *tx) PutReminder(r store.Reminder) error {
	if r.Key == "" {
		return fmt.Errorf("store: put reminder: key required")
	}
	if !validTime(r.Due) {
		return fmt.Errorf("store: put reminder %s: due %v outside 1970..2262", r.Key, r.Due)
	}
	if err := t.DeleteReminder(r.Key); err != nil {
		return err
	}
	v, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("store: put reminder %s: %w", r.Key, err)
	}
	if err := t.btx.Bucket(bucketReminders).Put([]byte(r.Key), v); err != nil {
		return fmt.Errorf("store: put reminder %s: %w", r.Key, err)
	}
	if err := t.btx.Bucket(bucketDue).Put(dueKey(r.Due, r.Key), nil); err != nil {
		return fmt.Errorf("store: put reminder %s: %w", r.Key, err)
	}
	return nil
}

// DeleteReminder removes the reminder with key k and its due index entry,
// if there is one.
func (t *tx) DeleteReminder(k string) error {
	b := t.btx.Bucket(bucketReminders)
	v := b.Get([]byte(k))
	if v == nil {
		return nil
	}
	var old store.Reminder
	if err := json.Unmarshal(v, &old); err != nil {
		return fmt.Errorf("store: delete reminder %s: %w", k, err)
	}
	if err := t.btx.Bucket(bucketDue).Delete(dueKey(old.Due, k)); err != nil {
		return fmt.Errorf("store: delete reminder %s: %w", k, err)
	}
	if err := b.Delete([]byte(k)); err != nil {
		return fmt.Errorf("store: delete reminder %s: %w", k, err)
	}
	return nil
}

// metaKey keeps the callers' keys apart from the store's own (schema).
func metaKey(key string) []byte { return []byte("kv/" + key) }

// Meta returns the value stored under key with PutMeta, and whether there
// is one.
func (t *tx) Meta(key string) (string, bool, error) {
	v := t.btx.Bucket(bucketMeta).Get(metaKey(key))
	if v == nil {
		return "", false, nil
	}
	return string(v), true, nil
}

// PutMeta stores value under key, replacing any previous value.
func (t *tx) PutMeta(key, value string) error {
	if key == "" {
		return fmt.Errorf("store: put meta: key required")
	}
	if err := t.btx.Bucket(bucketMeta).Put(metaKey(key), []byte(value)); err != nil {
		return fmt.Errorf("store: put meta %s: %w", key, err)
	}
	return nil
}

var _ store.Lister = (*tx)(nil)

// Channels returns the channel index.
func (t *tx) Channels() (map[bot.Channel]string, error) {
	out := map[bot.Channel]string{}
	err := t.btx.Bucket(bucketChannels).ForEach(func(k, v []byte) error {
		p, id, ok := bytes.Cut(k, []byte("/"))
		if !ok {
			return fmt.Errorf("store: channels: key %q", k)
		}
		out[bot.Channel{Platform: bot.Platform(p), ID: string(id)}] = string(v)
		return nil
	})
	return out, err
}

// Users returns every UserPrefs stored, in key order.
func (t *tx) Users() ([]store.UserPrefs, error) {
	return all[store.UserPrefs](t.btx.Bucket(bucketUsers), "user")
}

// MetaAll returns every value stored with PutMeta.
func (t *tx) MetaAll() (map[string]string, error) {
	out := map[string]string{}
	prefix := metaKey("")
	c := t.btx.Bucket(bucketMeta).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		out[string(k[len(prefix):])] = string(v)
	}
	return out, nil
}

// Gamedays returns every game day, by Number (the bucket's key order).
func (t *tx) Gamedays() ([]store.Gameday, error) {
	return all[store.Gameday](t.btx.Bucket(bucketGamedays), "gameday")
}

// PutGameday inserts or replaces the game day numbered g.Number.
func (t *tx) PutGameday(g store.Gameday) error {
	if g.Number <= 0 {
		return fmt.Errorf("store: put gameday: number %d: must be from 1", g.Number)
	}
	v, err := json.Marshal(g)
	if err != nil {
		return fmt.Errorf("store: put gameday %s: %w", g.ID, err)
	}
	if err := t.btx.Bucket(bucketGamedays).Put(u64(uint64(g.Number)), v); err != nil {
		return fmt.Errorf("store: put gameday %s: %w", g.ID, err)
	}
	return nil
}

// forgetPerCall bounds how many expired keys one Remember deletes: enough
// to keep up with any rate of new keys (each call adds one), few enough
// that no call pays for a backlog at once.
const forgetPerCall = 8

// Remember records key until expires and reports whether it was already
// remembered at now, forgetting up to forgetPerCall expired keys.
func (t *tx) Remember(key string, now, expires time.Time) (bool, error) {
	if key == "" {
		return false, fmt.Errorf("store: remember: key required")
	}
	if !validTime(now) || !validTime(expires) {
		return false, fmt.Errorf("store: remember %s: time outside 1970..2262", key)
	}
	seen, index := t.btx.Bucket(bucketSeen), t.btx.Bucket(bucketExpiry)
	// Forget what expired, oldest first.
	for range forgetPerCall {
		k, _ := index.Cursor().First()
		if k == nil || int64(binary.BigEndian.Uint64(k[:8])) > now.UnixNano() {
			break
		}
		// Copied: k points into a page the deletes below may reuse.
		old := append([]byte(nil), k...)
		if err := seen.Delete(old[8:]); err != nil {
			return false, fmt.Errorf("store: remember %s: %w", key, err)
		}
		if err := index.Delete(old); err != nil {
			return false, fmt.Errorf("store: remember %s: %w", key, err)
		}
	}
	if v := seen.Get([]byte(key)); v != nil {
		if int64(binary.BigEndian.Uint64(v)) > now.UnixNano() {
			return true, nil
		}
		if err := index.Delete(dueKey(time.Unix(0, int64(binary.BigEndian.Uint64(v))), key)); err != nil {
			return false, fmt.Errorf("store: remember %s: %w", key, err)
		}
	}
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(expires.UnixNano()))
	if err := seen.Put([]byte(key), v[:]); err != nil {
		return false, fmt.Errorf("store: remember %s: %w", key, err)
	}
	if err := index.Put(dueKey(expires, key), nil); err != nil {
		return false, fmt.Errorf("store: remember %s: %w", key, err)
	}
	return false, nil
}

// timelineBucket is the incident's timeline bucket and its canonical ID
// (the bucket's name), or ENOTFOUND.
func (t *tx) timelineBucket(incidentID string) (*bbolt.Bucket, string, error) {
	n, ok := bot.ParseIncidentID(incidentID)
	if !ok {
		return nil, "", noIncident(incidentID)
	}
	id := bot.IncidentID(n)
	tl := t.btx.Bucket(bucketTimelines).Bucket([]byte(id))
	if tl == nil {
		return nil, "", noIncident(incidentID)
	}
	return tl, id, nil
}

// TimelinePage returns the entries at positions [offset, offset+limit) in
// key order. The timeline bucket's sequence is its length (entries are
// never deleted and every write takes the next sequence), and the cursor
// walks keys without decoding values, from whichever end is nearer, so
// the last page of a 100k-entry timeline costs little more than the first.
func (t *tx) TimelinePage(incidentID string, offset, limit int) ([]bot.TimelineEvent, int, error) {
	tl, id, err := t.timelineBucket(incidentID)
	if err != nil {
		return nil, 0, err
	}
	total := int(tl.Sequence())
	page := []bot.TimelineEvent{}
	if offset < 0 || limit <= 0 || offset >= total {
		return page, total, nil
	}
	end := min(offset+limit, total)
	c := tl.Cursor()
	var k, v []byte
	if offset <= total-end {
		k, v = c.First()
		for i := 0; i < offset && k != nil; i++ {
			k, v = c.Next()
		}
	} else {
		k, v = c.Last()
		for i := total - 1; i > offset && k != nil; i-- {
			k, v = c.Prev()
		}
	}
	for i := offset; i < end && k != nil; i++ {
		ev, err := decodeEntry(id, k, v)
		if err != nil {
			return nil, 0, fmt.Errorf("store: timeline %s: %x: %w", incidentID, k, err)
		}
		page = append(page, ev)
		k, v = c.Next()
	}
	return page, total, nil
}

// TimelineSince finds the entries with Seq in (after, after+limit]: the
// late ones (keyed well in the past, see lateWindow) in the late index, the
// others by the Seq in the last 8 bytes of each key, walking from the
// nearer end, decoding only those it returns, and stopping where
// lateWindow's invariant says none of them can be further: the cost is the
// entries returned and a lateWindow's worth of keys, however long the
// timeline and wherever recovered entries sit in it.
func (t *tx) TimelineSince(incidentID string, after uint64, limit int) ([]bot.TimelineEvent, error) {
	tl, id, err := t.timelineBucket(incidentID)
	if err != nil {
		return nil, err
	}
	last := tl.Sequence()
	if limit <= 0 || after >= last {
		return []bot.TimelineEvent{}, nil
	}
	hi := min(after+uint64(limit), last)
	want := int(hi - after)
	evs := make([]bot.TimelineEvent, 0, want)
	decode := func(k, v []byte) error {
		ev, err := decodeEntry(id, k, v)
		if err != nil {
			return fmt.Errorf("store: timeline %s: %x: %w", incidentID, k, err)
		}
		evs = append(evs, ev)
		return nil
	}

	n, _ := bot.ParseIncidentID(id)
	late := t.btx.Bucket(bucketLate)
	var lateSeqs map[uint64]bool
	lc, end := late.Cursor(), lateKey(uint64(n), hi)
	for lk, k := lc.Seek(lateKey(uint64(n), after+1)); lk != nil && bytes.Compare(lk, end) <= 0; lk, k = lc.Next() {
		v := tl.Get(k)
		if v == nil {
			return nil, fmt.Errorf("store: timeline %s: late index names missing entry %x", incidentID, k)
		}
		if err := decode(k, v); err != nil {
			return nil, err
		}
		if lateSeqs == nil {
			lateSeqs = map[uint64]bool{}
		}
		lateSeqs[binary.BigEndian.Uint64(lk[8:])] = true
	}

	c := tl.Cursor()
	var bound int64 // the key time past which the walk stops, once set
	bounded := false
	if after > last-hi {
		// Back from the end. Once past an entry A with Seq <= after, an
		// entry still wanted that is not late is keyed at most lateWindow
		// before A.
		for k, v := c.Last(); k != nil && len(evs) < want; k, v = c.Prev() {
			if len(k) != 16 {
				continue
			}
			if bounded && bound-keyTime(k) > int64(lateWindow) {
				break
			}
			switch seq := binary.BigEndian.Uint64(k[8:]); {
			case seq > after && seq <= hi:
				if !lateSeqs[seq] {
					if err := decode(k, v); err != nil {
						return nil, err
					}
				}
			case seq <= after && !bounded:
				bounded, bound = true, keyTime(k)
			}
		}
	} else {
		// On from the start. Once past an entry C with Seq > hi that is
		// not late, every entry wanted is keyed at most lateWindow after C.
		for k, v := c.First(); k != nil && len(evs) < want; k, v = c.Next() {
			if len(k) != 16 {
				continue
			}
			if bounded && keyTime(k)-bound > int64(lateWindow) {
				break
			}
			switch seq := binary.BigEndian.Uint64(k[8:]); {
			case seq > after && seq <= hi:
				if !lateSeqs[seq] {
					if err := decode(k, v); err != nil {
						return nil, err
					}
				}
			case seq > hi && !bounded && late.Get(lateKey(uint64(n), seq)) == nil:
				bounded, bound = true, keyTime(k)
			}
		}
	}
	slices.SortFunc(evs, func(a, b bot.TimelineEvent) int { return cmp.Compare(a.Seq, b.Seq) })
	return evs, nil
}

// TimelineLens reads each timeline bucket's sequence, which is its length.
func (t *tx) TimelineLens() (map[string]uint64, error) {
	lens := map[string]uint64{}
	b := t.btx.Bucket(bucketTimelines)
	err := b.ForEachBucket(func(k []byte) error {
		lens[string(k)] = b.Bucket(k).Sequence()
		return nil
	})
	return lens, err
}

// cursorKey is the timeline key of the entry a cursor stands after.
func cursorKey(c store.TimelineCursor) []byte {
	k := make([]byte, 16)
	if !c.At.IsZero() {
		binary.BigEndian.PutUint64(k[:8], uint64(c.At.UnixNano()))
	}
	binary.BigEndian.PutUint64(k[8:], c.Seq)
	return k
}

// TimelineAfter seeks to the cursor's key and reads forward: the cost is
// the page's, not the timeline's.
func (t *tx) TimelineAfter(incidentID string, after store.TimelineCursor, limit int) ([]bot.TimelineEvent, error) {
	tl, id, err := t.timelineBucket(incidentID)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		return []bot.TimelineEvent{}, nil
	}
	c := tl.Cursor()
	k, v := seekAfter(c, after)
	return readEntries(id, k, v, c.Next, limit)
}

// seekAfter places c on the first entry after the cursor's key (the
// first entry for a zero cursor) and returns it.
func seekAfter(c *bbolt.Cursor, after store.TimelineCursor) ([]byte, []byte) {
	if after.IsZero() {
		return c.First()
	}
	from := cursorKey(after)
	k, v := c.Seek(from)
	if k != nil && bytes.Equal(k, from) {
		return c.Next()
	}
	return k, v
}

// TimelineKeysAfter walks the keys after the cursor's, which hold each
// entry's RecordedAt and Seq (cursorKey), and decodes no value.
func (t *tx) TimelineKeysAfter(incidentID string, after store.TimelineCursor, limit int) (store.TimelineCursor, int, bool, error) {
	tl, _, err := t.timelineBucket(incidentID)
	if err != nil {
		return after, 0, false, err
	}
	c := tl.Cursor()
	k, _ := seekAfter(c, after)
	end, n := after, 0
	for ; k != nil; k, _ = c.Next() {
		if n == max(limit, 0) {
			return end, n, true, nil
		}
		if len(k) != 16 {
			return after, 0, false, fmt.Errorf("store: timeline %s: key %x of %d bytes", incidentID, k, len(k))
		}
		end = store.TimelineCursor{At: time.Unix(0, keyTime(k)).UTC(), Seq: binary.BigEndian.Uint64(k[8:])}
		n++
	}
	return end, n, false, nil
}

// TimelineTail is TimelineBefore the end, with the length the bucket's
// sequence keeps.
func (t *tx) TimelineTail(incidentID string, n int) ([]bot.TimelineEvent, int, error) {
	tl, _, err := t.timelineBucket(incidentID)
	if err != nil {
		return nil, 0, err
	}
	evs, err := t.TimelineBefore(incidentID, store.TimelineCursor{}, n)
	if err != nil {
		return nil, 0, err
	}
	return evs, int(tl.Sequence()), nil
}

// readEntries decodes at most limit entries from k, v on, stepping with
// next, in the order it steps.
func readEntries(id string, k, v []byte, next func() ([]byte, []byte), limit int) ([]bot.TimelineEvent, error) {
	evs := make([]bot.TimelineEvent, 0, pageCap(limit))
	for ; k != nil && len(evs) < limit; k, v = next() {
		ev, err := decodeEntry(id, k, v)
		if err != nil {
			return nil, fmt.Errorf("store: timeline %s: %x: %w", id, k, err)
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

// IncidentsAfter seeks past the number after in the incidents bucket, whose
// keys are the numbers big-endian, and decodes forward until the page is
// full. With a filter it walks the incident index instead (incindex.go),
// 15 bytes an incident, and decodes only the incidents it selects: a page
// of a filter that matches nothing among 10k incidents walks 10k index
// entries (about 0.3 ms) and decodes none.
func (t *tx) IncidentsAfter(after int, limit int, f store.IncidentFilter) ([]*bot.Incident, error) {
	incs := make([]*bot.Incident, 0, pageCap(limit))
	if limit <= 0 {
		return incs, nil
	}
	b := t.btx.Bucket(bucketIncidents)
	decode := func(k, v []byte) (*bot.Incident, error) {
		inc := new(bot.Incident)
		if err := json.Unmarshal(v, inc); err != nil {
			return nil, fmt.Errorf("store: incidents: %x: %w", k, err)
		}
		return inc, nil
	}
	from := u64(uint64(max(after, 0)) + 1)
	if f.IsZero() {
		c := b.Cursor()
		for k, v := c.Seek(from); k != nil && len(incs) < limit; k, v = c.Next() {
			inc, err := decode(k, v)
			if err != nil {
				return nil, err
			}
			incs = append(incs, inc)
		}
		return incs, nil
	}
	c := t.btx.Bucket(bucketIncIndex).Cursor()
	for k, x := c.Seek(from); k != nil && len(incs) < limit; k, x = c.Next() {
		ok, known := selects(f, x)
		if known && !ok {
			continue
		}
		v := b.Get(k)
		if v == nil {
			return nil, fmt.Errorf("store: incidents: index names missing incident %x", k)
		}
		inc, err := decode(k, v)
		if err != nil {
			return nil, err
		}
		if known || f.Match(inc) {
			incs = append(incs, inc)
		}
	}
	return incs, nil
}

// TimelineBefore seeks to the cursor's key and reads backward.
func (t *tx) TimelineBefore(incidentID string, before store.TimelineCursor, limit int) ([]bot.TimelineEvent, error) {
	tl, id, err := t.timelineBucket(incidentID)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		return []bot.TimelineEvent{}, nil
	}
	c := tl.Cursor()
	var k, v []byte
	if before.IsZero() {
		k, v = c.Last()
	} else if k, _ = c.Seek(cursorKey(before)); k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	evs, err := readEntries(id, k, v, c.Prev, limit)
	if err != nil {
		return nil, err
	}
	slices.Reverse(evs)
	return evs, nil
}

// pageCap is the capacity a page of limit entries starts with: the page
// itself when it is one the read paths ask for, so that a long read
// allocates each page once rather than growing it (its garbage is
// collected on the CPU the acknowledgements need), and no more than
// maxPageCap for a limit that may be far beyond what is stored.
func pageCap(limit int) int {
	return min(max(limit, 0), maxPageCap)
}

// maxPageCap is the largest page the API and the export read at once.
const maxPageCap = 1024
