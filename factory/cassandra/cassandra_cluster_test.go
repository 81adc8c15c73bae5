package cassandra_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/advice"
	"github.com/connfactory/connfactory/internal/factorycore"
	"github.com/connfactory/connfactory/internal/factorytest"
	"github.com/connfactory/connfactory/internal/factorytest/cassenv"
	"github.com/connfactory/connfactory/internal/leakcheck"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/cqltest"
)

// clusterQuery is the statement the cluster tests count on the nodes: gocql never sends it
// on its own, so a node's count is the test's queries it served.
const clusterQuery = "SELECT data_center FROM system.local"

// cassCluster starts a three-node TLS + password cluster (dc1, dc1, dc2 unless mutate says
// otherwise), skipping the test with the reason where its loopback addresses cannot be bound.
func cassCluster(t *testing.T, mutate ...func(*cqltest.ClusterOptions)) *cqltest.Cluster {
	t.Helper()
	opts := cqltest.ClusterOptions{
		Datacenters: []string{"dc1", "dc1", "dc2"},
		Certs:       cqltest.CertsDNSAndIP,
		Options:     cqltest.Options{Credentials: map[string]string{cassenv.User: cassenv.Password}},
	}
	for _, m := range mutate {
		m(&opts)
	}
	c, err := cqltest.StartCluster(opts)
	if errors.Is(err, cqltest.ErrLoopbackUnavailable) {
		t.Skipf("skipping: %v", err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c
}

// clusterProfile is a verify-full password profile naming only the cluster's first node.
func clusterProfile(c *cqltest.Cluster) *schema.Profile {
	return cassenv.Profile(c.Nodes[0].Addr(), cassenv.TLS(c.PKI, false))
}

// served is each node's count of clusterQuery.
func served(c *cqltest.Cluster) []int {
	out := make([]int, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Served(clusterQuery)
	}
	return out
}

// queryUntilEveryNode runs clusterQuery until every running node has served it: gocql
// opens the pools of discovered nodes while the first queries run, so how many queries
// that takes is not fixed; the bound is generous.
func queryUntilEveryNode(t *testing.T, s *gocql.Session, c *cqltest.Cluster) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		all := true
		for _, n := range c.Nodes {
			if n.Running() && n.Served(clusterQuery) == 0 {
				all = false
			}
		}
		if all {
			return
		}
		require.NoError(t, s.Query(clusterQuery).Exec())
	}
	t.Fatalf("after 1000 queries some node served none: %v", served(c))
}

// TestCassandraClusterDiscovery: a profile naming one node of a cluster on a port other
// than 9042 reaches every node; before the fix gocql dialled discovered nodes on 9042.
// The nodes run Cassandra 3.11, which has no system.peers_v2 (and so no native_port per
// peer): gocql dials what system.peers lists on ClusterConfig.Port.
func TestCassandraClusterDiscovery(t *testing.T) {
	leakcheck.Verify(t)
	cl := cassCluster(t, func(o *cqltest.ClusterOptions) {
		o.ReleaseVersions = []string{"3.11.16", "3.11.16", "3.11.16"}
	})
	require.NotEqual(t, schema.DefaultCassandraPort, cl.Port())
	c := cassenv.Connector(t, clusterProfile(cl))
	cfg := c.ClusterConfig()
	require.Equal(t, cl.Port(), cfg.Port, "discovered nodes are dialled on the hosts' port")
	numConns := cfg.NumConns
	require.Positive(t, numConns)

	s := cassenv.Dial(t, c)
	defer s.Close()
	queryUntilEveryNode(t, s, cl)
	// Every node gets a full pool of NumConns connections; the seed also holds gocql's
	// control connection. Pools fill in the background after the first connection.
	want := []int{numConns + 1, numConns, numConns}
	require.Eventually(t, func() bool {
		for i, n := range cl.Nodes {
			if n.OpenConnections() != want[i] {
				return false
			}
		}
		return true
	}, 10*time.Second, 5*time.Millisecond, "open connections per node, want %v", want)
}

// TestCassandraClusterLocalDatacenter: local_datacenter = "dc2" with a dc1 seed sends every
// query to the dc2 node, as counted by the nodes.
func TestCassandraClusterLocalDatacenter(t *testing.T) {
	leakcheck.Verify(t)
	cl := cassCluster(t)
	p := clusterProfile(cl)
	p.LocalDatacenter = "dc2"
	s := cassenv.Dial(t, cassenv.Connector(t, p))
	defer s.Close()
	for i := 0; i < 30; i++ {
		var dc string
		require.NoError(t, s.Query(clusterQuery).Scan(&dc))
		require.Equal(t, "dc2", dc)
	}
	require.Equal(t, []int{0, 0, 30}, served(cl))
}

// TestCassandraClusterPerHost: auth.per_host chooses credentials by the discovered node's
// address; the node outside the profile's hosts accepts only its own user.
func TestCassandraClusterPerHost(t *testing.T) {
	leakcheck.Verify(t)
	const dc2User, dc2Password = "dc2app", "dc2-Pw!"
	cl := cassCluster(t, func(o *cqltest.ClusterOptions) {
		o.Node = func(i int, no *cqltest.Options) {
			if i == 2 {
				no.Credentials = map[string]string{dc2User: dc2Password}
			}
		}
	})
	p := clusterProfile(cl)
	p.Auth.PerHost = []schema.HostCredentials{{Host: cl.Nodes[2].Host(), Username: dc2User, Password: factorytest.Secret(dc2Password)}}
	c := cassenv.Connector(t, p)
	s := cassenv.Dial(t, c)
	defer s.Close()
	queryUntilEveryNode(t, s, cl)
	require.Equal(t, cassenv.User, cl.Nodes[0].LastAuthUser())
	require.Equal(t, cassenv.User, cl.Nodes[1].LastAuthUser())
	require.Equal(t, dc2User, cl.Nodes[2].LastAuthUser())

	r, err := c.CheckDiscover(context.Background())
	require.NoError(t, err)
	require.Equal(t, cl.Nodes[0].Addr(), r.Server.Address, "the report describes the first host that passed")
	require.Len(t, r.Hosts, 3)
	for _, h := range r.Hosts {
		require.True(t, h.OK, "%+v", h)
	}
}

// TestCassandraClusterNodeDown: with one node down Dial succeeds and the session serves;
// a node going down later does not stop it either. CheckDiscover reports the down node.
func TestCassandraClusterNodeDown(t *testing.T) {
	leakcheck.Verify(t)
	cl := cassCluster(t)
	require.NoError(t, cl.Nodes[1].Stop())
	c := cassenv.Connector(t, clusterProfile(cl))
	s := cassenv.Dial(t, c)
	defer s.Close()
	queryUntilEveryNode(t, s, cl)
	require.Zero(t, cl.Nodes[1].Served(clusterQuery))

	require.NoError(t, cl.Nodes[2].Stop())
	before := cl.Nodes[0].Served(clusterQuery)
	for i := 0; i < 20; i++ {
		// Idempotent: a query picked for the stopped node's connection before gocql saw it
		// close is tried on the next host.
		require.NoError(t, s.Query(clusterQuery).Idempotent(true).Exec())
	}
	require.GreaterOrEqual(t, cl.Nodes[0].Served(clusterQuery), before+20, "the remaining node serves every query")

	r, err := c.Check(context.Background())
	require.NoError(t, err, "check without --discover tests the configured host only")
	require.Len(t, r.Hosts, 1)

	r, err = c.CheckDiscover(context.Background())
	require.ErrorIs(t, err, factory.ErrUnreachable)
	require.False(t, r.OK)
	require.Len(t, r.Hosts, 3)
	require.True(t, r.Hosts[0].OK)
	for i, h := range r.Hosts[1:] {
		n := cl.Nodes[i+1]
		require.Equal(t, n.Addr(), h.Address)
		require.Equal(t, factorycore.HostDiscovered, h.Source)
		require.Equal(t, n.Datacenter(), h.Datacenter)
		require.False(t, h.OK)
		require.Equal(t, "unreachable", h.Error.Kind)
	}
}

// TestCassandraClusterCertificates is the matrix of certificate layouts x tls.server_name
// x result, for verify-full with discovery: what Dial does, and what CheckDiscover says of
// the seed and of the discovered nodes.
func TestCassandraClusterCertificates(t *testing.T) {
	leakcheck.Verify(t)
	type outcome struct {
		seed, discovered string // "ok" or an error kind
	}
	cases := []struct {
		name       string
		certs      cqltest.CertLayout
		extraNames []string
		seedByName bool   // the profile names the seed "localhost", which its certificate carries
		serverName string // tls.server_name
		want       outcome
	}{
		{"DNS+IP SANs", cqltest.CertsDNSAndIP, nil, false, "", outcome{"ok", "ok"}},
		{"DNS-only SANs, seed by name", cqltest.CertsDNS, nil, true, "", outcome{"ok", "tls_hostname"}},
		{"DNS-only SANs, seed by IP", cqltest.CertsDNS, nil, false, "", outcome{"tls_hostname", ""}},
		{"DNS-only SANs + server_name of one node", cqltest.CertsDNS, nil, true, "localhost", outcome{"ok", "tls_hostname"}},
		{"DNS-only SANs + a shared name, server_name", cqltest.CertsDNS, []string{"cassandra.cluster.test"}, false, "cassandra.cluster.test", outcome{"ok", "ok"}},
		{"shared certificate, server_name", cqltest.CertsShared, nil, false, cqltest.DefaultSharedName, outcome{"ok", "ok"}},
		{"shared certificate, no server_name", cqltest.CertsShared, nil, false, "", outcome{"tls_hostname", ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cl := cassCluster(t, func(o *cqltest.ClusterOptions) {
				o.Certs, o.ExtraNames = tc.certs, tc.extraNames
				if tc.seedByName {
					// The first node on 127.0.0.1, named localhost in its certificate, so that
					// a profile can name it as a user names a node whose name resolves.
					o.Addresses = []string{"127.0.0.1"}
					o.Names = []string{"localhost"}
				}
			})
			seed := cl.Nodes[0].Addr()
			if tc.seedByName {
				seed = net.JoinHostPort("localhost", strconv.Itoa(cl.Port()))
			}
			p := cassenv.Profile(seed, cassenv.TLS(cl.PKI, false))
			p.TLS.ServerName = tc.serverName
			c := cassenv.Connector(t, p)

			r, err := c.CheckDiscover(context.Background())
			got := outcome{seed: hostOutcome(r.Hosts[0])}
			require.Equal(t, factorycore.HostConfigured, r.Hosts[0].Source)
			if len(r.Hosts) > 1 {
				require.Len(t, r.Hosts, 3)
				for _, h := range r.Hosts[1:] {
					require.Equal(t, factorycore.HostDiscovered, h.Source)
					if got.discovered == "" || got.discovered == "ok" {
						got.discovered = hostOutcome(h)
					}
					require.Equal(t, hostOutcome(r.Hosts[1]), hostOutcome(h), "every discovered node alike")
				}
			}
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.want.seed == "ok" && tc.want.discovered == "ok", r.OK)

			if tc.want.seed != "ok" {
				require.ErrorIs(t, err, factory.ErrTLSHostname)
				require.Error(t, cassenv.DialErr(t, c))
				return
			}
			// The seed passes, so Dial does too, whatever the other nodes do.
			s := cassenv.Dial(t, c)
			s.Close()
			if tc.want.discovered == "ok" {
				require.NoError(t, err)
				for _, h := range r.Hosts {
					wantName := tc.serverName
					if wantName == "" {
						wantName = hostOnlyOf(h.Address)
					}
					require.Equal(t, wantName, h.TLS.ServerName, h.Address)
				}
				return
			}
			// A discovered node with a DNS-only certificate: tls_hostname naming its address,
			// and advice naming both fixes.
			require.ErrorIs(t, err, factory.ErrTLSHostname)
			h := r.Hosts[1]
			require.Contains(t, h.Error.Message, cl.Nodes[1].Addr())
			require.Contains(t, err.Error(), cl.Nodes[1].Addr())
			advice := advice.For(err)
			require.Contains(t, advice, "tls.server_name")
			if tc.serverName == "" {
				// Verified by IP: the advice names the address and both fixes.
				require.Contains(t, advice, "IP SANs ("+cl.Nodes[1].Host()+")")
				require.Contains(t, advice, "one shared DNS name and set tls.server_name")
			}
			t.Logf("error: %v\nadvice: %s", err, advice)
		})
	}
}

func hostOutcome(h factory.HostReport) string {
	if h.OK {
		return "ok"
	}
	return h.Error.Kind
}

func hostOnlyOf(hostport string) string {
	h, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	return h
}

// TestCassandraPortOfHosts: gocql's ClusterConfig.Port, on which it dials discovered nodes,
// is the hosts' port: the default 9042 without one, the first host's where they differ.
func TestCassandraPortOfHosts(t *testing.T) {
	for _, tc := range []struct {
		hosts []string
		want  int
	}{
		{[]string{"db1.internal"}, 9042},
		{[]string{"db1.internal:9142", "db2.internal:9142"}, 9142},
		{[]string{"10.0.0.1:19042", "10.0.0.2:9042"}, 19042},
	} {
		t.Run(fmt.Sprint(tc.hosts), func(t *testing.T) {
			p := cassenv.Profile(tc.hosts[0], nil)
			p.Hosts = tc.hosts
			require.Equal(t, tc.want, cassenv.Connector(t, p).ClusterConfig().Port)
		})
	}
}

// TestCassandraClusterDiscoverSkipsConfigured: a node system.peers lists is checked once,
// as configured, when the profile names it, by address or by a name resolving to it.
func TestCassandraClusterDiscoverSkipsConfigured(t *testing.T) {
	leakcheck.Verify(t)
	cl := cassCluster(t, func(o *cqltest.ClusterOptions) {
		o.Addresses = []string{"127.0.0.1"}
		o.Names = []string{"localhost"}
	})
	byName := net.JoinHostPort("localhost", strconv.Itoa(cl.Port()))
	p := clusterProfile(cl)
	p.Hosts = []string{cl.Nodes[1].Addr(), byName}
	r, err := cassenv.Connector(t, p).CheckDiscover(context.Background())
	require.NoError(t, err)
	var got []string
	for _, h := range r.Hosts {
		got = append(got, h.Address+" "+h.Source+" "+h.Datacenter)
	}
	require.Equal(t, []string{
		cl.Nodes[1].Addr() + " configured dc1",
		byName + " configured dc1",
		cl.Nodes[2].Addr() + " discovered dc2",
	}, got)
}

// TestCassandraClusterOneFullHandshakePerNode: a profile naming one seed of a three-node
// cluster, with discovery and 8 connections per host, makes one full TLS handshake per
// node (counted by the nodes); every other connection resumes that node's session. With
// one shared certificate and tls.server_name every node is verified under the same name:
// the session cache must still keep one session per node (crypto/tls keys its cache by
// server name alone, and the nodes would evict each other's sessions).
func TestCassandraClusterOneFullHandshakePerNode(t *testing.T) {
	layouts := []struct {
		name       string
		certs      cqltest.CertLayout
		serverName string
	}{
		{"per-node IP SANs", cqltest.CertsDNSAndIP, ""},
		{"shared certificate, server_name", cqltest.CertsShared, cqltest.DefaultSharedName},
	}
	for _, v := range factorytest.TLSVersions {
		for _, l := range layouts {
			t.Run(v.Name+"/"+l.name, func(t *testing.T) {
				leakcheck.Verify(t)
				const perHost = 8
				set := factorytest.NewPKI(t)
				srvTLS := set.ServerTLSConfig()
				srvTLS.MaxVersion = v.Max
				cl := cassCluster(t, func(o *cqltest.ClusterOptions) {
					o.Certs, o.PKI, o.Options.TLS = l.certs, set, srvTLS
				})
				p := clusterProfile(cl)
				p.TLS.ServerName = l.serverName
				p.Pool = &schema.Pool{ConnectionsPerHost: perHost}
				p.ProtocolVersion = 4 // no protocol discovery connection
				c := cassenv.Connector(t, p)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				ready := &cassenv.ConnectCounter{}
				s, err := c.Dial(ctx, func(cfg *gocql.ClusterConfig) { cfg.ConnectObserver = ready })
				require.NoError(t, err)
				defer s.Close()

				// gocql fills the pools in the background after Dial returns: wait until the
				// control connection and every pool connection are ready, and no handshake is
				// under way beyond them (a node counts a handshake before it answers, so a
				// ready connection's handshake is counted).
				want := 1 + perHost*len(cl.Nodes)
				handshakes := func() (sum int, per []cqltest.Handshakes) {
					for _, n := range cl.Nodes {
						h := n.Handshakes()
						per = append(per, h)
						sum += h.Total()
					}
					return sum, per
				}
				require.Eventually(t, func() bool {
					sum, _ := handshakes()
					n := ready.OK.Load()
					return n >= int64(want) && int64(sum) == n
				}, 10*time.Second, 5*time.Millisecond, "pools not filled: %d connections ready, want %d", ready.OK.Load(), want)
				_, per := handshakes()
				for i, h := range per {
					wantTotal := perHost
					if i == 0 {
						wantTotal++ // the seed also holds gocql's control connection
					}
					require.Equal(t, cqltest.Handshakes{Full: 1, Resumed: wantTotal - 1}, h,
						"node %d (%s): full and resumed handshakes; every node: %+v", i, cl.Nodes[i].Addr(), per)
				}
			})
		}
	}
}
