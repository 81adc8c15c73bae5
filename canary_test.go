package connfactory_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory"
	"github.com/connfactory/connfactory/connfactorytest"
	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/factory/cassandra"
	"github.com/connfactory/connfactory/factory/riak"
	"github.com/connfactory/connfactory/loaders"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/pki"
)

// The canary test plants distinctive secret values in profiles (a literal password, a key
// passphrase, passwords from the environment and from a file, inline private keys as PEM
// and as base64) and asserts that none of them shows in anything the module prints:
// errors, fmt of every public type with every verb, JSON, reports and log lines. Every
// planted value contains "CANARY" and nothing else does (variable and file names avoid
// the word), so one search finds any of them; the private keys, which cannot contain the
// word, are searched for by a stretch of their PEM body and by their scalar.
const (
	canaryPassword     = "CANARY-PASSWORD-7f3a"      // cass_pw: literal in the file
	canaryPassphrase   = "CANARY-PASSPHRASE-91be"    // cass_pw's encrypted key, riak_pw's PKCS#12
	canaryEnvPassword  = "CANARY-ENVPW-c0de"         // cass_env via {env}, riak_pw via CONNFACTORY_
	canaryFilePassword = "CANARY-FILEPW-5d21"        // riak_pam via {file}
	canaryWrongCass    = "CANARY-WRONGPW-CASS-a11e"  // cass_wrong: refused by the server
	canaryWrongRiak    = "CANARY-WRONGPW-RIAK-b22f"  // riak_wrong: refused by the server
	canaryBadPass      = "CANARY-BADPASSPHRASE-33cd" // invalid profiles: a wrong passphrase
	canaryWord         = "CANARY"
	// Key stores: cass_ks's trust store password (literal), both key stores' password
	// (env) and cass_ks's key password (file).
	canaryTrustPassword = "CANARY-TRUSTPW-2c2c"
	canaryStorePassword = "CANARY-STOREPW-4b4b"
	canaryKeyPassword   = "CANARY-KEYPW-8e8e"
	ksPassVar           = "CF_TEST_KS_PW"   // holds canaryStorePassword
	ksB64Var            = "CF_TEST_KS_B64"  // holds riak_ks's PKCS#12 key store, base64
	dbPasswordVar       = "CF_TEST_DB_PW"   // holds canaryEnvPassword
	p12PassVar          = "CF_TEST_P12_PW"  // holds canaryPassphrase
	unsetVar            = "CF_TEST_NOT_SET" // never set
)

// canaryFixture is a directory with PKI and a profiles file full of canaries.
type canaryFixture struct {
	dir     string
	file    string   // profiles.toml
	environ []string // the process environment the profiles expect
	// secretEnv is environ without its CONNFACTORY_ layer, for the invalid files.
	secretEnv []string
	set       *pki.Set
	// needles are the substrings that must never appear: canaryWord and stretches of
	// every private key in the profiles.
	needles []string
	// invalid maps a name to a profiles file that fails validation with canaries in it.
	invalid map[string]string
}

// keyNeedles returns what identifies l's private key in text: a stretch of its PKCS#8 PEM
// body, its scalar in hex and in decimal (how fmt prints a big.Int).
func keyNeedles(t *testing.T, l *pki.Leaf) []string {
	t.Helper()
	body := pemBody(l.KeyPEM())
	ec, ok := l.Key.(*ecdsa.PrivateKey)
	require.True(t, ok, "pki leaves are ECDSA by default")
	d, err := ec.Bytes()
	require.NoError(t, err)
	return []string{body[len(body)/2-20 : len(body)/2+20], hex.EncodeToString(d), new(big.Int).SetBytes(d).String()}
}

// pemBody is the base64 of a PEM block without its header lines and newlines.
func pemBody(b []byte) string {
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, "-----") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "")
}

func newCanaryFixture(t *testing.T) *canaryFixture {
	t.Helper()
	set, err := pki.NewSet()
	require.NoError(t, err)
	issue := func() *pki.Leaf {
		l, err := set.Intermediate.Issue(pki.LeafOptions{CommonName: "app", Client: true})
		require.NoError(t, err)
		return l
	}
	encLeaf, pemLeaf, b64Leaf, p12Leaf := issue(), issue(), issue(), issue()
	jksLeaf, p12ksLeaf, otherLeaf := issue(), issue(), issue()
	clientJKS, err := pki.JKS(canaryStorePassword, pki.JKSEntry{Alias: "app", Leaf: jksLeaf, KeyPassword: canaryKeyPassword},
		pki.JKSEntry{Alias: "other", Leaf: otherLeaf}, pki.JKSEntry{Alias: "root", Cert: set.Root.Cert})
	require.NoError(t, err)
	trustJKS, err := pki.JKSTrustStore(canaryTrustPassword, set.Root)
	require.NoError(t, err)
	trustP12, err := pki.PKCS12TrustStore(canaryStorePassword, set.Root)
	require.NoError(t, err)
	ksP12, err := p12ksLeaf.PKCS12(canaryStorePassword)
	require.NoError(t, err)
	enc, err := encLeaf.EncryptedPKCS8PEM(canaryPassphrase)
	require.NoError(t, err)
	p12, err := p12Leaf.PKCS12(canaryPassphrase)
	require.NoError(t, err)
	b64Key := base64.StdEncoding.EncodeToString(b64Leaf.KeyPEM())

	dir := t.TempDir()
	files := map[string][]byte{
		"ca.pem":       set.Root.CertPEM(),
		"enc.pem":      encLeaf.ChainPEM(),
		"enc.key":      enc,
		"inline.pem":   pemLeaf.ChainPEM(),
		"b64.pem":      b64Leaf.ChainPEM(),
		"client.p12":   p12,
		"pam.password": []byte(canaryFilePassword + "\n"),
		"trust.jks":    trustJKS,
		"client.jks":   clientJKS,
		"key.password": []byte(canaryKeyPassword + "\n"),
	}
	for name, b := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o600))
	}
	profiles := fmt.Sprintf(`[defaults]
connect_timeout = "5s"

[profiles.cass_pw]
backend = "cassandra"
hosts = ["localhost:1"]
[profiles.cass_pw.auth]
mechanism = "password"
username = "app"
password = %[1]q
per_host = [{ host = "10.0.0.99", username = "dc2app", password = "CANARY-PERHOST-6a6a" }]
[profiles.cass_pw.tls]
ca = { file = "ca.pem" }
cert = { file = "enc.pem" }
key = { file = "enc.key", passphrase = %[2]q }

[profiles.cass_env]
backend = "cassandra"
hosts = ["localhost:1"]
[profiles.cass_env.auth]
mechanism = "sasl_plain"
username = "envapp"
password = { env = %[3]q }
[profiles.cass_env.tls]
ca = { file = "ca.pem" }
cert = { file = "inline.pem" }
key = { pem = """
%[4]s""" }

[profiles.riak_pw]
backend = "riak"
hosts = ["localhost:1"]
[profiles.riak_pw.auth]
mechanism = "password"
username = "riakuser"
[profiles.riak_pw.tls]
ca = { file = "ca.pem" }
pkcs12 = { file = "client.p12", passphrase = { env = %[5]q } }

[profiles.riak_pam]
backend = "riak"
hosts = ["localhost:1"]
[profiles.riak_pam.auth]
mechanism = "pam"
username = "pamuser"
password = { file = "pam.password" }
[profiles.riak_pam.tls]
ca = { file = "ca.pem" }
cert = { file = "b64.pem" }
key = { base64 = %[6]q }

[profiles.cass_ks]
backend = "cassandra"
hosts = ["localhost:1"]
[profiles.cass_ks.auth]
mechanism = "password"
username = "ksapp"
password = %[1]q
[profiles.cass_ks.tls]
truststore = { file = "trust.jks", password = %[9]q }
keystore = { file = "client.jks", password = { env = %[10]q }, alias = "app", key_password = { file = "key.password" } }

[profiles.riak_ks]
backend = "riak"
hosts = ["localhost:1"]
[profiles.riak_ks.auth]
mechanism = "password"
username = "riakks"
password = { env = %[3]q }
[profiles.riak_ks.tls]
truststore = { base64 = %[11]q, password = { env = %[10]q }, type = "pkcs12" }
keystore = { env_base64 = %[12]q, password = { env = %[10]q } }

[profiles.cass_wrong]
extends = "cass_pw"
[profiles.cass_wrong.auth]
password = %[7]q

[profiles.riak_wrong]
extends = "riak_pw"
[profiles.riak_wrong.auth]
password = %[8]q
`, canaryPassword, canaryPassphrase, dbPasswordVar, pemLeaf.KeyPEM(), p12PassVar, b64Key,
		canaryWrongCass, canaryWrongRiak, canaryTrustPassword, ksPassVar, base64.StdEncoding.EncodeToString(trustP12), ksB64Var)
	file := filepath.Join(dir, "profiles.toml")
	require.NoError(t, os.WriteFile(file, []byte(profiles), 0o600))

	fx := &canaryFixture{
		dir:  dir,
		file: file,
		environ: []string{
			dbPasswordVar + "=" + canaryEnvPassword,
			p12PassVar + "=" + canaryPassphrase,
			"CONNFACTORY_PROFILES__RIAK_PW__AUTH__PASSWORD=" + canaryEnvPassword,
			ksPassVar + "=" + canaryStorePassword,
			ksB64Var + "=" + base64.StdEncoding.EncodeToString(ksP12),
		},
		secretEnv: []string{dbPasswordVar + "=" + canaryEnvPassword, p12PassVar + "=" + canaryPassphrase,
			ksPassVar + "=" + canaryStorePassword},
		set: set,
		// The marker as it is, in hex (%x of a string) and as bytes (%v of a []byte).
		needles: []string{canaryWord, hex.EncodeToString([]byte(canaryWord)), "67 65 78 65 82 89",
			b64Key[len(b64Key)/2-20 : len(b64Key)/2+20]},
		invalid: map[string]string{},
	}
	for _, l := range []*pki.Leaf{encLeaf, pemLeaf, b64Leaf, p12Leaf, jksLeaf, p12ksLeaf, otherLeaf} {
		fx.needles = append(fx.needles, keyNeedles(t, l)...)
	}

	// Invalid profiles, one failure each, every one with canaries next to the mistake.
	header := func(name string) string {
		return fmt.Sprintf("[profiles.%[1]s]\nbackend = \"cassandra\"\nhosts = [\"localhost:1\"]\n"+
			"[profiles.%[1]s.auth]\nmechanism = \"password\"\nusername = \"app\"\n", name)
	}
	invalid := map[string]string{
		"wrong_passphrase": header("bad") + fmt.Sprintf("password = %q\n[profiles.bad.tls]\nca = { file = \"ca.pem\" }\n"+
			"cert = { file = \"enc.pem\" }\nkey = { file = \"enc.key\", passphrase = %q }\n", canaryPassword, canaryBadPass),
		"wrong_p12_passphrase": header("bad") + fmt.Sprintf("password = %q\n[profiles.bad.tls]\nca = { file = \"ca.pem\" }\n"+
			"pkcs12 = { file = \"client.p12\", passphrase = %q }\n", canaryPassword, canaryBadPass),
		"key_mismatch": header("bad") + fmt.Sprintf("password = %q\n[profiles.bad.tls]\nca = { file = \"ca.pem\" }\n"+
			"cert = { file = \"enc.pem\" }\nkey = { pem = \"\"\"\n%s\"\"\" }\n", canaryPassword, pemLeaf.KeyPEM()),
		"unset_env": header("bad") + fmt.Sprintf("password = { env = %q }\n[profiles.bad.tls]\nca = { file = \"ca.pem\" }\n"+
			"cert = { file = \"enc.pem\" }\nkey = { file = \"enc.key\", passphrase = { env = %q } }\n", unsetVar, unsetVar),
		"bad_base64": header("bad") + fmt.Sprintf("password = %q\n[profiles.bad.tls]\nca = { file = \"ca.pem\" }\n"+
			"cert = { file = \"b64.pem\" }\nkey = { base64 = \"%s!!%s\" }\n", canaryPassword, canaryWord, b64Key),
		"malformed_pem": header("bad") + fmt.Sprintf("password = %q\n[profiles.bad.tls]\nca = { file = \"ca.pem\" }\n"+
			"cert = { file = \"inline.pem\" }\nkey = { pem = \"-----BEGIN PRIVATE KEY-----\\n%sMALFORMEDKEYe4d2\\n-----END PRIVATE KEY-----\\n\" }\n",
			canaryPassword, canaryWord),
		"pem_truncated": header("bad") + fmt.Sprintf("password = %q\n[profiles.bad.tls]\nca = { file = \"ca.pem\" }\n"+
			"cert = { file = \"inline.pem\" }\nkey = { pem = %q }\n", canaryPassword, string(pemLeaf.KeyPEM()[:len(pemLeaf.KeyPEM())-40])),
		"key_as_string": header("bad") + fmt.Sprintf("password = %q\n[profiles.bad.tls]\nca = { file = \"ca.pem\" }\n"+
			"cert = { file = \"inline.pem\" }\nkey = %q\n", canaryPassword, pemLeaf.KeyPEM()),
		"password_typo":        header("bad") + fmt.Sprintf("passwrod = %q\n", canaryPassword),
		"password_list":        header("bad") + fmt.Sprintf("password = [%q]\n", canaryPassword),
		"password_two_sources": header("bad") + fmt.Sprintf("password = { value = %q, env = %q }\n", canaryPassword, dbPasswordVar),
		"passphrase_wrong_type": header("bad") + fmt.Sprintf("password = %q\n[profiles.bad.tls]\nca = { file = \"ca.pem\" }\n"+
			"cert = { file = \"enc.pem\" }\nkey = { file = \"enc.key\", passphrase = { valeu = %q } }\n", canaryPassword, canaryPassphrase),
		"wrong_truststore_password": header("bad") + fmt.Sprintf("password = %q\n[profiles.bad.tls]\n"+
			"truststore = { file = \"trust.jks\", password = %q }\n", canaryPassword, canaryBadPass),
		"wrong_keystore_password": header("bad") + fmt.Sprintf("password = %q\n[profiles.bad.tls]\nca = { file = \"ca.pem\" }\n"+
			"keystore = { file = \"client.jks\", password = %q, alias = \"app\" }\n", canaryPassword, canaryBadPass),
		"wrong_key_password": header("bad") + fmt.Sprintf("password = %q\n[profiles.bad.tls]\nca = { file = \"ca.pem\" }\n"+
			"keystore = { file = \"client.jks\", password = { env = %q }, alias = \"app\", key_password = %q }\n",
			canaryPassword, ksPassVar, canaryBadPass),
		"keystore_alias_missing": header("bad") + fmt.Sprintf("password = %q\n[profiles.bad.tls]\nca = { file = \"ca.pem\" }\n"+
			"keystore = { file = \"client.jks\", password = { env = %q } }\n", canaryPassword, ksPassVar),
		"riak_cn_mismatch": fmt.Sprintf("[profiles.bad]\nbackend = \"riak\"\nhosts = [\"localhost:1\"]\n[profiles.bad.auth]\n"+
			"mechanism = \"certificate\"\nusername = \"someone\"\npassword = %q\n[profiles.bad.tls]\nca = { file = \"ca.pem\" }\n"+
			"cert = { file = \"inline.pem\" }\nkey = { pem = %q }\n", canaryPassword, pemLeaf.KeyPEM()),
	}
	for name, content := range invalid {
		p := filepath.Join(dir, "invalid-"+name+".toml")
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		fx.invalid[name] = p
	}
	return fx
}

// requireNoCanary fails when s holds any needle.
func (fx *canaryFixture) requireNoCanary(t *testing.T, what, s string) {
	t.Helper()
	for _, n := range fx.needles {
		if strings.Contains(s, n) {
			t.Fatalf("a secret (%q) leaked into %s:\n%s", n, what, s)
		}
	}
}

// requireNoCanaryFmt prints v with every fmt verb, through slog at debug level and as
// JSON, and checks each (requireNoCanaryAnywhere).
func (fx *canaryFixture) requireNoCanaryFmt(t *testing.T, what string, v any) {
	t.Helper()
	fx.requireNoCanaryAnywhere(t, what, v)
}

// options loads the fixture's profiles with its environment, then extra.
func (fx *canaryFixture) options(extra ...connfactory.Option) []connfactory.Option {
	return append([]connfactory.Option{connfactory.WithFiles(fx.file), connfactory.WithEnviron(fx.environ)}, extra...)
}

// load is what the loaders make of the fixture, as Load does: the configuration and its
// resolved material and secrets.
func (fx *canaryFixture) load(t *testing.T) (*schema.Config, *loaders.Material) {
	t.Helper()
	env := map[string]string{}
	for _, kv := range fx.environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	cfg, mat, err := loaders.Load(loaders.Options{Files: []string{fx.file}, Environ: fx.environ,
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	require.NoError(t, err)
	return cfg, mat
}

// resolvedSecret is the secret at path of profile name: as resolved, else its literal.
func resolvedSecret(mat *loaders.Material, name, path string, s *schema.SecretSource) schema.Secret {
	if v, ok := mat.Profile(name).Secret(path); ok {
		return v
	}
	return s.Value
}

// goodProfiles are the fixture's profiles whose servers accept them.
var goodProfiles = []string{"cass_env", "cass_ks", "cass_pw", "riak_ks", "riak_pam", "riak_pw"}

// TestCanaryGoValues prints every public type the configuration and the factory produce,
// and every error an invalid profile gives, with every fmt verb and as JSON.
func TestCanaryGoValues(t *testing.T) {
	fx := newCanaryFixture(t)
	cfg, mat := fx.load(t)
	require.Equal(t, canaryEnvPassword, resolvedSecret(mat, "riak_pw", "auth.password", cfg.Profiles["riak_pw"].Auth.Password).Reveal(),
		"the environment layer must supply riak_pw's password, or this test proves nothing")
	require.Equal(t, canaryFilePassword, resolvedSecret(mat, "riak_pam", "auth.password", cfg.Profiles["riak_pam"].Auth.Password).Reveal())
	key, _, _ := mat.Profile("cass_env").Material("tls.key")
	require.NotEmpty(t, key)

	fx.requireNoCanaryFmt(t, "schema.Config", cfg)
	fx.requireNoCanaryFmt(t, "*schema.Config", &cfg)
	for name, p := range cfg.Profiles {
		pm := mat.Profile(name)
		resolved := func(path string) schema.Material { b, _, _ := pm.Material(path); return b }
		fx.requireNoCanaryFmt(t, name+" *schema.Profile", p)
		fx.requireNoCanaryFmt(t, name+" schema.Profile", *p)
		fx.requireNoCanaryFmt(t, name+" *schema.Auth", p.Auth)
		fx.requireNoCanaryFmt(t, name+" *schema.TLS", p.TLS)
		fx.requireNoCanaryFmt(t, name+" []schema.HostCredentials", p.Auth.PerHost)
		if p.Auth.Password != nil {
			fx.requireNoCanaryFmt(t, name+" schema.SecretSource", *p.Auth.Password)
			fx.requireNoCanaryFmt(t, name+" *schema.SecretSource", p.Auth.Password)
			fx.requireNoCanaryFmt(t, name+" schema.Secret", resolvedSecret(mat, name, "auth.password", p.Auth.Password))
		}
		for key, m := range map[string]*schema.MaterialSource{"tls.key": p.TLS.Key, "tls.pkcs12": p.TLS.PKCS12, "tls.cert": p.TLS.Cert} {
			if m != nil {
				require.NotEmpty(t, resolved(key), "resolved")
				fx.requireNoCanaryFmt(t, name+" schema.MaterialSource", *m)
				fx.requireNoCanaryFmt(t, name+" *schema.MaterialSource", m)
				fx.requireNoCanaryFmt(t, name+" schema.Material", resolved(key))
				if m.Passphrase != nil {
					fx.requireNoCanaryFmt(t, name+" passphrase", *m.Passphrase)
				}
			}
		}
		if ts := p.TLS.TrustStore; ts != nil {
			require.NotEmpty(t, resolved("tls.truststore"), "resolved")
			fx.requireNoCanaryFmt(t, name+" schema.TrustStore", *ts)
			fx.requireNoCanaryFmt(t, name+" *schema.TrustStore", ts)
			fx.requireNoCanaryFmt(t, name+" truststore password", *ts.Password)
		}
		if ks := p.TLS.KeyStore; ks != nil {
			require.NotEmpty(t, resolved("tls.keystore"), "resolved")
			fx.requireNoCanaryFmt(t, name+" schema.KeyStore", *ks)
			fx.requireNoCanaryFmt(t, name+" *schema.KeyStore", ks)
			fx.requireNoCanaryFmt(t, name+" keystore password", *ks.Password)
			fx.requireNoCanaryFmt(t, name+" keystore key password", ks.EffectiveKeyPassword())
		}
	}

	// What each invalid file must be refused for, so that the test keeps reaching the
	// path it is about.
	want := map[string]string{
		"wrong_passphrase":          "wrong passphrase",
		"wrong_p12_passphrase":      "wrong passphrase",
		"key_mismatch":              "does not match the certificate",
		"unset_env":                 "environment variable " + unsetVar + " is not set",
		"bad_base64":                "inline base64 does not decode",
		"malformed_pem":             "PEM block #1 (line 1) is cut or does not decode",
		"pem_truncated":             "PEM block #1 (line 1) is cut or does not decode",
		"key_as_string":             "got a string",
		"password_typo":             `unknown key "passwrod"`,
		"password_list":             "got a list",
		"password_two_sources":      "exactly one of",
		"passphrase_wrong_type":     `unknown key "valeu"`,
		"riak_cn_mismatch":          "client certificate's CN",
		"wrong_truststore_password": "wrong password",
		"wrong_keystore_password":   "wrong password",
		"wrong_key_password":        "cannot decrypt the private key",
		"keystore_alias_missing":    "set alias to choose one",
	}
	require.Len(t, want, len(fx.invalid))
	for name, file := range fx.invalid {
		t.Run(name, func(t *testing.T) {
			reg, err := connfactory.Load(connfactory.WithFiles(file), connfactory.WithEnviron(fx.secretEnv))
			if err == nil {
				// What only the factory judges (keys, passphrases) fails at compile time.
				_, err = reg.CompileAll()
				require.NoError(t, reg.Close())
			}
			require.ErrorContains(t, err, want[name])
			fx.requireNoCanaryFmt(t, "error", err)
			fx.requireNoCanary(t, "error text", err.Error())
			var ps schema.Problems
			if errors.As(err, &ps) {
				fx.requireNoCanaryFmt(t, "schema.Problems", ps)
			}
			var fe *factory.Error
			if errors.As(err, &fe) {
				fx.requireNoCanaryFmt(t, "*factory.Error", fe)
			}
			// show's view of an invalid configuration: what was understood, as loaded.
			cfg, _ := connfactory.LoadConfig(connfactory.WithFiles(file), connfactory.WithEnviron(fx.secretEnv))
			if cfg != nil {
				fx.requireNoCanaryFmt(t, "partial schema.Config", cfg)
			}
		})
	}
}

// TestCanaryConnectors compiles, checks and dials every profile against real servers
// (passing and failing), with a debug-level JSON logger capturing every log line, and
// prints connectors, driver configurations, reports and errors.
func TestCanaryConnectors(t *testing.T) {
	fx := newCanaryFixture(t)
	cfg, mat := fx.load(t)
	good := map[string]*schema.Profile{}
	for _, n := range goodProfiles {
		good[n] = cfg.Profiles[n]
	}
	servers, err := connfactorytest.StartForProfiles(good, mat, fx.set.Server.TLSCertificate(), fx.set.Root.Pool())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, servers.Close()) })

	logs := &syncWriter{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg, err := connfactory.Load(fx.options(connfactory.WithValues(servers.Values()), connfactory.WithLogger(logger))...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, reg.Close()) })

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, name := range reg.Profiles() {
		wantOK := !strings.HasSuffix(name, "_wrong")
		c, err := reg.Connector(name)
		require.NoError(t, err, name)
		fx.requireNoCanaryFmt(t, name+" connector", c)

		report, err := c.Check(ctx)
		if wantOK {
			require.NoError(t, err, name)
			require.True(t, report.OK, name)
		} else {
			require.ErrorIs(t, err, factory.ErrAuthFailed, name)
			fx.requireNoCanaryFmt(t, name+" check error", err)
			var fe *factory.Error
			require.ErrorAs(t, err, &fe)
			fx.requireNoCanaryFmt(t, name+" *factory.Error", fe)
			fx.requireNoCanaryFmt(t, name+" factory.Error", *fe)
		}
		fx.requireNoCanaryFmt(t, name+" *factory.Report", report)
		fx.requireNoCanaryFmt(t, name+" factory.Report", *report)

		switch cc := c.(type) {
		case *cassandra.Connector:
			fx.requireNoCanaryFmt(t, name+" *cassandra.Connector", cc)
			fx.requireNoCanaryFmt(t, name+" *factory.ClientTLS", cc.TLS())
			fx.requireNoCanaryFmt(t, name+" *tls.Config", cc.TLS().Config("localhost:1"))
			cluster := cc.ClusterConfig()
			fx.requireNoCanaryFmt(t, name+" *gocql.ClusterConfig", cluster)
			fx.requireNoCanaryFmt(t, name+" gocql.ClusterConfig", *cluster)
			// The password reaches gocql only through the authenticator the provider makes
			// per connection; gocql's own PasswordAuthenticator (which prints its Password
			// field) is never stored where a program could print it.
			require.Nil(t, cluster.Authenticator)
			auth, err := cluster.AuthProvider(&gocql.HostInfo{})
			require.NoError(t, err)
			fx.requireNoCanaryFmt(t, name+" gocql.Authenticator", auth)

			sess, err := cc.Dial(ctx)
			if wantOK {
				require.NoError(t, err, name)
				sess.Close()
			} else {
				require.ErrorIs(t, err, factory.ErrAuthFailed, name)
				fx.requireNoCanaryFmt(t, name+" dial error", err)
			}
		case *riak.Connector:
			fx.requireNoCanaryFmt(t, name+" *riak.Connector", cc)
			fx.requireNoCanaryFmt(t, name+" *factory.ClientTLS", cc.TLS())
			opts := cc.NodeOptions()
			require.NotEmpty(t, opts)
			// riak-go-client's types are not ours: AuthOptions.Password is a plain string,
			// so printing *riak.AuthOptions shows the password, and so does printing
			// *riak.NodeOptions with a verb other than %v (fmt then prints the target of
			// the AuthOptions pointer raw). With %v, %+v and %#v the options print the
			// pointer only. Asserted both ways, so that the day it changes is seen.
			for _, verb := range []string{"%v", "%+v", "%#v"} {
				fx.requireNoCanary(t, name+" *riak.NodeOptions "+verb, fmt.Sprintf(verb, opts[0]))
				fx.requireNoCanary(t, name+" []*riak.NodeOptions "+verb, fmt.Sprintf(verb, opts))
			}
			pw := opts[0].AuthOptions.Password
			require.NotEmpty(t, pw)
			require.Contains(t, fmt.Sprintf("%+v", *opts[0].AuthOptions), pw, "riak-go-client changed: update the docs")
			for _, verb := range []string{"%s", "%q"} {
				require.Contains(t, fmt.Sprintf(verb, opts[0]), pw, "riak-go-client changed: update the docs")
			}

			cl, err := cc.Dial(ctx)
			if wantOK {
				require.NoError(t, err, name)
				require.NoError(t, cl.Stop())
			} else {
				require.ErrorIs(t, err, factory.ErrAuthFailed, name)
				fx.requireNoCanaryFmt(t, name+" dial error", err)
			}
		default:
			t.Fatalf("unexpected connector type %T", c)
		}
	}

	// OpenCassandra and OpenRiak, the one-call forms, failing: their errors too.
	_, _, err = connfactory.OpenCassandra(ctx, "cass_wrong", fx.options(connfactory.WithValues(servers.Values()),
		connfactory.WithLogger(logger))...)
	require.ErrorIs(t, err, factory.ErrAuthFailed)
	fx.requireNoCanaryFmt(t, "OpenCassandra error", err)
	_, _, err = connfactory.OpenRiak(ctx, "riak_wrong", fx.options(connfactory.WithValues(servers.Values()),
		connfactory.WithLogger(logger))...)
	require.ErrorIs(t, err, factory.ErrAuthFailed)
	fx.requireNoCanaryFmt(t, "OpenRiak error", err)

	require.NoError(t, reg.Close())
	require.NotEmpty(t, logs.String(), "debug logging should have said something about all that")
	fx.requireNoCanary(t, "the log", logs.String())
}

// syncWriter serialises writes and reads: connectors log from their drivers' goroutines.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
