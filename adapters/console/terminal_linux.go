//go:build linux

package console

import (
	"fmt"
	"io"
	"os"

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
	restore := func() error { return unix.IoctlSetTermios(fd, unix.TCSETS, old) }
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{in, out}, "")
	if w, h, err := term.GetSize(int(out.Fd())); err == nil {
		_ = t.SetSize(w, h)
	}
	return t, restore, nil
}
