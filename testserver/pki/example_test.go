package pki_test

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/connfactory/connfactory/testserver/pki"
)

func ExampleNewSet() {
	s, err := pki.NewSet()
	if err != nil {
		log.Fatal(err)
	}
	// A server config and a client config that trust each other.
	srv, cli := s.ServerTLSConfig(), s.ClientTLSConfig()
	fmt.Println(len(srv.Certificates[0].Certificate), "certificates presented by the server")
	fmt.Println("client expects", cli.ServerName)
	fmt.Println("client CN", s.Client.Cert.Subject.CommonName)
	// Output:
	// 2 certificates presented by the server
	// client expects localhost
	// client CN app
}

func ExampleSet_WriteDir() {
	s, err := pki.NewSet()
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "pki-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	files, err := s.WriteDir(dir)
	if err != nil {
		log.Fatal(err)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Println(name, files[name] == filepath.Join(dir, name))
	}
	// Output:
	// ca-bundle.pem true
	// ca.pem true
	// client-enc.key true
	// client-legacy.key true
	// client.jks true
	// client.key true
	// client.p12 true
	// client.pem true
	// crl.pem true
	// intermediate.pem true
	// other-ca.pem true
	// server.key true
	// server.pem true
	// truststore.jks true
}

// An expired certificate is an ordinary leaf whose NotAfter is in the past.
func ExampleLeafOptions_expired() {
	s, err := pki.NewSet()
	if err != nil {
		log.Fatal(err)
	}
	leaf, err := s.Intermediate.Issue(pki.LeafOptions{
		CommonName: "localhost",
		DNSNames:   []string{"localhost"},
		Server:     true,
		NotBefore:  time.Now().Add(-48 * time.Hour),
		NotAfter:   time.Now().Add(-24 * time.Hour),
	})
	if err != nil {
		log.Fatal(err)
	}
	err = verifyWithIntermediate(s, leaf)
	var inv x509.CertificateInvalidError
	fmt.Println(errors.As(err, &inv) && inv.Reason == x509.Expired)
	// Output: true
}

// A not-yet-valid certificate is one whose NotBefore is in the future;
// LeafOptions.NotYetValid (like LeafOptions.Expired) sets the window.
func ExampleLeafOptions_NotYetValid() {
	s, err := pki.NewSet()
	if err != nil {
		log.Fatal(err)
	}
	opts := pki.LeafOptions{CommonName: "localhost", DNSNames: []string{"localhost"}, Server: true}
	leaf, err := s.Intermediate.Issue(opts.NotYetValid())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(leaf.Cert.NotBefore.After(time.Now()))
	err = verifyWithIntermediate(s, leaf)
	var inv x509.CertificateInvalidError
	fmt.Println(errors.As(err, &inv) && inv.Reason == x509.Expired) // Go reports both cases as Expired
	// Output:
	// true
	// true
}

func ExampleCA_Issue() {
	root, err := pki.NewRootCA("example root")
	if err != nil {
		log.Fatal(err)
	}
	inter, err := root.NewIntermediate("example intermediate")
	if err != nil {
		log.Fatal(err)
	}
	leaf, err := inter.Issue(pki.LeafOptions{
		CommonName:  "db1",
		DNSNames:    []string{"db1.internal"},
		IPAddresses: []net.IP{net.ParseIP("10.0.0.7")},
		Server:      true,
		KeyType:     pki.RSA2048, // for an ECDHE-RSA cipher suite; ECDSA is the faster default
	})
	if err != nil {
		log.Fatal(err)
	}
	// The server presents leaf + intermediate; clients trust root.Pool().
	fmt.Println(len(leaf.TLSCertificate().Certificate), leaf.Cert.VerifyHostname("10.0.0.7") == nil)
	// Output: 2 true
}

func ExampleCA_CRL() {
	s, err := pki.NewSet()
	if err != nil {
		log.Fatal(err)
	}
	der, err := s.Intermediate.CRL(pki.CRLOptions{
		Revoked: []*big.Int{s.Client.Serial()},
		Number:  2,
	})
	if err != nil {
		log.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(crl.CheckSignatureFrom(s.Intermediate.Cert) == nil)
	fmt.Println(crl.RevokedCertificateEntries[0].SerialNumber.Cmp(s.Client.Cert.SerialNumber) == 0)

	// A stale CRL: NextUpdate in the past.
	stale, err := s.Intermediate.CRL(pki.CRLOptions{NextUpdate: time.Now().Add(-time.Hour)})
	if err != nil {
		log.Fatal(err)
	}
	crl, err = x509.ParseRevocationList(stale)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(crl.NextUpdate.Before(time.Now()))
	// Output:
	// true
	// true
	// true
}

func verifyWithIntermediate(s *pki.Set, leaf *pki.Leaf) error {
	inter := x509.NewCertPool()
	inter.AddCert(s.Intermediate.Cert)
	_, err := leaf.Cert.Verify(x509.VerifyOptions{
		DNSName:       "localhost",
		Roots:         s.Root.Pool(),
		Intermediates: inter,
	})
	return err
}
