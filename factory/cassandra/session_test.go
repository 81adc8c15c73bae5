package cassandra_test

import (
	"context"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/internal/factorytest"
	"github.com/connfactory/connfactory/internal/factorytest/cassenv"
	"github.com/connfactory/connfactory/internal/leakcheck"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/cqltest"
	"github.com/connfactory/connfactory/testserver/pki"
)

// cassPoolServers starts n TLS + password servers, each counting its handshakes.
func cassPoolServers(t *testing.T, set *pki.Set, n int, maxVersion uint16) ([]*cqltest.Server, []*factorytest.Handshakes) {
	var (
		srvs   []*cqltest.Server
		counts []*factorytest.Handshakes
	)
	for range n {
		h := &factorytest.Handshakes{}
		base := set.ServerTLSConfig()
		base.MaxVersion = maxVersion
		srvs = append(srvs, cassenv.Start(t, cqltest.Options{TLS: h.ServerConfig(base),
			Credentials: map[string]string{cassenv.User: cassenv.Password}}))
		counts = append(counts, h)
	}
	return srvs, counts
}

// A Cassandra session with 8 connections per host makes one full handshake per server:
// the control connection's; every pool connection resumes its session.
func TestCassandraPoolOneFullHandshakePerServer(t *testing.T) {
	for _, v := range factorytest.TLSVersions {
		for _, hosts := range []int{1, 3} {
			t.Run(v.Name+"/hosts="+string(rune('0'+hosts)), func(t *testing.T) {
				leakcheck.Verify(t)
				set := factorytest.NewPKI(t)
				srvs, counts := cassPoolServers(t, set, hosts, v.Max)
				var addrs []string
				for _, s := range srvs {
					addrs = append(addrs, s.Addr())
				}
				p := cassenv.Profile(addrs[0], cassenv.TLS(set, true))
				p.Hosts = addrs
				p.Pool = &schema.Pool{ConnectionsPerHost: 8}
				p.ProtocolVersion = 4 // no protocol discovery connection
				c := cassenv.Connector(t, p)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				// cqltest gives every server one host_id and no peers: without the lookup,
				// gocql keeps the three configured hosts apart.
				ready := &cassenv.ConnectCounter{}
				s, err := c.Dial(ctx, func(cfg *gocql.ClusterConfig) {
					cfg.DisableInitialHostLookup = hosts > 1
					cfg.ConnectObserver = ready
				})
				require.NoError(t, err)
				defer s.Close()
				cassenv.ReleaseVersion(t, s)
				// gocql fills pools in the background after CreateSession returns; closing
				// the session mid-fill leaves its filling goroutine sleeping. Wait for the
				// control connection and every pool connection to be ready.
				require.Eventually(t, func() bool {
					accepted := 0
					for _, srv := range srvs {
						accepted += srv.Connections()
					}
					n := ready.OK.Load()
					return n >= int64(1+8*hosts) && n == int64(accepted)
				}, 10*time.Second, 5*time.Millisecond, "pools not filled")
				for i, h := range counts {
					// gocql fills pools in the background after CreateSession returns:
					// wait until every connection the server accepted finished its handshake.
					require.Eventually(t, func() bool {
						full, resumed := h.Counts()
						return full+resumed >= 8 && full+resumed == srvs[i].Connections()
					}, 10*time.Second, 5*time.Millisecond, "server %d: pool of 8 not filled", i)
					full, resumed := h.Counts()
					require.Equal(t, 1, full, "server %d: full handshakes (resumed %d)", i, resumed)
				}
			})
		}
	}
}
