package main_test

import (
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/testserver/cqltest"
	"github.com/connfactory/connfactory/testserver/pki"
	"github.com/connfactory/connfactory/testserver/riaktest"
)

// Every secret in TestSecretsNeverPrinted contains this marker; no output may.
const canary = "CANARY"

// TestSecretsNeverPrinted plants secrets of every form (literal password, literal
// passphrase, inline PEM key, a password from an {env} reference, a password given as a
// CONNFACTORY_ variable, a password from a file) and runs every command that prints a
// configuration or a failure over them: show in each format with and without origins,
// validate passing and failing, check passing and failing, human and JSON.
func TestSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	set, err := pki.NewSet()
	require.NoError(t, err)
	files, err := set.WriteDir(filepath.Join(dir, "certs"))
	require.NoError(t, err)
	encKey, err := set.Client.EncryptedPKCS8PEM("CANARY-PASS-2")
	require.NoError(t, err)
	keyPEM := string(set.Client.KeyPEM())
	keyLines := strings.Split(strings.TrimSpace(keyPEM), "\n")
	require.Greater(t, len(keyLines), 2)
	keyBody := keyLines[1] // a line of the key's base64: must never be printed either

	cql, err := cqltest.Start(cqltest.Options{TLS: set.ServerTLSConfig(),
		Credentials: map[string]string{"app": "CANARY-PW-1"}})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, cql.Close()) })
	riakTLS := set.ServerTLSConfig()
	riakTLS.MaxVersion = tls.VersionTLS12
	riak, err := riaktest.Start(riaktest.Options{Security: true, TLS: riakTLS, Users: []riaktest.User{
		{Name: "envref", Source: riaktest.SourcePassword, Password: "CANARY-ENV-3"},
		{Name: "envlit", Source: riaktest.SourcePassword, Password: "CANARY-ENV-4"},
	}})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, riak.Close()) })

	clientJKS, err := pki.JKS("CANARY-KSPW-9", pki.JKSEntry{Alias: "app", Leaf: set.Client, KeyPassword: "CANARY-ENV-3"})
	require.NoError(t, err)
	trustP12, err := pki.PKCS12TrustStore("CANARY-TSPW-8", set.Root)
	require.NoError(t, err)
	q := func(s string) string { return fmt.Sprintf("%q", s) }
	writeFiles(t, dir, map[string]string{
		"certs/canary-enc.key": string(encKey),
		"secrets/pw.txt":       "CANARY-PW-1\n",
		"certs/client.jks":     string(clientJKS),
		"good.toml": fmt.Sprintf(`
[profiles.literal]
backend = "cassandra"
hosts = [%[1]s]
auth = { mechanism = "password", username = "app", password = "CANARY-PW-1" }
[profiles.literal.tls]
ca = { file = %[3]s }
cert = { file = %[4]s }
key = { file = "certs/canary-enc.key", passphrase = "CANARY-PASS-2" }

[profiles.inline_key]
backend = "cassandra"
hosts = [%[1]s]
auth = { mechanism = "password", username = "app", password = { file = "secrets/pw.txt" } }
[profiles.inline_key.tls]
ca = { file = %[3]s }
cert = { file = %[4]s }
key = { pem = %[5]s }

[profiles.env_ref]
backend = "riak"
hosts = [%[2]s]
auth = { mechanism = "password", username = "envref", password = { env = "SECRET_FROM_ENV" } }
tls = { ca = { file = %[3]s } }

[profiles.env_lit]
backend = "riak"
hosts = [%[2]s]
tls = { ca = { file = %[3]s } }

[profiles.keystores]
backend = "cassandra"
hosts = [%[1]s]
auth = { mechanism = "password", username = "app", password = "CANARY-PW-1" }
[profiles.keystores.tls]
truststore = { base64 = %[6]s, password = "CANARY-TSPW-8" }
keystore = { file = "certs/client.jks", password = "CANARY-KSPW-9", key_password = { env = "SECRET_FROM_ENV" } }
`, q(cql.Addr()), q(riak.Addr()), q(files[pki.FileCA]), q(files[pki.FileClientCert]), q(keyPEM),
			q(base64.StdEncoding.EncodeToString(trustP12))),
		"wrong.toml": fmt.Sprintf(`
[profiles.wrong]
backend = "cassandra"
hosts = [%[1]s]
auth = { mechanism = "password", username = "app", password = "CANARY-WRONG-5" }
tls = { ca = { file = %[2]s } }

[profiles.wrong_riak]
backend = "riak"
hosts = [%[3]s]
auth = { mechanism = "password", username = "envref", password = "CANARY-WRONG-6" }
tls = { ca = { file = %[2]s } }
`, q(cql.Addr()), q(files[pki.FileCA]), q(riak.Addr())),
		// Compile-time failures that involve the secrets themselves: a passphrase that
		// does not open the key, and inline "key" PEM that is no key.
		"badkey.toml": fmt.Sprintf(`
[profiles.bad_passphrase]
backend = "cassandra"
hosts = [%[1]s]
auth = { mechanism = "password", username = "app", password = "CANARY-PW-1" }
tls = { ca = { file = %[2]s }, cert = { file = %[3]s }, key = { file = %[4]s, passphrase = "CANARY-PASS-2" } }

[profiles.bad_pem]
backend = "cassandra"
hosts = [%[1]s]
tls = { ca = { file = %[2]s }, cert = { file = %[3]s }, key = { pem = "-----BEGIN PRIVATE KEY-----\nCANARY-KEY-7\n-----END PRIVATE KEY-----\n" } }

[profiles.bad_keystore]
backend = "cassandra"
hosts = [%[1]s]
tls = { ca = { file = %[2]s }, keystore = { file = "certs/client.jks", password = "CANARY-KSPW-WRONG" } }
`, q(cql.Addr()), q(files[pki.FileCA]), q(files[pki.FileClientCert]), q(files[pki.FileClientEncKey])),
		// Load-time failures next to secrets: a misspelt key beside a literal password,
		// a wrong type holding one.
		"badload.toml": `
[profiles.typo]
backend = "cassandra"
hosts = ["h"]
auth = { mechanism = "password", username = "app", password = { value = "CANARY-PW-1", fiel = "x" } }
[profiles.listpw]
backend = "cassandra"
hosts = ["h"]
auth = { mechanism = "password", username = "app", password = ["CANARY-PW-1"] }
`,
	})
	env := []string{
		"SECRET_FROM_ENV=CANARY-ENV-3",
		"CONNFACTORY_PROFILES__ENV_LIT__AUTH__MECHANISM=password",
		"CONNFACTORY_PROFILES__ENV_LIT__AUTH__USERNAME=envlit",
		"CONNFACTORY_PROFILES__ENV_LIT__AUTH__PASSWORD=CANARY-ENV-4",
	}
	// The partial env_lit profile is completed by env only for good.toml.
	envOther := env[:1]
	noSecret := func(t *testing.T, res result) {
		t.Helper()
		for _, out := range []string{res.stdout, res.stderr} {
			require.NotContains(t, out, canary, "a secret was printed:\n%s", res)
			require.NotContains(t, out, keyBody, "key material was printed:\n%s", res)
		}
	}

	for _, format := range []string{"toml", "yaml", "json"} {
		for _, origins := range []bool{false, true} {
			t.Run(fmt.Sprintf("show %s origins=%v", format, origins), func(t *testing.T) {
				t.Parallel()
				args := []string{"show", "-c", "good.toml", "--format", format}
				if origins {
					args = append(args, "--origins")
				}
				res := runIn(t, dir, env, args...)
				require.Equal(t, 0, res.code, "%s", res)
				noSecret(t, res)
				require.Contains(t, res.stdout, "<redacted>")
				// Secrets not written in the file are shown by where they come from.
				require.Contains(t, res.stdout, "SECRET_FROM_ENV")
				require.Contains(t, res.stdout, "secrets/pw.txt")
				require.Contains(t, res.stdout, "canary-enc.key")
				if origins {
					require.Contains(t, res.stdout, "CONNFACTORY_PROFILES__ENV_LIT__AUTH__PASSWORD")
					require.Contains(t, res.stdout, "good.toml")
				}
				doc := parseShow(t, format, res.stdout)
				require.Equal(t, "<redacted>", dig(t, doc, "profiles", "literal", "auth", "password", "value"))
				require.Equal(t, "<redacted>", dig(t, doc, "profiles", "literal", "tls", "key", "passphrase", "value"))
				require.Equal(t, "<redacted>", dig(t, doc, "profiles", "inline_key", "tls", "key", "pem"))
				require.Equal(t, "<redacted>", dig(t, doc, "profiles", "env_lit", "auth", "password", "value"))
				require.Equal(t, "SECRET_FROM_ENV", dig(t, doc, "profiles", "env_ref", "auth", "password", "env"))
				require.Equal(t, "<redacted>", dig(t, doc, "profiles", "keystores", "tls", "truststore", "base64"))
				require.Equal(t, "<redacted>", dig(t, doc, "profiles", "keystores", "tls", "truststore", "password", "value"))
				require.Equal(t, "<redacted>", dig(t, doc, "profiles", "keystores", "tls", "keystore", "password", "value"))
				require.Equal(t, "SECRET_FROM_ENV", dig(t, doc, "profiles", "keystores", "tls", "keystore", "key_password", "env"))

				// One profile at a time too.
				res = runIn(t, dir, env, append(args, "env_lit")...)
				require.Equal(t, 0, res.code, "%s", res)
				noSecret(t, res)
			})
		}
	}

	t.Run("validate ok", func(t *testing.T) {
		t.Parallel()
		res := runIn(t, dir, env, "validate", "-c", "good.toml", "wrong.toml")
		require.Equal(t, 0, res.code, "%s", res)
		noSecret(t, res)
	})

	t.Run("validate compile failures", func(t *testing.T) {
		t.Parallel()
		res := runIn(t, dir, envOther, "validate", "-c", "badkey.toml")
		require.Equal(t, 1, res.code, "%s", res)
		noSecret(t, res)
		require.Contains(t, res.stderr, "profiles.bad_passphrase.tls.key")
		require.Contains(t, res.stderr, "profiles.bad_pem.tls.key")
		require.Contains(t, res.stderr, "profiles.bad_keystore.tls.keystore: ")
	})

	t.Run("validate load failures", func(t *testing.T) {
		t.Parallel()
		res := runIn(t, dir, envOther, "validate", "-c", "badload.toml")
		require.Equal(t, 1, res.code, "%s", res)
		noSecret(t, res)
		require.Contains(t, res.stderr, "profiles.typo.auth.password.fiel")
		require.Contains(t, res.stderr, "profiles.listpw.auth.password")
		res = runIn(t, dir, envOther, "show", "-c", "badload.toml", "--origins", "--format", "json")
		require.Equal(t, 1, res.code, "%s", res)
		noSecret(t, res)
	})

	for _, asJSON := range []bool{false, true} {
		t.Run(fmt.Sprintf("check json=%v", asJSON), func(t *testing.T) {
			t.Parallel()
			args := []string{"check", "-c", "good.toml", "literal", "inline_key", "env_ref", "env_lit", "keystores"}
			if asJSON {
				args = append(args, "--json")
			}
			res := runIn(t, dir, env, args...)
			require.Equal(t, 0, res.code, "%s", res)
			noSecret(t, res)

			args = []string{"check", "-c", "wrong.toml", "wrong", "wrong_riak"}
			if asJSON {
				args = append(args, "--json")
			}
			res = runIn(t, dir, envOther, args...)
			require.Equal(t, 2, res.code, "%s", res)
			require.Contains(t, res.stdout, "auth_failed")
			noSecret(t, res)

			args = []string{"check", "-c", "badkey.toml", "bad_passphrase", "bad_pem", "bad_keystore"}
			if asJSON {
				args = append(args, "--json")
			}
			res = runIn(t, dir, envOther, args...)
			require.Equal(t, 1, res.code, "%s", res)
			noSecret(t, res)

			res = runIn(t, dir, envOther, "check", "-c", "badload.toml", "typo")
			require.Equal(t, 1, res.code, "%s", res)
			noSecret(t, res)
		})
	}

	// The canaries really are in the inputs: the test would be vacuous otherwise.
	b, err := os.ReadFile(filepath.Join(dir, "good.toml"))
	require.NoError(t, err)
	require.Contains(t, string(b), "CANARY-PW-1")
	require.Contains(t, string(b), keyBody)
}
