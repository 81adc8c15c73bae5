package riak_test

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	riak "github.com/basho/riak-go-client"
	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/internal/factorytest"
	"github.com/connfactory/connfactory/internal/factorytest/riakenv"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/riaktest"
)

// BenchmarkRiakDialPool compares, on one TLS + password Riak server, the connector's Dial
// (preflight, then riak-go-client's node with pool.connections_per_host connections
// resuming the preflight's TLS session, and a first ping) plus one ping, against a
// riak-go-client node built by hand with the same MinConnections and a plain
// *tls.Config (no session cache), Start and one ping; Stop is outside the timing.
// Interleaved; ours = Dial, theirs = hand-built.
//
//	go test ./factory/riak -run '^$' -bench BenchmarkRiakDialPool -benchtime 200x
func BenchmarkRiakDialPool(b *testing.B) {
	for _, perHost := range []int{1, 8} {
		b.Run("pool="+string(rune('0'+perHost)), func(b *testing.B) {
			srv, err := riaktest.Start(riakenv.Secure())
			require.NoError(b, err)
			b.Cleanup(func() { require.NoError(b, srv.Close()) })
			p := riakenv.Profile([]string{srv.Addr()}, schema.MechanismPassword, "pwuser", riakenv.Password, riakenv.TLS())
			p.Pool = &schema.Pool{ConnectionsPerHost: perHost}
			c := riakenv.New(b, p)
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
					AuthOptions: &riak.AuthOptions{User: "pwuser", Password: riakenv.Password,
						TlsConfig: &tls.Config{RootCAs: riakenv.PKI.Root.Pool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}},
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
			factorytest.Interleaved(b, ours, theirs)
		})
	}
}
