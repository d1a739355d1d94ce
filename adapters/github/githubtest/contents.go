package githubtest

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// maxInline is the largest file whose content the contents API's GET sends
// along in its JSON: past 1 MB it answers "encoding": "none" with an empty
// content, and the bytes are read with the raw media type
// (https://docs.github.com/rest/repos/contents#get-repository-content).
const maxInline = 1 << 20

// putBody is a contents PUT's JSON, but for its content, which
// decodePut streams to a writer.
type putBody struct {
	Message string
	SHA     string
	// sawContent is set when the body had a content member.
	sawContent bool
}

// errBadBase64 says the content member is not standard base64: GitHub's
// 422.
var errBadBase64 = errors.New("content is not valid Base64")

// decodePut reads a contents PUT's JSON body as GitHub does, whatever its
// length: the members it knows, and content, a base64 string decoded as it
// is read into content. Other members (branch, committer, author) are
// read and left aside. A body that is not one JSON object is an error
// (GitHub's 400); a content that is not base64 is errBadBase64 (its 422).
func decodePut(r io.Reader, content io.Writer) (putBody, error) {
	var out putBody
	j := &jsonStream{r: bufio.NewReaderSize(r, 64<<10)}
	if c, err := j.next(); err != nil || c != '{' {
		return out, fmt.Errorf("not a JSON object")
	}
	for first := true; ; first = false {
		c, err := j.next()
		if err != nil {
			return out, err
		}
		if c == '}' && first {
			break
		}
		if c != '"' {
			return out, fmt.Errorf("want a member name, got %q", c)
		}
		var key bytes.Buffer
		if err := j.str(&limited{w: &key, n: 1 << 10}); err != nil {
			return out, err
		}
		if c, err := j.next(); err != nil || c != ':' {
			return out, fmt.Errorf("want ':' after %q", key.String())
		}
		c, err = j.next()
		if err != nil {
			return out, err
		}
		switch key.String() {
		case "content":
			if c != '"' {
				return out, errBadBase64
			}
			out.sawContent = true
			d := &base64Writer{w: content}
			if err := j.str(d); err != nil {
				return out, err
			}
			if err := d.Close(); err != nil {
				return out, err
			}
		case "message", "sha":
			if c != '"' {
				return out, fmt.Errorf("%s is not a string", key.String())
			}
			var v bytes.Buffer
			if err := j.str(&limited{w: &v, n: 1 << 20}); err != nil {
				return out, err
			}
			if key.String() == "message" {
				out.Message = v.String()
			} else {
				out.SHA = v.String()
			}
		default:
			if err := j.skip(c); err != nil {
				return out, err
			}
		}
		c, err = j.next()
		if err != nil {
			return out, err
		}
		if c == '}' {
			break
		}
		if c != ',' {
			return out, fmt.Errorf("want ',' or '}', got %q", c)
		}
	}
	if _, err := j.next(); !errors.Is(err, io.EOF) {
		return out, fmt.Errorf("data after the JSON object")
	}
	return out, nil
}

// jsonStream reads JSON a token at a time, strings as streams.
type jsonStream struct{ r *bufio.Reader }

// next returns the next byte that is not white space.
func (j *jsonStream) next() (byte, error) {
	for {
		c, err := j.r.ReadByte()
		if err != nil {
			return 0, err
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c, nil
	}
}

// str writes the rest of a string whose opening quote was read, its
// escapes decoded, to w.
func (j *jsonStream) str(w io.Writer) error {
	var run []byte
	flush := func() error {
		if len(run) == 0 {
			return nil
		}
		_, err := w.Write(run)
		run = run[:0]
		return err
	}
	for {
		c, err := j.r.ReadByte()
		if err != nil {
			return fmt.Errorf("unterminated string: %w", err)
		}
		switch {
		case c == '"':
			return flush()
		case c < 0x20:
			return fmt.Errorf("control character in a string")
		case c != '\\':
			run = append(run, c)
			if len(run) >= 32<<10 {
				if err := flush(); err != nil {
					return err
				}
			}
			continue
		}
		e, err := j.r.ReadByte()
		if err != nil {
			return fmt.Errorf("unterminated string: %w", err)
		}
		switch e {
		case '"', '\\', '/':
			run = append(run, e)
		case 'b':
			run = append(run, '\b')
		case 'f':
			run = append(run, '\f')
		case 'n':
			run = append(run, '\n')
		case 'r':
			run = append(run, '\r')
		case 't':
			run = append(run, '\t')
		case 'u':
			r, err := j.hex4()
			if err != nil {
				return err
			}
			if utf16.IsSurrogate(r) {
				if a, _ := j.r.ReadByte(); a == '\\' {
					if b, _ := j.r.ReadByte(); b == 'u' {
						r2, err := j.hex4()
						if err != nil {
							return err
						}
						r = utf16.DecodeRune(r, r2)
					}
				}
			}
			run = utf8.AppendRune(run, r)
		default:
			return fmt.Errorf("bad escape \\%c", e)
		}
	}
}

func (j *jsonStream) hex4() (rune, error) {
	var h [4]byte
	if _, err := io.ReadFull(j.r, h[:]); err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(string(h[:]), 16, 16)
	if err != nil {
		return 0, fmt.Errorf("bad \\u escape")
	}
	return rune(n), nil
}

// skip reads the rest of a value whose first byte c was read, keeping at
// most 1 MiB of it, and checks it is JSON.
func (j *jsonStream) skip(c byte) error {
	var raw bytes.Buffer
	w := &limited{w: &raw, n: 1 << 20}
	raw.WriteByte(c)
	switch c {
	case '"':
		if err := j.str(w); err != nil {
			return err
		}
		return nil
	case '{', '[':
		depth := 1
		for depth > 0 {
			b, err := j.r.ReadByte()
			if err != nil {
				return fmt.Errorf("unterminated value: %w", err)
			}
			switch b {
			case '"':
				if err := j.str(io.Discard); err != nil {
					return err
				}
				_, _ = w.Write([]byte(`""`))
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			_, _ = w.Write([]byte{b})
		}
	default:
		for {
			b, err := j.r.ReadByte()
			if err != nil {
				return fmt.Errorf("unterminated value: %w", err)
			}
			if b == ',' || b == '}' || b == ']' || b == ' ' || b == '\t' || b == '\n' || b == '\r' {
				_ = j.r.UnreadByte()
				break
			}
			_, _ = w.Write([]byte{b})
		}
	}
	if !json.Valid(raw.Bytes()) {
		return fmt.Errorf("bad value %.40q", raw.String())
	}
	return nil
}

// limited writes to w until n bytes were written, then fails.
type limited struct {
	w io.Writer
	n int64
}

func (l *limited) Write(p []byte) (int, error) {
	if int64(len(p)) > l.n {
		return 0, errors.New("value too long")
	}
	l.n -= int64(len(p))
	return l.w.Write(p)
}

// base64Writer decodes standard base64 written to it into w, four
// characters at a time; line breaks are ignored, as GitHub does.
type base64Writer struct {
	w    io.Writer
	in   []byte
	out  []byte
	done bool // padding was seen: nothing may follow
}

func (b *base64Writer) Write(p []byte) (int, error) {
	for _, c := range p {
		if c == '\n' || c == '\r' {
			continue
		}
		b.in = append(b.in, c)
	}
	n := len(b.in) / 4 * 4
	if n == 0 {
		return len(p), nil
	}
	if b.done {
		return 0, errBadBase64
	}
	if cap(b.out) < n/4*3 {
		b.out = make([]byte, n/4*3)
	}
	m, err := base64.StdEncoding.Decode(b.out[:n/4*3], b.in[:n])
	if err != nil {
		return 0, errBadBase64
	}
	b.done = b.in[n-1] == '='
	if _, err := b.w.Write(b.out[:m]); err != nil {
		return 0, err
	}
	b.in = append(b.in[:0], b.in[n:]...)
	return len(p), nil
}

// Close says the content ended: a quantum left over is not base64.
func (b *base64Writer) Close() error {
	if len(b.in) != 0 {
		return errBadBase64
	}
	return nil
}

// spool keeps a file's bytes as they are decoded: in memory up to keep
// (all when keep is 0), past it in a temporary file that is read back
// for the SHA and removed, keeping only SHA and size, so that the fake
// does not weigh on a benchmark of a long write-up.
type spool struct {
	keep int64
	mem  bytes.Buffer
	file *os.File
	n    int64
}

func (s *spool) Write(p []byte) (int, error) {
	s.n += int64(len(p))
	if s.file == nil && (s.keep <= 0 || s.n <= s.keep) {
		return s.mem.Write(p)
	}
	if s.file == nil {
		f, err := os.CreateTemp("", "githubtest-*")
		if err != nil {
			return 0, err
		}
		s.file = f
		if _, err := f.Write(s.mem.Bytes()); err != nil {
			return 0, err
		}
		s.mem = bytes.Buffer{}
	}
	return s.file.Write(p)
}

// finish returns the bytes' git blob SHA and, when they were kept, the
// bytes.
func (s *spool) finish() (sha string, content []byte, kept bool, err error) {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", s.n)
	if s.file == nil {
		h.Write(s.mem.Bytes())
		return hex.EncodeToString(h.Sum(nil)), s.mem.Bytes(), true, nil
	}
	defer os.Remove(s.file.Name())
	defer s.file.Close()
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return "", nil, false, err
	}
	if _, err := io.Copy(h, s.file); err != nil {
		return "", nil, false, err
	}
	return hex.EncodeToString(h.Sum(nil)), nil, false, nil
}

// discard ends a spool whose body was refused.
func (s *spool) discard() {
	if s.file != nil {
		s.file.Close()
		os.Remove(s.file.Name())
	}
}
