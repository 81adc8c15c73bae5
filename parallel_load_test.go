package connfactory_test

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory"
	"github.com/connfactory/connfactory/internal/bigconfig"
)

// The per-profile stages run over every core; what Validate reports (configuration,
// warnings, problems and their order) is the same as on one core, for profiles spread
// over many chunks of work, some with problems of every stage: unknown keys, bad values,
// extends (a missing parent, a chain), names, material, validation, compile warnings.
func TestValidateSameOnOneCoreAndMany(t *testing.T) {
	mat, err := bigconfig.WriteMaterial(t.TempDir(), 10)
	require.NoError(t, err)
	var b strings.Builder
	b.Write(bigconfig.TOML(600))
	for i := 0; i < 600; i += 37 {
		name := bigconfig.Name(i)
		switch i % 5 {
		case 0:
			fmt.Fprintf(&b, "[profiles.%s.pool]\nconections_per_host = 2\n", name+"x")
		case 1:
			fmt.Fprintf(&b, "[profiles.bad%d]\nextends = %q\nkeyspace = 3\n", i, name)
		case 2:
			fmt.Fprintf(&b, "[profiles.bad%d]\nextends = \"nobody\"\nbackend = \"riak\"\n", i)
		case 3:
			fmt.Fprintf(&b, "[profiles.bad%d]\nbackend = \"cassandra\"\nhosts = [\"h\"]\ntls = { mode = \"insecure\" }\n", i)
		case 4:
			fmt.Fprintf(&b, "[profiles.bad%d]\nbackend = \"riak\"\nhosts = [\"h\"]\ntls = { ca = { file = \"missing.pem\" } }\n", i)
		}
	}
	b.WriteString("[profiles.Upper_Case]\nbackend = \"riak\"\n[profiles]\nscalar = 3\n")
	path := filepath.Join(mat.Dir, "mixed.toml")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o600))
	run := func(procs int) string {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		cfg, warnings, err := connfactory.Validate(connfactory.WithFiles(path),
			connfactory.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
			connfactory.WithEnviron([]string{bigconfig.PasswordEnv + "=secret"}))
		require.Error(t, err)
		return fmt.Sprintf("%d profiles\n%s\n%s", len(cfg.Profiles), strings.Join(warnings, "\n"), err)
	}
	one := run(1)
	require.Contains(t, one, "extends unknown profile")
	require.Contains(t, one, "missing.pem")
	require.Contains(t, one, "profiles.Upper_Case")
	require.Contains(t, one, "profiles.scalar: expected a table")
	require.Equal(t, one, run(4))
}
