package riaktest_test

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/internal/riakpb"
)

// TestAuthReplyRaw: the server answers RpbAuthReq with the given bytes, verbatim, and
// closes the connection: a peer that is not Riak after TLS.
func TestAuthReplyRaw(t *testing.T) {
	opts := secureOptions()
	opts.AuthReplyRaw = []byte("HTTP/1.1 400 Bad Request\r\n\r\n")
	srv := start(t, opts)
	c := dialRaw(t, srv.Addr())
	require.NoError(t, c.startTLS(clientTLS()))
	c.auth("pwuser", "s3cret")
	require.NoError(t, c.conn.SetReadDeadline(time.Now().Add(ioTimeout)))
	got, err := io.ReadAll(c.conn)
	require.NoError(t, err)
	require.Equal(t, opts.AuthReplyRaw, got)
	require.Empty(t, srv.AuthEvents(), "the request was not judged")
}

// TestAuthFailureMessage: a refused RpbAuthReq carries the configured text, whatever it
// holds.
func TestAuthFailureMessage(t *testing.T) {
	opts := secureOptions()
	opts.AuthFailureMessage = "Authentication failed\x1b[2J\nOK"
	srv := start(t, opts)
	c := dialRaw(t, srv.Addr())
	require.NoError(t, c.startTLS(clientTLS()))
	c.auth("pwuser", "wrong")
	c.expectError(opts.AuthFailureMessage)
	// Accepted credentials are still accepted.
	c.auth("pwuser", "s3cret")
	c.expect(riakpb.AuthResp, nil)
}
