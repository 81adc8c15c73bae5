package factory_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/internal/factorytest"
	"github.com/connfactory/connfactory/schema"
)

// BenchmarkResumedHandshake compares one resumed TLS handshake (TCP connect, resumed
// handshake, one byte read, close) through the connector's ClientTLS.Handshake (its
// session cache, and its VerifyConnection reusing the chain verdict while checking
// expiry, name and revocation) against plain Go: a tls.Config with RootCAs, ServerName
// and tls.NewLRUClientSessionCache, whose resumption verifies nothing again. Both use a
// Go TLS 1.3 server with an ECDSA P-256 certificate issued by an intermediate.
// Interleaved; ours = connector.
//
//	go test ./factory -run '^$' -bench BenchmarkResumedHandshake -benchtime 3000x
func BenchmarkResumedHandshake(b *testing.B) {
	set := factorytest.NewPKI(b)
	h := &factorytest.Handshakes{}
	addr := startByteServer(b, h.ServerConfig(set.ServerTLSConfig()))
	hostport := net.JoinHostPort("localhost", portOf(b, addr))
	ct, _ := compile(b, &schema.TLS{CA: caOf(set.Root)})
	plain := &tls.Config{RootCAs: set.Root.Pool(), ServerName: "localhost", MinVersion: tls.VersionTLS12,
		ClientSessionCache: tls.NewLRUClientSessionCache(64)}
	var d net.Dialer
	ctx := context.Background()
	one := func(handshake func(net.Conn) (*tls.Conn, error)) time.Duration {
		begin := time.Now()
		raw, err := d.DialContext(ctx, "tcp", addr)
		require.NoError(b, err)
		conn, err := handshake(raw)
		require.NoError(b, err)
		_, err = io.ReadFull(conn, make([]byte, 1)) // also reads the session ticket
		require.NoError(b, err)
		took := time.Since(begin)
		require.True(b, conn.ConnectionState().DidResume || !resumeExpected)
		_ = conn.Close()
		return took
	}
	ours := func() time.Duration {
		return one(func(raw net.Conn) (*tls.Conn, error) { return ct.Handshake(ctx, raw, hostport) })
	}
	theirs := func() time.Duration {
		return one(func(raw net.Conn) (*tls.Conn, error) {
			c := tls.Client(raw, plain)
			return c, c.HandshakeContext(ctx)
		})
	}
	resumeExpected = false
	for range 10 {
		ours()
		theirs()
	}
	resumeExpected = true
	factorytest.Interleaved(b, ours, theirs)
	f, r := h.Counts()
	b.ReportMetric(float64(f), "full-handshakes")
	b.ReportMetric(float64(r), "resumed-handshakes")
}

// resumeExpected makes BenchmarkResumedHandshake assert every timed handshake resumed.
var resumeExpected bool

// startByteServer is a TLS server that completes each handshake, writes one byte and
// closes once the client has.
func startByteServer(b testing.TB, cfg *tls.Config) string {
	b.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	require.NoError(b, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := c.Write([]byte{1}); err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, c)
			}()
		}
	}()
	b.Cleanup(func() { _ = ln.Close(); <-done })
	return ln.Addr().String()
}
