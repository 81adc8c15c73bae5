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

// ResolveProfile resolves every secret and material source of profile name, p, as Load
// does, without origins. lookupEnv nil means os.LookupEnv.
func ResolveProfile(name string, p *schema.Profile, lookupEnv func(string) (string, bool)) (*ProfileMaterial, schema.Problems) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	r := &resolver{lookupEnv: lookupEnv, prefix: "profiles." + name + "."}
	ps := r.profile("profiles."+name, p)
	pm := &ProfileMaterial{}
	pm.st.Set(&profileState{name: name, profile: p, env: &sourceEnv{lookupEnv: lookupEnv}, tab: r.tab, entries: r.entries()})
	return pm, ps
}
