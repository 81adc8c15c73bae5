package loaders_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/loaders"
	"github.com/connfactory/connfactory/schema"
)

const tlsBase = `
[profiles.p]
backend = "cassandra"
hosts = ["h"]
[profiles.p.tls]
mode = "verify-full"
server_name = "db"
ca = { pem = "x" }
crl = [{ pem = "y" }]
`

// An explicit null in any layer is a problem at its path, never a deletion: a later
// layer's commented-out block must not turn a verify-full profile into plaintext.
func TestExplicitNullIsAProblemNotADeletion(t *testing.T) {
	cases := []struct {
		name, file, content, path string
	}{
		{"yaml block with only comments", "override.yaml", "profiles:\n  p:\n    tls:\n      # mode: verify-ca\n      # ca: {file: x}\n", "profiles.p.tls"},
		{"json null", "override.json", `{"profiles": {"p": {"tls": null}}}`, "profiles.p.tls"},
		{"yaml ca without value", "override.yaml", "profiles:\n  p:\n    tls:\n      ca:\n", "profiles.p.tls.ca"},
		{"yaml crl tilde", "override.yaml", "profiles:\n  p:\n    tls:\n      crl: ~\n", "profiles.p.tls.crl"},
		{"yaml null list entry", "override.yaml", "profiles:\n  p:\n    tls:\n      crl: [null]\n", "profiles.p.tls.crl[0]"},
		{"json null in list", "override.json", `{"profiles": {"p": {"hosts": ["a", null]}}}`, "profiles.p.hosts[1]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			base := write(t, dir, "base.toml", tlsBase)
			over := write(t, dir, c.file, c.content)
			cfg, ps := load(t, loaders.Options{Files: []string{base, over}})
			p := findProblem(t, ps, c.path, "empty value")
			require.Equal(t, over, p.Source)
			require.Contains(t, p.Message, "remove the key or give it a value")
			require.NotNil(t, cfg.Profiles["p"].TLS, "the lower layer's TLS is not deleted")
			require.Equal(t, schema.TLSVerifyFull, cfg.Profiles["p"].TLS.Mode)
			require.Len(t, cfg.Profiles["p"].TLS.CA, 1)
		})
	}
	t.Run("first layer", func(t *testing.T) {
		f := write(t, t.TempDir(), "a.yaml", "profiles:\n  p:\n    backend: cassandra\n    hosts: [h]\n    tls:\n")
		_, ps := load(t, loaders.Options{Files: []string{f}})
		p := findProblem(t, ps, "profiles.p.tls", "empty value at line 5")
		require.Equal(t, f, p.Source)
	})
	t.Run("values layer", func(t *testing.T) {
		base := write(t, t.TempDir(), "base.toml", tlsBase)
		cfg, ps := load(t, loaders.Options{Files: []string{base}, Values: map[string]any{"profiles.p.tls": nil}})
		p := findProblem(t, ps, "profiles.p.tls", "empty value")
		require.Equal(t, loaders.OriginOverride, p.Source)
		require.NotNil(t, cfg.Profiles["p"].TLS)
	})
}

func TestDuplicateKeysRefused(t *testing.T) {
	cases := []struct{ name, content, want string }{
		{"a.json", "{\"profiles\": {\n  \"p\": {\"backend\": \"riak\",\n     \"backend\": \"cassandra\"}}}",
			"line 3, column 6: duplicate key profiles.p.backend (first at line 2, column 9)"},
		{"nested.json", `{"profiles": {"p": {"tls": {"mode": "verify-full"}, "tls.mode": "insecure"}}}`,
			"duplicate key profiles.p.tls.mode"},
		{"a.yaml", "profiles:\n  p:\n    backend: riak\n    backend: cassandra\n",
			"line 4, column 5: duplicate key profiles.p.backend (first at line 3, column 5)"},
		{"a.toml", "[profiles.p]\nbackend = \"riak\"\nbackend = \"cassandra\"\n", "line 3"},
		// BurntSushi/toml v1.5.0 keeps a.b and drops a = 2 silently; TOML forbids both.
		{"value-then-table.toml", "[profiles.p.tls]\nca.file = \"x\"\nca = \"system\"\n", "duplicate key profiles.p.tls.ca"},
		{"inline-twice.toml", "[profiles.p]\ntls = { mode = \"verify-full\" }\ntls.mode = \"insecure\"\n", "line 3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := write(t, t.TempDir(), c.name, c.content)
			_, ps := load(t, loaders.Options{Files: []string{f}})
			require.Len(t, ps, 1, ps.Error())
			require.Contains(t, ps[0].Message, c.want)
		})
	}
}

func TestInvalidUTF8Refused(t *testing.T) {
	for _, name := range []string{"a.toml", "a.yaml", "a.json"} {
		t.Run(name, func(t *testing.T) {
			content := map[string]string{
				"a.toml": "[profiles.p]\nkeyspace = \"k\xffx\"\n",
				"a.yaml": "profiles:\n  p:\n    keyspace: k\xffx\n",
				"a.json": "{\"profiles\":\n {\"p\": {\"keyspace\": \"k\xffx\"}}}",
			}[name]
			f := write(t, t.TempDir(), name, content)
			_, ps := load(t, loaders.Options{Files: []string{f}})
			require.Len(t, ps, 1, ps.Error())
			require.Regexp(t, "line [23], column ", ps[0].Message)
			require.Contains(t, ps[0].Message, "not valid UTF-8")
		})
	}
	t.Run("env", func(t *testing.T) {
		_, ps := load(t, loaders.Options{Environ: []string{"CONNFACTORY_PROFILES__P__KEYSPACE=k\xffx"}})
		p := findProblem(t, ps, "profiles.p.keyspace", "not valid UTF-8")
		require.Equal(t, "env CONNFACTORY_PROFILES__P__KEYSPACE", p.Source)
	})
}

// Conflicting environment variables give the same problem, naming both, whatever the
// order of the environment.
func TestConflictingEnvVarsDeterministic(t *testing.T) {
	const pre = "CONNFACTORY_PROFILES__P__"
	cases := []struct {
		a, b, path string
	}{
		{pre + "AUTH__PASSWORD=x", pre + "AUTH__PASSWORD__ENV=Y", "profiles.p.auth.password"},
		{pre + "TLS__MODE=verify-full", pre + "TLS__MODE__MODE=insecure", "profiles.p.tls.mode"},
		{pre + "HOSTS=a,b", pre + "HOSTS__0=c", "profiles.p.hosts"},
		{pre + "KEYSPACE=a", "CONNFACTORY_profiles__p__keyspace=b", "profiles.p.keyspace"},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			na, _, _ := strings.Cut(c.a, "=")
			nb, _, _ := strings.Cut(c.b, "=")
			var first string
			for i := range 20 {
				env := []string{pre + "BACKEND=cassandra", c.a, "OTHER=1", c.b, pre + "TLS__SERVER_NAME=db"}
				r := rand.New(rand.NewPCG(uint64(i), 7))
				r.Shuffle(len(env), func(i, j int) { env[i], env[j] = env[j], env[i] })
				_, ps := load(t, loaders.Options{Environ: env})
				p := findProblem(t, ps, c.path, "conflict")
				require.Contains(t, p.Message, na)
				require.Contains(t, p.Message, nb)
				if i == 0 {
					first = ps.Error()
				}
				require.Equal(t, first, ps.Error(), "the same result on every run")
			}
		})
	}
}

// Parser messages are a position and a reason, never a value: a secret file given as a
// configuration file, or a secret with a wrong tag, must not reach the terminal.
func TestParserMessagesNeverEchoValues(t *testing.T) {
	const canary = "Zq7hunter2CANARY"
	cases := []struct{ name, content, where string }{
		{"tag.yaml", "profiles:\n  p:\n    auth:\n      password: !!int " + canary + "\n", "line 4, column 17"},
		{"tagfloat.yaml", "profiles:\n  p:\n    auth:\n      password: !!float " + canary + "\n", "line 4"},
		{"secret.toml", canary + "\n", "line 1"},
		{"secret.yaml", canary + ": [\n", "line 1"},
		{"secret.json", canary, "line 1, column 1"},
		{"bare.toml", "[profiles.p.auth]\npassword = " + canary + "\n", "line 2"},
		{"bare.json", "{\"profiles\": {\"p\": {\"auth\": {\"password\": " + canary + "}}}}", "line 1, column 42"},
		{"range.toml", "[profiles.p.auth]\npassword = 99999999999999999999999\n", "line 2, column 12: number is out of range for int64"},
		{"hex.toml", "[profiles.p.auth]\npassword = 0xZq7hunter2CANARY\n", "line 2"},
		{"range.json", "{\"profiles\": {\"p\": {\"auth\": {\"password\": 99999e999}}}}", "line 1, column 42: number out of range"},
		{"escape.yaml", "profiles: {p: {auth: {password: \"Zq7hunter2CANARY\\q\"}}}\n", "line 1, column 1: found unknown escape character"},
		{"anchor.yaml", "profiles:\n  p:\n    auth:\n      password: *Zq7hunter2CANARY\n", "line 4, column 7: unknown anchor"},
		{"unclosed.toml", "[profiles.p.auth]\npassword = \"" + canary + "\n", "line 2"},
		{"unclosed.yaml", "profiles:\n  p:\n    auth:\n      password: \"" + canary + "\n", "line "},
		{"unclosed.json", "{\"profiles\": {\"p\": {\"auth\": {\"password\": \"" + canary + "}}}}", "line 1"},
		{"trailing.json", "{\"a\": \"x\" \"" + canary + "\"}", "line 1, column 11"},
		{"badescape.json", "{\"a\": \"" + canary + "\\q\"}", "line 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := write(t, t.TempDir(), c.name, c.content)
			_, ps := load(t, loaders.Options{Files: []string{f}})
			require.Len(t, ps, 1, ps.Error())
			msg := strings.ReplaceAll(ps.Error(), f, "FILE") // its random name may hold anything
			require.Contains(t, msg, c.where)
			for _, frag := range []string{"Zq7", "hunter", "CANARY", "'Z'", "`Z", "99999"} {
				require.NotContains(t, msg, frag)
			}
		})
	}
}

// The YAML library reports the line where the enclosing block began; the offending token
// is elsewhere.
func TestYAMLSyntaxErrorPointsAtOffendingToken(t *testing.T) {
	f := write(t, t.TempDir(), "a.yaml", `profiles:
  p:
    backend: cassandra
    hosts: [a]
    tls:
      mode: verify-full
   ca: x
`)
	_, ps := load(t, loaders.Options{Files: []string{f}})
	require.Len(t, ps, 1, ps.Error())
	require.Equal(t, f+": malformed YAML: line 7, column 4: did not find expected key", ps[0].Message)
}

func TestTOMLParserKeepsPositionsAndDatetimes(t *testing.T) {
	dir := t.TempDir()
	f := write(t, dir, "a.toml", "[profiles.p]\nbackend = \"cassandra\"\nhosts = [\"h\"\n  \"i\"]\n")
	_, ps := load(t, loaders.Options{Files: []string{f}})
	require.Len(t, ps, 1)
	require.Contains(t, ps[0].Message, "malformed TOML: line 4, column 3: expected a comma")

	// Many tables: the profiles of one document are one table each.
	var b strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&b, "[profiles.p%d]\nbackend = \"riak\"\nhosts = [\"h\"]\n", i)
	}
	cfg := loadOK(t, loaders.Options{Files: []string{write(t, dir, "many.toml", b.String())}})
	require.Len(t, cfg.Profiles, 3000)
}

func TestEnvIndexedLists(t *testing.T) {
	const pre = "CONNFACTORY_PROFILES__P__"
	env := []string{
		pre + "BACKEND=cassandra",
		pre + "HOSTS__1=b:9042",
		pre + "HOSTS__0=a:9042",
		pre + "TLS__CA__0__PEM=ca-zero",
		pre + "TLS__CA__1__ENV=CA_ONE",
		pre + "TLS__CRL__0__PEM=crl-zero",
		pre + "TLS__CRL__1__PEM=crl-one",
		pre + "AUTH__MECHANISM=password",
		pre + "AUTH__USERNAME=app",
		pre + "AUTH__PASSWORD__ENV=PW",
		pre + "AUTH__PER_HOST__0__HOST=10.0.0.7",
		pre + "AUTH__PER_HOST__0__USERNAME=dc2",
		pre + "AUTH__PER_HOST__0__PASSWORD__ENV=DC2_PW",
		pre + "AUTH__PER_HOST__1__HOST=10.0.0.8",
		pre + "AUTH__PER_HOST__1__USERNAME=dc3",
		pre + "AUTH__PER_HOST__1__PASSWORD=lit",
	}
	cfg := loadOK(t, loaders.Options{Environ: env, LookupEnv: envLookup(map[string]string{"PW": "a", "DC2_PW": "b", "CA_ONE": "ca-one"})})
	p := cfg.Profiles["p"]
	require.Equal(t, []string{"a:9042", "b:9042"}, p.Hosts)
	require.Len(t, p.TLS.CA, 2)
	require.Equal(t, "ca-zero", dataOf(t, cfg, "p", "tls.ca[0]"))
	require.Equal(t, "ca-one", dataOf(t, cfg, "p", "tls.ca[1]"))
	require.Len(t, p.TLS.CRL, 2)
	require.Equal(t, "crl-one", dataOf(t, cfg, "p", "tls.crl[1]"))
	require.Len(t, p.Auth.PerHost, 2)
	require.Equal(t, "10.0.0.7", p.Auth.PerHost[0].Host)
	require.Equal(t, "dc2", p.Auth.PerHost[0].Username)
	require.Equal(t, "b", secretOf(t, cfg, "p", "auth.per_host[0].password", p.Auth.PerHost[0].Password))
	require.Equal(t, "lit", secretOf(t, cfg, "p", "auth.per_host[1].password", p.Auth.PerHost[1].Password))
	require.Equal(t, "env "+pre+"TLS__CA__0__PEM, "+pre+"TLS__CA__1__ENV", cfg.Origins.Get("profiles.p.tls.ca"))

	t.Run("one source without index still works", func(t *testing.T) {
		cfg := loadOK(t, loaders.Options{Environ: []string{pre + "BACKEND=riak", pre + "TLS__CA__PEM=x"}})
		require.Len(t, cfg.Profiles["p"].TLS.CA, 1)
	})
	t.Run("gap", func(t *testing.T) {
		_, ps := load(t, loaders.Options{Environ: []string{pre + "TLS__CA__0__PEM=x", pre + "TLS__CA__2__PEM=y"}})
		p := findProblem(t, ps, "profiles.p.tls.ca", "must run from 0 without gaps")
		require.Equal(t, "env "+pre+"TLS__CA__2__PEM", p.Source)
	})
	t.Run("index and single source mixed", func(t *testing.T) {
		_, ps := load(t, loaders.Options{Environ: []string{pre + "TLS__CA__0__PEM=x", pre + "TLS__CA__FILE=y"}})
		findProblem(t, ps, "profiles.p.tls.ca", "either by indexes")
	})
	t.Run("profile named by digits is not a list", func(t *testing.T) {
		cfg := loadOK(t, loaders.Options{Environ: []string{"CONNFACTORY_PROFILES__0__BACKEND=riak", "CONNFACTORY_PROFILES__0__HOSTS=h"}})
		require.Contains(t, cfg.Profiles, "0")
	})
}
