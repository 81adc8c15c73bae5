package main_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory"
	"github.com/connfactory/connfactory/testserver/pki"
)

// exampleProfiles are the profile names of the example files, loaded in-process.
func exampleProfiles(t *testing.T) []string {
	t.Helper()
	var abs []string
	for _, f := range exampleFiles(t) {
		abs = append(abs, filepath.Join(moduleRoot, f))
	}
	reg, err := connfactory.Load(connfactory.WithFiles(abs...), connfactory.WithEnvPrefix("-"))
	require.NoError(t, err)
	defer reg.Close()
	return reg.Profiles()
}

func TestValidateExamples(t *testing.T) {
	t.Parallel()
	files := exampleFiles(t)
	names := exampleProfiles(t)

	// -c for the first file, the rest as arguments: what `-c examples/configs/*.toml` expands to.
	res := runIn(t, moduleRoot, nil, append([]string{"validate", "-c"}, files...)...)
	require.Equal(t, 0, res.code, "%s", res)
	require.Contains(t, res.stdout, "ok: 17 profile(s): ")
	for _, n := range names {
		require.Contains(t, res.stdout, n)
	}
	// Only warnings on stderr (the CRL examples name an intermediate that is not in tls.ca).
	for _, line := range strings.Split(strings.TrimSpace(res.stderr), "\n") {
		if line != "" {
			require.True(t, strings.HasPrefix(line, "warning: profiles."), "stderr line %q", line)
		}
	}

	// Repeated -c.
	var args []string
	for _, f := range files {
		args = append(args, "-c", f)
	}
	res = runIn(t, moduleRoot, nil, append([]string{"validate"}, args...)...)
	require.Equal(t, 0, res.code, "%s", res)
	require.Contains(t, res.stdout, "ok: 17 profile(s): ")

	// Each on its own.
	for _, f := range files {
		res := runIn(t, moduleRoot, nil, "validate", "-c", f)
		require.Equal(t, 0, res.code, "%s: %s", f, res)
	}
}

// problemFixtures writes PKI material into dir/certs: a normal set, a CRL from an impostor
// root (same name as the configured root, another key) and a key of another leaf.
func problemFixtures(t *testing.T, dir string) {
	t.Helper()
	set, err := pki.NewSet()
	require.NoError(t, err)
	_, err = set.WriteDir(filepath.Join(dir, "certs"))
	require.NoError(t, err)
	impostor, err := pki.NewRootCA(set.Root.Cert.Subject.CommonName)
	require.NoError(t, err)
	crl, err := impostor.CRLPEM(pki.CRLOptions{})
	require.NoError(t, err)
	other, err := set.Intermediate.Issue(pki.LeafOptions{CommonName: "other", Client: true})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "certs", "impostor-crl.pem"), crl, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "certs", "other.key"), other.KeyPEM(), 0o600))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "certs", "keydir"), 0o700))
	require.NoError(t, os.Symlink(filepath.Join(dir, "nowhere.key"), filepath.Join(dir, "certs", "dangling.key")))
}

// cass is a minimal valid Cassandra profile named name, followed by extra lines.
func cass(name, extra string) string {
	return "[profiles." + name + "]\nbackend = \"cassandra\"\nhosts = [\"127.0.0.1:9042\"]\n" + extra + "\n"
}

func TestValidateProblems(t *testing.T) {
	t.Parallel()
	type tc struct {
		name  string
		files map[string]string
		args  []string // after "validate"; default -c p.toml
		want  []string // lines (or parts of lines) on stderr
	}
	cases := []tc{
		{name: "missing file", args: []string{"-c", "missing.toml"},
			want: []string{"missing.toml: cannot read configuration file: no such file or directory"}},
		{name: "directory as file", args: []string{"-c", "certs"},
			want: []string{"certs: "}},
		{name: "directory with a config extension", args: []string{"-c", "dir.toml"},
			files: map[string]string{"dir.toml/x": ""},
			want:  []string{"dir.toml: is a directory, not a configuration file"}},
		{name: "malformed TOML", files: map[string]string{"p.toml": "[profiles.a]\nbackend = \"cassandra\"\nhosts = [\"h\"\n"},
			want: []string{"p.toml: malformed TOML: line 3"}},
		{name: "malformed YAML", args: []string{"-c", "p.yaml"},
			files: map[string]string{"p.yaml": "profiles:\n  a:\n    backend: cassandra\n    hosts: x: y\n"},
			want:  []string{"p.yaml: malformed YAML: line 4"}},
		{name: "malformed JSON", args: []string{"-c", "p.json"},
			files: map[string]string{"p.json": "{\"profiles\": {\n  \"a\": {\"backend\": \"cassandra\",,}\n}}\n"},
			want:  []string{"p.json: malformed JSON: line 2"}},
		{name: "wrong type", files: map[string]string{"p.toml": cass("a", `protocol_version = "four"`)},
			want: []string{"profiles.a.protocol_version: expected an integer", "(from p.toml)"}},
		{name: "unknown key with suggestion",
			files: map[string]string{"p.toml": cass("a", `tls = { ca = { file = "certs/ca.pem" }, mni_version = "1.2" }`)},
			want:  []string{`profiles.a.tls.mni_version: unknown key "mni_version"; did you mean "min_version"? (from p.toml)`}},
		{name: "unset env var",
			files: map[string]string{"p.toml": cass("a", `auth = { mechanism = "password", username = "u", password = { env = "CF_TEST_SURELY_UNSET" } }`)},
			want:  []string{"profiles.a.auth.password: environment variable CF_TEST_SURELY_UNSET is not set (from p.toml)"}},
		{name: "key file is a directory",
			files: map[string]string{"p.toml": cass("a", `tls = { ca = { file = "certs/ca.pem" }, cert = { file = "certs/client.pem" }, key = { file = "certs/keydir" } }`)},
			want:  []string{"profiles.a.tls.key: ", "keydir", "is a directory", "(from p.toml)"}},
		{name: "key file is a dangling symlink",
			files: map[string]string{"p.toml": cass("a", `tls = { ca = { file = "certs/ca.pem" }, cert = { file = "certs/client.pem" }, key = { file = "certs/dangling.key" } }`)},
			want:  []string{"profiles.a.tls.key: ", "dangling.key", "no such file or directory", "(from p.toml)"}},
		{name: "protocol version 2", files: map[string]string{"p.toml": cass("a", "protocol_version = 2")},
			want: []string{"profiles.a.protocol_version: protocol version 2 is not supported", "(from p.toml)"}},
		{name: "riak password without TLS",
			files: map[string]string{"p.toml": "[profiles.r]\nbackend = \"riak\"\nhosts = [\"h\"]\n" +
				`auth = { mechanism = "password", username = "u", password = "pw" }` + "\n"},
			want: []string{"profiles.r.auth.mechanism: riak refuses authentication without TLS"}},
		{name: "cert without key",
			files: map[string]string{"p.toml": cass("a", `tls = { ca = { file = "certs/ca.pem" }, cert = { file = "certs/client.pem" } }`)},
			want:  []string{"profiles.a.tls.key: tls.cert is set but tls.key is not"}},
		{name: "legacy min_version",
			files: map[string]string{"p.toml": cass("a", `tls = { ca = { file = "certs/ca.pem" }, min_version = "1.0" }`)},
			want:  []string{"profiles.a.tls.min_version: TLS 1.0 is refused unless tls.allow_legacy_versions = true", "(from p.toml)"}},
		{name: "unknown cipher",
			files: map[string]string{"p.toml": cass("a", `tls = { ca = { file = "certs/ca.pem" }, ciphers = "ECDHE-RSA-AES128-GCM-SHA256:NOT-A-CIPHER" }`)},
			want:  []string{`profiles.a.tls.ciphers: unknown cipher suites: "NOT-A-CIPHER"`, "(from p.toml)"}},
		{name: "CRL signed by another CA",
			files: map[string]string{"p.toml": cass("a", `tls = { ca = { file = "certs/ca.pem" }, crl = { file = "certs/impostor-crl.pem" } }`)},
			want:  []string{"profiles.a.tls.crl[0]: ", "another CA"}},
		{name: "key does not match cert",
			files: map[string]string{"p.toml": cass("a", `tls = { ca = { file = "certs/ca.pem" }, cert = { file = "certs/client.pem" }, key = { file = "certs/other.key" } }`)},
			want:  []string{"profiles.a.tls.key: private key does not match the certificate"}},
		{name: "uppercase profile name", files: map[string]string{"p.toml": cass("Cass_Prod", "")},
			want: []string{`profiles.Cass_Prod: profile name "Cass_Prod"`, "lowercase", "(from p.toml)"}},
		{name: "extends cycle",
			files: map[string]string{"p.toml": cass("g", `extends = "h"`) + cass("h", `extends = "g"`)},
			want:  []string{"profiles.g.extends: extends cycle of 2 profiles: g -> h -> g (from p.toml)"}},
		{name: "every problem at once",
			files: map[string]string{"p.toml": cass("a", "protocol_version = 2") + cass("b", "tls = { ca = { file = \"certs/ca.pem\" }, mni_version = \"1.2\" }")},
			want:  []string{"profiles.a.protocol_version: protocol version 2", "profiles.b.tls.mni_version: unknown key", "2 problem(s)"}},
		{name: "every problem at once, across files", args: []string{"-c", "p.toml", "q.yaml"},
			files: map[string]string{"p.toml": cass("a", "protocol_version = 2"),
				"q.yaml": "profiles:\n  b:\n    backend: cassandra\n    hosts: [h]\n    consistency: quorom\n"},
			want: []string{"profiles.a.protocol_version: protocol version 2", "(from p.toml)", "profiles.b.consistency: ", "(from q.yaml)"}},
		{name: "every compile problem at once",
			files: map[string]string{"p.toml": cass("a", `tls = { ca = { file = "certs/ca.pem" }, ciphers = "NOT-A-CIPHER" }`) +
				cass("b", `tls = { ca = { file = "certs/ca.pem" }, cert = { file = "certs/client.pem" }, key = { file = "certs/other.key" } }`)},
			want: []string{"profiles.a.tls.ciphers: unknown cipher suites", "profiles.b.tls.key: private key does not match", "2 problem(s)"}},
	}
	if os.Geteuid() != 0 {
		// Root reads a mode-000 file anyway; the directory and dangling-symlink cases
		// above cover an unreadable key for root.
		cases = append(cases, tc{name: "key file unreadable",
			files: map[string]string{"p.toml": cass("a", `tls = { ca = { file = "certs/ca.pem" }, cert = { file = "certs/client.pem" }, key = { file = "certs/locked.key" } }`),
				"certs/locked.key": "x"},
			want: []string{"profiles.a.tls.key: ", "locked.key", "permission denied", "(from p.toml)"}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			problemFixtures(t, dir)
			writeFiles(t, dir, c.files)
			if c.name == "key file unreadable" {
				require.NoError(t, os.Chmod(filepath.Join(dir, "certs", "locked.key"), 0))
			}
			args := c.args
			if args == nil {
				args = []string{"-c", "p.toml"}
			}
			res := runIn(t, dir, nil, append([]string{"validate"}, args...)...)
			require.Equal(t, 1, res.code, "%s", res)
			require.Empty(t, res.stdout)
			for _, w := range c.want {
				require.Contains(t, res.stderr, w)
			}
			// Every line is a problem (PATH: message) or the count, nothing else.
			sc := bufio.NewScanner(strings.NewReader(res.stderr))
			for sc.Scan() {
				line := sc.Text()
				if strings.HasPrefix(line, "warning: ") || strings.HasSuffix(line, " problem(s)") {
					continue
				}
				require.Contains(t, line, ": ", "not a PATH: message line: %q", line)
			}
		})
	}
}

func TestValidateFromEnvironment(t *testing.T) {
	t.Parallel()
	t.Run("env-only profile", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		problemFixtures(t, dir)
		res := runIn(t, dir, []string{
			"CONNFACTORY_PROFILES__ENV_ONLY__BACKEND=cassandra",
			"CONNFACTORY_PROFILES__ENV_ONLY__HOSTS=127.0.0.1:9042,db2.internal",
			"CONNFACTORY_PROFILES__ENV_ONLY__PROTOCOL_VERSION=4",
			"CONNFACTORY_PROFILES__ENV_ONLY__AUTH__MECHANISM=password",
			"CONNFACTORY_PROFILES__ENV_ONLY__AUTH__USERNAME=app",
			"CONNFACTORY_PROFILES__ENV_ONLY__AUTH__PASSWORD__ENV=ENV_ONLY_PW",
			"ENV_ONLY_PW=some-password",
			"CONNFACTORY_PROFILES__ENV_ONLY__TLS__CA__FILE=certs/ca.pem",
			"CONNFACTORY_PROFILES__ENV_ONLY__TLS__MIN_VERSION=1.2",
		}, "validate")
		require.Equal(t, 0, res.code, "%s", res)
		require.Contains(t, res.stdout, "ok: 1 profile(s): env_only")
	})

	t.Run("env.example", func(t *testing.T) {
		t.Parallel()
		// The example is written for the module root as working directory.
		env := readEnvFile(t, filepath.Join(moduleRoot, "examples", "configs", "env.example"))
		res := runIn(t, moduleRoot, env, "validate")
		require.Equal(t, 0, res.code, "%s", res)
		require.Contains(t, res.stdout, "ok: 1 profile(s): env_cass")
	})

	t.Run("env problem names the variable", func(t *testing.T) {
		t.Parallel()
		res := runIn(t, t.TempDir(), []string{
			"CONNFACTORY_PROFILES__E__BACKEND=cassandra",
			"CONNFACTORY_PROFILES__E__HOSTS=h",
			"CONNFACTORY_PROFILES__E__PROTOCOL_VERSION=2",
		}, "validate")
		require.Equal(t, 1, res.code, "%s", res)
		require.Contains(t, res.stderr, "profiles.e.protocol_version: protocol version 2")
		require.Contains(t, res.stderr, "CONNFACTORY_PROFILES__E__PROTOCOL_VERSION")
	})

	t.Run("CONNFACTORY_CONFIG", func(t *testing.T) {
		t.Parallel()
		dir := writeFiles(t, t.TempDir(), map[string]string{
			"a.toml":     cass("from_a", ""),
			"sub/b.yaml": "profiles:\n  from_b:\n    backend: riak\n    hosts: [h]\n",
		})
		res := runIn(t, dir, []string{"CONNFACTORY_CONFIG=a.toml:" + filepath.Join(dir, "sub", "b.yaml")}, "validate")
		require.Equal(t, 0, res.code, "%s", res)
		require.Contains(t, res.stdout, "ok: 2 profile(s): from_a, from_b")

		// -c wins over CONNFACTORY_CONFIG.
		res = runIn(t, dir, []string{"CONNFACTORY_CONFIG=a.toml:nonexistent.toml"}, "validate", "-c", "sub/b.yaml")
		require.Equal(t, 0, res.code, "%s", res)
		require.Contains(t, res.stdout, "ok: 1 profile(s): from_b")

		// A missing file listed there is a problem like any other.
		res = runIn(t, dir, []string{"CONNFACTORY_CONFIG=a.toml:nonexistent.toml"}, "validate")
		require.Equal(t, 1, res.code, "%s", res)
		require.Contains(t, res.stderr, "nonexistent.toml: cannot read configuration file")
	})

	t.Run("nothing configured", func(t *testing.T) {
		t.Parallel()
		res := runIn(t, t.TempDir(), nil, "validate")
		require.Equal(t, 1, res.code, "%s", res)
		require.Contains(t, res.stderr, "profiles: no profiles defined")
	})
}

// readEnvFile returns the KEY=value lines of an env file, without comments.
func readEnvFile(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var env []string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		require.Contains(t, line, "=")
		env = append(env, line)
	}
	return env
}

// A load-stage problem in one profile does not hide what only compiling finds in
// another: one run reports both.
func TestValidateLoadAndCompileProblemsTogether(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{"p.toml": `
[profiles.a]
backend = "cassandra"
hosts = ["db"]
protocol_version = 2

[profiles.b]
backend = "cassandra"
hosts = ["db"]
tls = { ciphers = "FOO-BAR" }
`})
	res := runIn(t, dir, nil, "validate", "-c", "p.toml")
	require.Equal(t, 1, res.code, "%s", res)
	require.Contains(t, res.stderr, "profiles.a.protocol_version: protocol version 2 is not supported")
	require.Contains(t, res.stderr, `profiles.b.tls.ciphers: unknown cipher suites: "FOO-BAR"`)
	require.Contains(t, res.stderr, "2 problem(s)")
}
