package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
)

// Pages of the list routes (README, "Pages"): ?after=<cursor>&limit=<n>.
// The answer names the cursor of its last item ("next"; on an empty page
// the one it was given) and, when more follow now, says so ("more": true)
// and links the next page (Link: <...>; rel="next").
const (
	// DefaultLimit is a page's size when the request names none.
	DefaultLimit = 100
	// MaxLimit is the largest page a request may ask for.
	MaxLimit = 1000
)

// chunk is how many timeline entries one read transaction takes while a
// page is written: a bbolt read transaction held open keeps the file from
// being remapped as it grows, and with it every commit, so none is held
// while the client reads.
const chunk = 100

// pageParams are a list route's ?after= and ?limit=.
type pageParams struct {
	after string
	limit int
}

// readPage reads ?after= and ?limit=; a malformed limit is EINVALID.
func readPage(q url.Values) (pageParams, error) {
	p := pageParams{after: q.Get("after"), limit: DefaultLimit}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			return p, bot.Errorf(bot.EINVALID, "limit=%q: give a whole number from 1 to %d.", s, MaxLimit)
		}
		p.limit = n
	}
	return p, nil
}

// timelineCursor is the opaque form of a store.TimelineCursor:
// base64url of the entry's RecordedAt in Unix nanoseconds and its Seq, 8
// bytes each, big-endian. Clients pass it back as it is.
func timelineCursor(c store.TimelineCursor) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(c.At.UnixNano()))
	binary.BigEndian.PutUint64(b[8:], c.Seq)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// parseTimelineCursor reads timelineCursor's form; "" is the start.
func parseTimelineCursor(s string) (store.TimelineCursor, error) {
	if s == "" {
		return store.TimelineCursor{}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 16 {
		return store.TimelineCursor{}, bot.Errorf(bot.EINVALID,
			"after=%q is not a cursor of this timeline: pass back the \"next\" of an earlier page as it is.", s)
	}
	at := time.Unix(0, int64(binary.BigEndian.Uint64(b[:8]))).UTC()
	return store.TimelineCursor{At: at, Seq: binary.BigEndian.Uint64(b[8:])}, nil
}

// notPast reports whether ev's position is at or before c's, in the
// timeline's order (RecordedAt, then Seq).
func notPast(ev bot.TimelineEvent, c store.TimelineCursor) bool {
	a, b := ev.RecordedAt.UnixNano(), c.At.UnixNano()
	return a < b || (a == b && ev.Seq <= c.Seq)
}

// nextLink sets the Link header to the page after next.
func nextLink(w http.ResponseWriter, r *http.Request, next string) {
	u := *r.URL
	q := u.Query()
	q.Set("after", next)
	u.RawQuery = q.Encode()
	w.Header().Set("Link", fmt.Sprintf("<%s>; rel=\"next\"", u.RequestURI()))
}

// timeline is GET /api/incidents/{id}/timeline: one page, streamed. A
// first pass over the keys alone finds where the page ends (whether more
// follow, and so the Link header, which must go before the body); the
// second writes the entries up to there as it reads them, chunk entries
// per read transaction, keeping none: memory is a chunk's, whatever the
// page or the timeline, and each entry is decoded once.
func (s *Server) timeline(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := readPage(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	after, err := parseTimelineCursor(p.after)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	inc, err := s.Service.Incident(ctx, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The end of the page: the cursor of its limit-th entry, and whether
	// one follows it, from the keys alone (a page is at most MaxLimit
	// keys, read in one turn): the entries are decoded once, below.
	done, err := s.Service.BulkRead(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	end, n, more, err := s.Service.TimelineKeysAfter(ctx, inc.ID, after, p.limit)
	done()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// An empty page hands back the cursor it was given: a client that
	// follows the timeline keeps asking from there.
	next := p.after
	if n > 0 {
		next = timelineCursor(end)
	}
	if more {
		nextLink(w, r, next)
	}
	// A long page on a slow client outlasts the server's write timeout;
	// no transaction is held meanwhile.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	head := struct {
		IncidentID string `json:"incident_id"`
		Next       string `json:"next,omitempty"`
		More       bool   `json:"more"`
	}{inc.ID, next, more}
	writeHead(bw, head, "entries")
	// Each chunk is read and encoded in a turn of its own (BulkRead), into
	// a buffer, and written to the client after the turn: a slow client
	// holds up neither a read transaction nor the other long reads.
	// A chunk reads no more than the entries the first pass counted
	// before end (so a page of 50 decodes 50); only an entry recorded
	// before end meanwhile (a recovered one) makes it read on to end.
	var out bytes.Buffer
	first, written := true, 0
	for c := after; n > 0 && !atCursor(c, end); {
		want := chunk
		if left := n - written; left > 0 {
			want = min(chunk, left)
		}
		out.Reset()
		evs, err := s.encodeChunk(ctx, &out, inc.ID, c, end, want, first)
		if err != nil {
			s.abort(r, err)
		}
		if _, err := bw.Write(out.Bytes()); err != nil {
			return
		}
		if len(evs) > 0 {
			first = false
		}
		if len(evs) < want {
			break
		}
		written += len(evs)
		c = store.CursorOf(evs[len(evs)-1])
		// The client's pace: a chunk is flushed before the next is read.
		if err := bw.Flush(); err != nil {
			return
		}
		// The next chunk's turn (BulkRead) begins once the event
		// acknowledgements in flight are done: a long read is work that
		// can wait a moment, an ack is not.
	}
	_, _ = bw.WriteString("]}\n")
	_ = bw.Flush()
}

// atCursor reports whether cursors a and b stand after the same entry.
func atCursor(a, b store.TimelineCursor) bool {
	return a.At.UnixNano() == b.At.UnixNano() && a.Seq == b.Seq
}

// encodeChunk reads at most want entries after c, up to end, and encodes
// them into out as array elements (a comma before each but the page's
// first), in one turn of the Service's long reads. It returns the
// entries it encoded, fewer than want past the page's end.
func (s *Server) encodeChunk(ctx context.Context, out *bytes.Buffer, id string, c, end store.TimelineCursor, want int, first bool) ([]bot.TimelineEvent, error) {
	done, err := s.Service.BulkRead(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	evs, err := s.Service.TimelineAfter(ctx, id, c, want)
	if err != nil {
		return nil, err
	}
	var ej eventJSONWriter
	for i, ev := range evs {
		if !notPast(ev, end) {
			return evs[:i], nil
		}
		if !first || i > 0 {
			out.WriteByte(',')
		}
		if err := ej.write(out, ev); err != nil {
			return nil, err
		}
	}
	return evs, nil
}

// eventJSONWriter writes toEvent(ev) as json.Encoder does with
// SetEscapeHTML(false), the same bytes, but without an allocation for
// what needs no escaping (most of it): the garbage of a long page is
// collected on the CPU the event acknowledgements need (README,
// "Benchmarks"). TestEventJSONWriter holds it to the Encoder.
type eventJSONWriter struct {
	buf []byte
	esc bytes.Buffer // a string that is not plain, as the Encoder writes it
}

func (e *eventJSONWriter) write(out *bytes.Buffer, ev bot.TimelineEvent) error {
	at, pat := ev.RecordedAt.UTC(), ev.PlatformAt.UTC()
	if !plainYear(at) || (!ev.PlatformAt.IsZero() && !plainYear(pat)) {
		// Encode says what is wrong with the time.
		return e.encode(out, toEvent(ev))
	}
	b := append(e.buf[:0], `{"seq":`...)
	b = strconv.AppendUint(b, ev.Seq, 10)
	b = e.str(append(b, `,"kind":`...), string(ev.Kind))
	b = e.str(append(b, `,"author":{"platform":`...), string(ev.Author.Platform))
	b = e.str(append(b, `,"id":`...), ev.Author.ID)
	if ev.Author.Name != "" {
		b = e.str(append(b, `,"name":`...), ev.Author.Name)
	}
	b = e.str(append(b, `},"text":`...), ev.Text)
	for _, f := range [...]struct{ key, v string }{{`,"url":`, ev.URL}, {`,"message_id":`, ev.MessageID}, {`,"thread_id":`, ev.ThreadID}} {
		if f.v != "" {
			b = e.str(append(b, f.key...), f.v)
		}
	}
	b = at.AppendFormat(append(b, `,"at":"`...), time.RFC3339Nano)
	b = append(b, '"')
	if !ev.PlatformAt.IsZero() {
		b = pat.AppendFormat(append(b, `,"platform_at":"`...), time.RFC3339Nano)
		b = append(b, '"')
	}
	b = append(b, '}')
	e.buf = b
	out.Write(b)
	return nil
}

// plainYear reports whether t's year has the four digits RFC 3339 (and
// so time.Time's MarshalJSON) allows.
func plainYear(t time.Time) bool {
	y := t.Year()
	return y >= 0 && y <= 9999
}

// str appends s as a JSON string: as it is when it is printable ASCII
// without '"' or '\\' (which the Encoder writes unchanged), else as
// the Encoder writes it.
func (e *eventJSONWriter) str(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			e.esc.Reset()
			_ = e.encode(&e.esc, s) // a string always encodes
			return append(b, e.esc.Bytes()...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// encode writes v as the Encoder does, without its newline.
func (e *eventJSONWriter) encode(out *bytes.Buffer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	out.Truncate(out.Len() - 1) // Encode's newline
	return nil
}

// writeHead writes head, an object, without its closing brace, then the
// key of the array that follows: {"incident_id":"INC-4",...,"entries":[
// (head's fields are IDs and cursors: nothing to escape).
func writeHead(bw *bufio.Writer, head any, key string) {
	b, _ := json.Marshal(head)
	_, _ = bw.Write(b[:len(b)-1])
	_, _ = bw.WriteString(`,"` + key + `":[`)
}

// abort ends an answer whose status is already out: the client sees a
// truncated body rather than a well-formed answer that lies.
func (s *Server) abort(r *http.Request, err error) {
	if r.Context().Err() == nil {
		s.log().ErrorContext(r.Context(), "api answer aborted midway", "path", r.URL.Path, "err", err)
	}
	panic(http.ErrAbortHandler)
}

var statuses = []bot.Status{bot.StatusInvestigating, bot.StatusMitigated, bot.StatusResolved,
	bot.StatusReviewScheduled, bot.StatusReviewHeld, bot.StatusClosed}

// readFilter reads GET /api/incidents's ?status=&severity=&kind=&since=
// (status "open": any but closed; since: declared at or after) into the
// store's filter, which the store tests on its index; a value that names
// nothing is EINVALID.
func readFilter(q url.Values) (store.IncidentFilter, error) {
	var f store.IncidentFilter
	if s := q.Get("status"); s != "" {
		ok := s == "open"
		for _, st := range statuses {
			ok = ok || s == string(st)
		}
		if !ok {
			names := []string{"open"}
			for _, st := range statuses {
				names = append(names, string(st))
			}
			return f, bot.Errorf(bot.EINVALID, "status=%q: give one of %s.", s, strings.Join(names, ", "))
		}
		if s == "open" {
			f.Open = true
		} else {
			f.Status = bot.Status(s)
		}
	}
	if s := q.Get("severity"); s != "" {
		sev, ok := bot.ParseSeverity(s)
		if !ok {
			return f, bot.Errorf(bot.EINVALID, "severity=%q: give SEV1 to SEV4.", s)
		}
		f.Severity = sev
	}
	if s := q.Get("kind"); s != "" {
		switch k := bot.Kind(s); k {
		case bot.KindReal, bot.KindDrill, bot.KindNearMiss:
			f.Kind = k
		default:
			return f, bot.Errorf(bot.EINVALID, "kind=%q: give real, drill or near_miss.", s)
		}
	}
	if s := q.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t, err = time.Parse(time.DateOnly, s)
		}
		if err != nil {
			return f, bot.Errorf(bot.EINVALID, "since=%q: give a date (2026-03-02) or an RFC 3339 time (2026-03-02T10:00:00Z).", s)
		}
		f.Since = t
	}
	return f, nil
}

// incidents is GET /api/incidents: a page of the incidents by number,
// filtered, read in one short read transaction (a page is at most
// MaxLimit incidents; the next cursor is the last one's number).
func (s *Server) incidents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, err := readPage(q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := readFilter(q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	after := 0
	if p.after != "" {
		n, err := strconv.Atoi(p.after)
		if err != nil || n < 0 {
			s.fail(w, r, bot.Errorf(bot.EINVALID, "after=%q is not a cursor of the incident list: pass back the \"next\" of an earlier page as it is.", p.after))
			return
		}
		after = n
	}
	incs, err := s.Service.IncidentsAfter(r.Context(), after, p.limit+1, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	more := len(incs) > p.limit
	if more {
		incs = incs[:p.limit]
	}
	out := incidentList{Incidents: make([]incidentJSON, len(incs)), More: more}
	for i, inc := range incs {
		out.Incidents[i] = toIncident(inc)
	}
	out.Next = p.after
	if len(incs) > 0 {
		out.Next = strconv.Itoa(incs[len(incs)-1].Number)
	}
	if more {
		nextLink(w, r, out.Next)
	}
	writeJSON(w, http.StatusOK, out)
}
