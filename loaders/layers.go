package loaders

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/knadh/koanf/maps"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/v2"

	"github.com/connfactory/connfactory/schema"
)

// readFile reads and parses one configuration file; nil on a problem (recorded).
func (l *loader) readFile(name string) map[string]any {
	var (
		info fs.FileInfo
		err  error
	)
	if l.opts.FS != nil {
		info, err = fs.Stat(l.opts.FS, name)
	} else {
		info, err = os.Stat(name)
	}
	if err != nil {
		l.add("", "", "%s: cannot read configuration file: %s", name, osReason(err))
		return nil
	}
	if info.IsDir() {
		l.add("", "", "%s: is a directory, not a configuration file", name)
		return nil
	}
	if err := regularFile(info); err != nil {
		l.add("", "", "%s: %s", name, err)
		return nil
	}
	var (
		parse  func([]byte) (map[string]any, []nullValue, error)
		format string
	)
	switch strings.ToLower(filepath.Ext(name)) {
	case ".toml":
		parse, format = parseTOML, "TOML"
	case ".yaml", ".yml":
		parse, format = parseYAML, "YAML"
	case ".json":
		parse, format = parseJSON, "JSON"
	default:
		l.add("", "", "%s: unknown configuration format %q (use .toml, .yaml, .yml or .json)", name, filepath.Ext(name))
		return nil
	}
	var b []byte
	if l.opts.FS != nil {
		b, err = fs.ReadFile(l.opts.FS, name)
	} else {
		b, err = os.ReadFile(name)
	}
	if err != nil {
		l.add("", "", "%s: cannot read configuration file: %s", name, osReason(err))
		return nil
	}
	err = checkUTF8(b)
	var (
		m     map[string]any
		nulls []nullValue
	)
	if err == nil {
		m, nulls, err = parse(b)
	}
	if err != nil {
		l.add("", "", "%s: malformed %s: %s", name, format, err)
		return nil
	}
	l.nullProblems(nulls, name)
	dir := filepath.Dir(name)
	if l.opts.FS != nil {
		dir = path.Dir(filepath.ToSlash(name))
	}
	for _, top := range []string{"defaults", "profiles"} {
		rewritePaths(m[top], dir, l.opts.FS != nil)
	}
	return m
}

// osReason is the operating system's reason without the path (the caller names it).
func osReason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// rewritePaths makes every relative `file` of a source under v relative to dir: a path in
// a configuration file means "next to this file", wherever the program runs.
func rewritePaths(v any, dir string, slash bool) {
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			if s, ok := c.(string); ok && k == "file" {
				t[k] = joinRel(dir, s, slash)
				continue
			}
			rewritePaths(c, dir, slash)
		}
	case []any:
		for _, c := range t {
			rewritePaths(c, dir, slash)
		}
	}
}

func joinRel(dir, p string, slash bool) string {
	if p == "" || filepath.IsAbs(p) || path.IsAbs(p) {
		return p
	}
	if slash {
		return path.Join(dir, p)
	}
	return filepath.Join(dir, p)
}

// valuesLayer normalises Options.Values (nested or dotted keys) to a nested map.
func (l *loader) valuesLayer() map[string]any {
	// Flatten first: a map may mix nested tables and dotted keys for the same table.
	flat, _ := maps.Flatten(deepCopyMap(l.opts.Values), nil, ".")
	k := koanf.New(".")
	if err := k.Load(confmap.Provider(flat, "."), nil); err != nil {
		l.add("", OriginOverride, "cannot load override values: %v", err)
		return nil
	}
	m := k.Raw()
	l.nullProblems(dropNulls(m, nil), OriginOverride)
	return m
}

// flatLeaves lists the leaf paths of m: scalars, lists and empty tables.
func flatLeaves(m map[string]any, prefix string) map[string]struct{} {
	out := map[string]struct{}{}
	walkLeaves(m, prefix, func(p string) { out[p] = struct{}{} })
	return out
}

// walkLeaves calls f with the path of every leaf of m, in no order.
func walkLeaves(m map[string]any, prefix string, f func(string)) {
	for k, v := range m {
		p := joinPath(prefix, k)
		if c, ok := v.(map[string]any); ok && len(c) > 0 {
			walkLeaves(c, p, f)
			continue
		}
		f(p)
	}
}

func joinPath(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

var (
	secretType   = reflect.TypeFor[schema.Secret]()
	durationType = reflect.TypeFor[schema.Duration]()
	materialType = reflect.TypeFor[schema.MaterialSource]()
	secretSrc    = reflect.TypeFor[schema.SecretSource]()
)

// configToMap turns a Go Config into the nested map a file would have produced, leaving
// out zero values so that a Base layer does not shadow what it does not say.
func configToMap(c *schema.Config) map[string]any {
	m := map[string]any{}
	if d, ok := valueToMap(reflect.ValueOf(c.Defaults)).(map[string]any); ok && len(d) > 0 {
		m["defaults"] = d
	}
	if len(c.Profiles) > 0 {
		ps := map[string]any{}
		for name, p := range c.Profiles {
			if p == nil {
				continue
			}
			ps[name] = valueToMap(reflect.ValueOf(p))
		}
		m["profiles"] = ps
	}
	return m
}

func valueToMap(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		r := valueToMap(v.Elem())
		if r == nil && v.Elem().Kind() == reflect.Struct {
			// A present but empty table (tls = {}) means something: keep it.
			return map[string]any{}
		}
		return r
	case reflect.Struct:
		m := map[string]any{}
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("koanf"), ",")[0]
			if tag == "" || tag == "-" || !f.IsExported() {
				continue
			}
			if x := valueToMap(v.Field(i)); x != nil {
				m[tag] = x
			}
		}
		if len(m) == 0 {
			return nil
		}
		return m
	case reflect.Slice:
		if v.Len() == 0 {
			return nil
		}
		out := make([]any, 0, v.Len())
		for i := range v.Len() {
			x := valueToMap(v.Index(i))
			if x == nil {
				x = map[string]any{}
			}
			out = append(out, x)
		}
		return out
	case reflect.String:
		if v.Len() == 0 {
			return nil
		}
		if v.Type() == secretType {
			return v.Interface().(schema.Secret).Reveal()
		}
		return v.String()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.IsZero() {
			return nil
		}
		if v.Type() == durationType {
			return time.Duration(v.Int()).String()
		}
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if v.IsZero() {
			return nil
		}
		return v.Uint()
	case reflect.Bool:
		if !v.Bool() {
			return nil
		}
		return true
	}
	return nil
}
