package slack_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/debrief/debrief/adapters/slack"
	"github.com/debrief/debrief/adapters/slack/slacktest"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/store/bolt/bolttest"
	"github.com/debrief/debrief/workflows"
	slackgo "github.com/slack-go/slack"
	bbolt "go.etcd.io/bbolt"
)

// benchChannel is the incident channel the benchmark talks in.
const benchChannel = "C0BENCH01"

// benchBodies are message events as Slack sends them (blocks included,
// about 900 bytes), each with its own ts so none is a duplicate.
func benchBodies(n int) [][]byte {
	users := []string{alice, bob, carol}
	out := make([][]byte, n)
	for i := range out {
		ts := fmt.Sprintf("%d.%06d", 1767000000+i/1000000, i%1000000)
		text := "failover done, p99 back under 200ms now; error rate 0.3% and falling"
		b, _ := json.Marshal(map[string]any{
			"token": "x", "team_id": "T0FAKE", "api_app_id": "A0FAKE", "type": "event_callback",
			"event_id": fmt.Sprintf("Ev%08X", i*2654435761%(1<<32)), "event_time": 1767000000 + i/1000,
			"event": map[string]any{
				"type": "message", "channel": benchChannel, "user": users[i%len(users)], "text": text, "ts": ts,
				"event_ts": ts, "channel_type": "channel", "team": "T0FAKE", "client_msg_id": fmt.Sprintf("%08x-fake", i),
				"blocks": []any{map[string]any{"type": "rich_text", "block_id": "b" + ts, "elements": []any{
					map[string]any{"type": "rich_text_section", "elements": []any{map[string]any{"type": "text", "text": text}}}}}},
			},
			"authorizations":        []map[string]any{{"team_id": "T0FAKE", "user_id": "U0DEBRIEF", "is_bot": true}},
			"is_ext_shared_channel": false, "event_context": "4-fake",
		})
		out[i] = b
	}
	return out
}

// debriefEvents serves the adapter's /slack/events over a real store with
// an incident living in benchChannel.
func debriefEvents(b *testing.B, fake *slacktest.Server) *httptest.Server {
	db := bolttest.Open(b)
	svc := &workflows.Service{Store: db, Config: workflows.DefaultConfig()}
	ctx := context.Background()
	err := db.Update(ctx, func(tx store.Tx) error {
		n, err := tx.NextIncidentNumber()
		if err != nil {
			return err
		}
		inc := &bot.Incident{ID: bot.IncidentID(n), Number: n, Title: "bench", Severity: bot.SEV2,
			Status: bot.StatusInvestigating, Kind: bot.KindReal, DeclaredAt: time.Now()}
		if err := tx.PutIncident(inc); err != nil {
			return err
		}
		return tx.PutChannel(bot.Channel{Platform: bot.Slack, ID: benchChannel}, inc.ID)
	})
	if err != nil {
		b.Fatal(err)
	}
	sl := slack.New(svc, slack.Config{BotToken: fake.BotToken, SigningSecret: fake.SigningSecret, APIURL: fake.APIURL()})
	if err := sl.Start(ctx); err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	sl.Register(mux)
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	return srv
}

// refCommitter is the reference's storage: a drain-loop group commit of
// the bare message text into one bbolt bucket, fsynced, nothing else.
type refCommitter struct {
	db   *bbolt.DB
	reqs chan *refReq
}

type refReq struct {
	text []byte
	err  chan error
}

func newRefCommitter(b *testing.B) *refCommitter {
	db, err := bbolt.Open(filepath.Join(b.TempDir(), "ref.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error { _, err := tx.CreateBucket([]byte("t")); return err }); err != nil {
		b.Fatal(err)
	}
	c := &refCommitter{db: db, reqs: make(chan *refReq, 1024)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var batch []*refReq
		var key [8]byte
		for first := range c.reqs {
			batch = append(batch[:0], first)
		drain:
			for {
				select {
				case r, ok := <-c.reqs:
					if !ok {
						break drain
					}
					batch = append(batch, r)
				default:
					break drain
				}
			}
			err := db.Update(func(tx *bbolt.Tx) error {
				bk := tx.Bucket([]byte("t"))
				for _, r := range batch {
					seq, _ := bk.NextSequence()
					binary.BigEndian.PutUint64(key[:], seq)
					if err := bk.Put(key[:], r.text); err != nil {
						return err
					}
				}
				return nil
			})
			for _, r := range batch {
				r.err <- err
			}
		}
	}()
	b.Cleanup(func() { close(c.reqs); <-done; db.Close() })
	return c
}

// referenceEvents is the ceiling of this path: verify the signature,
// decode the event, group-commit its text, answer 200.
func referenceEvents(b *testing.B, secret string) *httptest.Server {
	c := newRefCommitter(b)
	pool := sync.Pool{New: func() any { return &refReq{err: make(chan error, 1)} }}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sv, err := slackgo.NewSecretsVerifier(r.Header, secret)
		if err != nil {
			http.Error(w, "unverified", http.StatusUnauthorized)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, slack.MaxBody))
		if err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		_, _ = sv.Write(body)
		if sv.Ensure() != nil {
			http.Error(w, "unverified", http.StatusUnauthorized)
			return
		}
		var env struct {
			Event struct {
				Text string `json:"text"`
			} `json:"event"`
		}
		if json.Unmarshal(body, &env) != nil {
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		req := pool.Get().(*refReq)
		req.text = []byte(env.Event.Text)
		c.reqs <- req
		err = <-req.err
		pool.Put(req)
		if err != nil {
			http.Error(w, "internal", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// sender posts signed events with keep-alive connections, as Slack does.
type sender struct {
	client *http.Client
	secret string
}

func newSender(conns int, secret string) *sender {
	return &sender{secret: secret, client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, IdleConnTimeout: time.Minute,
	}}}
}

func (s *sender) post(url string, body []byte) error {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	slacktest.SetHeaders(req.Header, s.secret, body)
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s = %d", url, resp.StatusCode)
	}
	return nil
}

// blast sends bodies from exactly senders goroutines and returns the rate.
func (s *sender) blast(b *testing.B, url string, bodies [][]byte, senders int) float64 {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range senders {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) {
					return
				}
				if err := s.post(url, bodies[i]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return float64(len(bodies)) / time.Since(start).Seconds()
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// benchRoundEvents is how many events each side sends before the other's
// turn: rounds alternate, so that a disk or a neighbour slowing down weighs
// on both alike, and the medians of the rounds are compared.
const benchRoundEvents = 2000

// BenchmarkEvents is the throughput figure: signed message events
// per second through /slack/events into the committed timeline, at 64
// concurrent keep-alive senders, next to the reference handler. Run it with
// e.g. -benchtime 40000x for 20 rounds of each.
func BenchmarkEvents(b *testing.B) {
	const senders = 64
	fake := slacktest.New()
	b.Cleanup(fake.Close)
	for _, u := range []string{alice, bob, carol} {
		fake.AddUser(slacktest.User{ID: u, Name: u, TZ: "UTC"})
	}
	deb := debriefEvents(b, fake)
	ref := referenceEvents(b, fake.SigningSecret)
	bodies := benchBodies(b.N)
	s := newSender(senders, fake.SigningSecret)
	// Warm both: connections, the user cache, the incident lookup.
	warm := benchBodies(senders)
	for i := range warm {
		warm[i] = bytes.Replace(warm[i], []byte(`"ts":"1767`), []byte(`"ts":"1766`), 1)
	}
	s.blast(b, deb.URL+"/slack/events", warm, senders)
	s.blast(b, ref.URL, warm, senders)

	b.ResetTimer()
	var debRates, refRates []float64
	for lo := 0; lo < b.N; lo += benchRoundEvents {
		round := bodies[lo:min(lo+benchRoundEvents, b.N)]
		b.StopTimer()
		refRates = append(refRates, s.blast(b, ref.URL, round, senders))
		b.StartTimer()
		debRates = append(debRates, s.blast(b, deb.URL+"/slack/events", round, senders))
	}
	b.StopTimer()
	d, r := median(debRates), median(refRates)
	b.ReportMetric(d, "events/s")
	b.ReportMetric(r, "ref_events/s")
	b.ReportMetric(d/r, "x_of_ref")
	b.ReportMetric(float64(len(debRates)), "rounds")
}

// BenchmarkAckLatency is the latency figure: events sent at a
// steady 500 per second, open loop (each on its own, as Slack does not wait
// for one answer to send the next), and the time to each 200 (committed)
// at p50 and p99. -benchtime 5000x is 10 seconds.
func BenchmarkAckLatency(b *testing.B) {
	const rate = 500
	fake := slacktest.New()
	b.Cleanup(fake.Close)
	for _, u := range []string{alice, bob, carol} {
		fake.AddUser(slacktest.User{ID: u, Name: u, TZ: "UTC"})
	}
	deb := debriefEvents(b, fake)
	url := deb.URL + "/slack/events"
	bodies := benchBodies(b.N + 64)
	s := newSender(256, fake.SigningSecret)
	s.blast(b, url, bodies[b.N:], 16) // warm up

	lat := make([]time.Duration, b.N)
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	b.ResetTimer()
	for i := range b.N {
		<-tick.C
		wg.Go(func() {
			start := time.Now()
			if err := s.post(url, bodies[i]); err != nil {
				b.Error(err)
			}
			lat[i] = time.Since(start)
		})
	}
	wg.Wait()
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max_ms")
}
