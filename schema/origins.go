package schema

import (
	"encoding/json"
	"iter"
	"maps"
	"slices"
	"sort"
	"strings"
)

// Origins says where each value came from, by dotted config path (`profiles.x.hosts`): a
// file name, "env NAME", "default", and for an inherited value "FILE via defaults" or
// "FILE via extends PARENT".
//
// It is indexed by profile, then by path within the profile (a short sorted list), so
// that Of costs a map lookup and a binary search whatever the number of profiles, and
// one profile's origins cost a few hundred bytes: the dotted paths themselves are built
// only by All (for `show --origins`) and MarshalJSON; each distinct relative path and
// origin string is held once, and an entry is two 4-byte indexes. The zero value is empty and ready
// to read; Set and SetProfile need a pointer. Not safe for concurrent writes.
type Origins struct {
	other    map[string]string        // paths outside any profile (defaults.x, profiles)
	profiles map[string][]originEntry // profile name -> its origins, sorted by path
	strs     *originStrings           // the paths and origins entries refer to
}

// originEntry is one origin inside a profile: its path relative to the profile and its
// origin, as indexes into originStrings (8 bytes, where two strings are 32).
type originEntry struct {
	rel, origin uint32
}

// originStrings holds each distinct relative path and origin once.
type originStrings struct {
	list []string
	idx  map[string]uint32
}

func (s *originStrings) id(v string) uint32 {
	if i, ok := s.idx[v]; ok {
		return i
	}
	i := uint32(len(s.list))
	v = strings.Clone(v) // not a piece of a parser's input, which it would keep alive
	s.list = append(s.list, v)
	s.idx[v] = i
	return i
}

func (o *Origins) strings() *originStrings {
	if o.strs == nil {
		o.strs = &originStrings{idx: map[string]uint32{}}
	}
	return o.strs
}

// envFlag marks an entry whose origin is the environment variable its own path maps to,
// "env " + PREFIX + NAME__REL (upper case, "__" for dots): only PREFIX is held, and the
// string is built when asked. From the environment that is every leaf's origin, a string
// of its own per leaf (some 0.9 KB per profile with its index entry).
const envFlag = 1 << 31

// envSuffix is the end of the variable that sets rel in profile name.
func envSuffix(name, rel string) string {
	return strings.ToUpper(name + "__" + strings.ReplaceAll(rel, ".", "__"))
}

// rel returns an entry's relative path; originIn its origin, in profile name.
func (o Origins) rel(e originEntry) string { return o.strs.list[e.rel] }
func (o Origins) originIn(name string, e originEntry) string {
	if e.origin&envFlag != 0 {
		return "env " + o.strs.list[e.origin&^envFlag] + envSuffix(name, o.rel(e))
	}
	return o.strs.list[e.origin]
}

// originID stores origin v of rel in profile name: as envFlag and the prefix when v is
// exactly what originIn would build, else as itself.
func (s *originStrings) originID(name, rel, v string) uint32 {
	if rest, ok := strings.CutPrefix(v, "env "); ok {
		if prefix, ok := strings.CutSuffix(rest, envSuffix(name, rel)); ok {
			return s.id(prefix) | envFlag
		}
	}
	return s.id(v)
}

// search finds rel in a profile's sorted entries.
func (o Origins) search(es []originEntry, rel string) (int, bool) {
	return slices.BinarySearchFunc(es, rel, func(e originEntry, rel string) int { return strings.Compare(o.rel(e), rel) })
}

// NewOrigins indexes a flat map of dotted paths to origins.
func NewOrigins(flat map[string]string) Origins {
	var o Origins
	for p, v := range flat {
		o.Set(p, v)
	}
	return o
}

// splitProfile splits "profiles.NAME.rest" into NAME and rest ("" for profiles.NAME).
func splitProfile(path string) (name, rel string, ok bool) {
	rest, ok := strings.CutPrefix(path, "profiles.")
	if !ok || rest == "" {
		return "", "", false
	}
	name, rel, _ = strings.Cut(rest, ".")
	if name == "" || (rel == "" && strings.HasSuffix(rest, ".")) {
		return "", "", false
	}
	return name, rel, true
}

// Set records the origin of one path.
func (o *Origins) Set(path, origin string) {
	name, rel, ok := splitProfile(path)
	if !ok || rel == "" {
		if o.other == nil {
			o.other = map[string]string{}
		}
		o.other[path] = origin
		return
	}
	if o.profiles == nil {
		o.profiles = map[string][]originEntry{}
	}
	strs := o.strings()
	es := o.profiles[name]
	i, found := o.search(es, rel)
	if found {
		es[i].origin = strs.originID(name, rel, origin)
		return
	}
	o.profiles[name] = slices.Insert(es, i, originEntry{strs.id(rel), strs.originID(name, rel, origin)})
}

// SetProfile records a whole profile's origins, by path relative to profiles.NAME,
// replacing what it had. The loaders use it once per profile; rel is not kept.
func (o *Origins) SetProfile(name string, rel map[string]string) {
	if o.profiles == nil {
		o.profiles = map[string][]originEntry{}
	}
	strs := o.strings()
	es := make([]originEntry, 0, len(rel))
	for k, v := range rel {
		es = append(es, originEntry{strs.id(k), strs.originID(name, k, v)})
	}
	sort.Slice(es, func(i, j int) bool { return strs.list[es[i].rel] < strs.list[es[j].rel] })
	o.profiles[name] = es
}

// Get returns the origin recorded for exactly path, "" if none.
func (o Origins) Get(path string) string {
	s, _ := o.Lookup(path)
	return s
}

// Lookup returns the origin recorded for exactly path and whether there is one.
func (o Origins) Lookup(path string) (string, bool) {
	name, rel, ok := splitProfile(path)
	if !ok || rel == "" {
		s, ok := o.other[path]
		return s, ok
	}
	es := o.profiles[name]
	if i, found := o.search(es, rel); found {
		return o.originIn(name, es[i]), true
	}
	return "", false
}

// Len is the number of paths with an origin.
func (o Origins) Len() int {
	n := len(o.other)
	for _, es := range o.profiles {
		n += len(es)
	}
	return n
}

// Of returns the origin of path, else of its nearest ancestor that has one, else (for a
// table such as profiles.x.tls.key, whose keys have origins but which has none itself) of
// its first descendant in sorted order; "" if none. List indexes are ignored. Within a
// profile it costs O(depth × log keys), whatever the number of profiles.
func (o Origins) Of(path string) string {
	path = ListFree(path)
	for p := path; p != ""; {
		if s, ok := o.Lookup(p); ok {
			return s
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	first, firstOrigin := "", ""
	consider := func(k, v string) {
		if first == "" || k < first {
			first, firstOrigin = k, v
		}
	}
	if name, rel, ok := splitProfile(path); ok {
		es := o.profiles[name]
		if rel == "" {
			if len(es) > 0 {
				consider(path+"."+o.rel(es[0]), o.originIn(name, es[0]))
			}
		} else {
			// Entries below rel sort right after rel itself (rel+"." or rel+"[").
			i, _ := o.search(es, rel)
			for ; i < len(es) && strings.HasPrefix(o.rel(es[i]), rel); i++ {
				if r := o.rel(es[i])[len(rel):]; r[0] == '.' || r[0] == '[' {
					consider(path+r, o.originIn(name, es[i]))
				}
			}
		}
	} else if path == "profiles" {
		for _, name := range slices.Sorted(maps.Keys(o.profiles)) {
			if es := o.profiles[name]; len(es) > 0 {
				consider("profiles."+name+"."+o.rel(es[0]), o.originIn(name, es[0]))
				break
			}
		}
	}
	for k, v := range o.other {
		if strings.HasPrefix(k, path+".") || strings.HasPrefix(k, path+"[") {
			consider(k, v)
		}
	}
	return firstOrigin
}

// All yields every path with its origin, in no particular order. It builds each dotted
// path: meant for display (`show --origins`), not for lookups.
func (o Origins) All() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for k, v := range o.other {
			if !yield(k, v) {
				return
			}
		}
		for name, es := range o.profiles {
			for _, e := range es {
				if !yield("profiles."+name+"."+o.rel(e), o.originIn(name, e)) {
					return
				}
			}
		}
	}
}

// Profiles returns the origins of the named profiles only (every profile's when no name
// is given), without the rest (defaults). It shares o's storage.
func (o Origins) Profiles(names ...string) Origins {
	out := Origins{profiles: map[string][]originEntry{}, strs: o.strs}
	if len(names) == 0 {
		maps.Copy(out.profiles, o.profiles)
	}
	for _, n := range names {
		if es, ok := o.profiles[n]; ok {
			out.profiles[n] = es
		}
	}
	for k, v := range o.other {
		if name, _, ok := splitProfile(k); ok && (len(names) == 0 || slices.Contains(names, name)) {
			out.Set(k, v)
		}
	}
	return out
}

// MarshalJSON writes the origins as one flat object of dotted paths, sorted.
func (o Origins) MarshalJSON() ([]byte, error) {
	return json.Marshal(maps.Collect(o.All()))
}
