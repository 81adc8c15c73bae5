// Command genexamples writes the throwaway PKI that the example profiles in
// examples/configs use: a root and an intermediate CA, a server certificate for localhost,
// client certificates (CN "app" for Cassandra mutual TLS, CN "riakcert" for Riak
// certificate auth) in plain, encrypted PKCS#8 and PKCS#12 form, and an empty CRL.
// Everything is valid for 30 years so that the checked-in files keep working.
//
// Run it from the module root:
//
//	go run ./internal/cmd/genexamples            # writes examples/configs/certs
//	go run ./internal/cmd/genexamples -dir DIR
//
// The keys are public the moment they are committed: never use them for anything real.
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/connfactory/connfactory/testserver/pki"
)

// Passphrase protects the encrypted key and the PKCS#12 bundles; the example profiles read
// it from examples/configs/secrets/*.passphrase.
const Passphrase = "changeit"

// validity is long on purpose: the generated files are checked in and must not expire
// under the tests and the demo.
const validityYears = 30

func main() {
	dir := flag.String("dir", filepath.Join("examples", "configs", "certs"), "directory to write the PKI into")
	flag.Parse()
	if err := run(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "genexamples:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	now := time.Now()
	notBefore, notAfter := now.Add(-time.Hour), now.AddDate(validityYears, 0, 0)

	// pki's CAs are valid for ten years; the examples need thirty, so the CAs are built
	// here and handed to pki, which issues the leaves and the CRL.
	root, err := newCA("connfactory example root CA", nil, notBefore, notAfter)
	if err != nil {
		return err
	}
	inter, err := newCA("connfactory example intermediate CA", root, notBefore, notAfter)
	if err != nil {
		return err
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
		return err
	}
	client, err := inter.Issue(pki.LeafOptions{CommonName: "app", Client: true, NotBefore: notBefore, NotAfter: notAfter})
	if err != nil {
		return err
	}
	riakcert, err := inter.Issue(pki.LeafOptions{CommonName: "riakcert", Client: true, NotBefore: notBefore, NotAfter: notAfter})
	if err != nil {
		return err
	}
	crl, err := inter.CRLPEM(pki.CRLOptions{ThisUpdate: notBefore, NextUpdate: notAfter})
	if err != nil {
		return err
	}
	clientEnc, err := client.EncryptedPKCS8PEM(Passphrase)
	if err != nil {
		return err
	}
	clientP12, err := client.PKCS12(Passphrase)
	if err != nil {
		return err
	}
	riakP12, err := riakcert.PKCS12(Passphrase)
	if err != nil {
		return err
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
		return err
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, f.data, f.mode); err != nil {
			return err
		}
		// WriteFile keeps an existing file's mode: set it explicitly.
		if err := os.Chmod(p, f.mode); err != nil {
			return err
		}
	}
	fmt.Printf("genexamples: wrote %d files to %s (valid until %s)\n", len(files), dir, notAfter.Format("2006-01-02"))
	fmt.Println("genexamples: key files are mode 0600 here, but git does not keep that: after a checkout")
	fmt.Println("genexamples: run `chmod 600 " + filepath.Join(dir, "*.key") + " " + filepath.Join(dir, "*.p12") + "` or the factory warns.")
	return nil
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
