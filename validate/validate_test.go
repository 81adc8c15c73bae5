package validate_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/validate"
)

const secretValue = "hunter2-do-not-print"

// cass is a valid Cassandra profile using every Cassandra setting; each case breaks one thing.
func cass() *schema.Profile {
	return &schema.Profile{
		Backend:         schema.Cassandra,
		Hosts:           []string{"db1.internal:9042", "db2.internal", "10.0.0.7:9142", "[::1]:9042", "[2001:db8::1]"},
		ProtocolVersion: 4,
		Keyspace:        "app",
		LocalDatacenter: "dc1",
		Consistency:     "local_quorum",
		ConnectTimeout:  schema.Duration(5 * time.Second),
		Timeout:         schema.Duration(2 * time.Second),
		Auth: &schema.Auth{
			Mechanism:             schema.MechanismPassword,
			Username:              "app",
			Password:              &schema.SecretSource{Env: "CASS_PASSWORD"},
			AllowedAuthenticators: []string{schema.DefaultPasswordAuthenticator},
			PerHost: []schema.HostCredentials{
				{Host: "10.0.0.7", Username: "dc2app", Password: &schema.SecretSource{Env: "DC2_PW"}},
			},
		},
		TLS: &schema.TLS{
			Mode:       schema.TLSVerifyFull,
			CA:         []schema.MaterialSource{{File: "certs/ca.pem"}, {System: true}},
			Cert:       &schema.MaterialSource{File: "certs/client.pem"},
			Key:        &schema.MaterialSource{File: "certs/client.key", Passphrase: &schema.SecretSource{Env: "KEY_PASS"}},
			CRL:        []schema.MaterialSource{{File: "certs/revoked.crl"}},
			CRLStale:   schema.CRLStaleFail,
			Ciphers:    []string{"ECDHE-RSA-AES128-GCM-SHA256"},
			MinVersion: "1.2",
			MaxVersion: "1.3",
			ServerName: "db.internal",
			Reload:     schema.Duration(30 * time.Second),
		},
	}
}

// riak is a valid Riak profile with password auth over TLS.
func riak() *schema.Profile {
	return &schema.Profile{
		Backend: schema.Riak,
		Hosts:   []string{"riak1.internal:8087", "riak2.internal"},
		Auth: &schema.Auth{
			Mechanism: schema.MechanismPassword,
			Username:  "riakuser",
			Password:  &schema.SecretSource{File: "/run/secrets/riak"},
		},
		TLS: &schema.TLS{CA: []schema.MaterialSource{{File: "certs/ca.pem"}}},
	}
}

// ruleCase breaks (or, for passing cases, varies) one base profile.
type ruleCase struct {
	name   string
	base   func() *schema.Profile
	mutate func(p *schema.Profile)
	path   string // relative to profiles.p; empty for passing cases
	msg    string // message fragment
}

func TestBaseProfilesAreValid(t *testing.T) {
	require.Empty(t, validate.Profile("p", cass(), nil))
	require.Empty(t, validate.Profile("p", riak(), nil))
}

func TestRulesFail(t *testing.T) {
	cases := []ruleCase{
		// backend
		{"backend missing", cass, func(p *schema.Profile) { p.Backend = "" }, "backend", "backend is required: accepted cassandra, riak"},
		{"backend unknown", cass, func(p *schema.Profile) { p.Backend = "mongo" }, "backend", `backend "mongo" is not known: accepted cassandra, riak`},
		// hosts
		{"hosts missing", cass, func(p *schema.Profile) { p.Hosts = nil }, "hosts", "at least one host is required"},
		{"hosts empty list", riak, func(p *schema.Profile) { p.Hosts = []string{} }, "hosts", "at least one host is required"},
		{"host empty", cass, func(p *schema.Profile) { p.Hosts[1] = "" }, "hosts[1]", "host is empty"},
		{"host scheme", cass, func(p *schema.Profile) { p.Hosts[1] = "tcp://db2:9042" }, "hosts[1]", "has a scheme or path"},
		{"host path", cass, func(p *schema.Profile) { p.Hosts[0] = "db1/x" }, "hosts[0]", "has a scheme or path"},
		{"host space", cass, func(p *schema.Profile) { p.Hosts[2] = "db 2" }, "hosts[2]", "contains spaces"},
		{"port zero", cass, func(p *schema.Profile) { p.Hosts[0] = "db1:0" }, "hosts[0]", `port "0" is not valid: accepted 1 to 65535`},
		{"port too big", cass, func(p *schema.Profile) { p.Hosts[0] = "db1:65536" }, "hosts[0]", "accepted 1 to 65535"},
		{"port not a number", riak, func(p *schema.Profile) { p.Hosts[0] = "db1:http" }, "hosts[0]", "accepted 1 to 65535"},
		{"port empty", riak, func(p *schema.Profile) { p.Hosts[0] = "db1:" }, "hosts[0]", "accepted 1 to 65535"},
		{"no host before port", cass, func(p *schema.Profile) { p.Hosts[0] = ":9042" }, "hosts[0]", "no host name before the port"},
		{"ipv6 without brackets", cass, func(p *schema.Profile) { p.Hosts[3] = "::1" }, "hosts[3]", "IPv6 address in brackets"},
		{"ipv6 port without brackets", cass, func(p *schema.Profile) { p.Hosts[3] = "2001:db8::1:9042" }, "hosts[3]", "IPv6 address in brackets"},
		{"brackets without ipv6", cass, func(p *schema.Profile) { p.Hosts[3] = "[db1]:9042" }, "hosts[3]", "is not an IPv6 address"},
		{"brackets unclosed", cass, func(p *schema.Profile) { p.Hosts[3] = "[::1:9042" }, "hosts[3]", "no closing ]"},
		{"brackets bad port", cass, func(p *schema.Profile) { p.Hosts[3] = "[::1]:0" }, "hosts[3]", "accepted 1 to 65535"},
		{"brackets junk", cass, func(p *schema.Profile) { p.Hosts[3] = "[::1]x" }, "hosts[3]", "only :port may follow"},
		{"host bad chars", cass, func(p *schema.Profile) { p.Hosts[0] = "db1@x:9042" }, "hosts[0]", "is not a host name or IP address"},
		// protocol_version
		{"protocol 1", cass, func(p *schema.Profile) { p.ProtocolVersion = 1 }, "protocol_version", "protocol version 1 is not supported: the Go driver starts at 3 (Cassandra 2.1)"},
		{"protocol 2", cass, func(p *schema.Profile) { p.ProtocolVersion = 2 }, "protocol_version", "protocol version 2 is not supported: the Go driver starts at 3 (Cassandra 2.1)"},
		{"protocol 6", cass, func(p *schema.Profile) { p.ProtocolVersion = 6 }, "protocol_version", "accepted 0 (negotiate), 3, 4, 5"},
		{"protocol negative", cass, func(p *schema.Profile) { p.ProtocolVersion = -1 }, "protocol_version", "accepted 0 (negotiate), 3, 4, 5"},
		{"protocol on riak", riak, func(p *schema.Profile) { p.ProtocolVersion = 4 }, "protocol_version", "protocol_version applies to cassandra only (backend is riak)"},
		// consistency, keyspace, local_datacenter
		{"consistency unknown", cass, func(p *schema.Profile) { p.Consistency = "quorom" }, "consistency", `consistency "quorom" is not known: accepted any, one, two`},
		{"consistency uppercase", cass, func(p *schema.Profile) { p.Consistency = "QUORUM" }, "consistency", "is not known"},
		{"consistency on riak", riak, func(p *schema.Profile) { p.Consistency = "one" }, "consistency", "consistency applies to cassandra only"},
		{"keyspace on riak", riak, func(p *schema.Profile) { p.Keyspace = "app" }, "keyspace", "keyspace applies to cassandra only"},
		{"local_datacenter on riak", riak, func(p *schema.Profile) { p.LocalDatacenter = "dc1" }, "local_datacenter", "local_datacenter applies to cassandra only"},
		// durations
		{"connect_timeout negative", cass, func(p *schema.Profile) { p.ConnectTimeout = -1 }, "connect_timeout", "connect_timeout must not be negative"},
		{"timeout negative", riak, func(p *schema.Profile) { p.Timeout = schema.Duration(-time.Second) }, "timeout", "timeout must not be negative"},
		{"reload negative", cass, func(p *schema.Profile) { p.TLS.Reload = -1 }, "tls.reload", "reload must not be negative"},
		// mechanism per backend
		{"cassandra pam", cass, func(p *schema.Profile) {
			p.Auth.Mechanism = schema.MechanismPAM
			p.Auth.AllowedAuthenticators, p.Auth.PerHost = nil, nil
		}, "auth.mechanism", `mechanism "pam" is not accepted for cassandra: accepted none, password, sasl_plain`},
		{"riak sasl_plain", riak, func(p *schema.Profile) { p.Auth.Mechanism = schema.MechanismSASLPlain },
			"auth.mechanism", `mechanism "sasl_plain" is not accepted for riak: accepted none, trust, password, pam, certificate`},
		{"cassandra kerberos", cass, func(p *schema.Profile) {
			p.Auth.Mechanism = "kerberos"
			p.Auth.AllowedAuthenticators, p.Auth.PerHost = nil, nil
		}, "auth.mechanism", `mechanism "kerberos" is not accepted for cassandra`},
		// riak auth needs TLS, riak TLS needs auth
		{"riak password without tls", riak, func(p *schema.Profile) { p.TLS = nil },
			"auth.mechanism", "riak refuses authentication without TLS: mechanism password needs a tls section"},
		{"riak trust with tls disabled", riak, func(p *schema.Profile) {
			p.Auth = &schema.Auth{Mechanism: schema.MechanismTrust, Username: "u"}
			p.TLS = &schema.TLS{Mode: schema.TLSDisable}
		}, "auth.mechanism", "riak refuses authentication without TLS: mechanism trust"},
		{"riak tls without auth", riak, func(p *schema.Profile) { p.Auth = nil },
			"auth.mechanism", "riak cannot use TLS without authentication"},
		{"riak tls with mechanism none", riak, func(p *schema.Profile) { p.Auth = &schema.Auth{Mechanism: schema.MechanismNone} },
			"auth.mechanism", "riak cannot use TLS without authentication"},
		// password and username needed
		{"password mechanism without password", cass, func(p *schema.Profile) { p.Auth.Password = nil },
			"auth.password", "mechanism password needs a password"},
		{"sasl_plain without password", cass, func(p *schema.Profile) {
			p.Auth.Mechanism = schema.MechanismSASLPlain
			p.Auth.Password = nil
		}, "auth.password", "mechanism sasl_plain needs a password"},
		{"pam without password", riak, func(p *schema.Profile) {
			p.Auth.Mechanism = schema.MechanismPAM
			p.Auth.Password = nil
		}, "auth.password", "mechanism pam needs a password"},
		{"password without username", cass, func(p *schema.Profile) { p.Auth.Username = "" }, "auth.username", "mechanism password needs a username"},
		{"sasl_plain without username", cass, func(p *schema.Profile) {
			p.Auth.Mechanism = schema.MechanismSASLPlain
			p.Auth.Username = ""
		}, "auth.username", "mechanism sasl_plain needs a username"},
		{"pam without username", riak, func(p *schema.Profile) {
			p.Auth.Mechanism = schema.MechanismPAM
			p.Auth.Username = ""
		}, "auth.username", "mechanism pam needs a username"},
		{"trust without username", riak, func(p *schema.Profile) { p.Auth = &schema.Auth{Mechanism: schema.MechanismTrust} },
			"auth.username", "mechanism trust needs a username"},
		{"certificate without username", riak, func(p *schema.Profile) {
			p.Auth = &schema.Auth{Mechanism: schema.MechanismCertificate}
			p.TLS.Cert = &schema.MaterialSource{File: "c.pem"}
			p.TLS.Key = &schema.MaterialSource{File: "c.key"}
		}, "auth.username", "mechanism certificate needs a username"},
		// certificate needs a client certificate
		{"certificate without cert", riak, func(p *schema.Profile) { p.Auth = &schema.Auth{Mechanism: schema.MechanismCertificate, Username: "u"} },
			"tls.cert", "mechanism certificate needs a client certificate: tls.cert and tls.key, tls.pkcs12 or tls.keystore"},
		// tls material pairing
		{"cert without key", cass, func(p *schema.Profile) { p.TLS.Key = nil }, "tls.key", "tls.cert is set but tls.key is not"},
		{"key without cert", cass, func(p *schema.Profile) { p.TLS.Cert = nil }, "tls.cert", "tls.key is set but tls.cert is not"},
		{"pkcs12 with cert and key", cass, func(p *schema.Profile) { p.TLS.PKCS12 = &schema.MaterialSource{File: "c.p12"} },
			"tls.pkcs12", "tls.pkcs12 replaces tls.cert and tls.key"},
		{"pkcs12 with key", cass, func(p *schema.Profile) {
			p.TLS.Cert = nil
			p.TLS.PKCS12 = &schema.MaterialSource{File: "c.p12"}
		}, "tls.pkcs12", "tls.pkcs12 replaces tls.cert and tls.key"},
		// crl needs a ca
		{"crl without ca", cass, func(p *schema.Profile) { p.TLS.CA = nil }, "tls.crl", "tls.crl needs tls.ca"},
		{"crl with system ca only", cass, func(p *schema.Profile) { p.TLS.CA = []schema.MaterialSource{{System: true}} },
			"tls.crl", `"system" alone is not enough`},
		// mode, versions, crl_stale
		{"mode unknown", cass, func(p *schema.Profile) { p.TLS.Mode = "verify" }, "tls.mode",
			`tls mode "verify" is not known: accepted disable, insecure, verify-ca, verify-full`},
		{"min_version unknown", cass, func(p *schema.Profile) { p.TLS.MinVersion = "1.4" }, "tls.min_version",
			`TLS version "1.4" is not known: accepted 1.0, 1.1, 1.2, 1.3`},
		{"max_version unknown", cass, func(p *schema.Profile) { p.TLS.MaxVersion = "TLSv1.3" }, "tls.max_version",
			`TLS version "TLSv1.3" is not known`},
		{"min above max", cass, func(p *schema.Profile) { p.TLS.MinVersion, p.TLS.MaxVersion = "1.3", "1.2" },
			"tls.min_version", "min_version 1.3 is above max_version 1.2"},
		{"max below default min", cass, func(p *schema.Profile) {
			p.TLS.MinVersion, p.TLS.MaxVersion, p.TLS.AllowLegacyVersions = "", "1.1", true
		}, "tls.max_version", "max_version 1.1 is below min_version (default 1.2)"},
		{"legacy min without allow", cass, func(p *schema.Profile) { p.TLS.MinVersion = "1.0" }, "tls.min_version",
			"TLS 1.0 is refused unless tls.allow_legacy_versions = true"},
		{"legacy 1.1 without allow", riak, func(p *schema.Profile) { p.TLS.MinVersion = "1.1" }, "tls.min_version",
			"TLS 1.1 is refused unless tls.allow_legacy_versions = true"},
		{"crl_stale unknown", cass, func(p *schema.Profile) { p.TLS.CRLStale = "ignore" }, "tls.crl_stale",
			`crl_stale "ignore" is not known: accepted fail, warn`},
		// auth options tied to a mechanism or backend
		{"authorization_id with password", cass, func(p *schema.Profile) { p.Auth.AuthorizationID = "admin" },
			"auth.authorization_id", "authorization_id applies to mechanism sasl_plain only (mechanism is password)"},
		{"allowed_authenticators on riak", riak, func(p *schema.Profile) { p.Auth.AllowedAuthenticators = []string{"x"} },
			"auth.allowed_authenticators", "allowed_authenticators applies to cassandra with mechanism password or sasl_plain only"},
		{"allowed_authenticators with none", cass, func(p *schema.Profile) {
			p.Auth = &schema.Auth{Mechanism: schema.MechanismNone, AllowedAuthenticators: []string{"x"}}
		}, "auth.allowed_authenticators", "allowed_authenticators applies to cassandra"},
		{"allowed_authenticators empty entry", cass, func(p *schema.Profile) { p.Auth.AllowedAuthenticators = []string{" "} },
			"auth.allowed_authenticators[0]", "authenticator class name is empty"},
		{"per_host on riak", riak, func(p *schema.Profile) {
			p.Auth.PerHost = []schema.HostCredentials{{Host: "h", Username: "u", Password: &schema.SecretSource{Env: "P"}}}
		}, "auth.per_host", "per_host applies to cassandra with mechanism password or sasl_plain only"},
		{"per_host with mechanism none", cass, func(p *schema.Profile) {
			p.Auth.Mechanism, p.Auth.Username, p.Auth.Password, p.Auth.AllowedAuthenticators = schema.MechanismNone, "", nil, nil
		}, "auth.per_host", "per_host applies to cassandra"},
		{"per_host without host", cass, func(p *schema.Profile) { p.Auth.PerHost[0].Host = "" }, "auth.per_host[0].host", "host is required"},
		{"per_host without username", cass, func(p *schema.Profile) { p.Auth.PerHost[0].Username = "" }, "auth.per_host[0].username", "username is required"},
		{"per_host without password", cass, func(p *schema.Profile) { p.Auth.PerHost[0].Password = nil }, "auth.per_host[0].password", "password is required"},
		// secret and material sources
		{"secret with two sources", cass, func(p *schema.Profile) { p.Auth.Password.Value = secretValue },
			"auth.password", "set only one of value, env or file (found value, env)"},
		{"secret empty", cass, func(p *schema.Profile) { p.Auth.Password = &schema.SecretSource{} }, "auth.password", "secret is empty"},
		{"per_host secret with two sources", cass, func(p *schema.Profile) { p.Auth.PerHost[0].Password.File = "f" },
			"auth.per_host[0].password", "set only one of value, env or file"},
		{"passphrase with two sources", cass, func(p *schema.Profile) { p.TLS.Key.Passphrase.Value = secretValue },
			"tls.key.passphrase", "set only one of value, env or file"},
		{"material with two sources", cass, func(p *schema.Profile) { p.TLS.CA[0].PEM = secretValue },
			"tls.ca[0]", "set only one of file, env, pem, base64, env_base64 or \"system\" (found file, pem)"},
		{"material empty", cass, func(p *schema.Profile) { p.TLS.Cert = &schema.MaterialSource{} }, "tls.cert", "source is empty"},
		{"crl entry empty", cass, func(p *schema.Profile) { p.TLS.CRL = append(p.TLS.CRL, schema.MaterialSource{}) }, "tls.crl[1]", "source is empty"},
		{"system for key", cass, func(p *schema.Profile) { p.TLS.Key = &schema.MaterialSource{System: true} }, "tls.key", `"system" is accepted for tls.ca only`},
		{"system for crl", cass, func(p *schema.Profile) { p.TLS.CRL[0] = schema.MaterialSource{System: true} }, "tls.crl[0]", `"system" is accepted for tls.ca only`},
	}
	// Every setting of a disabled tls section is reported by name.
	for _, key := range []string{"ca", "cert", "key", "pkcs12", "crl", "crl_stale", "ciphers", "min_version", "max_version", "server_name", "reload"} {
		cases = append(cases, ruleCase{"disable with " + key, cass, func(p *schema.Profile) {
			full := p.TLS
			p.Auth = nil
			p.TLS = &schema.TLS{Mode: schema.TLSDisable}
			switch key {
			case "ca":
				p.TLS.CA = full.CA
			case "cert":
				p.TLS.Cert = full.Cert
			case "key":
				p.TLS.Key = full.Key
			case "pkcs12":
				p.TLS.PKCS12 = &schema.MaterialSource{File: "c.p12"}
			case "crl":
				p.TLS.CRL = full.CRL
			case "crl_stale":
				p.TLS.CRLStale = full.CRLStale
			case "ciphers":
				p.TLS.Ciphers = full.Ciphers
			case "min_version":
				p.TLS.MinVersion = full.MinVersion
			case "max_version":
				p.TLS.MaxVersion = full.MaxVersion
			case "server_name":
				p.TLS.ServerName = full.ServerName
			case "reload":
				p.TLS.Reload = full.Reload
			}
		}, "tls." + key, "tls.mode is disable but tls." + key + " is set"})
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := c.base()
			c.mutate(p)
			ps := validate.Profile("p", p, nil)
			require.Len(t, ps, 1, "problems: %v", ps)
			require.Equal(t, "profiles.p."+c.path, ps[0].Path)
			require.Contains(t, ps[0].Message, c.msg)
			require.NotContains(t, ps[0].Message, secretValue)
			require.NotContains(t, ps.Error(), secretValue)
		})
	}
}

func TestRulesPass(t *testing.T) {
	cases := []ruleCase{
		{name: "riak backend", base: riak, mutate: func(*schema.Profile) {}},
		{name: "single host without port", base: cass, mutate: func(p *schema.Profile) { p.Hosts = []string{"db1"} }},
		{name: "hosts of every shape", base: cass, mutate: func(p *schema.Profile) {
			p.Hosts = []string{"db1", "db1.internal:1", "db_1-a.internal:65535", "10.0.0.1", "10.0.0.1:9042", "[::1]", "[fe80::1%eth0]:9042", "DB1.Internal"}
		}},
		{name: "protocol 0", base: cass, mutate: func(p *schema.Profile) { p.ProtocolVersion = 0 }},
		{name: "protocol 3", base: cass, mutate: func(p *schema.Profile) { p.ProtocolVersion = 3 }},
		{name: "protocol 5", base: cass, mutate: func(p *schema.Profile) { p.ProtocolVersion = 5 }},
		{name: "consistency one", base: cass, mutate: func(p *schema.Profile) { p.Consistency = "one" }},
		{name: "consistency each_quorum", base: cass, mutate: func(p *schema.Profile) { p.Consistency = "each_quorum" }},
		{name: "consistency unset", base: cass, mutate: func(p *schema.Profile) { p.Consistency = "" }},
		{name: "durations zero", base: cass, mutate: func(p *schema.Profile) { p.ConnectTimeout, p.Timeout, p.TLS.Reload = 0, 0, 0 }},
		{name: "cassandra none", base: cass, mutate: func(p *schema.Profile) { p.Auth = &schema.Auth{Mechanism: schema.MechanismNone} }},
		{name: "cassandra no auth section", base: cass, mutate: func(p *schema.Profile) { p.Auth = nil }},
		{name: "cassandra empty mechanism is none", base: cass, mutate: func(p *schema.Profile) { p.Auth = &schema.Auth{} }},
		{name: "cassandra sasl_plain with authorization_id", base: cass, mutate: func(p *schema.Profile) {
			p.Auth.Mechanism = schema.MechanismSASLPlain
			p.Auth.AuthorizationID = "admin"
		}},
		{name: "cassandra password over plaintext", base: cass, mutate: func(p *schema.Profile) { p.TLS = nil }},
		{name: "riak plaintext without auth", base: riak, mutate: func(p *schema.Profile) { p.Auth, p.TLS = nil, nil }},
		{name: "riak trust", base: riak, mutate: func(p *schema.Profile) { p.Auth = &schema.Auth{Mechanism: schema.MechanismTrust, Username: "u"} }},
		{name: "riak pam", base: riak, mutate: func(p *schema.Profile) { p.Auth.Mechanism = schema.MechanismPAM }},
		{name: "riak certificate with cert and key", base: riak, mutate: func(p *schema.Profile) {
			p.Auth = &schema.Auth{Mechanism: schema.MechanismCertificate, Username: "client1"}
			p.TLS.Cert = &schema.MaterialSource{File: "c.pem"}
			p.TLS.Key = &schema.MaterialSource{File: "c.key"}
		}},
		{name: "riak certificate with pkcs12", base: riak, mutate: func(p *schema.Profile) {
			p.Auth = &schema.Auth{Mechanism: schema.MechanismCertificate, Username: "client1"}
			p.TLS.PKCS12 = &schema.MaterialSource{File: "c.p12", Passphrase: &schema.SecretSource{Env: "P12_PASS"}}
		}},
		{name: "riak tls with default mode", base: riak, mutate: func(p *schema.Profile) { p.TLS = &schema.TLS{} }},
		{name: "insecure with a ca", base: riak, mutate: func(p *schema.Profile) { p.TLS.Mode = schema.TLSInsecure }},
		{name: "verify-ca", base: cass, mutate: func(p *schema.Profile) { p.TLS.Mode = schema.TLSVerifyCA }},
		{name: "tls disable alone", base: cass, mutate: func(p *schema.Profile) { p.TLS = &schema.TLS{Mode: schema.TLSDisable} }},
		{name: "no client cert", base: cass, mutate: func(p *schema.Profile) { p.TLS.Cert, p.TLS.Key = nil, nil }},
		{name: "pkcs12 alone", base: cass, mutate: func(p *schema.Profile) {
			p.TLS.Cert, p.TLS.Key = nil, nil
			p.TLS.PKCS12 = &schema.MaterialSource{File: "c.p12"}
		}},
		{name: "crl with a file ca", base: cass, mutate: func(p *schema.Profile) { p.TLS.CA = p.TLS.CA[:1] }},
		{name: "no crl and system ca", base: cass, mutate: func(p *schema.Profile) {
			p.TLS.CRL = nil
			p.TLS.CA = []schema.MaterialSource{{System: true}}
		}},
		{name: "versions unset", base: cass, mutate: func(p *schema.Profile) { p.TLS.MinVersion, p.TLS.MaxVersion = "", "" }},
		{name: "tls 1.3 only", base: cass, mutate: func(p *schema.Profile) { p.TLS.MinVersion, p.TLS.MaxVersion = "1.3", "1.3" }},
		{name: "min 1.3 with default max", base: cass, mutate: func(p *schema.Profile) { p.TLS.MinVersion, p.TLS.MaxVersion = "1.3", "" }},
		{name: "legacy allowed", base: cass, mutate: func(p *schema.Profile) {
			p.TLS.MinVersion, p.TLS.MaxVersion, p.TLS.AllowLegacyVersions = "1.0", "1.1", true
		}},
		{name: "crl_stale warn", base: cass, mutate: func(p *schema.Profile) { p.TLS.CRLStale = schema.CRLStaleWarn }},
		{name: "per_host absent", base: cass, mutate: func(p *schema.Profile) { p.Auth.PerHost = nil }},
		{name: "allowed_authenticators with sasl_plain", base: cass, mutate: func(p *schema.Profile) { p.Auth.Mechanism = schema.MechanismSASLPlain }},
		{name: "literal secret", base: cass, mutate: func(p *schema.Profile) { p.Auth.Password = &schema.SecretSource{Value: secretValue} }},
		{name: "secret from the environment (its value is the loaders' to judge)", base: cass, mutate: func(p *schema.Profile) {
			p.Auth.Password = &schema.SecretSource{Env: "CASS_PW"}
		}},
		{name: "material given inline", base: cass, mutate: func(p *schema.Profile) {
			p.TLS.Cert = &schema.MaterialSource{PEM: "-----BEGIN CERTIFICATE-----"}
		}},
		{name: "material of each kind", base: cass, mutate: func(p *schema.Profile) {
			p.TLS.CA = []schema.MaterialSource{{Env: "CA_PEM"}, {PEM: "pem"}, {Base64: "b64"}, {EnvBase64: "CA_B64"}, {System: true}}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := c.base()
			c.mutate(p)
			require.Empty(t, validate.Profile("p", p, nil))
		})
	}
}

func TestProfileNames(t *testing.T) {
	for _, name := range []string{"cass_prod", "a", "riak2", "_x_"} {
		require.Empty(t, validate.Profile(name, cass(), nil), name)
	}
	for _, name := range []string{"Cass_prod", "cass-prod", "cass.prod", "", "späti"} {
		ps := validate.Profile(name, cass(), nil)
		require.Len(t, ps, 1, name)
		require.Equal(t, "profiles."+name, ps[0].Path)
		require.Contains(t, ps[0].Message, "use lowercase letters, digits and _")
	}
}

func TestNilProfile(t *testing.T) {
	ps := validate.Profile("p", nil, nil)
	require.Len(t, ps, 1)
	require.Equal(t, "profiles.p", ps[0].Path)
	require.Contains(t, ps[0].Message, "profile is empty")
}

func TestAllProblemsAtOnce(t *testing.T) {
	p := cass()
	p.Hosts[1] = "http://db2"                         // 1
	p.ProtocolVersion = 2                             // 2
	p.Auth.Password = nil                             // 3
	p.TLS.Key = nil                                   // 4
	p.TLS.MinVersion, p.TLS.MaxVersion = "1.3", "1.2" // 5
	ps := validate.Profile("p", p, nil)
	require.Len(t, ps, 5, "problems: %v", ps)
	paths := make([]string, len(ps))
	for i, pr := range ps {
		paths[i] = pr.Path
	}
	require.Equal(t, []string{
		"profiles.p.auth.password",
		"profiles.p.hosts[1]",
		"profiles.p.protocol_version",
		"profiles.p.tls.key",
		"profiles.p.tls.min_version",
	}, paths)
}

func TestConfigSourcesAndOrder(t *testing.T) {
	bad := riak()
	bad.Hosts = []string{"riak1", "riak2:99999"}
	bad.TLS.Key = &schema.MaterialSource{File: "k.pem"}
	worse := cass()
	worse.Backend = ""
	cfg := &schema.Config{
		Profiles: map[string]*schema.Profile{"good": cass(), "bad": bad, "worse": worse},
		Origins: schema.NewOrigins(map[string]string{
			"profiles.bad.hosts":    "/etc/app/profiles.toml",
			"profiles.bad.tls":      "/etc/app/profiles.toml",
			"profiles.bad.tls.key":  "CONNFACTORY_PROFILES__BAD__TLS__KEY__FILE",
			"profiles.worse.hosts":  "base.yaml",
			"profiles.good.backend": "base.yaml",
		}),
	}
	ps := validate.Config(cfg)
	require.Equal(t, schema.Problems{
		{Path: "profiles.bad.hosts[1]", Message: `host "riak2:99999": port "99999" is not valid: accepted 1 to 65535`, Source: "/etc/app/profiles.toml"},
		{Path: "profiles.bad.tls.cert", Message: "tls.key is set but tls.cert is not: a private key needs its client certificate", Source: "/etc/app/profiles.toml"},
		{Path: "profiles.worse.backend", Message: "backend is required: accepted cassandra, riak"},
	}, ps)
	require.True(t, errors.Is(ps.Err(), schema.ErrInvalid))
	require.Contains(t, ps.Error(), "profiles.bad.hosts[1]: host \"riak2:99999\"")
	require.Contains(t, ps.Error(), "(from /etc/app/profiles.toml)")

	// A problem at a key with its own origin names that origin, not the section's.
	bad.TLS.Cert = &schema.MaterialSource{File: "c.pem"}
	bad.TLS.PKCS12 = &schema.MaterialSource{File: "c.p12"}
	ps = validate.Config(cfg)
	require.Contains(t, ps, schema.Problem{Path: "profiles.bad.tls.pkcs12",
		Message: "tls.pkcs12 replaces tls.cert and tls.key: set one or the other", Source: "/etc/app/profiles.toml"})

	cfg.Origins.Set("profiles.bad.tls.pkcs12", "CONNFACTORY_PROFILES__BAD__TLS__PKCS12__FILE")
	ps = validate.Config(cfg)
	require.Contains(t, ps, schema.Problem{Path: "profiles.bad.tls.pkcs12",
		Message: "tls.pkcs12 replaces tls.cert and tls.key: set one or the other", Source: "CONNFACTORY_PROFILES__BAD__TLS__PKCS12__FILE"})
}

func TestConfigEdgeCases(t *testing.T) {
	require.Empty(t, validate.Config(&schema.Config{}))
	require.NotEmpty(t, validate.Config(nil))
	// Defaults are not validated on their own: they have no backend or hosts by design.
	require.Empty(t, validate.Config(&schema.Config{
		Defaults: schema.Profile{ConnectTimeout: schema.Duration(time.Second)},
		Profiles: map[string]*schema.Profile{"a": cass()},
	}))
}

func TestConcurrentUse(t *testing.T) {
	done := make(chan schema.Problems)
	for i := range 8 {
		go func() {
			p := cass()
			p.ProtocolVersion = i % 3 // 0 valid, 1 and 2 not
			done <- validate.Profile(fmt.Sprintf("p%d", i), p, nil)
		}()
	}
	bad := 0
	for range 8 {
		bad += len(<-done)
	}
	require.Equal(t, 5, bad) // i%3 in {1,2} for i = 1,2,4,5,7
}

func TestWarnings(t *testing.T) {
	p := riak()
	p.TLS.Mode = schema.TLSInsecure
	p.TLS.MinVersion, p.TLS.AllowLegacyVersions = "1.0", true
	p.TLS.AllowInsecureCiphers = true
	p.TLS.CRLStale = schema.CRLStaleWarn
	p.Auth.Password = &schema.SecretSource{Value: secretValue}

	plain := cass()
	plain.TLS = nil
	plain.Auth.PerHost[0].Password = &schema.SecretSource{Value: secretValue}

	good := cass()
	good.Hosts = []string{"db1.internal:9042", "db2.internal", "10.0.0.7", "[::1]:9042"}
	plain.Hosts = []string{"db1.internal:9142", "db2.internal", "10.0.0.7:9142"}

	cfg := &schema.Config{
		Profiles: map[string]*schema.Profile{"weak": p, "plain": plain, "good": good, "unused": {
			Backend: schema.Cassandra, Hosts: []string{"h"}, Auth: &schema.Auth{Username: "u"},
			TLS: &schema.TLS{Mode: schema.TLSVerifyCA},
		}},
		Origins: schema.NewOrigins(map[string]string{"profiles.weak.tls.mode": "weak.toml"}),
	}
	require.Empty(t, validate.Config(cfg))
	ws := validate.Warnings(cfg)
	got := map[string]string{}
	for _, w := range ws {
		got[w.Path] = w.Message
		require.NotContains(t, w.Message, secretValue)
	}
	require.Contains(t, got["profiles.weak.tls.mode"], "mode insecure verifies nothing")
	require.Contains(t, got["profiles.weak.tls.min_version"], "TLS 1.0 is allowed")
	require.Contains(t, got["profiles.weak.tls.allow_insecure_ciphers"], "insecure are allowed")
	require.Contains(t, got["profiles.weak.tls.crl_stale"], "still used")
	require.Contains(t, got["profiles.weak.auth.password"], "written in the configuration")
	require.Contains(t, got["profiles.plain.tls"], "credentials (mechanism password) travel in plaintext")
	require.Contains(t, got["profiles.plain.auth.per_host[0].password"], "written in the configuration")
	require.Contains(t, got["profiles.unused.tls.mode"], "verify-ca does not check the server's name")
	require.Contains(t, got["profiles.unused.auth.mechanism"], "not used")
	require.Equal(t, "the hosts name different ports (9142, 9042): nodes discovered through system.peers are dialled on the first host's, 9142; every node of a cluster normally listens on one port",
		got["profiles.plain.hosts"])
	require.Len(t, ws, 10, "warnings: %v", ws)
	for _, w := range ws {
		if w.Path == "profiles.weak.tls.mode" {
			require.Equal(t, "weak.toml", w.Source)
		}
		require.False(t, strings.HasPrefix(w.Path, "profiles.good"), "good profile warned: %v", w)
	}
	require.Empty(t, validate.Warnings(nil))
	require.Empty(t, validate.ProfileWarnings("x", nil, nil))
	ws = validate.ProfileWarnings("x", &schema.Profile{Backend: schema.Cassandra, Hosts: []string{"h"}}, nil)
	require.Equal(t, []schema.Warning{{Path: "profiles.x.tls", Message: "the connection is not encrypted"}}, ws)
}

// TestWarningVariableLookalike: a literal password that looks like a shell variable is
// not expanded; the warning suggests the env source instead (and no generic warning).
func TestWarningVariableLookalike(t *testing.T) {
	for _, lit := range []string{"$CASS_PW", "${CASS_PW}"} {
		p := cass()
		p.Auth = &schema.Auth{Mechanism: schema.MechanismPassword, Username: "u",
			Password: &schema.SecretSource{Value: schema.Secret(lit)},
			PerHost:  []schema.HostCredentials{{Host: "h", Username: "v", Password: &schema.SecretSource{Value: schema.Secret(lit)}}}}
		ws := validate.ProfileWarnings("p", p, nil)
		var got []string
		for _, w := range ws {
			got = append(got, w.String())
		}
		require.Contains(t, got, `profiles.p.auth.password: the password is a literal that looks like a variable: variables are not expanded in a password; did you mean { env = "CASS_PW" }?`, lit)
		require.Contains(t, got, `profiles.p.auth.per_host[0].password: the password is a literal that looks like a variable: variables are not expanded in a password; did you mean { env = "CASS_PW" }?`, lit)
		require.NotContains(t, strings.Join(got, "\n"), "written in the configuration")
	}
	p := cass()
	p.Auth = &schema.Auth{Mechanism: schema.MechanismPassword, Username: "u", Password: &schema.SecretSource{Value: "$5ecret"}}
	for _, w := range validate.ProfileWarnings("p", p, nil) {
		require.NotContains(t, w.Message, "did you mean", "not a variable name")
	}
}

// TestEnumDidYouMean: a wrong-case or mistyped enum value gets a suggestion.
func TestEnumDidYouMean(t *testing.T) {
	p := cass()
	p.Auth = &schema.Auth{Mechanism: "Password", Username: "u", Password: &schema.SecretSource{Env: "X"}}
	p.TLS = &schema.TLS{Mode: "Verify-Full", CRLStale: "Warn"}
	p.Consistency = "LOCAL_QUORUM"
	p.Backend = "cassandra"
	got := map[string]string{}
	for _, pr := range validate.Profile("p", p, nil) {
		got[pr.Path] = pr.Message
	}
	require.Equal(t, `mechanism "Password" is not accepted for cassandra: accepted none, password, sasl_plain; did you mean "password"?`, got["profiles.p.auth.mechanism"])
	require.Equal(t, `tls mode "Verify-Full" is not known: accepted disable, insecure, verify-ca, verify-full; did you mean "verify-full"?`, got["profiles.p.tls.mode"])
	require.Equal(t, `crl_stale "Warn" is not known: accepted fail, warn; did you mean "warn"?`, got["profiles.p.tls.crl_stale"])
	require.Contains(t, got["profiles.p.consistency"], `did you mean "local_quorum"?`)
	p = cass()
	p.Backend = "Riak"
	require.Contains(t, validate.Profile("p", p, nil).Error(), `did you mean "riak"?`)
	p.Backend = "mongodb"
	require.NotContains(t, validate.Profile("p", p, nil).Error(), "did you mean")
}

func TestMechanismWithUnknownBackend(t *testing.T) {
	p := cass()
	p.Backend = "mongo"
	p.Auth = &schema.Auth{Mechanism: "kerberos", Username: "u"}
	ps := validate.Profile("p", p, nil)
	require.Len(t, ps, 2, "problems: %v", ps)
	require.Equal(t, "profiles.p.auth.mechanism", ps[0].Path)
	require.Equal(t, `mechanism "kerberos" is not known: accepted none, password, sasl_plain, trust, pam, certificate`, ps[0].Message)
	require.Equal(t, "profiles.p.backend", ps[1].Path)

	p.Auth.Mechanism = schema.MechanismPAM
	p.Auth.Password = &schema.SecretSource{Env: "X"}
	ps = validate.Profile("p", p, nil)
	require.Len(t, ps, 1, "problems: %v", ps)
	require.Equal(t, "profiles.p.backend", ps[0].Path)
}
