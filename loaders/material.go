package loaders

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"

	"github.com/connfactory/connfactory/internal/sealed"
	"github.com/connfactory/connfactory/schema"
)

// table holds what one run resolved, each distinct path and value once: 10,000 profiles
// naming one CA bundle and one password variable share two values.
type table struct {
	paths  []string // config paths relative to the profile: "tls.ca[0]", "auth.password"
	values []value
}

// value is what a source resolved to: material bytes (shared between the profiles
// naming one file) and the permission bits of its file, or a secret.
type value struct {
	data   []byte
	secret schema.Secret
	mode   uint32
}

// entry is one profile's source: indexes of its path and value in the run's table (8
// bytes, where a path and a value would be 64).
type entry struct {
	path, val uint32
}

// sourceEnv is how a run reads sources, shared by every profile it resolved: what a
// reload reads with again.
type sourceEnv struct {
	fs        fs.FS
	lookupEnv func(string) (string, bool)
	origins   *schema.Origins
}

// Material is what one Load resolved: every profile's material (certificate, key, CRL
// and key store bytes) and secrets from file and environment sources, by config path,
// and the files read. The schema values keep only what the user wrote. Profile gives one
// profile's as a factory.MaterialSource. It never prints what it holds, with any verb,
// through slog or as JSON.
type Material struct {
	st sealed.Box[materialState]
}

type materialState struct {
	profiles []profileState // sorted by name
	files    []string
}

// profileState is one profile's resolved sources: a small slice of entries into tab, not
// a map (a profile names a handful).
type profileState struct {
	name    string
	profile *schema.Profile
	env     *sourceEnv
	tab     *table
	entries []entry
}

func (m *Material) state() *materialState {
	if m == nil {
		return nil
	}
	return m.st.Get()
}

// Profile returns the resolved material and secrets of profile name (nil when the load
// has no such profile). Each call returns a source of its own: reloading it (Reload)
// changes neither m nor another's.
func (m *Material) Profile(name string) *ProfileMaterial {
	st := m.state()
	if st == nil {
		return nil
	}
	i, ok := slices.BinarySearchFunc(st.profiles, name, func(p profileState, name string) int { return strings.Compare(p.name, name) })
	if !ok {
		return nil
	}
	pm := &ProfileMaterial{}
	pm.st.Set(&st.profiles[i])
	return pm
}

// Files lists every material and secret file the load read (or tried to), in sorted
// order, as the configuration names them once made relative to the working directory or
// absolute: with the configuration files, what Watch watches.
func (m *Material) Files() []string {
	if st := m.state(); st != nil {
		return slices.Clone(st.files)
	}
	return nil
}

// String describes m without its contents.
func (m *Material) String() string {
	st := m.state()
	if st == nil {
		return "loaders.Material{}"
	}
	return fmt.Sprintf("loaders.Material{<%d profiles>, <%d files>}", len(st.profiles), len(st.files))
}

// ProfileMaterial is one profile's resolved material and secrets, by config path
// relative to the profile ("tls.ca[0]", "tls.key.passphrase", "auth.password"): a
// factory.MaterialSource (package loaders does not import factory; the methods match).
// It holds every material source's bytes, inline ones too (decoded as this package
// decodes them: `\n`-escaped PEM, base64 with or without padding), and the secrets of env
// and file sources; a literal secret is the schema value's own. Safe for concurrent use.
// It never prints what it holds.
type ProfileMaterial struct {
	st sealed.Box[profileState]
}

func (p *ProfileMaterial) find(path string) (value, bool) {
	if p == nil {
		return value{}, false
	}
	st := p.st.Get()
	for _, e := range st.entries {
		if st.tab.paths[e.path] == path {
			return st.tab.values[e.val], true
		}
	}
	return value{}, false
}

// Material returns the bytes the material source at path resolved to, the permission
// bits of its file (0 for other sources), and whether there are any.
func (p *ProfileMaterial) Material(path string) (schema.Material, uint32, bool) {
	e, ok := p.find(path)
	if !ok || e.data == nil {
		return nil, 0, false
	}
	return e.data, e.mode, true
}

// Secret returns the secret the env or file source at path resolved to, and whether
// there is one (a literal is the schema value's own).
func (p *ProfileMaterial) Secret(path string) (schema.Secret, bool) {
	e, ok := p.find(path)
	if !ok || e.data != nil {
		return "", false
	}
	return e.secret, true
}

// Origin is where the key at path was configured ("app.toml", "env NAME"), "" when
// unknown: looked up when a message needs it, never stored per source.
func (p *ProfileMaterial) Origin(path string) string {
	if p == nil {
		return ""
	}
	st := p.st.Get()
	if st.env.origins == nil {
		return ""
	}
	return st.env.origins.Of("profiles." + st.name + "." + path)
}

// Reload reads the profile's TLS sources again, as the load did (the same files, file
// system and environment), into a fresh snapshot, and swaps it in whole once every one
// was read; on error nothing changes and the error (a schema.Problems) names every source
// that failed. The auth secrets are kept as they were: only TLS material reloads.
func (p *ProfileMaterial) Reload(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	old := p.st.Get()
	r := &resolver{fs: old.env.fs, lookupEnv: old.env.lookupEnv, prefix: "profiles." + old.name + "."}
	if ps := r.tls("profiles."+old.name+".tls", old.profile.TLS); len(ps) > 0 {
		return ps.Err()
	}
	for _, e := range old.entries {
		if path := old.tab.paths[e.path]; !strings.HasPrefix(path, "tls.") {
			r.keep(r.prefix+path, "", old.tab.values[e.val])
		}
	}
	fresh := *old
	fresh.tab, fresh.entries = r.tab, r.entries()
	p.st.Set(&fresh)
	return nil
}

// SameTLS reports whether p and q hold the same TLS material and secrets, byte for byte:
// Watch reloads a compiled connector's material only when it changed.
func (p *ProfileMaterial) SameTLS(q *ProfileMaterial) bool {
	tlsOf := func(x *ProfileMaterial) map[string]value {
		out := map[string]value{}
		if x != nil {
			st := x.st.Get()
			for _, e := range st.entries {
				if path := st.tab.paths[e.path]; strings.HasPrefix(path, "tls.") {
					out[path] = st.tab.values[e.val]
				}
			}
		}
		return out
	}
	return maps.EqualFunc(tlsOf(p), tlsOf(q), func(a, b value) bool {
		return bytes.Equal(a.data, b.data) && a.secret == b.secret && a.mode == b.mode
	})
}

// String describes p without its contents.
func (p *ProfileMaterial) String() string {
	if p == nil {
		return "loaders.ProfileMaterial{}"
	}
	st := p.st.Get()
	return fmt.Sprintf("loaders.ProfileMaterial{profile: %q, <%d sources>}", st.name, len(st.entries))
}
