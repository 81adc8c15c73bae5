package cqltest_test

import (
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/datastax/go-cassandra-native-protocol/primitive"
	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/testserver/cqltest"
)

func TestPlaintextQuery(t *testing.T) {
	t.Parallel()
	srv := start(t, cqltest.Options{})
	require.Equal(t, "127.0.0.1", srv.Host())
	require.NotZero(t, srv.Port())
	require.Equal(t, srv.Addr(), srv.HostPort())

	c, _ := newCluster(t, srv)
	s := connect(t, c)
	require.Equal(t, cqltest.DefaultReleaseVersion, releaseVersion(t, s))
	require.GreaterOrEqual(t, srv.Connections(), 1)
	require.Empty(t, srv.LastAuthUser())
}

func TestSystemTables(t *testing.T) {
	t.Parallel()
	srv := start(t, cqltest.Options{ReleaseVersion: "3.11.17", Datacenter: "west"})
	c, _ := newCluster(t, srv)
	s := connect(t, c)

	var dc, rack, release, partitioner string
	var hostID gocql.UUID
	var rpc string
	var tokens []string
	require.NoError(t, s.Query(
		`SELECT data_center, rack, release_version, partitioner, host_id, rpc_address, tokens FROM system.local WHERE key = 'local'`,
	).Scan(&dc, &rack, &release, &partitioner, &hostID, &rpc, &tokens))
	require.Equal(t, "west", dc)
	require.Equal(t, "rack1", rack)
	require.Equal(t, "3.11.17", release)
	require.Contains(t, partitioner, "Murmur3Partitioner")
	require.NotEqual(t, gocql.UUID{}, hostID)
	require.Equal(t, "127.0.0.1", rpc)
	require.Len(t, tokens, 1)

	t.Run("bind marker", func(t *testing.T) {
		var v string
		require.NoError(t, s.Query(`SELECT release_version FROM system.local WHERE key = ?`, "local").Scan(&v))
		require.Equal(t, "3.11.17", v)
	})
	t.Run("alias and quoted names", func(t *testing.T) {
		m := map[string]any{}
		require.NoError(t, s.Query(`SELECT "release_version" AS v FROM "system"."local"`).MapScan(m))
		require.Equal(t, "3.11.17", m["v"])
	})
	t.Run("select star", func(t *testing.T) {
		m := map[string]any{}
		require.NoError(t, s.Query(`SELECT * FROM system.local`).MapScan(m))
		require.Equal(t, "cqltest", m["cluster_name"])
	})
	t.Run("peers empty", func(t *testing.T) {
		rows, err := s.Query(`SELECT peer, rpc_address FROM system.peers`).Iter().SliceMap()
		require.NoError(t, err)
		require.Empty(t, rows)
	})
	t.Run("schema empty", func(t *testing.T) {
		rows, err := s.Query(`SELECT keyspace_name FROM system_schema.keyspaces`).Iter().SliceMap()
		require.NoError(t, err)
		require.Empty(t, rows)
	})
	t.Run("peers_v2 unconfigured", func(t *testing.T) {
		err := s.Query(`SELECT * FROM system.peers_v2`).Exec()
		require.ErrorContains(t, err, "unconfigured table peers_v2")
	})
	t.Run("user table unconfigured", func(t *testing.T) {
		require.ErrorContains(t, s.Query(`SELECT * FROM app.users`).Exec(), "unconfigured table users")
		require.ErrorContains(t, s.Query(`INSERT INTO app.users (id) VALUES (?)`, "x").Exec(), "unconfigured table users")
	})
	t.Run("unknown column", func(t *testing.T) {
		require.ErrorContains(t, s.Query(`SELECT nope FROM system.local`).Exec(), "Undefined column name nope")
	})
	t.Run("no keyspace", func(t *testing.T) {
		require.ErrorContains(t, s.Query(`SELECT * FROM local`).Exec(), "No keyspace has been specified")
	})
	t.Run("unsupported statement", func(t *testing.T) {
		require.ErrorContains(t, s.Query(`CREATE KEYSPACE k WITH replication = {}`).Exec(), "cqltest serves only SELECT")
	})
	t.Run("system tables read-only", func(t *testing.T) {
		require.ErrorContains(t, s.Query(`DELETE FROM system.local WHERE key = 'local'`).Exec(), "not user-modifiable")
	})
	t.Run("batch refused", func(t *testing.T) {
		b := s.Batch(gocql.LoggedBatch)
		b.Query(`INSERT INTO app.users (id) VALUES ('x')`)
		require.ErrorContains(t, b.Exec(), "BATCH is not supported")
	})
}

func TestKeyspace(t *testing.T) {
	t.Parallel()
	srv := start(t, cqltest.Options{})
	c, _ := newCluster(t, srv)
	c.Keyspace = "app"
	s := connect(t, c)
	require.Equal(t, cqltest.DefaultReleaseVersion, releaseVersion(t, s))
	// With a session keyspace, an unqualified name resolves in it.
	require.ErrorContains(t, s.Query(`SELECT * FROM users`).Exec(), "unconfigured table users")
}

func TestProtocolVersions(t *testing.T) {
	t.Parallel()
	for _, v := range []int{3, 4, 5} {
		t.Run(map[int]string{3: "v3", 4: "v4", 5: "v5"}[v], func(t *testing.T) {
			t.Parallel()
			srv := start(t, cqltest.Options{Credentials: map[string]string{"app": "secret"}})
			c, _ := newCluster(t, srv)
			c.ProtoVersion = v
			c.Authenticator = gocql.PasswordAuthenticator{Username: "app", Password: "secret"}
			obs := &versionObserver{}
			c.FrameHeaderObserver = obs
			s := connect(t, c)
			// Prepared statements: on v5 gocql needs the result metadata id from PREPARE.
			for i := 0; i < 3; i++ {
				require.Equal(t, cqltest.DefaultReleaseVersion, releaseVersion(t, s))
			}
			require.Equal(t, map[int]bool{v: true}, obs.seen())
		})
	}
	t.Run("negotiate", func(t *testing.T) {
		t.Parallel()
		srv := start(t, cqltest.Options{})
		c, _ := newCluster(t, srv)
		c.ProtoVersion = 0
		obs := &versionObserver{}
		c.FrameHeaderObserver = obs
		s := connect(t, c)
		require.Equal(t, cqltest.DefaultReleaseVersion, releaseVersion(t, s))
		require.Equal(t, map[int]bool{5: true}, obs.seen())
	})
	t.Run("negotiate down", func(t *testing.T) {
		t.Parallel()
		srv := start(t, cqltest.Options{ProtocolVersions: []primitive.ProtocolVersion{primitive.ProtocolVersion3}})
		c, _ := newCluster(t, srv)
		c.ProtoVersion = 0
		obs := &versionObserver{}
		c.FrameHeaderObserver = obs
		s := connect(t, c)
		require.Equal(t, cqltest.DefaultReleaseVersion, releaseVersion(t, s))
		// The refusals of v5 and v4 are answered in the version asked for, then v3 is used.
		require.Equal(t, map[int]bool{3: true, 4: true, 5: true}, obs.seen())
	})
	t.Run("pinned unsupported", func(t *testing.T) {
		t.Parallel()
		srv := start(t, cqltest.Options{ProtocolVersions: []primitive.ProtocolVersion{primitive.ProtocolVersion3, primitive.ProtocolVersion4}})
		c, _ := newCluster(t, srv)
		c.ProtoVersion = 5
		_, err := c.CreateSession()
		require.Error(t, err)
		requireAnswered(t, c) // refused at once, not after a timeout
		t.Logf("gocql pinned to v5 against a v3/v4 server: %v", err)
		require.ErrorContains(t, err, "unsupported protocol version 5")
	})
	t.Run("invalid option", func(t *testing.T) {
		_, err := cqltest.Start(cqltest.Options{ProtocolVersions: []primitive.ProtocolVersion{6}})
		require.ErrorContains(t, err, "cqltest: unsupported protocol version 6")
	})
}
