package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/connfactorytest"
)

// TestCheckFileWithoutDashC: `check FILE PROFILE` with nothing loaded suggests -c FILE.
func TestCheckFileWithoutDashC(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, t.TempDir(), map[string]string{"app.toml": cass("p", "")})
	res := runIn(t, dir, nil, "check", "app.toml", "p")
	require.Equal(t, 64, res.code, "%s", res)
	require.Contains(t, res.stderr, `no profile "app.toml": no profiles were loaded, and app.toml is a file: did you mean -c app.toml?`)

	// Not a file: say how to load profiles instead.
	res = runIn(t, dir, nil, "check", "p")
	require.Equal(t, 64, res.code, "%s", res)
	require.Contains(t, res.stderr, `no profile "p": no profiles were loaded (give -c FILE`)
	require.NotContains(t, res.stderr, "did you mean")

	// Profiles loaded: the list, as before.
	res = runIn(t, dir, nil, "check", "-c", "app.toml", "app.toml")
	require.Equal(t, 64, res.code, "%s", res)
	require.Contains(t, res.stderr, `no profile "app.toml" (profiles: p)`)
}

// TestShowNothingLoaded: show without any configuration says so and exits 64.
func TestShowNothingLoaded(t *testing.T) {
	t.Parallel()
	res := runIn(t, t.TempDir(), nil, "show")
	require.Equal(t, 64, res.code, "%s", res)
	require.Contains(t, res.stderr, "nothing loaded")
	require.Empty(t, res.stdout)
	dir := writeFiles(t, t.TempDir(), map[string]string{"app.toml": cass("p", "")})
	res = runIn(t, dir, nil, "show", "app.toml")
	require.Equal(t, 64, res.code, "%s", res)
	require.Contains(t, res.stderr, "did you mean -c app.toml?")
}

// TestShowReusableElsewhere: show's output, saved in another directory, validates from a
// third one: file sources are printed as absolute paths.
func TestShowReusableElsewhere(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"toml", "yaml", "json"} {
		res := runIn(t, moduleRoot, nil, "show", "-c", "examples/configs/cassandra.toml", "--format", format)
		require.Equal(t, 0, res.code, "%s", res)
		require.NotRegexp(t, `['" ]examples/configs/`, res.stdout) // not relative
		require.Contains(t, res.stdout, filepath.Join(moduleRoot, "examples", "configs", "certs", "ca.pem"))
		elsewhere := filepath.Join(t.TempDir(), "x."+format)
		require.NoError(t, os.WriteFile(elsewhere, []byte(res.stdout), 0o600))
		res = runIn(t, t.TempDir(), nil, "validate", "-c", elsewhere)
		require.Equal(t, 0, res.code, "%s: %s", format, res)
		require.Contains(t, res.stdout, "ok: ")
	}
}

// TestValidateManyProfiles: validate of 3,000 profiles prints the count and at most the
// first 20 names.
func TestValidateManyProfiles(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&b, "[profiles.p%04d]\nbackend = \"cassandra\"\nhosts = [\"localhost\"]\n", i)
	}
	dir := writeFiles(t, t.TempDir(), map[string]string{"many.toml": b.String()})
	res := runIn(t, dir, nil, "validate", "-c", "many.toml")
	require.Equal(t, 0, res.code, "%s", res.stderr[:min(len(res.stderr), 2000)])
	var names []string
	for i := range 20 {
		names = append(names, fmt.Sprintf("p%04d", i))
	}
	require.Equal(t, "ok: 3000 profile(s): "+strings.Join(names, ", ")+", ... and 2980 more\n", res.stdout)
}

// TestValidateAndCheckShowWeakWarnings: validate's weak-but-valid warnings (credentials
// over plaintext, a literal that looks like a variable) show in validate and check.
func TestValidateAndCheckShowWeakWarnings(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, t.TempDir(), map[string]string{"app.toml": `
[profiles.weak]
backend = "cassandra"
hosts = ["` + closedAddr(t) + `"]
connect_timeout = "1s"
auth = { mechanism = "password", username = "u", password = "${CASS_PW}" }
`})
	res := runIn(t, dir, nil, "validate", "-c", "app.toml")
	require.Equal(t, 0, res.code, "%s", res)
	require.Contains(t, res.stderr, `warning: profiles.weak.auth.password: the password is a literal that looks like a variable: variables are not expanded in a password; did you mean { env = "CASS_PW" }? (from app.toml)`)
	require.Contains(t, res.stderr, "warning: profiles.weak.tls: credentials (mechanism password) travel in plaintext: add a tls section")

	res = runIn(t, dir, nil, "check", "-c", "app.toml", "weak")
	require.Equal(t, 2, res.code, "%s", res)
	require.Contains(t, res.stdout, `  warning: profiles.weak.auth.password: the password is a literal that looks like a variable`)
	require.Contains(t, res.stdout, "  warning: profiles.weak.tls: credentials (mechanism password) travel in plaintext")
	require.Contains(t, res.stdout, "  error:   unreachable: ")
}

// TestEnumDidYouMeanCLI: mechanism = "Password" gets a suggestion.
func TestEnumDidYouMeanCLI(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, t.TempDir(), map[string]string{"app.toml": `
[profiles.p]
backend = "cassandra"
hosts = ["localhost"]
auth = { mechanism = "Password", username = "u", password = { env = "PW" } }
`})
	res := runIn(t, dir, []string{"PW=x"}, "validate", "-c", "app.toml")
	require.Equal(t, 1, res.code, "%s", res)
	require.Contains(t, res.stderr, `profiles.p.auth.mechanism: mechanism "Password" is not accepted for cassandra: accepted none, password, sasl_plain; did you mean "password"? (from app.toml)`)
}

// TestCheckReportKindOnceAndTLSAdvice: the human report prints the kind once, the host
// then the cause; a profile without TLS against a TLS port is advised to add [tls].
func TestCheckReportKindOnceAndTLSAdvice(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t)
	dir := writeFiles(t, t.TempDir(), map[string]string{"app.toml": fmt.Sprintf(`
[profiles.wrong_name]
backend = "cassandra"
hosts = [%[1]q]
auth = { mechanism = "password", username = %[2]q, password = %[3]q }
tls = { ca = { file = %[4]q }, server_name = "db1.internal" }

[profiles.no_tls]
backend = "cassandra"
hosts = [%[1]q]
`, sb.Cassandra.Addr(), connfactorytest.CassandraUser, connfactorytest.CassandraPassword, sb.Files["ca-bundle.pem"])})
	res := runIn(t, dir, nil, "check", "-c", "app.toml", "wrong_name", "no_tls")
	require.Equal(t, 2, res.code, "%s", res)
	require.Regexp(t, `(?m)^  error:   tls_hostname: `+regexp.QuoteMeta(sb.Cassandra.Addr())+`: x509: certificate is valid for localhost, not db1\.internal$`, res.stdout)
	require.NotContains(t, res.stdout, "factory: ")
	require.Equal(t, 1, strings.Count(res.stdout, "tls_hostname"), "%s", res.stdout)
	require.Regexp(t, `(?m)^  error:   protocol: `+regexp.QuoteMeta(sb.Cassandra.Addr())+`: the server speaks TLS and the profile has no tls section`, res.stdout)
	require.Contains(t, res.stdout, "  advice:  the server expects TLS: add a [tls] section")
	require.NotContains(t, res.stdout, "Riak")

	res = runIn(t, dir, nil, "check", "--json", "-c", "app.toml", "no_tls")
	require.Equal(t, 2, res.code, "%s", res)
	r := parseCheckJSON(t, res.stdout)[0]
	require.Equal(t, "protocol", r.Error.Kind)
	require.Contains(t, r.Error.Advice, "add a [tls] section")
}
