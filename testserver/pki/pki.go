package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// KeyType selects the algorithm for generated keys.
type KeyType int

const (
	// ECDSAP256 is the default: generating it is cheap enough to make a fresh
	// key for every certificate in every test.
	ECDSAP256 KeyType = iota
	// RSA2048 exists for tests that need an RSA peer (ECDHE-RSA cipher suites,
	// "RSA PRIVATE KEY" files); it costs tens of milliseconds per key.
	RSA2048
)

// String names the key type as it appears in errors and test names.
func (k KeyType) String() string {
	switch k {
	case ECDSAP256:
		return "ECDSA-P256"
	case RSA2048:
		return "RSA-2048"
	default:
		return fmt.Sprintf("KeyType(%d)", int(k))
	}
}

func generateKey(kt KeyType) (crypto.Signer, error) {
	switch kt {
	case ECDSAP256:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("pki: generate ECDSA key: %w", err)
		}
		return k, nil
	case RSA2048:
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("pki: generate RSA key: %w", err)
		}
		return k, nil
	default:
		return nil, fmt.Errorf("pki: unknown key type %v", kt)
	}
}

// serialLimit bounds serials to 127 bits so they stay positive and within the
// 20 octets RFC 5280 allows.
var serialLimit = new(big.Int).Lsh(big.NewInt(1), 127)

func newSerial() (*big.Int, error) {
	s, err := rand.Int(rand.Reader, serialLimit)
	if err != nil {
		return nil, fmt.Errorf("pki: generate serial: %w", err)
	}
	// Zero is not a legal serial; the chance is negligible, but a flaky test
	// once in 2^127 runs is still a flaky test.
	return s.Add(s, big.NewInt(1)), nil
}

// CA is a certificate authority whose key is held in memory. Its methods only
// read the CA, so parallel tests may share one.
type CA struct {
	// Cert is the CA's own certificate.
	Cert *x509.Certificate
	// Key signs certificates and CRLs issued by this CA.
	Key crypto.Signer
	// Parent is the CA that issued Cert; nil for a root.
	Parent *CA
}

// NewRootCA makes a self-signed root with an ECDSA P-256 key, valid from an
// hour ago (so clock skew between test processes does not matter) for ten
// years.
func NewRootCA(commonName string) (*CA, error) {
	return newCA(commonName, nil)
}

// NewIntermediate makes a CA issued by ca, with the same validity rules as a
// root; servers present it in their chain and clients do not trust it
// directly.
func (ca *CA) NewIntermediate(commonName string) (*CA, error) {
	if ca == nil || ca.Cert == nil || ca.Key == nil {
		return nil, errors.New("pki: NewIntermediate on an incomplete CA")
	}
	return newCA(commonName, ca)
}

func newCA(commonName string, parent *CA) (*CA, error) {
	key, err := generateKey(ECDSAP256)
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"connfactory test PKI"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	issuerCert, issuerKey := tmpl, key
	if parent != nil {
		issuerCert, issuerKey = parent.Cert, parent.Key
	}
	cert, err := createCert(tmpl, issuerCert, key.Public(), issuerKey)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key, Parent: parent}, nil
}

func createCert(tmpl, issuer *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("pki: create certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: parse certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	return cert, nil
}

// Root walks up to the self-signed root of ca's chain.
func (ca *CA) Root() *CA {
	r := ca
	for r.Parent != nil {
		r = r.Parent
	}
	return r
}

// CertPEM encodes this CA's certificate alone.
func (ca *CA) CertPEM() []byte {
	return certPEM(ca.Cert)
}

// ChainPEM encodes this CA followed by its parents up to and including the
// root: the bundle a file-based trust store or openssl -CAfile expects.
func (ca *CA) ChainPEM() []byte {
	var out []byte
	for c := ca; c != nil; c = c.Parent {
		out = append(out, certPEM(c.Cert)...)
	}
	return out
}

// Pool holds only the root of ca's chain, which is what a client trusts;
// intermediates must arrive from the peer, as in production.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Root().Cert)
	return p
}

// intermediates lists ca and its parents, excluding the root: what a peer
// sends after its leaf.
func (ca *CA) intermediates() []*x509.Certificate {
	var out []*x509.Certificate
	for c := ca; c != nil && c.Parent != nil; c = c.Parent {
		out = append(out, c.Cert)
	}
	return out
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// LeafOptions describes an end-entity certificate for [CA.Issue].
type LeafOptions struct {
	// CommonName is the subject CN; Riak certificate auth compares it with
	// the username.
	CommonName string
	// DNSNames and IPAddresses become subject alternative names; hostname
	// verification looks only at these, never at the CN.
	DNSNames    []string
	IPAddresses []net.IP
	// Server and Client choose the extended key usages ServerAuth and
	// ClientAuth; when both are false both are set, so one certificate can
	// serve either side of a handshake.
	Server, Client bool
	// NotBefore and NotAfter bound validity. A zero NotBefore means an hour
	// ago (or a day before an explicit NotAfter that is earlier); a zero
	// NotAfter means a year after now (or after an explicit NotBefore).
	NotBefore, NotAfter time.Time
	// KeyType selects the key algorithm; the zero value is ECDSA P-256.
	KeyType KeyType
	// IsCA marks the certificate as a CA. Leave it false for the usual case,
	// including "a leaf used as an issuer" tests, where the point is that the
	// certificate is not a CA.
	IsCA bool
}

// Expired returns a copy of o valid from two days ago until yesterday.
func (o LeafOptions) Expired() LeafOptions {
	now := time.Now()
	o.NotBefore, o.NotAfter = now.Add(-48*time.Hour), now.Add(-24*time.Hour)
	return o
}

// NotYetValid returns a copy of o valid from tomorrow for a year.
func (o LeafOptions) NotYetValid() LeafOptions {
	now := time.Now()
	o.NotBefore, o.NotAfter = now.Add(24*time.Hour), now.AddDate(1, 0, 1)
	return o
}

// validity resolves the zero values of NotBefore/NotAfter without ever
// producing an inverted window from a single explicit bound.
func (o LeafOptions) validity(now time.Time) (time.Time, time.Time, error) {
	nb, na := o.NotBefore, o.NotAfter
	switch {
	case nb.IsZero() && na.IsZero():
		nb, na = now.Add(-time.Hour), now.AddDate(1, 0, 0)
	case nb.IsZero():
		nb = now.Add(-time.Hour)
		if !na.After(nb) {
			nb = na.Add(-24 * time.Hour)
		}
	case na.IsZero():
		na = now.AddDate(1, 0, 0)
		if !na.After(nb) {
			na = nb.AddDate(1, 0, 0)
		}
	}
	if na.Before(nb) {
		return time.Time{}, time.Time{}, fmt.Errorf("pki: NotAfter %s is before NotBefore %s", na.Format(time.RFC3339), nb.Format(time.RFC3339))
	}
	return nb, na, nil
}

// Leaf is an end-entity certificate with its private key.
type Leaf struct {
	// Cert is the leaf certificate.
	Cert *x509.Certificate
	// Key is the leaf's private key (*ecdsa.PrivateKey or *rsa.PrivateKey).
	Key crypto.Signer
	// Issuer is the CA that signed Cert.
	Issuer *CA
}

// Issue signs a new end-entity certificate with a freshly generated key.
func (ca *CA) Issue(opts LeafOptions) (*Leaf, error) {
	if ca == nil || ca.Cert == nil || ca.Key == nil {
		return nil, errors.New("pki: Issue on an incomplete CA")
	}
	nb, na, err := opts.validity(time.Now())
	if err != nil {
		return nil, err
	}
	key, err := generateKey(opts.KeyType)
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	ku := x509.KeyUsageDigitalSignature
	if opts.KeyType == RSA2048 {
		// TLS 1.2 RSA key exchange encrypts to the key; harmless elsewhere.
		ku |= x509.KeyUsageKeyEncipherment
	}
	if opts.IsCA {
		ku |= x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	}
	var eku []x509.ExtKeyUsage
	if opts.Server || !opts.Client {
		eku = append(eku, x509.ExtKeyUsageServerAuth)
	}
	if opts.Client || !opts.Server {
		eku = append(eku, x509.ExtKeyUsageClientAuth)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: opts.CommonName},
		DNSNames:              append([]string(nil), opts.DNSNames...),
		IPAddresses:           append([]net.IP(nil), opts.IPAddresses...),
		NotBefore:             nb,
		NotAfter:              na,
		KeyUsage:              ku,
		ExtKeyUsage:           eku,
		BasicConstraintsValid: true,
		IsCA:                  opts.IsCA,
	}
	cert, err := createCert(tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, err
	}
	return &Leaf{Cert: cert, Key: key, Issuer: ca}, nil
}

// Serial returns a copy of the leaf's serial number, ready for
// [CRLOptions.Revoked].
func (l *Leaf) Serial() *big.Int {
	return new(big.Int).Set(l.Cert.SerialNumber)
}

// CertPEM encodes the leaf certificate alone.
func (l *Leaf) CertPEM() []byte {
	return certPEM(l.Cert)
}

// ChainPEM encodes the leaf followed by its intermediates but not the root:
// what a server presents, and what a cert file for a client should hold.
func (l *Leaf) ChainPEM() []byte {
	out := certPEM(l.Cert)
	if l.Issuer != nil {
		for _, c := range l.Issuer.intermediates() {
			out = append(out, certPEM(c)...)
		}
	}
	return out
}

// TLSCertificate returns the leaf, its intermediates and its key in the form
// crypto/tls presents, with Leaf filled in so nothing re-parses it.
func (l *Leaf) TLSCertificate() tls.Certificate {
	chain := [][]byte{l.Cert.Raw}
	if l.Issuer != nil {
		for _, c := range l.Issuer.intermediates() {
			chain = append(chain, c.Raw)
		}
	}
	return tls.Certificate{Certificate: chain, PrivateKey: l.Key, Leaf: l.Cert}
}
