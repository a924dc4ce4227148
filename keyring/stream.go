package keyring

import (
	"bufio"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Streams are encrypted in segments of SegmentSize plaintext bytes, each
// sealed on its own (the STREAM construction): a 12-byte nonce made of a
// random 7-byte prefix per stream, the segment's 4-byte counter and a byte
// that is 1 on the last segment only. Reordered, dropped, repeated or
// truncated segments fail to open. A stream starts with "YKS1" and the
// prefix; the caller's additional data binds every segment to its context.
const SegmentSize = 64 << 10

var streamMagic = []byte("YKS1")

const (
	prefixSize = 7
	headerSize = 4 + prefixSize
)

// ErrStream is returned by a stream reader when the ciphertext was altered,
// truncated or does not belong to the key or context.
var ErrStream = errors.New("keyring: the encrypted stream is altered, truncated or under another key")

type writer struct {
	w      io.Writer
	aead   cipher.AEAD
	aad    []byte
	prefix [prefixSize]byte
	n      uint32
	buf    []byte
	out    []byte
	closed bool
	err    error
}

// NewWriter returns a writer that encrypts what is written to it under dk
// and writes the ciphertext to w. Close seals the last segment; a stream
// not closed reads as truncated.
func NewWriter(w io.Writer, dk DataKey, aad []byte) (io.WriteCloser, error) {
	aead, err := dk.suite.AEAD(dk.key)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	if aead.NonceSize() != 12 {
		return nil, fmt.Errorf("keyring: nonce size %d, want 12", aead.NonceSize())
	}
	sw := &writer{w: w, aead: aead, aad: append([]byte(nil), aad...), buf: make([]byte, 0, SegmentSize)}
	if _, err := rand.Read(sw.prefix[:]); err != nil {
		return nil, fmt.Errorf("keyring: entropy: %w", err)
	}
	if _, err := w.Write(append(append([]byte(nil), streamMagic...), sw.prefix[:]...)); err != nil {
		return nil, err
	}
	return sw, nil
}

func nonce(prefix [prefixSize]byte, n uint32, last bool) []byte {
	var b [12]byte
	copy(b[:], prefix[:])
	binary.BigEndian.PutUint32(b[prefixSize:], n)
	if last {
		b[11] = 1
	}
	return b[:]
}

func (s *writer) seal(last bool) error {
	if s.n == ^uint32(0) {
		return errors.New("keyring: stream too long")
	}
	s.out = s.aead.Seal(s.out[:0], nonce(s.prefix, s.n, last), s.buf, s.aad)
	s.n++
	s.buf = s.buf[:0]
	_, err := s.w.Write(s.out)
	return err
}

func (s *writer) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.closed {
		return 0, errors.New("keyring: write after close")
	}
	written := 0
	for len(p) > 0 {
		// A full segment is sealed only once more data follows: the
		// last segment must be the one Close seals.
		if len(s.buf) == SegmentSize {
			if s.err = s.seal(false); s.err != nil {
				return written, s.err
			}
		}
		n := copy(s.buf[len(s.buf):SegmentSize], p)
		s.buf = s.buf[:len(s.buf)+n]
		p = p[n:]
		written += n
	}
	return written, nil
}

func (s *writer) Close() error {
	if s.closed {
		return s.err
	}
	s.closed = true
	if s.err != nil {
		return s.err
	}
	s.err = s.seal(true)
	return s.err
}

type reader struct {
	r      *bufio.Reader
	aead   cipher.AEAD
	aad    []byte
	prefix [prefixSize]byte
	n      uint32
	in     []byte
	plain  []byte
	done   bool
	err    error
}

// NewReader returns a reader of the plaintext of the stream r, which
// NewWriter wrote under dk with the same aad. Read returns ErrStream when
// the stream does not open.
func NewReader(r io.Reader, dk DataKey, aad []byte) (io.Reader, error) {
	aead, err := dk.suite.AEAD(dk.key)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	br := bufio.NewReaderSize(r, SegmentSize+aead.Overhead()+1)
	var head [headerSize]byte
	if _, err := io.ReadFull(br, head[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, ErrStream
		}
		return nil, err
	}
	if string(head[:4]) != string(streamMagic) {
		return nil, ErrStream
	}
	sr := &reader{r: br, aead: aead, aad: append([]byte(nil), aad...), in: make([]byte, SegmentSize+aead.Overhead())}
	copy(sr.prefix[:], head[4:])
	return sr, nil
}

func (s *reader) Read(p []byte) (int, error) {
	for len(s.plain) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		if s.done {
			return 0, io.EOF
		}
		s.err = s.next()
	}
	n := copy(p, s.plain)
	s.plain = s.plain[n:]
	return n, nil
}

// next opens the next segment: a full-length one followed by more bytes is
// a middle segment; anything else must open as the last.
func (s *reader) next() error {
	n, err := io.ReadFull(s.r, s.in)
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		// Shorter than a full segment: the last one.
	case err != nil:
		return err
	}
	last := n < len(s.in)
	if !last {
		if _, err := s.r.Peek(1); errors.Is(err, io.EOF) {
			last = true
		} else if err != nil {
			return err
		}
	}
	plain, oerr := s.aead.Open(s.in[:0], nonce(s.prefix, s.n, last), s.in[:n], s.aad)
	if oerr != nil {
		return ErrStream
	}
	s.n++
	s.plain = plain
	s.done = last
	return nil
}
