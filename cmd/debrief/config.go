package main

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/debrief/debrief/bot"
	"github.com/robfig/cron/v3"
)

// Config is the operator's configuration: the README's environment table,
// read once at start and validated with errors that name the variable.
type Config struct {
	DB       string         // DEBRIEF_DB
	Addr     string         // DEBRIEF_ADDR
	Zone     *time.Location // DEBRIEF_TZ
	APIToken string         // DEBRIEF_API_TOKEN
	// InsecureAPI (DEBRIEF_INSECURE_API=true) serves the API beyond
	// loopback without a token.
	InsecureAPI bool
	Admins      []string // DEBRIEF_ADMINS
	DigestCron  string   // DEBRIEF_DIGEST_CRON: the weekly countermeasure digest

	// StatusEvery overrides the status-update reminder interval per
	// severity (DEBRIEF_STATUS_EVERY="SEV1=15m,SEV4=0"); 0 turns it off.
	StatusEvery map[bot.Severity]time.Duration
	// CloseWithoutReview lists the severities that may close without a
	// held post-mortem (DEBRIEF_CLOSE_WITHOUT_REVIEW="SEV4").
	CloseWithoutReview []bot.Severity
	// LintWarnOnly makes blameless-lint findings warnings instead of
	// refusals (DEBRIEF_LINT=warn; the default is block).
	LintWarnOnly bool
	// LogJSON writes the log as JSON lines (DEBRIEF_LOG_FORMAT=json)
	// instead of slog's text (key=value) lines.
	LogJSON bool
	// LogLevel is the least level logged (DEBRIEF_LOG_LEVEL); debug
	// shows every event recorded and effect delivered.
	LogLevel slog.Level
	// ScheduleWithin overrides the working days after resolve by which the
	// post-mortem should be scheduled (DEBRIEF_SCHEDULE_WITHIN="SEV3=3").
	ScheduleWithin map[bot.Severity]int

	// Cluster is where the state lives when not in DB: etcd, external or
	// embedded (DEBRIEF_ETCD_*, DEBRIEF_CLUSTER_*).
	Cluster ClusterConfig

	// The platforms (SLACK_*, DISCORD_*, GITHUB_*) are not here: each
	// adapter reads and checks its own variables when serve builds it
	// (component.go), so that a new platform does not touch this file.

	// Console is the default platform's settings. They are not in the
	// operator's table: USER names the person at the terminal, and the
	// DEBRIEF_CONSOLE_* variables exist for the crash test.
	Console ConsoleConfig
}

// ConsoleConfig configures the console adapter.
type ConsoleConfig struct {
	User    string // USER, or "operator"
	Ack     bool   // DEBRIEF_CONSOLE_ACK=1 prints "ack <key>" once a message is durable
	Writers int    // DEBRIEF_CONSOLE_WRITERS: messages recorded at once (default 1: in order)
}

// DefaultConfig returns the defaults of the README's table.
func DefaultConfig() Config {
	return Config{
		DB:         "./debrief.db",
		Addr:       "127.0.0.1:8080",
		Zone:       time.UTC,
		DigestCron: "CRON_TZ=UTC 0 9 * * MON",
		Console:    ConsoleConfig{User: "operator", Writers: 1},
	}
}

// LoadConfig reads the environment over the defaults and validates it.
func LoadConfig(getenv func(string) string) (Config, error) {
	c := DefaultConfig()
	str := func(dst *string, name string) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			*dst = v
		}
	}
	str(&c.DB, "DEBRIEF_DB")
	str(&c.Addr, "DEBRIEF_ADDR")
	if err := checkAddr("DEBRIEF_ADDR", c.Addr); err != nil {
		return Config{}, err
	}
	if v := strings.TrimSpace(getenv("DEBRIEF_TZ")); v != "" {
		loc, err := time.LoadLocation(v)
		if err != nil {
			return Config{}, fmt.Errorf("DEBRIEF_TZ=%q: not an IANA time zone (e.g. UTC, Europe/Berlin): %w", v, err)
		}
		c.Zone = loc
	}
	// The token is not trimmed: it is compared byte for byte.
	c.APIToken = getenv("DEBRIEF_API_TOKEN")
	switch v := strings.TrimSpace(getenv("DEBRIEF_INSECURE_API")); v {
	case "", "false":
	case "true":
		c.InsecureAPI = true
	default:
		return Config{}, fmt.Errorf("DEBRIEF_INSECURE_API=%q: want true or false", v)
	}
	for a := range strings.SplitSeq(getenv("DEBRIEF_ADMINS"), ",") {
		if a = strings.TrimPrefix(strings.TrimSpace(a), "@"); a != "" {
			c.Admins = append(c.Admins, a)
		}
	}
	str(&c.DigestCron, "DEBRIEF_DIGEST_CRON")
	if _, err := cron.ParseStandard(c.DigestCron); err != nil {
		return Config{}, fmt.Errorf("DEBRIEF_DIGEST_CRON=%q: %w", c.DigestCron, err)
	}

	var err error
	c.StatusEvery, err = perSeverity(getenv, "DEBRIEF_STATUS_EVERY", "duration pairs, e.g. SEV1=15m,SEV4=0 (at least 1m, or 0 for none)",
		func(s string) (time.Duration, bool) {
			d, err := time.ParseDuration(s)
			return d, err == nil && (d == 0 || d >= time.Minute)
		})
	if err != nil {
		return Config{}, err
	}
	switch v := strings.ToLower(strings.TrimSpace(getenv("DEBRIEF_LINT"))); v {
	case "", "block":
	case "warn":
		c.LintWarnOnly = true
	default:
		return Config{}, fmt.Errorf("DEBRIEF_LINT=%q: want block or warn", v)
	}
	c.ScheduleWithin, err = perSeverity(getenv, "DEBRIEF_SCHEDULE_WITHIN", "working-days pairs, e.g. SEV1=2,SEV4=10 (0 to 60)",
		func(s string) (int, bool) {
			n, err := strconv.Atoi(s)
			return n, err == nil && n >= 0 && n <= 60
		})
	if err != nil {
		return Config{}, err
	}
	for f := range strings.SplitSeq(getenv("DEBRIEF_CLOSE_WITHOUT_REVIEW"), ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		sev, ok := bot.ParseSeverity(f)
		if !ok {
			return Config{}, fmt.Errorf("DEBRIEF_CLOSE_WITHOUT_REVIEW=%q: %q is not a severity (SEV1..SEV4)", getenv("DEBRIEF_CLOSE_WITHOUT_REVIEW"), f)
		}
		c.CloseWithoutReview = append(c.CloseWithoutReview, sev)
	}

	if c.Cluster, err = loadCluster(getenv); err != nil {
		return Config{}, err
	}
	switch v := strings.ToLower(strings.TrimSpace(getenv("DEBRIEF_LOG_FORMAT"))); v {
	case "", "text":
	case "json":
		c.LogJSON = true
	default:
		return Config{}, fmt.Errorf("DEBRIEF_LOG_FORMAT=%q: want text or json", v)
	}
	if v := strings.TrimSpace(getenv("DEBRIEF_LOG_LEVEL")); v != "" {
		// slog's own names (and offsets such as info+2) are accepted.
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			return Config{}, fmt.Errorf("DEBRIEF_LOG_LEVEL=%q: want debug, info, warn or error", v)
		}
	}

	str(&c.Console.User, "USER")
	c.Console.Ack = getenv("DEBRIEF_CONSOLE_ACK") == "1"
	if v := strings.TrimSpace(getenv("DEBRIEF_CONSOLE_WRITERS")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1024 {
			return Config{}, fmt.Errorf("DEBRIEF_CONSOLE_WRITERS=%q: want a number from 1 to 1024", v)
		}
		c.Console.Writers = n
	}
	return c, nil
}

// checkAddr checks a listen address before anything is opened, so that a
// typo does not create the database file first. The port may be 0 (any
// free port); the host may be empty (every interface).
func checkAddr(name, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		var n int
		n, err = strconv.Atoi(port)
		if err == nil && (n < 0 || n > 65535) {
			err = fmt.Errorf("port %d out of range", n)
		}
	}
	if err != nil {
		return fmt.Errorf("%s=%q: want host:port, e.g. 127.0.0.1:8080 or :8080", name, addr)
	}
	return nil
}

// perSeverity parses a variable of SEVn=value pairs ("SEV1=15m,SEV4=0"),
// nil when unset. Severities not named keep their defaults; want says what
// a value looks like, for the error.
func perSeverity[T any](getenv func(string) string, name, want string, parse func(string) (T, bool)) (map[bot.Severity]T, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return nil, nil
	}
	out := map[bot.Severity]T{}
	for pair := range strings.SplitSeq(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
		sev, sevOK := bot.ParseSeverity(strings.TrimSpace(k))
		x, valOK := parse(strings.TrimSpace(val))
		if !ok || !sevOK || !valOK {
			return nil, fmt.Errorf("%s=%q: want SEVn=%s", name, v, want)
		}
		out[sev] = x
	}
	return out, nil
}
