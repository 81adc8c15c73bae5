package loaders

import (
	"fmt"
	"sort"
	"strings"

	"github.com/connfactory/connfactory/schema"
)

// sourceKeys are the profile keys whose value is a secret or material source (or a list of
// them). A later layer replaces such a value as a whole: merging `{env = "X"}` over
// `{file = "f"}` key by key would leave a source with two fields set, which is an error,
// when the user meant "take it from X instead".
var sourceKeys = map[string]bool{
	"auth.password":  true,
	"tls.ca":         true,
	"tls.cert":       true,
	"tls.key":        true,
	"tls.pkcs12":     true,
	"tls.crl":        true,
	"tls.truststore": true,
	"tls.keystore":   true,
}

// rootAtomic says whether a dotted path of the whole configuration is a source key.
func rootAtomic(p string) bool {
	segs := strings.Split(p, ".")
	switch {
	case len(segs) >= 3 && segs[0] == "profiles":
		return sourceKeys[strings.Join(segs[2:], ".")]
	case len(segs) >= 2 && segs[0] == "defaults":
		return sourceKeys[strings.Join(segs[1:], ".")]
	}
	return false
}

// profileAtomic says whether a dotted path inside one profile is a source key.
func profileAtomic(p string) bool { return sourceKeys[p] }

// merge merges src into dst: tables merge key by key, everything else (and source keys)
// replaces. dOrig holds the origins of dst's leaves, by dotted path from the same root as
// prefix; sOrig gives those of src's. dOrig is updated so that every leaf keeps the
// origin of the layer that set it. With move, src's values are taken into dst as they are
// (src is a layer nobody reads again); without, they are copied.
func merge(dst, src map[string]any, dOrig map[string]string, sOrig originOf, prefix string, atomic func(string) bool, move bool) {
	for _, k := range sortedKeys(src) {
		sv := src[k]
		p := joinPath(prefix, k)
		sm, sIsMap := sv.(map[string]any)
		dm, dIsMap := dst[k].(map[string]any)
		if sIsMap && dIsMap && !atomic(p) {
			if len(sm) == 0 {
				continue // an empty table adds nothing to an existing one
			}
			delete(dOrig, p) // p is no longer an (empty table) leaf
			merge(dm, sm, dOrig, sOrig, p, atomic, move)
			continue
		}
		dropLeaves(dOrig, dst[k], p)
		if move {
			dst[k] = sv
		} else {
			dst[k] = deepCopy(sv)
		}
		if sIsMap && len(sm) > 0 {
			walkLeaves(sm, p, func(leaf string) { dOrig[leaf] = sOrig(leaf) })
		} else {
			dOrig[p] = sOrig(p)
		}
	}
}

// originOf gives the origin of a leaf of a layer, by dotted path.
type originOf func(path string) string

// mapOrigin looks origins up in a map.
func mapOrigin(o map[string]string) originOf { return func(p string) string { return o[p] } }

// constOrigin gives every leaf of a layer the same origin.
func constOrigin(origin string) originOf { return func(string) string { return origin } }

// dropOrigins forgets the origins of p and everything under it.
func dropOrigins(o map[string]string, p string) {
	delete(o, p)
	prefix := p + "."
	for k := range o {
		if strings.HasPrefix(k, prefix) {
			delete(o, k)
		}
	}
}

// dropLeaves forgets the origins of v, the value at p, and of every leaf under it: the
// tree says which leaves there are, so the cost is that of v, not of the whole map.
func dropLeaves(o map[string]string, v any, p string) {
	delete(o, p)
	if m, ok := v.(map[string]any); ok {
		for k, c := range m {
			dropLeaves(o, c, p+"."+k)
		}
	}
}

// subOrigins returns the origins of the leaves of m, the table at prefix, keyed relative
// to it: a lookup per leaf of m, whatever the size of o.
func subOrigins(o map[string]string, m map[string]any, prefix string) map[string]string {
	leaves := flatLeaves(m, "")
	out := make(map[string]string, len(leaves))
	for r := range leaves {
		if s, ok := o[prefix+"."+r]; ok {
			out[r] = s
		}
	}
	return out
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return deepCopyMap(t)
	case []any:
		out := make([]any, len(t))
		for i, c := range t {
			out[i] = deepCopy(c)
		}
		return out
	}
	return v
}

func deepCopyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = deepCopy(v)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// profileTree is one profile's raw map with the origins of its leaves (relative paths).
type profileTree struct {
	m map[string]any
	o map[string]string
}

// extender computes each profile's effective tree: defaults < parent chain < own keys.
type extender struct {
	l        *loader
	own      map[string]*profileTree
	defaults *profileTree
	done     map[string]*profileTree
	state    map[string]int // 1 visiting, 2 done
	stack    []string
	// viaDefaults are the defaults' origins as every profile inherits them; strs interns
	// the "via" origins, so that 100,000 profiles inheriting one key share one string.
	viaDefaults map[string]string
	strs        interner
}

func (e *extender) intern(s string) string { return e.strs.intern(s) }

// interner holds one copy of each string it was given. The zero value is ready to use.
type interner map[string]string

func (in *interner) intern(s string) string {
	if s == "" {
		return s
	}
	if v, ok := (*in)[s]; ok {
		return v
	}
	if *in == nil {
		*in = interner{}
	}
	// A copy: s may be a piece of a parser's input (BurntSushi/toml slices its strings
	// out of the whole document), which would keep the whole file in memory.
	s = strings.Clone(s)
	(*in)[s] = s
	return s
}

// internProfile makes p's strings copies held by the interner (secrets: copies of their
// own): profiles written alike (the same backend, mechanism, username, CA file, ...)
// share one copy of each string, and none keeps the parser's input alive (BurntSushi's
// strings are pieces of the whole document).
func (in *interner) internProfile(p *schema.Profile) {
	s := func(v *string) { *v = in.intern(*v) }
	list := func(vs []string) {
		for i := range vs {
			s(&vs[i])
		}
	}
	secret := func(v *schema.SecretSource) {
		if v != nil {
			v.Value = schema.Secret(strings.Clone(string(v.Value))) // a copy, never interned
			s(&v.Env)
			s(&v.File)
		}
	}
	src := func(m *schema.MaterialSource) {
		if m != nil {
			s(&m.File)
			s(&m.Env)
			s(&m.EnvBase64)
			m.PEM = schema.Secret(strings.Clone(string(m.PEM)))
			m.Base64 = schema.Secret(strings.Clone(string(m.Base64)))
			secret(m.Passphrase)
		}
	}
	p.Backend = schema.Backend(in.intern(string(p.Backend)))
	s(&p.Extends)
	list(p.Hosts)
	s(&p.Keyspace)
	s(&p.LocalDatacenter)
	s(&p.Consistency)
	if a := p.Auth; a != nil {
		a.Mechanism = schema.Mechanism(in.intern(string(a.Mechanism)))
		s(&a.Username)
		secret(a.Password)
		list(a.AllowedAuthenticators)
		s(&a.AuthorizationID)
		for i := range a.PerHost {
			s(&a.PerHost[i].Host)
			s(&a.PerHost[i].Username)
			secret(a.PerHost[i].Password)
		}
	}
	if t := p.TLS; t != nil {
		t.Mode = schema.TLSMode(in.intern(string(t.Mode)))
		for i := range t.CA {
			src(&t.CA[i])
		}
		for i := range t.CRL {
			src(&t.CRL[i])
		}
		src(t.Cert)
		src(t.Key)
		src(t.PKCS12)
		t.CRLStale = schema.CRLStale(in.intern(string(t.CRLStale)))
		list(t.Ciphers)
		t.MinVersion = schema.TLSVersion(in.intern(string(t.MinVersion)))
		t.MaxVersion = schema.TLSVersion(in.intern(string(t.MaxVersion)))
		s(&t.ServerName)
	}
}

func (e *extender) effective(name string) *profileTree {
	if t := e.done[name]; t != nil {
		return t
	}
	t := e.own[name]
	e.state[name] = 1
	e.stack = append(e.stack, name)
	defer func() { e.stack = e.stack[:len(e.stack)-1] }()

	base := e.withDefaults()
	if parent := extendsOf(t); parent != "" {
		path := "profiles." + name + ".extends"
		src := t.o["extends"]
		switch {
		case e.own[parent] == nil:
			e.l.add(path, src, "extends unknown profile %q%s", parent, suggest(parent, sortedKeys(e.own)))
		case e.state[parent] == 1:
			e.cycle(parent)
		default:
			pt := e.effective(parent)
			merge(base.m, pt.m, base.o, mapOrigin(relabel(pt.o, func(o string) string {
				if o == OriginDefault || strings.Contains(o, " via ") {
					return o
				}
				return e.intern(o + " via extends " + parent)
			})), "", profileAtomic, false)
		}
	}
	merge(base.m, t.m, base.o, mapOrigin(t.o), "", profileAtomic, true) // own: read only here
	e.state[name] = 2
	e.done[name] = base
	return base
}

// extendsOf is the profile t extends, "" for none.
func extendsOf(t *profileTree) string {
	parent, _ := t.m["extends"].(string)
	return parent
}

// labelDefaults sets viaDefaults: the same for every profile, relabelled once, so that
// its strings are shared.
func (e *extender) labelDefaults() {
	e.viaDefaults = relabel(e.defaults.o, func(o string) string {
		if o == OriginDefault {
			return o
		}
		return e.intern(o + " via defaults")
	})
}

// withDefaults is a new tree holding a copy of the defaults.
func (e *extender) withDefaults() *profileTree {
	base := &profileTree{m: map[string]any{}, o: map[string]string{}}
	merge(base.m, e.defaults.m, base.o, mapOrigin(e.viaDefaults), "", profileAtomic, false)
	return base
}

// plain is effective for t, a profile that extends none: defaults < own. It reads only
// the defaults (after labelDefaults), so that such profiles are merged concurrently.
func (e *extender) plain(t *profileTree) *profileTree {
	base := e.withDefaults()
	merge(base.m, t.m, base.o, mapOrigin(t.o), "", profileAtomic, true) // own: read only here
	return base
}

// maxCycleShown bounds the members an extends cycle's problem lists: a cycle of 3,000
// profiles is one line of some 200 bytes, not 3,000 lines of 3,000 names each.
const maxCycleShown = 10

// cycle reports the extends cycle that closes at parent: one problem per cycle, at the
// extends of its member that sorts first, listing the chain from there (at most
// maxCycleShown members).
func (e *extender) cycle(parent string) {
	i := len(e.stack) - 1
	for i >= 0 && e.stack[i] != parent {
		i--
	}
	members := e.stack[i:]
	first := 0
	for j, m := range members {
		if m < members[first] {
			first = j
		}
	}
	chain := append(append([]string{}, members[first:]...), members[:first]...)
	shown := chain
	more := ""
	if len(chain) > maxCycleShown {
		shown = chain[:maxCycleShown]
		more = fmt.Sprintf(" -> ... (%d more)", len(chain)-maxCycleShown)
	}
	what := "extends cycle"
	if len(chain) > 1 {
		what = fmt.Sprintf("extends cycle of %d profiles", len(chain))
	}
	e.l.add("profiles."+chain[0]+".extends", e.own[chain[0]].o["extends"], "%s: %s%s -> %s",
		what, strings.Join(shown, " -> "), more, chain[0])
}

func relabel(o map[string]string, f func(string) string) map[string]string {
	out := make(map[string]string, len(o))
	for k, v := range o {
		out[k] = f(v)
	}
	return out
}

// describeValue names the kind of a raw value for messages, never its content.
func describeValue(v any) string {
	switch v.(type) {
	case nil:
		return "nothing"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return "an integer"
	case float32, float64:
		return "a number"
	case map[string]any:
		return "a table"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("a %T", v)
}
