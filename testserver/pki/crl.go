package pki

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// CRLOptions describes a certificate revocation list for [CA.CRL].
type CRLOptions struct {
	// Revoked lists the serials to revoke; it may hold 100,000 entries.
	Revoked []*big.Int
	// ThisUpdate and NextUpdate bound the CRL's freshness. Zero values mean
	// a minute ago and a day from now. A NextUpdate in the past makes a stale
	// CRL; if ThisUpdate is zero it is then set a day before NextUpdate.
	ThisUpdate, NextUpdate time.Time
	// Number is the CRL number extension; it must not be negative. Zero is
	// a valid CRL number.
	Number int64
}

// CRL returns a DER-encoded CRL signed by ca. Every entry's revocation time
// is ThisUpdate.
func (ca *CA) CRL(opts CRLOptions) ([]byte, error) {
	if ca == nil || ca.Cert == nil || ca.Key == nil {
		return nil, errors.New("pki: CRL on an incomplete CA")
	}
	if opts.Number < 0 {
		return nil, fmt.Errorf("pki: CRL number %d is negative", opts.Number)
	}
	now := time.Now()
	this, next := opts.ThisUpdate, opts.NextUpdate
	if next.IsZero() {
		next = now.Add(24 * time.Hour)
		if !this.IsZero() && next.Before(this) {
			next = this.Add(24 * time.Hour)
		}
	}
	if this.IsZero() {
		this = now.Add(-time.Minute)
		if next.Before(this) {
			this = next.Add(-24 * time.Hour)
		}
	}
	if next.Before(this) {
		return nil, fmt.Errorf("pki: CRL NextUpdate %s is before ThisUpdate %s", next.Format(time.RFC3339), this.Format(time.RFC3339))
	}
	// One backing array for all entries: with 100,000 serials a slice of
	// separately allocated entries doubles the garbage for nothing.
	entries := make([]x509.RevocationListEntry, len(opts.Revoked))
	for i, s := range opts.Revoked {
		if s == nil {
			return nil, fmt.Errorf("pki: CRL revoked serial #%d is nil", i)
		}
		entries[i] = x509.RevocationListEntry{SerialNumber: s, RevocationTime: this}
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		RevokedCertificateEntries: entries,
		Number:                    big.NewInt(opts.Number),
		ThisUpdate:                this,
		NextUpdate:                next,
	}, ca.Cert, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("pki: create CRL: %w", err)
	}
	return der, nil
}

// CRLPEM is [CA.CRL] encoded as an "X509 CRL" PEM block, the form
// `openssl crl` and file-based configs use.
func (ca *CA) CRLPEM(opts CRLOptions) ([]byte, error) {
	der, err := ca.CRL(opts)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}), nil
}
