package riak

import (
	"fmt"
	"io"

	rpb "github.com/basho/riak-go-client/rpb/riak"
	"github.com/golang/protobuf/proto"

	"github.com/connfactory/connfactory/internal/riakpb"
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

// writeRiakFrame sends one message, m absent for bodiless requests.
func writeRiakFrame(w io.Writer, code byte, m proto.Message) error {
	var body []byte
	if m != nil {
		var err error
		if body, err = proto.Marshal(m); err != nil {
			return fmt.Errorf("encode message %d: %w", code, err)
		}
	}
	return riakpb.WriteFrame(w, code, body)
}

// riakRoundTrip sends req with code and reads the answer, which must carry want. An
// RpbErrorResp comes back as a *riakServerError; any other code is riakpb.ErrFrame.
// When resp is non-nil the answer's body is decoded into it.
func riakRoundTrip(rw io.ReadWriter, code byte, req proto.Message, want byte, resp proto.Message) error {
	if err := writeRiakFrame(rw, code, req); err != nil {
		return err
	}
	got, body, err := riakpb.ReadFrame(rw, riakMaxFrame)
	if err != nil {
		return err
	}
	switch got {
	case want:
		if resp != nil {
			if err := proto.Unmarshal(body, resp); err != nil {
				return fmt.Errorf("%w: decode message %d: %v", riakpb.ErrFrame, got, err)
			}
		}
		return nil
	case riakpb.ErrorResp:
		var e rpb.RpbErrorResp
		if err := proto.Unmarshal(body, &e); err != nil {
			return fmt.Errorf("%w: decode RpbErrorResp: %v", riakpb.ErrFrame, err)
		}
		return &riakServerError{Code: e.GetErrcode(), Message: string(e.GetErrmsg())}
	}
	return fmt.Errorf("%w: expected message code %d, got %d", riakpb.ErrFrame, want, got)
}
