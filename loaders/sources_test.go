package loaders_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/loaders"
	"github.com/connfactory/connfactory/schema"
)

const fakePEM = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"

func TestSecretSources(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "secrets/pw", "file-secret\n")
	write(t, dir, "secrets/two", "two-lines\n\n")
	write(t, dir, "secrets/crlf", "crlf-secret\r\n")
	f := write(t, dir, "a.toml", `
[profiles.literal]
backend = "cassandra"
hosts = ["h"]
auth = { mechanism = "password", password = "lit-secret" }
[profiles.literal_table]
backend = "cassandra"
hosts = ["h"]
auth = { password = { value = "lit2" } }
[profiles.fromenv]
backend = "cassandra"
hosts = ["h"]
auth = { password = { env = "PW" } }
[profiles.fromfile]
backend = "cassandra"
hosts = ["h"]
auth = { password = { file = "secrets/pw" } }
[profiles.twolines]
backend = "cassandra"
hosts = ["h"]
auth = { password = { file = "secrets/two" } }
[profiles.crlf]
backend = "cassandra"
hosts = ["h"]
auth = { password = { file = "secrets/crlf" } }
[profiles.perhost]
backend = "cassandra"
hosts = ["h"]
auth = { per_host = [{ host = "10.0.0.7", username = "u", password = { env = "PW" } }] }
`)
	cfg := loadOK(t, loaders.Options{Files: []string{f}, LookupEnv: envLookup(map[string]string{"PW": "env-secret", "EMPTY": ""})})
	sec := func(name string) string {
		return secretOf(t, cfg, name, "auth.password", cfg.Profiles[name].Auth.Password)
	}
	require.Equal(t, "lit-secret", sec("literal"))
	require.Equal(t, "lit2", sec("literal_table"))
	require.Equal(t, "env-secret", sec("fromenv"))
	require.Equal(t, "file-secret", sec("fromfile"), "one trailing newline trimmed")
	require.Equal(t, "two-lines\n", sec("twolines"), "only one")
	require.Equal(t, "crlf-secret", sec("crlf"))
	require.Equal(t, filepath.Join(dir, "secrets", "pw"), cfg.Profiles["fromfile"].Auth.Password.File)
	require.Equal(t, "env-secret", secretOf(t, cfg, "perhost", "auth.per_host[0].password", cfg.Profiles["perhost"].Auth.PerHost[0].Password))
	require.Equal(t, "literal", cfg.Profiles["literal"].Auth.Password.Describe())

	// Set but empty is an empty secret, refused where it is resolved.
	g := write(t, dir, "b.toml", "[profiles.emptyenv]\nbackend = \"cassandra\"\nhosts = [\"h\"]\nauth = { password = { env = \"EMPTY\" } }\n")
	_, ps := load(t, loaders.Options{Files: []string{g}, LookupEnv: envLookup(map[string]string{"EMPTY": ""})})
	p := findProblem(t, ps, "profiles.emptyenv.auth.password", "environment variable EMPTY is set but empty: an empty secret is refused")
	require.Equal(t, g, p.Source)
}

func TestSecretSourceProblems(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "adir/x", "")
	write(t, dir, "plainfile", "supersecret")
	f := write(t, dir, "a.toml", `
[profiles.unset]
backend = "cassandra"
hosts = ["h"]
auth = { password = { env = "NOT_SET_ANYWHERE" } }
[profiles.missing]
backend = "cassandra"
hosts = ["h"]
auth = { password = { file = "nope.txt" } }
[profiles.isdir]
backend = "cassandra"
hosts = ["h"]
auth = { password = { file = "adir" } }
[profiles.unreadable]
backend = "cassandra"
hosts = ["h"]
auth = { password = { file = "plainfile/below" } }
[profiles.two]
backend = "cassandra"
hosts = ["h"]
auth = { password = { value = "supersecret", env = "PW" } }
[profiles.float]
backend = "cassandra"
hosts = ["h"]
auth = { password = 1.50 }
[profiles.perhost]
backend = "cassandra"
hosts = ["h"]
auth = { per_host = [{ host = "x", password = { env = "NOT_SET_PH" } }] }
`)
	_, ps := load(t, loaders.Options{Files: []string{f}, LookupEnv: envLookup(map[string]string{"PW": "supersecret"})})
	p := findProblem(t, ps, "profiles.unset.auth.password", "environment variable NOT_SET_ANYWHERE is not set")
	require.Equal(t, f, p.Source)
	findProblem(t, ps, "profiles.missing.auth.password", "secret file "+filepath.Join(dir, "nope.txt")+": no such file or directory")
	findProblem(t, ps, "profiles.isdir.auth.password", "is a directory")
	findProblem(t, ps, "profiles.unreadable.auth.password", "not a directory")
	findProblem(t, ps, "profiles.two.auth.password", "exactly one of")
	findProblem(t, ps, "profiles.float.auth.password", "quoted string")
	findProblem(t, ps, "profiles.perhost.auth.per_host[0].password", "NOT_SET_PH is not set")
	require.Len(t, ps, 7, ps.Error())
	require.NotContains(t, ps.Error(), "supersecret")
}

func TestMaterialSources(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "certs/ca.pem", fakePEM)
	key := write(t, dir, "certs/client.key", "-----BEGIN PRIVATE KEY-----\nK\n-----END PRIVATE KEY-----\n")
	require.NoError(t, os.Chmod(key, 0o640))
	b64 := base64.StdEncoding.EncodeToString([]byte(fakePEM))
	f := write(t, dir, "conf/a.toml", `
[profiles.p]
backend = "cassandra"
hosts = ["h"]
[profiles.p.tls]
ca = [{ file = "../certs/ca.pem" }, "system", { env = "CA_PEM" }, { pem = """`+fakePEM+`""" }, { base64 = "`+b64+`" }, { env_base64 = "CA_B64" }, { env = "ESCAPED" }]
cert = { file = "`+filepath.Join(dir, "certs", "ca.pem")+`" }
key = { file = "../certs/client.key", passphrase = { env = "KEYPASS" } }
crl = { base64 = "`+base64.RawStdEncoding.EncodeToString([]byte(fakePEM+"x"))+`" }
`)
	cfg := loadOK(t, loaders.Options{Files: []string{f}, LookupEnv: envLookup(map[string]string{
		"CA_PEM":  fakePEM,
		"CA_B64":  b64,
		"ESCAPED": strings.ReplaceAll(fakePEM, "\n", `\n`),
		"KEYPASS": "kp",
	})})
	tl := cfg.Profiles["p"].TLS
	require.Len(t, tl.CA, 7)
	ca := func(i int) string { return fmt.Sprintf("tls.ca[%d]", i) }
	for i, c := range tl.CA {
		if i == 1 {
			require.True(t, c.System)
			require.Empty(t, dataOf(t, cfg, "p", ca(i)))
			require.Equal(t, "system", originOf(t, cfg, "p", ca(i), &tl.CA[i]))
			continue
		}
		require.Equal(t, fakePEM, dataOf(t, cfg, "p", ca(i)), "ca[%d]", i)
	}
	require.Equal(t, filepath.Join(dir, "certs", "ca.pem"), tl.CA[0].File, "relative to the naming file")
	require.Equal(t, "file "+filepath.Join(dir, "certs", "ca.pem")+" (from "+f+")", originOf(t, cfg, "p", ca(0), &tl.CA[0]))
	require.Equal(t, uint32(0o644), modeOf(t, cfg, "p", ca(0)))
	require.Equal(t, "env CA_PEM (from "+f+")", originOf(t, cfg, "p", ca(2), &tl.CA[2]))
	require.Equal(t, "inline pem (from "+f+")", originOf(t, cfg, "p", ca(3), &tl.CA[3]))
	require.Equal(t, filepath.Join(dir, "certs", "ca.pem"), tl.Cert.File, "absolute paths stay")
	require.Equal(t, uint32(0o640), modeOf(t, cfg, "p", "tls.key"), "key file mode recorded for the permission check")
	require.Equal(t, "kp", secretOf(t, cfg, "p", "tls.key.passphrase", tl.Key.Passphrase))
	require.Len(t, tl.CRL, 1, "one source where a list is allowed")
	require.Equal(t, fakePEM+"x", dataOf(t, cfg, "p", "tls.crl[0]"), "unpadded base64 accepted")
	require.Zero(t, modeOf(t, cfg, "p", ca(2)), "no mode for non-file sources")
}

func TestMaterialSourceProblems(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "empty.pem", "")
	write(t, dir, "adir/x", "")
	write(t, dir, "plainfile", "x")
	f := write(t, dir, "a.toml", `
[profiles.p]
backend = "cassandra"
hosts = ["h"]
[profiles.p.tls]
ca = [{ file = "missing.pem" }, { file = "adir" }, { file = "plainfile/below" }, { file = "empty.pem" }, { env = "UNSET_CA" }, { env_base64 = "UNSET_B64" }, { env_base64 = "BAD_B64" }, { base64 = "!!!not base64" }, { file = "x", env = "Y" }, {}]
cert = "system"
key = { pem = "-----BEGIN PRIVATE KEY-----\nSECRETKEYBYTES", base64 = "U0VDUkVU" }
pkcs12 = { file = "missing.p12", passphrase = { env = "UNSET_PASS" } }
`)
	_, ps := load(t, loaders.Options{Files: []string{f}, LookupEnv: envLookup(map[string]string{"BAD_B64": "%%%"})})
	for _, want := range []struct{ path, msg string }{
		{"profiles.p.tls.ca[0]", "file " + filepath.Join(dir, "missing.pem") + ": no such file or directory"},
		{"profiles.p.tls.ca[1]", "is a directory"},
		{"profiles.p.tls.ca[2]", "not a directory"},
		{"profiles.p.tls.ca[3]", "is empty"},
		{"profiles.p.tls.ca[4]", "environment variable UNSET_CA is not set"},
		{"profiles.p.tls.ca[5]", "environment variable UNSET_B64 is not set"},
		{"profiles.p.tls.ca[6]", "environment variable BAD_B64 does not hold base64"},
		{"profiles.p.tls.ca[7]", "inline base64 does not decode"},
		{"profiles.p.tls.ca[8]", "exactly one of"},
		{"profiles.p.tls.ca[9]", "no source given"},
		{"profiles.p.tls.cert", `"system" is only a CA source`},
		{"profiles.p.tls.key", "exactly one of"},
		{"profiles.p.tls.pkcs12", "no such file or directory"},
		{"profiles.p.tls.pkcs12.passphrase", "UNSET_PASS is not set"},
	} {
		p := findProblem(t, ps, want.path, want.msg)
		require.Equal(t, f, p.Source, want.path)
	}
	require.Len(t, ps, 14, ps.Error())
	require.NotContains(t, ps.Error(), "SECRETKEYBYTES")
	require.NotContains(t, ps.Error(), "%%%")
}

func TestRelativePathsFromEnvAndValuesUseCwd(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "certs/ca.pem", fakePEM)
	write(t, dir, "pw", "s\n")
	t.Chdir(dir)
	cfg := loadOK(t, loaders.Options{
		Environ: []string{
			"CONNFACTORY_PROFILES__P__BACKEND=cassandra",
			"CONNFACTORY_PROFILES__P__HOSTS=h",
			"CONNFACTORY_PROFILES__P__TLS__CA__FILE=certs/ca.pem",
		},
		Values: map[string]any{"profiles.p.auth.password.file": "pw"},
	})
	p := cfg.Profiles["p"]
	require.Equal(t, "certs/ca.pem", p.TLS.CA[0].File)
	require.Equal(t, fakePEM, dataOf(t, cfg, "p", "tls.ca[0]"))
	require.Equal(t, "pw", p.Auth.Password.File)
	require.Equal(t, "s", secretOf(t, cfg, "p", "auth.password", p.Auth.Password))
	require.Equal(t, "file certs/ca.pem (from env CONNFACTORY_PROFILES__P__TLS__CA__FILE)", originOf(t, cfg, "p", "tls.ca[0]", &p.TLS.CA[0]))
}

func TestRelativePathsPerFile(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "one/ca.pem", fakePEM)
	write(t, dir, "two/ca.pem", strings.Replace(fakePEM, "AAAA", "BBBB", 1))
	a := write(t, dir, "one/a.toml", minimalCass+"[profiles.p.tls]\nca = { file = \"ca.pem\" }\n")
	b := write(t, dir, "two/b.yaml", "profiles:\n  q:\n    backend: riak\n    hosts: [h]\n    tls: {ca: {file: ca.pem}}\n")
	cfg := loadOK(t, loaders.Options{Files: []string{a, b}})
	require.Contains(t, dataOf(t, cfg, "p", "tls.ca[0]"), "AAAA")
	require.Contains(t, dataOf(t, cfg, "q", "tls.ca[0]"), "BBBB")
}

func TestResolveTLSForReload(t *testing.T) {
	dir := t.TempDir()
	ca := write(t, dir, "ca.pem", fakePEM)
	f := write(t, dir, "a.toml", minimalCass+"[profiles.p.tls]\nca = { file = \"ca.pem\" }\nkey = { env = \"KEY\", passphrase = { file = \"ca.pem\" } }\n")
	env := map[string]string{"KEY": "key-v1"}
	cfg := loadOK(t, loaders.Options{Files: []string{f}, LookupEnv: envLookup(env)})
	tl := cfg.Profiles["p"].TLS
	pm := materialOf(t, cfg).Profile("p")
	origin := originOf(t, cfg, "p", "tls.ca[0]", &tl.CA[0])
	data := func(path string) string { b, _, _ := pm.Material(path); return string(b) }

	write(t, dir, "ca.pem", "-----BEGIN CERTIFICATE-----\nNEW\n")
	env["KEY"] = "key-v2"
	require.NoError(t, pm.Reload(context.Background()))
	require.Contains(t, data("tls.ca[0]"), "NEW")
	require.Equal(t, "key-v2", data("tls.key"))
	require.Equal(t, origin, tl.CA[0].Describe()+" (from "+pm.Origin("tls.ca[0]")+")", "the origin is kept across reloads")
	require.Contains(t, dataOf(t, cfg, "p", "tls.ca[0]"), "AAAA", "the load's own material is not changed")

	// A failed reload reports and keeps the last good material.
	require.NoError(t, os.Remove(ca))
	delete(env, "KEY")
	err := pm.Reload(context.Background())
	var ps schema.Problems
	require.ErrorAs(t, err, &ps)
	findProblem(t, ps, "profiles.p.tls.ca[0]", "no such file or directory")
	findProblem(t, ps, "profiles.p.tls.key", "KEY is not set")
	findProblem(t, ps, "profiles.p.tls.key.passphrase", "no such file or directory")
	require.Contains(t, data("tls.ca[0]"), "NEW")
	require.Equal(t, "key-v2", data("tls.key"))
	require.Empty(t, ps[0].Source, "reload problems carry no origin")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, pm.Reload(ctx), context.Canceled)
}

func TestResolveProfileDirect(t *testing.T) {
	t.Setenv("RESOLVE_PROFILE_PW", "from-os")
	p := &schema.Profile{
		Auth: &schema.Auth{Password: &schema.SecretSource{Env: "RESOLVE_PROFILE_PW"}},
		TLS: &schema.TLS{
			CA:  []schema.MaterialSource{{PEM: fakePEM}},
			Key: &schema.MaterialSource{Base64: "Z2l2ZW4="},
		},
	}
	pm, ps := loaders.ResolveProfile("x", p, nil)
	require.Empty(t, ps, "nil lookup means os.LookupEnv")
	pw, _ := pm.Secret("auth.password")
	require.Equal(t, "from-os", pw.Reveal())
	ca, _, _ := pm.Material("tls.ca[0]")
	require.Equal(t, fakePEM, string(ca))
	require.Empty(t, pm.Origin("tls.ca[0]"), "no origins outside Load")
	key, _, _ := pm.Material("tls.key")
	require.Equal(t, "given", string(key), "inline material is decoded")
	require.Equal(t, "inline pem", p.TLS.CA[0].Describe(), "the schema value is left as written")

	_, ps = loaders.ResolveProfile("x", &schema.Profile{TLS: &schema.TLS{Cert: &schema.MaterialSource{}}}, nil)
	findProblem(t, ps, "profiles.x.tls.cert", "no source given")
}
