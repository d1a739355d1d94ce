//go:build !linux

package console

import (
	"errors"
	"os"

	"golang.org/x/term"
)

// OpenTerminal is only implemented on Linux, where debrief runs in
// production (README, "Docker"); elsewhere the console reads plain lines,
// with a prompt on a terminal.
func OpenTerminal(in, out *os.File) (*term.Terminal, func() error, error) {
	return nil, nil, errors.New("console: line editing is implemented on Linux only")
}
