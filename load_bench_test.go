package connfactory_test

import (
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory"
	"github.com/connfactory/connfactory/internal/bigconfig"
)

// BenchmarkLoad is the whole pipeline for N generated profiles (internal/bigconfig:
// alternately Cassandra and Riak, password from the environment, verify-full TLS naming
// one CA bundle and one 1,000-entry CRL): Load (parse, layers, env, extends, decode,
// resolve, validate) then CompileAll, with the registry held. From one TOML file
// (toml-N) and from CONNFACTORY_ variables (env-N). Metrics per profile: ns/profile,
// alloc-B/profile (everything allocated), live-B/profile (the live heap objects after a
// collection, while the loaded configuration and every compiled connector are held:
// runtime.MemStats.HeapAlloc), inuse-B/profile (the heap spans holding them, HeapInuse:
// live-B plus the free space of partly used spans, which varies by a few hundred bytes a
// profile from run to run with how the parallel stages' allocations fell into spans),
// cpu-ns/profile (user + system CPU time of the whole process, garbage collector
// included: steadier than wall time on a shared machine).
//
//	go test -run '^$' -bench 'Load' -benchtime 1x -count 3 .
func BenchmarkLoad(b *testing.B) {
	mat, err := bigconfig.WriteMaterial(b.TempDir(), 1000)
	require.NoError(b, err)
	for _, c := range []struct {
		src string
		n   int
	}{{"toml", 1000}, {"toml", 10_000}, {"toml", 100_000}, {"env", 1000}, {"env", 10_000}} {
		b.Run(fmt.Sprintf("%s-%d", c.src, c.n), func(b *testing.B) {
			opts := []connfactory.Option{connfactory.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}
			if c.src == "toml" {
				path, err := mat.WriteTOML(c.n)
				require.NoError(b, err)
				opts = append(opts, connfactory.WithFiles(path), connfactory.WithEnviron([]string{bigconfig.PasswordEnv + "=secret"}))
			} else {
				opts = append(opts, connfactory.WithFiles(), connfactory.WithEnviron(mat.Environ(c.n)))
			}
			benchLoad(b, c.n, opts)
		})
	}
}

func benchLoad(b *testing.B, n int, opts []connfactory.Option) {
	var live, inuse, alloc float64
	var cpu time.Duration
	runtime.GC()
	for b.Loop() {
		start := cpuTime()
		b.StopTimer()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		reg, err := connfactory.Load(opts...)
		if err != nil {
			b.Fatal(err)
		}
		if len(reg.Profiles()) != n {
			b.Fatalf("%d profiles, want %d", len(reg.Profiles()), n)
		}
		if _, err := reg.CompileAll(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu += cpuTime() - start
		runtime.GC()
		runtime.ReadMemStats(&after)
		live = max(live, float64(after.HeapAlloc)-float64(before.HeapAlloc))
		inuse = max(inuse, float64(after.HeapInuse)-float64(before.HeapInuse))

		alloc = max(alloc, float64(after.TotalAlloc-before.TotalAlloc))
		runtime.KeepAlive(reg)
		require.NoError(b, reg.Close())
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/profile")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*n), "cpu-ns/profile")
	b.ReportMetric(alloc/float64(n), "alloc-B/profile")
	b.ReportMetric(live/float64(n), "live-B/profile")
	b.ReportMetric(inuse/float64(n), "inuse-B/profile")
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
