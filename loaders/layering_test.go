package loaders_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/loaders"
	"github.com/connfactory/connfactory/schema"
)

func TestBuiltinDefaults(t *testing.T) {
	dir := t.TempDir()
	cfg := loadOK(t, loaders.Options{Files: []string{write(t, dir, "a.toml", minimalCass)}})
	p := cfg.Profiles["p"]
	require.Equal(t, 5*time.Second, p.ConnectTimeout.Std())
	require.Equal(t, 2*time.Second, p.Timeout.Std())
	require.Equal(t, loaders.OriginDefault, cfg.Origins.Get("profiles.p.timeout"))
	require.Equal(t, loaders.OriginDefault, cfg.Origins.Get("defaults.timeout"))
	require.Equal(t, 5*time.Second, cfg.Defaults.ConnectTimeout.Std())
	// Backend-dependent defaults are the factory's business.
	require.Zero(t, p.ProtocolVersion)
	require.Empty(t, p.Consistency)
	require.Nil(t, p.TLS)
	require.Nil(t, p.Auth)
}

func TestDefaultsTableUnderProfiles(t *testing.T) {
	dir := t.TempDir()
	a := write(t, dir, "a.toml", `
[defaults]
timeout = "7s"
keyspace = "shared"
[defaults.tls]
min_version = "1.3"

[profiles.p]
backend = "cassandra"
hosts = ["h1"]
keyspace = "own"

[profiles.q]
backend = "riak"
hosts = ["h2"]
[profiles.q.tls]
mode = "verify-ca"
`)
	cfg := loadOK(t, loaders.Options{Files: []string{a}})
	p, q := cfg.Profiles["p"], cfg.Profiles["q"]
	require.Equal(t, 7*time.Second, p.Timeout.Std())
	require.Equal(t, "own", p.Keyspace, "the profile's own key wins")
	require.Equal(t, "shared", q.Keyspace)
	require.Equal(t, schema.TLSVersion("1.3"), p.TLS.MinVersion)
	require.Equal(t, schema.TLSVersion("1.3"), q.TLS.MinVersion, "tables merge key by key")
	require.Equal(t, schema.TLSVerifyCA, q.TLS.Mode)
	require.Equal(t, a+" via defaults", cfg.Origins.Get("profiles.p.timeout"))
	require.Equal(t, a, cfg.Origins.Get("profiles.p.keyspace"))
	require.Equal(t, a, cfg.Origins.Get("defaults.timeout"))
	require.Equal(t, loaders.OriginDefault, cfg.Origins.Get("profiles.p.connect_timeout"))
	require.Equal(t, "7s", time.Duration(cfg.Defaults.Timeout).String())
}

func TestLayerOrder(t *testing.T) {
	dir := t.TempDir()
	tomlF := write(t, dir, "1.toml", `
[profiles.p]
backend = "cassandra"
hosts = ["from-toml"]
keyspace = "toml"
consistency = "toml"
local_datacenter = "toml"
timeout = "1s"
protocol_version = 3
`)
	yamlF := write(t, dir, "2.yaml", `
profiles:
  p:
    keyspace: yaml
    consistency: yaml
    local_datacenter: yaml
    timeout: 2s
`)
	jsonF := write(t, dir, "3.json", `{"profiles": {"p": {"consistency": "json", "local_datacenter": "json", "timeout": "3s"}}}`)
	base := &schema.Config{Profiles: map[string]*schema.Profile{"p": {
		Backend: schema.Riak, Hosts: []string{"from-go"}, Keyspace: "go", ProtocolVersion: 5,
		ConnectTimeout: schema.Duration(9 * time.Second),
	}}}
	cfg := loadOK(t, loaders.Options{
		Base:   base,
		Files:  []string{tomlF, yamlF, jsonF},
		Values: map[string]any{"profiles.p.local_datacenter": "override", "profiles": map[string]any{"p": map[string]any{"timeout": "4s"}}},
		Environ: []string{
			"CONNFACTORY_PROFILES__P__TIMEOUT=5s",
			"OTHER_PROFILES__P__KEYSPACE=ignored",
		},
	})
	p := cfg.Profiles["p"]
	require.Equal(t, schema.Cassandra, p.Backend, "file over go")
	require.Equal(t, []string{"from-toml"}, p.Hosts)
	require.Equal(t, 3, p.ProtocolVersion)
	require.Equal(t, 9*time.Second, p.ConnectTimeout.Std(), "go over built-in")
	require.Equal(t, "yaml", p.Keyspace, "yaml after toml")
	require.Equal(t, "json", p.Consistency, "json after yaml")
	require.Equal(t, "override", p.LocalDatacenter, "values after files")
	require.Equal(t, 5*time.Second, p.Timeout.Std(), "env last")

	o := cfg.Origins
	require.Equal(t, tomlF, o.Get("profiles.p.hosts"))
	require.Equal(t, loaders.OriginGo, o.Get("profiles.p.connect_timeout"))
	require.Equal(t, yamlF, o.Get("profiles.p.keyspace"))
	require.Equal(t, jsonF, o.Get("profiles.p.consistency"))
	require.Equal(t, loaders.OriginOverride, o.Get("profiles.p.local_datacenter"))
	require.Equal(t, "env CONNFACTORY_PROFILES__P__TIMEOUT", o.Get("profiles.p.timeout"))
}

func TestLaterFileWinsInOrder(t *testing.T) {
	dir := t.TempDir()
	a := write(t, dir, "a.yaml", "profiles: {p: {backend: cassandra, hosts: [a]}}\n")
	b := write(t, dir, "b.yml", "profiles: {p: {hosts: [b]}}\n")
	cfg := loadOK(t, loaders.Options{Files: []string{a, b}})
	require.Equal(t, []string{"b"}, cfg.Profiles["p"].Hosts)
	cfg = loadOK(t, loaders.Options{Files: []string{b, a}})
	require.Equal(t, []string{"a"}, cfg.Profiles["p"].Hosts)
	require.Equal(t, a, cfg.Origins.Get("profiles.p.hosts"))
}

func TestEnvLayer(t *testing.T) {
	cfg := loadOK(t, loaders.Options{Environ: []string{
		"CONNFACTORY_PROFILES__CASS_PROD__BACKEND=cassandra",
		"CONNFACTORY_PROFILES__CASS_PROD__HOSTS=db1:9042, db2 ,,",
		"CONNFACTORY_PROFILES__CASS_PROD__PROTOCOL_VERSION=4",
		"CONNFACTORY_PROFILES__CASS_PROD__TLS__MIN_VERSION=1.2",
		"CONNFACTORY_PROFILES__CASS_PROD__TLS__CIPHERS=ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384",
		"CONNFACTORY_PROFILES__CASS_PROD__TLS__ALLOW_LEGACY_VERSIONS=true",
		"CONNFACTORY_PROFILES__CASS_PROD__TLS__RELOAD=30s",
		"CONNFACTORY_PROFILES__CASS_PROD__TLS__CA=system",
		"CONNFACTORY_PROFILES__CASS_PROD__AUTH__ALLOWED_AUTHENTICATORS=a.B,c.D",
		"CONNFACTORY_CONFIG=a.toml:b.toml", // the CLI's variable, not a key
		"CONNFACTORY_VERBOSE=1",
		"PATH=/usr/bin",
	}})
	p := cfg.Profiles["cass_prod"]
	require.NotNil(t, p)
	require.Equal(t, []string{"db1:9042", "db2"}, p.Hosts)
	require.Equal(t, 4, p.ProtocolVersion)
	require.Equal(t, schema.TLSVersion("1.2"), p.TLS.MinVersion)
	require.Equal(t, []string{"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384"}, p.TLS.Ciphers)
	require.True(t, p.TLS.AllowLegacyVersions)
	require.Equal(t, 30*time.Second, p.TLS.Reload.Std())
	require.Len(t, p.TLS.CA, 1)
	require.True(t, p.TLS.CA[0].System)
	require.Equal(t, []string{"a.B", "c.D"}, p.Auth.AllowedAuthenticators, "values keep their case")
	require.Equal(t, "env CONNFACTORY_PROFILES__CASS_PROD__TLS__MIN_VERSION", cfg.Origins.Get("profiles.cass_prod.tls.min_version"))
}

func TestEnvPrefixOptions(t *testing.T) {
	environ := []string{
		"CONNFACTORY_PROFILES__P__BACKEND=cassandra",
		"CONNFACTORY_PROFILES__P__HOSTS=h",
		"MYAPP_PROFILES__Q__BACKEND=riak",
		"MYAPP_PROFILES__Q__HOSTS=h",
	}
	cfg := loadOK(t, loaders.Options{Environ: environ})
	require.Contains(t, cfg.Profiles, "p")
	require.NotContains(t, cfg.Profiles, "q")

	cfg = loadOK(t, loaders.Options{Environ: environ, EnvPrefix: "MYAPP_"})
	require.Contains(t, cfg.Profiles, "q")
	require.NotContains(t, cfg.Profiles, "p")

	cfg = loadOK(t, loaders.Options{Environ: environ, EnvPrefix: "-"})
	require.Empty(t, cfg.Profiles)
}

func TestEnvDefaultsToOSEnviron(t *testing.T) {
	t.Setenv("CONNFACTORY_PROFILES__FROM_OS__BACKEND", "riak")
	t.Setenv("CONNFACTORY_PROFILES__FROM_OS__HOSTS", "h")
	t.Setenv("FROM_OS_PW", "pw")
	t.Setenv("CONNFACTORY_PROFILES__FROM_OS__AUTH__PASSWORD__ENV", "FROM_OS_PW")
	_, mat, err := loaders.Load(loaders.Options{})
	require.NoError(t, err)
	pw, _ := mat.Profile("from_os").Secret("auth.password")
	require.Equal(t, "pw", pw.Reveal())
}

func TestEnvMalformedName(t *testing.T) {
	_, ps := load(t, loaders.Options{Environ: []string{"CONNFACTORY_PROFILES____HOSTS=x"}})
	p := findProblem(t, ps, "", "malformed name")
	require.Equal(t, "env CONNFACTORY_PROFILES____HOSTS", p.Source)
}

func TestSourceKeysReplaceAsAWhole(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "pw", "from-file\n")
	a := write(t, dir, "a.toml", minimalCass+`
[profiles.p.auth]
mechanism = "password"
username = "u"
password = { file = "pw" }
[profiles.p.tls]
ca = { file = "pw" }
key = { file = "pw", passphrase = "x" }
`)
	cfg := loadOK(t, loaders.Options{
		Files: []string{a},
		Environ: []string{
			"CONNFACTORY_PROFILES__P__AUTH__PASSWORD__ENV=PW",
			"CONNFACTORY_PROFILES__P__TLS__CA=system",
			"CONNFACTORY_PROFILES__P__TLS__KEY__ENV=KEYPEM",
		},
		LookupEnv: envLookup(map[string]string{"PW": "from-env", "KEYPEM": "-----BEGIN X-----"}),
	})
	p := cfg.Profiles["p"]
	require.Equal(t, "from-env", secretOf(t, cfg, "p", "auth.password", p.Auth.Password))
	require.Empty(t, p.Auth.Password.File)
	require.Equal(t, "u", p.Auth.Username, "the rest of auth still merges")
	require.True(t, p.TLS.CA[0].System)
	require.Empty(t, p.TLS.Key.File)
	require.Nil(t, p.TLS.Key.Passphrase, "the whole key source was replaced")
	require.Equal(t, "env CONNFACTORY_PROFILES__P__AUTH__PASSWORD__ENV", cfg.Origins.Get("profiles.p.auth.password.env"))
	require.Empty(t, cfg.Origins.Get("profiles.p.auth.password.file"))
}

func TestTypeConversions(t *testing.T) {
	dir := t.TempDir()
	a := write(t, dir, "a.toml", `
[profiles.p]
backend = "cassandra"
hosts = "h1:9042, h2"
timeout = 5
connect_timeout = 1.5
[profiles.p.tls]
min_version = 1.2
max_version = 1.3
ciphers = "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384"
[profiles.q]
backend = "cassandra"
hosts = ["h"]
[profiles.q.tls]
min_version = 1.0
ciphers = ["A", "B"]
`)
	y := write(t, dir, "b.yaml", "profiles:\n  r:\n    backend: riak\n    hosts: [h]\n    tls:\n      min_version: 1.2\n      max_version: 1.3\n")
	cfg := loadOK(t, loaders.Options{Files: []string{a, y}})
	p := cfg.Profiles["p"]
	require.Equal(t, []string{"h1:9042", "h2"}, p.Hosts)
	require.Equal(t, 5*time.Second, p.Timeout.Std(), "a bare number is seconds")
	require.Equal(t, 1500*time.Millisecond, p.ConnectTimeout.Std())
	require.Equal(t, schema.TLSVersion("1.2"), p.TLS.MinVersion)
	require.Equal(t, schema.TLSVersion("1.3"), p.TLS.MaxVersion)
	require.Equal(t, []string{"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384"}, p.TLS.Ciphers)
	require.Equal(t, schema.TLSVersion("1.0"), cfg.Profiles["q"].TLS.MinVersion)
	require.Equal(t, []string{"A", "B"}, cfg.Profiles["q"].TLS.Ciphers)
	require.Equal(t, schema.TLSVersion("1.2"), cfg.Profiles["r"].TLS.MinVersion)
	require.Equal(t, schema.TLSVersion("1.3"), cfg.Profiles["r"].TLS.MaxVersion)
}

func TestEmptyTLSTableMeansTLS(t *testing.T) {
	dir := t.TempDir()
	a := write(t, dir, "a.toml", minimalCass+"[profiles.p.tls]\n")
	cfg := loadOK(t, loaders.Options{Files: []string{a}})
	require.NotNil(t, cfg.Profiles["p"].TLS)
	require.Equal(t, schema.TLSVerifyFull, cfg.Profiles["p"].TLS.EffectiveMode())
	require.Equal(t, a, cfg.Origins.Get("profiles.p.tls"))
}

func TestExtends(t *testing.T) {
	dir := t.TempDir()
	a := write(t, dir, "a.toml", `
[profiles.grand]
backend = "cassandra"
hosts = ["g"]
keyspace = "gk"
consistency = "one"
[profiles.grand.tls]
mode = "verify-ca"
min_version = "1.2"

[profiles.parent]
extends = "grand"
keyspace = "pk"
[profiles.parent.tls]
min_version = "1.3"
`)
	b := write(t, dir, "b.toml", `
[profiles.child]
extends = "parent"
hosts = ["c"]
`)
	cfg := loadOK(t, loaders.Options{Files: []string{a, b}})
	c := cfg.Profiles["child"]
	require.Equal(t, "parent", c.Extends)
	require.Equal(t, schema.Cassandra, c.Backend)
	require.Equal(t, []string{"c"}, c.Hosts, "child wins")
	require.Equal(t, "pk", c.Keyspace, "nearest ancestor wins")
	require.Equal(t, "one", c.Consistency, "chains are followed")
	require.Equal(t, schema.TLSVerifyCA, c.TLS.Mode)
	require.Equal(t, schema.TLSVersion("1.3"), c.TLS.MinVersion)
	require.Equal(t, b, cfg.Origins.Get("profiles.child.hosts"))
	require.Equal(t, a+" via extends parent", cfg.Origins.Get("profiles.child.keyspace"))
	require.Equal(t, a+" via extends grand", cfg.Origins.Get("profiles.child.consistency"))
	require.Equal(t, a+" via extends grand", cfg.Origins.Get("profiles.parent.consistency"))
	// The parents themselves are untouched by their children.
	require.Equal(t, []string{"g"}, cfg.Profiles["parent"].Hosts)
}

func TestExtendsProblems(t *testing.T) {
	dir := t.TempDir()
	a := write(t, dir, "a.toml", `
[profiles.a]
backend = "cassandra"
hosts = ["h"]
extends = "b"
[profiles.b]
extends = "c"
[profiles.c]
extends = "a"
[profiles.self]
extends = "self"
[profiles.orphan]
backend = "riak"
hosts = ["h"]
extends = "parnet"
[profiles.parent]
backend = "riak"
`)
	cfg, ps := load(t, loaders.Options{Files: []string{a}})
	// One problem per cycle, at the member that sorts first.
	findProblem(t, ps, "profiles.a.extends", "extends cycle of 3 profiles: a -> b -> c -> a")
	findProblem(t, ps, "profiles.self.extends", "extends cycle: self -> self")
	p := findProblem(t, ps, "profiles.orphan.extends", `extends unknown profile "parnet"; did you mean "parent"?`)
	require.Equal(t, a, p.Source)
	require.Len(t, ps, 3, ps.Error())
	// Best effort: the profiles are still there.
	require.Equal(t, []string{"h"}, cfg.Profiles["orphan"].Hosts)
	require.Contains(t, cfg.Profiles, "a")
}

func TestExtendsNotAllowedInDefaults(t *testing.T) {
	dir := t.TempDir()
	a := write(t, dir, "a.toml", "[defaults]\nextends = \"p\"\n"+minimalCass)
	_, ps := load(t, loaders.Options{Files: []string{a}})
	findProblem(t, ps, "defaults.extends", "not allowed in defaults")
}

func TestFSOption(t *testing.T) {
	fsys := fstest.MapFS{
		"conf/app.toml": {Data: []byte(minimalCass + `
[profiles.p.auth]
mechanism = "password"
password = { file = "secrets/pw" }
[profiles.p.tls]
ca = { file = "../ca.pem" }
`)},
		"conf/secrets/pw": {Data: []byte("fs-secret\n")},
		"ca.pem":          {Data: []byte("-----BEGIN CERTIFICATE-----\n"), Mode: 0o600},
	}
	cfg := loadOK(t, loaders.Options{FS: fsys, Files: []string{"conf/app.toml"}})
	p := cfg.Profiles["p"]
	require.Equal(t, "conf/secrets/pw", p.Auth.Password.File)
	require.Equal(t, "fs-secret", secretOf(t, cfg, "p", "auth.password", p.Auth.Password))
	require.Equal(t, "ca.pem", p.TLS.CA[0].File)
	require.Equal(t, uint32(0o600), modeOf(t, cfg, "p", "tls.ca[0]"))

	escape := fstest.MapFS{"app.toml": {Data: []byte(minimalCass + "[profiles.p.tls]\nca = { file = \"../x.pem\" }\n")}}
	_, ps := load(t, loaders.Options{FS: escape, Files: []string{"app.toml"}})
	findProblem(t, ps, "profiles.p.tls.ca[0]", "leaves the configuration file system")
}

func TestBaseGoLayer(t *testing.T) {
	base := &schema.Config{
		Defaults: schema.Profile{Keyspace: "ks"},
		Profiles: map[string]*schema.Profile{"g": {
			Backend: schema.Cassandra,
			Hosts:   []string{"h"},
			Auth: &schema.Auth{
				Mechanism: schema.MechanismPassword,
				Password:  &schema.SecretSource{Value: "go-secret"},
				PerHost:   []schema.HostCredentials{{Host: "h", Username: "x", Password: &schema.SecretSource{Value: "v"}}},
			},
			TLS: &schema.TLS{
				CA:   []schema.MaterialSource{{PEM: "PEMDATA"}, {System: true}},
				Key:  &schema.MaterialSource{PEM: "-----BEGIN KEY-----", Passphrase: &schema.SecretSource{Env: "KP"}},
				Mode: schema.TLSVerifyFull,
			},
		}},
	}
	cfg := loadOK(t, loaders.Options{Base: base, LookupEnv: envLookup(map[string]string{"KP": "kp"})})
	g := cfg.Profiles["g"]
	require.Equal(t, "ks", g.Keyspace)
	require.Equal(t, "go-secret", secretOf(t, cfg, "g", "auth.password", g.Auth.Password))
	require.Equal(t, "v", secretOf(t, cfg, "g", "auth.per_host[0].password", g.Auth.PerHost[0].Password))
	require.Equal(t, "PEMDATA", dataOf(t, cfg, "g", "tls.ca[0]"))
	require.True(t, g.TLS.CA[1].System)
	require.Equal(t, "kp", secretOf(t, cfg, "g", "tls.key.passphrase", g.TLS.Key.Passphrase))
	require.Equal(t, loaders.OriginGo, cfg.Origins.Get("profiles.g.hosts"))
	require.Equal(t, loaders.OriginGo+" via defaults", cfg.Origins.Get("profiles.g.keyspace"))
}

func TestOriginsOverriddenTableReplacedByLeaf(t *testing.T) {
	dir := t.TempDir()
	a := write(t, dir, "a.toml", minimalCass+"[profiles.p.tls]\nca = { file = \"x\" }\n")
	cfg, _ := load(t, loaders.Options{Files: []string{a}, Environ: []string{"CONNFACTORY_PROFILES__P__TLS__CA=system"}})
	require.Equal(t, "env CONNFACTORY_PROFILES__P__TLS__CA", cfg.Origins.Get("profiles.p.tls.ca"))
	require.Empty(t, cfg.Origins.Get("profiles.p.tls.ca.file"))
	require.Equal(t, "env CONNFACTORY_PROFILES__P__TLS__CA", cfg.Origins.Of("profiles.p.tls.ca"))
	_ = filepath.Join
}

// TestExtendsLongCycle: a cycle of 3,000 profiles is one problem of bounded length, not a
// line per member repeating the whole chain (78 MB of output before).
func TestExtendsLongCycle(t *testing.T) {
	const n = 3000
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "[profiles.p%04d]\nbackend = \"riak\"\nextends = \"p%04d\"\n", i, (i+1)%n)
	}
	// Entered from outside: the chain still starts at the member that sorts first.
	b.WriteString("[profiles.a]\nextends = \"p1234\"\n")
	a := write(t, t.TempDir(), "cycle.toml", b.String())
	_, ps := load(t, loaders.Options{Files: []string{a}})
	require.Len(t, ps, 1, "one problem per cycle")
	require.Equal(t, "profiles.p0000.extends", ps[0].Path)
	require.Equal(t, "extends cycle of 3000 profiles: p0000 -> p0001 -> p0002 -> p0003 -> p0004 -> "+
		"p0005 -> p0006 -> p0007 -> p0008 -> p0009 -> ... (2990 more) -> p0000", ps[0].Message)
	require.Equal(t, a, ps[0].Source)
}
