package examples

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/connfactory/connfactory/testserver/pki"
)

// Passphrase protects the encrypted key and the PKCS#12 bundles; the example profiles read
// it from configs/secrets/*.passphrase.
const Passphrase = "changeit"

// PKI is what WritePKI generated: the example profiles' CAs and leaves.
type PKI struct {
	Root, Intermediate       *pki.CA
	Server, Client, RiakCert *pki.Leaf
}

// WritePKI writes into dir the PKI the example profiles use, under the file names they
// reference (ca.pem, server.pem, client.pem, client-enc.key, client.p12, riakcert.pem,
// crl.pem, ...), valid for validity from now: a root and an intermediate CA, a server
// certificate for localhost, 127.0.0.1 and ::1, client certificates with CN "app" and
// "riakcert" in plain, encrypted PKCS#8 and PKCS#12 form, and an empty CRL. The demo calls it
// to run the examples on fresh PKI; genexamples to regenerate the checked-in copy.
func WritePKI(dir string, validity time.Duration) (*PKI, error) {
	now := time.Now()
	notBefore, notAfter := now.Add(-time.Hour), now.Add(validity)

	// pki's CAs are valid for ten years; the examples need thirty, so the CAs are built
	// here and handed to pki, which issues the leaves and the CRL.
	root, err := newCA("connfactory example root CA", nil, notBefore, notAfter)
	if err != nil {
		return nil, err
	}
	inter, err := newCA("connfactory example intermediate CA", root, notBefore, notAfter)
	if err != nil {
		return nil, err
	}
	server, err := inter.Issue(pki.LeafOptions{
		CommonName:  "localhost",
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		Server:      true,
		NotBefore:   notBefore,
		NotAfter:    notAfter,
	})
	if err != nil {
		return nil, err
	}
	client, err := inter.Issue(pki.LeafOptions{CommonName: "app", Client: true, NotBefore: notBefore, NotAfter: notAfter})
	if err != nil {
		return nil, err
	}
	riakcert, err := inter.Issue(pki.LeafOptions{CommonName: "riakcert", Client: true, NotBefore: notBefore, NotAfter: notAfter})
	if err != nil {
		return nil, err
	}
	crl, err := inter.CRLPEM(pki.CRLOptions{ThisUpdate: notBefore, NextUpdate: notAfter})
	if err != nil {
		return nil, err
	}
	clientEnc, err := client.EncryptedPKCS8PEM(Passphrase)
	if err != nil {
		return nil, err
	}
	clientP12, err := client.PKCS12(Passphrase)
	if err != nil {
		return nil, err
	}
	riakP12, err := riakcert.PKCS12(Passphrase)
	if err != nil {
		return nil, err
	}

	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{"ca.pem", root.CertPEM(), 0o644},
		{"intermediate.pem", inter.CertPEM(), 0o644},
		{"server.pem", server.ChainPEM(), 0o644},
		{"server.key", server.KeyPEM(), 0o600},
		{"client.pem", client.ChainPEM(), 0o644},
		{"client.key", client.KeyPEM(), 0o600},
		{"client-enc.key", clientEnc, 0o600},
		{"client.p12", clientP12, 0o600},
		{"riakcert.pem", riakcert.ChainPEM(), 0o644},
		{"riakcert.key", riakcert.KeyPEM(), 0o600},
		{"riakcert.p12", riakP12, 0o600},
		{"crl.pem", crl, 0o644},
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, f.data, f.mode); err != nil {
			return nil, err
		}
		// WriteFile keeps an existing file's mode: set it explicitly.
		if err := os.Chmod(p, f.mode); err != nil {
			return nil, err
		}
	}
	return &PKI{Root: root, Intermediate: inter, Server: server, Client: client, RiakCert: riakcert}, nil
}

// newCA makes a CA certificate with the given validity, signed by parent (self-signed when
// parent is nil), in the form pki issues from.
func newCA(cn string, parent *pki.CA, notBefore, notAfter time.Time) (*pki.CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"connfactory example PKI"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	issuer, signer := tmpl, crypto.Signer(key)
	if parent != nil {
		issuer, signer = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, key.Public(), signer)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &pki.CA{Cert: cert, Key: key, Parent: parent}, nil
}
