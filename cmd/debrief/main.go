// Command debrief is the incident bot: one process that serves the chat
// platforms, the operator HTTP routes and the outbox and reminder workers.
// Run `debrief help` for the subcommands and the environment it reads.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal starts a graceful shutdown, restore the
		// default handling so that a second Ctrl-C ends a stuck shutdown.
		<-ctx.Done()
		stop()
	}()
	err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "debrief: %v\n", err)
		os.Exit(1)
	}
}
