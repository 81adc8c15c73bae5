package schema

import (
	"bytes"
	_ "embed" // the generated schema ships inside the binary
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/invopop/jsonschema"
)

// JSONSchemaID is the $id of connfactory's JSON Schema.
const JSONSchemaID = "https://github.com/connfactory/connfactory/schema/connfactory.schema.json"

// The schema is generated from these types by GenerateJSONSchema and checked in, because
// its descriptions come from the doc comments, which only exist where the source does: an
// installed CLI run from any directory must still print the documented schema.
// TestSchemaUpToDate fails when the checked-in file is stale.
//
//go:embed connfactory.schema.json
var embeddedSchema []byte

// JSONSchema returns the JSON Schema (draft 2020-12) of a configuration file: the keys
// of Config, Profile and their parts, with the doc comments as descriptions.
func JSONSchema() ([]byte, error) {
	if !json.Valid(embeddedSchema) {
		return nil, errors.New("schema: the embedded connfactory.schema.json is not JSON: regenerate it")
	}
	return bytes.Clone(embeddedSchema), nil
}

// GenerateJSONSchema reflects the JSON Schema from the types. sourceDir is the directory
// of this package's Go source, whose doc comments become descriptions; with "" the schema
// has none. JSONSchema returns the checked-in result of GenerateJSONSchema(".") run in
// this directory.
func GenerateJSONSchema(sourceDir string) ([]byte, error) {
	r := &jsonschema.Reflector{
		FieldNameTag: "koanf",
		// Nothing is required by the schema itself: backend and hosts may come from
		// [defaults] or an extended profile, which only the loaders can see.
		RequiredFromJSONSchemaTags: true,
		ExpandedStruct:             true,
	}
	if sourceDir != "" {
		pkg := reflect.TypeFor[Config]().PkgPath()
		if err := r.AddGoComments(pkg, sourceDir, jsonschema.WithFullComment()); err != nil {
			return nil, fmt.Errorf("schema: reading doc comments from %s: %w", sourceDir, err)
		}
		for k, v := range r.CommentMap {
			r.CommentMap[k] = unwrap(v)
		}
	}
	s := r.Reflect(&Config{})
	s.ID = JSONSchemaID
	s.Title = "connfactory configuration"
	out, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	return append(out, '\n'), nil
}

// unwrap joins the lines of a doc comment's paragraphs, which were wrapped for source
// code, not for an editor's hover; paragraph breaks and indented examples stay.
func unwrap(doc string) string {
	var b strings.Builder
	prev := ""
	for i, line := range strings.Split(strings.TrimSpace(doc), "\n") {
		switch {
		case i == 0:
		case line == "" || prev == "" || strings.HasPrefix(line, "\t") || strings.HasPrefix(prev, "\t"):
			b.WriteByte('\n')
		default:
			b.WriteByte(' ')
		}
		b.WriteString(line)
		prev = line
	}
	return b.String()
}

// durationPattern is a Go duration ("1m30s", "250ms") or a bare number of seconds.
const durationPattern = `^([0-9]+|([0-9]*(\.[0-9]*)?(ns|us|µs|μs|ms|s|m|h))+)$`

// JSONSchema describes a Duration as written: a Go duration string, or a number of
// seconds.
func (Duration) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Description: `A Go duration such as "5s", "250ms" or "1m30s"; a bare number is seconds.`,
		OneOf: []*jsonschema.Schema{
			{Type: "string", Pattern: durationPattern},
			{Type: "number", Minimum: json.Number("0")},
		},
	}
}

// JSONSchemaExtend lets a secret be a plain string (the literal value) or a table with
// exactly one of value, env or file.
func (SecretSource) JSONSchemaExtend(s *jsonschema.Schema) {
	obj := *s
	obj.Description = ""
	obj.MinProperties = ptr[uint64](1)
	obj.OneOf = requireOneOf("value", "env", "file")
	*s = jsonschema.Schema{
		Description: s.Description,
		OneOf: []*jsonschema.Schema{
			{Type: "string", Description: "The literal secret."},
			{Type: "integer", Description: "A literal secret of digits."},
			&obj,
		},
	}
}

// JSONSchemaExtend lets a material source be the string "system" or a table with exactly
// one source key (passphrase may accompany it).
func (MaterialSource) JSONSchemaExtend(s *jsonschema.Schema) {
	obj := *s
	obj.Description = ""
	obj.OneOf = requireOneOf("file", "env", "pem", "base64", "env_base64", "system")
	*s = jsonschema.Schema{
		Description: s.Description,
		OneOf: []*jsonschema.Schema{
			{Const: "system", Description: "The operating system's trust store (CA only)."},
			&obj,
		},
	}
}

// JSONSchemaExtend lets ca and crl be one source or a list, ciphers a list or a
// colon-separated string, and TLS versions be written as numbers too (`min_version = 1.2`
// is a float in TOML and YAML, and the loaders accept it).
func (TLS) JSONSchemaExtend(s *jsonschema.Schema) {
	for _, key := range []string{"ca", "crl"} {
		if p, ok := s.Properties.Get(key); ok {
			one := *p.Items
			*p = jsonschema.Schema{
				Description: p.Description,
				OneOf:       []*jsonschema.Schema{&one, {Type: "array", Items: p.Items}},
			}
		}
	}
	if p, ok := s.Properties.Get("ciphers"); ok {
		*p = jsonschema.Schema{
			Description: p.Description,
			OneOf:       []*jsonschema.Schema{{Type: "string"}, {Type: "array", Items: p.Items}},
		}
	}
	for _, key := range []string{"min_version", "max_version"} {
		if p, ok := s.Properties.Get(key); ok {
			p.Type = ""
			for _, v := range TLSVersionNames {
				p.Enum = append(p.Enum, json.Number(v))
			}
		}
	}
}

// JSONSchemaExtend restricts profile names to what survives environment variable names.
func (Config) JSONSchemaExtend(s *jsonschema.Schema) {
	if p, ok := s.Properties.Get("profiles"); ok {
		p.PropertyNames = &jsonschema.Schema{Type: "string", Pattern: "^[a-z0-9_]+$"}
	}
}

// requireOneOf says exactly one of keys is present.
func requireOneOf(keys ...string) []*jsonschema.Schema {
	out := make([]*jsonschema.Schema, len(keys))
	for i, k := range keys {
		out[i] = &jsonschema.Schema{Required: []string{k}}
	}
	return out
}

func ptr[T any](v T) *T { return &v }
