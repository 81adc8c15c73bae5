package factory_test

import (
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/pki"
)

// Compile benchmarks: N profiles (alternately Cassandra and Riak, password auth over
// verify-full TLS) that all name one CA bundle of 50 certificates, like a small system
// bundle, and one 1,000-entry CRL of the servers' intermediate. Shared compiles them with
// one MaterialCache (new for every iteration, as a Registry owns one for its lifetime:
// each iteration pays one parse), Naive without one (every profile parses everything).
// The material bytes are one slice shared by all profiles; a loader reading the same
// file for each profile would add a copy of the file per profile to both cases.
//
//	go test -run '^$' -bench 'Compile' -benchtime 2s ./factory
const (
	benchBundleCerts = 50
	benchCRLEntries  = 1000
)

var compileSizes = []int{1, 100, 1000, 10_000}

// benchInputs is generated once for all compile benchmarks.
var benchInputs = sync.OnceValues(func() (*compileInputs, error) {
	S, err := pki.NewSet()
	if err != nil {
		return nil, err
	}
	// The root and the intermediate whose CRL the profiles name (its signature is checked
	// against tls.ca), then unrelated roots.
	var bundle []byte
	bundle = append(bundle, S.Root.CertPEM()...)
	bundle = append(bundle, S.Intermediate.CertPEM()...)
	for i := 2; i < benchBundleCerts; i++ {
		ca, err := pki.NewRootCA(fmt.Sprintf("bundle root %d", i))
		if err != nil {
			return nil, err
		}
		bundle = append(bundle, ca.CertPEM()...)
	}
	crl, err := S.Intermediate.CRLPEM(pki.CRLOptions{Revoked: revokedSerials(benchCRLEntries)})
	if err != nil {
		return nil, err
	}
	return &compileInputs{bundle: bundle, crl: crl}, nil
})

type compileInputs struct{ bundle, crl []byte }

// compileProfiles returns n profiles over the shared material.
func compileProfiles(b *testing.B, n int) ([]string, []*schema.Profile) {
	b.Helper()
	in, err := benchInputs()
	require.NoError(b, err)
	names := make([]string, n)
	profiles := make([]*schema.Profile, n)
	for i := range n {
		sec := &schema.TLS{
			CA:  []schema.MaterialSource{{Base64: b64(in.bundle)}},
			CRL: []schema.MaterialSource{{Base64: b64(in.crl)}},
		}
		if i%2 == 0 {
			names[i] = fmt.Sprintf("cass_%d", i)
			profiles[i] = cassProfile(fmt.Sprintf("db%d.internal:9042", i), sec)
		} else {
			names[i] = fmt.Sprintf("riak_%d", i)
			profiles[i] = riakProfile([]string{fmt.Sprintf("kv%d.internal:8087", i)}, schema.MechanismPassword, "app", "secret", sec)
		}
	}
	return names, profiles
}

// compileAll compiles every profile; the caller closes them.
func compileAll(b *testing.B, names []string, profiles []*schema.Profile, opts ...factory.Option) []factory.Connector {
	out := make([]factory.Connector, len(profiles))
	for i, p := range profiles {
		c, err := factory.Compile(names[i], p, opts...)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = c
	}
	return out
}

func closeAll(b *testing.B, cs []factory.Connector) {
	for _, c := range cs {
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

var benchLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// BenchmarkCompileShared compiles N profiles with one MaterialCache. Metric ns/profile:
// flat across N means linear growth. At 10,000 it also reports the heap (see
// benchCompile).
func BenchmarkCompileShared(b *testing.B) {
	for _, n := range compileSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchCompile(b, n, true) })
	}
}

// BenchmarkCompileNaive compiles the same N profiles without a cache: every profile
// parses the bundle and the CRL again.
func BenchmarkCompileNaive(b *testing.B) {
	for _, n := range compileSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchCompile(b, n, false) })
	}
}

// benchCompile compiles n profiles per iteration, with a fresh cache each time when
// shared. From 10,000 profiles on it also reports the heap: peak-heap-MB is the highest
// HeapInuse seen while compiling (sampled every 2 ms; each sample stops the world for
// microseconds) above the heap before; live-heap-MB what stays in use, after a collection,
// while the connectors are held; alloc-MB everything allocated on the way (each the
// highest over the iterations). Naive at 10,000 takes about 30 s for its one iteration.
func benchCompile(b *testing.B, n int, shared bool) {
	names, profiles := compileProfiles(b, n)
	memory := n >= 10_000
	var peak, live, alloc float64
	runtime.GC() // the previous size's garbage is not this size's cost
	for b.Loop() {
		opts := []factory.Option{factory.WithLogger(benchLogger)}
		var cache *factory.MaterialCache
		if shared {
			cache = factory.NewMaterialCache()
			opts = append(opts, factory.WithMaterialCache(cache))
		}
		var (
			before, after runtime.MemStats
			stop          func() uint64
		)
		if memory {
			b.StopTimer()
			runtime.GC()
			runtime.ReadMemStats(&before)
			stop = sampleHeap()
			b.StartTimer()
		}
		cs := compileAll(b, names, profiles, opts...)
		b.StopTimer()
		if memory {
			high := stop()
			runtime.GC()
			runtime.ReadMemStats(&after)
			peak = max(peak, mb(high, before.HeapInuse))
			live = max(live, mb(after.HeapInuse, before.HeapInuse))
			alloc = max(alloc, mb(after.TotalAlloc, before.TotalAlloc))
		}
		if st := cache.Stats(); shared && st.Parses != 4 {
			b.Fatalf("%d parses, want 4 (CA source, CA bundle, CRL source, CRL issuer index)", st.Parses)
		}
		closeAll(b, cs)
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/profile")
	if memory {
		b.ReportMetric(peak, "peak-heap-MB")
		b.ReportMetric(live, "live-heap-MB")
		b.ReportMetric(alloc, "alloc-MB")
	}
}

// mb is after - before in MiB (negative when the heap shrank).
func mb(after, before uint64) float64 { return (float64(after) - float64(before)) / (1 << 20) }

// sampleHeap samples HeapInuse every 2 ms until the returned stop is called, which
// returns the highest value seen (including one last sample) and waits for the sampler.
func sampleHeap() (stop func() uint64) {
	var (
		done = make(chan struct{})
		out  = make(chan uint64)
	)
	go func() {
		var (
			ms   runtime.MemStats
			high uint64
		)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			high = max(high, ms.HeapInuse)
			select {
			case <-done:
				runtime.ReadMemStats(&ms)
				out <- max(high, ms.HeapInuse)
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		return <-out
	}
}
