package factory_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/pki"
)

const testPass = "correct horse battery"

func TestEncryptedKeys(t *testing.T) {
	S := tlsNewSet(t)
	enc, err := S.Client.EncryptedPKCS8PEM(testPass)
	require.NoError(t, err)
	legacy, err := S.Client.LegacyEncryptedPEM(testPass)
	require.NoError(t, err)
	rsaLeaf := issue(t, S.Intermediate, pki.LeafOptions{CommonName: "rsa", Client: true, KeyType: pki.RSA2048})
	rsaLegacy, err := rsaLeaf.LegacyEncryptedPEM(testPass)
	require.NoError(t, err)

	for _, c := range []struct {
		name string
		leaf *pki.Leaf
		key  []byte
	}{
		{"pkcs8", S.Client, enc},
		{"legacy EC", S.Client, legacy},
		{"legacy RSA", rsaLeaf, rsaLegacy},
	} {
		t.Run(c.name, func(t *testing.T) {
			sec := func(pass string) *schema.TLS {
				s := &schema.TLS{CA: caOf(S.Root), Cert: srcPtr(src("cert", c.leaf.ChainPEM())),
					Key: &schema.MaterialSource{Base64: b64(c.key)}}
				if pass != "" {
					s.Key.Passphrase = secret(pass)
				}
				return s
			}
			ct, _ := compile(t, sec(testPass))
			require.Equal(t, c.leaf.Cert.SerialNumber, ct.ClientCertificate().SerialNumber)

			msg := compileErr(t, sec("not the passphrase"))
			require.Contains(t, msg, "profiles.p.tls.key")
			require.Contains(t, msg, "wrong passphrase")
			require.NotContains(t, msg, "not the passphrase")
			require.NotContains(t, msg, testPass)
			require.NotContains(t, msg, "PRIVATE KEY-----")

			msg = compileErr(t, sec(""))
			require.Contains(t, msg, "profiles.p.tls.key")
			require.Contains(t, msg, "no passphrase")
		})
	}
}

func TestPKCS12(t *testing.T) {
	S := tlsNewSet(t)
	p12, err := S.Client.PKCS12(testPass)
	require.NoError(t, err)
	sec := func(pass string) *schema.TLS {
		return &schema.TLS{CA: caOf(S.Root), PKCS12: &schema.MaterialSource{Base64: b64(p12), Passphrase: secret(pass)}}
	}
	ct, _ := compile(t, sec(testPass))
	require.Equal(t, "app", ct.ClientCertificate().Subject.CommonName)

	msg := compileErr(t, sec("nope-nope"))
	require.Contains(t, msg, "profiles.p.tls.pkcs12")
	require.Contains(t, msg, "wrong passphrase")
	require.NotContains(t, msg, "nope-nope")

	both := sec(testPass)
	both.Cert = srcPtr(src("cert", S.Client.ChainPEM()))
	require.Contains(t, compileErr(t, both), "not both")
}

func TestKeyPairProblems(t *testing.T) {
	S := tlsNewSet(t)
	other := issue(t, S.Intermediate, pki.LeafOptions{CommonName: "other", Client: true})
	pair := func(cert, key []byte) *schema.TLS {
		return &schema.TLS{CA: caOf(S.Root), Cert: srcPtr(src("cert", cert)), Key: srcPtr(src("key", key))}
	}

	msg := compileErr(t, pair(S.Client.ChainPEM(), other.KeyPEM()))
	require.Contains(t, msg, "profiles.p.tls.key")
	require.Contains(t, msg, "does not match")

	expired := issue(t, S.Intermediate, pki.LeafOptions{CommonName: "old", Client: true}.Expired())
	msg = compileErr(t, pair(expired.ChainPEM(), expired.KeyPEM()))
	require.Contains(t, msg, "profiles.p.tls.cert")
	require.Contains(t, msg, "expired")

	future := issue(t, S.Intermediate, pki.LeafOptions{CommonName: "future", Client: true}.NotYetValid())
	msg = compileErr(t, pair(future.ChainPEM(), future.KeyPEM()))
	require.Contains(t, msg, "profiles.p.tls.cert")
	require.Contains(t, msg, "not valid before")

	soon := issue(t, S.Intermediate, pki.LeafOptions{CommonName: "soon", Client: true, NotAfter: time.Now().Add(10 * 24 * time.Hour)})
	_, warns := compile(t, pair(soon.ChainPEM(), soon.KeyPEM()))
	require.True(t, hasWarning(warns, "profiles.p.tls.cert", "expires in"), "%v", warns)

	// The clock decides: the same certificate compiled 20 days later is expired.
	msg = compileErr(t, pair(soon.ChainPEM(), soon.KeyPEM()), factory.WithClock(func() time.Time { return time.Now().Add(20 * 24 * time.Hour) }))
	require.Contains(t, msg, "expired")

	msg = compileErr(t, pair([]byte("not a cert"), S.Client.KeyPEM()))
	require.Contains(t, msg, "profiles.p.tls.cert")
	msg = compileErr(t, pair(S.Client.ChainPEM(), []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")))
	require.Contains(t, msg, "profiles.p.tls.key")

	// A key without a certificate.
	msg = compileErr(t, &schema.TLS{CA: caOf(S.Root), Key: srcPtr(src("key", S.Client.KeyPEM()))})
	require.Contains(t, msg, "without cert")

	// A combined PEM: the key is taken from the cert source.
	ct, _ := compile(t, &schema.TLS{CA: caOf(S.Root), Cert: srcPtr(src("combined", append(S.Client.ChainPEM(), S.Client.KeyPEM()...)))})
	require.Equal(t, "app", ct.ClientCertificate().Subject.CommonName)

	// A file or env source the loaders did not resolve.
	msg = compileErr(t, &schema.TLS{CA: []schema.MaterialSource{{File: "ca.pem"}}})
	require.Contains(t, msg, "not loaded")
}

func TestKeyPermissions(t *testing.T) {
	S := tlsNewSet(t)
	sec := func(mode uint32, strict bool) *schema.TLS {
		return &schema.TLS{CA: caOf(S.Root), StrictKeyPermissions: strict,
			Cert: srcPtr(fileSrc("certs/client.pem", S.Client.ChainPEM(), 0o644)),
			Key:  srcPtr(fileSrc("certs/client.key", S.Client.KeyPEM(), mode))}
	}
	_, warns := compile(t, sec(0o600, false))
	require.Empty(t, warns)

	_, warns = compile(t, sec(0o640, false))
	require.True(t, hasWarning(warns, "profiles.p.tls.key", "certs/client.key"), "%v", warns)
	require.True(t, hasWarning(warns, "profiles.p.tls.key", "0640"), "%v", warns)

	msg := compileErr(t, sec(0o604, true))
	require.Contains(t, msg, "profiles.p.tls.key")
	require.Contains(t, msg, "certs/client.key")
	require.Contains(t, msg, "strict_key_permissions")

	p12, err := S.Client.PKCS12(testPass)
	require.NoError(t, err)
	m := fileSrc("client.p12", p12, 0o644)
	m.Passphrase = secret(testPass)
	_, warns = compile(t, &schema.TLS{CA: caOf(S.Root), PKCS12: &m})
	require.True(t, hasWarning(warns, "profiles.p.tls.pkcs12", "client.p12"), "%v", warns)
}

func TestCertPool(t *testing.T) {
	S := tlsNewSet(t)

	msg := compileErr(t, &schema.TLS{CA: []schema.MaterialSource{fileSrc("empty.pem", []byte("# nothing here\n"), 0o644)}})
	require.Contains(t, msg, "profiles.p.tls.ca[0]")
	require.Contains(t, msg, "no certificate")
	require.Contains(t, msg, "empty.pem")

	// A key file given as CA: PEM, but no certificate in it.
	msg = compileErr(t, &schema.TLS{CA: []schema.MaterialSource{src("ca", S.Client.KeyPEM())}})
	require.Contains(t, msg, "no certificate")

	msg = compileErr(t, &schema.TLS{CA: []schema.MaterialSource{src("ca", S.Server.CertPEM())}})
	require.Contains(t, msg, "profiles.p.tls.ca[0]")
	require.Contains(t, msg, "not a CA")

	// Every problem is reported, not only the first.
	msg = compileErr(t, &schema.TLS{
		CA:      []schema.MaterialSource{src("ca", S.Root.CertPEM()), src("ca", []byte("x"))},
		Ciphers: []string{"NOPE"}, MinVersion: "1.1",
		Cert: srcPtr(src("cert", S.Client.ChainPEM())), Key: srcPtr(src("key", S.Server.KeyPEM())),
	})
	for _, p := range []string{"profiles.p.tls.ca[1]", "profiles.p.tls.ciphers", "profiles.p.tls.min_version", "profiles.p.tls.key"} {
		require.Contains(t, msg, p)
	}

	// Helpers are usable alone: PEM, DER, base64, a bundle, several sources.
	der := S.Root.Cert.Raw
	pool, certs, err := factory.LoadCertPool("x.ca", []schema.MaterialSource{
		src("der", der),
		{Base64: schema.Secret(base64.StdEncoding.EncodeToString(S.OtherRoot.CertPEM()))},
		{PEM: schema.Secret(S.Intermediate.ChainPEM())},
	})
	require.NoError(t, err)
	require.NotNil(t, pool)
	require.Len(t, certs, 4)

	// "system" adds the operating system's pool (it may be empty in a container, so only
	// the call is checked).
	_, certs, err = factory.LoadCertPool("x.ca", []schema.MaterialSource{{System: true}, src("ca", S.Root.CertPEM())})
	require.NoError(t, err)
	require.Len(t, certs, 1)

	_, _, err = factory.LoadCertPool("x.ca", []schema.MaterialSource{{Base64: "!!!"}})
	require.ErrorIs(t, err, factory.ErrConfig)
	require.Contains(t, err.Error(), "not valid base64")
}

func TestLoadKeyPairAlone(t *testing.T) {
	S := tlsNewSet(t)
	cert, warns, err := factory.LoadKeyPair("x.tls", srcPtr(src("c", S.Client.ChainPEM())), srcPtr(src("k", S.Client.KeyPEM())), nil)
	require.NoError(t, err)
	require.Empty(t, warns)
	require.Len(t, cert.Certificate, 2, "leaf and intermediate")
	require.Equal(t, S.Client.Cert.SerialNumber, cert.Leaf.SerialNumber)

	cert, warns, err = factory.LoadKeyPair("x.tls", nil, nil, nil)
	require.NoError(t, err)
	require.Nil(t, cert)
	require.Nil(t, warns)

	// Unencrypted key with a passphrase configured: works, with a warning.
	k := src("k", S.Client.KeyPEM())
	k.Passphrase = secret("zz-secret-zz")
	_, warns, err = factory.LoadKeyPair("x.tls", srcPtr(src("c", S.Client.ChainPEM())), &k, nil)
	require.NoError(t, err)
	require.True(t, hasWarning(warns, "x.tls.key", "not encrypted"), "%v", warns)
	require.False(t, strings.Contains(warns[0].Message, "zz-secret-zz"))
}

func TestVersions(t *testing.T) {
	S := tlsNewSet(t)
	sec := func(min, max schema.TLSVersion, legacy bool) *schema.TLS {
		return &schema.TLS{CA: caOf(S.Root), MinVersion: min, MaxVersion: max, AllowLegacyVersions: legacy}
	}
	for _, c := range []struct {
		in   schema.TLSVersion
		want uint16
	}{{"1.0", 0x0301}, {"1.1", 0x0302}, {"1.2", 0x0303}, {"1.3", 0x0304}, {"TLSv1.2", 0x0303}} {
		v, err := factory.ParseTLSVersion(c.in)
		require.NoError(t, err)
		require.Equal(t, c.want, v)
	}
	_, err := factory.ParseTLSVersion("1.4")
	require.ErrorContains(t, err, "1.0, 1.1, 1.2, 1.3")

	msg := compileErr(t, sec("1.0", "", false))
	require.Contains(t, msg, "profiles.p.tls.min_version")
	require.Contains(t, msg, "allow_legacy_versions")
	ct, warns := compile(t, sec("1.1", "", true))
	require.True(t, hasWarning(warns, "profiles.p.tls.min_version", "TLS 1.1"), "%v", warns)
	require.Equal(t, uint16(0x0302), ct.Config("h:1").MinVersion)

	msg = compileErr(t, sec("", "1.1", false))
	require.Contains(t, msg, "profiles.p.tls.max_version")
	msg = compileErr(t, sec("1.3", "1.2", false))
	require.Contains(t, msg, "above max_version")
	msg = compileErr(t, sec("1.5", "", false))
	require.Contains(t, msg, "unknown TLS version")

	ct, _ = compile(t, sec("", "", false))
	cfg := ct.Config("h:1")
	require.Equal(t, uint16(0x0303), cfg.MinVersion)
	require.Equal(t, uint16(0x0304), cfg.MaxVersion)
}
