package cqltest_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sort"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/testserver/cqltest"
)

// startCluster starts a cluster, closing it when the test ends; it skips the test, saying
// why, where the loopback addresses a cluster needs cannot be bound.
func startCluster(t *testing.T, opts cqltest.ClusterOptions) *cqltest.Cluster {
	t.Helper()
	c, err := cqltest.StartCluster(opts)
	if errors.Is(err, cqltest.ErrLoopbackUnavailable) {
		t.Skipf("skipping: %v", err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c
}

// dataCenterQuery is what the tests count server-side: no driver sends it on its own.
const dataCenterQuery = "SELECT data_center FROM system.local"

func TestClusterIdentityAndPeers(t *testing.T) {
	t.Parallel()
	c := startCluster(t, cqltest.ClusterOptions{
		Datacenters:     []string{"dc1", "dc1", "dc2"},
		Racks:           []string{"r1", "r2"},
		ReleaseVersions: []string{"4.1.3", "4.0.11", "3.11.16"},
	})
	require.Len(t, c.Nodes, 3)
	require.NotEqual(t, 9042, c.Port())
	for i, n := range c.Nodes {
		require.Equal(t, fmt.Sprintf("127.0.0.%d", i+2), n.Host())
		require.Equal(t, c.Port(), n.Port())
		require.True(t, n.Running())
	}
	ids := map[string]bool{}
	for _, n := range c.Nodes {
		ids[n.HostID()] = true
	}
	require.Len(t, ids, 3, "every node has its own host_id")

	// One session per node, without discovery, to read what each node says.
	for _, n := range c.Nodes {
		cfg := gocql.NewCluster(n.Addr())
		cfg.DisableInitialHostLookup = true
		s := sessionFor(t, cfg)
		m := map[string]any{}
		require.NoError(t, s.Query("SELECT * FROM system.local WHERE key='local'").MapScan(m))
		require.Equal(t, n.Datacenter(), m["data_center"])
		require.Equal(t, n.Rack(), m["rack"])
		require.Equal(t, n.ReleaseVersion(), m["release_version"])
		require.Equal(t, n.HostID(), m["host_id"].(gocql.UUID).String())
		require.Equal(t, n.Host(), m["rpc_address"].(net.IP).String())
		require.Len(t, m["tokens"], 1)

		peers, err := s.Query("SELECT peer, rpc_address, data_center, host_id, rack, tokens FROM system.peers").Iter().SliceMap()
		require.NoError(t, err)
		var got []string
		for _, p := range peers {
			got = append(got, fmt.Sprintf("%s %s %s", p["rpc_address"], p["data_center"], p["rack"]))
			require.NotEqual(t, n.HostID(), p["host_id"].(gocql.UUID).String())
		}
		var want []string
		for _, o := range c.Nodes {
			if o != n {
				want = append(want, fmt.Sprintf("%s %s %s", o.Host(), o.Datacenter(), o.Rack()))
			}
		}
		require.ElementsMatch(t, want, got)

		v2, err := s.Query("SELECT native_address, native_port FROM system.peers_v2").Iter().SliceMap()
		if n.ReleaseVersion() == "3.11.16" {
			require.ErrorContains(t, err, "unconfigured table peers_v2")
			continue
		}
		require.NoError(t, err)
		require.Len(t, v2, 2)
		for _, p := range v2 {
			require.Equal(t, c.Port(), p["native_port"])
		}
	}
}

func sessionFor(t *testing.T, cfg *gocql.ClusterConfig) *gocql.Session {
	t.Helper()
	cfg.NumConns = 1
	cfg.ReconnectionPolicy = &gocql.ConstantReconnectionPolicy{MaxRetries: 1, Interval: 10_000_000}
	cfg.ReconnectInterval = 0
	cfg.Logger = &recLogger{}
	s, err := cfg.CreateSession()
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

// TestClusterDiscovery: gocql given one node finds the others and spreads queries over all
// of them, and a DC-aware policy keeps them in its datacenter; counted by the nodes.
func TestClusterDiscovery(t *testing.T) {
	t.Parallel()
	c := startCluster(t, cqltest.ClusterOptions{Datacenters: []string{"dc1", "dc1", "dc2"}})

	cfg := gocql.NewCluster(c.Nodes[0].Addr())
	cfg.Port = c.Port() // discovered nodes are dialled on the configured port
	s := sessionFor(t, cfg)
	for i := 0; i < 30; i++ {
		var dc string
		require.NoError(t, s.Query(dataCenterQuery).Scan(&dc))
	}
	total := 0
	for _, n := range c.Nodes {
		require.Positive(t, n.Served(dataCenterQuery), "node %s", n.Addr())
		total += n.Served(dataCenterQuery)
	}
	require.Equal(t, 30, total)

	dcCfg := gocql.NewCluster(c.Nodes[0].Addr())
	dcCfg.Port = c.Port()
	dcCfg.PoolConfig.HostSelectionPolicy = gocql.DCAwareRoundRobinPolicy("dc2")
	ds := sessionFor(t, dcCfg)
	before := c.Nodes[2].Served(dataCenterQuery)
	for i := 0; i < 10; i++ {
		var dc string
		require.NoError(t, ds.Query(dataCenterQuery).Scan(&dc))
		require.Equal(t, "dc2", dc)
	}
	require.Equal(t, before+10, c.Nodes[2].Served(dataCenterQuery))
}

func TestClusterStopRestart(t *testing.T) {
	t.Parallel()
	c := startCluster(t, cqltest.ClusterOptions{Nodes: 2})
	n := c.Nodes[1]
	cfg := gocql.NewCluster(n.Addr())
	cfg.DisableInitialHostLookup = true
	s := sessionFor(t, cfg)
	require.NoError(t, s.Query(dataCenterQuery).Exec())
	require.Equal(t, 1, n.Served(dataCenterQuery))
	// Closed first: a control connection that loses its only node leaves a gocql goroutine
	// behind (refreshRing waits on a session that is closing).
	s.Close()

	require.NoError(t, n.Stop())
	require.False(t, n.Running())
	_, err := net.Dial("tcp", n.Addr())
	require.Error(t, err, "a stopped node refuses connections")
	require.NoError(t, n.Stop(), "stopping twice is fine")

	require.NoError(t, n.Restart())
	require.True(t, n.Running())
	cfg2 := gocql.NewCluster(n.Addr())
	cfg2.DisableInitialHostLookup = true
	s2 := sessionFor(t, cfg2)
	require.NoError(t, s2.Query(dataCenterQuery).Exec())
	require.Equal(t, 2, n.Served(dataCenterQuery), "counters survive a restart")
	require.Positive(t, n.Requests())
}

func TestClusterCertificates(t *testing.T) {
	t.Parallel()
	for _, layout := range []cqltest.CertLayout{cqltest.CertsDNS, cqltest.CertsDNSAndIP, cqltest.CertsShared} {
		t.Run(layout.String(), func(t *testing.T) {
			t.Parallel()
			c := startCluster(t, cqltest.ClusterOptions{Nodes: 2, Certs: layout, ExtraNames: []string{"extra.example"}})
			for _, n := range c.Nodes {
				cs := handshake(t, n.Addr(), c.PKI.Root.Pool())
				leaf := cs.PeerCertificates[0]
				require.Equal(t, n.Cert.Cert.Raw, leaf.Raw)
				switch layout {
				case cqltest.CertsDNS:
					require.Equal(t, []string{n.Name, "extra.example"}, leaf.DNSNames)
					require.Empty(t, leaf.IPAddresses)
				case cqltest.CertsDNSAndIP:
					require.Equal(t, []string{n.Name, "extra.example"}, leaf.DNSNames)
					require.Len(t, leaf.IPAddresses, 1)
					require.True(t, leaf.IPAddresses[0].Equal(n.IP))
				case cqltest.CertsShared:
					require.Equal(t, []string{cqltest.DefaultSharedName}, leaf.DNSNames)
					require.Equal(t, c.Nodes[0].Cert, n.Cert)
				}
			}
			names := []string{c.Nodes[0].Name, c.Nodes[1].Name}
			sort.Strings(names)
			require.Equal(t, []string{"node1.cqltest.test", "node2.cqltest.test"}, names)
		})
	}
}

func handshake(t *testing.T, addr string, roots *x509.CertPool) tls.ConnectionState {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, InsecureSkipVerify: true}) //nolint:gosec // the test reads the chain
	require.NoError(t, err)
	defer conn.Close()
	return conn.ConnectionState()
}

func TestClusterAddressErrors(t *testing.T) {
	t.Parallel()
	_, err := cqltest.StartCluster(cqltest.ClusterOptions{Addresses: []string{"not-an-ip"}})
	require.EqualError(t, err, `cqltest: ClusterOptions.Addresses: "not-an-ip" is not an IPv4 address`)
	_, err = cqltest.StartCluster(cqltest.ClusterOptions{Nodes: 1, Addresses: []string{"192.0.2.1"}})
	require.ErrorIs(t, err, cqltest.ErrLoopbackUnavailable)
}
