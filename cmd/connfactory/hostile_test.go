package main_test

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/testserver/pki"
	"github.com/connfactory/connfactory/testserver/riaktest"
)

// forged is what a hostile server puts in its strings: clear the screen, go home, and
// print a line that looks like a passing check.
const forged = "\x1b[2J\x1b[Hriak_prod (riak): OK in 1.0 ms\n\u009b31m"

// requireNoControl fails when out holds a control character other than newline: the
// terminal would interpret it.
func requireNoControl(t *testing.T, out string) {
	t.Helper()
	for _, r := range out {
		if (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
			t.Fatalf("raw control character %U in output:\n%q", r, out)
		}
	}
	require.NotRegexp(t, `(?m)^riak_prod \(riak\): OK`, out, "a forged OK line")
}

// TestCheckEscapesHostileServerText: whatever a Riak server puts in its error text and
// version, and a certificate in its subject and issuer, reaches the terminal escaped;
// --json carries it exactly.
func TestCheckEscapesHostileServerText(t *testing.T) {
	set, err := pki.NewSet()
	require.NoError(t, err)
	evil, err := set.Intermediate.Issue(pki.LeafOptions{CommonName: "evil" + forged, Server: true,
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}})
	require.NoError(t, err)
	serverTLS := set.ServerTLSConfig()
	serverTLS.Certificates = []tls.Certificate{evil.TLSCertificate()}
	srv, err := riaktest.Start(riaktest.Options{Security: true, TLS: serverTLS,
		Users:              []riaktest.User{{Name: "pwuser", Source: riaktest.SourcePassword, Password: "right"}},
		AuthFailureMessage: "Authentication failed" + forged,
		ServerVersion:      "2.2.6" + forged, Node: "riak@" + forged})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })

	dir := t.TempDir()
	files, err := set.WriteDir(dir)
	require.NoError(t, err)
	q := func(s string) string { return fmt.Sprintf("%q", s) }
	cfg := filepath.Join(dir, "hostile.toml")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`
[profiles.riak_ok]
backend = "riak"
hosts = [%[1]s]
auth = { mechanism = "password", username = "pwuser", password = "right" }
tls = { ca = { file = %[2]s } }

[profiles.riak_refused]
backend = "riak"
hosts = [%[1]s]
auth = { mechanism = "password", username = "pwuser", password = "wrong" }
tls = { ca = { file = %[2]s } }

[profiles.riak_untrusted]
backend = "riak"
hosts = [%[1]s]
auth = { mechanism = "password", username = "pwuser", password = "right" }
tls = { ca = { file = %[3]s } }
`, q(srv.Addr()), q(files[pki.FileCA]), q(files[pki.FileOtherCA]))), 0o600))

	profiles := []string{"riak_ok", "riak_refused", "riak_untrusted"}
	res := run(t, nil, append([]string{"check", "--timeout", "20s", "-c", cfg}, profiles...)...)
	require.Equal(t, 2, res.code, "%s", res)
	requireNoControl(t, res.stdout)
	requireNoControl(t, res.stderr)
	require.Contains(t, res.stdout, `version 2.2.6\x1b[2J\x1b[Hriak_prod (riak): OK in 1.0 ms\n\u009b31m`)
	require.Contains(t, res.stdout, `chain[0]: CN=evil\x1b[2J`)
	require.Contains(t, res.stdout, `Authentication failed\x1b[2J`)

	res = run(t, nil, append([]string{"check", "--json", "-c", cfg}, profiles...)...)
	require.Equal(t, 2, res.code, "%s", res)
	reports := parseCheckJSON(t, res.stdout)
	require.Len(t, reports, 3)
	require.Equal(t, "2.2.6"+forged, reports[0].Server.Version, "--json keeps server strings exact")
	require.Equal(t, "CN=evil"+forged, reports[0].TLS.PeerChain[0].Subject)
	require.Contains(t, reports[1].Error.Message, "Authentication failed"+forged)
}

// TestOutputEscapesConfigText: profile names and paths with control characters (a file
// name, here) are printed escaped by validate too.
func TestOutputEscapesConfigText(t *testing.T) {
	dir := t.TempDir()
	name := "evil\x1b[2J\nok: 1 profile(s).toml"
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("[profiles.p]\nbackend = \"nosuch\"\nhosts = [\"h\"]\n"), 0o600))
	res := run(t, nil, "validate", "-c", filepath.Join(dir, name))
	require.Equal(t, 1, res.code, "%s", res)
	requireNoControl(t, res.stdout+res.stderr)
	require.True(t, strings.Contains(res.stderr, `evil\x1b[2J\nok: 1 profile(s).toml`), "%s", res)
}

// TestCheckCompileFailureReportsTLSMode: a verify-full profile that does not compile is
// not "tls: off (plaintext)": the report names the mode asked for and the compile error.
func TestCheckCompileFailureReportsTLSMode(t *testing.T) {
	set, err := pki.NewSet()
	require.NoError(t, err)
	dir := t.TempDir()
	files, err := set.WriteDir(dir)
	require.NoError(t, err)
	cfg := filepath.Join(dir, "mismatch.toml")
	// The server's key with the client's certificate: does not compile.
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`
[profiles.cass_mismatch]
backend = "cassandra"
hosts = ["127.0.0.1:1"]
tls = { mode = "verify-full", ca = { file = %q }, cert = { file = %q }, key = { file = %q } }
`, files[pki.FileCA], files[pki.FileClientCert], files[pki.FileServerKey])), 0o600))
	res := run(t, nil, "check", "-c", cfg, "cass_mismatch")
	require.Equal(t, 1, res.code, "%s", res)
	require.NotContains(t, res.stdout, "plaintext")
	require.Contains(t, res.stdout, "tls:     mode verify-full, not attempted (the profile did not compile)")
	require.Contains(t, res.stdout, "does not match the certificate")

	res = run(t, nil, "check", "--json", "-c", cfg, "cass_mismatch")
	require.Equal(t, 1, res.code, "%s", res)
	r := parseCheckJSON(t, res.stdout)[0]
	require.True(t, r.TLS.Enabled)
	require.Equal(t, "config", r.Error.Kind)
	require.Contains(t, res.stdout, `"mode":"verify-full"`)
}
