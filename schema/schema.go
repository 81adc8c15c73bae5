// Package schema holds connfactory's profile types: what a configuration file, a set of
// environment variables or a Go program can say about a connection. The doc comments on the
// fields are the user documentation; the keys are the `koanf` tags.
//
// The package imports nothing else of connfactory's, and nothing outside the standard
// library: loaders fill these types, validate checks them and factory compiles them, in
// that order. The rules every layer shares are written here once: ParseHost, the accepted
// values of each enumerated key (Backends, Mechanisms and MechanismsFor, TLSModes,
// CRLStales, Consistencies, ProtocolVersions, TLSVersions), the profile-name rule
// (ValidProfileName) and the walks over material and secret sources (TLS.Sources,
// Auth.Secrets).
package schema

// Built-in defaults, applied under `[defaults]` and every profile.
const (
	// DefaultCassandraPort is the port of a Cassandra host given without one.
	DefaultCassandraPort = 9042
	// DefaultRiakPort is the port of a Riak host given without one (Protocol Buffers).
	DefaultRiakPort = 8087
	// DefaultConnectTimeout bounds TCP + TLS + auth of one connection.
	DefaultConnectTimeout = "5s"
	// DefaultTimeout bounds one request.
	DefaultTimeout = "2s"
	// DefaultPasswordAuthenticator is the only authenticator class a Cassandra password
	// profile accepts unless `auth.allowed_authenticators` says otherwise.
	DefaultPasswordAuthenticator = "org.apache.cassandra.auth.PasswordAuthenticator"
)

// Config is a whole configuration: shared defaults and named profiles.
type Config struct {
	// Defaults are merged under every profile; the profile's own keys win. Every profile key
	// may appear here (`backend` and `hosts` too), but no profile is made of it.
	Defaults Profile `koanf:"defaults" json:"defaults,omitzero" yaml:"defaults,omitempty" toml:"defaults,omitempty"`
	// Profiles are the named connections. Names are lowercase `[a-z0-9_]`, so that they
	// survive the round trip through environment variable names.
	Profiles map[string]*Profile `koanf:"profiles" json:"profiles,omitempty" yaml:"profiles,omitempty" toml:"profiles,omitempty"`

	// Origins says where each value came from, by dotted config path (`profiles.x.hosts`):
	// a file name, an environment variable name or "default". Loaders fill it; errors and
	// `show --origins` read it. Nil for a Config built in Go.
	Origins Origins `koanf:"-" json:"-" yaml:"-" toml:"-"`
}

// Profile describes one connection: which backend, where, and how it authenticates and
// encrypts.
type Profile struct {
	// Backend is the database: "cassandra" or "riak". Required.
	Backend Backend `koanf:"backend" json:"backend,omitempty" yaml:"backend,omitempty" toml:"backend,omitempty"`
	// Extends names another profile whose keys this one inherits (its own keys win).
	// Chains are followed; a cycle is an error.
	Extends string `koanf:"extends" json:"extends,omitempty" yaml:"extends,omitempty" toml:"extends,omitempty"`
	// Hosts are `host[:port]` entries (IPv6 as `[::1]:9042`). The port defaults to 9042 for
	// Cassandra and 8087 for Riak. Required, at least one. From the environment: a
	// comma-separated list.
	Hosts []string `koanf:"hosts" json:"hosts,omitempty" yaml:"hosts,omitempty" toml:"hosts,omitempty"`
	// ProtocolVersion is the CQL native protocol version (Cassandra only): 0 negotiates
	// (the default), else 3, 4 or 5. Versions 1 and 2 are refused: the Go driver starts at 3
	// (Cassandra 2.1).
	ProtocolVersion int `koanf:"protocol_version" json:"protocol_version,omitempty" yaml:"protocol_version,omitempty" toml:"protocol_version,omitempty"`
	// Keyspace is the Cassandra keyspace a session uses. Empty: none.
	Keyspace string `koanf:"keyspace" json:"keyspace,omitempty" yaml:"keyspace,omitempty" toml:"keyspace,omitempty"`
	// LocalDatacenter makes the Cassandra host policy DC-aware, preferring this datacenter.
	LocalDatacenter string `koanf:"local_datacenter" json:"local_datacenter,omitempty" yaml:"local_datacenter,omitempty" toml:"local_datacenter,omitempty"`
	// Consistency is the Cassandra default consistency level, lowercase: any, one, two,
	// three, quorum, all, local_quorum, each_quorum, local_one. Default: local_quorum.
	Consistency string `koanf:"consistency" json:"consistency,omitempty" yaml:"consistency,omitempty" toml:"consistency,omitempty"`
	// ConnectTimeout bounds TCP + TLS + authentication of one connection, as a Go duration
	// ("5s"). Default 5s.
	ConnectTimeout Duration `koanf:"connect_timeout" json:"connect_timeout,omitzero" yaml:"connect_timeout,omitempty" toml:"connect_timeout,omitempty"`
	// Timeout bounds one request, as a Go duration. Default 2s.
	Timeout Duration `koanf:"timeout" json:"timeout,omitzero" yaml:"timeout,omitempty" toml:"timeout,omitempty"`
	// Auth says how the client authenticates. Absent: no authentication.
	Auth *Auth `koanf:"auth" json:"auth,omitempty" yaml:"auth,omitempty" toml:"auth,omitempty"`
	// TLS says how the connection is encrypted and verified. Absent: plaintext. Present: mode
	// verify-full unless it says otherwise.
	TLS *TLS `koanf:"tls" json:"tls,omitempty" yaml:"tls,omitempty" toml:"tls,omitempty"`
	// Pool sizes the driver's connection pool. Absent: the driver's defaults (gocql: 2
	// connections per host; riak-go-client: 1, growing to 256).
	Pool *Pool `koanf:"pool" json:"pool,omitempty" yaml:"pool,omitempty" toml:"pool,omitempty"`
}

// Pool bounds: every count is 1 to MaxPoolConnections.
const (
	// MaxPoolConnections is the largest connections_per_host and max_connections_per_host.
	MaxPoolConnections = 1024
)

// Pool sizes the connection pool a connector's Dial opens. Check always opens exactly one
// connection, whatever the pool says. With TLS, only the first connection to each server
// makes a full handshake: the others resume its session.
type Pool struct {
	// ConnectionsPerHost is how many connections are opened to each host: gocql's NumConns
	// (Cassandra, default 2) or the node's MinConnections (Riak, default 1). 1 to 1024.
	ConnectionsPerHost int `koanf:"connections_per_host" json:"connections_per_host,omitempty" yaml:"connections_per_host,omitempty" toml:"connections_per_host,omitempty"`
	// MaxConnectionsPerHost is how far a Riak node's pool may grow under load (the node's
	// MaxConnections, default 256, and at least connections_per_host). 1 to 1024. Riak
	// only: gocql's pool has a fixed size, so a Cassandra profile setting it is refused.
	MaxConnectionsPerHost int `koanf:"max_connections_per_host" json:"max_connections_per_host,omitempty" yaml:"max_connections_per_host,omitempty" toml:"max_connections_per_host,omitempty"`
	// IdleTimeout is how long a Riak connection above connections_per_host may stay idle
	// before it is closed, as a Go duration (the node's IdleTimeout, default 10s). Riak
	// only: a Cassandra profile setting it is refused.
	IdleTimeout Duration `koanf:"idle_timeout" json:"idle_timeout,omitzero" yaml:"idle_timeout,omitempty" toml:"idle_timeout,omitempty"`
}

// Auth describes client authentication.
type Auth struct {
	// Mechanism is how the client proves who it is.
	// Cassandra: none, password (SASL through the server's authenticator), sasl_plain.
	// Riak: none, trust, password, pam, certificate; all but none need TLS, because Riak
	// refuses authentication over plaintext.
	Mechanism Mechanism `koanf:"mechanism" json:"mechanism,omitempty" yaml:"mechanism,omitempty" toml:"mechanism,omitempty"`
	// Username is the role (Cassandra) or user (Riak). For Riak certificate auth it must equal
	// the client certificate's common name.
	Username string `koanf:"username" json:"username,omitempty" yaml:"username,omitempty" toml:"username,omitempty"`
	// Password is a secret: a literal string, {env = "VAR"} or {file = "path"}.
	// Required for password, sasl_plain and pam.
	Password *SecretSource `koanf:"password" json:"password,omitempty" yaml:"password,omitempty" toml:"password,omitempty"`
	// AllowedAuthenticators lists the server authenticator classes a Cassandra password or
	// sasl_plain profile will answer; a server announcing another is refused, so credentials
	// are never sent to an authenticator you did not expect.
	// Default: ["org.apache.cassandra.auth.PasswordAuthenticator"].
	AllowedAuthenticators []string `koanf:"allowed_authenticators" json:"allowed_authenticators,omitempty" yaml:"allowed_authenticators,omitempty" toml:"allowed_authenticators,omitempty"`
	// AuthorizationID is the SASL PLAIN authorization identity (sasl_plain only): the role
	// to act as once authenticated. Empty: act as Username.
	AuthorizationID string `koanf:"authorization_id" json:"authorization_id,omitempty" yaml:"authorization_id,omitempty" toml:"authorization_id,omitempty"`
	// PerHost chooses credentials by host (Cassandra): the Go form of the Python driver's
	// protocol-v1 credentials callback. A host not listed uses Username and Password.
	// A list, not a map, because configuration keys split at dots and host names have dots.
	PerHost []HostCredentials `koanf:"per_host" json:"per_host,omitempty" yaml:"per_host,omitempty" toml:"per_host,omitempty"`
}

// HostCredentials are the credentials used for one host.
type HostCredentials struct {
	// Host is matched against the host's address or name as written in hosts, without port.
	Host string `koanf:"host" json:"host" yaml:"host" toml:"host"`
	// Username for this host.
	Username string `koanf:"username" json:"username,omitempty" yaml:"username,omitempty" toml:"username,omitempty"`
	// Password for this host: a literal, {env = ..} or {file = ..}.
	Password *SecretSource `koanf:"password" json:"password,omitempty" yaml:"password,omitempty" toml:"password,omitempty"`
}

// TLS describes encryption and verification of the connection.
type TLS struct {
	// Mode is disable (no TLS), insecure (encrypt, verify nothing: a loud warning),
	// verify-ca (check the chain, not the name) or verify-full (chain and name). Default
	// verify-full.
	Mode TLSMode `koanf:"mode" json:"mode,omitempty" yaml:"mode,omitempty" toml:"mode,omitempty"`
	// CA is the trusted root(s): one material source or a list of them; "system" is the
	// operating system's pool. Absent: the system pool.
	CA []MaterialSource `koanf:"ca" json:"ca,omitempty" yaml:"ca,omitempty" toml:"ca,omitempty"`
	// Cert is the client certificate (PEM, leaf first, then intermediates).
	Cert *MaterialSource `koanf:"cert" json:"cert,omitempty" yaml:"cert,omitempty" toml:"cert,omitempty"`
	// Key is the client private key: PEM (PKCS#1, PKCS#8, SEC 1), encrypted PKCS#8 or legacy
	// encrypted PEM with `passphrase`.
	Key *MaterialSource `koanf:"key" json:"key,omitempty" yaml:"key,omitempty" toml:"key,omitempty"`
	// PKCS12 is a client certificate and key bundle (.p12 / .pfx) with `passphrase`,
	// instead of cert and key.
	PKCS12 *MaterialSource `koanf:"pkcs12" json:"pkcs12,omitempty" yaml:"pkcs12,omitempty" toml:"pkcs12,omitempty"`
	// TrustStore is a Java trust store (JKS or PKCS#12) holding the trusted CAs, instead
	// of ca: {file | base64 | env_base64 = .., password = <secret>, type = "jks" | "pkcs12"}.
	TrustStore *TrustStore `koanf:"truststore" json:"truststore,omitempty" yaml:"truststore,omitempty" toml:"truststore,omitempty"`
	// KeyStore is a Java key store (JKS or PKCS#12) holding the client certificate and key,
	// instead of cert + key or pkcs12: {file | base64 | env_base64 = .., password = <secret>,
	// type = .., alias = "..", key_password = <secret>}.
	KeyStore *KeyStore `koanf:"keystore" json:"keystore,omitempty" yaml:"keystore,omitempty" toml:"keystore,omitempty"`
	// CRL is one or more certificate revocation lists (PEM or DER), each signed by a
	// configured CA. Every certificate of the verified server chain is checked against them.
	CRL []MaterialSource `koanf:"crl" json:"crl,omitempty" yaml:"crl,omitempty" toml:"crl,omitempty"`
	// CRLStale is what a CRL past its NextUpdate does: fail (the default) or warn.
	CRLStale CRLStale `koanf:"crl_stale" json:"crl_stale,omitempty" yaml:"crl_stale,omitempty" toml:"crl_stale,omitempty"`
	// Ciphers restricts the TLS 1.2 cipher suites: OpenSSL names (ECDHE-RSA-AES128-GCM-SHA256)
	// or IANA names (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256), as a list or a colon-separated
	// string. TLS 1.3 suites are fixed by Go. Empty: Go's secure defaults.
	Ciphers []string `koanf:"ciphers" json:"ciphers,omitempty" yaml:"ciphers,omitempty" toml:"ciphers,omitempty"`
	// MinVersion is the lowest TLS version: "1.2" (the default) or "1.3"; "1.0" and "1.1"
	// only with allow_legacy_versions.
	MinVersion TLSVersion `koanf:"min_version" json:"min_version,omitempty" yaml:"min_version,omitempty" toml:"min_version,omitempty"`
	// MaxVersion is the highest TLS version. Default "1.3".
	MaxVersion TLSVersion `koanf:"max_version" json:"max_version,omitempty" yaml:"max_version,omitempty" toml:"max_version,omitempty"`
	// ServerName is the name verified in the server's certificate (and sent as SNI).
	// Empty: each host's own name; a host given as an IP verifies against IP SANs.
	ServerName string `koanf:"server_name" json:"server_name,omitempty" yaml:"server_name,omitempty" toml:"server_name,omitempty"`
	// Reload is how often cert, key, CA, CRL and key stores are re-read (a Go duration). 0: never.
	// Material that fails to load or compile leaves the last good material in use.
	Reload Duration `koanf:"reload" json:"reload,omitzero" yaml:"reload,omitempty" toml:"reload,omitempty"`
	// AllowLegacyVersions permits min_version 1.0 and 1.1, with a warning.
	AllowLegacyVersions bool `koanf:"allow_legacy_versions" json:"allow_legacy_versions,omitempty" yaml:"allow_legacy_versions,omitempty" toml:"allow_legacy_versions,omitempty"`
	// AllowInsecureCiphers permits suites Go lists as insecure, with a warning.
	AllowInsecureCiphers bool `koanf:"allow_insecure_ciphers" json:"allow_insecure_ciphers,omitempty" yaml:"allow_insecure_ciphers,omitempty" toml:"allow_insecure_ciphers,omitempty"`
	// StrictKeyPermissions makes a key file readable by group or others an error instead of
	// a warning.
	StrictKeyPermissions bool `koanf:"strict_key_permissions" json:"strict_key_permissions,omitempty" yaml:"strict_key_permissions,omitempty" toml:"strict_key_permissions,omitempty"`
}

// Enabled reports whether t asks for TLS at all.
func (t *TLS) Enabled() bool { return t != nil && t.Mode != TLSDisable }

// EffectiveMode is t's mode with the default applied: verify-full when TLS is present and
// no mode is given, disable when t is nil.
func (t *TLS) EffectiveMode() TLSMode {
	switch {
	case t == nil:
		return TLSDisable
	case t.Mode == "":
		return TLSVerifyFull
	default:
		return t.Mode
	}
}
