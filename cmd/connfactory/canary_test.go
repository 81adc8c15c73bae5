package main_test

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/connfactorytest"
	"github.com/connfactory/connfactory/loaders"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/pki"
)

// TestCanaryEveryCommand complements TestSecretsNeverPrinted with the secret forms and
// failure paths it leaves out: a PKCS#12 passphrase from the environment, an inline key
// given as base64, a PAM password from a file, sasl_plain, a mismatched inline key, an
// unset variable, base64 that does not decode, a key written as a plain string; files
// given through CONNFACTORY_CONFIG; usage errors; and the demo, whose example secrets
// must not show either. Every command's stdout and stderr are searched.
func TestCanaryEveryCommand(t *testing.T) {
	t.Parallel()
	const (
		cnPassphrase = "CANARY-CLI-P12PASS-41aa"
		cnEnvPW      = "CANARY-CLI-ENVPW-42bb"
		cnFilePW     = "CANARY-CLI-FILEPW-43cc"
		cnSASLPW     = "CANARY-CLI-SASLPW-44dd"
		cnWrongRiak  = "CANARY-CLI-WRONG-45ee"
		cnWrongCass  = "CANARY-CLI-WRONG-46ff"
		cnStorePW    = "CANARY-CLI-STOREPW-47ab" // cass_ks's key store, from the environment
		cnTrustPW    = "CANARY-CLI-TRUSTPW-48cd" // cass_ks's trust store, literal
		cnKeyPW      = "CANARY-CLI-KEYPW-49ef"   // cass_ks's key password, literal
	)
	dir := t.TempDir()
	set, err := pki.NewSet()
	require.NoError(t, err)
	issue := func() *pki.Leaf {
		l, err := set.Intermediate.Issue(pki.LeafOptions{CommonName: "app", Client: true})
		require.NoError(t, err)
		return l
	}
	p12Leaf, b64Leaf, otherLeaf, jksLeaf := issue(), issue(), issue(), issue()
	clientJKS, err := pki.JKS(cnStorePW, pki.JKSEntry{Alias: "app", Leaf: jksLeaf, KeyPassword: cnKeyPW})
	require.NoError(t, err)
	trustP12, err := pki.PKCS12TrustStore(cnTrustPW, set.Root)
	require.NoError(t, err)
	p12, err := p12Leaf.PKCS12(cnPassphrase)
	require.NoError(t, err)
	b64Key := base64.StdEncoding.EncodeToString(b64Leaf.KeyPEM())
	// What must never show: the marker, a stretch of every private key's PEM body and of
	// the base64 written in the profile.
	needles := []string{"CANARY", b64Key[len(b64Key)/2-20 : len(b64Key)/2+20]}
	for _, l := range []*pki.Leaf{p12Leaf, b64Leaf, otherLeaf, jksLeaf} {
		body := strings.ReplaceAll(strings.Join(strings.Split(string(l.KeyPEM()), "\n")[1:3], ""), "\n", "")
		needles = append(needles, body[10:50])
	}
	q := func(s string) string { return fmt.Sprintf("%q", s) }
	writeFiles(t, dir, map[string]string{
		"ca.pem":       string(set.Root.CertPEM()),
		"client.p12":   string(p12),
		"b64.pem":      string(b64Leaf.ChainPEM()),
		"pam.password": cnFilePW + "\n",
		"trust.p12":    string(trustP12),
		"client.jks":   string(clientJKS),
		"profiles.toml": fmt.Sprintf(`
[profiles.riak_p12]
backend = "riak"
hosts = ["localhost:1"]
auth = { mechanism = "password", username = "riakuser", password = { env = "CLI_RIAK_PW" } }
[profiles.riak_p12.tls]
ca = { file = "ca.pem" }
pkcs12 = { file = "client.p12", passphrase = { env = "CLI_P12_PASS" } }

[profiles.riak_pam]
backend = "riak"
hosts = ["localhost:1"]
auth = { mechanism = "pam", username = "pamuser", password = { file = "pam.password" } }
[profiles.riak_pam.tls]
ca = { file = "ca.pem" }
cert = { file = "b64.pem" }
key = { base64 = %[1]s }

[profiles.cass_sasl]
backend = "cassandra"
hosts = ["localhost:1"]
auth = { mechanism = "sasl_plain", username = "app", password = %[2]s, authorization_id = "app" }
tls = { ca = { file = "ca.pem" } }

[profiles.cass_ks]
backend = "cassandra"
hosts = ["localhost:1"]
auth = { mechanism = "password", username = "ksapp", password = { env = "CLI_RIAK_PW" } }
[profiles.cass_ks.tls]
truststore = { file = "trust.p12", password = %[5]s }
keystore = { file = "client.jks", password = { env = "CLI_KS_PW" }, key_password = %[6]s }

[profiles.riak_wrong]
extends = "riak_p12"
auth = { password = %[3]s }

[profiles.cass_wrong]
extends = "cass_sasl"
auth = { password = %[4]s }
`, q(b64Key), q(cnSASLPW), q(cnWrongRiak), q(cnWrongCass), q(cnTrustPW), q(cnKeyPW)),
		"invalid.toml": fmt.Sprintf(`
[profiles.p12_wrong_pass]
backend = "riak"
hosts = ["localhost:1"]
auth = { mechanism = "trust", username = "t" }
tls = { ca = { file = "ca.pem" }, pkcs12 = { file = "client.p12", passphrase = %[1]s } }

[profiles.mismatch]
backend = "riak"
hosts = ["localhost:1"]
auth = { mechanism = "trust", username = "t" }
tls = { ca = { file = "ca.pem" }, cert = { file = "b64.pem" }, key = { pem = %[2]s } }

[profiles.ks_wrong_pass]
backend = "riak"
hosts = ["localhost:1"]
auth = { mechanism = "trust", username = "t" }
tls = { truststore = { file = "trust.p12", password = %[1]s }, keystore = { file = "client.jks", password = %[1]s } }
`, q("CANARY-CLI-NOT-THE-PASS"), q(string(otherLeaf.KeyPEM()))),
		"invalid_load.toml": fmt.Sprintf(`
[profiles.unset]
backend = "cassandra"
hosts = ["localhost:1"]
auth = { mechanism = "password", username = "app", password = { env = "CLI_NOT_SET" } }
tls = { ca = { file = "ca.pem" }, pkcs12 = { file = "client.p12", passphrase = { env = "CLI_NOT_SET_EITHER" } } }

[profiles.bad_b64]
backend = "cassandra"
hosts = ["localhost:1"]
tls = { ca = { file = "ca.pem" }, cert = { file = "b64.pem" }, key = { base64 = "CANARY!%[1]s" } }
`, b64Key),
		"keystring.toml": fmt.Sprintf(`
[profiles.key_string]
backend = "cassandra"
hosts = ["localhost:1"]
auth = { mechanism = "password", username = "app", password = "CANARY-CLI-PW" }
tls = { ca = { file = "ca.pem" }, cert = { file = "b64.pem" }, key = %[1]s }
`, q(string(b64Leaf.KeyPEM()))),
	})
	secretEnv := []string{"CLI_RIAK_PW=" + cnEnvPW, "CLI_P12_PASS=" + cnPassphrase, "CLI_KS_PW=" + cnStorePW}

	// Servers for the good profiles, configured from the profiles as loaded.
	secretLookup := map[string]string{}
	for _, kv := range secretEnv {
		k, v, _ := strings.Cut(kv, "=")
		secretLookup[k] = v
	}
	cfg, mat, err := loaders.Load(loaders.Options{Files: []string{filepath.Join(dir, "profiles.toml")}, EnvPrefix: "-",
		LookupEnv: func(k string) (string, bool) { v, ok := secretLookup[k]; return v, ok }})
	require.NoError(t, err)
	pw, _ := mat.Profile("riak_p12").Secret("auth.password")
	require.Equal(t, cnEnvPW, pw.Reveal())
	good := map[string]*schema.Profile{}
	for _, n := range []string{"riak_p12", "riak_pam", "cass_sasl", "cass_ks"} {
		good[n] = cfg.Profiles[n]
	}
	servers, err := connfactorytest.StartForProfiles(good, mat, set.Server.TLSCertificate(), set.Root.Pool())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, servers.Close()) })
	var hosts strings.Builder
	for name, addr := range servers.Addrs {
		fmt.Fprintf(&hosts, "[profiles.%s]\nhosts = [%q]\n", name, addr)
	}
	writeFiles(t, dir, map[string]string{"hosts.toml": hosts.String()})

	check := func(t *testing.T, res result, code int) {
		t.Helper()
		require.Equal(t, code, res.code, "%s", res)
		for _, out := range []string{res.stdout, res.stderr} {
			for _, n := range needles {
				require.NotContains(t, out, n, "a secret was printed:\n%s", res)
			}
		}
	}
	files := []string{"-c", "profiles.toml", "-c", "hosts.toml"}
	cmd := func(args ...string) []string { return append(append([]string{args[0]}, files...), args[1:]...) }

	t.Run("validate", func(t *testing.T) {
		t.Parallel()
		check(t, runIn(t, dir, secretEnv, cmd("validate")...), 0)
		res := runIn(t, dir, secretEnv, "validate", "-c", "invalid.toml")
		check(t, res, 1)
		for _, want := range []string{"profiles.p12_wrong_pass.tls.pkcs12", "wrong passphrase",
			"profiles.mismatch.tls.key", "does not match", "profiles.ks_wrong_pass.tls.keystore: ",
			"profiles.ks_wrong_pass.tls.truststore: ", "wrong password"} {
			require.Contains(t, res.stderr, want)
		}
		res = runIn(t, dir, secretEnv, "validate", "-c", "invalid_load.toml")
		check(t, res, 1)
		for _, want := range []string{"CLI_NOT_SET ", "CLI_NOT_SET_EITHER", "profiles.bad_b64.tls.key", "base64"} {
			require.Contains(t, res.stderr, want)
		}
		res = runIn(t, dir, secretEnv, "validate", "-c", "keystring.toml")
		check(t, res, 1)
		require.Contains(t, res.stderr, "profiles.key_string.tls.key")
	})

	t.Run("CONNFACTORY_CONFIG", func(t *testing.T) {
		t.Parallel()
		env := append([]string{"CONNFACTORY_CONFIG=profiles.toml:hosts.toml"}, secretEnv...)
		check(t, runIn(t, dir, env, "validate"), 0)
		check(t, runIn(t, dir, env, "show", "--origins"), 0)
		check(t, runIn(t, dir, env, "check", "riak_p12", "riak_wrong"), 2)
		check(t, runIn(t, dir, []string{"CONNFACTORY_CONFIG=invalid_load.toml:invalid.toml"}, "show", "--format", "json"), 1)
	})

	for _, format := range []string{"toml", "yaml", "json"} {
		t.Run("show "+format, func(t *testing.T) {
			t.Parallel()
			for _, extra := range [][]string{nil, {"--origins"}, {"riak_pam"}, {"riak_p12", "--origins"}} {
				res := runIn(t, dir, secretEnv, cmd(append([]string{"show", "--format", format}, extra...)...)...)
				check(t, res, 0)
				if len(extra) == 0 || extra[0] != "riak_p12" { // riak_p12's secrets all come from the environment
					require.Contains(t, res.stdout, schema.Redacted)
				}
			}
			// show loads and validates but does not compile: invalid.toml's keys are
			// only refused by validate and check.
			for f, code := range map[string]int{"invalid.toml": 0, "invalid_load.toml": 1, "keystring.toml": 1} {
				check(t, runIn(t, dir, secretEnv, "show", "-c", f, "--format", format, "--origins"), code)
			}
		})
	}

	for _, asJSON := range []bool{false, true} {
		t.Run(fmt.Sprintf("check json=%v", asJSON), func(t *testing.T) {
			t.Parallel()
			withJSON := func(args []string) []string {
				if asJSON {
					return append(args, "--json")
				}
				return args
			}
			check(t, runIn(t, dir, secretEnv, withJSON(cmd("check", "riak_p12", "riak_pam", "cass_sasl"))...), 0)
			res := runIn(t, dir, secretEnv, withJSON(cmd("check", "cass_ks"))...)
			check(t, res, 0)
			// The client certificate from the key store is reported (the server requires one).
			require.Contains(t, res.stdout, map[bool]string{false: "client:  CN=app", true: `"client_cert":{"subject":"CN=app"`}[asJSON], "%s", res)
			res = runIn(t, dir, secretEnv, withJSON(cmd("check", "riak_wrong", "cass_wrong", "riak_pam"))...)
			check(t, res, 2)
			require.Contains(t, res.stdout, "auth_failed", "%s", res)
			check(t, runIn(t, dir, secretEnv, withJSON([]string{"check", "-c", "invalid.toml", "mismatch", "p12_wrong_pass", "ks_wrong_pass"})...), 1)
			check(t, runIn(t, dir, secretEnv, withJSON([]string{"check", "-c", "invalid_load.toml", "unset"})...), 1)
			check(t, runIn(t, dir, secretEnv, withJSON(cmd("check", "riak_p12", "--timeout", "1ns"))...), 2)
		})
	}

	t.Run("usage errors", func(t *testing.T) {
		t.Parallel()
		check(t, runIn(t, dir, secretEnv, cmd("check", "no_such_profile")...), 64)
		check(t, runIn(t, dir, secretEnv, cmd("show", "no_such_profile")...), 64)
		check(t, runIn(t, dir, secretEnv, cmd("show", "--format", "xml")...), 64)
		check(t, runIn(t, dir, secretEnv, cmd("validate", "--no-such-flag")...), 64)
		check(t, runIn(t, dir, secretEnv, "validate", "-c", "missing.toml"), 1)
	})

	// The canaries are really in the inputs, or the test would be vacuous.
	b, err := os.ReadFile(filepath.Join(dir, "profiles.toml"))
	require.NoError(t, err)
	require.Contains(t, string(b), cnSASLPW)
	require.Contains(t, string(b), needles[1])
}

// TestCanaryDemo runs the demo and searches its output for the example profiles' secrets
// (passwords and passphrases from examples/configs/secrets, and the wrong password the
// demo plants itself).
func TestCanaryDemo(t *testing.T) {
	t.Parallel()
	secrets, err := filepath.Glob(filepath.Join(moduleRoot, "examples", "configs", "secrets", "*"))
	require.NoError(t, err)
	require.NotEmpty(t, secrets)
	needles := []string{"not-the-password"}
	for _, f := range secrets {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		needles = append(needles, strings.TrimSpace(string(b)))
	}
	res := runIn(t, t.TempDir(), nil, "demo")
	require.Equal(t, 0, res.code, "%s", res)
	require.Contains(t, res.stdout, "auth_failed", "the demo's wrong password must be diagnosed")
	for _, n := range needles {
		require.NotContains(t, res.stdout+res.stderr, n, "an example secret was printed:\n%s", res)
	}
}
