package pki

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	keystore "github.com/pavlo-v-chernykh/keystore-go/v4"
	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// JKSEntry is one entry of a JKS store written by [JKS]: a private key entry (Leaf set:
// its key, the leaf and its intermediates) or a trusted certificate entry (Cert set).
type JKSEntry struct {
	// Alias names the entry; JKS stores aliases in lower case.
	Alias string
	// Leaf makes a private key entry.
	Leaf *Leaf
	// KeyPassword encrypts a private key entry's key; empty: the store password.
	KeyPassword string
	// Cert makes a trusted certificate entry.
	Cert *x509.Certificate
}

// JKS writes a Java KeyStore (magic 0xFEEDFEED) holding entries, its integrity digest
// keyed with password, as keytool does: tests need no JDK. An empty store is allowed.
func JKS(password string, entries ...JKSEntry) ([]byte, error) {
	ks := keystore.New()
	created := time.Now()
	for _, e := range entries {
		switch {
		case e.Leaf != nil:
			der, err := x509.MarshalPKCS8PrivateKey(e.Leaf.Key)
			if err != nil {
				return nil, fmt.Errorf("pki: JKS entry %q: %w", e.Alias, err)
			}
			chain := []keystore.Certificate{{Type: "X509", Content: e.Leaf.Cert.Raw}}
			if e.Leaf.Issuer != nil {
				for _, c := range e.Leaf.Issuer.intermediates() {
					chain = append(chain, keystore.Certificate{Type: "X509", Content: c.Raw})
				}
			}
			kp := e.KeyPassword
			if kp == "" {
				kp = password
			}
			if err := ks.SetPrivateKeyEntry(e.Alias, keystore.PrivateKeyEntry{
				CreationTime: created, PrivateKey: der, CertificateChain: chain,
			}, []byte(kp)); err != nil {
				return nil, fmt.Errorf("pki: JKS entry %q: %w", e.Alias, err)
			}
		case e.Cert != nil:
			if err := ks.SetTrustedCertificateEntry(e.Alias, keystore.TrustedCertificateEntry{
				CreationTime: created, Certificate: keystore.Certificate{Type: "X509", Content: e.Cert.Raw},
			}); err != nil {
				return nil, fmt.Errorf("pki: JKS entry %q: %w", e.Alias, err)
			}
		default:
			return nil, errors.New("pki: a JKS entry needs Leaf or Cert")
		}
	}
	var b bytes.Buffer
	if err := ks.Store(&b, []byte(password)); err != nil {
		return nil, fmt.Errorf("pki: write JKS: %w", err)
	}
	return b.Bytes(), nil
}

// JKSTrustStore writes a JKS trust store holding the certificates of cas as trusted
// certificate entries "ca0", "ca1", ...
func JKSTrustStore(password string, cas ...*CA) ([]byte, error) {
	entries := make([]JKSEntry, len(cas))
	for i, ca := range cas {
		entries[i] = JKSEntry{Alias: fmt.Sprintf("ca%d", i), Cert: ca.Cert}
	}
	return JKS(password, entries...)
}

// PKCS12TrustStore writes a PKCS#12 trust store holding the certificates of cas, each
// marked as Java marks trust anchors (keytool -importcert -storetype pkcs12).
func PKCS12TrustStore(password string, cas ...*CA) ([]byte, error) {
	certs := make([]*x509.Certificate, len(cas))
	for i, ca := range cas {
		certs[i] = ca.Cert
	}
	der, err := pkcs12.Modern2023.EncodeTrustStore(certs, password)
	if err != nil {
		return nil, fmt.Errorf("pki: encode PKCS#12 trust store: %w", err)
	}
	return der, nil
}
