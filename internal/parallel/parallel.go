// Package parallel runs the per-profile stages of a load (decode, validate, compile) over
// the machine's cores, with results kept in input order by their callers.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Chunk is how many indexes a worker takes at a time, and how often stop is asked: a few
// milliseconds of work per profile stage.
const Chunk = 64

// For calls f(i) for every i in [0, n) on up to GOMAXPROCS goroutines, each taking Chunk
// indexes at a time, and returns once every call has returned: no goroutine outlives it.
// stop, if not nil, is asked before each chunk; once it reports true, no further chunk
// starts, so some indexes are left uncalled (the caller looks at why it stopped). f must
// be safe for concurrent use and write only its own index's results. With one core or
// at most one chunk of work, everything runs on the calling goroutine.
func For(n int, stop func() bool, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), (n+Chunk-1)/Chunk)
	if workers <= 1 {
		for i := range n {
			if i%Chunk == 0 && stop != nil && stop() {
				return
			}
			f(i)
		}
		return
	}
	var next atomic.Int64
	var stopped atomic.Bool
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for !stopped.Load() {
				start := int(next.Add(Chunk)) - Chunk
				if start >= n {
					return
				}
				if stop != nil && stop() {
					stopped.Store(true)
					return
				}
				for i := start; i < min(start+Chunk, n); i++ {
					f(i)
				}
			}
		})
	}
	wg.Wait()
}
