package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/debrief/debrief/adapters/console"
	"github.com/debrief/debrief/adapters/httpapi"
	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store/etcd"
	"github.com/debrief/debrief/workflows"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/term"
)

// stopGrace bounds the whole shutdown, from the signal to the database
// closed, when nothing hangs: it fits in `docker stop`'s default 10 s
// before SIGKILL (README, "Docker"), with room for the process to exit.
const stopGrace = 8 * time.Second

// shutdownGrace bounds how long in-flight HTTP requests may take to finish
// once shutdown starts; the outbox drain has what is left of stopGrace.
const shutdownGrace = 4 * time.Second

// serve runs the bot until ctx is done, the console user types /quit, or a
// component fails for good. Shutdown goes in the reverse order of start:
// stop intake (HTTP, then the components, last started first), then the
// workers, then close the database, so that nothing accepted is cut off
// mid-write.
func serve(ctx context.Context, cfg Config, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) (err error) {
	// On a terminal, the console reads through a line editor, and the log
	// goes through it too when it shares the terminal, so that no line
	// lands in the middle of what is being typed.
	var editor *term.Terminal
	logOut := stderr
	if in, out, ok := terminals(stdin, stdout); ok {
		t, restore, err := console.OpenTerminal(in, out)
		if err == nil {
			editor = t
			defer func() { _ = restore() }()
			if isTerminal(stderr) {
				logOut = t
			}
		}
	}
	log := newLogger(cfg, logOut)

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo(),
	)
	// The store is opened once the components are built: a platform
	// misconfigured (checked by its adapter) must not create or lock the
	// database file.
	svc := &workflows.Service{
		Config:  workflowsConfig(cfg),
		Log:     log,
		Metrics: workflows.NewMetrics(reg),
	}

	// Relaxing the close gate is allowed, never silent.
	for _, sev := range cfg.CloseWithoutReview {
		log.Warn("close gate relaxed: incidents of this severity may close without a held post-mortem", "severity", sev.String())
	}
	// The console is always there: the platform of last resort, and the
	// operator's terminal beside the others.
	user := bot.User{Platform: bot.Console, ID: cfg.Console.User, Name: cfg.Console.User}
	con := console.New(svc, stdin, stdout, user)
	con.Ack = cfg.Console.Ack
	con.Writers = cfg.Console.Writers
	con.Prompt = isTerminal(stdin)
	if editor != nil {
		con.UseTerminal(editor)
	}
	con.Settle = consoleSettle
	con.Log = log
	svc.Chats = map[bot.Platform]workflows.Chat{bot.Console: con}
	comps := []component{con}
	// Flags override the environment: components read the values in
	// effect (the archive derives its index path and its access rule
	// from them).
	env := func(k string) string {
		switch k {
		case "DEBRIEF_DB":
			return cfg.DB
		case "DEBRIEF_ADDR":
			return cfg.Addr
		}
		return getenv(k)
	}
	for _, build := range platforms {
		c, err := build(ctx, env, svc, log)
		if err != nil {
			return err
		}
		if c != nil {
			comps = append(comps, c)
		}
	}

	// The address is taken before the database is opened: a port in use
	// must not create the file (nor log "stopped" for what never ran).
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("DEBRIEF_ADDR=%s: %w", cfg.Addr, err)
	}
	defer ln.Close() // after hs.Serve returned, this is a no-op
	db, err := openBackend(ctx, cfg, reg, log)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close %s: %w", db.where, cerr))
		}
		log.Info("stopped")
	}()

	// On a cluster one replica leads: only it runs the loops and the
	// platform connections, and the others send it their appends
	// (cluster.go).
	var lead *leadership
	var leader func() bool
	var routed http.Handler
	if db.cli != nil {
		lead = newLeadership(db.cli, db.prefix, cfg.Cluster.Name+"@"+cfg.Addr, routeURL(cfg.Cluster, ln.Addr()), log, reg)
		leader = lead.Leading
		if routed, err = db.routeAppends(ctx, lead); err != nil {
			return err
		}
		for i, c := range comps {
			if holdsConnection(c, getenv) {
				comps[i] = leaderOnly{component: c, lead: lead}
			}
		}
	}

	svc.Store = db.Store
	reg.MustRegister(svc.OutboxCollector())

	loopbackOnly := false
	if !isLoopback(ln.Addr()) && cfg.APIToken == "" {
		if cfg.InsecureAPI {
			log.Error("DEBRIEF_INSECURE_API=true: listening beyond loopback without DEBRIEF_API_TOKEN, the /api/ routes and the database backup are open to anyone who can reach them", "addr", ln.Addr().String())
		} else {
			loopbackOnly = true
			log.Warn("listening beyond loopback without DEBRIEF_API_TOKEN: the /api/ routes answer loopback only; set DEBRIEF_API_TOKEN", "addr", ln.Addr().String())
		}
	}
	mux := http.NewServeMux()
	(&httpapi.Server{Service: svc, Token: cfg.APIToken, LoopbackOnly: loopbackOnly, Commits: db.commitErr,
		Gatherer: reg, Backup: db.backup, Ready: db.ready(ready(comps)), Leader: leader, Log: log}).Register(mux)
	for _, c := range comps {
		c.Register(mux)
	}
	if routed != nil {
		mux.Handle(etcd.RoutePath, routed)
	}
	hs := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Tests listen on :0 and read the port from this line.
	log.Info("listening", "addr", ln.Addr().String(), "db", db.where, "version", versionString())

	// The workers are the application's periodic loops, all started here
	// (svc.Loops: the outbox, then the loops that queue for it). They run
	// until intake has stopped, so that the effects of the last commands
	// are still delivered when they can be.
	loops := svc.Loops(cfg.DigestCron)
	var stopWorkers func()
	if lead == nil {
		stopWorkers = startWorkers(ctx, loops, log)
	} else {
		stopWorkers = leadWorkers(ctx, lead, db, svc, loops, log)
	}
	defer stopWorkers()

	httpErr := make(chan error, 1)
	var stopBy time.Time // when shutdown must be over, set when it starts
	runErr := runComponents(ctx, comps,
		func() <-chan error {
			go func() { httpErr <- hs.Serve(ln) }()
			return httpErr
		},
		func() {
			// No new requests; in-flight ones finish.
			stopBy = time.Now().Add(stopGrace)
			shCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
			defer cancel()
			if err := hs.Shutdown(shCtx); err != nil {
				log.Warn("http shutdown", "err", err)
			}
		}, log)
	// Then the workers, last started first (the outbox last), and one last
	// bounded drain of the outbox so that the effects of the last commands
	// (the archive after a close) are not left waiting for the next start.
	// Anything not delivered in time stays in the outbox and goes out at
	// the next start.
	stopWorkers()
	if lead == nil {
		// On a cluster the next leader delivers: a replica that no
		// longer leads must not.
		dctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), stopBy)
		defer cancel()
		drainOutbox(dctx, svc, log)
	}
	return runErr
}

// startWorkers runs each loop in its own goroutine, detached from ctx, and
// returns the function that stops them in reverse order, each one
// finished before the next is stopped; calling it again does nothing. A
// loop whose Run fails is logged and the others go on: a schedule that
// cannot run must not stop the bot.
func startWorkers(ctx context.Context, loops []workflows.NamedLoop, log *slog.Logger) (stop func()) {
	stops := make([]context.CancelFunc, len(loops))
	dones := make([]chan struct{}, len(loops))
	for i, l := range loops {
		lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		stops[i], dones[i] = cancel, make(chan struct{})
		go func() {
			defer close(dones[i])
			if err := l.Run(lctx); err != nil {
				log.Error("loop stopped", "loop", l.Name, "err", err)
			}
		}()
	}
	return sync.OnceFunc(func() {
		for i := len(loops) - 1; i >= 0; i-- {
			stops[i]()
			<-dones[i]
		}
	})
}

// runComponents runs comps, then the intake (startIntake: the HTTP
// server, started last since the components' routes are on it), until ctx
// is done, the intake fails, a component fails for good (its error is
// returned) or the console user types /quit. Then it stops the intake
// (stopIntake) and the components, last started first, each one finished
// (its accepted work done) before the next is stopped. A component that
// ends early and fine, like the console at end of input, leaves the
// others running.
func runComponents(ctx context.Context, comps []component, startIntake func() <-chan error, stopIntake func(), log *slog.Logger) error {
	type ended struct{ err error }
	endc := make(chan ended, len(comps))
	stops := make([]context.CancelFunc, len(comps))
	dones := make([]chan struct{}, len(comps))
	for i, c := range comps {
		// Detached from ctx: each is stopped on its own, in order.
		cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		stops[i], dones[i] = cancel, make(chan struct{})
		go func() {
			defer close(dones[i])
			endc <- ended{c.Run(cctx)}
		}()
	}
	intakeErr := startIntake()

	var runErr error
wait:
	for {
		select {
		case <-ctx.Done():
			log.Info("shutting down", "cause", context.Cause(ctx))
			break wait
		case err := <-intakeErr:
			runErr = fmt.Errorf("http server: %w", err)
			break wait
		case e := <-endc:
			switch {
			case errors.Is(e.err, console.ErrQuit):
				log.Info("shutting down", "cause", "/quit")
				break wait
			case e.err != nil:
				runErr = e.err
				break wait
			}
		}
	}
	stopIntake()
	for i := len(comps) - 1; i >= 0; i-- {
		stops[i]()
		<-dones[i]
	}
	return runErr
}

// drainGrace bounds the last outbox pass at shutdown: a platform that is
// down must not hold the process. The caller's deadline (what is left of
// stopGrace) may end it sooner.
const drainGrace = 5 * time.Second

// drainOutbox delivers what is due until a pass delivers nothing (a
// delivered post can queue its pin) or drainGrace is over. It runs after
// the outbox loop has stopped, so no effect is attempted twice at once.
func drainOutbox(ctx context.Context, svc *workflows.Service, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, drainGrace)
	defer cancel()
	ob, now := svc.Outbox(), time.Now
	if svc.Now != nil {
		now = svc.Now // the Service's clock, as the outbox loop's Run uses
	}
	for {
		n, err := ob.Tick(ctx, now())
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("outbox drain at shutdown", "err", err)
			}
			return
		}
		if n == 0 {
			return
		}
	}
}

// newLogger is the one logger of the process, in DEBRIEF_LOG_FORMAT at
// DEBRIEF_LOG_LEVEL.
func newLogger(cfg Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// consoleSettle is how long a console command waits for its effects on the
// console before the next line is read (console.Console.Settle).
const consoleSettle = 5 * time.Second

// isTerminal reports whether f is a terminal, where a prompt helps; on a
// pipe or /dev/null (a character device, but no terminal: a container
// without -it) it would only clutter the output.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// terminals returns stdin and stdout as files when both are terminals: the
// line editor needs to read keys from one and draw on the other.
func terminals(stdin io.Reader, stdout io.Writer) (*os.File, *os.File, bool) {
	in, ok1 := stdin.(*os.File)
	out, ok2 := stdout.(*os.File)
	if !ok1 || !ok2 || !isTerminal(in) || !isTerminal(out) {
		return nil, nil, false
	}
	return in, out, true
}

func buildInfo() prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "debrief_build_info",
		Help:        "Always 1; the version label says which build is running.",
		ConstLabels: prometheus.Labels{"version": versionString()},
	})
	g.Set(1)
	return g
}
