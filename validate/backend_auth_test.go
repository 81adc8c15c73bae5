package validate_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/validate"
)

// TestBackendAuth: the rules the factory applies to a profile it is handed are the ones
// Profile reports, at the same paths (relative to the profile) with the same messages.
func TestBackendAuth(t *testing.T) {
	require.Empty(t, validate.BackendAuth(riak()))
	require.Empty(t, validate.BackendAuth(cass()))
	require.Empty(t, validate.BackendAuth(nil))
	cases := []struct {
		name   string
		base   func() *schema.Profile
		mutate func(p *schema.Profile)
		path   string
		msg    string
	}{
		{"riak auth without tls", riak, func(p *schema.Profile) { p.TLS = nil },
			"auth.mechanism", "riak refuses authentication without TLS: mechanism password needs a tls section whose mode is insecure, verify-ca or verify-full"},
		{"riak tls without auth", riak, func(p *schema.Profile) { p.Auth = nil },
			"auth.mechanism", `riak cannot use TLS without authentication (its client starts TLS only to authenticate): set auth.mechanism to one of trust, password, pam, certificate, or tls.mode = "disable"`},
		{"riak cassandra mechanism", riak, func(p *schema.Profile) { p.Auth.Mechanism = schema.MechanismSASLPlain },
			"auth.mechanism", `mechanism "sasl_plain" is not accepted for riak: accepted none, trust, password, pam, certificate`},
		{"cassandra riak mechanism", cass, func(p *schema.Profile) { p.Auth.Mechanism = schema.MechanismPAM },
			"auth.mechanism", `mechanism "pam" is not accepted for cassandra: accepted none, password, sasl_plain`},
		{"no username", riak, func(p *schema.Profile) { p.Auth.Username = "" },
			"auth.username", "mechanism password needs a username"},
		{"no password", riak, func(p *schema.Profile) { p.Auth.Password = nil },
			"auth.password", `mechanism password needs a password: a literal, {env = "VAR"} or {file = "path"}`},
		{"certificate without cert", riak, func(p *schema.Profile) { p.Auth.Mechanism = schema.MechanismCertificate },
			"tls.cert", "mechanism certificate needs a client certificate: tls.cert and tls.key, tls.pkcs12 or tls.keystore"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.base()
			tc.mutate(p)
			ps := validate.BackendAuth(p)
			require.Contains(t, ps, schema.Problem{Path: tc.path, Message: tc.msg})
			full := validate.Profile("p", p, nil)
			require.Contains(t, full, schema.Problem{Path: "profiles.p." + tc.path, Message: tc.msg})
		})
	}
}
