package connfactory

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEnvironLookup: WithEnviron's lookup finds what os.LookupEnv would in that
// environment: the last entry of a key wins, a value may hold "=", an entry without "="
// defines nothing, an empty value is set, and keys are case-sensitive.
func TestEnvironLookup(t *testing.T) {
	lookup := environLookup([]string{"B=1", "A=x=y", "NOEQUALS", "B=2", "EMPTY=", "a=lower", "B=3", "C=c"})
	for _, c := range []struct {
		key, want string
		ok        bool
	}{
		{"A", "x=y", true}, {"B", "3", true}, {"C", "c", true}, {"EMPTY", "", true}, {"a", "lower", true},
		{"NOEQUALS", "", false}, {"D", "", false}, {"", "", false}, {"b", "", false},
	} {
		v, ok := lookup(c.key)
		require.Equal(t, c.ok, ok, c.key)
		require.Equal(t, c.want, v, c.key)
	}
	v, ok := environLookup(nil)("A")
	require.False(t, ok)
	require.Empty(t, v)
}

// TestEnvironLookupMany: every one of 10,000 variables is found, with its last value.
func TestEnvironLookupMany(t *testing.T) {
	var env []string
	for i := range 10_000 {
		env = append(env, fmt.Sprintf("V%d=first", i), fmt.Sprintf("W%d=%d", i, i))
	}
	for i := range 10_000 {
		env = append(env, fmt.Sprintf("V%d=%d", i, i))
	}
	lookup := environLookup(env)
	for i := range 10_000 {
		for _, k := range []string{fmt.Sprintf("V%d", i), fmt.Sprintf("W%d", i)} {
			v, ok := lookup(k)
			require.True(t, ok, k)
			require.Equal(t, fmt.Sprint(i), v, k)
		}
	}
}
