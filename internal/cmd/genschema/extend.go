package main

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/invopop/jsonschema"

	"github.com/connfactory/connfactory/schema"
)

// extend adds to the reflected schema what reflection cannot see: the accepted values of
// the enumerated keys (from schema's lists), the pool bounds, the profile-name rule and
// the shorthand forms the loaders accept.
func extend(s *jsonschema.Schema) error {
	defs := s.Definitions
	for _, e := range []struct {
		def, key string
		values   []any
	}{
		{"Profile", "backend", anys(schema.Backends)},
		{"Profile", "protocol_version", anys(schema.ProtocolVersions)},
		{"Profile", "consistency", anys(schema.Consistencies)},
		{"Auth", "mechanism", anys(schema.Mechanisms)},
		{"TLS", "mode", anys(schema.TLSModes)},
		{"TLS", "crl_stale", anys(schema.CRLStales)},
		{"TLS", "min_version", versions()},
		{"TLS", "max_version", versions()},
		{"TrustStore", "type", anys(schema.KeyStoreTypes)},
		{"KeyStore", "type", anys(schema.KeyStoreTypes)},
	} {
		p, err := property(defs, e.def, e.key)
		if err != nil {
			return err
		}
		p.Enum = e.values
	}
	for _, key := range []string{"connections_per_host", "max_connections_per_host"} {
		p, err := property(defs, "Pool", key)
		if err != nil {
			return err
		}
		p.Minimum, p.Maximum = json.Number("1"), json.Number(strconv.Itoa(schema.MaxPoolConnections))
	}
	if p, ok := s.Properties.Get("profiles"); ok {
		p.PropertyNames = &jsonschema.Schema{Type: "string", Pattern: schema.ProfileNamePattern}
	}
	extendSecretSource(defs["SecretSource"])
	extendMaterialSource(defs["MaterialSource"])
	extendTLS(defs["TLS"])
	// A key store's bytes come from exactly one of file, base64 or env_base64.
	for _, def := range []string{"TrustStore", "KeyStore"} {
		defs[def].OneOf = requireOneOf("file", "base64", "env_base64")
	}
	return nil
}

// property is the schema of key in definition def.
func property(defs jsonschema.Definitions, def, key string) (*jsonschema.Schema, error) {
	d, ok := defs[def]
	if !ok {
		return nil, fmt.Errorf("genschema: no definition %s", def)
	}
	p, ok := d.Properties.Get(key)
	if !ok {
		return nil, fmt.Errorf("genschema: %s has no key %s", def, key)
	}
	return p, nil
}

func anys[T any](vs []T) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

// versions are the TLS version names, as strings and as numbers: `min_version = 1.2` is
// a float in TOML and YAML, and the loaders accept it.
func versions() []any {
	var out []any
	for _, v := range schema.TLSVersionNames {
		out = append(out, v)
	}
	for _, v := range schema.TLSVersionNames {
		out = append(out, json.Number(v))
	}
	return out
}

// extendSecretSource lets a secret be a plain string (the literal value) or a table with
// exactly one of value, env or file.
func extendSecretSource(s *jsonschema.Schema) {
	obj := *s
	obj.Description = ""
	minProps := uint64(1)
	obj.MinProperties = &minProps
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

// extendMaterialSource lets a material source be the string "system" or a table with
// exactly one source key (passphrase may accompany it).
func extendMaterialSource(s *jsonschema.Schema) {
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

// extendTLS lets ca and crl be one source or a list, and ciphers a list or a
// colon-separated string.
func extendTLS(s *jsonschema.Schema) {
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
		}
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
