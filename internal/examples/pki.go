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

	if _, err := pki.WriteFiles(dir, []pki.File{
		{Name: "ca.pem", Data: root.CertPEM(), Mode: 0o644},
		{Name: "intermediate.pem", Data: inter.CertPEM(), Mode: 0o644},
		{Name: "server.pem", Data: server.ChainPEM(), Mode: 0o644},
		{Name: "server.key", Data: server.KeyPEM(), Mode: 0o600},
		{Name: "client.pem", Data: client.ChainPEM(), Mode: 0o644},
		{Name: "client.key", Data: client.KeyPEM(), Mode: 0o600},
		{Name: "client-enc.key", Data: clientEnc, Mode: 0o600},
		{Name: "client.p12", Data: clientP12, Mode: 0o600},
		{Name: "riakcert.pem", Data: riakcert.ChainPEM(), Mode: 0o644},
		{Name: "riakcert.key", Data: riakcert.KeyPEM(), Mode: 0o600},
		{Name: "riakcert.p12", Data: riakP12, Mode: 0o600},
		{Name: "crl.pem", Data: crl, Mode: 0o644},
	}); err != nil {
		return nil, err
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
