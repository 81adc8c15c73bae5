package factory

import "time"

// WithRiakAuthWait shortens the Riak preflight's wait for a verdict on credentials, so
// that tests of a server that never answers do not wait RiakAuthVerdictWait.
func WithRiakAuthWait(d time.Duration) Option { return func(o *options) { o.riakAuthWait = d } }

// CRLIssuerIndex is the identity of c's CRL issuer index, so that tests can see whether
// profiles share one.
func CRLIssuerIndex(c *ClientTLS) any { return c.mat.Load().crls.issuers }

// CQLGuardScan feeds stream, chunk bytes at a time, to a frame guard that parses
// segments, and returns its first error.
func CQLGuardScan(stream []byte, chunk int) error {
	g := &cqlGuard{segments: true}
	for len(stream) > 0 {
		n := min(chunk, len(stream))
		if err := g.scan(stream[:n]); err != nil {
			return err
		}
		stream = stream[n:]
	}
	return nil
}
