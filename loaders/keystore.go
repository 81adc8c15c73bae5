package loaders

import (
	"encoding/base64"
	"reflect"

	"github.com/connfactory/connfactory/schema"
)

var (
	trustStoreType = reflect.TypeFor[schema.TrustStore]()
	keyStoreType   = reflect.TypeFor[schema.KeyStore]()
)

// storeBytesToMap carries a Go value's store given only as bytes (Data) into a layer as
// inline base64, as configToMap does for material sources.
func storeBytesToMap(m map[string]any, data []byte) {
	if m["file"] == nil && m["base64"] == nil && m["env_base64"] == nil && len(data) > 0 {
		m["base64"] = base64.StdEncoding.EncodeToString(data)
	}
}

// keyStores resolves t's Java key stores: their bytes as any other material source
// (file, base64, env_base64) and their passwords as any other secret.
func (r *resolver) keyStores(path string, t *schema.TLS) schema.Problems {
	var ps schema.Problems
	if ts := t.TrustStore; ts != nil {
		p := path + ".truststore"
		if ts.Password != nil {
			ps = append(ps, r.secret(p+".password", ts.Password)...)
		}
		m := ts.Source()
		ps = append(ps, r.store(p, m)...)
		ts.SetSource(m)
	}
	if ks := t.KeyStore; ks != nil {
		p := path + ".keystore"
		if ks.Password != nil {
			ps = append(ps, r.secret(p+".password", ks.Password)...)
		}
		if ks.KeyPassword != nil {
			ps = append(ps, r.secret(p+".key_password", ks.KeyPassword)...)
		}
		m := ks.Source()
		ps = append(ps, r.store(p, m)...)
		ks.SetSource(m)
	}
	return ps
}

// store resolves a key store's bytes. Bytes already given by a Go program (no source
// named) are kept.
func (r *resolver) store(path string, m *schema.MaterialSource) schema.Problems {
	if m.File == "" && m.Base64 == "" && m.EnvBase64 == "" && len(m.Data) == 0 {
		return schema.Problems{problem(path, r.origin(path), "no source given: expected one of file, base64 or env_base64")}
	}
	return r.material(path, m, false)
}
