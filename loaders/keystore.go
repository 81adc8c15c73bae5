package loaders

import "github.com/connfactory/connfactory/schema"

// keyStores resolves t's Java key stores: their bytes as any other material source
// (file, base64, env_base64) and their passwords as any other secret.
func (r *resolver) keyStores(path string, t *schema.TLS) schema.Problems {
	var ps schema.Problems
	if ts := t.TrustStore; ts != nil {
		p := path + ".truststore"
		if ts.Password != nil {
			ps = append(ps, r.secret(p+".password", ts.Password)...)
		}
		ps = append(ps, r.store(p, ts.Source())...)
	}
	if ks := t.KeyStore; ks != nil {
		p := path + ".keystore"
		if ks.Password != nil {
			ps = append(ps, r.secret(p+".password", ks.Password)...)
		}
		if ks.KeyPassword != nil {
			ps = append(ps, r.secret(p+".key_password", ks.KeyPassword)...)
		}
		ps = append(ps, r.store(p, ks.Source())...)
	}
	return ps
}

// store resolves a key store's bytes.
func (r *resolver) store(path string, m *schema.MaterialSource) schema.Problems {
	if m.File == "" && m.Base64 == "" && m.EnvBase64 == "" {
		return schema.Problems{problem(path, r.origin(path), "no source given: expected one of file, base64 or env_base64")}
	}
	return r.material(path, m, false)
}
