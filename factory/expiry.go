package factory

import (
	"crypto/x509"
	"fmt"
	"time"

	"github.com/connfactory/connfactory/schema"
)

// expiryWarningOf is t's tls.expiry_warning with its default (14 days) applied: how long
// before it expires a certificate or a CRL becomes a warning.
func expiryWarningOf(t *schema.TLS) time.Duration {
	if t != nil && t.ExpiryWarning > 0 {
		return t.ExpiryWarning.Std()
	}
	d, _ := time.ParseDuration(schema.DefaultExpiryWarning)
	return d
}

// expiresWithin reports whether notAfter is after now but within d of it; what is already
// past is an error (or its own warning) elsewhere.
func expiresWithin(notAfter, now time.Time, d time.Duration) bool {
	return !notAfter.IsZero() && now.Before(notAfter) && notAfter.Sub(now) <= d
}

// daysLeft renders what is left until t: "in 3 days (2026-11-30T12:00:00Z)", or in hours
// or minutes when less than a day is left.
func daysLeft(t, now time.Time) string {
	left := t.Sub(now)
	n, unit := int(left.Hours()/24), "day"
	switch {
	case left < time.Hour:
		n, unit = int(left.Minutes()), "minute"
	case left < 24*time.Hour:
		n, unit = int(left.Hours()), "hour"
	}
	if n != 1 {
		unit += "s"
	}
	return fmt.Sprintf("in %d %s (%s)", n, unit, t.UTC().Format(time.RFC3339))
}

// window renders a tls.expiry_warning for messages: "14 days", else as a Go duration.
func window(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		if d == 24*time.Hour {
			return "1 day"
		}
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}

// materialExpiryWarnings are the warnings for the material m holds at now: the client
// certificate, every configured CA and every CRL (its NextUpdate) that expires within
// m.expiryWarn. certPath is where the client certificate was configured (path.cert,
// path.pkcs12 or path.keystore).
func materialExpiryWarnings(path, certPath string, m *material, now time.Time) []Warning {
	var warns []Warning
	d := m.expiryWarn
	if m.cert != nil && m.cert.Leaf != nil && expiresWithin(m.cert.Leaf.NotAfter, now, d) {
		warns = append(warns, Warning{Path: certPath, Message: fmt.Sprintf("client certificate %q expires %s (tls.expiry_warning %s)",
			m.cert.Leaf.Subject.String(), daysLeft(m.cert.Leaf.NotAfter, now), window(d))})
	}
	for _, ca := range m.caCerts {
		if expiresWithin(ca.NotAfter, now, d) {
			warns = append(warns, Warning{Path: path + ".ca", Message: fmt.Sprintf("CA certificate %q expires %s (tls.expiry_warning %s)",
				ca.Subject.String(), daysLeft(ca.NotAfter, now), window(d))})
		}
	}
	for _, e := range m.crls.entries() {
		if expiresWithin(e.nextUpdate, now, d) {
			warns = append(warns, Warning{Path: e.path, Message: fmt.Sprintf("CRL of %q is due for renewal: its NextUpdate is %s (tls.expiry_warning %s)",
				e.issuer, daysLeft(e.nextUpdate, now), window(d))})
		}
	}
	return warns
}

// presentedExpiryWarnings are the warnings for the certificates a server presented (a
// Check's report) that expire within d of now.
func presentedExpiryWarnings(path string, r *Report, now time.Time, d time.Duration) []string {
	var out []string
	for i, c := range r.TLS.PeerChain {
		if expiresWithin(c.NotAfter, now, d) {
			w := Warning{Path: path, Message: fmt.Sprintf("the server's certificate %q (chain[%d], from %s) expires %s (tls.expiry_warning %s)",
				c.Subject, i, r.Server.Address, daysLeft(c.NotAfter, now), window(d))}
			out = append(out, w.String())
		}
	}
	return out
}

// entries is every CRL of the set, in configuration order. Nil-safe.
func (s *crlSet) entries() []*crlEntry {
	if s == nil {
		return nil
	}
	return s.lists
}

// ExpiryWarnings are the warnings, at now, for the material in use (client certificate,
// configured CAs, CRLs) that expires within tls.expiry_warning. Nil-safe.
func (c *ClientTLS) ExpiryWarnings(now time.Time) []Warning {
	if c == nil {
		return nil
	}
	m := c.mat.Load()
	return materialExpiryWarnings(c.path, c.certPath, m, now)
}

// clientCertPath is the config path of t's client certificate: path.keystore,
// path.pkcs12 or path.cert.
func clientCertPath(path string, t *schema.TLS) string {
	switch {
	case t.KeyStore != nil:
		return path + ".keystore"
	case t.PKCS12 != nil:
		return path + ".pkcs12"
	}
	return path + ".cert"
}

// CRLInfo describes one CRL in use.
type CRLInfo struct {
	// Issuer is the CRL issuer's name, as text.
	Issuer string
	// NextUpdate is when a fresh CRL is due (zero: the CRL does not say).
	NextUpdate time.Time
	// Path is its config path: profiles.NAME.tls.crl[i].
	Path string
}

// MaterialInfo is what a compiled TLS section holds now (after reloads): what metrics
// and reports show about expiry.
type MaterialInfo struct {
	// Generation counts successful reloads (0 after compile).
	Generation uint64
	// ClientCert is the client certificate's leaf, or nil.
	ClientCert *x509.Certificate
	// CAs are the configured CA certificates (not the system pool's).
	CAs []*x509.Certificate
	// CRLs are the CRLs in use, in configuration order.
	CRLs []CRLInfo
}

// Material describes the material in use now. Nil-safe: a plaintext profile has none.
func (c *ClientTLS) Material() MaterialInfo {
	if c == nil {
		return MaterialInfo{}
	}
	m := c.mat.Load()
	info := MaterialInfo{Generation: m.generation, CAs: m.caCerts}
	if m.cert != nil {
		info.ClientCert = m.cert.Leaf
	}
	for _, e := range m.crls.entries() {
		info.CRLs = append(info.CRLs, CRLInfo{Issuer: e.issuer, NextUpdate: e.nextUpdate, Path: e.path})
	}
	return info
}
