package validate_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/validate"
)

// storeProfile is cass with its ca and client key pair from Java key stores.
func storeProfile() *schema.Profile {
	p := cass()
	p.TLS.CA, p.TLS.Cert, p.TLS.Key = nil, nil, nil
	p.TLS.TrustStore = &schema.TrustStore{File: "certs/truststore.jks", Password: &schema.SecretSource{Env: "TS_PW"}}
	p.TLS.KeyStore = &schema.KeyStore{File: "certs/client.p12", Password: &schema.SecretSource{Value: secretValue},
		Type: schema.KeyStorePKCS12, Alias: "app"}
	return p
}

func TestKeyStoreRules(t *testing.T) {
	require.Empty(t, validate.Profile("p", storeProfile(), nil))
	certRiak := func() *schema.Profile {
		p := riak()
		p.Auth = &schema.Auth{Mechanism: schema.MechanismCertificate, Username: "app"}
		p.TLS = &schema.TLS{KeyStore: &schema.KeyStore{EnvBase64: "CLIENT_JKS"}}
		return p
	}
	require.Empty(t, validate.Profile("p", certRiak(), nil), "a key store is a client certificate")

	cases := []ruleCase{
		{"truststore and ca", storeProfile, func(p *schema.Profile) { p.TLS.CA = []schema.MaterialSource{{File: "ca.pem"}} },
			"tls.truststore", "tls.truststore replaces tls.ca"},
		{"keystore and cert key", storeProfile, func(p *schema.Profile) {
			p.TLS.Cert, p.TLS.Key = &schema.MaterialSource{File: "c.pem"}, &schema.MaterialSource{File: "c.key"}
		}, "tls.keystore", "tls.keystore replaces tls.cert and tls.key"},
		{"keystore and pkcs12", storeProfile, func(p *schema.Profile) { p.TLS.PKCS12 = &schema.MaterialSource{File: "c.p12"} },
			"tls.keystore", "tls.keystore replaces tls.pkcs12"},
		{"two sources", storeProfile, func(p *schema.Profile) { p.TLS.TrustStore.Base64 = secretValue },
			"tls.truststore", "set only one of file, base64 or env_base64 (found file, base64)"},
		{"no source", storeProfile, func(p *schema.Profile) { p.TLS.KeyStore.File = "" },
			"tls.keystore", "source is empty: set one of file, base64 or env_base64"},
		{"unknown type", storeProfile, func(p *schema.Profile) { p.TLS.KeyStore.Type = "JCEKS" },
			"tls.keystore.type", `type "JCEKS" is not accepted: accepted jks, pkcs12`},
		{"password two sources", storeProfile, func(p *schema.Profile) { p.TLS.TrustStore.Password.File = "pw" },
			"tls.truststore.password", "set only one of value, env or file"},
		{"key password empty", storeProfile, func(p *schema.Profile) { p.TLS.KeyStore.KeyPassword = &schema.SecretSource{} },
			"tls.keystore.key_password", "secret is empty"},
		{"blank alias", storeProfile, func(p *schema.Profile) { p.TLS.KeyStore.Alias = "  " },
			"tls.keystore.alias", "alias is blank"},
		{"disable with truststore", storeProfile, func(p *schema.Profile) {
			p.TLS = &schema.TLS{Mode: schema.TLSDisable, TrustStore: p.TLS.TrustStore}
		}, "tls.truststore", "tls.mode is disable but tls.truststore is set"},
		{"disable with keystore", storeProfile, func(p *schema.Profile) {
			p.TLS = &schema.TLS{Mode: schema.TLSDisable, KeyStore: p.TLS.KeyStore}
		}, "tls.keystore", "tls.mode is disable but tls.keystore is set"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := c.base()
			c.mutate(p)
			ps := validate.Profile("p", p, nil)
			require.Len(t, ps, 1, "problems: %v", ps)
			require.Equal(t, "profiles.p."+c.path, ps[0].Path)
			require.Contains(t, ps[0].Message, c.msg)
			require.NotContains(t, ps.Error(), secretValue)
		})
	}
}
