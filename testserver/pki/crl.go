package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
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
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:     big.NewInt(opts.Number),
		ThisUpdate: this,
		NextUpdate: next,
	}, ca.Cert, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("pki: create CRL: %w", err)
	}
	if len(opts.Revoked) == 0 {
		return der, nil
	}
	return spliceRevoked(der, opts.Revoked, this, ca.Key)
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

// spliceRevoked turns the empty CRL that crypto/x509 produced into one
// listing serials, and re-signs it.
//
// x509.CreateRevocationList marshals every entry through encoding/asn1's
// reflection, which costs about 3 µs per entry (a third of a second for
// 100,000, over a second under -race). Letting the standard library build
// everything else (issuer, times, AKI, CRL number, algorithm identifier) and
// encoding only the uniform entries by hand keeps the output exactly what
// the standard library would have produced (the tests compare the TBS bytes)
// at a fraction of the cost.
func spliceRevoked(emptyCRL []byte, serials []*big.Int, revokedAt time.Time, key crypto.Signer) ([]byte, error) {
	rl, err := x509.ParseRevocationList(emptyCRL)
	if err != nil {
		return nil, fmt.Errorf("pki: parse CRL: %w", err)
	}
	outer, err := derElements(emptyCRL)
	if err != nil || len(outer) != 3 {
		return nil, errors.New("pki: unexpected CRL structure")
	}
	sigAlg := outer[1]
	tbsFields, err := derElements(rl.RawTBSRevocationList)
	if err != nil {
		return nil, errors.New("pki: unexpected CRL structure")
	}
	// RFC 5280: version, signature, issuer, thisUpdate, nextUpdate,
	// revokedCertificates, [0] crlExtensions. The empty CRL has no
	// revokedCertificates, so the list goes right before the extensions.
	if len(tbsFields) != 6 || len(tbsFields[5]) == 0 || tbsFields[5][0] != 0xa0 {
		return nil, errors.New("pki: unexpected CRL TBS structure")
	}

	timeDER, err := asn1.Marshal(revokedAt.UTC())
	if err != nil {
		return nil, fmt.Errorf("pki: encode revocation time: %w", err)
	}
	// Sized for 16-octet serials (ours are 127-bit) so the common case
	// never regrows a multi-megabyte buffer.
	entries := make([]byte, 0, len(serials)*(2+2+17+len(timeDER)))
	serialBuf := make([]byte, 0, 32)
	for i, s := range serials {
		if s == nil {
			return nil, fmt.Errorf("pki: CRL revoked serial #%d is nil", i)
		}
		serialBuf, err = appendDERInteger(serialBuf[:0], s)
		if err != nil {
			return nil, err
		}
		entries = appendDERHeader(entries, 0x30, len(serialBuf)+len(timeDER))
		entries = append(entries, serialBuf...)
		entries = append(entries, timeDER...)
	}

	listHeader := appendDERHeader(nil, 0x30, len(entries))
	bodyLen := len(listHeader) + len(entries) + len(tbsFields[5])
	for _, f := range tbsFields[:5] {
		bodyLen += len(f)
	}
	tbs := appendDERHeader(make([]byte, 0, bodyLen+8), 0x30, bodyLen)
	for _, f := range tbsFields[:5] {
		tbs = append(tbs, f...)
	}
	tbs = append(tbs, listHeader...)
	tbs = append(tbs, entries...)
	tbs = append(tbs, tbsFields[5]...)

	sig, err := signTBS(tbs, rl.SignatureAlgorithm, key)
	if err != nil {
		return nil, err
	}
	sigBits := appendDERHeader(nil, 0x03, len(sig)+1)
	sigBits = append(sigBits, 0) // no unused bits
	sigBits = append(sigBits, sig...)

	n := len(tbs) + len(sigAlg) + len(sigBits)
	out := appendDERHeader(make([]byte, 0, n+8), 0x30, n)
	out = append(out, tbs...)
	out = append(out, sigAlg...)
	out = append(out, sigBits...)
	return out, nil
}

// signTBS signs with the algorithm crypto/x509 already chose for the key.
func signTBS(tbs []byte, alg x509.SignatureAlgorithm, key crypto.Signer) ([]byte, error) {
	var h crypto.Hash
	switch alg {
	case x509.ECDSAWithSHA256, x509.SHA256WithRSA:
		h = crypto.SHA256
	case x509.ECDSAWithSHA384, x509.SHA384WithRSA:
		h = crypto.SHA384
	case x509.ECDSAWithSHA512, x509.SHA512WithRSA:
		h = crypto.SHA512
	case x509.PureEd25519:
		sig, err := key.Sign(rand.Reader, tbs, crypto.Hash(0))
		if err != nil {
			return nil, fmt.Errorf("pki: sign CRL: %w", err)
		}
		return sig, nil
	default:
		return nil, fmt.Errorf("pki: CRL signature algorithm %v not supported", alg)
	}
	hh := h.New()
	hh.Write(tbs)
	sig, err := key.Sign(rand.Reader, hh.Sum(nil), h)
	if err != nil {
		return nil, fmt.Errorf("pki: sign CRL: %w", err)
	}
	return sig, nil
}

// derElements splits a DER SEQUENCE into its elements' full encodings.
func derElements(seq []byte) ([][]byte, error) {
	var outer asn1.RawValue
	rest, err := asn1.Unmarshal(seq, &outer)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 || outer.Tag != asn1.TagSequence || !outer.IsCompound {
		return nil, errors.New("not a single SEQUENCE")
	}
	var out [][]byte
	for b := outer.Bytes; len(b) > 0; {
		var rv asn1.RawValue
		b, err = asn1.Unmarshal(b, &rv)
		if err != nil {
			return nil, err
		}
		out = append(out, rv.FullBytes)
	}
	return out, nil
}

// appendDERHeader appends a DER tag and definite length.
func appendDERHeader(b []byte, tag byte, n int) []byte {
	b = append(b, tag)
	switch {
	case n < 0x80:
		return append(b, byte(n))
	case n <= 0xff:
		return append(b, 0x81, byte(n))
	case n <= 0xffff:
		return append(b, 0x82, byte(n>>8), byte(n))
	case n <= 0xffffff:
		return append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		return append(b, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// appendDERInteger appends s as a DER INTEGER. Negative serials are illegal
// in RFC 5280 but occur in the wild; they take encoding/asn1's slow path so
// their two's-complement form stays the standard library's.
func appendDERInteger(b []byte, s *big.Int) ([]byte, error) {
	if s.Sign() < 0 {
		der, err := asn1.Marshal(s)
		if err != nil {
			return nil, fmt.Errorf("pki: encode serial: %w", err)
		}
		return append(b, der...), nil
	}
	// Serials are at most 20 octets (RFC 5280); the stack buffer covers
	// them and anything up to 256 bits without allocating.
	var buf [32]byte
	var v []byte
	if bl := s.BitLen(); bl <= len(buf)*8 {
		v = buf[len(buf)-(bl+7)/8:]
		s.FillBytes(v)
	} else {
		v = s.Bytes()
	}
	pad := len(v) == 0 || v[0]&0x80 != 0
	n := len(v)
	if pad {
		n++
	}
	b = appendDERHeader(b, 0x02, n)
	if pad {
		b = append(b, 0)
	}
	return append(b, v...), nil
}
