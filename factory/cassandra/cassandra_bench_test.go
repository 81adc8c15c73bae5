package cassandra_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/factorytest"
	"github.com/connfactory/connfactory/internal/factorytest/cassenv"
	"github.com/connfactory/connfactory/testserver/cqltest"
)

// BenchmarkCassandraConnect measures connect + TLS + password authentication + the first
// query (release_version from system.local) through the connector's Dial, against a
// hand-written gocql configuration doing the same on the same server: gocql's own TLS
// path (SslOpts), its PasswordAuthenticator, and the pool size, policies, timeouts and
// reconnection policy the connector sets, so that only the factory's layer differs. The
// two alternate within each iteration (order swapped every other one), so drift on the
// machine hits both alike. Metrics (see factorytest.Interleaved; ours = connector, theirs = gocql):
// ours-ns/op, theirs-ns/op, their medians, ratio (connector / gocql, from the sums) and
// median-ratio (from the medians, steadier on a busy machine).
//
//	go test -run '^$' -bench BenchmarkCassandraConnect -benchtime 300x ./factory/cassandra
func BenchmarkCassandraConnect(b *testing.B) {
	for _, mutual := range []bool{false, true} {
		name := "tls+password"
		if mutual {
			name = "mtls+password"
		}
		b.Run(name, func(b *testing.B) { benchConnect(b, mutual) })
	}
}

func benchConnect(b *testing.B, mutual bool) {
	env := cassenv.TLSServer(b, func(o *cqltest.Options) {
		if mutual {
			o.TLS.ClientAuth = tls.RequireAndVerifyClientCert
		}
	})
	p := cassenv.Profile(env.Localhost(), cassenv.TLS(env.Set, mutual))
	// An application's logger: info level, so gocql's debug lines are dropped unformatted,
	// as the hand-written config's LogLevelNone logger drops them.
	c := cassenv.Connector(b, p, factory.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))

	hand := func() *gocql.ClusterConfig {
		tc := &tls.Config{RootCAs: env.Set.Root.Pool(), ServerName: "localhost", MinVersion: tls.VersionTLS12}
		if mutual {
			tc.Certificates = []tls.Certificate{env.Set.Client.TLSCertificate()}
		}
		return cassenv.HandCluster(tc, env.Localhost())
	}
	connector := func() (*gocql.Session, error) { return c.Dial(context.Background()) }
	gocqlOnly := func() (*gocql.Session, error) { return hand().CreateSession() }

	run := func(dial func() (*gocql.Session, error)) time.Duration {
		begin := time.Now()
		s, err := dial()
		require.NoError(b, err)
		var v string
		require.NoError(b, s.Query("SELECT release_version FROM system.local").Scan(&v))
		took := time.Since(begin)
		s.Close()
		return took
	}
	// Warm both paths (TLS session caches are off on both sides, but code and allocations
	// warm up).
	run(connector)
	run(gocqlOnly)

	factorytest.Interleaved(b, func() time.Duration { return run(connector) }, func() time.Duration { return run(gocqlOnly) })
}
