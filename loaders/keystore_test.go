package loaders_test

import (
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
	require.Equal(t, schema.Material("TRUST-BYTES"), a.TrustStore.Data)
	require.Equal(t, filepath.Join(dir, "certs/truststore.jks"), a.TrustStore.File)
	require.Equal(t, uint32(0o644), a.TrustStore.Mode)
	require.Contains(t, a.TrustStore.Origin, "app.toml")
	require.Equal(t, schema.KeyStoreJKS, a.TrustStore.Type)
	require.Equal(t, "trust-pw", a.TrustStore.Password.Secret().Reveal())
	require.Equal(t, schema.Material("KEY-BYTES"), a.KeyStore.Data)
	require.Equal(t, "store-pw", a.KeyStore.Password.Secret().Reveal())
	require.Equal(t, "key-pw", a.KeyStore.EffectiveKeyPassword().Secret().Reveal())
	require.Equal(t, "app", a.KeyStore.Alias)
	b := cfg.Profiles["b"].TLS
	require.Equal(t, schema.Material("INLINE"), b.TrustStore.Data)
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
	require.Equal(t, schema.Material("P12-BYTES"), tlsSec.KeyStore.Data)
	require.Equal(t, schema.KeyStorePKCS12, tlsSec.KeyStore.Type)
	require.Equal(t, "ks-pw", tlsSec.KeyStore.Password.Secret().Reveal())
	require.Equal(t, schema.Material("TS"), tlsSec.TrustStore.Data)
	require.Equal(t, "literal-pw", tlsSec.TrustStore.Password.Secret().Reveal())
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
	env := envLookup(map[string]string{"PW": "first"})
	require.Empty(t, loaders.ResolveTLS("profiles.x.tls", sec, env))
	require.Equal(t, schema.Material("one"), sec.KeyStore.Data)
	require.NoError(t, os.WriteFile(f, []byte("two"), 0o600))
	require.Empty(t, loaders.ResolveTLS("profiles.x.tls", sec, envLookup(map[string]string{"PW": "second"})))
	require.Equal(t, schema.Material("two"), sec.KeyStore.Data)
	require.Equal(t, "second", sec.KeyStore.Password.Secret().Reveal())
	require.Equal(t, uint32(0o600), sec.KeyStore.Mode)
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
	require.Equal(t, schema.Material("FROM-ENV"), ts.Data)
	require.Empty(t, ts.File)
	require.Nil(t, ts.Password, "the file's password went with the file's store")
	require.Empty(t, ts.Type)
}

// TestKeyStoreBytesFromGoValues: a Go value's store given as bytes only survives the
// layering (as inline base64), with its password.
func TestKeyStoreBytesFromGoValues(t *testing.T) {
	base := &schema.Config{Profiles: map[string]*schema.Profile{"g": {
		Backend: schema.Cassandra, Hosts: []string{"db1"},
		TLS: &schema.TLS{
			TrustStore: &schema.TrustStore{Data: []byte("TS-BYTES"), Password: &schema.SecretSource{Value: "tp"}},
			KeyStore:   &schema.KeyStore{Data: []byte("KS-BYTES"), Alias: "app", Password: &schema.SecretSource{Env: "KP"}},
		},
	}}}
	cfg := loadOK(t, loaders.Options{Base: base, LookupEnv: envLookup(map[string]string{"KP": "kp"})})
	tlsSec := cfg.Profiles["g"].TLS
	require.Equal(t, schema.Material("TS-BYTES"), tlsSec.TrustStore.Data)
	require.Equal(t, "tp", tlsSec.TrustStore.Password.Secret().Reveal())
	require.Equal(t, schema.Material("KS-BYTES"), tlsSec.KeyStore.Data)
	require.Equal(t, "kp", tlsSec.KeyStore.Password.Secret().Reveal())
	require.Equal(t, "app", tlsSec.KeyStore.Alias)
}
