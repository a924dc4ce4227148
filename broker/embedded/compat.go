package embedded

import (
	"encoding/binary"
	"net"
	"sync"
)

// Kafka API keys the compatibility shim looks at.
const (
	apiVersionsKey   = 18
	saslHandshakeKey = 17
)

// handshakeCompatListener makes the broker's ApiVersions answers list
// SaslHandshake from version 0, as Apache Kafka 4 does. kfake lists it
// from version 1, and librdkafka before 2.6 (kcat on Debian 12) refuses to
// start SASL unless the range includes 0; it then sends version 1, which
// kfake serves. The answers are patched in place (same length); nothing
// else on the connection is touched.
type handshakeCompatListener struct{ net.Listener }

func (l handshakeCompatListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &compatConn{Conn: c, apiVersions: map[int32]int16{}}, nil
}

// compatConn follows the request frames the client sends to learn the
// correlation ids (and versions) of its ApiVersions requests, and patches
// the matching response frames the broker writes.
type compatConn struct {
	net.Conn

	mu          sync.Mutex
	apiVersions map[int32]int16 // correlation id -> request version
	in          frameScanner    // client -> broker
	out         []byte          // broker -> client bytes of an unfinished frame
}

func (c *compatConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		c.in.feed(p[:n], func(head []byte) {
			// Request header: api key, api version, correlation id.
			if len(head) >= 8 && int16(binary.BigEndian.Uint16(head)) == apiVersionsKey {
				c.apiVersions[int32(binary.BigEndian.Uint32(head[4:]))] = int16(binary.BigEndian.Uint16(head[2:]))
			}
		})
		c.mu.Unlock()
	}
	return n, err
}

func (c *compatConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.out = append(c.out, p...)
	var ready []byte
	for len(c.out) >= 4 {
		size := int(binary.BigEndian.Uint32(c.out))
		if len(c.out) < 4+size {
			break
		}
		frame := c.out[4 : 4+size]
		if len(frame) >= 4 {
			corr := int32(binary.BigEndian.Uint32(frame))
			if v, ok := c.apiVersions[corr]; ok {
				delete(c.apiVersions, corr)
				patchHandshakeMin(frame[4:], v)
			}
		}
		ready = append(ready, c.out[:4+size]...)
		c.out = c.out[4+size:]
	}
	if len(c.out) == 0 {
		c.out = nil
	}
	c.mu.Unlock()
	if len(ready) > 0 {
		if _, err := c.Conn.Write(ready); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// patchHandshakeMin lowers SaslHandshake's minimum version from 1 to 0 in
// an ApiVersions response body of the given version (its header is always
// the correlation id alone). A body it cannot follow is left as it is.
func patchHandshakeMin(body []byte, version int16) {
	if len(body) < 2 {
		return
	}
	b := body[2:] // error code
	var n int
	if version >= 3 {
		// Compact array: unsigned varint length + 1; each entry is key,
		// min, max and an empty tagged-field section (one zero byte).
		l, k := binary.Uvarint(b)
		if k <= 0 || l == 0 {
			return
		}
		n, b = int(l-1), b[k:]
		for i := 0; i < n && len(b) >= 7; i++ {
			if b[6] != 0 {
				return
			}
			lowerMin(b)
			b = b[7:]
		}
		return
	}
	if len(b) < 4 {
		return
	}
	n, b = int(int32(binary.BigEndian.Uint32(b))), b[4:]
	for i := 0; i < n && len(b) >= 6; i++ {
		lowerMin(b)
		b = b[6:]
	}
}

func lowerMin(entry []byte) {
	if int16(binary.BigEndian.Uint16(entry)) == saslHandshakeKey && binary.BigEndian.Uint16(entry[2:]) == 1 {
		binary.BigEndian.PutUint16(entry[2:], 0)
	}
}

// frameScanner follows size-prefixed Kafka frames in a byte stream and
// hands the first 8 bytes of each frame (a request's key, version and
// correlation id) to a callback; shorter frames are skipped.
type frameScanner struct {
	sizeBuf  [4]byte
	sizeHave int
	left     int // bytes of the current frame still to come
	head     [8]byte
	headHave int
}

func (s *frameScanner) feed(p []byte, onHead func(head []byte)) {
	for len(p) > 0 {
		if s.left == 0 {
			k := copy(s.sizeBuf[s.sizeHave:], p)
			s.sizeHave += k
			p = p[k:]
			if s.sizeHave < 4 {
				return
			}
			s.sizeHave = 0
			s.left = int(int32(binary.BigEndian.Uint32(s.sizeBuf[:])))
			s.headHave = 0
			if s.left <= 0 {
				s.left = 0
			}
			continue
		}
		k := min(len(p), s.left)
		if s.headHave < len(s.head) {
			s.headHave += copy(s.head[s.headHave:], p[:k])
			if s.headHave == len(s.head) {
				onHead(s.head[:])
			}
		}
		s.left -= k
		p = p[k:]
	}
}
