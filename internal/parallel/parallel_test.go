package parallel_test

import (
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/connfactory/connfactory/internal/parallel"
)

func TestForCallsEveryIndexOnce(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, n := range []int{0, 1, parallel.Chunk, parallel.Chunk + 1, 10*parallel.Chunk + 7} {
		calls := make([]atomic.Int32, n)
		parallel.For(n, nil, func(i int) { calls[i].Add(1) })
		for i := range calls {
			require.EqualValues(t, 1, calls[i].Load(), "n=%d i=%d", n, i)
		}
	}
}

// Once stop reports true no chunk starts, whatever the number of workers; the chunks
// already started finish.
func TestForStops(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, procs := range []int{1, 4} {
		old := runtime.GOMAXPROCS(procs)
		n := 100 * parallel.Chunk
		var asked, called atomic.Int32
		parallel.For(n, func() bool { return asked.Add(1) > 3 }, func(int) { called.Add(1) })
		runtime.GOMAXPROCS(old)
		require.LessOrEqual(t, int(called.Load()), 3*parallel.Chunk, "procs=%d", procs)
		require.Zero(t, int(called.Load())%parallel.Chunk, "procs=%d: whole chunks", procs)
	}
}
