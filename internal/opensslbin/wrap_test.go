package opensslbin

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type runner func() int

func (r runner) Run() int { return r() }

// TestWrapPrintsOneLine: without openssl (empty PATH, no fallback), a package's tests skip
// and its TestMain prints exactly one line naming the package and the count.
func TestWrapPrintsOneLine(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("CI", "")
	saved, savedOut := fallbacks, stdout
	t.Cleanup(func() { fallbacks, stdout = saved, savedOut; skipped.Store(0) })
	fallbacks = nil
	var out strings.Builder
	stdout = &out
	code := Wrap("somepkg", runner(func() int {
		for range 2 {
			t.Run("needs-openssl", func(t *testing.T) { Path(t); t.Error("not reached") })
		}
		return 0
	})).Run()
	require.Equal(t, 0, code)
	require.Equal(t, "somepkg: 2 test(s) SKIPPED: openssl not found (install openssl to run them; CI=true makes this a failure)\n", out.String())
}
