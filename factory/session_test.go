package factory_test

import (
	"context"
	"crypto/tls"
	"math/big"
	"sync/atomic"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	riak "github.com/basho/riak-go-client"
	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/factorytest"
	"github.com/connfactory/connfactory/internal/factorytest/cassenv"
	"github.com/connfactory/connfactory/internal/factorytest/riakenv"
	"github.com/connfactory/connfactory/internal/leakcheck"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/pki"
)

// checkDelta runs b's Check and returns the full and resumed handshakes the server saw
// during it (Cassandra's Check makes gocql's protocol discovery, control and pool
// connections, Riak's one).
func checkDelta(t *testing.T, b *rlBackend, wantErr error) (full, resumed int) {
	t.Helper()
	f0, r0 := b.peers.handshakes()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := b.check(ctx)
	if wantErr == nil {
		require.NoError(t, err)
	} else {
		require.ErrorIs(t, err, wantErr)
	}
	f1, r1 := b.peers.handshakes()
	return f1 - f0, r1 - r0
}

// requireFresh asserts a check made one full handshake and resumed the rest.
func requireFresh(t *testing.T, b *rlBackend, msg string) {
	t.Helper()
	full, _ := checkDelta(t, b, nil)
	require.Equal(t, 1, full, msg+": one full handshake")
}

// requireResumed asserts a check resumed every handshake.
func requireResumed(t *testing.T, b *rlBackend, wantErr error, msg string) {
	t.Helper()
	full, resumed := checkDelta(t, b, wantErr)
	require.Equal(t, 0, full, msg+": no full handshake")
	require.Positive(t, resumed, msg+": resumed")
}

// After a rotated client certificate or CA is reloaded, the next connection makes a full
// handshake with the new material: no session of the old material is resumed.
func TestRotationForcesFullHandshake(t *testing.T) {
	rlEachBackend(t, func(t *testing.T, set *pki.Set, b *rlBackend) {
		files := newRLFiles(t, set, set.Client, false)
		reloadNow, tlsOf := b.connect(t, files.resolved(time.Hour), files.refresher())
		requireFresh(t, b, "first check")
		requireResumed(t, b, nil, "second check")

		// Client certificate rotation.
		next := rlIssue(t, set, "app")
		files.writeLeaf(next)
		require.NoError(t, reloadNow(context.Background()))
		require.Equal(t, uint64(1), tlsOf().Generation())
		requireFresh(t, b, "after the client certificate rotation")
		require.Equal(t, next.Serial(), b.peers.lastSerial())
		requireResumed(t, b, nil, "the new material's session")
		require.Equal(t, next.Serial(), b.peers.lastSerial())

		// CA rotation: a bundle of the old root and a new one.
		newRoot, err := pki.NewRootCA("rotated root")
		require.NoError(t, err)
		files.write(files.ca, append(set.Root.CertPEM(), newRoot.CertPEM()...))
		require.NoError(t, reloadNow(context.Background()))
		require.Equal(t, uint64(2), tlsOf().Generation())
		requireFresh(t, b, "after the CA rotation")
	})
}

// A server revoked after its session was resumed is refused: the new CRL is new material,
// so its session is dropped and the next handshake verifies the chain against the CRL.
func TestRevokedAfterResumptionRefused(t *testing.T) {
	rlEachBackend(t, func(t *testing.T, set *pki.Set, b *rlBackend) {
		files := newRLFiles(t, set, set.Client, true)
		reloadNow, _ := b.connect(t, files.resolved(time.Hour), files.refresher())
		requireFresh(t, b, "first check")
		requireResumed(t, b, nil, "second check")

		crl, err := set.Intermediate.CRLPEM(pki.CRLOptions{Revoked: []*big.Int{set.Server.Serial()}, Number: 1})
		require.NoError(t, err)
		files.write(files.crl, crl)
		require.NoError(t, reloadNow(context.Background()))
		checkDelta(t, b, factory.ErrTLSRevoked)
		checkDelta(t, b, factory.ErrTLSRevoked) // and stays refused
	})
}

// A resumed handshake reuses the chain verdict but still judges the CRL's freshness and
// the certificates' expiry by the current clock.
func TestResumedHandshakeChecksClockAndCRL(t *testing.T) {
	rlEachBackend(t, func(t *testing.T, set *pki.Set, b *rlBackend) {
		files := newRLFiles(t, set, set.Client, true)
		var offset atomic.Int64
		clock := factory.WithClock(func() time.Time { return time.Now().Add(time.Duration(offset.Load())) })
		b.connect(t, files.resolved(time.Hour), files.refresher(), clock)
		requireFresh(t, b, "first check")
		requireResumed(t, b, nil, "second check")

		// Two days on, the CRL (next update in a day) is stale: revocation status unknown.
		offset.Store(int64(48 * time.Hour))
		requireResumed(t, b, factory.ErrTLSRevoked, "stale CRL")

		// crypto/tls forgets a session whose resumption failed: start again.
		offset.Store(0)
		requireFresh(t, b, "after the refusal")
		requireResumed(t, b, nil, "again")
		// Past the server certificate's NotAfter: expired.
		offset.Store(int64(time.Until(set.Server.Cert.NotAfter) + time.Hour))
		requireResumed(t, b, factory.ErrTLSExpired, "expired server certificate")
	})
}

// Check opens exactly one connection whatever the pool says (Riak), and as many as
// without a pool (Cassandra: gocql's control connection and one pool connection; the
// profile sets protocol_version, so there is no discovery connection).
func TestCheckIgnoresPool(t *testing.T) {
	t.Run("riak", func(t *testing.T) {
		factorytest.LeakCheck(t)
		srv := riakenv.Start(t, riakenv.Secure())
		p := riakenv.Profile([]string{srv.Addr()}, schema.MechanismPassword, "pwuser", riakenv.Password, riakenv.TLS())
		p.Pool = &schema.Pool{ConnectionsPerHost: 8, MaxConnectionsPerHost: 16}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := riakenv.New(t, p).Check(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, srv.Accepted())
	})
	t.Run("cassandra", func(t *testing.T) {
		leakcheck.Verify(t)
		env := cassenv.TLSServer(t)
		p := cassenv.Profile(env.Srv.Addr(), cassenv.TLS(env.Set, false))
		p.ProtocolVersion = 4
		p.Pool = &schema.Pool{ConnectionsPerHost: 8}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := cassenv.Connector(t, p).Check(ctx)
		require.NoError(t, err)
		require.Equal(t, 2, env.Srv.Connections())
	})
}

// Adjust functions change what the factory does not own and are refused, naming the
// field, for what it owns; the profile's pool reaches the driver.
func TestDialAdjust(t *testing.T) {
	t.Run("cassandra", func(t *testing.T) {
		leakcheck.Verify(t)
		env := cassenv.TLSServer(t)
		p := cassenv.Profile(env.Srv.Addr(), cassenv.TLS(env.Set, false))
		p.Pool = &schema.Pool{ConnectionsPerHost: 3}
		p.ProtocolVersion = 4 // no protocol discovery connection
		c := cassenv.Connector(t, p)
		require.Equal(t, 3, c.ClusterConfig().NumConns)
		c.ClusterConfig().NumConns = 7 // a copy: Dial does not see it

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var seen gocql.ClusterConfig
		ready := &cassenv.ConnectCounter{}
		s, err := c.Dial(ctx, func(cfg *gocql.ClusterConfig) {
			require.Equal(t, 3, cfg.NumConns, "the profile is applied first")
			cfg.NumConns = 5
			cfg.Timeout = 3 * time.Second
			cfg.ConnectObserver = ready
		}, func(cfg *gocql.ClusterConfig) { seen = *cfg })
		require.NoError(t, err)
		// The control connection and a pool of 5, all ready before the session closes.
		require.Eventually(t, func() bool {
			n := ready.OK.Load()
			return n >= 1+5 && n == int64(env.Srv.Connections())
		}, 10*time.Second, 5*time.Millisecond)
		s.Close()
		require.Equal(t, 5, seen.NumConns)
		require.Equal(t, 3*time.Second, seen.Timeout)

		for _, tc := range []struct {
			field string
			f     func(*gocql.ClusterConfig)
		}{
			{"HostDialer", func(cfg *gocql.ClusterConfig) { cfg.HostDialer = nil }},
			{"SslOpts", func(cfg *gocql.ClusterConfig) { cfg.SslOpts = &gocql.SslOptions{} }},
			{"AuthProvider", func(cfg *gocql.ClusterConfig) { cfg.AuthProvider = nil }},
			{"Authenticator", func(cfg *gocql.ClusterConfig) {
				cfg.Authenticator = gocql.PasswordAuthenticator{Username: "x", Password: "y"}
			}},
			{"ConnectTimeout", func(cfg *gocql.ClusterConfig) { cfg.ConnectTimeout = time.Minute }},
		} {
			before := env.Srv.Connections()
			_, err := c.Dial(ctx, tc.f)
			require.ErrorIs(t, err, factory.ErrConfig, tc.field)
			require.ErrorIs(t, err, factory.ErrAdjustOwnedField, tc.field)
			require.ErrorContains(t, err, "gocql.ClusterConfig."+tc.field, tc.field)
			require.Equal(t, before, env.Srv.Connections(), "%s: refused before any connection", tc.field)
		}
	})
	t.Run("riak", func(t *testing.T) {
		factorytest.LeakCheck(t)
		srv := riakenv.Start(t, riakenv.Secure())
		p := riakenv.Profile([]string{srv.Addr()}, schema.MechanismPassword, "pwuser", riakenv.Password, riakenv.TLS())
		p.Pool = &schema.Pool{ConnectionsPerHost: 2, MaxConnectionsPerHost: 4, IdleTimeout: schema.Duration(time.Minute)}
		c := riakenv.New(t, p)
		no := c.NodeOptions()[0]
		require.Equal(t, [2]uint16{2, 4}, [2]uint16{no.MinConnections, no.MaxConnections})
		require.Equal(t, time.Minute, no.IdleTimeout)

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cl, err := c.Dial(ctx, func(no *riak.NodeOptions) {
			require.Equal(t, uint16(2), no.MinConnections, "the profile is applied first")
			no.MinConnections = 3
		})
		require.NoError(t, err)
		require.NoError(t, cl.Stop())
		require.Equal(t, 1+3, srv.Accepted(), "the preflight and a pool of 3")

		for _, tc := range []struct {
			field string
			f     func(*riak.NodeOptions)
		}{
			{"RemoteAddress", func(no *riak.NodeOptions) { no.RemoteAddress = "127.0.0.1:1" }},
			{"ConnectTimeout", func(no *riak.NodeOptions) { no.ConnectTimeout = time.Minute }},
			{"AuthOptions", func(no *riak.NodeOptions) { no.AuthOptions = nil }},
			{"AuthOptions.TlsConfig", func(no *riak.NodeOptions) { no.AuthOptions.TlsConfig = &tls.Config{} }}, //nolint:gosec // refused
			{"AuthOptions.User", func(no *riak.NodeOptions) { no.AuthOptions.User = "root" }},
		} {
			before := srv.Accepted()
			_, err := c.Dial(ctx, tc.f)
			require.ErrorIs(t, err, factory.ErrConfig, tc.field)
			require.ErrorIs(t, err, factory.ErrAdjustOwnedField, tc.field)
			require.ErrorContains(t, err, "riak.NodeOptions."+tc.field+" ", tc.field)
			require.Equal(t, before, srv.Accepted(), "%s: refused before any connection", tc.field)
		}
	})
}
