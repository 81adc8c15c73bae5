package cassandra

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

// Limits the tests check against.
const (
	CQLMaxFrame          = cqlMaxFrame
	CQLMaxHandshakeFrame = cqlMaxHandshakeFrame
)
