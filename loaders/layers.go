package loaders

import (
	"bytes"
	"encoding/base64"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/knadh/koanf/maps"
	"github.com/knadh/koanf/parsers/json"
	"github.com/knadh/koanf/parsers/toml/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
	gotoml "github.com/pelletier/go-toml/v2"

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
	var parser koanf.Parser
	format := ""
	switch strings.ToLower(filepath.Ext(name)) {
	case ".toml":
		parser, format = toml.Parser(), "TOML"
	case ".yaml", ".yml":
		parser, format = yaml.Parser(), "YAML"
	case ".json":
		parser, format = json.Parser(), "JSON"
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
	k := koanf.New(".")
	if err := k.Load(rawbytes.Provider(b), parser); err != nil {
		l.add("", "", "%s: malformed %s: %s", name, format, parseErrorMessage(err, b))
		return nil
	}
	m := k.Raw()
	dir := filepath.Dir(name)
	if l.opts.FS != nil {
		dir = path.Dir(filepath.ToSlash(name))
	}
	for _, top := range []string{"defaults", "profiles"} {
		rewritePaths(m[top], dir, l.opts.FS != nil)
	}
	return m
}

// parseErrorMessage makes a parser error say where (line, column) the problem is.
func parseErrorMessage(err error, b []byte) string {
	var tde *gotoml.DecodeError
	if errors.As(err, &tde) {
		row, col := tde.Position()
		return fmt.Sprintf("line %d, column %d: %s", row, col, strings.TrimPrefix(tde.Error(), "toml: "))
	}
	var se *stdjson.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("line %d: %s", lineOf(b, se.Offset), se.Error())
	}
	var ute *stdjson.UnmarshalTypeError
	if errors.As(err, &ute) {
		return fmt.Sprintf("line %d: the document must be an object, not %s", lineOf(b, ute.Offset), ute.Value)
	}
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = strings.ReplaceAll(strings.ReplaceAll(msg, ":\n  ", ": "), "\n  ", "; ")
	if !strings.Contains(msg, "line ") {
		// YAML errors without a position (rare): still say it.
		return msg + " (line unknown)"
	}
	return msg
}

func lineOf(b []byte, off int64) int {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	return bytes.Count(b[:off], []byte("\n")) + 1
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
	return k.Raw()
}

// envLayer reads the prefixed environment: prefix stripped, lowercased, "__" nests.
func (l *loader) envLayer() (map[string]any, map[string]string) {
	prefix := l.opts.EnvPrefix
	if prefix == "" {
		prefix = DefaultEnvPrefix
	}
	environ := l.opts.Environ
	if environ == nil {
		environ = os.Environ()
	}
	names := map[string]string{} // koanf key -> variable name
	k := koanf.New(".")
	err := k.Load(env.Provider(".", env.Opt{
		Prefix:      prefix,
		EnvironFunc: func() []string { return environ },
		TransformFunc: func(name, value string) (string, any) {
			rest := strings.TrimPrefix(name, prefix)
			if !strings.Contains(rest, "__") {
				// CONNFACTORY_CONFIG and friends: not configuration keys (every key is at
				// least two levels deep).
				return "", nil
			}
			segs := strings.Split(strings.ToLower(rest), "__")
			for _, s := range segs {
				if s == "" || strings.Contains(s, ".") {
					l.add("", "env "+name, "environment variable %s: malformed name (segments are separated by exactly two underscores)", name)
					return "", nil
				}
			}
			key := strings.Join(segs, ".")
			names[key] = name
			return key, value
		},
	}), nil)
	if err != nil {
		l.add("", "env", "cannot read the environment: %v", err)
		return nil, nil
	}
	m := k.Raw()
	o := map[string]string{}
	for key := range flatLeaves(m, "") {
		if n, ok := names[key]; ok {
			o[key] = "env " + n
		} else {
			o[key] = "env " + prefix + strings.ToUpper(strings.ReplaceAll(key, ".", "__"))
		}
	}
	return m, o
}

// constOrigin gives every leaf of m the same origin.
func constOrigin(m map[string]any, origin string) map[string]string {
	o := map[string]string{}
	for k := range flatLeaves(m, "") {
		o[k] = origin
	}
	return o
}

// flatLeaves lists the leaf paths of m: scalars, lists and empty tables.
func flatLeaves(m map[string]any, prefix string) map[string]struct{} {
	out := map[string]struct{}{}
	var walk func(m map[string]any, prefix string)
	walk = func(m map[string]any, prefix string) {
		for k, v := range m {
			p := joinPath(prefix, k)
			if c, ok := v.(map[string]any); ok && len(c) > 0 {
				walk(c, p)
				continue
			}
			out[p] = struct{}{}
		}
	}
	walk(m, prefix)
	return out
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
// out zero values so that a Base layer does not shadow what it does not say. Resolved
// secrets and material given only as bytes are carried as literal values.
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
		switch t {
		case materialType:
			ms := v.Interface().(schema.MaterialSource)
			if len(m) == 0 || (len(m) == 1 && m["passphrase"] != nil) {
				if len(ms.Data) > 0 {
					m["base64"] = base64.StdEncoding.EncodeToString(ms.Data)
				}
			}
		case secretSrc:
			ss := v.Interface().(schema.SecretSource)
			if len(m) == 0 && ss.IsResolved {
				m["value"] = ss.Resolved.Reveal()
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
