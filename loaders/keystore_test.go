package loaders_test

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/loaders"
	"github.com/connfactory/connfactory/schema"
)

func TestKeyStoreSources(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "certs/truststore.jks", "TRUST-BYTES")
	write(t, dir, "certs/ks.pw", "store-pw\n")
	cfgFile := write(t, dir, "app.toml", `
[profiles.a]
backend = "cassandra"
hosts = ["db1"]
[profiles.a.tls]
truststore = { file = "certs/truststore.jks", password = { env = "TS_PW" }, type = "jks" }
keystore = { env_base64 = "CLIENT_KS", password = { file = "certs/ks.pw" }, alias = "app", key_password = "key-pw" }

[profiles.b]
backend = "cassandra"
hosts = ["db1"]
[profiles.b.tls]
truststore = { base64 = "`+base64.StdEncoding.EncodeToString([]byte("INLINE"))+`" }
`)
	cfg := loadOK(t, loaders.Options{Files: []string{cfgFile}, LookupEnv: envLookup(map[string]string{
		"TS_PW":     "trust-pw",
		"CLIENT_KS": base64.StdEncoding.EncodeToString([]byte("KEY-BYTES")),
	})})
	a := cfg.Profiles["a"].TLS
	require.Equal(t, "TRUST-BYTES", dataOf(t, cfg, "a", "tls.truststore"))
	require.Equal(t, filepath.Join(dir, "certs/truststore.jks"), a.TrustStore.File)
	require.Equal(t, uint32(0o644), modeOf(t, cfg, "a", "tls.truststore"))
	require.Contains(t, originOf(t, cfg, "a", "tls.truststore", a.TrustStore.Source()), "app.toml")
	require.Equal(t, schema.KeyStoreJKS, a.TrustStore.Type)
	require.Equal(t, "trust-pw", secretOf(t, cfg, "a", "tls.truststore.password", a.TrustStore.Password))
	require.Equal(t, "KEY-BYTES", dataOf(t, cfg, "a", "tls.keystore"))
	require.Equal(t, "store-pw", secretOf(t, cfg, "a", "tls.keystore.password", a.KeyStore.Password))
	require.Equal(t, "key-pw", secretOf(t, cfg, "a", "tls.keystore.key_password", a.KeyStore.EffectiveKeyPassword()))
	require.Equal(t, "app", a.KeyStore.Alias)
	b := cfg.Profiles["b"].TLS
	require.Equal(t, "INLINE", dataOf(t, cfg, "b", "tls.truststore"))
	require.Nil(t, b.TrustStore.Password)
}

func TestKeyStoreFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	ks := write(t, dir, "client.p12", "P12-BYTES")
	cfg := loadOK(t, loaders.Options{
		Environ: []string{
			"CONNFACTORY_PROFILES__E__BACKEND=cassandra",
			"CONNFACTORY_PROFILES__E__HOSTS=db1",
			"CONNFACTORY_PROFILES__E__TLS__KEYSTORE__FILE=" + ks,
			"CONNFACTORY_PROFILES__E__TLS__KEYSTORE__TYPE=pkcs12",
			"CONNFACTORY_PROFILES__E__TLS__KEYSTORE__PASSWORD__ENV=KS_PW",
			"CONNFACTORY_PROFILES__E__TLS__TRUSTSTORE__ENV_BASE64=TS_B64",
			"CONNFACTORY_PROFILES__E__TLS__TRUSTSTORE__PASSWORD=literal-pw",
		},
		LookupEnv: envLookup(map[string]string{"KS_PW": "ks-pw", "TS_B64": base64.StdEncoding.EncodeToString([]byte("TS"))}),
	})
	tlsSec := cfg.Profiles["e"].TLS
	require.Equal(t, "P12-BYTES", dataOf(t, cfg, "e", "tls.keystore"))
	require.Equal(t, schema.KeyStorePKCS12, tlsSec.KeyStore.Type)
	require.Equal(t, "ks-pw", secretOf(t, cfg, "e", "tls.keystore.password", tlsSec.KeyStore.Password))
	require.Equal(t, "TS", dataOf(t, cfg, "e", "tls.truststore"))
	require.Equal(t, "literal-pw", secretOf(t, cfg, "e", "tls.truststore.password", tlsSec.TrustStore.Password))
	require.Equal(t, "env CONNFACTORY_PROFILES__E__TLS__KEYSTORE__FILE", cfg.Origins.Of("profiles.e.tls.keystore.file"))
}

func TestKeyStoreSourceProblems(t *testing.T) {
	dir := t.TempDir()
	cfgFile := write(t, dir, "app.toml", `
[profiles.a]
backend = "cassandra"
hosts = ["db1"]
[profiles.a.tls]
truststore = { file = "missing.jks", alias = "x", password = { env = "UNSET_PW" } }
keystore = { env_base64 = "NOT_B64", keypassword = "x" }
`)
	_, ps := load(t, loaders.Options{Files: []string{cfgFile}, LookupEnv: envLookup(map[string]string{"NOT_B64": "%%%"})})
	msg := ps.Error()
	require.Contains(t, msg, `profiles.a.tls.truststore.alias: unknown key "alias"`)
	require.Contains(t, msg, `profiles.a.tls.keystore.keypassword: unknown key "keypassword"; did you mean "key_password"?`)
	require.Contains(t, msg, "profiles.a.tls.truststore: file "+filepath.Join(dir, "missing.jks")+": no such file or directory")
	require.Contains(t, msg, "profiles.a.tls.truststore.password: environment variable UNSET_PW is not set")
	require.Contains(t, msg, "profiles.a.tls.keystore: environment variable NOT_B64 does not hold base64")
}

func TestResolveTLSRereadsKeyStores(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "client.jks")
	require.NoError(t, os.WriteFile(f, []byte("one"), 0o600))
	sec := &schema.TLS{KeyStore: &schema.KeyStore{File: f, Password: &schema.SecretSource{Env: "PW"}}}
	env := map[string]string{"PW": "first"}
	_, mat, err := loaders.Load(loaders.Options{EnvPrefix: "-", LookupEnv: envLookup(env),
		Base: &schema.Config{Profiles: map[string]*schema.Profile{"x": {TLS: sec}}}})
	require.NoError(t, err)
	pm := mat.Profile("x")
	data, _, _ := pm.Material("tls.keystore")
	require.Equal(t, schema.Material("one"), data)
	require.NoError(t, os.WriteFile(f, []byte("two"), 0o600))
	env["PW"] = "second"
	require.NoError(t, pm.Reload(context.Background()))
	data, mode, _ := pm.Material("tls.keystore")
	require.Equal(t, schema.Material("two"), data)
	pw, _ := pm.Secret("tls.keystore.password")
	require.Equal(t, "second", pw.Reveal())
	require.Equal(t, uint32(0o600), mode)
}

// TestKeyStoreReplacedWholeByLaterLayer: a later layer's store replaces the file's as a
// whole, as every source key does, instead of merging into a store with two sources.
func TestKeyStoreReplacedWholeByLaterLayer(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "ts.jks", "FROM-FILE")
	cfgFile := write(t, dir, "app.toml", `
[profiles.a]
backend = "cassandra"
hosts = ["db1"]
[profiles.a.tls]
truststore = { file = "ts.jks", password = "file-pw", type = "jks" }
`)
	cfg := loadOK(t, loaders.Options{Files: []string{cfgFile},
		Environ:   []string{"CONNFACTORY_PROFILES__A__TLS__TRUSTSTORE__ENV_BASE64=TS_B64"},
		LookupEnv: envLookup(map[string]string{"TS_B64": base64.StdEncoding.EncodeToString([]byte("FROM-ENV"))})})
	ts := cfg.Profiles["a"].TLS.TrustStore
	require.Equal(t, "FROM-ENV", dataOf(t, cfg, "a", "tls.truststore"))
	require.Empty(t, ts.File)
	require.Nil(t, ts.Password, "the file's password went with the file's store")
	require.Empty(t, ts.Type)
}

// TestKeyStoreBytesFromGoValues: a Go value's store given inline (base64) survives the
// layering, with its password.
func TestKeyStoreBytesFromGoValues(t *testing.T) {
	base := &schema.Config{Profiles: map[string]*schema.Profile{"g": {
		Backend: schema.Cassandra, Hosts: []string{"db1"},
		TLS: &schema.TLS{
			TrustStore: &schema.TrustStore{Base64: schema.Secret(base64.StdEncoding.EncodeToString([]byte("TS-BYTES"))), Password: &schema.SecretSource{Value: "tp"}},
			KeyStore:   &schema.KeyStore{Base64: schema.Secret(base64.StdEncoding.EncodeToString([]byte("KS-BYTES"))), Alias: "app", Password: &schema.SecretSource{Env: "KP"}},
		},
	}}}
	cfg := loadOK(t, loaders.Options{Base: base, LookupEnv: envLookup(map[string]string{"KP": "kp"})})
	tlsSec := cfg.Profiles["g"].TLS
	require.Equal(t, "TS-BYTES", dataOf(t, cfg, "g", "tls.truststore"))
	require.Equal(t, "tp", secretOf(t, cfg, "g", "tls.truststore.password", tlsSec.TrustStore.Password))
	require.Equal(t, "KS-BYTES", dataOf(t, cfg, "g", "tls.keystore"))
	require.Equal(t, "kp", secretOf(t, cfg, "g", "tls.keystore.password", tlsSec.KeyStore.Password))
	require.Equal(t, "app", tlsSec.KeyStore.Alias)
}
