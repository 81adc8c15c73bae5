package suggest_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/internal/suggest"
)

// osa is the textbook full-matrix optimal string alignment distance, the reference
// Distance's three-row version must agree with.
func osa(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"", "abc", 3}, {"abc", "", 3}, {"min_version", "mni_version", 1},
		{"ca", "ac", 1}, {"kitten", "sitting", 3}, {"hosts", "host", 1}, {"crl", "crl", 0},
		{"passwrod", "password", 1}, {"ünïcode", "unicode", 2},
		{strings.Repeat("a", 100), strings.Repeat("a", 99) + "b", 1}, // beyond the stack buffers
	} {
		require.Equal(t, c.want, suggest.Distance(c.a, c.b), "%q %q", c.a, c.b)
	}
}

// TestDistanceMatchesFullMatrix compares Distance with the full-matrix reference on
// random short strings over a small alphabet (so that transpositions and repeats occur),
// including lengths past the 64-rune stack buffers. The seed is fixed: the test is the
// same every run.
func TestDistanceMatchesFullMatrix(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	word := func() string {
		n := rng.IntN(12)
		if rng.IntN(20) == 0 {
			n = 60 + rng.IntN(10)
		}
		b := make([]rune, n)
		for i := range b {
			b[i] = []rune("abcé_")[rng.IntN(5)]
		}
		return string(b)
	}
	for range 5000 {
		a, b := word(), word()
		require.Equal(t, osa(a, b), suggest.Distance(a, b), "%q %q", a, b)
	}
}

func TestDidYouMean(t *testing.T) {
	known := []string{"ca", "cert", "crl", "key", "min_version", "max_version", "server_name"}
	require.Equal(t, `; did you mean "min_version"?`, suggest.DidYouMean("mni_version", known))
	require.Equal(t, `; did you mean "server_name"?`, suggest.DidYouMean("Server_Name", known))
	require.Equal(t, "", suggest.DidYouMean("completely_else", known))
	require.Equal(t, "", suggest.DidYouMean("ca", known))
}

func BenchmarkDistance(b *testing.B) {
	for b.Loop() {
		suggest.Distance("k39999", "server_name")
	}
}
