package loaders_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/loaders"
	"github.com/connfactory/connfactory/testserver/pki"
)

// Many profiles naming one CA bundle hold one copy of its bytes, not one each.
func TestOneReadPerFile(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.NewRootCA("shared")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ca.pem"), ca.CertPEM(), 0o644))
	var b strings.Builder
	for i := range 20 {
		fmt.Fprintf(&b, "[profiles.p%d]\nbackend = \"cassandra\"\nhosts = [\"db\"]\ntls = { ca = { file = \"ca.pem\" } }\n", i)
	}
	f := filepath.Join(dir, "many.toml")
	require.NoError(t, os.WriteFile(f, []byte(b.String()), 0o644))

	cfg, err := loaders.Load(loaders.Options{Files: []string{f}, EnvPrefix: "-"})
	require.NoError(t, err)
	first := cfg.Profiles["p0"].TLS.CA[0].Data
	require.Equal(t, ca.CertPEM(), []byte(first))
	for name, p := range cfg.Profiles {
		require.Same(t, &first[0], &p.TLS.CA[0].Data[0], name)
	}
}
