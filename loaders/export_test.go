package loaders

import (
	"os"

	"github.com/connfactory/connfactory/schema"
)

// SetKeysPerTable lowers the keys-per-table limit for a test; the returned func restores it.
func SetKeysPerTable(n int) (restore func()) {
	old := limits.KeysPerTable
	limits.KeysPerTable = n
	return func() { limits.KeysPerTable = old }
}

// Limits are the structural limits, for messages in tests.
func Limits() (depth, keySegments, keysPerTable int) {
	return limits.Depth, limits.KeySegments, limits.KeysPerTable
}

// ResolveProfile resolves every secret and material source of p in place, as Load does.
// path is p's config path (profiles.x), used in problems.
func ResolveProfile(path string, p *schema.Profile, lookupEnv func(string) (string, bool)) schema.Problems {
	r := &resolver{lookupEnv: lookupEnv}
	if r.lookupEnv == nil {
		r.lookupEnv = os.LookupEnv
	}
	return r.profile(path, p)
}
