package connfactorytest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/connfactory/connfactory"
	"github.com/connfactory/connfactory/connfactorytest"
	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/factory/cassandra"
	"github.com/connfactory/connfactory/testserver/cqltest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The profiles file the sandbox writes is valid and every profile in it passes a real
// check against the sandbox's servers.
func TestSandboxProfilesPass(t *testing.T) {
	sb, err := connfactorytest.Start(connfactorytest.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	defer func() { require.NoError(t, sb.Close()) }()

	reg, err := connfactory.Load(connfactory.WithFiles(sb.ProfilesFile), connfactory.WithEnvPrefix("-"))
	require.NoError(t, err)
	defer reg.Close()
	require.Equal(t, connfactorytest.ProfileNames(), reg.Profiles())
	for _, name := range reg.Profiles() {
		c, err := reg.Connector(name)
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		rep, err := c.Check(ctx)
		cancel()
		require.NoError(t, err, name)
		require.True(t, rep.OK, name)
		require.Equal(t, "ok", rep.Auth.Result, name)
		require.True(t, rep.TLS.Enabled, name)
	}
}

func TestSandboxNeedsADir(t *testing.T) {
	_, err := connfactorytest.Start(connfactorytest.Options{})
	require.EqualError(t, err, "sandbox: Options.Dir is required")
}

// With three nodes the sandbox is a two-datacenter cluster: every Cassandra profile passes a
// check of the nodes system.peers lists, except the one without tls.server_name, whose
// discovered nodes fail as per-node DNS certificates do when dialled by IP.
func TestSandboxCluster(t *testing.T) {
	sb, err := connfactorytest.Start(connfactorytest.Options{Dir: t.TempDir(), Nodes: 3})
	if errors.Is(err, cqltest.ErrLoopbackUnavailable) {
		t.Skipf("skipping: %v", err)
	}
	require.NoError(t, err)
	defer func() { require.NoError(t, sb.Close()) }()
	require.Len(t, sb.Cluster.Nodes, 3)
	var dcs []string
	for _, n := range sb.Cluster.Nodes {
		dcs = append(dcs, n.Datacenter())
	}
	require.Equal(t, []string{"dc1", "dc1", "dc2"}, dcs)

	reg, err := connfactory.Load(connfactory.WithFiles(sb.ProfilesFile), connfactory.WithEnvPrefix("-"))
	require.NoError(t, err)
	defer reg.Close()
	require.Equal(t, sb.ProfileNames(), reg.Profiles())
	checked := 0
	for _, name := range reg.Profiles() {
		c, err := reg.Connector(name)
		require.NoError(t, err)
		cc, ok := c.(*cassandra.Connector)
		if !ok {
			continue
		}
		checked++
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		rep, err := cc.CheckDiscover(ctx)
		cancel()
		require.Len(t, rep.Hosts, 3, name)
		if name == "sandbox_cassandra_node_names" {
			require.ErrorIs(t, err, factory.ErrTLSHostname)
			require.True(t, rep.Hosts[0].OK)
			require.False(t, rep.Hosts[1].OK)
			continue
		}
		require.NoError(t, err, name)
		require.True(t, rep.OK, name)
	}
	require.Equal(t, 8, checked)
}

// NewRegistry's Registry has exactly the sandbox's profiles, each one compiles, and the
// sandbox's Close closes the Registry with the servers.
func TestNewRegistry(t *testing.T) {
	reg, sb, err := connfactorytest.NewRegistry(connfactorytest.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	require.Equal(t, sb.ProfileNames(), reg.Profiles())
	c, err := reg.Connector("sandbox_riak_password")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rep, err := c.Check(ctx)
	require.NoError(t, err)
	require.True(t, rep.OK)
	require.NoError(t, sb.Close())
	_, err = reg.Connector("sandbox_riak_password")
	require.ErrorIs(t, err, connfactory.ErrClosed)
}

func TestNewRegistryNeedsADir(t *testing.T) {
	reg, sb, err := connfactorytest.NewRegistry(connfactorytest.Options{})
	require.EqualError(t, err, "sandbox: Options.Dir is required")
	require.Nil(t, reg)
	require.Nil(t, sb)
}
