package factory

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// ErrServerSpeaksTLS is matched (errors.Is) by the protocol error of a profile without TLS
// whose server answered a TLS ClientHello with a TLS handshake record: the profile needs a
// [tls] section.
var ErrServerSpeaksTLS = errors.New("the server speaks TLS and the profile has no tls section")

// tlsProbeWait bounds the probe when connect_timeout is longer: a TLS server answers a
// ClientHello at once.
const tlsProbeWait = 2 * time.Second

// plaintextToTLS wraps err (a plaintext profile's protocol failure against host) when the
// server at host answers a TLS ClientHello with a TLS handshake record, so that the report
// says to add [tls] instead of guessing at the backend. Otherwise it returns err.
func plaintextToTLS(ctx context.Context, err error, host string, connectTimeout time.Duration) error {
	if !errors.Is(err, ErrProtocol) || host == "" {
		return err
	}
	wait := min(tlsProbeWait, connectTimeout)
	if wait <= 0 {
		wait = tlsProbeWait
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if !speaksTLS(ctx, host) {
		return err
	}
	return &Error{Kind: KindProtocol, Host: host, Err: fmt.Errorf(
		"%w: it answered a TLS ClientHello with a TLS handshake (plaintext attempt: %v)", ErrServerSpeaksTLS, errors.Unwrap(err))}
}

// speaksTLS reports whether the server at host answers a ClientHello with a TLS handshake
// record (content type 22). Nothing is verified: only the record type is looked at.
func speaksTLS(ctx context.Context, host string) bool {
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return false
	}
	defer raw.Close()
	stop := context.AfterFunc(ctx, func() { _ = raw.Close() })
	defer stop()
	fr := &firstByteConn{Conn: raw}
	// InsecureSkipVerify: this connection only looks at the reply's record type and is
	// closed before any data is sent; it carries no credentials.
	c := tls.Client(fr, &tls.Config{InsecureSkipVerify: true, ServerName: "probe.invalid"}) //nolint:gosec // see above
	_ = c.HandshakeContext(ctx)
	first, ok := fr.first()
	return ok && first == 22
}

// firstByteConn records the first byte read from the connection.
type firstByteConn struct {
	net.Conn
	mu  sync.Mutex
	got bool
	b   byte
}

func (c *firstByteConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if !c.got {
			c.got, c.b = true, p[0]
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *firstByteConn) first() (byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b, c.got
}
