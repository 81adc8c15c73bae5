package cqltest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"

	"github.com/datastax/go-cassandra-native-protocol/frame"
	"github.com/datastax/go-cassandra-native-protocol/message"
	"github.com/datastax/go-cassandra-native-protocol/primitive"
	"github.com/datastax/go-cassandra-native-protocol/segment"
)

// maxFrameBody is Cassandra's default native_transport_max_frame_size (16 MiB).
const maxFrameBody = 16 << 20

type phase int

const (
	phaseNew   phase = iota // before STARTUP
	phaseAuth               // AUTHENTICATE sent, waiting for a valid AUTH_RESPONSE
	phaseReady              // READY or AUTH_SUCCESS sent
)

// conn serves one client connection. Requests are answered one at a time, in order, by the
// connection's single goroutine, so its state needs no lock.
type conn struct {
	srv      *Server
	nc       net.Conn
	r        *bufio.Reader
	w        *bufio.Writer
	frames   frame.RawCodec
	segments segment.Codec
	// modern is set once a v5 connection has sent READY or AUTHENTICATE: from then on frames
	// travel inside checksummed segments (the protocol v5 "modern framing layout").
	modern   bool
	partial  []byte // a frame spread over several segments, accumulated
	phase    phase
	keyspace string
}

func newConn(s *Server, nc net.Conn) *conn {
	return &conn{
		srv:      s,
		nc:       nc,
		r:        bufio.NewReader(nc),
		w:        bufio.NewWriter(nc),
		frames:   frame.NewRawCodec(),
		segments: segment.NewCodec(),
	}
}

func (c *conn) serve() {
	for {
		reqs, err := c.read()
		var verr *frame.ProtocolVersionErr
		if errors.As(err, &verr) {
			// A version the codec cannot even frame (1, 6, ...): say so in one we speak, then hang
			// up, as the rest of the client's bytes cannot be parsed.
			_ = c.write(frame.NewFrame(c.srv.maxVersion(), 0, c.srv.versionError(verr.Version)))
			_ = c.w.Flush()
			return
		}
		if err != nil {
			return // EOF, closed by Server.Close, TLS handshake failure or garbage
		}
		for _, raw := range reqs {
			if err := c.write(c.answer(raw)); err != nil {
				return
			}
		}
		if err := c.w.Flush(); err != nil {
			return
		}
	}
}

// read returns the next request frames: one legacy frame, or the frames of one segment.
func (c *conn) read() ([]*frame.RawFrame, error) {
	if !c.modern {
		h, err := c.frames.DecodeHeader(c.r)
		if err != nil {
			return nil, err
		}
		if h.BodyLength > maxFrameBody {
			// Reading on would allocate whatever a broken or hostile client claims.
			return nil, fmt.Errorf("frame body of %d bytes exceeds %d", h.BodyLength, maxFrameBody)
		}
		body, err := c.frames.DecodeRawBody(h, c.r)
		if err != nil {
			return nil, err
		}
		return []*frame.RawFrame{{Header: h, Body: body}}, nil
	}
	for {
		seg, err := c.segments.DecodeSegment(c.r)
		if err != nil {
			return nil, err
		}
		data := seg.Payload.UncompressedData
		if !seg.Header.IsSelfContained {
			c.partial = append(c.partial, data...)
			if len(c.partial) < primitive.FrameHeaderLengthV3AndHigher {
				continue
			}
			h, err := c.frames.DecodeHeader(bytes.NewReader(c.partial))
			if err != nil {
				return nil, err
			}
			if h.BodyLength > maxFrameBody {
				return nil, fmt.Errorf("frame body of %d bytes exceeds %d", h.BodyLength, maxFrameBody)
			}
			if len(c.partial) < primitive.FrameHeaderLengthV3AndHigher+int(h.BodyLength) {
				continue
			}
			data, c.partial = c.partial, nil
		}
		var out []*frame.RawFrame
		src := bytes.NewReader(data)
		for src.Len() > 0 {
			raw, err := c.frames.DecodeRawFrame(src)
			if err != nil {
				return nil, err
			}
			out = append(out, raw)
		}
		return out, nil
	}
}

// answer decodes one request and computes its response; every request gets one, because a
// driver waits out its timeout for a request left unanswered.
func (c *conn) answer(raw *frame.RawFrame) *frame.Frame {
	h := raw.Header
	if !c.srv.versions[h.Version] {
		// Drivers that negotiate retry with a lower version on this error.
		return frame.NewFrame(h.Version, h.StreamId, c.srv.versionError(h.Version))
	}
	req, err := c.frames.ConvertFromRawFrame(raw)
	if err != nil {
		return frame.NewFrame(h.Version, h.StreamId, &message.ProtocolError{
			ErrorMessage: fmt.Sprintf("Invalid message: %v", err)})
	}
	return frame.NewFrame(h.Version, h.StreamId, c.srv.handle(c, req))
}

func (c *conn) write(f *frame.Frame) error {
	if !c.modern {
		if err := c.frames.EncodeFrame(f, c.w); err != nil {
			return err
		}
		c.maybeSwitchToModern(f)
		return nil
	}
	var buf bytes.Buffer
	if err := c.frames.EncodeFrame(f, &buf); err != nil {
		return err
	}
	data := buf.Bytes()
	if len(data) <= segment.MaxPayloadLength {
		return c.segments.EncodeSegment(&segment.Segment{
			Header:  &segment.Header{IsSelfContained: true},
			Payload: &segment.Payload{UncompressedData: data},
		}, c.w)
	}
	for len(data) > 0 {
		n := min(len(data), segment.MaxPayloadLength)
		if err := c.segments.EncodeSegment(&segment.Segment{
			Header:  &segment.Header{IsSelfContained: false},
			Payload: &segment.Payload{UncompressedData: data[:n]},
		}, c.w); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// maybeSwitchToModern applies the v5 rule: the frame that ends the handshake's unauthenticated
// part (READY, or AUTHENTICATE) is the last legacy frame in each direction.
func (c *conn) maybeSwitchToModern(f *frame.Frame) {
	if !f.Header.Version.SupportsModernFramingLayout() {
		return
	}
	switch f.Body.Message.(type) {
	case *message.Ready, *message.Authenticate:
		c.modern = true
	}
}
