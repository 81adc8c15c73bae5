package validate

import (
	"fmt"
	"slices"
	"strings"

	"github.com/go-playground/validator/v10"

	"github.com/connfactory/connfactory/schema"
)

// reporter reports a problem at a path relative to the struct being checked.
type reporter func(path, format string, args ...any)

func (r reporter) at(path, format string, args ...any) { r(path, format, args...) }

// structReporter reports struct-level problems to the validator; the message travels as
// the param of msgTag.
func structReporter(sl validator.StructLevel) reporter {
	return func(path, format string, args ...any) {
		sl.ReportError(nil, path, path, msgTag, fmt.Sprintf(format, args...))
	}
}

// BackendAuth checks what p's backend needs of its auth and tls sections: a mechanism the
// backend accepts, the username and password the mechanism sends, a client certificate
// for mechanism certificate, and for Riak TLS with every mechanism but none and no TLS
// without one. Paths are relative to the profile (auth.mechanism). Config and Profile
// apply it with every other rule; the factory applies it to a profile it is handed, so
// each of these rules is written once.
func BackendAuth(p *schema.Profile) schema.Problems {
	if p == nil {
		return nil
	}
	var ps schema.Problems
	backendAuthRules(func(path, format string, args ...any) {
		ps = append(ps, schema.Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}, *p, slices.Contains(schema.Backends, p.Backend))
	return ps.Sorted()
}

// profileRules holds the rules that depend on the backend or span auth and tls.
func profileRules(sl validator.StructLevel) {
	p := sl.Current().Interface().(schema.Profile)
	r := structReporter(sl)
	known := slices.Contains(schema.Backends, p.Backend)
	cassandra := p.Backend == schema.Cassandra

	if known && !cassandra {
		only := func(key string, set bool) {
			if set {
				r.at(key, "%s applies to cassandra only (backend is %s)", key, p.Backend)
			}
		}
		only("protocol_version", p.ProtocolVersion != 0)
		only("keyspace", p.Keyspace != "")
		only("local_datacenter", p.LocalDatacenter != "")
		only("consistency", p.Consistency != "")
	} else {
		switch v := p.ProtocolVersion; {
		case v == 1 || v == 2:
			r.at("protocol_version", "protocol version %d is not supported: the Go driver starts at 3 (Cassandra 2.1)", v)
		case !slices.Contains(schema.ProtocolVersions, v):
			r.at("protocol_version", "protocol version %d is not supported: accepted 0 (negotiate), 3, 4, 5", v)
		}
	}

	poolRules(r, p)
	backendAuthRules(r, p, known)
	authRules(r, p, known)
}

// backendAuthRules holds the rules of BackendAuth.
func backendAuthRules(r reporter, p schema.Profile, backendKnown bool) {
	if p.Backend == schema.Riak && p.TLS.Enabled() && p.Auth.EffectiveMechanism() == schema.MechanismNone {
		r.at("auth.mechanism", "riak cannot use TLS without authentication (its client starts TLS only "+
			"to authenticate): set auth.mechanism to one of trust, password, pam, certificate, or tls.mode = \"disable\"")
	}
	a := p.Auth
	if a == nil {
		return
	}
	mech := a.EffectiveMechanism()
	switch {
	case backendKnown && !slices.Contains(schema.MechanismsFor(p.Backend), mech):
		r.at("auth.mechanism", "mechanism %q is not accepted for %s: accepted %s%s",
			string(mech), p.Backend, join(schema.MechanismsFor(p.Backend)), didYouMean(string(mech), schema.MechanismsFor(p.Backend)))
	case !backendKnown && !slices.Contains(schema.Mechanisms, mech):
		r.at("auth.mechanism", "mechanism %q is not known: accepted %s%s", string(mech), join(schema.Mechanisms), didYouMean(string(mech), schema.Mechanisms))
	}
	if p.Backend == schema.Riak && mech != schema.MechanismNone && !p.TLS.Enabled() {
		r.at("auth.mechanism", "riak refuses authentication without TLS: mechanism %s needs a tls section "+
			"whose mode is insecure, verify-ca or verify-full", mech)
	}
	switch mech {
	case schema.MechanismPassword, schema.MechanismSASLPlain, schema.MechanismPAM:
		if a.Password == nil {
			r.at("auth.password", "mechanism %s needs a password: a literal, {env = \"VAR\"} or {file = \"path\"}", mech)
		}
	}
	switch mech {
	case schema.MechanismTrust, schema.MechanismCertificate, schema.MechanismPassword,
		schema.MechanismPAM, schema.MechanismSASLPlain:
		if a.Username == "" {
			r.at("auth.username", "mechanism %s needs a username", mech)
		}
	}
	if mech == schema.MechanismCertificate {
		t := p.TLS
		if t == nil || (t.PKCS12 == nil && t.KeyStore == nil && (t.Cert == nil || t.Key == nil)) {
			r.at("tls.cert", "mechanism certificate needs a client certificate: tls.cert and tls.key, tls.pkcs12 or tls.keystore")
		}
	}
}

// authRules holds the rules of the auth section that BackendAuth does not.
func authRules(r reporter, p schema.Profile, backendKnown bool) {
	a := p.Auth
	if a == nil {
		return
	}
	mech := a.EffectiveMechanism()
	for path, sec := range a.Secrets() {
		secretRules(r, "auth."+path, sec)
	}
	if a.AuthorizationID != "" && mech != schema.MechanismSASLPlain {
		r.at("auth.authorization_id", "authorization_id applies to mechanism sasl_plain only (mechanism is %s)", mech)
	}
	// With a missing or unknown backend (reported on its own) only the mechanism decides.
	credentials := mech == schema.MechanismPassword || mech == schema.MechanismSASLPlain
	cassandraCredentials := credentials && (p.Backend == schema.Cassandra || !backendKnown)
	if len(a.AllowedAuthenticators) > 0 && !cassandraCredentials {
		r.at("auth.allowed_authenticators", "allowed_authenticators applies to cassandra with mechanism password or sasl_plain only")
	}
	for i, a := range a.AllowedAuthenticators {
		if strings.TrimSpace(a) == "" {
			r.at(fmt.Sprintf("auth.allowed_authenticators[%d]", i), "authenticator class name is empty")
		}
	}
	if len(a.PerHost) > 0 && !cassandraCredentials {
		r.at("auth.per_host", "per_host applies to cassandra with mechanism password or sasl_plain only")
	}
}

// secretRules checks that a secret source names exactly one source, and that a literal
// secret is not empty: an empty password or passphrase is always a mistake (`password =
// ""`), whatever the mechanism, and must not reach a server or a key decryption as if it
// were one. What an env or file source holds is judged by the loaders' resolver, which
// reports an empty one at its path ("is set but empty", "is empty").
func secretRules(r reporter, path string, s *schema.SecretSource) {
	if s == nil {
		return
	}
	set := setKeys(map[string]bool{"value": s.Value != "", "env": s.Env != "", "file": s.File != ""},
		"value", "env", "file")
	const forms = `write a literal, {env = "VAR"} or {file = "path"}`
	switch {
	case len(set) > 1:
		r.at(path, "set only one of value, env or file (found %s)", strings.Join(set, ", "))
	case s.Env != "" || s.File != "":
		// Resolved (and judged) by the loaders, not here.
	case s.Value != "":
	default:
		r.at(path, "secret is empty: %s", forms)
	}
}

// materialRules checks that a material source names exactly one source, and "system"
// only where a CA is meant.
func materialRules(r reporter, path string, m *schema.MaterialSource, caAllowed bool) {
	if m == nil {
		return
	}
	set := setKeys(map[string]bool{
		"file": m.File != "", "env": m.Env != "", "pem": m.PEM != "", "base64": m.Base64 != "",
		"env_base64": m.EnvBase64 != "", "system": m.System,
	}, "file", "env", "pem", "base64", "env_base64", "system")
	switch {
	case len(set) > 1:
		r.at(path, "set only one of file, env, pem, base64, env_base64 or \"system\" (found %s)", strings.Join(set, ", "))
	case len(set) == 0:
		r.at(path, "source is empty: set one of file, env, pem, base64, env_base64%s", map[bool]string{true: " or \"system\"", false: ""}[caAllowed])
	}
	if m.System && !caAllowed {
		r.at(path, "\"system\" is accepted for tls.ca only")
	}
	secretRules(r, path+".passphrase", m.Passphrase)
}

func setKeys(set map[string]bool, order ...string) []string {
	var out []string
	for _, k := range order {
		if set[k] {
			out = append(out, k)
		}
	}
	return out
}

// tlsRules holds the rules that span fields of the tls section.
func tlsRules(sl validator.StructLevel) {
	t := sl.Current().Interface().(schema.TLS)
	r := structReporter(sl)

	if t.Mode == schema.TLSDisable {
		for _, s := range []struct {
			key string
			set bool
		}{
			{"ca", len(t.CA) > 0}, {"cert", t.Cert != nil}, {"key", t.Key != nil},
			{"pkcs12", t.PKCS12 != nil}, {"crl", len(t.CRL) > 0}, {"crl_stale", t.CRLStale != ""},
			{"ciphers", len(t.Ciphers) > 0}, {"min_version", t.MinVersion != ""},
			{"max_version", t.MaxVersion != ""}, {"server_name", t.ServerName != ""},
			{"reload", t.Reload != 0}, {"truststore", t.TrustStore != nil}, {"keystore", t.KeyStore != nil},
			{"expiry_warning", t.ExpiryWarning != 0},
		} {
			if s.set {
				r.at(s.key, "tls.mode is disable but tls.%s is set: remove it or choose another mode", s.key)
			}
		}
		return
	}

	for path, m := range t.Sources() {
		materialRules(r, path, m, schema.IsCAPath(path))
	}
	keyStoreRules(r, t)

	switch {
	case t.Cert != nil && t.Key == nil && t.PKCS12 == nil:
		r.at("key", "tls.cert is set but tls.key is not: a client certificate needs its private key")
	case t.Key != nil && t.Cert == nil && t.PKCS12 == nil:
		r.at("cert", "tls.key is set but tls.cert is not: a private key needs its client certificate")
	}
	if t.PKCS12 != nil && (t.Cert != nil || t.Key != nil) {
		r.at("pkcs12", "tls.pkcs12 replaces tls.cert and tls.key: set one or the other")
	}
	if len(t.CRL) > 0 && t.TrustStore == nil && !slices.ContainsFunc(t.CA, func(m schema.MaterialSource) bool { return !m.System }) {
		r.at("crl", "tls.crl needs tls.ca: the CA that signed the CRL must be configured (\"system\" alone is not enough)")
	}

	minV, minKnown := versionOr(t.MinVersion, "1.2")
	maxV, maxKnown := versionOr(t.MaxVersion, "1.3")
	if minKnown && maxKnown && schema.TLSVersions[minV] > schema.TLSVersions[maxV] {
		if t.MinVersion != "" {
			r.at("min_version", "min_version %s is above max_version %s", minV, maxV)
		} else {
			r.at("max_version", "max_version %s is below min_version (default 1.2): set min_version too", maxV)
		}
	}
	if minKnown && t.MinVersion != "" && schema.TLSVersions[minV] < schema.TLSVersions["1.2"] && !t.AllowLegacyVersions {
		r.at("min_version", "TLS %s is refused unless tls.allow_legacy_versions = true: versions below 1.2 are broken; accepted 1.2, 1.3", minV)
	}
}

// versionOr returns v, or def when v is empty, and whether the result is a known version
// (an unknown one is reported by its field rule).
func versionOr(v schema.TLSVersion, def schema.TLSVersion) (schema.TLSVersion, bool) {
	if v == "" {
		v = def
	}
	_, ok := schema.TLSVersions[v]
	return v, ok
}

// riakOnly is in the message of a Riak-only key set on a Cassandra profile.
const riakOnly = "applies to riak only"

// poolRules checks the pool section: counts 1 to schema.MaxPoolConnections (0 is "not
// set": an explicit 0 is caught by Profile through the origins), Riak-only keys, and a
// maximum not below the count.
func poolRules(r reporter, p schema.Profile) {
	pl := p.Pool
	if pl == nil {
		return
	}
	count := func(key string, n int) {
		if n < 0 || n > schema.MaxPoolConnections {
			r.at("pool."+key, "%s must be 1 to %d (is %d)", key, schema.MaxPoolConnections, n)
		}
	}
	count("connections_per_host", pl.ConnectionsPerHost)
	count("max_connections_per_host", pl.MaxConnectionsPerHost)
	if pl.IdleTimeout < 0 {
		r.at("pool.idle_timeout", "idle_timeout must not be negative")
	}
	if p.Backend == schema.Cassandra {
		if pl.MaxConnectionsPerHost != 0 {
			r.at("pool.max_connections_per_host", "max_connections_per_host %s: gocql keeps a fixed pool of "+
				"connections_per_host connections to each Cassandra host (backend is cassandra)", riakOnly)
		}
		if pl.IdleTimeout != 0 {
			r.at("pool.idle_timeout", "idle_timeout %s: gocql keeps its connections open (backend is cassandra)", riakOnly)
		}
		return
	}
	if pl.MaxConnectionsPerHost > 0 && pl.ConnectionsPerHost > pl.MaxConnectionsPerHost {
		r.at("pool.max_connections_per_host", "max_connections_per_host %d is below connections_per_host %d",
			pl.MaxConnectionsPerHost, pl.ConnectionsPerHost)
	}
}
