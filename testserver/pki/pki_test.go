package pki_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/youmark/pkcs8"
	"go.uber.org/goleak"
	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/connfactory/connfactory/internal/opensslbin"
	"github.com/connfactory/connfactory/testserver/pki"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(opensslbin.Wrap("testserver/pki", m))
}

func newSet(t *testing.T) *pki.Set {
	t.Helper()
	s, err := pki.NewSet()
	require.NoError(t, err)
	return s
}

func pool(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

func parsePEMCerts(t *testing.T, data []byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		require.Equal(t, "CERTIFICATE", b.Type)
		c, err := x509.ParseCertificate(b.Bytes)
		require.NoError(t, err)
		out = append(out, c)
	}
	require.Empty(t, data, "trailing bytes after PEM")
	return out
}

func TestSetChainsVerify(t *testing.T) {
	s := newSet(t)

	chains, err := s.Server.Cert.Verify(x509.VerifyOptions{
		DNSName:       "localhost",
		Roots:         s.Root.Pool(),
		Intermediates: pool(s.Intermediate.Cert),
	})
	require.NoError(t, err)
	require.Len(t, chains, 1)
	require.Equal(t, []*x509.Certificate{s.Server.Cert, s.Intermediate.Cert, s.Root.Cert}, chains[0])

	for _, host := range []string{"127.0.0.1", "::1"} {
		require.NoError(t, s.Server.Cert.VerifyHostname(host), host)
	}
	require.Error(t, s.Server.Cert.VerifyHostname("example.com"))

	_, err = s.Client.Cert.Verify(x509.VerifyOptions{
		Roots:         s.Root.Pool(),
		Intermediates: pool(s.Intermediate.Cert),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	require.NoError(t, err)
	require.Equal(t, "app", s.Client.Cert.Subject.CommonName)

	// The server cert is not a client cert and vice versa.
	_, err = s.Server.Cert.Verify(x509.VerifyOptions{
		Roots: s.Root.Pool(), Intermediates: pool(s.Intermediate.Cert),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	require.Error(t, err)
	_, err = s.Client.Cert.Verify(x509.VerifyOptions{
		Roots: s.Root.Pool(), Intermediates: pool(s.Intermediate.Cert),
	})
	require.Error(t, err)

	// Without the intermediate, or against the other root, nothing verifies.
	_, err = s.Server.Cert.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: s.Root.Pool()})
	require.ErrorAs(t, err, new(x509.UnknownAuthorityError))
	_, err = s.Server.Cert.Verify(x509.VerifyOptions{
		DNSName: "localhost", Roots: s.OtherRoot.Pool(), Intermediates: pool(s.Intermediate.Cert),
	})
	require.ErrorAs(t, err, new(x509.UnknownAuthorityError))
}

func TestCAProperties(t *testing.T) {
	s := newSet(t)
	for _, ca := range []*pki.CA{s.Root, s.Intermediate, s.OtherRoot} {
		require.True(t, ca.Cert.IsCA)
		require.Equal(t, x509.KeyUsageCertSign|x509.KeyUsageCRLSign, ca.Cert.KeyUsage)
		require.IsType(t, &ecdsa.PrivateKey{}, ca.Key)
		require.WithinDuration(t, time.Now().Add(-time.Hour), ca.Cert.NotBefore, time.Minute)
		require.WithinDuration(t, time.Now().AddDate(10, 0, 0), ca.Cert.NotAfter, time.Minute)
	}
	require.Nil(t, s.Root.Parent)
	require.Same(t, s.Root, s.Intermediate.Parent)
	require.Same(t, s.Root, s.Intermediate.Root())
	require.NoError(t, s.Root.Cert.CheckSignatureFrom(s.Root.Cert))
	require.NoError(t, s.Intermediate.Cert.CheckSignatureFrom(s.Root.Cert))

	require.Equal(t, []*x509.Certificate{s.Intermediate.Cert}, parsePEMCerts(t, s.Intermediate.CertPEM()))
	require.Equal(t, []*x509.Certificate{s.Intermediate.Cert, s.Root.Cert}, parsePEMCerts(t, s.Intermediate.ChainPEM()))
	require.Equal(t, []*x509.Certificate{s.Root.Cert}, parsePEMCerts(t, s.Root.ChainPEM()))

	// Pool holds the root only, whichever CA of the chain it is asked of.
	require.True(t, s.Intermediate.Pool().Equal(pool(s.Root.Cert)))
	require.True(t, s.Root.Pool().Equal(pool(s.Root.Cert)))
}

func TestDeepChain(t *testing.T) {
	root, err := pki.NewRootCA("root")
	require.NoError(t, err)
	i1, err := root.NewIntermediate("i1")
	require.NoError(t, err)
	i2, err := i1.NewIntermediate("i2")
	require.NoError(t, err)
	leaf, err := i2.Issue(pki.LeafOptions{CommonName: "deep", DNSNames: []string{"deep.test"}})
	require.NoError(t, err)

	chain := parsePEMCerts(t, leaf.ChainPEM())
	require.Equal(t, []*x509.Certificate{leaf.Cert, i2.Cert, i1.Cert}, chain)
	require.Equal(t, []*x509.Certificate{i2.Cert, i1.Cert, root.Cert}, parsePEMCerts(t, i2.ChainPEM()))

	_, err = leaf.Cert.Verify(x509.VerifyOptions{
		DNSName: "deep.test", Roots: i2.Pool(), Intermediates: pool(chain[1:]...),
	})
	require.NoError(t, err)

	tc := leaf.TLSCertificate()
	require.Len(t, tc.Certificate, 3)
	require.Equal(t, leaf.Cert.Raw, tc.Certificate[0])
	require.Equal(t, i1.Cert.Raw, tc.Certificate[2])
}

func TestLeafFromRootHasNoIntermediates(t *testing.T) {
	root, err := pki.NewRootCA("root")
	require.NoError(t, err)
	leaf, err := root.Issue(pki.LeafOptions{CommonName: "direct"})
	require.NoError(t, err)
	require.Equal(t, []*x509.Certificate{leaf.Cert}, parsePEMCerts(t, leaf.ChainPEM()))
	require.Equal(t, []*x509.Certificate{leaf.Cert}, parsePEMCerts(t, leaf.CertPEM()))
	require.Len(t, leaf.TLSCertificate().Certificate, 1)
	require.Same(t, root, leaf.Issuer)
}

func TestLeafOptions(t *testing.T) {
	s := newSet(t)

	both, err := s.Intermediate.Issue(pki.LeafOptions{CommonName: "both"})
	require.NoError(t, err)
	require.ElementsMatch(t, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, both.Cert.ExtKeyUsage)
	require.False(t, both.Cert.IsCA)
	require.True(t, both.Cert.BasicConstraintsValid)
	require.WithinDuration(t, time.Now().Add(-time.Hour), both.Cert.NotBefore, time.Minute)
	require.WithinDuration(t, time.Now().AddDate(1, 0, 0), both.Cert.NotAfter, time.Minute)

	require.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, s.Server.Cert.ExtKeyUsage)
	require.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, s.Client.Cert.ExtKeyUsage)

	// Serial is a copy: mutating it does not touch the certificate.
	serial := s.Server.Serial()
	require.Zero(t, serial.Cmp(s.Server.Cert.SerialNumber))
	serial.SetInt64(1)
	require.NotZero(t, serial.Cmp(s.Server.Cert.SerialNumber))
	require.NotZero(t, s.Server.Serial().Cmp(s.Client.Serial()))

	ca, err := s.Intermediate.Issue(pki.LeafOptions{CommonName: "sub", IsCA: true})
	require.NoError(t, err)
	require.True(t, ca.Cert.IsCA)
	require.NotZero(t, ca.Cert.KeyUsage&x509.KeyUsageCertSign)

	_, err = s.Intermediate.Issue(pki.LeafOptions{NotBefore: time.Now(), NotAfter: time.Now().Add(-time.Hour)})
	require.ErrorContains(t, err, "pki: ")

	_, err = s.Intermediate.Issue(pki.LeafOptions{KeyType: pki.KeyType(42)})
	require.ErrorContains(t, err, "pki: unknown key type")
}

// A certificate signed by a leaf (IsCA false) must not verify: the classic
// "attacker uses their own leaf as a CA" case.
func TestLeafAsIssuerFailsVerification(t *testing.T) {
	s := newSet(t)
	fakeCA := &pki.CA{Cert: s.Server.Cert, Key: s.Server.Key, Parent: s.Intermediate}
	victim, err := fakeCA.Issue(pki.LeafOptions{CommonName: "victim", DNSNames: []string{"victim.test"}})
	require.NoError(t, err)
	_, err = victim.Cert.Verify(x509.VerifyOptions{
		DNSName: "victim.test", Roots: s.Root.Pool(),
		Intermediates: pool(s.Server.Cert, s.Intermediate.Cert),
	})
	require.ErrorAs(t, err, new(x509.UnknownAuthorityError))
	require.ErrorContains(t, err, "parent certificate cannot sign")
}

func TestValidityWindows(t *testing.T) {
	s := newSet(t)
	verify := func(l *pki.Leaf) error {
		_, err := l.Cert.Verify(x509.VerifyOptions{
			DNSName: "localhost", Roots: s.Root.Pool(), Intermediates: pool(s.Intermediate.Cert),
		})
		return err
	}
	base := pki.LeafOptions{CommonName: "localhost", DNSNames: []string{"localhost"}, Server: true}

	cases := map[string]pki.LeafOptions{
		"Expired()":             base.Expired(),
		"NotYetValid()":         base.NotYetValid(),
		"only NotAfter past":    withTimes(base, time.Time{}, time.Now().Add(-time.Minute)),
		"only NotBefore future": withTimes(base, time.Now().Add(2*365*24*time.Hour), time.Time{}),
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			l, err := s.Intermediate.Issue(opts)
			require.NoError(t, err)
			require.True(t, l.Cert.NotBefore.Before(l.Cert.NotAfter))
			var inv x509.CertificateInvalidError
			require.ErrorAs(t, verify(l), &inv)
			require.Equal(t, x509.Expired, inv.Reason)
		})
	}
	require.NoError(t, verify(s.Server))
}

func withTimes(o pki.LeafOptions, nb, na time.Time) pki.LeafOptions {
	o.NotBefore, o.NotAfter = nb, na
	return o
}

func TestKeyEncodings(t *testing.T) {
	s := newSet(t)
	rsaLeaf, err := s.Intermediate.Issue(pki.LeafOptions{CommonName: "rsa", KeyType: pki.RSA2048})
	require.NoError(t, err)
	require.IsType(t, &rsa.PrivateKey{}, rsaLeaf.Key)
	require.NotZero(t, rsaLeaf.Cert.KeyUsage&x509.KeyUsageKeyEncipherment)

	for _, tc := range []struct {
		name       string
		leaf       *pki.Leaf
		legacyType string
	}{
		{"ECDSA", s.Client, "EC PRIVATE KEY"},
		{"RSA", rsaLeaf, "RSA PRIVATE KEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pub := tc.leaf.Cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })

			t.Run("PKCS8", func(t *testing.T) {
				b, rest := pem.Decode(tc.leaf.KeyPEM())
				require.NotNil(t, b)
				require.Empty(t, rest)
				require.Equal(t, "PRIVATE KEY", b.Type)
				k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
				require.NoError(t, err)
				require.True(t, pub.Equal(k.(crypto.Signer).Public()))
				_, err = tls.X509KeyPair(tc.leaf.ChainPEM(), tc.leaf.KeyPEM())
				require.NoError(t, err)
			})

			t.Run("EncryptedPKCS8", func(t *testing.T) {
				data, err := tc.leaf.EncryptedPKCS8PEM("s3cret")
				require.NoError(t, err)
				b, _ := pem.Decode(data)
				require.NotNil(t, b)
				require.Equal(t, "ENCRYPTED PRIVATE KEY", b.Type)
				k, err := pkcs8.ParsePKCS8PrivateKey(b.Bytes, []byte("s3cret"))
				require.NoError(t, err)
				require.True(t, pub.Equal(k.(crypto.Signer).Public()))
				_, err = pkcs8.ParsePKCS8PrivateKey(b.Bytes, []byte("wrong"))
				require.Error(t, err)
				_, err = x509.ParsePKCS8PrivateKey(b.Bytes)
				require.Error(t, err, "must really be encrypted")
				_, err = tc.leaf.EncryptedPKCS8PEM("")
				require.ErrorContains(t, err, "pki: ")
			})

			t.Run("LegacyPEM", func(t *testing.T) {
				data, err := tc.leaf.LegacyEncryptedPEM("s3cret")
				require.NoError(t, err)
				b, _ := pem.Decode(data)
				require.NotNil(t, b)
				require.Equal(t, tc.legacyType, b.Type)
				require.Equal(t, "4,ENCRYPTED", b.Headers["Proc-Type"])
				require.Contains(t, b.Headers["DEK-Info"], "AES-256-CBC")
				require.True(t, x509.IsEncryptedPEMBlock(b))          //nolint:staticcheck // legacy format under test
				der, err := x509.DecryptPEMBlock(b, []byte("s3cret")) //nolint:staticcheck // legacy format under test
				require.NoError(t, err)
				var k any
				if tc.legacyType == "EC PRIVATE KEY" {
					k, err = x509.ParseECPrivateKey(der)
				} else {
					k, err = x509.ParsePKCS1PrivateKey(der)
				}
				require.NoError(t, err)
				require.True(t, pub.Equal(k.(crypto.Signer).Public()))
				// Legacy PEM encryption has no integrity check: a wrong password fails the
				// padding check about 255 times in 256 and otherwise "decrypts" to garbage.
				// What is guaranteed is that it never yields the key.
				wrong, err := x509.DecryptPEMBlock(b, []byte("wrong")) //nolint:staticcheck // legacy format under test
				if err == nil {
					require.NotEqual(t, der, wrong, "a wrong password must not yield the key")
				}
			})

			t.Run("PKCS12", func(t *testing.T) {
				p12, err := tc.leaf.PKCS12("s3cret")
				require.NoError(t, err)
				k, cert, cas, err := pkcs12.DecodeChain(p12, "s3cret")
				require.NoError(t, err)
				require.True(t, cert.Equal(tc.leaf.Cert))
				require.True(t, pub.Equal(k.(crypto.Signer).Public()))
				require.Len(t, cas, 1)
				require.True(t, cas[0].Equal(s.Intermediate.Cert))
				_, _, _, err = pkcs12.DecodeChain(p12, "wrong")
				require.ErrorIs(t, err, pkcs12.ErrIncorrectPassword)
			})
		})
	}
}

func TestCRL(t *testing.T) {
	s := newSet(t)
	revoked := []*big.Int{s.Client.Serial(), big.NewInt(12345)}
	der, err := s.Intermediate.CRL(pki.CRLOptions{Revoked: revoked, Number: 7})
	require.NoError(t, err)
	rl, err := x509.ParseRevocationList(der)
	require.NoError(t, err)
	require.NoError(t, rl.CheckSignatureFrom(s.Intermediate.Cert))
	require.Error(t, rl.CheckSignatureFrom(s.Root.Cert))
	require.Equal(t, s.Intermediate.Cert.RawSubject, rl.RawIssuer)
	require.Equal(t, s.Intermediate.Cert.SubjectKeyId, rl.AuthorityKeyId)
	require.Zero(t, rl.Number.Cmp(big.NewInt(7)))
	require.Len(t, rl.RevokedCertificateEntries, 2)
	for i, e := range rl.RevokedCertificateEntries {
		require.Zero(t, e.SerialNumber.Cmp(revoked[i]))
		require.False(t, e.RevocationTime.After(rl.ThisUpdate))
	}
	require.WithinDuration(t, time.Now().Add(-time.Minute), rl.ThisUpdate, 5*time.Second)
	require.WithinDuration(t, time.Now().Add(24*time.Hour), rl.NextUpdate, 5*time.Second)

	pemData, err := s.Intermediate.CRLPEM(pki.CRLOptions{})
	require.NoError(t, err)
	b, rest := pem.Decode(pemData)
	require.NotNil(t, b)
	require.Empty(t, rest)
	require.Equal(t, "X509 CRL", b.Type)
	empty, err := x509.ParseRevocationList(b.Bytes)
	require.NoError(t, err)
	require.Empty(t, empty.RevokedCertificateEntries)
	require.NoError(t, empty.CheckSignatureFrom(s.Intermediate.Cert))

	t.Run("stale", func(t *testing.T) {
		der, err := s.Intermediate.CRL(pki.CRLOptions{NextUpdate: time.Now().Add(-time.Hour)})
		require.NoError(t, err)
		rl, err := x509.ParseRevocationList(der)
		require.NoError(t, err)
		require.True(t, rl.NextUpdate.Before(time.Now()))
		require.True(t, rl.ThisUpdate.Before(rl.NextUpdate))
	})
	t.Run("future ThisUpdate", func(t *testing.T) {
		this := time.Now().Add(48 * time.Hour).Truncate(time.Second)
		der, err := s.Intermediate.CRL(pki.CRLOptions{ThisUpdate: this})
		require.NoError(t, err)
		rl, err := x509.ParseRevocationList(der)
		require.NoError(t, err)
		require.True(t, rl.ThisUpdate.Equal(this))
		require.True(t, rl.NextUpdate.After(this))
	})
	t.Run("invalid", func(t *testing.T) {
		_, err := s.Intermediate.CRL(pki.CRLOptions{Number: -1})
		require.ErrorContains(t, err, "pki: ")
		_, err = s.Intermediate.CRL(pki.CRLOptions{ThisUpdate: time.Now(), NextUpdate: time.Now().Add(-time.Hour)})
		require.ErrorContains(t, err, "pki: ")
		_, err = s.Intermediate.CRL(pki.CRLOptions{Revoked: []*big.Int{nil}})
		require.ErrorContains(t, err, "pki: ")
	})
}

// The CRL's entries are encoded by hand for speed; its TBS must be exactly
// what crypto/x509 would have produced from the same template.
func TestCRLMatchesStandardLibrary(t *testing.T) {
	s := newSet(t)
	rsaCALeaf, err := s.Root.Issue(pki.LeafOptions{CommonName: "rsa ca", KeyType: pki.RSA2048, IsCA: true})
	require.NoError(t, err)
	rsaCA := &pki.CA{Cert: rsaCALeaf.Cert, Key: rsaCALeaf.Key, Parent: s.Root}

	huge := new(big.Int).Lsh(big.NewInt(1), 300)
	twenty := new(big.Int).Lsh(big.NewInt(1), 159) // 20 octets with the top bit: needs a 0x00 pad
	serials := []*big.Int{
		big.NewInt(0), big.NewInt(1), big.NewInt(127), big.NewInt(128), big.NewInt(255), big.NewInt(256),
		big.NewInt(-1), big.NewInt(-128), big.NewInt(-129), twenty, new(big.Int).Sub(twenty, big.NewInt(1)),
		huge, s.Client.Serial(),
	}
	for i := range 300 { // pushes the list past the 1- and 2-byte length forms
		serials = append(serials, big.NewInt(int64(i)<<40|0xff))
	}

	for name, tc := range map[string]struct {
		ca         *pki.CA
		this, next time.Time
		n          int
	}{
		"ECDSA":                   {s.Intermediate, time.Now().Add(-time.Minute), time.Now().Add(time.Hour), 13},
		"ECDSA many":              {s.Intermediate, time.Now().Add(-time.Minute), time.Now().Add(time.Hour), len(serials)},
		"RSA":                     {rsaCA, time.Now().Add(-time.Minute), time.Now().Add(time.Hour), len(serials)},
		"GeneralizedTime (2050+)": {s.Intermediate, time.Date(2060, 1, 2, 3, 4, 5, 0, time.UTC), time.Date(2061, 1, 1, 0, 0, 0, 0, time.UTC), 3},
		"single":                  {s.Intermediate, time.Now().Add(-time.Minute), time.Now().Add(time.Hour), 1},
	} {
		t.Run(name, func(t *testing.T) {
			revoked := serials[:tc.n]
			der, err := tc.ca.CRL(pki.CRLOptions{Revoked: revoked, ThisUpdate: tc.this, NextUpdate: tc.next, Number: 42})
			require.NoError(t, err)
			got, err := x509.ParseRevocationList(der)
			require.NoError(t, err)
			require.NoError(t, got.CheckSignatureFrom(tc.ca.Cert))

			entries := make([]x509.RevocationListEntry, len(revoked))
			for i, sn := range revoked {
				entries[i] = x509.RevocationListEntry{SerialNumber: sn, RevocationTime: tc.this}
			}
			refDER, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
				RevokedCertificateEntries: entries, Number: big.NewInt(42),
				ThisUpdate: tc.this, NextUpdate: tc.next,
			}, tc.ca.Cert, tc.ca.Key)
			require.NoError(t, err)
			ref, err := x509.ParseRevocationList(refDER)
			require.NoError(t, err)
			require.Equal(t, ref.RawTBSRevocationList, got.RawTBSRevocationList)
			require.Equal(t, ref.SignatureAlgorithm, got.SignatureAlgorithm)
			require.Len(t, der, len(refDER)-len(ref.Signature)+len(got.Signature))
		})
	}
}

func TestCRL100k(t *testing.T) {
	s := newSet(t)
	const n = 100_000
	serials := make([]*big.Int, n)
	for i := range serials {
		serials[i] = big.NewInt(int64(i)*7919 + 1)
	}
	start := time.Now()
	der, err := s.Intermediate.CRL(pki.CRLOptions{Revoked: serials, Number: 1})
	require.NoError(t, err)
	t.Logf("100k-entry CRL: %d bytes in %s", len(der), time.Since(start))
	rl, err := x509.ParseRevocationList(der)
	require.NoError(t, err)
	require.Len(t, rl.RevokedCertificateEntries, n)
	require.NoError(t, rl.CheckSignatureFrom(s.Intermediate.Cert))
	require.Zero(t, rl.RevokedCertificateEntries[n-1].SerialNumber.Cmp(serials[n-1]))
}

func BenchmarkCRL100k(b *testing.B) {
	ca, err := pki.NewRootCA("bench")
	require.NoError(b, err)
	serials := make([]*big.Int, 100_000)
	for i := range serials {
		serials[i] = big.NewInt(int64(i)*7919 + 1)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ca.CRL(pki.CRLOptions{Revoked: serials}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestTLSHandshake(t *testing.T) {
	s := newSet(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()

	type result struct {
		peerCN string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer conn.Close()
		srv := tls.Server(conn, s.ServerTLSConfig())
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.HandshakeContext(ctx); err != nil {
			done <- result{err: err}
			return
		}
		peers := srv.ConnectionState().PeerCertificates
		if len(peers) == 0 {
			done <- result{err: errors.New("no client certificate")}
			return
		}
		// Echo one line so the client knows the server finished too.
		_, err = io.Copy(srv, io.LimitReader(srv, 4))
		done <- result{peerCN: peers[0].Subject.CommonName, err: err}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d := tls.Dialer{Config: s.ClientTLSConfig()}
	conn, err := d.DialContext(ctx, "tcp", ln.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	st := conn.(*tls.Conn).ConnectionState()
	require.Len(t, st.VerifiedChains, 1)
	require.Len(t, st.VerifiedChains[0], 3, "leaf, intermediate, root")
	require.True(t, st.PeerCertificates[0].Equal(s.Server.Cert))
	_, err = conn.Write([]byte("ping"))
	require.NoError(t, err)
	buf := make([]byte, 4)
	_, err = io.ReadFull(conn, buf)
	require.NoError(t, err)
	require.Equal(t, "ping", string(buf))

	r := <-done
	require.NoError(t, r.err)
	require.Equal(t, "app", r.peerCN)

	// Fresh configs each call: mutating one does not leak into the next.
	c1 := s.ClientTLSConfig()
	c1.ServerName = "mutated"
	require.Equal(t, "localhost", s.ClientTLSConfig().ServerName)
}

func TestTLSHandshakeUntrusted(t *testing.T) {
	s := newSet(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer conn.Close()
		done <- tls.Server(conn, s.ServerTLSConfig()).Handshake()
	}()
	cfg := s.ClientTLSConfig()
	cfg.RootCAs = s.OtherRoot.Pool()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d := tls.Dialer{Config: cfg}
	_, err = d.DialContext(ctx, "tcp", ln.Addr().String())
	var uerr x509.UnknownAuthorityError
	require.ErrorAs(t, err, &uerr)
	require.Error(t, <-done)
}

func TestWriteDir(t *testing.T) {
	s := newSet(t)
	dir := filepath.Join(t.TempDir(), "certs")
	files, err := s.WriteDir(dir)
	require.NoError(t, err)

	want := map[string]os.FileMode{
		"ca.pem": 0o644, "intermediate.pem": 0o644, "server.pem": 0o644, "server.key": 0o600,
		"client.pem": 0o644, "client.key": 0o600, "client.p12": 0o600, "client-enc.key": 0o600,
		"client-legacy.key": 0o600, "other-ca.pem": 0o644, "crl.pem": 0o644, "ca-bundle.pem": 0o644,
		"truststore.jks": 0o644, "client.jks": 0o600,
	}
	require.Len(t, files, len(want))
	for name, mode := range want {
		p, ok := files[name]
		require.True(t, ok, name)
		require.Equal(t, filepath.Join(dir, name), p)
		fi, err := os.Stat(p)
		require.NoError(t, err)
		require.Equal(t, mode, fi.Mode().Perm(), name)
	}

	read := func(name string) []byte {
		b, err := os.ReadFile(files[name])
		require.NoError(t, err)
		return b
	}
	_, err = tls.X509KeyPair(read("server.pem"), read("server.key"))
	require.NoError(t, err)
	_, err = tls.X509KeyPair(read("client.pem"), read("client.key"))
	require.NoError(t, err)
	require.Equal(t, s.Root.CertPEM(), read("ca.pem"))
	require.Equal(t, s.OtherRoot.CertPEM(), read("other-ca.pem"))
	_, _, _, err = pkcs12.DecodeChain(read("client.p12"), pki.DefaultPassphrase)
	require.NoError(t, err)
	b, _ := pem.Decode(read("client-enc.key"))
	_, err = pkcs8.ParsePKCS8PrivateKey(b.Bytes, []byte("changeit"))
	require.NoError(t, err)
	b, _ = pem.Decode(read("crl.pem"))
	rl, err := x509.ParseRevocationList(b.Bytes)
	require.NoError(t, err)
	require.NoError(t, rl.CheckSignatureFrom(s.Intermediate.Cert))

	// Rewriting over loosened permissions tightens them again.
	require.NoError(t, os.Chmod(files["client.key"], 0o644))
	_, err = s.WriteDir(dir)
	require.NoError(t, err)
	fi, err := os.Stat(files["client.key"])
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}

// opensslPath finds openssl by the rule the factory tests use too.
func opensslPath(t *testing.T) string { t.Helper(); return opensslbin.Path(t) }

func TestWriteDirOpenSSL(t *testing.T) {
	openssl := opensslPath(t)
	s := newSet(t)
	files, err := s.WriteDir(t.TempDir())
	require.NoError(t, err)

	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, openssl, args...).CombinedOutput()
		require.NoError(t, err, "openssl %v:\n%s", args, out)
		return string(out)
	}
	fail := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, openssl, args...).CombinedOutput()
		require.Error(t, err, "openssl %v unexpectedly succeeded:\n%s", args, out)
		return string(out)
	}

	for _, leaf := range []string{"server.pem", "client.pem"} {
		out := run("verify", "-CAfile", files["ca.pem"], "-untrusted", files["intermediate.pem"], files[leaf])
		require.Contains(t, out, ": OK")
		// With the (empty) intermediate CRL checked, the leaf is still fine.
		run("verify", "-crl_check", "-CRLfile", files["crl.pem"], "-CAfile", files["ca.pem"],
			"-untrusted", files["intermediate.pem"], files[leaf])
		fail("verify", "-CAfile", files["other-ca.pem"], "-untrusted", files["intermediate.pem"], files[leaf])
	}
	run("verify", "-purpose", "sslserver", "-CAfile", files["ca.pem"], "-untrusted", files["intermediate.pem"], files["server.pem"])
	run("verify", "-purpose", "sslclient", "-CAfile", files["ca.pem"], "-untrusted", files["intermediate.pem"], files["client.pem"])
	run("verify", "-CAfile", files["ca-bundle.pem"], files["client.pem"])

	run("crl", "-in", files["crl.pem"], "-noout", "-CAfile", files["ca-bundle.pem"])
	run("pkey", "-in", files["client-enc.key"], "-passin", "pass:changeit", "-noout")
	fail("pkey", "-in", files["client-enc.key"], "-passin", "pass:wrong", "-noout")
	run("pkey", "-in", files["client-legacy.key"], "-passin", "pass:changeit", "-noout")
	run("pkey", "-in", files["server.key"], "-noout")
	run("pkcs12", "-in", files["client.p12"], "-passin", "pass:changeit", "-nokeys", "-noout")

	// A revoked client cert fails openssl's CRL check too.
	crl, err := s.Intermediate.CRLPEM(pki.CRLOptions{Revoked: []*big.Int{s.Client.Serial()}, Number: 2})
	require.NoError(t, err)
	revokedCRL := filepath.Join(t.TempDir(), "revoked.crl")
	require.NoError(t, os.WriteFile(revokedCRL, crl, 0o644))
	out := fail("verify", "-crl_check", "-CRLfile", revokedCRL, "-CAfile", files["ca.pem"],
		"-untrusted", files["intermediate.pem"], files["client.pem"])
	require.Contains(t, out, "revoked")
	run("verify", "-crl_check", "-CRLfile", revokedCRL, "-CAfile", files["ca.pem"],
		"-untrusted", files["intermediate.pem"], files["server.pem"])
}
