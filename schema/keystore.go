package schema

import "fmt"

// KeyStoreType is the format of a Java key store.
type KeyStoreType string

// The key store formats.
const (
	// KeyStoreJKS is Java's own format (magic 0xFEEDFEED), the JDK's default before 9.
	KeyStoreJKS KeyStoreType = "jks"
	// KeyStorePKCS12 is PKCS#12 (.p12 / .pfx), the JDK's default since 9.
	KeyStorePKCS12 KeyStoreType = "pkcs12"
)

// KeyStoreTypes lists the accepted key store types, for messages.
var KeyStoreTypes = []KeyStoreType{KeyStoreJKS, KeyStorePKCS12}

// TrustStore is a Java trust store (JKS or PKCS#12): the trusted CA certificates, instead of
// tls.ca. The names are Java's (javax.net.ssl.trustStore, trustStorePassword,
// trustStoreType), so the Java driver's truststore-path / truststore-password and
// Cassandra's truststore / truststore_password map one to one. Exactly one of file, base64
// or env_base64 gives the bytes.
//
//	truststore = { file = "certs/truststore.jks", password = { env = "TRUSTSTORE_PASSWORD" } }
type TrustStore struct {
	// File is the path of the store, relative to the configuration file that names it (from
	// the environment: to the working directory).
	File string `koanf:"file" json:"file,omitempty" yaml:"file,omitempty" toml:"file,omitempty"`
	// Base64 is the whole store inline, base64-encoded. Treated as a secret: never printed.
	Base64 Secret `koanf:"base64" json:"base64,omitempty" yaml:"base64,omitempty" toml:"base64,omitempty"`
	// EnvBase64 names an environment variable holding the store, base64-encoded.
	EnvBase64 string `koanf:"env_base64" json:"env_base64,omitempty" yaml:"env_base64,omitempty" toml:"env_base64,omitempty"`
	// Password checks the store's integrity (JKS keyed digest, PKCS#12 MAC): a literal,
	// {env = ..} or {file = ..}. Absent: the empty password. Java reads a trust store
	// without a password by skipping that check; connfactory always checks it.
	Password *SecretSource `koanf:"password" json:"password,omitempty" yaml:"password,omitempty" toml:"password,omitempty"`
	// Type is "jks" or "pkcs12". Absent: detected from the content.
	Type KeyStoreType `koanf:"type" json:"type,omitempty" yaml:"type,omitempty" toml:"type,omitempty"`
}

// KeyStore is a Java key store (JKS or PKCS#12) holding the client's private key and
// certificate chain, instead of tls.cert + tls.key or tls.pkcs12. The names are Java's
// (javax.net.ssl.keyStore, keyStorePassword, keyStoreType, the key's alias and password),
// so the Java driver's keystore-path / keystore-password and Cassandra's keystore /
// keystore_password map one to one.
//
//	keystore = { file = "certs/client.jks", password = { env = "KEYSTORE_PASSWORD" }, alias = "app" }
type KeyStore struct {
	// File is the path of the store, relative to the configuration file that names it (from
	// the environment: to the working directory).
	File string `koanf:"file" json:"file,omitempty" yaml:"file,omitempty" toml:"file,omitempty"`
	// Base64 is the whole store inline, base64-encoded. Treated as a secret: never printed.
	Base64 Secret `koanf:"base64" json:"base64,omitempty" yaml:"base64,omitempty" toml:"base64,omitempty"`
	// EnvBase64 names an environment variable holding the store, base64-encoded.
	EnvBase64 string `koanf:"env_base64" json:"env_base64,omitempty" yaml:"env_base64,omitempty" toml:"env_base64,omitempty"`
	// Password checks the store's integrity and, unless key_password is given, decrypts
	// the private key: a literal, {env = ..} or {file = ..}. Absent: the empty password.
	Password *SecretSource `koanf:"password" json:"password,omitempty" yaml:"password,omitempty" toml:"password,omitempty"`
	// Type is "jks" or "pkcs12". Absent: detected from the content.
	Type KeyStoreType `koanf:"type" json:"type,omitempty" yaml:"type,omitempty" toml:"type,omitempty"`
	// Alias names the private key entry to use (case-insensitive, as Java's stores
	// compare aliases). Absent: the store's only private key entry; a store with several
	// needs an alias.
	Alias string `koanf:"alias" json:"alias,omitempty" yaml:"alias,omitempty" toml:"alias,omitempty"`
	// KeyPassword decrypts the private key entry when it differs from the store's password
	// (JKS only: a PKCS#12 store has one password). Absent: password, as Java does.
	KeyPassword *SecretSource `koanf:"key_password" json:"key_password,omitempty" yaml:"key_password,omitempty" toml:"key_password,omitempty"`
}

// Source returns t's bytes source as a MaterialSource (file, base64 or env_base64), so
// that loaders and the factory treat it like any other.
func (t *TrustStore) Source() *MaterialSource {
	return &MaterialSource{File: t.File, Base64: t.Base64, EnvBase64: t.EnvBase64}
}

// Source returns k's bytes source as a MaterialSource, see TrustStore.Source.
func (k *KeyStore) Source() *MaterialSource {
	return &MaterialSource{File: k.File, Base64: k.Base64, EnvBase64: k.EnvBase64}
}

// EffectiveKeyPassword is the secret that decrypts the private key: key_password, else
// the store's password (Java's default).
func (k *KeyStore) EffectiveKeyPassword() *SecretSource {
	if k.KeyPassword != nil {
		return k.KeyPassword
	}
	return k.Password
}

// The store types point to secrets: they print as %v whatever the verb (see Auth.Format).
type (
	plainTrustStore TrustStore
	plainKeyStore   KeyStore
)

// Format prints t as %v (or %+v, %#v) does, for every verb.
func (t TrustStore) Format(f fmt.State, _ rune) { formatPlain(f, "TrustStore", plainTrustStore(t)) }

// Format prints k as %v (or %+v, %#v) does, for every verb.
func (k KeyStore) Format(f fmt.State, _ rune) { formatPlain(f, "KeyStore", plainKeyStore(k)) }
