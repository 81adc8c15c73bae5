package connfactory_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory"
	"github.com/connfactory/connfactory/testserver/pki"
)

// TestRegistryLogsExpiryWarnings: material within tls.expiry_warning is a warning in the
// Registry's log when the profile is compiled, and in CompileAll (validate).
func TestRegistryLogsExpiryWarnings(t *testing.T) {
	set, err := pki.NewSet()
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ca.pem"), set.Root.CertPEM(), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "p.toml"), fmt.Appendf(nil, `
[profiles.soon]
backend = "cassandra"
hosts = ["localhost"]
tls = { ca = { file = "ca.pem" }, expiry_warning = "100000h" }

[profiles.later]
backend = "cassandra"
hosts = ["localhost"]
tls = { ca = { file = "ca.pem" } }
`), 0o600))
	var logs bytes.Buffer
	reg, err := connfactory.Load(connfactory.WithFiles(filepath.Join(dir, "p.toml")), connfactory.WithEnvPrefix("-"),
		connfactory.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	require.NoError(t, err)
	defer reg.Close()
	warnings, err := reg.CompileAll()
	require.NoError(t, err)
	require.Len(t, warnings, 1, "%v", warnings)
	require.Contains(t, warnings[0], `profiles.soon.tls.ca: CA certificate "CN=connfactory test root CA,O=connfactory test PKI" expires in `)
	require.Contains(t, warnings[0], "(tls.expiry_warning 100000h0m0s)")
	require.Contains(t, logs.String(), `level=WARN msg="connfactory: CA certificate \"CN=connfactory test root CA,O=connfactory test PKI\" expires in`)
	require.Contains(t, logs.String(), "profile=soon path=profiles.soon.tls.ca")
	require.NotContains(t, logs.String(), "profile=later")

	compiled := reg.Compiled()
	require.Len(t, compiled, 2)
	require.Equal(t, "later", compiled[0].Name())
	require.Equal(t, "soon", compiled[1].Name())
}
