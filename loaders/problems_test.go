package loaders_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/loaders"
	"github.com/connfactory/connfactory/schema"
)

func TestMissingFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.toml")
	_, ps := load(t, loaders.Options{Files: []string{missing}})
	require.Len(t, ps, 1)
	require.Equal(t, "", ps[0].Path)
	require.Equal(t, missing+": cannot read configuration file: no such file or directory", ps[0].Message)
}

func TestDirectoryGivenAsFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "conf.toml")
	write(t, dir, "x", "")
	_, ps := load(t, loaders.Options{Files: []string{dir}})
	findProblem(t, ps, "", dir+": is a directory")
}

func TestUnknownExtension(t *testing.T) {
	f := write(t, t.TempDir(), "app.ini", "x=1")
	_, ps := load(t, loaders.Options{Files: []string{f}})
	findProblem(t, ps, "", `unknown configuration format ".ini"`)
}

func TestMalformedFilesSayLine(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, content, want string
	}{
		{"bad.toml", "[profiles.p]\nbackend = \"cassandra\"\nhosts = [\"a\"\n\n", "malformed TOML: line "},
		{"bad2.toml", "[profiles.p]\nbackend = cassandra\n", "malformed TOML: line 2"},
		{"bad.yaml", "profiles:\n  p:\n    backend: riak: x\n", "malformed YAML: line 3"},
		{"bad2.yml", "profiles:\n  p: [unclosed\n", "malformed YAML: line "},
		{"bad.json", "{\n  \"profiles\": {\n    \"p\": {,}\n  }\n}\n", "malformed JSON: line 3"},
		{"list.json", "[1, 2]", "malformed JSON: line 1"},
		{"scalar.yaml", "just a string\n", "malformed YAML: line 1, column 1: the document must be a mapping"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := write(t, dir, c.name, c.content)
			_, ps := load(t, loaders.Options{Files: []string{f}})
			require.Len(t, ps, 1, ps.Error())
			require.Equal(t, "", ps[0].Path)
			require.True(t, strings.HasPrefix(ps[0].Message, f+": "), ps[0].Message)
			require.Contains(t, ps[0].Message, c.want)
		})
	}
}

func TestMalformedFileDoesNotStopOthers(t *testing.T) {
	dir := t.TempDir()
	bad := write(t, dir, "bad.toml", "[[[")
	good := write(t, dir, "good.toml", minimalCass)
	cfg, ps := load(t, loaders.Options{Files: []string{bad, good}})
	require.Len(t, ps, 1)
	require.Contains(t, cfg.Profiles, "p")
}

func TestWrongTypes(t *testing.T) {
	dir := t.TempDir()
	f := write(t, dir, "a.toml", `
[profiles.p]
backend = "cassandra"
hosts = ["h"]
protocol_version = "four"
timeout = "soon"
[profiles.p.tls]
allow_legacy_versions = "perhaps"
ca = 5
cert = "certs/client.pem"
key = "-----BEGIN PRIVATE KEY-----\nMIIsecretsecret"
[profiles.p.auth]
password = true
`)
	cfg, ps := load(t, loaders.Options{Files: []string{f}})
	for _, want := range []struct{ path, msg string }{
		{"profiles.p.protocol_version", "expected an integer"},
		{"profiles.p.timeout", `"soon" is not a duration`},
		{"profiles.p.tls.allow_legacy_versions", "expected true or false"},
		{"profiles.p.tls.ca[0]", `expected {file=..} | {env=..} | {pem=..} | {base64=..} | {env_base64=..} or "system", got an integer`},
		{"profiles.p.tls.cert", `or "system", got a string; to name a file write {file = "..."}`},
		{"profiles.p.tls.key", `to give PEM inline write {pem = "..."}`},
		{"profiles.p.auth.password", "got a boolean"},
	} {
		p := findProblem(t, ps, want.path, want.msg)
		require.Equal(t, f, p.Source, want.path)
	}
	require.Len(t, ps, 7, ps.Error())
	require.NotContains(t, ps.Error(), "secretsecret", "values are never repeated")
	// Best effort: what did decode is still there.
	require.Equal(t, []string{"h"}, cfg.Profiles["p"].Hosts)
}

func TestWrongTypeFromEnvNamesTheVariable(t *testing.T) {
	_, ps := load(t, loaders.Options{Environ: []string{
		"CONNFACTORY_PROFILES__P__BACKEND=riak",
		"CONNFACTORY_PROFILES__P__HOSTS=h",
		"CONNFACTORY_PROFILES__P__PROTOCOL_VERSION=x",
	}})
	p := findProblem(t, ps, "profiles.p.protocol_version", "expected an integer (invalid syntax)")
	require.Equal(t, "env CONNFACTORY_PROFILES__P__PROTOCOL_VERSION", p.Source)
	require.Equal(t, "profiles.p.protocol_version: expected an integer (invalid syntax) (from env CONNFACTORY_PROFILES__P__PROTOCOL_VERSION)", p.String())
}

func TestUnknownKeys(t *testing.T) {
	dir := t.TempDir()
	f := write(t, dir, "a.toml", `
colour = "red"
[profle.x]
[defaults]
timout = "1s"
[profiles.p]
backend = "cassandra"
Backend = "riak"
hosts = ["h"]
[profiles.p.tls]
mni_version = "1.2"
ca = [{ file = "x", flie = "y" }]
key = { file = "k", passphrase = { evn = "X" } }
[profiles.p.auth]
per_host = [{ host = "h", usrname = "u" }]
[profiles.p.tls.nested]
zzzzzzzzzz = 1
`)
	cfg, ps := load(t, loaders.Options{Files: []string{f}})
	for _, want := range []struct{ path, msg string }{
		{"colour", `unknown key "colour"`},
		{"profle", `unknown key "profle"; did you mean "profiles"?`},
		{"defaults.timout", `unknown key "timout"; did you mean "timeout"?`},
		{"profiles.p.Backend", `unknown key "Backend"; did you mean "backend"?`},
		{"profiles.p.tls.mni_version", `unknown key "mni_version"; did you mean "min_version"?`},
		{"profiles.p.tls.ca[0].flie", `did you mean "file"?`},
		{"profiles.p.tls.key.passphrase.evn", `did you mean "env"?`},
		{"profiles.p.auth.per_host[0].usrname", `did you mean "username"?`},
		{"profiles.p.tls.nested", `unknown key "nested"`},
	} {
		p := findProblem(t, ps, want.path, want.msg)
		require.Equal(t, f, p.Source, want.path)
	}
	p := findProblem(t, ps, "profiles.p.tls.nested", `unknown key "nested"`)
	require.NotContains(t, p.Message, "did you mean", "no suggestion when nothing is close")
	// Each unknown key reported once: a key under [defaults] is not repeated per profile.
	n := 0
	for _, p := range ps {
		if strings.Contains(p.Message, "timout") {
			n++
		}
	}
	require.Equal(t, 1, n, ps.Error())
	require.Equal(t, schema.Cassandra, cfg.Profiles["p"].Backend)
}

func TestUnknownKeyFromEnv(t *testing.T) {
	_, ps := load(t, loaders.Options{Environ: []string{
		"CONNFACTORY_PROFILES__P__TLS__MNI_VERSION=1.2",
		"CONNFACTORY_PROFILE__P__HOSTS=h",
	}})
	p := findProblem(t, ps, "profiles.p.tls.mni_version", `did you mean "min_version"?`)
	require.Equal(t, "env CONNFACTORY_PROFILES__P__TLS__MNI_VERSION", p.Source)
	p = findProblem(t, ps, "profile", `did you mean "profiles"?`)
	require.Equal(t, "env CONNFACTORY_PROFILE__P__HOSTS", p.Source)
}

func TestProfileNames(t *testing.T) {
	dir := t.TempDir()
	f := write(t, dir, "a.yaml", `
profiles:
  Cass-Prod: {backend: cassandra, hosts: [h]}
  ok_name_2: {backend: cassandra, hosts: [h]}
  notatable: 5
`)
	cfg, ps := load(t, loaders.Options{Files: []string{f}})
	p := findProblem(t, ps, "profiles.Cass-Prod", "use lowercase letters, digits and _")
	require.Equal(t, f, p.Source)
	findProblem(t, ps, "profiles.notatable", "expected a table, got an integer")
	require.Len(t, ps, 2, ps.Error())
	require.Contains(t, cfg.Profiles, "ok_name_2")
}

func TestEveryProblemIsReported(t *testing.T) {
	dir := t.TempDir()
	f := write(t, dir, "a.toml", `
[profiles.a]
backend = "cassandra"
hosts = ["h"]
protocol_version = "x"
[profiles.a.auth]
password = { env = "UNSET_A" }
[profiles.b]
backend = "riak"
hosts = ["h"]
timeout = "x"
bogus = 1
[profiles.b.tls]
ca = { file = "missing.pem" }
`)
	missing := filepath.Join(dir, "missing.yaml")
	_, ps := load(t, loaders.Options{Files: []string{f, missing}})
	findProblem(t, ps, "profiles.a.protocol_version", "expected an integer")
	findProblem(t, ps, "profiles.a.auth.password", "environment variable UNSET_A is not set")
	findProblem(t, ps, "profiles.b.timeout", "is not a duration")
	findProblem(t, ps, "profiles.b.bogus", "unknown key")
	findProblem(t, ps, "profiles.b.tls.ca[0]", "no such file or directory")
	findProblem(t, ps, "", "missing.yaml: cannot read configuration file")
	require.Len(t, ps, 6, ps.Error())
	// As an error: one line per problem, sorted by path.
	lines := strings.Split(ps.Error(), "\n")
	require.Len(t, lines, 6)
	require.True(t, strings.HasPrefix(lines[1], "profiles.a.auth.password: "), lines[1])
}

func TestDefaultsTypeErrorReportedOnce(t *testing.T) {
	f := write(t, t.TempDir(), "a.toml", "[defaults]\ntimeout = \"x\"\n"+minimalCass+"[profiles.q]\nbackend = \"riak\"\nhosts=[\"h\"]\n")
	cfg, ps := load(t, loaders.Options{Files: []string{f}})
	require.Len(t, ps, 1, ps.Error())
	findProblem(t, ps, "defaults.timeout", "is not a duration")
	require.Equal(t, "0s", fmt.Sprint(cfg.Profiles["p"].Timeout.Std()), "the bad value is dropped, not passed on")
}

// TestSuggestionsCappedPerTable: the first 100 unknown keys of a table get their "did you
// mean"; past that the table is not a typo, so the rest are reported without one (the
// suggestions were most of the cost of a table of 40,000 unknown keys).
func TestSuggestionsCappedPerTable(t *testing.T) {
	var b strings.Builder
	b.WriteString("[profiles.p]\nbackend = \"riak\"\nhosts = [\"h\"]\n[profiles.p.tls]\n")
	for i := range 150 {
		fmt.Fprintf(&b, "a%03d = 1\n", i)
	}
	b.WriteString("crll = 1\n") // sorts after the 150 others: past the cap
	b.WriteString("[profiles.q.tls]\ncrll = 1\n")
	f := write(t, t.TempDir(), "a.toml", b.String())
	_, ps := load(t, loaders.Options{Files: []string{f}})
	require.Equal(t, `unknown key "crll"; did you mean "crl"?`, findProblem(t, ps, "profiles.q.tls.crll", "").Message)
	require.Equal(t, `unknown key "crll"`, findProblem(t, ps, "profiles.p.tls.crll", "").Message)
}
