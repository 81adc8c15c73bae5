package main_test

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/connfactorytest"
	"github.com/connfactory/connfactory/testserver/pki"
)

func TestUsage(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		args []string
		want string // on stderr
	}{
		{"no command", nil, "a command is required"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown flag", []string{"validate", "--frobnicate"}, "unknown flag: --frobnicate"},
		{"unknown shorthand flag", []string{"check", "-z", "p"}, "unknown shorthand flag"},
		{"flag without value", []string{"show", "--format"}, "flag needs an argument"},
		{"bad duration", []string{"check", "--timeout", "soon", "p"}, "invalid argument"},
		{"check without profile", []string{"check"}, "name the profiles to check"},
		{"schema with argument", []string{"schema", "extra"}, "unknown command"},
		{"demo with argument", []string{"demo", "extra"}, "unknown command"},
		{"sandbox with argument", []string{"sandbox", "extra"}, "unknown command"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			res := runIn(t, t.TempDir(), nil, c.args...)
			require.Equal(t, 64, res.code, "%s", res)
			require.Contains(t, res.stderr, c.want)
			require.Contains(t, res.stderr, "connfactory --help")
			require.Empty(t, res.stdout)
		})
	}

	res := run(t, nil, "--help")
	require.Equal(t, 0, res.code, "%s", res)
	for _, cmd := range []string{"validate", "show", "check", "schema", "demo", "sandbox"} {
		require.Contains(t, res.stdout, cmd)
	}
	res = run(t, nil, "check", "--help")
	require.Equal(t, 0, res.code, "%s", res)
	require.Contains(t, res.stdout, "--json")
	require.Contains(t, res.stdout, "--timeout")
}

func TestSchema(t *testing.T) {
	t.Parallel()
	res := run(t, nil, "schema")
	require.Equal(t, 0, res.code, "%s", res)
	require.Empty(t, res.stderr)
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &doc))
	require.Contains(t, doc["$schema"], "json-schema.org")
	profiles := dig(t, doc, "properties", "profiles").(map[string]any)
	require.Equal(t, "object", profiles["type"])
	require.Contains(t, dig(t, doc, "$defs"), "Profile")
	require.Equal(t, false, doc["additionalProperties"], "unknown top-level keys must be refused")
}

func TestDemo(t *testing.T) {
	t.Parallel()
	res := runIn(t, t.TempDir(), nil, "demo")
	require.Equal(t, 0, res.code, "%s", res)
	require.Regexp(t, `(?m)^PROFILE\s+BACKEND\s+MECHANISM\s+TLS\s+RESULT\s+LATENCY$`, res.stdout)
	for _, name := range exampleProfiles(t) {
		require.Regexp(t, `(?m)^`+regexp.QuoteMeta(name)+`\s+(cassandra|riak)\s+\S+\s+.+\s+OK\s+[0-9.]+ ms$`, res.stdout)
	}
	require.NotContains(t, res.stdout, "Some examples failed")
	require.Regexp(t, `(?m)^demo_wrong_password \(cassandra\): FAILED`, res.stdout)
	require.Regexp(t, `(?m)^  error:   auth_failed: `, res.stdout)
	require.Regexp(t, `(?m)^demo_untrusted_ca \(riak\): FAILED`, res.stdout)
	require.Regexp(t, `(?m)^  error:   tls_untrusted: `, res.stdout)
	require.NotContains(t, res.stdout, "(expected ")
	// The three-node cluster in two datacenters.
	if !strings.Contains(res.stdout, "skipped: cqltest:") {
		require.Regexp(t, `(?m)^sandbox_cassandra \(cassandra\): OK`, res.stdout)
		require.Regexp(t, `(?m)^  host:    127\.0\.0\.3:\d+  discovered  dc2  OK  TLS 1\.3, server name cassandra\.sandbox$`, res.stdout)
		require.Regexp(t, `(?m)^sandbox_cassandra_node_names \(cassandra\): FAILED`, res.stdout)
		require.Regexp(t, `(?m)^  advice:  the certificate of 127\.0\.0\.2 is for node2\.cassandra\.sandbox, cassandra\.sandbox \(DNS names only\)`, res.stdout)
		require.Regexp(t, `(?m)^  127\.0\.0\.1:\d+\s+dc1  0\n  127\.0\.0\.2:\d+\s+dc1  0\n  127\.0\.0\.3:\d+\s+dc2  12$`, res.stdout)
	}
	// The example passwords never show, not even in the deliberate failures.
	for _, pw := range []string{"app-example-password", "riakuser-example-password", "pamuser-example-password", "changeit"} {
		require.NotContains(t, res.stdout, pw)
		require.NotContains(t, res.stderr, pw)
	}
}

func TestSandbox(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "sand box") // created by the sandbox; a space to quote
	out, interrupt := runSandboxCommand(t, "--dir", dir)
	profiles := filepath.Join(dir, "profiles.toml")
	require.FileExists(t, profiles)
	require.FileExists(t, filepath.Join(dir, "certs", "ca.pem"))
	banner := strings.Join(out, "\n")
	require.Contains(t, banner, profiles)
	require.Regexp(t, `cassandra\s+127\.0\.0\.1:\d+`, banner)
	require.Regexp(t, `riak\s+127\.0\.0\.1:\d+`, banner)

	res := run(t, nil, "check", "-c", profiles, "sandbox_cassandra", "sandbox_riak_password")
	require.Equal(t, 0, res.code, "%s", res)
	require.Regexp(t, `(?m)^sandbox_cassandra \(cassandra\): OK`, res.stdout)
	require.Regexp(t, `(?m)^sandbox_riak_password \(riak\): OK`, res.stdout)

	// The passphrase of the encrypted key and PKCS#12 files is not printed: its file is.
	require.NotContains(t, banner, pki.DefaultPassphrase)
	passFile := filepath.Join(dir, "secrets", connfactorytest.PassphraseFileName)
	require.Contains(t, banner, "passphrase  "+passFile)
	b, err := os.ReadFile(passFile)
	require.NoError(t, err)
	require.Equal(t, pki.DefaultPassphrase+"\n", string(b))

	// Every "Try:" line runs as printed, in a shell, from another directory.
	var tries []string
	for i, line := range out {
		if line == "Try:" {
			for _, l := range out[i+1:] {
				if !strings.HasPrefix(l, "  ") {
					break
				}
				tries = append(tries, strings.TrimSpace(l))
			}
		}
	}
	require.Len(t, tries, 2, "%s", banner)
	for _, line := range tries {
		sh := exec.Command("/bin/sh", "-c", line)
		sh.Dir, sh.Env = t.TempDir(), cleanEnv()
		got, err := sh.CombinedOutput()
		require.NoError(t, err, "%s:\n%s", line, got)
	}

	out = interrupt()
	require.Equal(t, "stopping", out[len(out)-1])
}

// TestSandboxCluster: `sandbox --nodes 3` lists a cluster in two datacenters, and its
// profiles pass `check --discover`.
func TestSandboxCluster(t *testing.T) {
	t.Parallel()
	res := run(t, nil, "sandbox", "--nodes", "0")
	require.Equal(t, 64, res.code, "%s", res)
	require.Contains(t, res.stderr, "--nodes must be at least 1")

	dir := filepath.Join(t.TempDir(), "sb") // created by the sandbox
	out, interrupt := runSandboxCommand(t, "--dir", dir, "--nodes", "3")
	profiles := filepath.Join(dir, "profiles.toml")
	banner := strings.Join(out, "\n")
	require.Regexp(t, `cassandra\s+3 nodes on port \d+`, banner)
	require.Regexp(t, `127\.0\.0\.1:\d+\s+dc1\s+rack rack1\s+certificate for localhost, cassandra.sandbox`, banner)
	require.Regexp(t, `127\.0\.0\.2:\d+\s+dc1\s+rack rack1\s+certificate for node2.cassandra.sandbox, cassandra.sandbox`, banner)
	require.Regexp(t, `127\.0\.0\.3:\d+\s+dc2\s+rack rack1\s+certificate for node3.cassandra.sandbox, cassandra.sandbox`, banner)
	require.Contains(t, banner, "check --discover -c "+profiles)

	res = run(t, nil, "check", "--discover", "-c", profiles, "sandbox_cassandra", "sandbox_cassandra_dc2", "sandbox_cassandra_mtls")
	require.Equal(t, 0, res.code, "%s", res)
	require.Equal(t, 6, strings.Count(res.stdout, "  discovered  "), res.stdout) // two per profile

	out = interrupt()
	require.Equal(t, "stopping", out[len(out)-1])
}

// runSandboxCommand runs `connfactory sandbox ARGS...` until its banner is out and returns the
// banner's lines, and interrupt: SIGINT, then every line it printed, once it has exited 0.
// A test that fails before interrupt leaves no process behind.
func runSandboxCommand(t *testing.T, args ...string) (banner []string, interrupt func() []string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"sandbox"}, args...)...)
	cmd.Env = cleanEnv()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	done := false
	t.Cleanup(func() {
		if !done { // a failed assertion: do not leave the process behind
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	lines := scanLines(stdout)
	out := readUntil(t, lines, func(l string) bool { return strings.HasPrefix(l, "Running until interrupted") },
		func() string { return "stderr:\n" + stderr.String() })
	return out, func() []string {
		t.Helper()
		require.NoError(t, cmd.Process.Signal(os.Interrupt))
		all := out
		for line := range lines { // drain to EOF before Wait, as exec requires
			all = append(all, line)
		}
		done = true
		err := cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("sandbox exited %d after SIGINT\nstderr:\n%s", ee.ExitCode(), stderr.String())
		}
		require.NoError(t, err)
		return all
	}
}
