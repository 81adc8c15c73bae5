package factory_test

import (
	"testing"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/pki"
)

// FuzzKeyStores: arbitrary bytes as a trust store and as a key store, with a password:
// never a panic (keystore-go allocates what a length field says: the factory checks the
// lengths first), never the password in an error.
//
//	go test -run '^$' -fuzz FuzzKeyStores -fuzztime 30s ./factory
func FuzzKeyStores(f *testing.F) {
	set, err := pki.NewSet()
	if err != nil {
		f.Fatal(err)
	}
	const pass = fuzzPassMarker + "store"
	trust, err := pki.JKSTrustStore(pass, set.Root)
	if err != nil {
		f.Fatal(err)
	}
	keys, err := pki.JKS(pass, pki.JKSEntry{Alias: "app", Leaf: set.Client}, pki.JKSEntry{Alias: "root", Cert: set.Root.Cert})
	if err != nil {
		f.Fatal(err)
	}
	trustP12, err := pki.PKCS12TrustStore(pass, set.Root)
	if err != nil {
		f.Fatal(err)
	}
	keysP12, err := set.Client.PKCS12(pass)
	if err != nil {
		f.Fatal(err)
	}
	for _, b := range [][]byte{trust, keys, trustP12, keysP12} {
		f.Add(b, pass, "")
		f.Add(b[:len(b)/2], pass, "app")
		f.Add(b, fuzzPassMarker+"wrong", "root")
	}
	f.Fuzz(func(t *testing.T, data []byte, password, alias string) {
		for _, sec := range []*schema.TLS{
			{TrustStore: &schema.TrustStore{Base64: b64(data), Password: &schema.SecretSource{Value: schema.Secret(password)}}},
			{CA: []schema.MaterialSource{{Base64: b64(set.Root.CertPEM())}},
				KeyStore: &schema.KeyStore{Base64: b64(data), Alias: alias, Password: &schema.SecretSource{Value: schema.Secret(password)}}},
		} {
			ct, _, err := factory.CompileTLS("profiles.p.tls", sec)
			if err == nil && ct == nil {
				t.Fatal("no error and no section")
			}
			checkNoPassphrase(t, err, password, data)
		}
	})
}
