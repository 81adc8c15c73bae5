package factorytest

import (
	"crypto/tls"
	"math/big"
	"sort"
	"sync"
	"testing"
	"time"
)

// Handshakes counts, on the server side, the full and the resumed TLS handshakes
// (tls.ConnectionState.DidResume in the server's VerifyConnection, which runs on both)
// and records the client certificate serial of each.
type Handshakes struct {
	mu      sync.Mutex
	full    int
	resumed int
	serials []*big.Int
}

// ServerConfig wraps base so that every handshake is counted.
func (h *Handshakes) ServerConfig(base *tls.Config) *tls.Config {
	c := base.Clone()
	c.VerifyConnection = func(cs tls.ConnectionState) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		if cs.DidResume {
			h.resumed++
		} else {
			h.full++
		}
		var serial *big.Int
		if len(cs.PeerCertificates) > 0 {
			serial = cs.PeerCertificates[0].SerialNumber
		}
		h.serials = append(h.serials, serial)
		return nil
	}
	return c
}

// Counts returns full and resumed handshakes so far.
func (h *Handshakes) Counts() (full, resumed int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.full, h.resumed
}

// LastSerial is the client certificate serial of the latest handshake.
func (h *Handshakes) LastSerial() *big.Int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.serials[len(h.serials)-1]
}

// Reset forgets the handshakes so far.
func (h *Handshakes) Reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.full, h.resumed, h.serials = 0, 0, nil
}

// TLSVersions are the server maximum versions the resumption tests run with: crypto/tls
// hands out TLS 1.2 tickets in the handshake and TLS 1.3 ones after it.
var TLSVersions = []struct {
	Name string
	Max  uint16
}{{"tls1.2", tls.VersionTLS12}, {"tls1.3", tls.VersionTLS13}}

// Interleaved runs ours and theirs b.N times each, alternating (the order swapped every
// other iteration so drift on the machine hits both alike), and reports each side's mean
// and median, their ratio from the sums (ratio) and from the medians (median-ratio),
// ours / theirs. Each func returns the time of its own timed part.
func Interleaved(b *testing.B, ours, theirs func() time.Duration) {
	b.Helper()
	o := make([]time.Duration, 0, b.N)
	t := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			o, t = append(o, ours()), append(t, theirs())
		} else {
			t, o = append(t, theirs()), append(o, ours())
		}
	}
	b.StopTimer()
	sum := func(ds []time.Duration) (s time.Duration) {
		for _, d := range ds {
			s += d
		}
		return s
	}
	median := func(ds []time.Duration) time.Duration {
		s := append([]time.Duration(nil), ds...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[len(s)/2]
	}
	b.ReportMetric(float64(sum(o).Nanoseconds())/float64(b.N), "ours-ns/op")
	b.ReportMetric(float64(sum(t).Nanoseconds())/float64(b.N), "theirs-ns/op")
	b.ReportMetric(float64(median(o).Nanoseconds()), "ours-median-ns")
	b.ReportMetric(float64(median(t).Nanoseconds()), "theirs-median-ns")
	b.ReportMetric(float64(sum(o))/float64(sum(t)), "ratio")
	b.ReportMetric(float64(median(o))/float64(median(t)), "median-ratio")
}
