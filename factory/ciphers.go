package factory

import (
	"fmt"
	"strings"

	"github.com/connfactory/connfactory/internal/ciphers"
	"github.com/connfactory/connfactory/schema"
)

// parseCiphers maps tls.ciphers to crypto/tls IDs: see internal/ciphers.Parse, the
// cipher-name rule this package shares with internal/importer.
func parseCiphers(names []string, allowInsecure bool) ([]uint16, []Warning, error) {
	return ciphers.Parse(names, allowInsecure)
}

// parseTLSVersion maps "1.0", "1.1", "1.2" or "1.3" (also written "TLSv1.2") to its
// crypto/tls constant.
func parseTLSVersion(s schema.TLSVersion) (uint16, error) {
	v := strings.TrimSpace(strings.ToLower(string(s)))
	v = strings.TrimPrefix(strings.TrimPrefix(v, "tlsv"), "tls")
	if id, ok := schema.TLSVersions[schema.TLSVersion(v)]; ok {
		return id, nil
	}
	return 0, fmt.Errorf("unknown TLS version %q (accepted: %s)", string(s), schema.Accepted(schema.TLSVersionNames))
}
