package factory

import (
	"crypto/tls"
	"crypto/x509"
	"time"

	"github.com/connfactory/connfactory/internal/ciphers"
	"github.com/connfactory/connfactory/internal/factorycore"
	"github.com/connfactory/connfactory/schema"
)

// WithRiakAuthWait shortens the Riak preflight's wait for a verdict on credentials, so
// that tests of a server that never answers do not wait the default (5.5s).
func WithRiakAuthWait(d time.Duration) Option { return func(o *options) { o.riakAuthWait = d } }

// CRLIssuerIndex is the identity of c's CRL issuer index, so that tests can see whether
// profiles share one.
func CRLIssuerIndex(c *ClientTLS) any { return c.mat.Load().crls.issuers }

// The factory's internals that tests reach by their former exported names (issue 15:
// exports only for users).
var (
	CipherSuiteOpenSSLName = ciphers.OpenSSLName
	CipherNames            = ciphers.Names
	ParseCiphers           = parseCiphers
	ClassifyTLSError       = classifyTLSError
	ParseTLSVersion        = parseTLSVersion
	WithClock              = withClock
)

// Limits the tests check against.
const (
	SessionCacheSize = sessionCacheSize
)

// CRLSet is a compiled set of CRLs, as ParseCRLs returns it.
type CRLSet = crlSet

// LoadCertPool builds the trusted root pool from CA sources without a cache: see
// loadCertPool. ms (optional) resolves them, keyed like a profile's ("tls.ca[0]").
func LoadCertPool(path string, srcs []schema.MaterialSource, ms ...MaterialSource) (*x509.CertPool, []*x509.Certificate, error) {
	b, err := loadCertPool(nil, sectionSources(firstSource(ms), "tls"), path, srcs)
	if err != nil {
		return nil, nil, err
	}
	return b.pool, b.certs, nil
}

// LoadKeyPair builds the client certificate at time.Now, key permissions warned about, not
// refused: see loadKeyPair. ms (optional) resolves the sources ("tls.cert", "tls.key").
func LoadKeyPair(path string, cert, key, p12 *schema.MaterialSource, ms ...MaterialSource) (*tls.Certificate, []Warning, error) {
	return loadKeyPair(sectionSources(firstSource(ms), "tls"), path, cert, key, p12, false, time.Now(), expiryWarningOf(nil))
}

// ParseCRLs parses CRL sources without a cache: see parseCRLs. ms (optional) resolves
// them ("tls.crl[0]").
func ParseCRLs(path string, srcs []schema.MaterialSource, cas []*x509.Certificate, now time.Time, stale schema.CRLStale, ms ...MaterialSource) (*CRLSet, []Warning, error) {
	return parseCRLs(nil, sectionSources(firstSource(ms), "tls"), path, srcs, cas, now, stale)
}

func firstSource(ms []MaterialSource) MaterialSource {
	if len(ms) == 0 {
		return nil
	}
	return ms[0]
}

// MaterialCacheStats counts what a MaterialCache did.
type MaterialCacheStats struct {
	// Entries are the parses currently held (some may already be unreferenced and about
	// to be dropped by the garbage collector).
	Entries int
	// Parses counts cache misses: material parsed and added.
	Parses uint64
	// Hits counts lookups answered with an existing parse.
	Hits uint64
}

// Stats reports the cache's counters. Nil-safe.
func (c *MaterialCache) Stats() MaterialCacheStats {
	if c == nil {
		return MaterialCacheStats{}
	}
	c.mu.Lock()
	n := len(c.entries)
	c.mu.Unlock()
	return MaterialCacheStats{Entries: n, Parses: c.parses.Load(), Hits: c.hits.Load()}
}

// Values of Report, DialEvent and ReloadEvent fields, by their former exported names.
const (
	HostConfigured  = factorycore.HostConfigured
	HostDiscovered  = factorycore.HostDiscovered
	OpDial          = opDial
	OpCheck         = opCheck
	ReloadOK        = reloadOK
	ReloadUnchanged = reloadUnchanged
	ReloadError     = reloadError
)
