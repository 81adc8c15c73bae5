package riaktest_test

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/golang/protobuf/proto"
	"github.com/stretchr/testify/require"

	rpb "github.com/basho/riak-go-client/rpb/riak"

	"github.com/connfactory/connfactory/internal/riakpb"
)

// ioTimeout bounds every raw read and write so a broken server fails the test
// instead of hanging it.
const ioTimeout = 10 * time.Second

// rawClient speaks Riak PB framing directly, so tests can drive the failure
// paths riak-go-client cannot survive.
type rawClient struct {
	t    *testing.T
	conn net.Conn
}

func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return &rawClient{t: t, conn: c}
}

func (c *rawClient) sendRaw(code byte, body []byte) {
	c.t.Helper()
	require.NoError(c.t, c.conn.SetWriteDeadline(time.Now().Add(ioTimeout)))
	require.NoError(c.t, riakpb.WriteFrame(c.conn, code, body))
}

func (c *rawClient) send(code byte, m proto.Message) {
	c.t.Helper()
	var body []byte
	if m != nil {
		var err error
		body, err = proto.Marshal(m)
		require.NoError(c.t, err)
	}
	c.sendRaw(code, body)
}

// recvErr reads one frame with the given deadline and returns the read error.
func (c *rawClient) recvErr(d time.Duration) (byte, []byte, error) {
	if err := c.conn.SetReadDeadline(time.Now().Add(d)); err != nil {
		return 0, nil, err
	}
	return riakpb.ReadFrame(c.conn, 64<<20)
}

func (c *rawClient) recv() (byte, []byte) {
	c.t.Helper()
	code, body, err := c.recvErr(ioTimeout)
	require.NoError(c.t, err)
	return code, body
}

// expect reads one frame, requires its code and decodes its body into m.
func (c *rawClient) expect(code byte, m proto.Message) {
	c.t.Helper()
	got, body := c.recv()
	if got == riakpb.ErrorResp && code != riakpb.ErrorResp {
		var e rpb.RpbErrorResp
		require.NoError(c.t, proto.Unmarshal(body, &e))
		require.Failf(c.t, "unexpected RpbErrorResp", "want code %d, got error %q", code, e.GetErrmsg())
	}
	require.Equal(c.t, code, got)
	if m != nil {
		require.NoError(c.t, proto.Unmarshal(body, m))
	} else {
		require.Empty(c.t, body)
	}
}

// expectError reads one frame and requires an RpbErrorResp with exactly msg.
func (c *rawClient) expectError(msg string) {
	c.t.Helper()
	var e rpb.RpbErrorResp
	c.expect(riakpb.ErrorResp, &e)
	require.Equal(c.t, msg, string(e.GetErrmsg()))
	require.Equal(c.t, uint32(0), e.GetErrcode())
}

// expectClosed requires the server to have closed the connection.
func (c *rawClient) expectClosed() {
	c.t.Helper()
	_, _, err := c.recvErr(ioTimeout)
	require.ErrorIs(c.t, err, io.EOF)
}

// startTLS sends RpbStartTls, requires the bare acknowledgement and runs the
// client handshake, returning its error.
func (c *rawClient) startTLS(cfg *tls.Config) error {
	c.t.Helper()
	c.send(riakpb.StartTLS, nil)
	c.expect(riakpb.StartTLS, nil)
	tc := tls.Client(c.conn, cfg)
	require.NoError(c.t, tc.SetDeadline(time.Now().Add(ioTimeout)))
	if err := tc.Handshake(); err != nil {
		return err
	}
	c.conn = tc
	return nil
}

func (c *rawClient) auth(user, password string) {
	c.t.Helper()
	c.send(riakpb.AuthReq, &rpb.RpbAuthReq{User: []byte(user), Password: []byte(password)})
}
