package validate_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/loaders"
	"github.com/connfactory/connfactory/validate"
)

// TestExamplesAreValid runs the shipped example configurations through the loaders and
// the rules: an example the rules refuse is a false positive (or a broken example).
func TestExamplesAreValid(t *testing.T) {
	t.Chdir("..") // env.example's relative paths are relative to the module root
	dir := filepath.Join("examples", "configs")
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		t.Logf("%s does not exist yet: nothing to check", dir)
		return
	}
	var files []string
	for _, ext := range []string{"toml", "yaml", "yml", "json"} {
		m, err := filepath.Glob(filepath.Join(dir, "*."+ext))
		require.NoError(t, err)
		files = append(files, m...)
	}
	require.NotEmpty(t, files)
	env := map[string]string{}
	var environ []string
	if b, err := os.ReadFile(filepath.Join(dir, "env.example")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && !strings.HasPrefix(k, "#") {
				k, v = strings.TrimPrefix(k, "export "), strings.Trim(v, `"'`)
				env[k] = v
				environ = append(environ, k+"="+v)
			}
		}
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, _, err := loaders.Load(loaders.Options{
				Files:     []string{f},
				EnvPrefix: "-",
				LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
			})
			require.NoError(t, err)
			require.NotEmpty(t, cfg.Profiles)
			require.Empty(t, validate.Config(cfg))
		})
	}
	if len(environ) > 0 {
		t.Run("env.example", func(t *testing.T) {
			cfg, _, err := loaders.Load(loaders.Options{
				Environ:   environ,
				LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
			})
			require.NoError(t, err)
			require.NotEmpty(t, cfg.Profiles)
			require.Empty(t, validate.Config(cfg))
		})
	}
}

// TestSourcesFromLoaders checks that problems name where the loaders found the value: the
// file, or the environment variable that overrode it.
func TestSourcesFromLoaders(t *testing.T) {
	file := filepath.Join(t.TempDir(), "app.toml")
	require.NoError(t, os.WriteFile(file, []byte(`
[profiles.p]
backend = "cassandra"
hosts = ["db1:9042"]
protocol_version = 2

[profiles.p.tls]
mode = "verify-full"
min_version = "1.1"
`), 0o600))
	cfg, _, err := loaders.Load(loaders.Options{
		Files:     []string{file},
		Environ:   []string{"CONNFACTORY_PROFILES__P__HOSTS=db1:9042,db2:99999"},
		LookupEnv: func(string) (string, bool) { return "", false },
	})
	require.NoError(t, err)
	ps := validate.Config(cfg)
	require.Len(t, ps, 3, "problems: %v", ps)
	require.Equal(t, "profiles.p.hosts[1]", ps[0].Path)
	require.Contains(t, ps[0].Source, "CONNFACTORY_PROFILES__P__HOSTS")
	require.Equal(t, "profiles.p.protocol_version", ps[1].Path)
	require.Contains(t, ps[1].Source, "app.toml")
	require.Equal(t, "profiles.p.tls.min_version", ps[2].Path)
	require.Contains(t, ps[2].Source, "app.toml")
}
