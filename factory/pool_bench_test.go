package factory_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"sort"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	riak "github.com/basho/riak-go-client"
	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/factory/cassandra"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/cqltest"
	"github.com/connfactory/connfactory/testserver/pki"
	"github.com/connfactory/connfactory/testserver/riaktest"
)

// interleaved runs ours and theirs b.N times each, alternating (the order swapped every
// other iteration so drift on the machine hits both alike), and reports each side's mean
// and median, their ratio from the sums (ratio) and from the medians (median-ratio),
// ours / theirs. Each func returns the time of its own timed part.
func interleaved(b *testing.B, ours, theirs func() time.Duration) {
	b.Helper()
	o := make([]time.Duration, 0, b.N)
	t := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			o, t = append(o, ours()), append(t, theirs())
		} else {
			t, o = append(t, theirs()), append(o, ours())
		}
	}
	b.StopTimer()
	sum := func(ds []time.Duration) (s time.Duration) {
		for _, d := range ds {
			s += d
		}
		return s
	}
	median := func(ds []time.Duration) time.Duration {
		s := append([]time.Duration(nil), ds...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[len(s)/2]
	}
	b.ReportMetric(float64(sum(o).Nanoseconds())/float64(b.N), "ours-ns/op")
	b.ReportMetric(float64(sum(t).Nanoseconds())/float64(b.N), "theirs-ns/op")
	b.ReportMetric(float64(median(o).Nanoseconds()), "ours-median-ns")
	b.ReportMetric(float64(median(t).Nanoseconds()), "theirs-median-ns")
	b.ReportMetric(float64(sum(o))/float64(sum(t)), "ratio")
	b.ReportMetric(float64(median(o))/float64(median(t)), "median-ratio")
}

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
// adjust). Metrics: see interleaved (ours = connector, theirs = gocql).
//
//	go test ./factory -run '^$' -bench BenchmarkPoolOpen -benchtime 40x
func BenchmarkPoolOpen(b *testing.B) {
	for _, kt := range serverKeyTypes {
		b.Run(kt.String(), func(b *testing.B) {
			set := cassPKI(b)
			leaf := serverLeaf(b, set, kt)
			var (
				addrs  []string
				counts []*handshakes
			)
			for range 3 {
				h := &handshakes{}
				base := set.ServerTLSConfig()
				base.Certificates = []tls.Certificate{leaf.TLSCertificate()}
				srv := cassStart(b, cqltest.Options{TLS: h.serverConfig(base),
					Credentials: map[string]string{cassUser: cassPassword}})
				addrs = append(addrs, srv.Addr())
				counts = append(counts, h)
			}
			const perHost = 8
			p := cassProfile(addrs[0], cassTLS(set, false))
			p.Hosts, p.ProtocolVersion = addrs, 4
			p.Pool = &schema.Pool{ConnectionsPerHost: perHost}
			quiet := factory.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
			noLookup := func(cfg *gocql.ClusterConfig) { cfg.DisableInitialHostLookup = true }

			hand := func() *gocql.ClusterConfig {
				cfg := handCluster(&tls.Config{RootCAs: set.Root.Pool(), ServerName: "localhost",
					MinVersion: tls.VersionTLS12}, addrs...)
				cfg.ProtoVersion, cfg.NumConns, cfg.DisableInitialHostLookup = 4, perHost, true
				return cfg
			}
			total := func() (n int) {
				for _, h := range counts {
					f, r := h.counts()
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
			interleaved(b, ours, theirs) // resets the metrics reported before it
			b.ReportMetric(float64(f1-f0), "ours-full-handshakes")
			b.ReportMetric(float64(f2-f1), "theirs-full-handshakes")
		})
	}
}

func fullHandshakes(hs []*handshakes) (n int) {
	for _, h := range hs {
		f, _ := h.counts()
		n += f
	}
	return n
}

// BenchmarkRiakDialPool compares, on one TLS + password Riak server, the connector's Dial
// (preflight, then riak-go-client's node with pool.connections_per_host connections
// resuming the preflight's TLS session, and a first ping) plus one ping, against a
// riak-go-client node built by hand with the same MinConnections and a plain
// *tls.Config (no session cache), Start and one ping; Stop is outside the timing.
// Interleaved; ours = Dial, theirs = hand-built.
//
//	go test ./factory -run '^$' -bench BenchmarkRiakDialPool -benchtime 200x
func BenchmarkRiakDialPool(b *testing.B) {
	for _, perHost := range []int{1, 8} {
		b.Run("pool="+string(rune('0'+perHost)), func(b *testing.B) {
			srv, err := riaktest.Start(secureRiak())
			require.NoError(b, err)
			b.Cleanup(func() { require.NoError(b, srv.Close()) })
			p := riakProfile([]string{srv.Addr()}, schema.MechanismPassword, "pwuser", riakPassword, riakTLS())
			p.Pool = &schema.Pool{ConnectionsPerHost: perHost}
			c := newRiak(b, p)
			ping := func(cl *riak.Cluster) {
				require.NoError(b, cl.Execute(&riak.PingCommand{}))
			}
			ours := func() time.Duration {
				begin := time.Now()
				cl, err := c.Dial(context.Background())
				require.NoError(b, err)
				ping(cl)
				took := time.Since(begin)
				_ = cl.Stop()
				return took
			}
			theirs := func() time.Duration {
				begin := time.Now()
				node, err := riak.NewNode(&riak.NodeOptions{
					RemoteAddress: srv.Addr(), MinConnections: uint16(perHost), //nolint:gosec // 1 or 8
					AuthOptions: &riak.AuthOptions{User: "pwuser", Password: riakPassword,
						TlsConfig: &tls.Config{RootCAs: riakPKI.Root.Pool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}},
				})
				require.NoError(b, err)
				cl, err := riak.NewCluster(&riak.ClusterOptions{Nodes: []*riak.Node{node}})
				require.NoError(b, err)
				require.NoError(b, cl.Start())
				ping(cl)
				took := time.Since(begin)
				_ = cl.Stop()
				return took
			}
			ours()
			theirs()
			interleaved(b, ours, theirs)
		})
	}
}

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
	set := tlsNewSet(b)
	h := &handshakes{}
	addr := startByteServer(b, h.serverConfig(set.ServerTLSConfig()))
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
	interleaved(b, ours, theirs)
	f, r := h.counts()
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
