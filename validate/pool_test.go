package validate_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/loaders"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/validate"
)

func loadPoolFile(t *testing.T, body string, environ ...string) *schema.Config {
	t.Helper()
	f := filepath.Join(t.TempDir(), "pool.toml")
	require.NoError(t, os.WriteFile(f, []byte(body), 0o600))
	opts := loaders.Options{Files: []string{f}, EnvPrefix: "-"}
	if len(environ) > 0 {
		opts.EnvPrefix, opts.Environ = "", environ
	}
	cfg, _, err := loaders.Load(opts)
	require.NoError(t, err)
	return cfg
}

const poolProfiles = `
[profiles.c]
backend = "cassandra"
hosts = ["db1"]

[profiles.r]
backend = "riak"
hosts = ["riak1"]
`

// Pool keys load from a file and from the environment, with their sources.
func TestPoolKeysFromFileAndEnv(t *testing.T) {
	cfg := loadPoolFile(t, poolProfiles+`
[profiles.r.pool]
connections_per_host = 4
max_connections_per_host = 16
idle_timeout = "30s"
`, "CONNFACTORY_PROFILES__C__POOL__CONNECTIONS_PER_HOST=8",
		"CONNFACTORY_PROFILES__R__POOL__MAX_CONNECTIONS_PER_HOST=32")
	require.Empty(t, validate.Config(cfg))
	require.Equal(t, &schema.Pool{ConnectionsPerHost: 8}, cfg.Profiles["c"].Pool)
	require.Equal(t, &schema.Pool{ConnectionsPerHost: 4, MaxConnectionsPerHost: 32,
		IdleTimeout: schema.Duration(30 * time.Second)}, cfg.Profiles["r"].Pool)
	require.Equal(t, "env CONNFACTORY_PROFILES__C__POOL__CONNECTIONS_PER_HOST",
		cfg.Origins.Get("profiles.c.pool.connections_per_host"))
}

func TestPoolRules(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string // "path: message"
	}{
		{"zero written", `
[profiles.c.pool]
connections_per_host = 0`, []string{"profiles.c.pool.connections_per_host: connections_per_host must be 1 to 1024 (is 0)"}},
		{"above 1024", `
[profiles.r.pool]
connections_per_host = 1025
max_connections_per_host = 2000`, []string{
			"profiles.r.pool.connections_per_host: connections_per_host must be 1 to 1024 (is 1025)",
			"profiles.r.pool.max_connections_per_host: max_connections_per_host must be 1 to 1024 (is 2000)"}},
		{"negative", `
[profiles.c.pool]
connections_per_host = -1`, []string{"profiles.c.pool.connections_per_host: connections_per_host must be 1 to 1024 (is -1)"}},
		{"max on cassandra", `
[profiles.c.pool]
connections_per_host = 8
max_connections_per_host = 16`, []string{"profiles.c.pool.max_connections_per_host: max_connections_per_host applies to riak only: " +
			"gocql keeps a fixed pool of connections_per_host connections to each Cassandra host (backend is cassandra)"}},
		{"idle_timeout on cassandra", `
[profiles.c.pool]
idle_timeout = "5s"`, []string{"profiles.c.pool.idle_timeout: idle_timeout applies to riak only: gocql keeps its connections open (backend is cassandra)"}},
		{"max below count", `
[profiles.r.pool]
connections_per_host = 8
max_connections_per_host = 4`, []string{"profiles.r.pool.max_connections_per_host: max_connections_per_host 4 is below connections_per_host 8"}},
		{"edges pass", `
[profiles.c.pool]
connections_per_host = 1024
[profiles.r.pool]
connections_per_host = 1
max_connections_per_host = 1024`, nil},
		// [defaults] serves both backends: Riak-only keys there do not break Cassandra.
		{"riak keys from defaults", `
[defaults.pool]
max_connections_per_host = 64
idle_timeout = "1m"`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := validate.Config(loadPoolFile(t, poolProfiles+tc.body))
			var got []string
			for _, p := range ps {
				got = append(got, p.Path+": "+p.Message)
			}
			require.Equal(t, tc.want, got)
		})
	}
}
