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
	"github.com/debrief/debrief/workflows"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// shutdownGrace bounds how long in-flight HTTP requests may take to finish
// once shutdown starts.
const shutdownGrace = 10 * time.Second

// serve runs the bot until ctx is done or the console user types /quit.
// Shutdown goes in the reverse order of start: stop intake (HTTP, console),
// then the workers, then close the database, so that nothing accepted is
// cut off mid-write.
func serve(ctx context.Context, cfg Config, stdin io.Reader, stdout, stderr io.Writer) (err error) {
	log := slog.New(slog.NewTextHandler(stderr, nil))

	db, err := openStore(cfg.DB)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close %s: %w", cfg.DB, cerr))
		}
		log.Info("stopped")
	}()

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo(),
	)
	svc := &workflows.Service{
		Store:   db,
		Config:  workflowsConfig(cfg),
		Log:     log,
		Metrics: workflows.NewMetrics(reg),
	}

	// Relaxing the close gate is allowed, never silent.
	for _, sev := range cfg.CloseWithoutReview {
		log.Warn("close gate relaxed: incidents of this severity may close without a held post-mortem", "severity", sev.String())
	}
	user := bot.User{Platform: bot.Console, ID: cfg.Console.User, Name: cfg.Console.User}
	con := console.New(svc, stdin, stdout, user)
	con.Ack = cfg.Console.Ack
	con.Writers = cfg.Console.Writers
	con.Prompt = isTerminal(stdin)
	con.Log = log
	svc.Chats = map[bot.Platform]workflows.Chat{bot.Console: con}
	sl, err := setupSlack(ctx, cfg, svc, log)
	if err != nil {
		return err
	}
	dc, err := setupDiscord(ctx, cfg, svc, log)
	if err != nil {
		return err
	}
	gh, err := setupGitHub(cfg, svc, log)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("DEBRIEF_ADDR=%s: %w", cfg.Addr, err)
	}
	if !isLoopback(ln.Addr()) && cfg.APIToken == "" {
		log.Warn("listening beyond loopback without DEBRIEF_API_TOKEN: the /api/ routes are open to anyone who can reach them", "addr", ln.Addr().String())
	}
	mux := http.NewServeMux()
	(&httpapi.Server{Service: svc, Token: cfg.APIToken, Gatherer: reg, Backup: db.Backup, Log: log}).Register(mux)
	if sl != nil {
		sl.Register(mux)
	}
	if dc != nil {
		dc.Register(mux)
	}
	gh.Register(mux)
	hs := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Tests listen on :0 and read the port from this line.
	log.Info("listening", "addr", ln.Addr().String(), "db", cfg.DB, "version", version)

	// Workers run until intake has stopped, so that the effects of the last
	// commands are still delivered when they can be.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var workers sync.WaitGroup
	workers.Go(func() { svc.RunOutbox(workCtx) })
	workers.Go(func() {
		if err := svc.RunReminders(workCtx); err != nil {
			log.Error("reminders stopped", "err", err)
		}
	})
	workers.Go(func() {
		if err := svc.RunDigest(workCtx, cfg.DigestCron); err != nil {
			log.Error("countermeasure digest stopped", "err", err)
		}
	})
	workers.Go(func() { gh.Run(workCtx, svc) })

	httpErr := make(chan error, 1)
	go func() { httpErr <- hs.Serve(ln) }()
	stopSocket, socketErr := runSlackSocket(ctx, sl, cfg, log)
	stopDiscord, discordErr := runDiscord(ctx, dc, log)

	conCtx, stopConsole := context.WithCancel(ctx)
	defer stopConsole()
	quit := make(chan struct{})
	conDone := make(chan struct{})
	go func() {
		defer close(conDone)
		err := con.Run(conCtx)
		switch {
		case errors.Is(err, console.ErrQuit):
			close(quit)
		case err != nil:
			log.Error("console stopped", "platform", bot.Console, "err", err)
		case conCtx.Err() == nil:
			log.Info("console input closed; still serving HTTP", "platform", bot.Console)
		}
	}()

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down", "cause", context.Cause(ctx))
	case <-quit:
		log.Info("shutting down", "cause", "/quit")
	case err := <-httpErr:
		runErr = fmt.Errorf("http server: %w", err)
	case err := <-socketErr:
		runErr = fmt.Errorf("slack socket mode: %w", err)
	case err := <-discordErr:
		runErr = fmt.Errorf("discord gateway: %w", err)
	}

	// Stop intake: no new requests or lines; in-flight ones finish.
	shCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := hs.Shutdown(shCtx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	stopSocket()
	stopDiscord()
	stopConsole()
	<-conDone
	// Then the workers, and one last bounded drain of the outbox so that
	// the effects of the last commands (the archive after a close) are not
	// left waiting for the next start. Anything not delivered in time stays
	// in the outbox and goes out at the next start.
	stopWork()
	workers.Wait()
	drainOutbox(context.WithoutCancel(ctx), svc, log)
	return runErr
}

// drainGrace bounds the last outbox pass at shutdown: a platform that is
// down must not hold the process.
const drainGrace = 5 * time.Second

// drainOutbox delivers what is due until a pass delivers nothing (a
// delivered post can queue its pin) or drainGrace is over. It runs after
// the worker has stopped, so no effect is attempted twice at once.
func drainOutbox(ctx context.Context, svc *workflows.Service, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, drainGrace)
	defer cancel()
	for {
		n, err := svc.DeliverDue(ctx)
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

func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// isTerminal reports whether r is a terminal, where a prompt helps; on a
// pipe or /dev/null it would only clutter the output.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func buildInfo() prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "debrief_build_info",
		Help:        "Always 1; the version label says which build is running.",
		ConstLabels: prometheus.Labels{"version": version},
	})
	g.Set(1)
	return g
}
