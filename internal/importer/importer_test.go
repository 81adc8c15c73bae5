package importer_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/internal/importer"
	"github.com/connfactory/connfactory/schema"
)

// cqlshrc imports content as dir/cqlshrc, with dir as the working and home directory.
func cqlshrc(t *testing.T, content string) (*importer.Result, error) {
	t.Helper()
	dir := t.TempDir()
	return importer.Cqlshrc(filepath.Join(dir, "cqlshrc"), []byte(content), importer.Options{Dir: dir, Home: dir})
}

func notes(r *importer.Result, kind importer.Kind) []string {
	var out []string
	for _, n := range r.Notes {
		if n.Kind == kind {
			out = append(out, n.Setting)
		}
	}
	return out
}

// TestCqlshrcConfigParser covers configparser's rules as cqlsh meets them.
func TestCqlshrcConfigParser(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		hosts    []string
		keyspace string
	}{
		{"colon delimiter and option names in any case", "[connection]\nHostName: db1\nPORT = 9043\n", []string{"db1:9043"}, ""},
		{"comments and blank lines", "# c\n; c\n\n[connection]\n  # indented comment\nhostname = db1\n", []string{"db1:9042"}, ""},
		{"DEFAULT is inherited", "[DEFAULT]\nport = 9999\n[connection]\nhostname = db1\n", []string{"db1:9999"}, ""},
		{"interpolation", "[authentication]\nks = shop\nkeyspace = %(ks)s_%%\n", []string{"127.0.0.1:9042"}, "shop_%"},
		{"continuation line", "[authentication]\nkeyspace = a\n  b\n", []string{"127.0.0.1:9042"}, "a\nb"},
		{"no inline comments: ; is part of a value", "[authentication]\nkeyspace = k ; not a comment\n", []string{"127.0.0.1:9042"}, "k ; not a comment"},
		{"IPv6 hostname", "[connection]\nhostname = fd00::1\n", []string{"[fd00::1]:9042"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := cqlshrc(t, tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.hosts, r.Profile.Hosts)
			require.Equal(t, tc.keyspace, r.Profile.Keyspace)
		})
	}
}

// TestCqlshrcUnreadable covers files cqlsh itself stops on: the import fails with
// ErrSource and a line number where there is one.
func TestCqlshrcUnreadable(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"hostname = x\n":                                "line 1: \"hostname = x\" comes before any [section]",
		"[a]\n[a]\n":                                    "line 2: section [a] appears twice",
		"[a]\nx = 1\nX = 2\n":                           "line 3: option \"x\" appears twice in [a]",
		"[certfiles]\n::1 = ca.pem\n":                   "line 2: \"::1 = ca.pem\": configparser cannot parse this line",
		"[connection]\nport = 90x\n":                    "[connection] port = \"90x\" is not a port number",
		"[connection]\ntimeout = 2.5\n":                 "[connection] timeout = \"2.5\" is not an integer",
		"[connection]\nssl = true\n[ssl]\nssl_mode = x": "ssl_mode = \"x\"",
	} {
		_, err := cqlshrc(t, in)
		require.ErrorIs(t, err, importer.ErrSource, in)
		require.ErrorContains(t, err, want, in)
	}
}

// TestCqlshrcInterpolationError: cqlsh's option_with_default treats a value configparser
// cannot interpolate as missing; the import does the same and says so.
func TestCqlshrcInterpolationError(t *testing.T) {
	t.Parallel()
	r, err := cqlshrc(t, "[connection]\nhostname = 100%host\n")
	require.NoError(t, err)
	require.Equal(t, []string{"127.0.0.1:9042"}, r.Profile.Hosts)
	require.Equal(t, []string{"[connection] hostname"}, notes(r, importer.Dropped))
}

// TestCqlshrcValidate: validate is true unless it is "false" in any case (cqlsh's own
// test), so "no" or "0" still verify.
func TestCqlshrcValidate(t *testing.T) {
	t.Parallel()
	for v, mode := range map[string]schema.TLSMode{
		"false": schema.TLSInsecure, "FALSE": schema.TLSInsecure, "no": schema.TLSVerifyCA,
		"0": schema.TLSVerifyCA, "true": schema.TLSVerifyCA,
	} {
		r, err := cqlshrc(t, "[connection]\nssl = on\n[ssl]\ncertfile = /ca.pem\nvalidate = "+v+"\n")
		require.NoError(t, err)
		require.Equal(t, mode, r.Profile.TLS.Mode, "validate = %s", v)
		require.False(t, r.Refused())
	}
	for m, mode := range map[string]schema.TLSMode{
		"verify-identity": schema.TLSVerifyFull, "Verify-CA": schema.TLSVerifyCA, "require": schema.TLSInsecure,
	} {
		r, err := cqlshrc(t, "[connection]\nssl = 1\n[ssl]\ncertfile = /ca.pem\nvalidate = false\nssl_mode = "+m+"\n")
		require.NoError(t, err)
		require.Equal(t, mode, r.Profile.TLS.Mode, "ssl_mode = %s", m)
	}
}

// TestCqlshrcCredentialsPrecedence follows authproviderhandling: [auth_provider] <
// credentials file < [authentication] of the cqlshrc.
func TestCqlshrcCredentialsPrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "creds"), []byte("[PlainTextAuthProvider]\nusername = from_creds\npassword = %not-interpolated\n"), 0o600))
	rc := "[authentication]\ncredentials = creds\n[auth_provider]\nusername = from_provider\n"
	r, err := importer.Cqlshrc(filepath.Join(dir, "cqlshrc"), []byte(rc), importer.Options{Dir: dir, Name: "db"})
	require.NoError(t, err)
	require.Equal(t, "from_creds", r.Profile.Auth.Username)
	require.Equal(t, &schema.SecretSource{Env: "DB_PASSWORD"}, r.Profile.Auth.Password)
	require.Len(t, r.Env, 1)
	require.Equal(t, "DB_PASSWORD", r.Env[0].Name)

	_, err = importer.Cqlshrc(filepath.Join(dir, "cqlshrc"), []byte(rc+"[authentication]\n"), importer.Options{Dir: dir})
	require.Error(t, err, "a second [authentication] is a configparser error")
	r, err = importer.Cqlshrc(filepath.Join(dir, "cqlshrc"), []byte("[authentication]\ncredentials = creds\nusername = from_rc\n"), importer.Options{Dir: dir})
	require.NoError(t, err)
	require.Equal(t, "from_rc", r.Profile.Auth.Username)
	require.Nil(t, r.Profile.TLS)
}

func TestOptionsName(t *testing.T) {
	t.Parallel()
	_, err := importer.Cqlshrc("x", nil, importer.Options{Name: "Prod"})
	require.EqualError(t, err, `importer: profile name "Prod": use lowercase letters, digits and _ (names must survive environment variables)`)
}

// javaDriver imports content as dir/application.conf.
func javaDriver(t *testing.T, content string) (*importer.Result, error) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "application.conf")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return importer.JavaDriver(path, importer.Options{Dir: dir, Home: dir})
}

// TestJavaDurations: HOCON durations, strings with Typesafe Config's units, and bare
// numbers (milliseconds).
func TestJavaDurations(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{
		"3 seconds": 3 * time.Second, `"250 ms"`: 250 * time.Millisecond, "1500": 1500 * time.Millisecond,
		`"2m"`: 2 * time.Minute, "1 hour": time.Hour, `"1.5 s"`: 1500 * time.Millisecond,
	} {
		r, err := javaDriver(t, "datastax-java-driver.basic.request.timeout = "+in+"\n")
		require.NoError(t, err, in)
		require.Equal(t, schema.Duration(want), r.Profile.Timeout, in)
	}
	_, err := javaDriver(t, `datastax-java-driver.basic.request.timeout = "soon"`)
	require.ErrorIs(t, err, importer.ErrSource)
	require.ErrorContains(t, err, `basic.request.timeout = "soon": not a duration`)
}

// TestJavaSecretsNeverInNotes: a password, a key store password, a store path's
// neighbour secrets: no note or variable description holds their value.
func TestJavaSecretsNeverInNotes(t *testing.T) {
	t.Parallel()
	r, err := javaDriver(t, `datastax-java-driver.advanced {
  auth-provider { class = PlainTextAuthProvider, username = u, password = "pw-AAA", mystery = "pw-BBB" }
  ssl-engine-factory { class = DefaultSslEngineFactory, truststore-path = /ts.jks, truststore-password = "pw-CCC",
    keystore-path = /ks.p12, keystore-password = "pw-DDD" }
}`)
	require.NoError(t, err)
	require.True(t, r.Refused())
	var all strings.Builder
	for _, n := range r.Notes {
		all.WriteString(n.String() + "\n")
	}
	for _, v := range r.Env {
		all.WriteString(v.Name + v.What + "\n")
	}
	require.NotContains(t, all.String(), "pw-")
	require.ElementsMatch(t, []string{"advanced.auth-provider.mystery"}, notes(r, importer.Refused))
	var names []string
	for _, v := range r.Env {
		names = append(names, v.Name)
	}
	require.Equal(t, []string{"IMPORTED_PASSWORD", "IMPORTED_TRUSTSTORE_PASSWORD", "IMPORTED_KEYSTORE_PASSWORD"}, names)
	ts, ks := r.Profile.TLS.TrustStore, r.Profile.TLS.KeyStore
	require.Equal(t, "/ts.jks", ts.File)
	require.Equal(t, &schema.SecretSource{Env: "IMPORTED_TRUSTSTORE_PASSWORD"}, ts.Password)
	require.Equal(t, "/ks.p12", ks.File)
	require.Equal(t, &schema.SecretSource{Env: "IMPORTED_KEYSTORE_PASSWORD"}, ks.Password)
	require.Nil(t, ks.KeyPassword, "the driver decrypts the key with the store password, as the profile does by default")
}
