package factory

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"sync"
	"time"

	"github.com/connfactory/connfactory/schema"
)

// crlSet is a compiled set of certificate revocation lists: parsed once, indexed by issuer
// and serial so a handshake checks each certificate in O(1) whatever the CRLs' size.
type crlSet struct {
	issuers *crlIssuers // which of lists name each issuer; shared through a MaterialCache
	lists   []*crlEntry
	stale   schema.CRLStale
	// parses keeps the (possibly shared) parses alive while the set is in use: a
	// MaterialCache holds them only weakly.
	parses []*parsedCRLs
}

// crlEntry is one CRL as one profile uses it: the shared parse plus its config path. A
// CRL is only ever in a set once a configured CA is known to have signed it.
type crlEntry struct {
	*crlIndex
	path string // config path, for messages: profiles.x.tls.crl[0]
}

// crlIndex is one parsed CRL. It depends only on the CRL's bytes, so a MaterialCache
// shares it between every profile naming the same CRL: parsing and indexing 100,000
// entries happens once, not once per profile.
type crlIndex struct {
	issuer string // issuer name as text, for messages
	rl     *x509.RevocationList
	// revoked maps serials to revocation times (Unix seconds). Keys and values hold no
	// pointers, so a 100,000-entry map costs the garbage collector nothing to scan, which
	// would otherwise slow every handshake's allocations down.
	revoked map[serialKey]int64
	// longSerials holds the rare non-conforming serials longer than 20 octets.
	longSerials map[string]int64
	nextUpdate  time.Time

	// signers memoizes signature checks by the signer's raw certificate: a pure function
	// of (CRL, signer), so safe to share. Compiles check against the configured CAs, and
	// handshakes against the issuer in the server's chain, usually the same certificate.
	mu      sync.Mutex
	signers map[string]bool
}

// parseCRLs parses CRL sources (PEM "X509 CRL" blocks, several per source allowed, or
// DER), taking its parses from cache (nil: parse every time). path is the config path of the crl key ("profiles.x.tls.crl"); problems name
// "crl[i]". cas are the configured CA certificates: every CRL must be signed by the one
// it names as issuer, checked now, so a CRL naming none of them (an intermediate's, with
// only the root configured, or another CA's) is a config error: an intermediate's CRL needs
// that intermediate in tls.ca. A CRL past its NextUpdate at now is an error with stale =
// fail (the default) and a warning with stale = warn. Errors are *Error of kind config. No
// sources: (nil, nil, nil).
func parseCRLs(cache *MaterialCache, src sources, path string, srcs []schema.MaterialSource, cas []*x509.Certificate, now time.Time, stale schema.CRLStale) (*crlSet, []Warning, error) {
	if len(srcs) == 0 {
		return nil, nil, nil
	}
	if stale == "" {
		stale = schema.CRLStaleFail
	}
	var (
		ps    problemList
		warns []Warning
		set   = &crlSet{stale: stale}
		// accepted identifies the accepted CRLs, in order, by their source's digest and
		// position: the key of the shared issuer index.
		accepted = sha256.New()
	)
	for i := range srcs {
		m, key := &srcs[i], indexedPath("crl", i)
		p := indexedPath(path, i)
		data, err := src.bytes(key, m)
		if err != nil {
			ps.add(p, "%v", err)
			continue
		}
		parsed := cache.crls(data)
		set.parses = append(set.parses, parsed)
		if parsed.err != nil {
			ps.add(p, "%s: %v", src.describe(key, m), parsed.err)
			continue
		}
		for j, item := range parsed.items {
			if item.err != nil {
				ps.add(p, "%s: not a CRL: %v", src.describe(key, m), item.err)
				continue
			}
			e := &crlEntry{crlIndex: item.idx, path: p}
			if msg := e.verifyWithCAs(cas); msg != "" {
				ps.add(p, "%s: %s", src.describe(key, m), msg)
				continue
			}
			if !e.nextUpdate.IsZero() && now.After(e.nextUpdate) {
				msg := fmt.Sprintf("%s: CRL of %q is stale: its NextUpdate was %s", src.describe(key, m), e.issuer, e.nextUpdate.UTC().Format(time.RFC3339))
				if stale == schema.CRLStaleFail {
					ps.add(p, "%s (crl_stale = fail; fetch a fresh CRL or set crl_stale = \"warn\")", msg)
					continue
				}
				warns = append(warns, Warning{Path: p, Message: msg + " (crl_stale = warn: still used)"})
			}
			set.lists = append(set.lists, e)
			accepted.Write(parsed.sum[:])
			accepted.Write(binary.BigEndian.AppendUint32(nil, uint32(j)))
		}
	}
	if err := ps.err(); err != nil {
		return nil, nil, err
	}
	set.issuers = cache.crlIssuers(accepted, set.lists)
	return set, warns, nil
}

// crlIssuers maps raw issuer names (DER) to the positions, in a crlSet's lists, of the
// CRLs naming that issuer. It depends only on which CRLs a set accepted, in which order,
// so a MaterialCache shares one between every profile naming the same CRLs: 100,000
// profiles hold one map, not one each.
type crlIssuers struct {
	byIssuer map[string][]int
}

// crlIssuers returns the issuer index of lists, shared under the digest accepted.
func (c *MaterialCache) crlIssuers(accepted hash.Hash, lists []*crlEntry) *crlIssuers {
	build := func() *crlIssuers {
		ix := &crlIssuers{byIssuer: make(map[string][]int, 1)}
		for i, e := range lists {
			ix.byIssuer[string(e.rl.RawIssuer)] = append(ix.byIssuer[string(e.rl.RawIssuer)], i)
		}
		return ix
	}
	if c == nil {
		return build()
	}
	k := cacheKey{kind: kindCRLIssuers}
	accepted.Sum(k.sum[:0])
	return cached(c, k, build)
}

// crlDERs splits data into DER CRLs: every "X509 CRL" PEM block, or data itself.
func crlDERs(data []byte) ([][]byte, error) {
	var out [][]byte
	blocks, err := pemBlocks(data)
	if err != nil {
		return nil, err
	}
	for _, b := range blocks {
		if b.Type == "X509 CRL" || b.Type == "CRL" {
			out = append(out, b.Bytes)
		}
	}
	switch {
	case len(out) > 0:
		return out, nil
	case len(blocks) > 0:
		return nil, errors.New("holds no X509 CRL PEM block")
	case len(bytes.TrimSpace(data)) == 0:
		return nil, errors.New("is empty")
	}
	return [][]byte{data}, nil
}

// parsedCRLs is the parse of one CRL source: one item per CRL it holds, or err when it
// holds none.
type parsedCRLs struct {
	sum   [sha256.Size]byte // zero without a cache
	items []crlParse
	err   error
}

// crlParse is one CRL of a source: its index, or why it is not a CRL.
type crlParse struct {
	idx *crlIndex
	err error
}

// parseCRLSource splits and parses every CRL of one source. Its errors carry no path or
// source name, so one parse serves every profile.
func parseCRLSource(data []byte) *parsedCRLs {
	ders, err := crlDERs(data)
	if err != nil {
		return &parsedCRLs{err: err}
	}
	out := &parsedCRLs{items: make([]crlParse, 0, len(ders))}
	for _, der := range ders {
		rl, err := x509.ParseRevocationList(der)
		if err != nil {
			out.items = append(out.items, crlParse{err: err})
			continue
		}
		out.items = append(out.items, crlParse{idx: newCRLIndex(rl)})
	}
	return out
}

func newCRLIndex(rl *x509.RevocationList) *crlIndex {
	e := &crlIndex{
		issuer:      rl.Issuer.String(),
		rl:          rl,
		revoked:     make(map[serialKey]int64, len(rl.RevokedCertificateEntries)),
		longSerials: map[string]int64{},
		nextUpdate:  rl.NextUpdate,
		signers:     map[string]bool{},
	}
	for _, r := range rl.RevokedCertificateEntries {
		if r.SerialNumber == nil {
			continue
		}
		if k, ok := keyOf(r.SerialNumber); ok {
			e.revoked[k] = r.RevocationTime.Unix()
		} else {
			e.longSerials[string(r.SerialNumber.Bytes())] = r.RevocationTime.Unix()
		}
	}
	// Only the signature check needs the parsed list from now on; the entries (100,000
	// big.Ints) would only weigh on the garbage collector.
	rl.RevokedCertificateEntries = nil
	rl.RevokedCertificates = nil //nolint:staticcheck // deprecated field still populated by the parser.
	return e
}

// serialKey is a serial number as a fixed-size map key: its length, then its big-endian
// bytes right-aligned in the 20 octets RFC 5280 allows.
type serialKey [21]byte

// keyOf returns the key of serial s; ok is false for serials longer than 20 octets.
func keyOf(s *big.Int) (serialKey, bool) {
	var k serialKey
	n := (s.BitLen() + 7) / 8
	if n > 20 {
		return k, false
	}
	k[0] = byte(n)
	s.FillBytes(k[1:])
	return k, true
}

// revokedAt looks serial s up: O(1), no allocation for conforming serials.
func (e *crlIndex) revokedAt(s *big.Int) (time.Time, bool) {
	var (
		at int64
		ok bool
	)
	if k, short := keyOf(s); short {
		at, ok = e.revoked[k]
	} else {
		at, ok = e.longSerials[string(s.Bytes())]
	}
	return time.Unix(at, 0), ok
}

// verifyWithCAs checks the CRL's signature against the configured CA whose subject it
// names, and says why the CRL is refused ("": signed by that CA).
func (e *crlEntry) verifyWithCAs(cas []*x509.Certificate) string {
	var named []*x509.Certificate
	for _, ca := range cas {
		if bytes.Equal(ca.RawSubject, e.rl.RawIssuer) {
			named = append(named, ca)
		}
	}
	for _, ca := range named {
		if e.signedBy(ca) {
			return ""
		}
	}
	if len(named) > 0 {
		return fmt.Sprintf("CRL names issuer %q but is not signed by the configured CA of that name: it comes from another CA", e.issuer)
	}
	for _, ca := range cas {
		if len(e.rl.AuthorityKeyId) > 0 && bytes.Equal(ca.SubjectKeyId, e.rl.AuthorityKeyId) {
			return fmt.Sprintf("CRL names issuer %q but carries the key id of configured CA %q: it comes from another CA", e.issuer, ca.Subject.String())
		}
	}
	return fmt.Sprintf("CRL issuer %q is not a CA in tls.ca, so its signature cannot be checked: "+
		"a CRL must be signed by a configured CA (for an intermediate CA's CRL, add that intermediate's certificate to tls.ca)", e.issuer)
}

// signedBy reports whether issuer signed the CRL, checking the signature once per issuer
// certificate (CheckSignatureFrom also checks the issuer's CA flag and key usage, so the
// whole certificate, not only its key, is the memo's key).
func (e *crlIndex) signedBy(issuer *x509.Certificate) bool {
	key := issuer.Raw
	e.mu.Lock()
	ok, seen := e.signers[string(key)]
	e.mu.Unlock()
	if seen {
		return ok
	}
	ok = e.rl.CheckSignatureFrom(issuer) == nil
	e.mu.Lock()
	e.signers[string(key)] = ok
	e.mu.Unlock()
	return ok
}

// Len is the number of CRLs in the set.
func (s *crlSet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.lists)
}

// Check checks every certificate of every verified chain (leaf and intermediates; the
// self-signed anchor is not checked against itself) against the CRLs of its issuer. It
// returns a *Error of kind tls_revoked for a revoked certificate, or for a CRL that is
// stale at now when crl_stale = fail, and tls_untrusted when a CRL naming the issuer
// turns out not to be signed by the issuer in the chain (revocation cannot be checked,
// so the connection is refused). host names the server in the error.
func (s *crlSet) Check(chains [][]*x509.Certificate, now time.Time, host string) error {
	if s == nil || len(s.lists) == 0 {
		return nil
	}
	seen := map[*x509.Certificate]bool{}
	for _, chain := range chains {
		for i, c := range chain {
			if seen[c] {
				continue
			}
			seen[c] = true
			var issuer *x509.Certificate
			if i+1 < len(chain) {
				issuer = chain[i+1]
			} else if bytes.Equal(c.RawIssuer, c.RawSubject) {
				continue // a self-signed anchor: its own CRL cannot revoke it
			}
			if err := s.checkOne(c, issuer, now, host); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkOne checks c against the CRLs naming its issuer. issuer is nil when c is the
// chain's anchor but not self-signed (an intermediate configured as a CA): its CRLs were
// verified against the configured CA of that name at compile time. Otherwise the issuer
// in the chain must have signed them too: a re-keyed CA of the same name did not.
func (s *crlSet) checkOne(c, issuer *x509.Certificate, now time.Time, host string) error {
	for _, i := range s.issuers.byIssuer[string(c.RawIssuer)] {
		e := s.lists[i]
		if issuer != nil && !e.signedBy(issuer) {
			return &Error{Kind: KindTLSUntrusted, Host: host, Err: fmt.Errorf(
				"cannot check revocation of %q: %s names issuer %q but is not signed by the %q in the server's chain",
				c.Subject.String(), e.path, e.issuer, issuer.Subject.String())}
		}
		if s.stale == schema.CRLStaleFail && !e.nextUpdate.IsZero() && now.After(e.nextUpdate) {
			return &Error{Kind: KindTLSRevoked, Host: host, Err: fmt.Errorf(
				"revocation status of %q unknown: %s is stale since %s (crl_stale = fail)",
				c.Subject.String(), e.path, e.nextUpdate.UTC().Format(time.RFC3339))}
		}
		if at, ok := e.revokedAt(c.SerialNumber); ok {
			return &Error{Kind: KindTLSRevoked, Host: host, Err: fmt.Errorf(
				"certificate %q (serial %s) was revoked at %s by %s (issuer %q)",
				c.Subject.String(), c.SerialNumber.Text(16), at.UTC().Format(time.RFC3339), e.path, e.issuer)}
		}
	}
	return nil
}
