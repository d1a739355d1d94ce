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
	ctx, cancel := context.WithCancelCause(context.Background())
	// The signals are caught for the whole run, never handed back to the
	// default action: as PID 1 in a container the kernel ignores a signal
	// the process does not handle, so "restore the default and let the
	// second Ctrl-C kill it" would leave a stuck shutdown stuck. The first
	// signal starts the graceful shutdown; the second exits at once.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		cancel(fmt.Errorf("%v signal received", s))
		<-sigs
		fmt.Fprintln(os.Stderr, "debrief: second signal, exiting without finishing the shutdown")
		os.Exit(130)
	}()
	err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	cancel(nil)
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
