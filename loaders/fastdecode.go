package loaders

import (
	"encoding"
	"reflect"
	"time"

	"github.com/connfactory/connfactory/schema"
)

// The fast decoder decodes a raw profile table exactly as decodeInto's mapstructure
// decoder (decoderConfig: our hooks, exact key names, unknown keys refused) would, but
// only for the forms configurations are written in: strings into string fields, TOML/YAML
// integers, booleans, lists of strings, tables into the schema's structs, and the hooks'
// shorthands (a secret as a string, "system", one material source for a list, a
// comma-separated env list, a duration as a string or a number, a TLS version as a
// number). Anything else (an unknown key, a value of another type, a value a hook or a
// type refuses) makes it report false, and mapstructure decodes the table instead and
// words the problem. So it never accepts what mapstructure refuses, and what it accepts
// decodes to the same value (TestFastDecodeMatchesMapstructure). mapstructure cost a
// third of a large load's CPU and half of its allocations: it builds the field list of
// every struct for every value it decodes.
//
// A key the fast decoder does not know (a field added to the schema later) only sends
// that table to mapstructure; so does a schema string type that gains an UnmarshalText
// (mapstructure's TextUnmarshaler hook would call it): see fastDecodeSafe.

// fastDecodeSafe is false when a string type the fast decoder assigns directly has gained
// an UnmarshalText method, which mapstructure would call: then every table goes to
// mapstructure.
var fastDecodeSafe = func() bool {
	tu := reflect.TypeFor[encoding.TextUnmarshaler]()
	for _, t := range []reflect.Type{
		reflect.TypeFor[schema.Backend](), reflect.TypeFor[schema.Mechanism](),
		reflect.TypeFor[schema.TLSMode](), reflect.TypeFor[schema.TLSVersion](),
		reflect.TypeFor[schema.CRLStale](), reflect.TypeFor[schema.Secret](),
	} {
		if reflect.PointerTo(t).Implements(tu) {
			return false
		}
	}
	return true
}()

// fastProfile decodes m into p, which must be zero; false leaves p partly set.
func fastProfile(m map[string]any, p *schema.Profile) bool {
	if !fastDecodeSafe {
		return false
	}
	return fastFields(m, func(k string, v any) bool {
		switch k {
		case "backend":
			return fastString(v, &p.Backend)
		case "extends":
			return fastString(v, &p.Extends)
		case "hosts":
			return fastStrings(v, &p.Hosts)
		case "protocol_version":
			return fastInt(v, &p.ProtocolVersion)
		case "keyspace":
			return fastString(v, &p.Keyspace)
		case "local_datacenter":
			return fastString(v, &p.LocalDatacenter)
		case "consistency":
			return fastString(v, &p.Consistency)
		case "connect_timeout":
			return fastDuration(v, &p.ConnectTimeout)
		case "timeout":
			return fastDuration(v, &p.Timeout)
		case "auth":
			return fastPtr(v, &p.Auth, fastAuth)
		case "tls":
			return fastPtr(v, &p.TLS, fastTLS)
		case "pool":
			return fastPtr(v, &p.Pool, fastPool)
		}
		return false
	})
}

func fastAuth(m map[string]any, a *schema.Auth) bool {
	return fastFields(m, func(k string, v any) bool {
		switch k {
		case "mechanism":
			return fastString(v, &a.Mechanism)
		case "username":
			return fastString(v, &a.Username)
		case "password":
			return fastSecret(v, &a.Password)
		case "allowed_authenticators":
			return fastStrings(v, &a.AllowedAuthenticators)
		case "authorization_id":
			return fastString(v, &a.AuthorizationID)
		case "per_host":
			return fastPerHost(v, &a.PerHost)
		}
		return false
	})
}

func fastPerHost(v any, out *[]schema.HostCredentials) bool {
	l, ok := v.([]any)
	if !ok {
		return false
	}
	hs := make([]schema.HostCredentials, len(l))
	for i, e := range l {
		m, ok := e.(map[string]any)
		if !ok {
			return false
		}
		if !fastFields(m, func(k string, v any) bool {
			switch k {
			case "host":
				return fastString(v, &hs[i].Host)
			case "username":
				return fastString(v, &hs[i].Username)
			case "password":
				return fastSecret(v, &hs[i].Password)
			}
			return false
		}) {
			return false
		}
	}
	*out = hs
	return true
}

func fastTLS(m map[string]any, t *schema.TLS) bool {
	return fastFields(m, func(k string, v any) bool {
		switch k {
		case "mode":
			return fastString(v, &t.Mode)
		case "ca":
			return fastMaterialList(v, &t.CA)
		case "cert":
			return fastMaterialPtr(v, &t.Cert)
		case "key":
			return fastMaterialPtr(v, &t.Key)
		case "pkcs12":
			return fastMaterialPtr(v, &t.PKCS12)
		case "crl":
			return fastMaterialList(v, &t.CRL)
		case "crl_stale":
			return fastString(v, &t.CRLStale)
		case "ciphers":
			return fastStrings(v, &t.Ciphers)
		case "min_version":
			return fastTLSVersion(v, &t.MinVersion)
		case "max_version":
			return fastTLSVersion(v, &t.MaxVersion)
		case "server_name":
			return fastString(v, &t.ServerName)
		case "reload":
			return fastDuration(v, &t.Reload)
		case "allow_legacy_versions":
			return fastBool(v, &t.AllowLegacyVersions)
		case "allow_insecure_ciphers":
			return fastBool(v, &t.AllowInsecureCiphers)
		case "strict_key_permissions":
			return fastBool(v, &t.StrictKeyPermissions)
		}
		return false
	})
}

func fastPool(m map[string]any, p *schema.Pool) bool {
	return fastFields(m, func(k string, v any) bool {
		switch k {
		case "connections_per_host":
			return fastInt(v, &p.ConnectionsPerHost)
		case "max_connections_per_host":
			return fastInt(v, &p.MaxConnectionsPerHost)
		case "idle_timeout":
			return fastDuration(v, &p.IdleTimeout)
		}
		return false
	})
}

// fastFields calls field for each key and value of m, and is false as soon as one is:
// every table decoder's loop (a key field does not know is false too, so that
// mapstructure words it).
func fastFields(m map[string]any, field func(k string, v any) bool) bool {
	for k, v := range m {
		if !field(k, v) {
			return false
		}
	}
	return true
}

// fastPtr decodes a table into a new T (mapstructure allocates one even for an empty
// table).
func fastPtr[T any](v any, out **T, dec func(map[string]any, *T) bool) bool {
	m, ok := v.(map[string]any)
	if !ok || m == nil {
		return false
	}
	t := new(T)
	if !dec(m, t) {
		return false
	}
	*out = t
	return true
}

// fastSecret is secretHook's forms: a string is the literal value; a table holds strings.
func fastSecret(v any, out **schema.SecretSource) bool {
	s := &schema.SecretSource{}
	switch d := v.(type) {
	case string:
		s.Value = schema.Secret(d)
	case map[string]any:
		if d == nil || !fastSecretTable(d, s) {
			return false
		}
	default:
		return false
	}
	*out = s
	return true
}

func fastSecretTable(m map[string]any, s *schema.SecretSource) bool {
	return fastFields(m, func(k string, v any) bool {
		switch k {
		case "value":
			return fastString(v, &s.Value)
		case "env":
			return fastString(v, &s.Env)
		case "file":
			return fastString(v, &s.File)
		}
		return false
	})
}

// fastMaterialList is materialListHook's forms: one source, or a list of them.
func fastMaterialList(v any, out *[]schema.MaterialSource) bool {
	switch d := v.(type) {
	case map[string]any, string:
		ms := make([]schema.MaterialSource, 1)
		if !fastMaterial(d, &ms[0]) {
			return false
		}
		*out = ms
		return true
	case []any:
		ms := make([]schema.MaterialSource, len(d))
		for i, e := range d {
			if !fastMaterial(e, &ms[i]) {
				return false
			}
		}
		*out = ms
		return true
	}
	return false
}

func fastMaterialPtr(v any, out **schema.MaterialSource) bool {
	m := &schema.MaterialSource{}
	if !fastMaterial(v, m) {
		return false
	}
	*out = m
	return true
}

// fastMaterial is materialHook's forms: a table, or the string "system" (any other
// string is refused by the hook, with advice: left to mapstructure).
func fastMaterial(v any, m *schema.MaterialSource) bool {
	switch d := v.(type) {
	case string:
		c, err := materialHook(nil, materialType, d)
		if err != nil {
			return false
		}
		v = c
	}
	t, ok := v.(map[string]any)
	if !ok || t == nil {
		return false
	}
	return fastFields(t, func(k string, v any) bool {
		switch k {
		case "file":
			return fastString(v, &m.File)
		case "env":
			return fastString(v, &m.Env)
		case "pem":
			return fastString(v, &m.PEM)
		case "base64":
			return fastString(v, &m.Base64)
		case "env_base64":
			return fastString(v, &m.EnvBase64)
		case "system":
			return fastBool(v, &m.System)
		case "passphrase":
			return fastSecret(v, &m.Passphrase)
		}
		return false
	})
}

func fastString[T ~string](v any, out *T) bool {
	s, ok := v.(string)
	*out = T(s)
	return ok
}

// fastStrings is a list of strings, or stringSliceHook's comma-separated string. Like
// mapstructure, an empty list gives an empty (not nil) slice.
func fastStrings(v any, out *[]string) bool {
	if s, ok := v.(string); ok {
		v = splitList(s, ",")
	}
	l, ok := v.([]any)
	if !ok || l == nil {
		return false
	}
	ss := make([]string, len(l))
	for i, e := range l {
		if ss[i], ok = e.(string); !ok {
			return false
		}
	}
	*out = ss
	return true
}

func fastInt(v any, out *int) bool {
	switch d := v.(type) {
	case int:
		*out = d
	case int64:
		*out = int(d)
	default:
		return false
	}
	return true
}

func fastBool(v any, out *bool) bool {
	b, ok := v.(bool)
	*out = b
	return ok
}

// fastDuration is durationHook's numbers (seconds) and Duration's UnmarshalText.
func fastDuration(v any, out *schema.Duration) bool {
	switch d := v.(type) {
	case string:
		return out.UnmarshalText([]byte(d)) == nil
	case int:
		*out = schema.Duration(time.Duration(d) * time.Second)
	case int64:
		*out = schema.Duration(time.Duration(d) * time.Second)
	case uint64:
		*out = schema.Duration(time.Duration(d) * time.Second)
	case float64:
		*out = schema.Duration(time.Duration(d * float64(time.Second)))
	default:
		return false
	}
	return true
}

// fastTLSVersion is tlsVersionHook's numbers ("1.2" from 1.2) and strings.
func fastTLSVersion(v any, out *schema.TLSVersion) bool {
	c, err := tlsVersionHook(nil, tlsVersionType, v)
	if err != nil {
		return false
	}
	return fastString(c, out)
}
