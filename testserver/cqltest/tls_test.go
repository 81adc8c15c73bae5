package cqltest_test

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/datastax/go-cassandra-native-protocol/frame"
	"github.com/datastax/go-cassandra-native-protocol/message"
	"github.com/datastax/go-cassandra-native-protocol/primitive"
	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/testserver/cqltest"
	"github.com/connfactory/connfactory/testserver/pki"
)

func newPKI(t *testing.T) *pki.Set {
	t.Helper()
	set, err := newPKISet()
	require.NoError(t, err)
	return set
}

func newPKISet() (*pki.Set, error) { return pki.NewSet() }

func TestTLS(t *testing.T) {
	t.Parallel()
	set := newPKI(t)
	srv := start(t, cqltest.Options{TLS: set.ServerTLSConfig(), Credentials: map[string]string{"app": "pw"}})

	t.Run("SslOpts", func(t *testing.T) {
		cfg := set.ClientTLSConfig()
		cfg.Certificates = nil // server certificate only
		c, _ := newCluster(t, srv)
		c.SslOpts = &gocql.SslOptions{Config: cfg}
		c.Authenticator = gocql.PasswordAuthenticator{Username: "app", Password: "pw"}
		s := connect(t, c)
		require.Equal(t, cqltest.DefaultReleaseVersion, releaseVersion(t, s))
		require.Equal(t, "app", srv.LastAuthUser())
	})
	t.Run("HostDialer", func(t *testing.T) {
		c, _ := newCluster(t, srv)
		c.HostDialer = tlsDialer{cfg: set.ClientTLSConfig()}
		c.Authenticator = gocql.PasswordAuthenticator{Username: "app", Password: "pw"}
		s := connect(t, c)
		require.Equal(t, cqltest.DefaultReleaseVersion, releaseVersion(t, s))
	})
	t.Run("untrusted server", func(t *testing.T) {
		cfg := set.ClientTLSConfig()
		cfg.RootCAs = set.OtherRoot.Pool()
		before := srv.Connections()
		c, _ := newCluster(t, srv)
		c.SslOpts = &gocql.SslOptions{Config: cfg}
		c.Authenticator = gocql.PasswordAuthenticator{Username: "app", Password: "pw"}
		_, err := c.CreateSession()
		require.ErrorContains(t, err, "certificate signed by unknown authority")
		// Refused handshakes are still accepted connections.
		require.Greater(t, srv.Connections(), before)
	})
	t.Run("plaintext client", func(t *testing.T) {
		c, _ := newCluster(t, srv)
		c.ConnectTimeout = 500 * time.Millisecond
		c.Authenticator = gocql.PasswordAuthenticator{Username: "app", Password: "pw"}
		_, err := c.CreateSession()
		require.Error(t, err)
	})
}

func TestMutualTLS(t *testing.T) {
	t.Parallel()
	set := newPKI(t)
	serverCfg := set.ServerTLSConfig()
	serverCfg.ClientAuth = tls.RequireAndVerifyClientCert
	srv := start(t, cqltest.Options{TLS: serverCfg})

	t.Run("client certificate", func(t *testing.T) {
		for _, v := range []int{3, 4, 5} {
			c, _ := newCluster(t, srv)
			c.ProtoVersion = v
			c.SslOpts = &gocql.SslOptions{Config: set.ClientTLSConfig()}
			s := connect(t, c)
			require.Equal(t, cqltest.DefaultReleaseVersion, releaseVersion(t, s))
		}
	})
	t.Run("no client certificate", func(t *testing.T) {
		cfg := set.ClientTLSConfig()
		cfg.Certificates = nil
		// A TLS 1.3 client learns that its certificate was refused only on its first read, so
		// the dialer's handshake succeeds and the refusal surfaces in the CQL exchange.
		_, err := (tlsDialer{cfg: cfg}).DialHost(context.Background(), hostInfo(t, srv))
		if err == nil {
			c, _ := newCluster(t, srv)
			c.HostDialer = tlsDialer{cfg: cfg}
			_, err = c.CreateSession()
		}
		require.Error(t, err)
		t.Logf("gocql, no client certificate: %v", err)
		require.ErrorContains(t, err, "certificate required")
	})
}

// hostInfo describes srv the way gocql hands a host to a HostDialer.
func hostInfo(t *testing.T, srv *cqltest.Server) *gocql.HostInfo {
	t.Helper()
	h, err := gocql.NewHostInfoFromAddrPort(net.ParseIP(srv.Host()), srv.Port())
	require.NoError(t, err)
	return h
}

func TestStall(t *testing.T) {
	t.Parallel()
	srv := start(t, cqltest.Options{Stall: true, TLS: newPKI(t).ServerTLSConfig()})

	t.Run("TLS handshake never completes", func(t *testing.T) {
		raw, err := net.Dial("tcp", srv.Addr())
		require.NoError(t, err)
		defer raw.Close()
		require.NoError(t, raw.SetDeadline(time.Now().Add(100*time.Millisecond)))
		err = tls.Client(raw, &tls.Config{ServerName: "localhost"}).Handshake()
		var ne net.Error
		require.ErrorAs(t, err, &ne)
		require.True(t, ne.Timeout())
	})
	t.Run("gocql times out", func(t *testing.T) {
		c, _ := newCluster(t, srv)
		c.ProtoVersion = 4
		c.ConnectTimeout = 200 * time.Millisecond
		_, err := c.CreateSession()
		require.Error(t, err)
		// The connect timeout fires, during the startup exchange or its first request
		// (gocql has two messages for it): a stalled server fails the session, not hangs it.
		require.Regexp(t, `no response (to connection startup|received from cassandra) within timeout`, err.Error())
	})
	t.Run("connections counted", func(t *testing.T) {
		// The server accepts asynchronously and a stalled connection never answers, so there is
		// no reply to wait for: poll.
		require.Eventually(t, func() bool { return srv.Connections() >= 2 }, 5*time.Second, 5*time.Millisecond)
	})
}

// TestHandshakes: a server counts its successful TLS handshakes, full and resumed, before
// it answers anything on the connection; failed handshakes are in neither count.
func TestHandshakes(t *testing.T) {
	t.Parallel()
	for _, v := range []struct {
		name string
		max  uint16
	}{{"tls1.2", tls.VersionTLS12}, {"tls1.3", tls.VersionTLS13}} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			set := newPKI(t)
			srvTLS := set.ServerTLSConfig()
			srvTLS.MaxVersion = v.max
			srv := start(t, cqltest.Options{TLS: srvTLS})
			cfg := set.ClientTLSConfig()
			cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
			// options dials, asks OPTIONS and reads the answer: the handshake is counted by
			// then, and a TLS 1.3 session ticket (sent after the handshake) has been read.
			options := func(cfg *tls.Config) (tls.ConnectionState, error) {
				conn, err := tls.Dial("tcp", srv.Addr(), cfg)
				if err != nil {
					return tls.ConnectionState{}, err
				}
				defer conn.Close()
				c := &rawClient{t: t, nc: conn, frames: frame.NewCodec()}
				require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
				_, ok := c.roundTrip(primitive.ProtocolVersion4, &message.Options{}).(*message.Supported)
				require.True(t, ok)
				return conn.ConnectionState(), nil
			}
			cs, err := options(cfg)
			require.NoError(t, err)
			require.False(t, cs.DidResume)
			require.Equal(t, cqltest.Handshakes{Full: 1}, srv.Handshakes())

			untrusted := set.ClientTLSConfig()
			untrusted.RootCAs = set.OtherRoot.Pool()
			_, err = options(untrusted)
			require.ErrorContains(t, err, "certificate signed by unknown authority")

			cs, err = options(cfg)
			require.NoError(t, err)
			require.True(t, cs.DidResume)
			require.Equal(t, cqltest.Handshakes{Full: 1, Resumed: 1}, srv.Handshakes())
			require.Equal(t, 2, srv.Handshakes().Total())
		})
	}
}
