package loaders_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/loaders"
	"github.com/connfactory/connfactory/schema"
)

// write creates dir/name with content (parents too) and returns its path.
func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

// envLookup is a LookupEnv over a fixed map, so tests never depend on the real environment.
func envLookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// load runs Load with an empty environment unless the options say otherwise.
func load(t *testing.T, opts loaders.Options) (*schema.Config, schema.Problems) {
	t.Helper()
	if opts.Environ == nil {
		opts.Environ = []string{}
	}
	if opts.LookupEnv == nil {
		opts.LookupEnv = envLookup(nil)
	}
	cfg, mat, err := loaders.Load(opts)
	require.NotNil(t, cfg, "Load returns a config even with problems")
	loaded.Store(cfg, mat)
	if err == nil {
		return cfg, nil
	}
	require.ErrorIs(t, err, schema.ErrInvalid)
	var ps schema.Problems
	require.True(t, errors.As(err, &ps), "error is schema.Problems: %T", err)
	return cfg, ps
}

// loaded maps each configuration load returned to its resolved material.
var loaded sync.Map // *schema.Config -> *loaders.Material

// materialOf is what the load of cfg resolved.
func materialOf(t *testing.T, cfg *schema.Config) *loaders.Material {
	t.Helper()
	m, ok := loaded.Load(cfg)
	require.True(t, ok, "cfg was not loaded by load")
	return m.(*loaders.Material)
}

// dataOf is the bytes the source at path of profile resolved to ("" if none).
func dataOf(t *testing.T, cfg *schema.Config, profile, path string) string {
	t.Helper()
	b, _, _ := materialOf(t, cfg).Profile(profile).Material(path)
	return string(b)
}

// modeOf is the permission bits of the file the source at path was read from.
func modeOf(t *testing.T, cfg *schema.Config, profile, path string) uint32 {
	t.Helper()
	_, mode, _ := materialOf(t, cfg).Profile(profile).Material(path)
	return mode
}

// secretOf is the secret at path of profile: as resolved, else the literal sec.
func secretOf(t *testing.T, cfg *schema.Config, profile, path string, sec *schema.SecretSource) string {
	t.Helper()
	if v, ok := materialOf(t, cfg).Profile(profile).Secret(path); ok {
		return v.Reveal()
	}
	require.NotNil(t, sec, "no secret at %s", path)
	return sec.Value.Reveal()
}

// originOf describes the source m at path as messages do: "file ca.pem (from app.toml)".
func originOf(t *testing.T, cfg *schema.Config, profile, path string, m *schema.MaterialSource) string {
	t.Helper()
	d := m.Describe()
	if o := materialOf(t, cfg).Profile(profile).Origin(path); o != "" && !m.System {
		d += " (from " + o + ")"
	}
	return d
}

// loadOK loads and requires no problems.
func loadOK(t *testing.T, opts loaders.Options) *schema.Config {
	t.Helper()
	cfg, ps := load(t, opts)
	require.Empty(t, ps, "problems:\n%s", ps.Error())
	return cfg
}

// findProblem returns the problem at path whose message contains substr.
func findProblem(t *testing.T, ps schema.Problems, path, substr string) schema.Problem {
	t.Helper()
	for _, p := range ps {
		if p.Path == path && strings.Contains(p.Message, substr) {
			return p
		}
	}
	require.Failf(t, "problem not found", "want %s: ...%s...\ngot:\n%s", path, substr, ps.Error())
	return schema.Problem{}
}

const minimalCass = `
[profiles.p]
backend = "cassandra"
hosts = ["localhost:9042"]
`
