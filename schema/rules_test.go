package schema_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/schema"
)

func TestParseHost(t *testing.T) {
	ok := []struct {
		in      string
		backend schema.Backend
		name    string
		port    int
		str     string
	}{
		{"db1", schema.Cassandra, "db1", 9042, "db1:9042"},
		{"db1", schema.Riak, "db1", 8087, "db1:8087"},
		{"db1", "", "db1", 9042, "db1:9042"},
		{"db1.internal:9142", schema.Cassandra, "db1.internal", 9142, "db1.internal:9142"},
		{"10.0.0.7:8098", schema.Riak, "10.0.0.7", 8098, "10.0.0.7:8098"},
		{"[::1]", schema.Cassandra, "::1", 9042, "[::1]:9042"},
		{"[2001:db8::1]:9043", schema.Riak, "2001:db8::1", 9043, "[2001:db8::1]:9043"},
		{"my_host-2:1", schema.Cassandra, "my_host-2", 1, "my_host-2:1"},
		{"h:65535", schema.Cassandra, "h", 65535, "h:65535"},
	}
	for _, tc := range ok {
		t.Run(tc.in, func(t *testing.T) {
			h, err := schema.ParseHost(tc.in, tc.backend)
			require.NoError(t, err)
			require.Equal(t, schema.Host{Name: tc.name, Port: tc.port}, h)
			require.Equal(t, tc.str, h.String())
		})
	}
	bad := []struct{ in, msg string }{
		{"", "host is empty: write host[:port]"},
		{"db 2", `host "db 2" contains spaces: write host[:port]`},
		{" db2", `host " db2" contains spaces: write host[:port]`},
		{"tcp://db2:9042", `host "tcp://db2:9042" has a scheme or path: write host[:port] only, like db1.internal:9042`},
		{"db1/x", `host "db1/x" has a scheme or path: write host[:port] only, like db1.internal:9042`},
		{"db1:0", `host "db1:0": port "0" is not valid: accepted 1 to 65535`},
		{"db1:65536", `host "db1:65536": port "65536" is not valid: accepted 1 to 65535`},
		{"db1:+80", `host "db1:+80": port "+80" is not valid: accepted 1 to 65535`},
		{"db1:http", `host "db1:http": port "http" is not valid: accepted 1 to 65535`},
		{"db1:", `host "db1:": port "" is not valid: accepted 1 to 65535`},
		{":9042", `host ":9042" has no host name before the port`},
		{"::1", `host "::1": write an IPv6 address in brackets, [addr] or [addr]:port`},
		{"2001:db8::1:9042", `host "2001:db8::1:9042": write an IPv6 address in brackets, [addr] or [addr]:port`},
		{"[db1]:9042", `host "[db1]:9042": "db1" in brackets is not an IPv6 address`},
		{"[10.0.0.1]", `host "[10.0.0.1]": "10.0.0.1" in brackets is not an IPv6 address`},
		{"[::1:9042", `host "[::1:9042" has no closing ]: write IPv6 as [addr] or [addr]:port`},
		{"[::1]:0", `host "[::1]:0": port "0" is not valid: accepted 1 to 65535`},
		{"[::1]x", `host "[::1]x": after ] only :port may follow`},
		{"db1@x:9042", `host "db1@x:9042": "db1@x" is not a host name or IP address`},
	}
	for _, tc := range bad {
		t.Run("bad "+tc.in, func(t *testing.T) {
			_, err := schema.ParseHost(tc.in, schema.Cassandra)
			require.EqualError(t, err, tc.msg)
		})
	}
}

func TestHostsPath(t *testing.T) {
	require.Equal(t, "hosts[3]", schema.HostsPath(3))
}

func TestEnums(t *testing.T) {
	var union []schema.Mechanism
	for _, b := range schema.Backends {
		for _, m := range schema.MechanismsFor(b) {
			if !slices.Contains(union, m) {
				union = append(union, m)
			}
		}
		require.Subset(t, schema.Mechanisms, schema.MechanismsFor(b))
	}
	require.Equal(t, union, schema.Mechanisms, "Mechanisms is every backend's, in order")
	require.Nil(t, schema.MechanismsFor("mongo"))
	require.Equal(t, "none, password, sasl_plain", schema.Accepted(schema.MechanismsFor(schema.Cassandra)))
	require.Equal(t, "none, trust, password, pam, certificate", schema.Accepted(schema.MechanismsFor(schema.Riak)))
	require.Equal(t, "cassandra, riak", schema.Accepted(schema.Backends))
	require.Equal(t, "fail, warn", schema.Accepted(schema.CRLStales))
	require.Equal(t, "disable, insecure, verify-ca, verify-full", schema.Accepted(schema.TLSModes))
	require.Contains(t, schema.Consistencies, schema.DefaultConsistency)
	require.NotContains(t, schema.Consistencies, "serial")
	require.Equal(t, []int{0, 3, 4, 5}, schema.ProtocolVersions)
	require.Equal(t, "", schema.Accepted([]string(nil)))
	for _, v := range schema.TLSVersionNames {
		require.Contains(t, schema.TLSVersions, schema.TLSVersion(v))
	}
}

func TestProfileName(t *testing.T) {
	for _, name := range []string{"a", "cass_prod", "p0", "_", "0"} {
		require.True(t, schema.ValidProfileName(name), name)
	}
	for _, name := range []string{"", "Prod", "cass-prod", "a.b", "é", "a b"} {
		require.False(t, schema.ValidProfileName(name), name)
	}
	require.Equal(t, `profile name "Prod" is not accepted: use lowercase letters, digits and _ `+
		`(names must survive the trip through environment variable names)`, schema.ProfileNameProblem("Prod"))
}

func TestTLSSources(t *testing.T) {
	var nilTLS *schema.TLS
	for range nilTLS.Sources() {
		t.Fatal("a nil TLS has no sources")
	}
	tl := &schema.TLS{
		CA:     []schema.MaterialSource{{File: "ca1"}, {System: true}},
		Key:    &schema.MaterialSource{File: "key", Passphrase: &schema.SecretSource{Env: "P"}},
		Cert:   &schema.MaterialSource{File: "cert"},
		PKCS12: &schema.MaterialSource{File: "p12"},
		CRL:    []schema.MaterialSource{{File: "crl1"}, {File: "crl2"}},
	}
	var keys []string
	for key, m := range tl.Sources() {
		keys = append(keys, key+"="+m.Describe())
	}
	require.Equal(t, []string{"ca[0]=file ca1", "ca[1]=system", "cert=file cert", "key=file key",
		"pkcs12=file p12", "crl[0]=file crl1", "crl[1]=file crl2"}, keys)

	// The pointers are t's own.
	for _, m := range tl.Sources() {
		m.Env = "SEEN"
	}
	require.Equal(t, "SEEN", tl.CA[1].Env)
	require.Equal(t, "SEEN", tl.PKCS12.Env)
	require.Equal(t, "SEEN", tl.CRL[1].Env)

	// Absent sources are skipped; a break stops the walk.
	only := &schema.TLS{Key: &schema.MaterialSource{File: "k"}, CRL: []schema.MaterialSource{{File: "c"}}}
	keys = nil
	for key := range only.Sources() {
		keys = append(keys, key)
		break
	}
	require.Equal(t, []string{"key"}, keys)

	var ca []string
	for key := range tl.Sources() {
		if schema.IsCAPath(key) {
			ca = append(ca, key)
		}
	}
	require.Equal(t, []string{"ca[0]", "ca[1]"}, ca)
}

func TestAuthSecrets(t *testing.T) {
	var nilAuth *schema.Auth
	for range nilAuth.Secrets() {
		t.Fatal("a nil Auth has no secrets")
	}
	a := &schema.Auth{
		Password: &schema.SecretSource{Env: "PW"},
		PerHost: []schema.HostCredentials{
			{Host: "h0", Password: &schema.SecretSource{File: "f0"}},
			{Host: "h1"},
			{Host: "h2", Password: &schema.SecretSource{Value: "v"}},
		},
	}
	var got []string
	for key, s := range a.Secrets() {
		got = append(got, key+"="+s.Describe())
	}
	require.Equal(t, []string{"password=env PW", "per_host[0].password=file f0", "per_host[2].password=literal"}, got)
	got = nil
	for key := range a.Secrets() {
		got = append(got, key)
		if len(got) == 2 {
			break
		}
	}
	require.Equal(t, []string{"password", "per_host[0].password"}, got)
}
