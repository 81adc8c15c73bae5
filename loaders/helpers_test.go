package loaders_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
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
	cfg, err := loaders.Load(opts)
	require.NotNil(t, cfg, "Load returns a config even with problems")
	if err == nil {
		return cfg, nil
	}
	require.ErrorIs(t, err, schema.ErrInvalid)
	var ps schema.Problems
	require.True(t, errors.As(err, &ps), "error is schema.Problems: %T", err)
	return cfg, ps
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
