package factory_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/factory/riak"
	"github.com/connfactory/connfactory/internal/factorytest"
	"github.com/connfactory/connfactory/internal/factorytest/cassenv"
	"github.com/connfactory/connfactory/internal/factorytest/riakenv"
	"github.com/connfactory/connfactory/internal/leakcheck"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/cqltest"
	"github.com/connfactory/connfactory/testserver/pki"
)

// The store passwords of these tests; no message may ever contain one.
const (
	ksPass    = "ks-Store-pw-41"
	ksKeyPass = "ks-Key-pw-77"
	ksWrong   = "ks-Wrong-pw-09"
)

func jks(t testing.TB, password string, entries ...pki.JKSEntry) []byte {
	t.Helper()
	b, err := pki.JKS(password, entries...)
	require.NoError(t, err)
	return b
}

func trustJKS(t testing.TB, password string, cas ...*pki.CA) []byte {
	t.Helper()
	b, err := pki.JKSTrustStore(password, cas...)
	require.NoError(t, err)
	return b
}

func trustP12(t testing.TB, password string, cas ...*pki.CA) []byte {
	t.Helper()
	b, err := pki.PKCS12TrustStore(password, cas...)
	require.NoError(t, err)
	return b
}

func trustStore(data []byte, pass string) *schema.TrustStore {
	return &schema.TrustStore{Base64: factorytest.B64(data), Password: factorytest.Secret(pass)}
}

func keyStore(data []byte, pass string) *schema.KeyStore {
	return &schema.KeyStore{Base64: factorytest.B64(data), Password: factorytest.Secret(pass)}
}

// storeTLS is a section trusting ts and presenting the key of ks.
func storeTLS(ts *schema.TrustStore, ks *schema.KeyStore) *schema.TLS {
	return &schema.TLS{TrustStore: ts, KeyStore: ks}
}

// compileStoreErr compiles sec expecting a config problem at path containing want, and
// checks that no password of these tests shows.
func compileStoreErr(t *testing.T, sec *schema.TLS, path, want string) {
	t.Helper()
	msg := compileErr(t, sec)
	require.Contains(t, msg, path+": ", msg)
	require.Contains(t, msg, want)
	for _, pw := range []string{ksPass, ksKeyPass, ksWrong} {
		require.NotContains(t, msg, pw)
	}
}

func TestKeyStoresCompile(t *testing.T) {
	S := factorytest.NewPKI(t)
	other := issue(t, S.Intermediate, pki.LeafOptions{CommonName: "other", Client: true})
	p12, err := S.Client.PKCS12(ksPass)
	require.NoError(t, err)
	cases := []struct {
		name string
		sec  *schema.TLS
		cn   string
	}{
		{"jks", storeTLS(trustStore(trustJKS(t, ksPass, S.Root), ksPass),
			keyStore(jks(t, ksPass, pki.JKSEntry{Alias: "app", Leaf: S.Client}), ksPass)), "app"},
		{"pkcs12", storeTLS(trustStore(trustP12(t, ksPass, S.Root), ksPass), keyStore(p12, ksPass)), "app"},
		{"typed", func() *schema.TLS {
			ts := trustStore(trustJKS(t, ksPass, S.Root), ksPass)
			ts.Type = schema.KeyStoreJKS
			ks := keyStore(p12, ksPass)
			ks.Type = schema.KeyStorePKCS12
			return storeTLS(ts, ks)
		}(), "app"},
		{"alias among several, any case", func() *schema.TLS {
			ks := keyStore(jks(t, ksPass, pki.JKSEntry{Alias: "app", Leaf: S.Client},
				pki.JKSEntry{Alias: "Other", Leaf: other}, pki.JKSEntry{Alias: "root", Cert: S.Root.Cert}), ksPass)
			ks.Alias = "OTHER"
			return storeTLS(trustStore(trustJKS(t, ksPass, S.Root), ksPass), ks)
		}(), "other"},
		{"key password", func() *schema.TLS {
			ks := keyStore(jks(t, ksPass, pki.JKSEntry{Alias: "app", Leaf: S.Client, KeyPassword: ksKeyPass}), ksPass)
			ks.KeyPassword = factorytest.Secret(ksKeyPass)
			return storeTLS(trustStore(trustJKS(t, ksPass, S.Root), ksPass), ks)
		}(), "app"},
		{"truststore with cert and key", &schema.TLS{TrustStore: trustStore(trustJKS(t, "", S.Root), ""),
			Cert: srcPtr(src("cert", S.Client.ChainPEM())), Key: srcPtr(src("key", S.Client.KeyPEM()))}, "app"},
		{"keystore with ca", &schema.TLS{CA: caOf(S.Root), KeyStore: keyStore(p12, ksPass)}, "app"},
		{"crl checked against the trust store's CAs", &schema.TLS{TrustStore: trustStore(trustJKS(t, ksPass, S.Root, S.Intermediate), ksPass),
			CRL: []schema.MaterialSource{src("crl", crlPEM(t, S.Intermediate, pki.CRLOptions{}))}, KeyStore: keyStore(p12, ksPass)}, "app"},
		{"pkcs12 with a CA certificate before the key's", func() *schema.TLS {
			// As keytool writes a store whose trusted CA entry precedes the key entry.
			der, err := pkcs12.Modern2023.Encode(S.Client.Key, S.Intermediate.Cert, []*x509.Certificate{S.Client.Cert}, ksPass)
			require.NoError(t, err)
			return &schema.TLS{TrustStore: trustStore(trustJKS(t, ksPass, S.Root), ksPass), KeyStore: keyStore(der, ksPass)}
		}(), "app"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ct, _ := compile(t, tc.sec)
			require.Equal(t, tc.cn, ct.ClientCertificate().Subject.CommonName)
		})
	}
}

func TestKeyStoreProblems(t *testing.T) {
	S := factorytest.NewPKI(t)
	other := issue(t, S.Intermediate, pki.LeafOptions{CommonName: "other", Client: true})
	goodTrust := trustStore(trustJKS(t, ksPass, S.Root), ksPass)
	goodKeys := keyStore(jks(t, ksPass, pki.JKSEntry{Alias: "app", Leaf: S.Client}), ksPass)
	p12, err := S.Client.PKCS12(ksPass)
	require.NoError(t, err)
	leafOnly := jks(t, ksPass, pki.JKSEntry{Alias: "leaf", Cert: S.Server.Cert})

	withTrust := func(ts *schema.TrustStore) *schema.TLS { return storeTLS(ts, goodKeys) }
	withKeys := func(ks *schema.KeyStore) *schema.TLS { return storeTLS(goodTrust, ks) }
	typed := func(ts *schema.TrustStore, typ schema.KeyStoreType) *schema.TrustStore { ts.Type = typ; return ts }
	aliased := func(ks *schema.KeyStore, alias string) *schema.KeyStore { ks.Alias = alias; return ks }
	keyPass := func(ks *schema.KeyStore, pass *schema.SecretSource) *schema.KeyStore {
		ks.KeyPassword = pass
		return ks
	}
	jksHeader := func(entries uint32, rest ...byte) []byte {
		b := binary.BigEndian.AppendUint32(nil, 0xFEEDFEED)
		b = binary.BigEndian.AppendUint32(b, 2)
		b = binary.BigEndian.AppendUint32(b, entries)
		return append(b, rest...)
	}
	const (
		ts = "profiles.p.tls.truststore"
		ks = "profiles.p.tls.keystore"
	)
	cases := []struct {
		name, path, want string
		sec              *schema.TLS
	}{
		{"truststore wrong password", ts, "wrong password", withTrust(trustStore(trustJKS(t, ksPass, S.Root), ksWrong))},
		{"truststore no password", ts, "no password is configured", withTrust(&schema.TrustStore{Base64: factorytest.B64(trustJKS(t, ksPass, S.Root))})},
		{"pkcs12 truststore wrong password", ts, "wrong password", withTrust(trustStore(trustP12(t, ksPass, S.Root), ksWrong))},
		{"truststore empty", ts, "is empty", withTrust(trustStore(jks(t, ksPass), ksPass))},
		{"truststore holds keys only", ts, "is this the key store?", withTrust(trustStore(jks(t, ksPass, pki.JKSEntry{Alias: "app", Leaf: S.Client}), ksPass))},
		{"pkcs12 key store as truststore", ts, "holds private key entries: is this the key store?", withTrust(trustStore(p12, ksPass))},
		{"pkcs12 truncated", ts, "not a readable PKCS#12 trust store", withTrust(trustStore(trustP12(t, ksPass, S.Root)[:40], ksPass))},
		{"truststore not a CA", ts, "is not a CA", withTrust(trustStore(leafOnly, ksPass))},
		{"truststore type mismatch", ts, "type is pkcs12 but the content is a jks store", withTrust(typed(trustStore(trustJKS(t, ksPass, S.Root), ksPass), schema.KeyStorePKCS12))},
		{"truststore PEM", ts, "holds PEM", withTrust(trustStore(S.Root.CertPEM(), ksPass))},
		{"truststore JCEKS", ts, "JCEKS", withTrust(trustStore(binary.BigEndian.AppendUint32(nil, 0xCECECECE), ksPass))},
		{"truststore garbage", ts, "neither a JKS nor a PKCS#12 store", withTrust(trustStore([]byte("garbage"), ksPass))},
		{"truststore huge count", ts, "not a readable JKS store", withTrust(trustStore(jksHeader(0xFFFFFFFF), ksPass))},
		{"truststore huge length", ts, "not a readable JKS store", withTrust(trustStore(jksHeader(1, 0, 0, 0, 1, 0, 1, 'a', 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF), ksPass))},
		{"truststore truncated", ts, "not a readable JKS store", withTrust(trustStore(trustJKS(t, ksPass, S.Root)[:60], ksPass))},
		{"truststore and ca", ts, "tls.truststore replaces tls.ca", &schema.TLS{CA: caOf(S.Root), TrustStore: goodTrust}},
		{"crl of a CA not in the trust store", "profiles.p.tls.crl[0]", "so its signature cannot be checked", &schema.TLS{TrustStore: goodTrust, KeyStore: goodKeys,
			CRL: []schema.MaterialSource{src("crl", crlPEM(t, S.OtherRoot, pki.CRLOptions{}))}}},

		{"keystore wrong password", ks, "wrong password", withKeys(keyStore(jks(t, ksPass, pki.JKSEntry{Alias: "app", Leaf: S.Client}), ksWrong))},
		{"pkcs12 keystore wrong password", ks, "wrong password", withKeys(keyStore(p12, ksWrong))},
		{"key password differs, not given", ks + ".password", "cannot decrypt the private key of entry \"app\"",
			withKeys(keyStore(jks(t, ksPass, pki.JKSEntry{Alias: "app", Leaf: S.Client, KeyPassword: ksKeyPass}), ksPass))},
		{"wrong key password", ks + ".key_password", "cannot decrypt",
			withKeys(keyPass(keyStore(jks(t, ksPass, pki.JKSEntry{Alias: "app", Leaf: S.Client, KeyPassword: ksKeyPass}), ksPass), factorytest.Secret(ksWrong)))},
		{"missing alias", ks + ".alias", `has no entry with alias "nope" (its private key entries: "app")`, withKeys(aliased(keyStore(jks(t, ksPass, pki.JKSEntry{Alias: "app", Leaf: S.Client}), ksPass), "nope"))},
		{"alias not a private key", ks + ".alias", `entry "root" is a trusted certificate, not a private key entry`,
			withKeys(aliased(keyStore(jks(t, ksPass, pki.JKSEntry{Alias: "app", Leaf: S.Client}, pki.JKSEntry{Alias: "root", Cert: S.Root.Cert}), ksPass), "root"))},
		{"several keys without alias", ks + ".alias", `holds 2 private key entries ("app", "other"): set alias`,
			withKeys(keyStore(jks(t, ksPass, pki.JKSEntry{Alias: "app", Leaf: S.Client}, pki.JKSEntry{Alias: "other", Leaf: other}), ksPass))},
		{"keystore empty", ks, "is empty", withKeys(keyStore(jks(t, ksPass), ksPass))},
		{"keystore holds certificates only", ks, "is this the trust store?", withKeys(keyStore(trustJKS(t, ksPass, S.Root), ksPass))},
		{"pkcs12 truststore as keystore", ks, "holds no private key entry", withKeys(keyStore(trustP12(t, ksPass, S.Root), ksPass))},
		{"pkcs12 key password differs", ks + ".key_password", "a PKCS#12 store is read with one password", withKeys(keyPass(keyStore(p12, ksPass), factorytest.Secret(ksKeyPass)))},
		{"keystore and cert", ks, "tls.keystore replaces tls.cert", &schema.TLS{CA: caOf(S.Root), KeyStore: goodKeys, Cert: srcPtr(src("cert", S.Client.ChainPEM()))}},
		{"keystore not loaded", ks, "was not loaded", withKeys(&schema.KeyStore{File: "never-stored.jks"})}, // no test stores this name (factorytest.StoreFile is process-wide)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compileStoreErr(t, tc.sec, tc.path, tc.want)
		})
	}
}

// TestPKCS12IterationBound: a PKCS#12 file asking for more than a million key derivation
// iterations is refused at once, not decrypted for minutes (go-pkcs12 runs whatever
// count the file says) — as a trust store, a key store and tls.pkcs12.
func TestPKCS12IterationBound(t *testing.T) {
	S := factorytest.NewPKI(t)
	// 65,536 iterations encode as 02 03 01 00 00; 8,388,607 as 02 03 7f ff ff.
	huge := func(der []byte, err error) []byte {
		t.Helper()
		require.NoError(t, err)
		patched := bytes.ReplaceAll(der, []byte{2, 3, 1, 0, 0}, []byte{2, 3, 0x7f, 0xff, 0xff})
		require.NotEqual(t, der, patched)
		return patched
	}
	enc := pkcs12.Modern2023.WithIterations(65536)
	trust := huge(enc.EncodeTrustStore([]*x509.Certificate{S.Root.Cert}, ksPass))
	keys := huge(enc.Encode(S.Client.Key, S.Client.Cert, nil, ksPass))
	compileStoreErr(t, &schema.TLS{TrustStore: trustStore(trust, ksPass)}, "profiles.p.tls.truststore", "key derivation iterations")
	compileStoreErr(t, &schema.TLS{CA: caOf(S.Root), KeyStore: keyStore(keys, ksPass)}, "profiles.p.tls.keystore", "key derivation iterations")
	compileStoreErr(t, &schema.TLS{CA: caOf(S.Root), PKCS12: &schema.MaterialSource{Base64: factorytest.B64(keys), Passphrase: factorytest.Secret(ksPass)}},
		"profiles.p.tls.pkcs12", "key derivation iterations")
}

func TestKeyStoreWarnings(t *testing.T) {
	S := factorytest.NewPKI(t)
	p12, err := S.Client.PKCS12(ksPass)
	require.NoError(t, err)
	// go-pkcs12 writes no friendly name: the alias cannot be checked, and says so.
	ks := keyStore(p12, ksPass)
	ks.Alias = "app"
	_, warns := compile(t, storeTLS(trustStore(trustJKS(t, ksPass, S.Root), ksPass), ks))
	require.True(t, hasWarning(warns, "profiles.p.tls.keystore.alias", "cannot be checked"), "%v", warns)

	// A key store file readable by others: the key permission rule applies.
	looseJKS := jks(t, ksPass, pki.JKSEntry{Alias: "app", Leaf: S.Client})
	factorytest.StoreFile("client.jks", looseJKS, 0o644)
	loose := keyStore(looseJKS, ksPass)
	loose.File, loose.Base64 = "client.jks", ""
	sec := storeTLS(trustStore(trustJKS(t, ksPass, S.Root), ksPass), loose)
	_, warns = compile(t, sec)
	require.True(t, hasWarning(warns, "profiles.p.tls.keystore", "accessible by group or others"), "%v", warns)
	sec.StrictKeyPermissions = true
	compileStoreErr(t, sec, "profiles.p.tls.keystore", "strict_key_permissions")
}

func TestTrustStoreCache(t *testing.T) {
	S := factorytest.NewPKI(t)
	cache := factory.NewMaterialCache()
	data := trustJKS(t, ksPass, S.Root, S.Intermediate)
	var cts []*factory.ClientTLS // kept alive: the cache holds its entries weakly
	for range 3 {
		ct, _ := compile(t, &schema.TLS{TrustStore: trustStore(data, ksPass)}, factory.WithMaterialCache(cache))
		cts = append(cts, ct)
	}
	st := cache.Stats()
	require.Equal(t, uint64(2), st.Parses, "one store parse and one bundle") // 2 CAs, one bundle
	require.Equal(t, uint64(4), st.Hits)
	// The same bytes with a wrong password are not answered from the good parse.
	msg := compileErr(t, &schema.TLS{TrustStore: trustStore(data, ksWrong)}, factory.WithMaterialCache(cache))
	require.Contains(t, msg, "wrong password")
	require.Len(t, cts, 3)
}

// TestKeyStoresDialCassandraMutualTLS dials cqltest requiring a client certificate, with
// the trust and the client key pair both from JKS stores, then from PKCS#12 stores.
func TestKeyStoresDialCassandraMutualTLS(t *testing.T) {
	leakcheck.Verify(t)
	env := cassenv.TLSServer(t, func(o *cqltest.Options) { o.TLS.ClientAuth = tls.RequireAndVerifyClientCert })
	p12, err := env.Set.Client.PKCS12(ksPass)
	require.NoError(t, err)
	for name, sec := range map[string]*schema.TLS{
		"jks": storeTLS(trustStore(trustJKS(t, ksPass, env.Set.Root), ksPass),
			keyStore(jks(t, ksPass, pki.JKSEntry{Alias: "app", Leaf: env.Set.Client}), ksPass)),
		"pkcs12": storeTLS(trustStore(trustP12(t, ksPass, env.Set.Root), ksPass), keyStore(p12, ksPass)),
	} {
		t.Run(name, func(t *testing.T) {
			c := cassenv.Connector(t, cassenv.Profile(env.Localhost(), sec))
			s := cassenv.Dial(t, c)
			cassenv.ReleaseVersion(t, s)
			s.Close()
			rep, err := c.Check(context.Background())
			require.NoError(t, err)
			require.NotNil(t, rep.TLS.ClientCert)
			require.Contains(t, rep.TLS.ClientCert.Subject, "CN=app")
		})
	}
	// Without the key store the server refuses the handshake: the dial above proved
	// the store's key pair was presented.
	c := cassenv.Connector(t, cassenv.Profile(env.Localhost(), &schema.TLS{TrustStore: trustStore(trustJKS(t, ksPass, env.Set.Root), ksPass)}))
	require.ErrorIs(t, cassenv.DialErr(t, c), factory.ErrTLSHandshake)
}

// TestKeyStoreReloadRotates rotates the key store behind a connector: ReloadNow picks the
// new key pair up, a store that does not open keeps the last good one.
func TestKeyStoreReloadRotates(t *testing.T) {
	leakcheck.Verify(t)
	env := cassenv.TLSServer(t, func(o *cqltest.Options) { o.TLS.ClientAuth = tls.RequireAndVerifyClientCert })
	rotated := issue(t, env.Set.Intermediate, pki.LeafOptions{CommonName: "rotated", Client: true})
	trust := trustJKS(t, ksPass, env.Set.Root)
	var (
		mu      sync.Mutex
		current = jks(t, ksPass, pki.JKSEntry{Alias: "app", Leaf: env.Set.Client})
		pass    = ksPass
	)
	section := func() *schema.TLS {
		mu.Lock()
		defer mu.Unlock()
		return storeTLS(trustStore(trust, ksPass), keyStore(current, pass))
	}
	var reloads []error
	c := cassenv.Connector(t, cassenv.Profile(env.Localhost(), section()),
		factorytest.ReloadFrom(func(context.Context) (*schema.TLS, error) { return section(), nil }),
		factory.WithReloadCallback(func(_ string, err error) { reloads = append(reloads, err) }))
	require.Equal(t, "app", c.TLS().ClientCertificate().Subject.CommonName)

	mu.Lock()
	current = jks(t, ksPass, pki.JKSEntry{Alias: "app", Leaf: rotated})
	mu.Unlock()
	require.NoError(t, c.ReloadNow(context.Background()))
	require.Equal(t, uint64(1), c.TLS().Generation())
	require.Equal(t, "rotated", c.TLS().ClientCertificate().Subject.CommonName)
	s := cassenv.Dial(t, c)
	cassenv.ReleaseVersion(t, s)
	s.Close()

	// The same store again: nothing to do, no new generation.
	require.NoError(t, c.ReloadNow(context.Background()))
	require.Equal(t, uint64(1), c.TLS().Generation())

	// A rotated password the store does not open: the last good key pair stays.
	mu.Lock()
	pass = ksWrong
	mu.Unlock()
	err := c.ReloadNow(context.Background())
	require.ErrorIs(t, err, factory.ErrConfig)
	require.Contains(t, err.Error(), "profiles.cass_test.tls.keystore")
	require.NotContains(t, err.Error(), ksWrong)
	require.Equal(t, uint64(1), c.TLS().Generation())
	require.Equal(t, "rotated", c.TLS().ClientCertificate().Subject.CommonName)
	require.Len(t, reloads, 3)
	require.Error(t, reloads[2])
}

func TestKeyStoreFormatsNeverPrintSecrets(t *testing.T) {
	ts := schema.TrustStore{Base64: "c2VjcmV0LWJ5dGVz", Password: &schema.SecretSource{Value: ksPass}}
	ks := schema.KeyStore{Base64: "c2VjcmV0LWJ5dGVz", Password: &schema.SecretSource{Value: ksPass},
		KeyPassword: &schema.SecretSource{Value: ksKeyPass}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		for _, v := range []any{ts, &ts, ks, &ks, schema.TLS{TrustStore: &ts, KeyStore: &ks}} {
			out := fmt.Sprintf(verb, v)
			for _, needle := range []string{ksPass, ksKeyPass, "c2VjcmV0LWJ5dGVz"} {
				require.False(t, strings.Contains(out, needle), "%s of %T printed a secret: %s", verb, v, out)
			}
		}
	}
}

// TestKeyStoresDialRiak authenticates to riaktest by client certificate, the key pair from
// a JKS key store and the trust from a PKCS#12 trust store, and by password with a JKS
// trust store.
func TestKeyStoresDialRiak(t *testing.T) {
	factorytest.LeakCheck(t)
	srv := riakenv.Start(t, riakenv.Secure())
	ts := trustStore(trustP12(t, ksPass, riakenv.PKI.Root), ksPass)
	ks := keyStore(jks(t, ksPass, pki.JKSEntry{Alias: "riak", Leaf: riakenv.CertUser}), ksPass)
	for name, p := range map[string]*schema.Profile{
		"certificate": riakenv.Profile([]string{srv.Addr()}, schema.MechanismCertificate, "riakcert", "", storeTLS(ts, ks)),
		"password": riakenv.Profile([]string{srv.Addr()}, schema.MechanismPassword, "pwuser", riakenv.Password,
			&schema.TLS{TrustStore: trustStore(trustJKS(t, "", riakenv.PKI.Root), "")}),
	} {
		t.Run(name, func(t *testing.T) {
			c := riakenv.New(t, p)
			cl, err := c.Dial(context.Background())
			require.NoError(t, err)
			riakenv.StoreFetch(t, cl, srv, "ks-"+name)
			require.NoError(t, cl.Stop())
		})
	}
	for _, ev := range srv.AuthEvents() {
		require.True(t, ev.OK, "%+v", ev)
	}
	// A key store whose key names another user: compile refuses it as for tls.cert.
	_, err := riak.New("riak_test", riakenv.Profile([]string{srv.Addr()}, schema.MechanismCertificate, "riakcert", "",
		storeTLS(ts, keyStore(jks(t, ksPass, pki.JKSEntry{Alias: "app", Leaf: riakenv.PKI.Client}), ksPass))))
	require.ErrorContains(t, err, "client certificate's CN is \"app\"")
}
