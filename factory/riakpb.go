package factory

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	rpb "github.com/basho/riak-go-client/rpb/riak"
	"github.com/golang/protobuf/proto"
)

// Riak Protocol Buffers message codes (riak_pb's riak_pb_messages.csv) used by the
// preflight. riak-go-client keeps its own copies unexported.
const (
	riakErrorResp         byte = 0
	riakPingReq           byte = 1
	riakPingResp          byte = 2
	riakGetServerInfoReq  byte = 7
	riakGetServerInfoResp byte = 8
	riakAuthReq           byte = 253
	riakAuthResp          byte = 254
	riakStartTLS          byte = 255
)

// Texts of riak_api_pb_server's RpbErrorResp that the preflight turns into kinds.
const (
	riakMsgSecurityOff   = "Security not enabled; STARTTLS not allowed."
	riakMsgStartTLSFirst = "Security is enabled, please STARTTLS first"
	riakMsgAuthFirst     = "Security is enabled, please authenticate first"
	riakMsgAuthFailed    = "Authentication failed"
)

// riakMaxFrame bounds one response the preflight reads. The preflight only expects
// empty acknowledgements, errors and server info: a multi-megabyte frame means the peer
// is not a Riak PB port, and must not make us allocate what it claims.
const riakMaxFrame = 1 << 20

// riakServerError is an RpbErrorResp received from the server.
type riakServerError struct {
	Code    uint32
	Message string
}

func (e *riakServerError) Error() string {
	return fmt.Sprintf("riak server error %d: %s", e.Code, e.Message)
}

// errRiakFrame reports a frame that is not Riak PB framing.
var errRiakFrame = errors.New("not a Riak Protocol Buffers frame")

// writeRiakFrame sends one message: a 4-byte big-endian length of code byte + body, the
// code, the protobuf body (absent for bodiless requests). One Write, so that a request
// is one TCP segment on the fast path.
func writeRiakFrame(w io.Writer, code byte, m proto.Message) error {
	var body []byte
	if m != nil {
		var err error
		if body, err = proto.Marshal(m); err != nil {
			return fmt.Errorf("encode message %d: %w", code, err)
		}
	}
	buf := make([]byte, 5+len(body))
	binary.BigEndian.PutUint32(buf, uint32(1+len(body)))
	buf[4] = code
	copy(buf[5:], body)
	_, err := w.Write(buf)
	return err
}

// readRiakFrame reads exactly one frame and nothing more: after the RpbStartTls
// acknowledgement the next bytes on the wire belong to the TLS handshake, so no
// buffered reader may run ahead.
func readRiakFrame(r io.Reader) (byte, []byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > riakMaxFrame {
		return 0, nil, fmt.Errorf("%w: length %d", errRiakFrame, n)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, nil, err
	}
	return buf[0], buf[1:], nil
}

// riakRoundTrip sends req with code and reads the answer, which must carry want. An
// RpbErrorResp comes back as a *riakServerError; any other code is errRiakFrame.
// When resp is non-nil the answer's body is decoded into it.
func riakRoundTrip(rw io.ReadWriter, code byte, req proto.Message, want byte, resp proto.Message) error {
	if err := writeRiakFrame(rw, code, req); err != nil {
		return err
	}
	got, body, err := readRiakFrame(rw)
	if err != nil {
		return err
	}
	switch got {
	case want:
		if resp != nil {
			if err := proto.Unmarshal(body, resp); err != nil {
				return fmt.Errorf("decode message %d: %w", got, err)
			}
		}
		return nil
	case riakErrorResp:
		var e rpb.RpbErrorResp
		if err := proto.Unmarshal(body, &e); err != nil {
			return fmt.Errorf("decode RpbErrorResp: %w", err)
		}
		return &riakServerError{Code: e.GetErrcode(), Message: string(e.GetErrmsg())}
	}
	return fmt.Errorf("%w: expected message code %d, got %d", errRiakFrame, want, got)
}
