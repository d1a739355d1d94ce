// Command debrief is the incident bot: one process that serves the chat
// platforms, the operator HTTP routes and the outbox and reminder workers.
// Run `debrief help` for the subcommands and the environment it reads.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3".
// Empty, the module's build information is used (versionString).
var version = ""

func main() {
	// signal.NotifyContext catches SIGINT and SIGTERM also as PID 1 in a
	// container, where the kernel would otherwise ignore them (a process
	// with PID 1 gets no default action for signals it does not handle).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
		// A second signal ends a stuck shutdown. Restoring the default
		// handling is not enough as PID 1, which the kernel shields from
		// default actions; so the second signal is caught and exits.
		again := make(chan os.Signal, 1)
		signal.Notify(again, os.Interrupt, syscall.SIGTERM)
		<-again
		fmt.Fprintln(os.Stderr, "debrief: second signal, exiting without finishing the shutdown")
		os.Exit(130)
	}()
	err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "debrief: %v\n", err)
		if errors.Is(err, errUsage) {
			// The convention of the flag package and most tools: a
			// command line that cannot be understood exits 2.
			os.Exit(2)
		}
		os.Exit(1)
	}
}
