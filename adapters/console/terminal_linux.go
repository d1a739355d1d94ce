//go:build linux

package console

import (
	"fmt"
	"io"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// OpenTerminal readies the terminal on in and out for UseTerminal: it turns
// off the kernel's own line editing and echo (x/term's Terminal edits and
// echoes the line itself) and returns the editor and the function that
// gives the terminal back as it was, to call when debrief ends. Unlike
// term.MakeRaw it keeps two things on: signals (ISIG), so Ctrl-C still
// shuts debrief down and a second one still ends a stuck shutdown; and
// output processing (OPOST), so log lines written to the terminal by
// anyone else keep their line breaks.
func OpenTerminal(in, out *os.File) (*term.Terminal, func() error, error) {
	fd := int(in.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, nil, fmt.Errorf("console: terminal settings: %w", err)
	}
	raw := *old
	raw.Lflag &^= unix.ICANON | unix.ECHO | unix.ECHONL | unix.IEXTEN
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return nil, nil, fmt.Errorf("console: terminal settings: %w", err)
	}
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{in, out}, "")
	// The editor wraps long lines at the terminal's width: told at start
	// and at every resize (SIGWINCH). A terminal that reports no size (a
	// pseudo-terminal nobody sized) keeps x/term's 80 columns.
	resize := func() {
		if w, h, err := term.GetSize(int(out.Fd())); err == nil && w > 0 && h > 0 {
			_ = t.SetSize(w, h)
		}
	}
	resize()
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, unix.SIGWINCH)
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-winch:
				resize()
			case <-stop:
				return
			}
		}
	}()
	restore := func() error {
		signal.Stop(winch)
		close(stop)
		// Leave no prompt behind for the shell's own to follow.
		_, _ = out.WriteString("\r\x1b[K")
		return unix.IoctlSetTermios(fd, unix.TCSETS, old)
	}
	return t, restore, nil
}
