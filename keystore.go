package connfactory

import "github.com/connfactory/connfactory/schema"

// keyStoreSources lists t's Java key stores as material sources, for Watch: the store's
// file, its password's file (as Passphrase) and the key password's file.
func keyStoreSources(t *schema.TLS) []*schema.MaterialSource {
	var out []*schema.MaterialSource
	if ts := t.TrustStore; ts != nil {
		m := ts.Source()
		m.Passphrase = ts.Password
		out = append(out, m)
	}
	if ks := t.KeyStore; ks != nil {
		m := ks.Source()
		m.Passphrase = ks.Password
		out = append(out, m, &schema.MaterialSource{Passphrase: ks.KeyPassword})
	}
	return out
}

// cloneKeyStores copies t's key stores deeply enough that resolving them (bytes and
// passwords) in the copy leaves t alone.
func cloneKeyStores(t *schema.TLS) (*schema.TrustStore, *schema.KeyStore) {
	var (
		ts *schema.TrustStore
		ks *schema.KeyStore
	)
	if t.TrustStore != nil {
		c := *t.TrustStore
		c.Password = cloneSecret(c.Password)
		ts = &c
	}
	if t.KeyStore != nil {
		c := *t.KeyStore
		c.Password, c.KeyPassword = cloneSecret(c.Password), cloneSecret(c.KeyPassword)
		ks = &c
	}
	return ts, ks
}

func cloneSecret(s *schema.SecretSource) *schema.SecretSource {
	if s == nil {
		return nil
	}
	c := *s
	return &c
}
