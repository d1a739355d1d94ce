package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	webadapter "github.com/debrief/debrief/adapters/web"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store/bolt"
	"github.com/debrief/debrief/workflows"
	"github.com/debrief/debrief/workflows/render"
	berrors "go.etcd.io/bbolt/errors"

	// The zone database is embedded so that DEBRIEF_TZ and /incident tz
	// work in a scratch or distroless image with no /usr/share/zoneinfo.
	_ "time/tzdata"
)

const usage = `debrief: incident bot. It opens a channel per incident, records the
timeline as it happens, and keeps the incident open until its blameless
post-mortem was held.

Usage:
  debrief [-db FILE] [-addr HOST:PORT] [serve]   run the bot (the default)
  debrief [-db FILE] export <INC-n>              print the post-mortem Markdown
  debrief [-db FILE] backup <file>               copy the database consistently
                                                 (on etcd: a snapshot)
  debrief [-db FILE] migrate to-etcd|to-bolt     copy the state between DEBRIEF_DB
                                                 and etcd, compared entry by entry
  debrief [-addr HOST:PORT] healthcheck          GET /healthz of the running
                                                 server: exit 0 when ok, 1 if not
  debrief [-db FILE] reindex                     rebuild the archive's search index (DEBRIEF_INDEX)
  debrief version, --version                     print the version
  debrief help                                   this help

Flags (override the environment):
  -db FILE          the bbolt database (DEBRIEF_DB)
  -addr HOST:PORT   the HTTP listen address (DEBRIEF_ADDR)

A command line that cannot be understood exits 2, any other failure 1.

With no chat platform configured, serve runs the console: type
"/incident help" on stdin. "/quit" stops debrief; end of input (Ctrl-D, or a
container without a terminal) keeps the HTTP server running.

export opens the database file, which bbolt locks to one process: stop the
server first, or fetch GET /api/incidents/{id}/postmortem.md from it, which
serves the same Markdown. backup works either way: on a stopped server's file
directly, and from a running server (DEBRIEF_ADDR, DEBRIEF_API_TOKEN) over
GET /api/backup, checking the copy before keeping it.

Environment:
  DEBRIEF_DB              bbolt file (./debrief.db)
  DEBRIEF_ADDR            HTTP listen address (127.0.0.1:8080)
  DEBRIEF_TZ              zone for rendering times when a user has none (UTC)
  DEBRIEF_API_TOKEN       bearer token required by the /api/ routes (none)
  DEBRIEF_INSECURE_API    true: serve /api/ beyond loopback without a token
  DEBRIEF_ADMINS          comma-separated users who may close any incident
  DEBRIEF_DIGEST_CRON     weekly countermeasure digest (CRON_TZ=UTC 0 9 * * MON)
  DEBRIEF_STATUS_EVERY    status-update reminders per severity
                          (SEV1=15m,SEV2=30m,SEV3=2h,SEV4=0)
  DEBRIEF_CLOSE_WITHOUT_REVIEW
                          severities that may close without a held
                          post-mortem, e.g. SEV4 (none)
  DEBRIEF_LINT            block or warn: whether blameless-lint findings
                          refuse postmortem held and close (block)
  DEBRIEF_SCHEDULE_WITHIN working days after resolve to schedule the
                          post-mortem (SEV1=2,SEV2=2,SEV3=5,SEV4=10)
  DEBRIEF_ETCD_ENDPOINTS  keep the state in this etcd cluster instead of
                          DEBRIEF_DB (comma-separated client URLs);
                          DEBRIEF_ETCD_CERT, _KEY, _CA: client TLS
  DEBRIEF_CLUSTER_NAME, DEBRIEF_CLUSTER_PEERS, DEBRIEF_CLUSTER_DIR
                          or embed an etcd member: this member's name, every
                          member (a=http://10.0.0.1:2380,b=...), its data
                          (<DEBRIEF_DB>.etcd); DEBRIEF_CLUSTER_CERT, _KEY,
                          _CA: peer TLS
  DEBRIEF_CLUSTER_LISTEN  where this member listens for peers when it is
                          not its DEBRIEF_CLUSTER_PEERS entry (a NAT)
  DEBRIEF_CLUSTER_URL     this replica's HTTP URL as the others reach it,
                          where they send timeline appends (http://<host
                          of its peer URL>:<port of DEBRIEF_ADDR>)
  DEBRIEF_LOG_FORMAT      text or json (text)
  DEBRIEF_LOG_LEVEL       debug, info, warn or error (info)
  USER                    the console user's name (operator)
  SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN, SLACK_API_URL,
  SLACK_ANNOUNCE_CHANNEL, SLACK_KEY_EMOJI, SLACK_ARCHIVE_ON_CLOSE
                          Slack over HTTP (token + signing secret) or
                          Socket Mode (token + app token)
  DISCORD_BOT_TOKEN, DISCORD_APP_ID, DISCORD_GUILD_ID, DISCORD_PUBLIC_KEY,
  DISCORD_API_URL, DISCORD_CATEGORY_ID, DISCORD_ANNOUNCE_CHANNEL,
  DISCORD_KEY_EMOJI, DISCORD_LOCK_ON_CLOSE
                          Discord over the gateway (token + application
                          + server IDs); the public key adds the HTTP
                          interactions endpoint
  GITHUB_TOKEN, GITHUB_REPO, GITHUB_WEBHOOK_SECRET, GITHUB_API_URL,
  GITHUB_POSTMORTEM_PATH, GITHUB_USERS_FILE, GITHUB_RECONCILE_EVERY
                          countermeasures as GitHub issues; closed
                          post-mortems committed to GITHUB_POSTMORTEM_PATH

HTTP routes: GET /healthz, GET /metrics, GET /api/incidents,
GET /api/incidents/{id}, GET /api/incidents/{id}/timeline,
GET /api/incidents/{id}/postmortem.md, GET /api/backup,
POST /slack/commands, POST /slack/events, POST /slack/interactivity,
POST /discord/interactions, POST /github/webhook
`

// errUsage marks errors about the command line itself.
var errUsage = errors.New("run 'debrief help' for usage")

// run is the whole program, with its dependencies passed in so that tests
// drive it in-process: a map for getenv, :0 for the address, pipes for the
// console.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	var db, addr string
	var showVersion bool
	bind := func(fs *flag.FlagSet) {
		// Defaults are the values parsed so far, so that flags given
		// before the subcommand survive the subcommand's own parse.
		fs.StringVar(&db, "db", db, "the bbolt database (DEBRIEF_DB)")
		fs.StringVar(&addr, "addr", addr, "the HTTP listen address (DEBRIEF_ADDR)")
		// -version and --version: the flag package takes both.
		fs.BoolVar(&showVersion, "version", showVersion, "print the version")
	}
	parse := func(name string, args []string) ([]string, bool, error) {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		bind(fs)
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			return nil, true, nil
		}
		if err != nil {
			// main prefixes "debrief: "; only a subcommand is named here.
			if name != "debrief" {
				return nil, false, fmt.Errorf("%s: %v: %w", name, err, errUsage)
			}
			return nil, false, fmt.Errorf("%v: %w", err, errUsage)
		}
		return fs.Args(), false, nil
	}

	if len(args) > 0 {
		args = args[1:]
	}
	rest, help, err := parse("debrief", args)
	if err != nil {
		return err
	}
	cmd := "serve"
	if len(rest) > 0 {
		cmd, rest = rest[0], rest[1:]
	}
	if help || cmd == "help" {
		_, err := io.WriteString(stdout, usage)
		return err
	}
	if cmd == "version" || showVersion {
		_, err := fmt.Fprintf(stdout, "debrief %s\n", versionString())
		return err
	}
	if cmd != "serve" && cmd != "export" && cmd != "backup" && cmd != "migrate" && cmd != "healthcheck" && cmd != "reindex" {
		return fmt.Errorf("unknown command %q: %w", cmd, errUsage)
	}
	rest, help, err = parse(cmd, rest)
	if err != nil {
		return err
	}
	if help {
		_, err := io.WriteString(stdout, usage)
		return err
	}
	if showVersion {
		_, err := fmt.Fprintf(stdout, "debrief %s\n", versionString())
		return err
	}

	cfg, err := LoadConfig(getenv)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if db != "" {
		cfg.DB = db
	}
	if addr != "" {
		if err := checkAddr("-addr", addr); err != nil {
			return fmt.Errorf("%w: %w", err, errUsage)
		}
		cfg.Addr = addr
	}

	switch cmd {
	case "export":
		if len(rest) != 1 {
			return fmt.Errorf("export takes one incident ID, e.g. export INC-1: %w", errUsage)
		}
		return export(ctx, cfg, rest[0], stdout)
	case "reindex":
		if len(rest) != 0 {
			return fmt.Errorf("reindex takes no arguments: %w", errUsage)
		}
		return reindex(ctx, cfg, getenv, stdout)
	case "backup":
		if len(rest) != 1 {
			return fmt.Errorf("backup takes one file name: %w", errUsage)
		}
		return backup(ctx, cfg, rest[0], stdout)
	case "migrate":
		if len(rest) != 1 {
			return fmt.Errorf("migrate takes to-etcd or to-bolt: %w", errUsage)
		}
		return migrate(ctx, cfg, rest[0], stdout)
	case "healthcheck":
		if len(rest) != 0 {
			return fmt.Errorf("healthcheck takes no arguments: %w", errUsage)
		}
		return healthcheck(ctx, cfg, stdout)
	}
	if len(rest) != 0 {
		return fmt.Errorf("serve takes no arguments, got %q: %w", strings.Join(rest, " "), errUsage)
	}
	return serve(ctx, cfg, getenv, stdin, stdout, stderr)
}

// openStore opens the database, explaining the one error operators hit
// most: bbolt lets a single process hold the file.
func openStore(path string) (*bolt.DB, error) {
	db, err := bolt.Open(path)
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("DEBRIEF_DB=%s is in use by another process (is debrief serve running?); stop it first: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("DEBRIEF_DB=%s: %w", path, err)
	}
	return db, nil
}

// openExisting opens a database that must already exist: export and backup
// of a mistyped path should fail, not create an empty file.
func openExisting(path string) (*bolt.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("DEBRIEF_DB=%s: %w", path, err)
	}
	return openStore(path)
}

func export(ctx context.Context, cfg Config, id string, stdout io.Writer) (err error) {
	var db *backend
	if cfg.Cluster.On() {
		db, err = openEtcd(ctx, cfg, nil, nil)
	} else {
		var bdb *bolt.DB
		if bdb, err = openExisting(cfg.DB); err == nil {
			db = &backend{Store: bdb, close: bdb.Close, where: cfg.DB}
		}
	}
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.close(); cerr != nil && err == nil {
			err = fmt.Errorf("close %s: %w", db.where, cerr)
		}
	}()
	svc := &workflows.Service{Store: db.Store, Config: workflowsConfig(cfg)}
	return writeExport(ctx, svc, id, cfg.Zone, stdout)
}

// writeExport writes what export prints: streamed from the store a page
// at a time (WriteExport), so memory stays flat at any timeline's length.
// The write-up already escapes what users wrote; Visible again on the way
// out, since stdout is often a terminal.
func writeExport(ctx context.Context, svc *workflows.Service, id string, loc *time.Location, stdout io.Writer) error {
	out := bufio.NewWriterSize(stdout, 64<<10)
	vis := &render.VisibleWriter{W: out}
	if err := svc.WriteExport(ctx, vis, id, loc); err != nil {
		return fmt.Errorf("export %s: %w", id, userError(err))
	}
	if err := vis.Close(); err != nil {
		return fmt.Errorf("export %s: %w", id, err)
	}
	return out.Flush()
}

// userError keeps a domain error's message readable on the command line
// ("No incident "INC-9"."), without the "bot: not_found:" prefix.
func userError(err error) error {
	if code := bot.ErrorCode(err); code != bot.EINTERNAL && code != "" {
		return errors.New(bot.ErrorMessage(err))
	}
	return err
}

// workflowsConfig is the part of cfg the Service uses.
func workflowsConfig(cfg Config) workflows.Config {
	w := workflows.DefaultConfig()
	w.Zone = cfg.Zone
	w.Admins = cfg.Admins
	for sev, d := range cfg.StatusEvery {
		w.StatusEvery[sev] = d
	}
	w.Policy.LintWarnOnly = cfg.LintWarnOnly
	for sev, days := range cfg.ScheduleWithin {
		w.ScheduleWithin[sev] = days
	}
	if len(cfg.CloseWithoutReview) > 0 {
		w.Policy.SkipReview = map[bot.Severity]bool{}
		for _, sev := range cfg.CloseWithoutReview {
			w.Policy.SkipReview[sev] = true
		}
	}
	// Announcement channels are left out until their platform's adapter
	// exists: an effect for a platform with no Chat would wait in the
	// outbox forever.
	return w
}

// reindex rebuilds the archive's search index from the database, which
// stays the source of truth. Like export, it needs the file to itself.
func reindex(ctx context.Context, cfg Config, getenv func(string) string, stdout io.Writer) (err error) {
	db, err := openExisting(cfg.DB)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close %s: %w", cfg.DB, cerr))
		}
	}()
	path := getenv("DEBRIEF_INDEX")
	if path == "" {
		path = cfg.DB + ".index"
	}
	start := time.Now()
	n, err := webadapter.Reindex(ctx, db, path)
	if err != nil {
		return fmt.Errorf("reindex %s: %w", path, err)
	}
	took := time.Since(start)
	_, err = fmt.Fprintf(stdout, "indexed %d timeline entries into %s in %s (%.0f entries/s)\n", n, path, took.Round(time.Millisecond), float64(n)/max(took.Seconds(), 1e-9))
	return err
}
