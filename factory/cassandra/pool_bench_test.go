package cassandra_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/factory/cassandra"
	"github.com/connfactory/connfactory/internal/factorytest"
	"github.com/connfactory/connfactory/internal/factorytest/cassenv"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/cqltest"
	"github.com/connfactory/connfactory/testserver/pki"
)

// serverKeyTypes are the server key algorithms the pool benchmarks run with: RSA-2048
// makes a full handshake dear (the server's private-key operation), ECDSA P-256 cheap.
var serverKeyTypes = []pki.KeyType{pki.RSA2048, pki.ECDSAP256}

// serverLeaf issues a localhost server certificate of key type kt from set's
// intermediate.
func serverLeaf(b testing.TB, set *pki.Set, kt pki.KeyType) *pki.Leaf {
	b.Helper()
	l, err := set.Intermediate.Issue(pki.LeafOptions{CommonName: "localhost", DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, Server: true, KeyType: kt})
	require.NoError(b, err)
	return l
}

// BenchmarkPoolOpen opens a Cassandra session over TLS + password to 3 servers with 8
// connections per host and waits until every connection's handshake is done (server
// side), then closes it: through a fresh connector (pool.connections_per_host = 8; its
// session cache makes one full handshake per server, 3 in all) against a hand-written gocql
// configuration with the same pool, protocol, policies and timeouts and gocql's own TLS
// (SslOpts, no session cache: as users write it), interleaved. cqltest gives its servers
// one host_id, so both sides set DisableInitialHostLookup (the connector through Dial's
// adjust). Metrics: see factorytest.Interleaved (ours = connector, theirs = gocql).
//
//	go test ./factory/cassandra -run '^$' -bench BenchmarkPoolOpen -benchtime 40x
func BenchmarkPoolOpen(b *testing.B) {
	for _, kt := range serverKeyTypes {
		b.Run(kt.String(), func(b *testing.B) {
			set := factorytest.NewPKI(b)
			leaf := serverLeaf(b, set, kt)
			var (
				addrs  []string
				counts []*factorytest.Handshakes
			)
			for range 3 {
				h := &factorytest.Handshakes{}
				base := set.ServerTLSConfig()
				base.Certificates = []tls.Certificate{leaf.TLSCertificate()}
				srv := cassenv.Start(b, cqltest.Options{TLS: h.ServerConfig(base),
					Credentials: map[string]string{cassenv.User: cassenv.Password}})
				addrs = append(addrs, srv.Addr())
				counts = append(counts, h)
			}
			const perHost = 8
			p := cassenv.Profile(addrs[0], cassenv.TLS(set, false))
			p.Hosts, p.ProtocolVersion = addrs, 4
			p.Pool = &schema.Pool{ConnectionsPerHost: perHost}
			quiet := factory.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
			noLookup := func(cfg *gocql.ClusterConfig) { cfg.DisableInitialHostLookup = true }

			hand := func() *gocql.ClusterConfig {
				cfg := cassenv.HandCluster(&tls.Config{RootCAs: set.Root.Pool(), ServerName: "localhost",
					MinVersion: tls.VersionTLS12}, addrs...)
				cfg.ProtoVersion, cfg.NumConns, cfg.DisableInitialHostLookup = 4, perHost, true
				return cfg
			}
			total := func() (n int) {
				for _, h := range counts {
					f, r := h.Counts()
					n += f + r
				}
				return n
			}
			open := func(dial func() (*gocql.Session, error)) time.Duration {
				before := total()
				begin := time.Now()
				s, err := dial()
				require.NoError(b, err)
				// The control connection and 3 x 8 pool connections.
				for total()-before < 1+3*perHost {
					time.Sleep(50 * time.Microsecond)
				}
				took := time.Since(begin)
				s.Close()
				return took
			}
			// A fresh connector per open (compiled outside the timing): its session cache
			// starts empty, as in a process that opens its pool once.
			ours := func() time.Duration {
				b.StopTimer()
				c, err := cassandra.New("pool_bench", p, quiet)
				require.NoError(b, err)
				defer func() { require.NoError(b, c.Close()) }()
				b.StartTimer()
				return open(func() (*gocql.Session, error) { return c.Dial(context.Background(), noLookup) })
			}
			theirs := func() time.Duration { return open(hand().CreateSession) }
			ours()
			theirs()
			f0 := fullHandshakes(counts)
			ours()
			f1 := fullHandshakes(counts)
			theirs()
			f2 := fullHandshakes(counts)
			factorytest.Interleaved(b, ours, theirs) // resets the metrics reported before it
			b.ReportMetric(float64(f1-f0), "ours-full-handshakes")
			b.ReportMetric(float64(f2-f1), "theirs-full-handshakes")
		})
	}
}

func fullHandshakes(hs []*factorytest.Handshakes) (n int) {
	for _, h := range hs {
		f, _ := h.Counts()
		n += f
	}
	return n
}
