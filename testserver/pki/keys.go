package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/youmark/pkcs8"
	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// pkcs8Iterations is far below a production PBKDF2 count on purpose: the
// keys are throwaway and the suites decrypt them many times.
const pkcs8Iterations = 2048

var pkcs8Opts = &pkcs8.Opts{
	Cipher: pkcs8.AES256CBC,
	KDFOpts: pkcs8.PBKDF2Opts{
		SaltSize:       16,
		IterationCount: pkcs8Iterations,
		HMACHash:       crypto.SHA256,
	},
}

// KeyPEM encodes the private key as unencrypted PKCS#8 ("PRIVATE KEY"). It
// returns nil only if Key has been replaced by a type x509 cannot marshal.
func (l *Leaf) KeyPEM() []byte {
	der, err := x509.MarshalPKCS8PrivateKey(l.Key)
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// EncryptedPKCS8PEM encodes the private key as PKCS#8 encrypted with PBES2
// (AES-256-CBC, PBKDF2-HMAC-SHA-256, 2048 iterations): "ENCRYPTED PRIVATE
// KEY", the form `openssl pkcs8 -topk8 -v2 aes256` writes.
func (l *Leaf) EncryptedPKCS8PEM(passphrase string) ([]byte, error) {
	if passphrase == "" {
		return nil, errors.New("pki: encrypted PKCS#8 needs a non-empty passphrase")
	}
	der, err := pkcs8.MarshalPrivateKey(l.Key, []byte(passphrase), pkcs8Opts)
	if err != nil {
		return nil, fmt.Errorf("pki: encrypt PKCS#8 key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der}), nil
}

// LegacyEncryptedPEM encodes the private key in the traditional OpenSSL form
// ("EC PRIVATE KEY" or "RSA PRIVATE KEY" with Proc-Type and DEK-Info headers,
// AES-256-CBC): what `openssl genrsa -aes256` and OpenSSL 1.0-era tooling
// write, still common in deployed configs, so the factory must read it.
func (l *Leaf) LegacyEncryptedPEM(passphrase string) ([]byte, error) {
	if passphrase == "" {
		return nil, errors.New("pki: legacy encrypted PEM needs a non-empty passphrase")
	}
	var (
		typ string
		der []byte
		err error
	)
	switch k := l.Key.(type) {
	case *ecdsa.PrivateKey:
		typ = "EC PRIVATE KEY"
		der, err = x509.MarshalECPrivateKey(k)
	case *rsa.PrivateKey:
		typ = "RSA PRIVATE KEY"
		der = x509.MarshalPKCS1PrivateKey(k)
	default:
		return nil, fmt.Errorf("pki: legacy PEM does not support key type %T", l.Key)
	}
	if err != nil {
		return nil, fmt.Errorf("pki: marshal key: %w", err)
	}
	// RFC 1423 encryption is deprecated because it is unauthenticated and
	// uses a weak KDF; producing it is the whole point here, since real
	// deployments still carry such files and the loader must accept them.
	block, err := x509.EncryptPEMBlock(rand.Reader, typ, der, []byte(passphrase), x509.PEMCipherAES256) //nolint:staticcheck // SA1019: legacy format is the test fixture.
	if err != nil {
		return nil, fmt.Errorf("pki: encrypt legacy PEM: %w", err)
	}
	return pem.EncodeToMemory(block), nil
}

// PKCS12 bundles the key, the leaf and its intermediates into a PKCS#12 file
// using the Modern2023 encoder (PBES2 AES-256-CBC, SHA-256 MAC), which
// OpenSSL 1.1.1+ and Java 12+ read. The root is left out for the same reason
// as in [Leaf.ChainPEM]: the bundle is what the client presents, and trust
// comes from the other side's configuration.
func (l *Leaf) PKCS12(passphrase string) ([]byte, error) {
	var cas []*x509.Certificate
	if l.Issuer != nil {
		cas = l.Issuer.intermediates()
	}
	der, err := pkcs12.Modern2023.Encode(l.Key, l.Cert, cas, passphrase)
	if err != nil {
		return nil, fmt.Errorf("pki: encode PKCS#12: %w", err)
	}
	return der, nil
}
