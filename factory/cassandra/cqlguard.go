package cassandra

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/connfactory/connfactory/factory"
)

// Bounds on the CQL frames a server may announce. gocql allocates a frame's whole body
// as soon as it has read the 9-byte header that announces its length: up to its own
// maxFrameSize (256 MiB, a constant that cannot be lowered) for protocol 3 and 4, and
// with no bound at all for a protocol 5 frame spread over several segments (an int32: 2
// GiB). A hostile or broken peer would make one check allocate that much. The factory
// owns every connection gocql reads from (its HostDialer), so it reads the frame headers
// as they pass and fails the connection before gocql sees a header announcing more.
const (
	// cqlMaxHandshakeFrame bounds a frame before the connection is ready (SUPPORTED,
	// READY, AUTHENTICATE, AUTH_CHALLENGE, AUTH_SUCCESS, ERROR): all are a few hundred
	// bytes from a real server.
	cqlMaxHandshakeFrame = 1 << 20
	// cqlMaxFrame bounds any later frame: gocql's own limit for protocol 3 and 4, applied
	// to protocol 5 too.
	cqlMaxFrame = 256 << 20
)

// errCQLFrame is the cause of a connection failed by the frame bound.
var errCQLFrame = errors.New("frame larger than the factory accepts")

// CQL opcodes the guard follows.
const (
	cqlOpReady        = 0x02
	cqlOpAuthenticate = 0x03
	cqlOpAuthSuccess  = 0x10
	cqlHeaderLen      = 9
	cqlSegmentHeader  = 6 // 3 bytes of length and flags, 3 of CRC24
	cqlSegmentCRC     = 4 // CRC32 after the payload
	cqlSegmentMaxLen  = 1<<17 - 1
	cqlSelfContained  = 1 << 17
)

// cqlGuard reads the frame headers of a CQL connection as gocql reads its bytes, and
// fails the connection on a header announcing more than the bounds. It follows protocol
// 5's switch to segments after READY or AUTHENTICATE; segments is false when gocql may
// have been given a compressor (a ClusterConfig handed to the caller), whose segment
// format it does not parse: frames inside segments are then left to gocql.
type cqlGuard struct {
	net.Conn
	host     string
	segments bool
	fail     func(error) // records the failure for the Dial or Check call; may be nil

	mu  sync.Mutex // gocql reads from one goroutine; the lock only orders err for Close
	err error

	// legacy framing
	hdr     [cqlHeaderLen]byte
	hn      int
	body    int64
	op      byte
	version byte
	ready   bool // past the handshake: cqlMaxFrame applies
	seg     bool // protocol 5 segments from here on
	off     bool // no more checks (segments with a possible compressor)

	// segment framing
	shdr      [cqlSegmentHeader]byte
	shn       int
	sleft     int  // payload + CRC bytes left in the current segment
	pleft     int  // payload bytes left in the current segment
	plen      int  // payload length of the current segment
	collect   bool // the current segment starts a multi-segment frame: read its header
	fhdr      [cqlHeaderLen]byte
	fhn       int
	frameLeft int64 // bytes of a multi-segment frame still to come in later segments
}

func newCQLGuard(conn net.Conn, host string, segments bool, fail func(error)) *cqlGuard {
	return &cqlGuard{Conn: conn, host: host, segments: segments, fail: fail}
}

// Read passes bytes through, and fails the connection at a header over the bounds
// before gocql sees it.
func (g *cqlGuard) Read(p []byte) (int, error) {
	g.mu.Lock()
	err := g.err
	g.mu.Unlock()
	if err != nil {
		return 0, err
	}
	n, rerr := g.Conn.Read(p)
	if n > 0 && !g.off {
		if err := g.scan(p[:n]); err != nil {
			e := &factory.Error{Kind: factory.KindProtocol, Host: g.host, Err: err}
			g.mu.Lock()
			g.err = e
			g.mu.Unlock()
			_ = g.Conn.Close()
			if g.fail != nil {
				g.fail(e)
			}
			return 0, e
		}
	}
	return n, rerr
}

func (g *cqlGuard) scan(b []byte) error {
	for len(b) > 0 && !g.off {
		if g.seg {
			k, err := g.scanSegment(b)
			if err != nil {
				return err
			}
			b = b[k:]
			continue
		}
		if g.body > 0 {
			k := int64(len(b))
			if k > g.body {
				k = g.body
			}
			g.body -= k
			b = b[k:]
			if g.body == 0 {
				g.frameDone()
			}
			continue
		}
		k := copy(g.hdr[g.hn:], b)
		g.hn += k
		b = b[k:]
		if g.hn < cqlHeaderLen {
			return nil
		}
		g.hn = 0
		g.version, g.op = g.hdr[0]&0x7f, g.hdr[4]
		length := int64(int32(binary.BigEndian.Uint32(g.hdr[5:])))
		if err := g.check(length); err != nil {
			return err
		}
		g.body = length
		if length == 0 {
			g.frameDone()
		}
	}
	return nil
}

// check judges one announced frame length.
func (g *cqlGuard) check(length int64) error {
	limit, when := int64(cqlMaxFrame), ""
	if !g.ready {
		limit, when = cqlMaxHandshakeFrame, " during the CQL handshake"
	}
	if length < 0 || length > limit {
		return fmt.Errorf("the server announced a CQL frame of %d bytes%s (at most %d accepted): it is not a Cassandra native protocol port, or it is hostile: %w",
			length, when, limit, errCQLFrame)
	}
	return nil
}

// frameDone follows the handshake: READY or AUTH_SUCCESS end it; under protocol 5,
// READY and AUTHENTICATE switch the connection to segments.
func (g *cqlGuard) frameDone() {
	switch g.op {
	case cqlOpReady, cqlOpAuthSuccess:
		g.ready = true
	}
	if g.version >= 5 && (g.op == cqlOpReady || g.op == cqlOpAuthenticate) {
		// Frames inside segments are only looked at when they span several; the
		// handshake bound no longer tells them apart: cqlMaxFrame applies.
		g.seg, g.ready = true, true
		g.off = !g.segments
	}
}

// scanSegment reads protocol 5 (uncompressed) segments, checking the header of each
// frame that spans several segments. It returns how many bytes of b it consumed.
func (g *cqlGuard) scanSegment(b []byte) (int, error) {
	if g.sleft == 0 {
		k := copy(g.shdr[g.shn:], b)
		g.shn += k
		if g.shn < cqlSegmentHeader {
			return k, nil
		}
		g.shn = 0
		h := uint32(g.shdr[0]) | uint32(g.shdr[1])<<8 | uint32(g.shdr[2])<<16
		g.plen = int(h & cqlSegmentMaxLen)
		g.pleft, g.sleft = g.plen, g.plen+cqlSegmentCRC
		g.collect, g.fhn = false, 0
		switch self := h&cqlSelfContained != 0; {
		case self:
			// Whole frames of at most 128 KiB: bounded by the segment.
		case g.frameLeft > 0:
			g.frameLeft -= int64(g.plen)
			if g.frameLeft < 0 {
				g.frameLeft = 0
			}
		default:
			g.collect = true
		}
		return k, nil
	}
	k := len(b)
	if k > g.sleft {
		k = g.sleft
	}
	payload := k
	if payload > g.pleft {
		payload = g.pleft
	}
	if g.collect && payload > 0 {
		c := copy(g.fhdr[g.fhn:], b[:payload])
		g.fhn += c
		if g.fhn == cqlHeaderLen {
			g.collect = false
			length := int64(int32(binary.BigEndian.Uint32(g.fhdr[5:])))
			if err := g.check(length); err != nil {
				return 0, err
			}
			g.frameLeft = max(length+cqlHeaderLen-int64(g.plen), 0)
		}
	}
	g.pleft -= payload
	g.sleft -= k
	return k, nil
}
