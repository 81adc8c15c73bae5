package loaders

import (
	"errors"
	"fmt"
	isuggest "github.com/connfactory/connfactory/internal/suggest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-viper/mapstructure/v2"

	"github.com/connfactory/connfactory/schema"
)

var (
	materialListType = reflect.TypeFor[[]schema.MaterialSource]()
	stringSliceType  = reflect.TypeFor[[]string]()
	tlsVersionType   = reflect.TypeFor[schema.TLSVersion]()
	profileType      = reflect.TypeFor[schema.Profile]()
)

// materialForms is what a material source may be written as, for messages.
const materialForms = `expected {file=..} | {env=..} | {pem=..} | {base64=..} | {env_base64=..} or "system"`

// decoderConfig is koanf's decoder with our hooks first. A custom DecoderConfig drops
// koanf's own hooks, so TextUnmarshaler (durations) and weak typing (env strings) are added
// back explicitly.
func decoderConfig() *mapstructure.DecoderConfig {
	return &mapstructure.DecoderConfig{
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			secretHook,
			materialHook,
			materialListHook,
			stringSliceHook,
			tlsVersionHook,
			durationHook,
			mapstructure.TextUnmarshallerHookFunc(),
		),
		ErrorUnused:      true,
		WeaklyTypedInput: true,
		TagName:          "koanf",
		// Keys are matched exactly: `Backend` is a typo, not an alias.
		MatchName: func(mapKey, fieldName string) bool { return mapKey == fieldName },
	}
}

// secretForms is what a secret may be written as, for messages.
const secretForms = `expected a string, {value = ".."}, {env = ".."} or {file = ".."}`

// secretHook lets a secret be written as a plain string (the literal value). Only
// strings are secrets: any other type is an error, never converted (a YAML 0123 or a
// TOML datetime would silently become another secret, { value = true } would become
// "1"). Messages never repeat the value.
func secretHook(_, to reflect.Type, data any) (any, error) {
	if to != secretSrc && to != reflect.PointerTo(secretSrc) {
		return data, nil
	}
	switch d := data.(type) {
	case string:
		return map[string]any{"value": d}, nil
	case nil:
		return data, nil
	case map[string]any:
		for _, k := range []string{"value", "env", "file"} {
			if v, ok := d[k]; ok {
				if _, isString := v.(string); !isString {
					return nil, fmt.Errorf("%s: expected a string, got %s (only strings are secrets; quote it)", k, describeSecretValue(v))
				}
			}
		}
		return data, nil
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return nil, errors.New(secretForms + `, got a number: only strings are secrets (a number may lose digits or leading zeros): write it as a quoted string`)
	}
	return nil, fmt.Errorf("%s, got %s: only strings are secrets", secretForms, describeSecretValue(data))
}

// describeSecretValue is describeValue, naming dates as such (TOML and YAML parse
// unquoted dates and times).
func describeSecretValue(v any) string {
	switch v.(type) {
	case time.Time, *time.Time:
		return "a date/time"
	}
	if t := reflect.TypeOf(v); t != nil {
		switch t.Name() {
		case "LocalDate", "LocalTime", "LocalDateTime": // go-toml's local dates and times
			return "a date/time"
		}
	}
	return describeValue(v)
}

// materialHook lets a material source be written as "system".
func materialHook(_, to reflect.Type, data any) (any, error) {
	if to != materialType && to != reflect.PointerTo(materialType) {
		return data, nil
	}
	switch d := data.(type) {
	case map[string]any, nil:
		return data, nil
	case string:
		if strings.EqualFold(strings.TrimSpace(d), "system") {
			return map[string]any{"system": true}, nil
		}
		hint := `; to name a file write {file = "..."}`
		if strings.Contains(d, "-----BEGIN") {
			hint = `; to give PEM inline write {pem = "..."}`
		}
		// The string itself is not repeated: it may be a pasted key.
		return nil, errors.New(materialForms + ", got a string" + hint)
	default:
		return nil, fmt.Errorf("%s, got %s", materialForms, describeValue(d))
	}
}

// materialListHook lets ca and crl be one source instead of a list.
func materialListHook(_, to reflect.Type, data any) (any, error) {
	if to != materialListType {
		return data, nil
	}
	switch data.(type) {
	case map[string]any, string:
		return []any{data}, nil
	}
	return data, nil
}

// stringSliceHook splits a comma-separated string (the environment's list form).
func stringSliceHook(_, to reflect.Type, data any) (any, error) {
	s, ok := data.(string)
	if !ok || to != stringSliceType {
		return data, nil
	}
	return splitList(s, ","), nil
}

func splitList(s, seps string) []any {
	out := []any{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(seps, r) }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// tlsVersionHook turns `min_version = 1.2` (a float in TOML and YAML) into "1.2".
func tlsVersionHook(_, to reflect.Type, data any) (any, error) {
	if to != tlsVersionType {
		return data, nil
	}
	switch d := data.(type) {
	case float64:
		s := strconv.FormatFloat(d, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s, nil
	case float32:
		return tlsVersionHook(nil, to, float64(d))
	case int, int64, uint64:
		return fmt.Sprintf("%d.0", d), nil
	}
	return data, nil
}

// durationHook reads a bare number as seconds, as schema.Duration does for strings;
// without it mapstructure would read `timeout = 5` as five nanoseconds.
func durationHook(_, to reflect.Type, data any) (any, error) {
	if to != durationType {
		return data, nil
	}
	switch d := data.(type) {
	case int:
		return schema.Duration(time.Duration(d) * time.Second), nil
	case int64:
		return schema.Duration(time.Duration(d) * time.Second), nil
	case uint64:
		return schema.Duration(time.Duration(d) * time.Second), nil
	case float64:
		return schema.Duration(time.Duration(d * float64(time.Second))), nil
	}
	return data, nil
}

// decodeInto decodes a raw profile table with our decoder: what koanf's Unmarshal does,
// without its two reflective deep copies of the table (a third of a large load). The
// decoder only reads m. The fast decoder (fastdecode.go) takes the common forms;
// mapstructure the rest, and words every problem.
func decodeInto(m map[string]any, out *schema.Profile) error {
	if fastProfile(m, out) {
		return nil
	}
	*out = schema.Profile{}
	dc := decoderConfig()
	dc.Result = out
	d, err := mapstructure.NewDecoder(dc)
	if err != nil {
		return err
	}
	return d.Decode(m)
}

// fieldError is one decode failure at a path relative to the decoded table.
type fieldError struct {
	name string
	msg  string
}

// fieldErrors flattens mapstructure's error tree into one entry per failing field.
func fieldErrors(err error) []fieldError {
	var out []fieldError
	var walk func(error)
	walk = func(err error) {
		var de *mapstructure.DecodeError
		if errors.As(err, &de) && err == error(de) {
			var inner *mapstructure.DecodeError
			if errors.As(de.Unwrap(), &inner) {
				walk(de.Unwrap())
				return
			}
			out = append(out, fieldError{name: de.Name(), msg: decodeMessage(de.Unwrap())})
			return
		}
		if u, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range u.Unwrap() {
				walk(e)
			}
			return
		}
		if u := errors.Unwrap(err); u != nil {
			walk(u)
			return
		}
		out = append(out, fieldError{msg: err.Error()})
	}
	walk(err)
	return out
}

// decodeMessage words a mapstructure error for a user; values are never repeated.
func decodeMessage(err error) string {
	var ute *mapstructure.UnconvertibleTypeError
	if errors.As(err, &ute) {
		return fmt.Sprintf("expected %s, got %s", friendlyType(ute.Expected.Type()), describeValue(ute.Value))
	}
	var pe *mapstructure.ParseError
	if errors.As(err, &pe) {
		reason := pe.Err.Error()
		var ne *strconv.NumError
		if errors.As(pe.Err, &ne) {
			reason = ne.Err.Error()
		}
		return fmt.Sprintf("expected %s (%s)", friendlyType(pe.Expected.Type()), reason)
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "has invalid keys: "); ok {
		return "unknown keys " + rest
	}
	return msg
}

func friendlyType(t reflect.Type) string {
	switch t {
	case durationType:
		return `a duration such as "5s"`
	case tlsVersionType:
		return `a TLS version such as "1.2"`
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		return "a list"
	case reflect.Struct, reflect.Map, reflect.Pointer:
		return "a table"
	}
	return t.String()
}

// clean reports and removes, from a raw profile table (or [defaults]), every unknown key
// and every value that does not decode, so that a mistake is reported once where it was
// made and not again in every profile that inherits it.
func (l *loader) clean(m map[string]any, o map[string]string, path string) {
	l.unknownKeys(m, profileType, path, o, "")
	if v, ok := m["tls"].(map[string]any); ok {
		// Ciphers may be an OpenSSL colon string; only here, because hosts have colons.
		if s, ok := v["ciphers"].(string); ok {
			v["ciphers"] = splitList(s, ":,")
		}
	}
	err := decodeInto(m, &schema.Profile{})
	if err == nil {
		return
	}
	for _, fe := range fieldErrors(err) {
		p := joinPath(path, fe.name)
		l.add(p, originUnder(o, schema.ListFree(fe.name)), "%s", fe.msg)
		if fe.name != "" {
			deleteAt(m, o, strings.Split(schema.ListFree(fe.name), "."))
		}
	}
}

// decodeProfile decodes an already cleaned table; what still fails is reported.
func (l *loader) decodeProfile(m map[string]any, o map[string]string, path string, out *schema.Profile) {
	if v, ok := m["tls"].(map[string]any); ok {
		if s, ok := v["ciphers"].(string); ok {
			v["ciphers"] = splitList(s, ":,")
		}
	}
	if err := decodeInto(m, out); err != nil {
		for _, fe := range fieldErrors(err) {
			l.add(joinPath(path, fe.name), originUnder(o, schema.ListFree(fe.name)), "%s", fe.msg)
		}
	}
}

// deleteAt removes the value at segs, or the list holding it.
func deleteAt(m map[string]any, o map[string]string, segs []string) {
	cur := m
	for i, s := range segs {
		next, ok := cur[s].(map[string]any)
		if i == len(segs)-1 || !ok {
			delete(cur, s)
			dropOrigins(o, strings.Join(segs[:i+1], "."))
			return
		}
		cur = next
	}
}

// unknownKeys reports and removes keys that t (a schema struct) does not have, at any
// depth, with a did-you-mean suggestion.
func (l *loader) unknownKeys(m map[string]any, t reflect.Type, path string, o map[string]string, rel string) {
	fields := koanfFields(t)
	var names []string // for suggestions only
	unknown := 0
	for _, k := range sortedKeys(m) {
		p, r := joinPath(path, k), joinPath(rel, k)
		ft, ok := fields[k]
		if !ok {
			if names == nil {
				names = sortedKeys(fields)
			}
			// A typo gets its "did you mean"; a table of thousands of unknown keys is not
			// a typo, and the suggestions would be most of its cost.
			hint := ""
			if unknown++; unknown <= maxSuggestions {
				hint = suggest(k, names)
			}
			l.add(p, originUnder(o, r), "unknown key %q%s", k, hint)
			dropLeaves(o, m[k], r) // the value's own leaves: 40,000 unknown keys stay linear
			delete(m, k)
			continue
		}
		l.unknownIn(m[k], ft, p, o, r)
	}
}

func (l *loader) unknownIn(v any, ft reflect.Type, path string, o map[string]string, rel string) {
	for ft.Kind() == reflect.Pointer {
		ft = ft.Elem()
	}
	switch {
	case ft.Kind() == reflect.Struct:
		if vm, ok := v.(map[string]any); ok {
			l.unknownKeys(vm, ft, path, o, rel)
		}
	case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
		switch vv := v.(type) {
		case map[string]any:
			l.unknownKeys(vv, ft.Elem(), path, o, rel)
		case []any:
			for i, e := range vv {
				if em, ok := e.(map[string]any); ok {
					l.unknownKeys(em, ft.Elem(), fmt.Sprintf("%s[%d]", path, i), o, rel)
				}
			}
		}
	}
}

// fieldsCache holds koanfFields' answers: reflecting on a struct's tags for every table
// of every profile cost a tenth of a large load.
var fieldsCache sync.Map // reflect.Type -> map[string]reflect.Type

// koanfFields maps the koanf keys of struct t to their field types. The map is shared:
// callers must not modify it.
func koanfFields(t reflect.Type) map[string]reflect.Type {
	if f, ok := fieldsCache.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	f := reflectFields(t)
	fieldsCache.Store(t, f)
	return f
}

func reflectFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("koanf"), ",")[0]
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		out[tag] = f.Type
	}
	return out
}

// suggest returns `; did you mean "x"?` for the closest known name within edit distance 2.
// maxSuggestions is how many unknown keys of one table get a "did you mean".
const maxSuggestions = 100

func suggest(s string, known []string) string { return isuggest.DidYouMean(s, known) }

// problem builds a Problem; Source is the origin of the offending value.
func problem(path, source, format string, args ...any) schema.Problem {
	return schema.Problem{Path: path, Message: fmt.Sprintf(format, args...), Source: source}
}
