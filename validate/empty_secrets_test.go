package validate_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/loaders"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/validate"
)

// TestEmptySecretsRefused: an empty secret, however it was written, is a problem at its
// path for every mechanism that takes one (cassandra password and sasl_plain, riak
// password and pam, per-host passwords) and for key and PKCS#12 passphrases.
func TestEmptySecretsRefused(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"empty.pw": "", "newline.pw": "\n", "good.pw": "s3cret\n"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
	}
	file := filepath.Join(dir, "app.toml")
	require.NoError(t, os.WriteFile(file, []byte(`
[profiles.literal]
backend = "cassandra"
hosts = ["h"]
auth = { mechanism = "password", username = "u", password = "" }
[profiles.table]
backend = "cassandra"
hosts = ["h"]
auth = { mechanism = "sasl_plain", username = "u", password = {} }
[profiles.value]
backend = "cassandra"
hosts = ["h"]
auth = { mechanism = "password", username = "u", password = { value = "" } }
[profiles.envempty]
backend = "riak"
hosts = ["h"]
tls = { mode = "verify-full" }
auth = { mechanism = "password", username = "u", password = { env = "EMPTY_PW" } }
[profiles.fileempty]
backend = "riak"
hosts = ["h"]
tls = { mode = "verify-full" }
auth = { mechanism = "pam", username = "u", password = { file = "empty.pw" } }
[profiles.filenewline]
backend = "cassandra"
hosts = ["h"]
auth = { mechanism = "password", username = "u", password = { file = "newline.pw" } }
[profiles.perhost]
backend = "cassandra"
hosts = ["h"]
auth = { mechanism = "password", username = "u", password = { file = "good.pw" }, per_host = [{ host = "x", username = "v", password = "" }] }
[profiles.keypass]
backend = "cassandra"
hosts = ["h"]
[profiles.keypass.tls]
cert = { pem = "x" }
key = { pem = "x", passphrase = { env = "EMPTY_PW" } }
[profiles.p12pass]
backend = "cassandra"
hosts = ["h"]
[profiles.p12pass.tls]
pkcs12 = { base64 = "eA==", passphrase = { file = "empty.pw" } }
[profiles.good]
backend = "cassandra"
hosts = ["h"]
auth = { mechanism = "password", username = "u", password = { file = "good.pw" } }
`), 0o600))
	// What a source holds is judged where it is resolved (the loaders), the rest by
	// validate: together, as Load reports them.
	cfg, _, err := loaders.Load(loaders.Options{Files: []string{file}, Environ: []string{},
		LookupEnv: func(k string) (string, bool) { return "", k == "EMPTY_PW" }})
	var ps schema.Problems
	require.ErrorAs(t, err, &ps)
	ps = append(ps, validate.Config(cfg)...)
	want := map[string]string{
		"profiles.literal.auth.password":             "secret is empty",
		"profiles.table.auth.password":               "secret is empty",
		"profiles.value.auth.password":               "secret is empty",
		"profiles.envempty.auth.password":            "environment variable EMPTY_PW is set but empty",
		"profiles.fileempty.auth.password":           "secret file " + filepath.Join(dir, "empty.pw") + " is empty",
		"profiles.filenewline.auth.password":         "secret file " + filepath.Join(dir, "newline.pw") + " is empty",
		"profiles.perhost.auth.per_host[0].password": "secret is empty",
		"profiles.keypass.tls.key.passphrase":        "environment variable EMPTY_PW is set but empty",
		"profiles.p12pass.tls.pkcs12.passphrase":     "is empty",
	}
	got := map[string]string{}
	for _, p := range ps {
		if _, ok := want[p.Path]; ok {
			got[p.Path] = p.Message
		}
		require.NotContains(t, p.Path, "profiles.good.", "%v", p)
	}
	for path, msg := range want {
		require.Contains(t, got, path, "problems: %v", ps)
		require.Contains(t, got[path], msg)
	}

	// A Go program handing over an empty secret is refused too.
	p := riak()
	p.Auth.Password = &schema.SecretSource{}
	ps = validate.Config(&schema.Config{Profiles: map[string]*schema.Profile{"go": p}})
	require.Len(t, ps, 1, "%v", ps)
	require.Equal(t, "profiles.go.auth.password", ps[0].Path)
	require.Contains(t, ps[0].Message, "secret is empty")
}
