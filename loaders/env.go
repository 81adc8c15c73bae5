package loaders

import (
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/connfactory/connfactory/schema"
)

// envVar is one configuration variable: its name, value and koanf key segments.
type envVar struct {
	name, value string
	key         []string
	path        string // key joined with "."
}

// envLayer reads the prefixed environment: prefix stripped, lowercased, "__" nests.
// Variables without the prefix are skipped by a prefix comparison only; the rest is
// sorted by key, so that the result, and any conflict, is the same on every run
// whatever the order of the environment. Two variables that set one key, or a key and
// something under it (AUTH__PASSWORD and AUTH__PASSWORD__ENV; HOSTS and HOSTS__0), are a
// problem naming both. Indexed keys (TLS__CA__0__FILE, TLS__CA__1__FILE) make a list
// where the schema has one.
func (l *loader) envLayer() (map[string]any, map[string]string) {
	prefix := l.opts.EnvPrefix
	if prefix == "" {
		prefix = DefaultEnvPrefix
	}
	environ := l.opts.Environ
	if environ == nil {
		environ = os.Environ()
	}
	var vars []envVar
	for _, kv := range environ {
		if !strings.HasPrefix(kv, prefix) {
			continue
		}
		name, value, ok := strings.Cut(kv, "=")
		if !ok || len(name) < len(prefix) {
			continue
		}
		rest := name[len(prefix):]
		if !strings.Contains(rest, "__") {
			// CONNFACTORY_CONFIG and friends: not configuration keys (every key is at
			// least two levels deep).
			continue
		}
		segs := strings.Split(strings.ToLower(rest), "__")
		if len(segs) > limits.KeySegments {
			l.add("", "env "+name, "environment variable %s: %d segments, more than the limit of %d", name, len(segs), limits.KeySegments)
			continue
		}
		bad := false
		for _, s := range segs {
			if s == "" || strings.Contains(s, ".") {
				bad = true
				break
			}
		}
		if bad {
			l.add("", "env "+name, "environment variable %s: malformed name (segments are separated by exactly two underscores)", name)
			continue
		}
		if !utf8.ValidString(value) {
			l.add(strings.Join(segs, "."), "env "+name, "environment variable %s: value is not valid UTF-8", name)
			continue
		}
		vars = append(vars, envVar{name: name, value: value, key: segs, path: strings.Join(segs, ".")})
	}
	sort.Slice(vars, func(i, j int) bool {
		if vars[i].path != vars[j].path {
			return vars[i].path < vars[j].path
		}
		return vars[i].name < vars[j].name
	})

	root := map[string]any{}
	owner := map[string]string{} // leaf path -> variable; table path -> first variable under it
	for _, v := range vars {
		l.envInsert(root, owner, v)
	}
	l.envLists(root, owner)
	o := map[string]string{}
	for p := range flatLeaves(root, "") {
		o[p] = "env " + owner[p]
	}
	return root, o
}

// envInsert puts v into root, or reports the variable it conflicts with.
func (l *loader) envInsert(root map[string]any, owner map[string]string, v envVar) {
	m := root
	path := ""
	for i, s := range v.key {
		path = joinPath(path, s)
		cur, exists := m[s]
		last := i == len(v.key)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				l.envConflict(path, owner[path], v.name)
				return
			}
			m = c
			continue
		case string:
			l.envConflict(path, owner[path], v.name)
			return
		}
		if exists {
			return // not reached: the tree holds only tables and strings
		}
		if len(m) >= limits.KeysPerTable {
			l.add(strings.Join(v.key[:i], "."), "env "+v.name, "environment variable %s: table %s has more than the limit of %d keys", v.name, strings.Join(v.key[:i], "."), limits.KeysPerTable)
			return
		}
		owner[path] = v.name
		if last {
			m[s] = v.value
			return
		}
		n := map[string]any{}
		m[s] = n
		m = n
	}
}

func (l *loader) envConflict(path, a, b string) {
	if b < a {
		a, b = b, a
	}
	if a == b {
		l.add(path, "env "+a, "environment variable %s is set twice", a)
		return
	}
	l.add(path, "env "+a, "environment variables %s and %s conflict: both set %s (one a value, the other a key under it, or both the same key); keep one", a, b, path)
}

// envLists turns indexed tables (tls.ca.0.file, tls.ca.1.file) into lists where the
// schema has a list: under profiles.NAME and defaults.
func (l *loader) envLists(root map[string]any, owner map[string]string) {
	if d, ok := root["defaults"].(map[string]any); ok {
		l.envListsIn(d, "defaults", "", owner)
	}
	if ps, ok := root["profiles"].(map[string]any); ok {
		for _, name := range sortedKeys(ps) {
			if p, ok := ps[name].(map[string]any); ok {
				l.envListsIn(p, "profiles."+name, "", owner)
			}
		}
	}
}

func (l *loader) envListsIn(m map[string]any, base, rel string, owner map[string]string) {
	lists := schemaListPaths()
	for _, k := range sortedKeys(m) {
		r := joinPath(rel, k)
		t, ok := m[k].(map[string]any)
		if !ok {
			continue
		}
		full := base + "." + r
		if !lists[r] {
			l.envListsIn(t, base, r, owner)
			continue
		}
		n, nIdx := len(t), 0
		for ik := range t {
			if _, err := strconv.Atoi(ik); err == nil {
				nIdx++
			}
		}
		if nIdx == 0 {
			continue // one source as a table (TLS__CA__FILE): the decoder takes it as a list of one
		}
		idx := make([]any, n)
		var names []string
		ok = true
		for _, ik := range sortedKeys(t) {
			i, err := strconv.Atoi(ik)
			if err != nil || i < 0 || i >= n || strconv.Itoa(i) != ik {
				var under []string
				collectOwners(t[ik], full+"."+ik, owner, &under)
				if err != nil || strconv.Itoa(i) != ik {
					l.add(full, "env "+under[0], "environment variable %s: %s is given either by indexes 0, 1, 2 ... or as one entry, not both (key %q next to an index)", under[0], full, ik)
				} else {
					l.add(full, "env "+under[0], "environment variable %s: index %d, but the indexes of %s must run from 0 without gaps (%d given)", under[0], i, full, n)
				}
				ok = false
				break
			}
			idx[i] = t[ik]
			collectOwners(t[ik], full+"."+ik, owner, &names)
		}
		if !ok {
			delete(m, k)
			continue
		}
		m[k] = idx
		owner[full] = strings.Join(names, ", ")
	}
}

func collectOwners(v any, path string, owner map[string]string, out *[]string) {
	if m, ok := v.(map[string]any); ok {
		for _, k := range sortedKeys(m) {
			collectOwners(m[k], path+"."+k, owner, out)
		}
		return
	}
	*out = append(*out, owner[path])
}

// schemaListPaths lists the profile keys (relative, dotted) whose schema type is a list.
var schemaListPaths = sync.OnceValue(func() map[string]bool {
	out := map[string]bool{}
	var walk func(t reflect.Type, rel string, depth int)
	walk = func(t reflect.Type, rel string, depth int) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || depth > 4 {
			return
		}
		for k, ft := range koanfFields(t) {
			r := joinPath(rel, k)
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Slice && ft.Elem().Kind() != reflect.Uint8 {
				out[r] = true
				continue
			}
			walk(ft, r, depth+1)
		}
	}
	walk(reflect.TypeFor[schema.Profile](), "", 0)
	return out
})
