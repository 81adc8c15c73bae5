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

	cfg, mat, err := loaders.Load(loaders.Options{Files: []string{f}, EnvPrefix: "-"})
	require.NoError(t, err)
	first, _, _ := mat.Profile("p0").Material("tls.ca[0]")
	require.Equal(t, ca.CertPEM(), []byte(first))
	for name := range cfg.Profiles {
		data, _, _ := mat.Profile(name).Material("tls.ca[0]")
		require.Same(t, &first[0], &data[0], name)
	}
	require.Equal(t, []string{filepath.Join(dir, "ca.pem")}, mat.Files(), "the files read, once each")
}

// A device or a pipe named as a source is refused, never read: /dev/zero would never end.
func TestSourceMustBeARegularFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "p.toml")
	require.NoError(t, os.WriteFile(f, []byte(`
[profiles.p]
backend = "cassandra"
hosts = ["db"]
tls = { ca = { file = "/dev/zero" } }
auth = { mechanism = "password", username = "u", password = { file = "/dev/null" } }
`), 0o644))
	_, _, err := loaders.Load(loaders.Options{Files: []string{f}, EnvPrefix: "-"})
	require.ErrorContains(t, err, "profiles.p.tls.ca[0]: file /dev/zero: is a device, not a regular file")
	require.ErrorContains(t, err, "profiles.p.auth.password: secret file /dev/null: is a device, not a regular file")
}
