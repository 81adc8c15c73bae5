package validate_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/loaders"
	"github.com/connfactory/connfactory/validate"
)

// [defaults] is shared by both backends: a Cassandra-only key set there does not make a
// Riak profile invalid, but the same key set on the Riak profile itself does.
func TestCassandraOnlyKeysFromDefaults(t *testing.T) {
	f := filepath.Join(t.TempDir(), "a.toml")
	require.NoError(t, os.WriteFile(f, []byte(`
[defaults]
consistency = "local_quorum"
protocol_version = 4
keyspace = "app"

[profiles.c]
backend = "cassandra"
hosts = ["db1"]

[profiles.r]
backend = "riak"
hosts = ["riak1"]

[profiles.r_own]
backend = "riak"
hosts = ["riak1"]
keyspace = "mine"
`), 0o600))
	cfg, _, err := loaders.Load(loaders.Options{Files: []string{f}, EnvPrefix: "-"})
	require.NoError(t, err)
	ps := validate.Config(cfg)
	require.Len(t, ps, 1, ps.Error())
	require.Equal(t, "profiles.r_own.keyspace", ps[0].Path)
	require.Contains(t, ps[0].Message, "applies to cassandra only")
}
