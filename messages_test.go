package connfactory_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory"
	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/schema"
)

func writeTOML(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "app.toml")
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

// TestRegistryErrorKinds: a closed registry, an unknown profile and a profile of the other
// backend have kind config, not "unknown", and keep their sentinels.
func TestRegistryErrorKinds(t *testing.T) {
	f := writeTOML(t, "[profiles.a]\nbackend = \"cassandra\"\nhosts = [\"localhost\"]\n")
	reg, err := connfactory.Load(connfactory.WithFiles(f), connfactory.WithEnvPrefix("-"),
		connfactory.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)

	_, err = reg.Connector("nope")
	require.ErrorIs(t, err, connfactory.ErrUnknownProfile)
	require.Equal(t, factory.KindConfig, factory.KindOf(err))
	require.EqualError(t, err, `connfactory: unknown profile "nope" (profiles: a)`)

	_, err = reg.Riak("a")
	require.ErrorIs(t, err, connfactory.ErrWrongBackend)
	require.Equal(t, factory.KindConfig, factory.KindOf(err))

	require.NoError(t, reg.Close())
	_, err = reg.Connector("a")
	require.ErrorIs(t, err, connfactory.ErrClosed)
	require.Equal(t, factory.KindConfig, factory.KindOf(err))
}

// TestExtendsMissingReportsOnlyThat: a profile extending a missing one gets that one
// problem, not also the backend and hosts it meant to inherit.
func TestExtendsMissingReportsOnlyThat(t *testing.T) {
	f := writeTOML(t, "[profiles.child]\nextends = \"nope\"\n")
	_, err := connfactory.Load(connfactory.WithFiles(f), connfactory.WithEnvPrefix("-"))
	var ps schema.Problems
	require.ErrorAs(t, err, &ps)
	require.Len(t, ps, 1, "%v", ps)
	require.Equal(t, "profiles.child.extends", ps[0].Path)
	require.Contains(t, ps[0].Message, `extends unknown profile "nope"`)
}

// TestSourceNamedOnce: problems about material name the configuration file once.
func TestSourceNamedOnce(t *testing.T) {
	certs, err := filepath.Abs(filepath.Join("examples", "configs", "certs"))
	require.NoError(t, err)
	f := writeTOML(t, `
[profiles.crl]
backend = "cassandra"
hosts = ["localhost"]
[profiles.crl.tls]
ca = { file = "`+certs+`/ca.pem" }
crl = [{ file = "`+certs+`/crl.pem" }]

[profiles.swap]
backend = "cassandra"
hosts = ["localhost"]
[profiles.swap.tls]
ca = { file = "`+certs+`/ca.pem" }
cert = { file = "`+certs+`/client.key" }
key = { file = "`+certs+`/client.pem" }

[profiles.enc]
backend = "cassandra"
hosts = ["localhost"]
[profiles.enc.tls]
ca = { file = "`+certs+`/ca.pem" }
cert = { file = "`+certs+`/client.pem" }
key = { file = "`+certs+`/client-enc.key" }
`)
	_, _, err = connfactory.Validate(connfactory.WithFiles(f), connfactory.WithEnvPrefix("-"))
	var ps schema.Problems
	require.ErrorAs(t, err, &ps)
	paths := map[string]bool{}
	for _, p := range ps {
		paths[p.Path] = true
		require.Equal(t, 1, bytes.Count([]byte(p.String()), []byte("(from "+f+")")), "%s", p)
	}
	for _, want := range []string{"profiles.crl.tls.crl[0]", "profiles.swap.tls.cert", "profiles.swap.tls.key", "profiles.enc.tls.key"} {
		require.True(t, paths[want], "no problem at %s: %v", want, ps)
	}
}

// TestRegistryWarnings: validate's weak-but-valid warnings reach the connector's warnings,
// the Registry's log and CompileAll, as one warning type.
func TestRegistryWarnings(t *testing.T) {
	f := writeTOML(t, `
[profiles.weak]
backend = "cassandra"
hosts = ["localhost"]
auth = { mechanism = "password", username = "u", password = "$CASS_PW" }
`)
	var log bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&log, nil))
	reg, err := connfactory.Load(connfactory.WithFiles(f), connfactory.WithEnvPrefix("-"), connfactory.WithLogger(logger))
	require.NoError(t, err)
	defer reg.Close()
	c, err := reg.Connector("weak")
	require.NoError(t, err)
	var ws []schema.Warning = c.Warnings()
	got := map[string]string{}
	for _, w := range ws {
		got[w.Path] = w.Message
	}
	require.Contains(t, got["profiles.weak.auth.password"], `did you mean { env = "CASS_PW" }?`)
	require.Contains(t, got["profiles.weak.tls"], "travel in plaintext")
	require.Contains(t, log.String(), "travel in plaintext")
	require.Contains(t, log.String(), "CASS_PW")

	all, err := reg.CompileAll()
	require.NoError(t, err)
	require.Contains(t, all, `profiles.weak.auth.password: the password is a literal that looks like a variable: variables are not expanded in a password; did you mean { env = "CASS_PW" }? (from `+f+`)`)
}
