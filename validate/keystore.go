package validate

import (
	"slices"
	"strings"

	"github.com/connfactory/connfactory/schema"
)

// keyStoreRules checks tls.truststore and tls.keystore: one bytes source each, a known
// type, and neither next to what it replaces (ca; cert, key, pkcs12).
func keyStoreRules(r reporter, t schema.TLS) {
	if ts := t.TrustStore; ts != nil {
		storeRules(r, "truststore", ts.Source(), ts.Type)
		secretRules(r, "truststore.password", ts.Password)
		if len(t.CA) > 0 {
			r.at("truststore", "tls.truststore replaces tls.ca: set one or the other")
		}
	}
	if ks := t.KeyStore; ks != nil {
		storeRules(r, "keystore", ks.Source(), ks.Type)
		secretRules(r, "keystore.password", ks.Password)
		secretRules(r, "keystore.key_password", ks.KeyPassword)
		if ks.Alias != "" && strings.TrimSpace(ks.Alias) == "" {
			r.at("keystore.alias", "alias is blank: name the private key entry, or leave alias out")
		}
		var with []string
		for _, s := range []struct {
			key string
			set bool
		}{{"cert", t.Cert != nil}, {"key", t.Key != nil}, {"pkcs12", t.PKCS12 != nil}} {
			if s.set {
				with = append(with, "tls."+s.key)
			}
		}
		if len(with) > 0 {
			r.at("keystore", "tls.keystore replaces %s: set one or the other", strings.Join(with, " and "))
		}
	}
}

// storeRules checks that a key store names exactly one bytes source and a known type.
func storeRules(r reporter, key string, m *schema.MaterialSource, typ schema.KeyStoreType) {
	set := setKeys(map[string]bool{"file": m.File != "", "base64": m.Base64 != "", "env_base64": m.EnvBase64 != ""},
		"file", "base64", "env_base64")
	switch {
	case len(set) > 1:
		r.at(key, "set only one of file, base64 or env_base64 (found %s)", strings.Join(set, ", "))
	case len(set) == 0:
		r.at(key, "source is empty: set one of file, base64 or env_base64")
	}
	if typ != "" && !slices.Contains(schema.KeyStoreTypes, typ) {
		r.at(key+".type", "type %q is not accepted: accepted %s, or leave type out to detect it from the content", string(typ), join(schema.KeyStoreTypes))
	}
}
