// Package riakpb is Riak KV's Protocol Buffers framing, shared by the factory's preflight
// (a client) and testserver/riaktest (a server): message codes, riak_api_pb_server's error
// texts, and reading and writing one frame (a 4-byte big-endian length of code byte +
// body, the code, the protobuf body).
package riakpb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Message codes (riak_pb's riak_pb_messages.csv).
const (
	ErrorResp         byte = 0
	PingReq           byte = 1
	PingResp          byte = 2
	GetServerInfoReq  byte = 7
	GetServerInfoResp byte = 8
	GetReq            byte = 9
	GetResp           byte = 10
	PutReq            byte = 11
	PutResp           byte = 12
	DelReq            byte = 13
	DelResp           byte = 14
	AuthReq           byte = 253
	AuthResp          byte = 254
	StartTLS          byte = 255
)

// RpbErrorResp texts of riak_api_pb_server, verbatim.
const (
	MsgStartTLSFirst     = "Security is enabled, please STARTTLS first"
	MsgAuthenticateFirst = "Security is enabled, please authenticate first"
	MsgAuthFailed        = "Authentication failed"
	MsgSecurityOff       = "Security not enabled; STARTTLS not allowed."
)

// ErrFrame reports bytes that are not Riak PB framing.
var ErrFrame = errors.New("not a Riak Protocol Buffers frame")

// WriteFrame sends one message in a single Write, so that a request is one TCP segment
// on the fast path.
func WriteFrame(w io.Writer, code byte, body []byte) error {
	buf := make([]byte, 5+len(body))
	binary.BigEndian.PutUint32(buf, uint32(1+len(body)))
	buf[4] = code
	copy(buf[5:], body)
	_, err := w.Write(buf)
	return err
}

// ReadFrame reads exactly one frame and nothing more: after an RpbStartTls frame the
// next bytes on the wire belong to the TLS handshake, so no buffered reader may run
// ahead. A frame without a code byte, or longer than max, is ErrFrame (and nothing of
// its claimed length is allocated).
func ReadFrame(r io.Reader, max uint32) (byte, []byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > max {
		return 0, nil, fmt.Errorf("%w: length %d", ErrFrame, n)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, nil, err
	}
	return buf[0], buf[1:], nil
}
