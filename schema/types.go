package schema

import (
	"crypto/tls"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Backend is the database a profile connects to.
type Backend string

// The backends.
const (
	Cassandra Backend = "cassandra"
	Riak      Backend = "riak"
)

// Backends lists the accepted backends, for messages.
var Backends = []Backend{Cassandra, Riak}

// DefaultPort is the port of a host of this backend given without one.
func (b Backend) DefaultPort() int {
	if b == Riak {
		return DefaultRiakPort
	}
	return DefaultCassandraPort
}

// Mechanism is an authentication mechanism.
type Mechanism string

// The mechanisms. Which a backend accepts: MechanismsFor.
const (
	MechanismNone        Mechanism = "none"
	MechanismPassword    Mechanism = "password"
	MechanismSASLPlain   Mechanism = "sasl_plain"
	MechanismTrust       Mechanism = "trust"
	MechanismPAM         Mechanism = "pam"
	MechanismCertificate Mechanism = "certificate"
)

// MechanismsFor lists the mechanisms backend b accepts.
func MechanismsFor(b Backend) []Mechanism {
	switch b {
	case Cassandra:
		return []Mechanism{MechanismNone, MechanismPassword, MechanismSASLPlain}
	case Riak:
		return []Mechanism{MechanismNone, MechanismTrust, MechanismPassword, MechanismPAM, MechanismCertificate}
	}
	return nil
}

// EffectiveMechanism is a's mechanism with the default applied: none when a is nil or
// says nothing.
func (a *Auth) EffectiveMechanism() Mechanism {
	if a == nil || a.Mechanism == "" {
		return MechanismNone
	}
	return a.Mechanism
}

// TLSMode says what TLS verifies.
type TLSMode string

// The TLS modes, weakest first.
const (
	TLSDisable    TLSMode = "disable"
	TLSInsecure   TLSMode = "insecure"
	TLSVerifyCA   TLSMode = "verify-ca"
	TLSVerifyFull TLSMode = "verify-full"
)

// TLSModes lists the accepted modes, for messages.
var TLSModes = []TLSMode{TLSDisable, TLSInsecure, TLSVerifyCA, TLSVerifyFull}

// TLSVersion is a TLS protocol version written as "1.0", "1.1", "1.2" or "1.3".
type TLSVersion string

// TLSVersions maps the accepted version names to crypto/tls constants.
var TLSVersions = map[TLSVersion]uint16{
	"1.0": tls.VersionTLS10,
	"1.1": tls.VersionTLS11,
	"1.2": tls.VersionTLS12,
	"1.3": tls.VersionTLS13,
}

// TLSVersionNames lists the accepted version names in order, for messages.
var TLSVersionNames = []string{"1.0", "1.1", "1.2", "1.3"}

// CRLStale is what a CRL past its NextUpdate does.
type CRLStale string

// The CRL staleness policies.
const (
	CRLStaleFail CRLStale = "fail"
	CRLStaleWarn CRLStale = "warn"
)

// Duration is a time.Duration written as a Go duration string ("5s", "1m30s").
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// MarshalText writes d as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText parses a Go duration string; a bare integer is seconds.
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	v, err := time.ParseDuration(s)
	if err != nil {
		var secs int64
		if _, serr := fmt.Sscanf(s, "%d", &secs); serr == nil && fmt.Sprint(secs) == s {
			*d = Duration(time.Duration(secs) * time.Second)
			return nil
		}
		return fmt.Errorf("%q is not a duration (write it like \"5s\", \"250ms\" or \"1m30s\")", s)
	}
	if v < 0 {
		return fmt.Errorf("%q is negative", s)
	}
	*d = Duration(v)
	return nil
}

// Secret is a sensitive string: a password or passphrase, or inline key material. It
// prints as <redacted> with every fmt verb and in JSON, YAML and TOML, so that a secret
// cannot leave through a log line or an error by accident. Reveal gives the value.
type Secret string

// Redacted is what a Secret prints as.
const Redacted = "<redacted>"

// Reveal returns the secret's value, for the one place that must send it.
func (s Secret) Reveal() string { return string(s) }

// String returns <redacted>.
func (s Secret) String() string { return Redacted }

// GoString returns <redacted>.
func (s Secret) GoString() string { return Redacted }

// Format prints <redacted> for every verb.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// MarshalText returns <redacted>.
func (s Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// SecretSource says where a secret comes from: written as a plain string (the literal
// value), or as a table with exactly one of `value`, `env` or `file`.
//
//	password = "s3cret"
//	password = { env = "CASS_PASSWORD" }
//	password = { file = "/run/secrets/cass" }   # trailing newline trimmed
type SecretSource struct {
	// Value is the literal secret.
	Value Secret `koanf:"value" json:"value,omitempty" yaml:"value,omitempty" toml:"value,omitempty"`
	// Env names the environment variable holding the secret. Unset is an error; set but
	// empty is refused too (an empty secret is never used).
	Env string `koanf:"env" json:"env,omitempty" yaml:"env,omitempty" toml:"env,omitempty"`
	// File is the path of a file holding the secret (relative to the configuration file that
	// names it). One trailing newline is trimmed.
	File string `koanf:"file" json:"file,omitempty" yaml:"file,omitempty" toml:"file,omitempty"`
}

// Describe says where the secret comes from without saying what it is:
// "literal", "env CASS_PASSWORD" or "file /run/secrets/cass".
func (s *SecretSource) Describe() string {
	switch {
	case s == nil:
		return "none"
	case s.Env != "":
		return "env " + s.Env
	case s.File != "":
		return "file " + s.File
	default:
		return "literal"
	}
}

// MaterialSource says where certificate, key or CRL bytes come from: a table with exactly
// one of `file`, `env`, `pem`, `base64`, `env_base64`, or the string "system" (CA only:
// the operating system's trust store).
//
//	ca   = { file = "certs/ca.pem" }
//	ca   = [{ file = "certs/ca.pem" }, "system"]
//	cert = { env = "CLIENT_CERT_PEM" }
//	key  = { file = "certs/client.key", passphrase = { env = "KEY_PASS" } }
type MaterialSource struct {
	// File is a path, relative to the configuration file that names it (from the
	// environment: to the working directory).
	File string `koanf:"file" json:"file,omitempty" yaml:"file,omitempty" toml:"file,omitempty"`
	// Env names an environment variable holding PEM text.
	Env string `koanf:"env" json:"env,omitempty" yaml:"env,omitempty" toml:"env,omitempty"`
	// PEM is inline PEM text. Treated as a secret: never printed.
	PEM Secret `koanf:"pem" json:"pem,omitempty" yaml:"pem,omitempty" toml:"pem,omitempty"`
	// Base64 is inline base64 of PEM or DER bytes. Treated as a secret: never printed.
	Base64 Secret `koanf:"base64" json:"base64,omitempty" yaml:"base64,omitempty" toml:"base64,omitempty"`
	// EnvBase64 names an environment variable holding base64 of PEM or DER bytes.
	EnvBase64 string `koanf:"env_base64" json:"env_base64,omitempty" yaml:"env_base64,omitempty" toml:"env_base64,omitempty"`
	// System selects the operating system's trust store (CA only). Written as the string
	// "system".
	System bool `koanf:"system" json:"system,omitempty" yaml:"system,omitempty" toml:"system,omitempty"`
	// Passphrase decrypts an encrypted key or a PKCS#12 bundle.
	Passphrase *SecretSource `koanf:"passphrase" json:"passphrase,omitempty" yaml:"passphrase,omitempty" toml:"passphrase,omitempty"`
}

// Describe says where the material comes from without printing it.
func (m *MaterialSource) Describe() string {
	switch {
	case m == nil:
		return "none"
	case m.System:
		return "system"
	case m.File != "":
		return "file " + m.File
	case m.Env != "":
		return "env " + m.Env
	case m.EnvBase64 != "":
		return "env_base64 " + m.EnvBase64
	case m.PEM != "":
		return "inline pem"
	case m.Base64 != "":
		return "inline base64"
	}
	return "empty"
}

// Material is loaded certificate, key or CRL bytes (what a loader resolved a
// MaterialSource to: see factory.MaterialSource). It prints as its length only, because
// it may hold a private key.
type Material []byte

// String returns "<N bytes>".
func (m Material) String() string { return fmt.Sprintf("<%d bytes>", len(m)) }

// GoString returns "<N bytes>".
func (m Material) GoString() string { return m.String() }

// Format prints "<N bytes>" for every verb.
func (m Material) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(m.String())) }

// MarshalText returns "<N bytes>".
func (m Material) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// The types that point to a secret print with %v whatever the verb. fmt prints the
// target of a pointer field it cannot print with the verb asked (%s, %q, %x, %d) without
// calling the target's methods, so fmt.Sprintf("%s", auth) would show the SecretSource's
// value raw; with %v the pointer prints as an address. The plain* types are the same
// structs without these methods.
type (
	plainAuth            Auth
	plainHostCredentials HostCredentials
	plainTLS             TLS
	plainMaterialSource  MaterialSource
)

// Format prints a as %v (or %+v, %#v) does, for every verb.
func (a Auth) Format(f fmt.State, _ rune) { formatPlain(f, "Auth", plainAuth(a)) }

// Format prints h as %v (or %+v, %#v) does, for every verb.
func (h HostCredentials) Format(f fmt.State, _ rune) {
	formatPlain(f, "HostCredentials", plainHostCredentials(h))
}

// Format prints t as %v (or %+v, %#v) does, for every verb.
func (t TLS) Format(f fmt.State, _ rune) { formatPlain(f, "TLS", plainTLS(t)) }

// Format prints m as %v (or %+v, %#v) does, for every verb.
func (m MaterialSource) Format(f fmt.State, _ rune) {
	formatPlain(f, "MaterialSource", plainMaterialSource(m))
}

func formatPlain(f fmt.State, name string, v any) {
	s := fmt.Sprintf(fmt.FormatString(f, 'v'), v)
	_, _ = f.Write([]byte(strings.Replace(s, "schema.plain"+name, "schema."+name, 1)))
}

// ListFree drops list indexes from a config path ("tls.ca[1].file" -> "tls.ca.file"):
// origins are recorded per key, and a list is one value.
func ListFree(path string) string {
	if !strings.Contains(path, "[") {
		return path
	}
	var b strings.Builder
	depth := 0
	for _, r := range path {
		switch {
		case r == '[':
			depth++
		case r == ']':
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ErrInvalid is matched (errors.Is) by every configuration error: a Problems list.
var ErrInvalid = errors.New("invalid configuration")

// Problem is one thing wrong with a configuration, at a dotted config path.
type Problem struct {
	// Path is the dotted config path: profiles.cass_prod.tls.key.
	Path string `json:"path"`
	// Message says what is wrong and, where it helps, what is accepted.
	Message string `json:"message"`
	// Source is where the value came from: a file name or an environment variable name.
	Source string `json:"source,omitempty"`
}

// String renders p as `PATH: message (from SOURCE)`.
func (p Problem) String() string {
	var b strings.Builder
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	if p.Source != "" {
		b.WriteString(" (from ")
		b.WriteString(p.Source)
		b.WriteString(")")
	}
	return b.String()
}

// Warning is something a profile asks for that is valid but weakens security or will soon
// break (verification narrowed, legacy TLS, credentials over plaintext, a password written
// in the file, a certificate about to expire). It is the one warning type of the product:
// validate computes some, the factory others, and a Registry, `validate` and `check` show
// them all.
type Warning struct {
	// Path is the dotted config path the warning is about.
	Path string `json:"path"`
	// Message says what and why.
	Message string `json:"message"`
	// Source is where the value came from, when known.
	Source string `json:"source,omitempty"`
}

// String renders w as `PATH: message (from SOURCE)`.
func (w Warning) String() string { return Problem(w).String() }

// Problems is every problem found in a configuration. As an error it lists them one per
// line, sorted by path, and matches ErrInvalid.
type Problems []Problem

// Error lists the problems, one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps.Sorted() {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Is makes errors.Is(ps, ErrInvalid) true.
func (ps Problems) Is(target error) bool { return target == ErrInvalid }

// Sorted returns the problems ordered by path then message, duplicates removed.
func (ps Problems) Sorted() Problems {
	out := append(Problems(nil), ps...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Message < out[j].Message
	})
	dedup := out[:0]
	for _, p := range out {
		if n := len(dedup); n > 0 && dedup[n-1] == p {
			continue
		}
		dedup = append(dedup, p)
	}
	return dedup
}

// Err returns ps as an error, or nil when there are none.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps.Sorted()
}
