package main_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/connfactorytest"
	"github.com/connfactory/connfactory/testserver/cqltest"
	"github.com/connfactory/connfactory/testserver/pki"
	"github.com/connfactory/connfactory/testserver/riaktest"
)

// checkJSON is the part of `check --json`'s object the tests read.
type checkJSON struct {
	Profile *string `json:"profile"`
	Backend *string `json:"backend"`
	OK      *bool   `json:"ok"`
	TLS     *struct {
		Enabled   bool   `json:"enabled"`
		Version   string `json:"version"`
		Cipher    string `json:"cipher"`
		PeerChain []struct {
			Subject string `json:"subject"`
			Issuer  string `json:"issuer"`
		} `json:"peer_chain"`
	} `json:"tls"`
	Auth *struct {
		Mechanism string `json:"mechanism"`
		Result    string `json:"result"`
	} `json:"auth"`
	Server *struct {
		Address string `json:"address"`
		Version string `json:"version"`
	} `json:"server"`
	LatencyMS *float64 `json:"latency_ms"`
	Error     *struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
		Advice  string `json:"advice"`
	} `json:"error"`
}

// parseCheckJSON parses one object per line, in order.
func parseCheckJSON(t *testing.T, out string) []checkJSON {
	t.Helper()
	var reports []checkJSON
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r checkJSON
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), "line %q", sc.Text())
		require.NotNil(t, r.Profile, "no profile in %s", sc.Text())
		require.NotNil(t, r.Backend, "no backend in %s", sc.Text())
		require.NotNil(t, r.OK, "no ok in %s", sc.Text())
		require.NotNil(t, r.TLS, "no tls in %s", sc.Text())
		require.NotNil(t, r.Auth, "no auth in %s", sc.Text())
		require.NotNil(t, r.Server, "no server in %s", sc.Text())
		require.NotNil(t, r.LatencyMS, "no latency_ms in %s", sc.Text())
		reports = append(reports, r)
	}
	require.NoError(t, sc.Err())
	return reports
}

// startSandbox starts the sandbox servers in this process for the test.
func startSandbox(t *testing.T) *connfactorytest.Sandbox {
	t.Helper()
	sb, err := connfactorytest.Start(connfactorytest.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sb.Close()) })
	return sb
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func TestCheck(t *testing.T) {
	sb := startSandbox(t)
	ca := sb.Files[pki.FileCA]

	// Failing profiles for the same servers, and a closed port and stalled servers.
	stallCQL, err := cqltest.Start(cqltest.Options{Stall: true})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, stallCQL.Close()) })
	stallRiak, err := riaktest.Start(riaktest.Options{Stall: true})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, stallRiak.Close()) })
	closed := closedAddr(t)
	q := func(s string) string { return fmt.Sprintf("%q", s) }
	failing := filepath.Join(t.TempDir(), "failing.toml")
	writeFiles(t, filepath.Dir(failing), map[string]string{"failing.toml": fmt.Sprintf(`
[profiles.cass_wrong_password]
backend = "cassandra"
hosts = [%[1]s]
auth = { mechanism = "password", username = %[3]s, password = "not-the-password" }
tls = { ca = { file = %[5]s } }

[profiles.riak_wrong_password]
backend = "riak"
hosts = [%[2]s]
auth = { mechanism = "password", username = %[4]s, password = "not-the-password" }
tls = { ca = { file = %[5]s } }

[profiles.riak_untrusted]
backend = "riak"
hosts = [%[2]s]
auth = { mechanism = "password", username = %[4]s, password = %[6]s }
tls = { ca = { file = %[7]s } }

[profiles.cass_untrusted]
backend = "cassandra"
hosts = [%[1]s]
auth = { mechanism = "password", username = %[3]s, password = %[8]s }
tls = { ca = { file = %[7]s } }

[profiles.cass_closed]
backend = "cassandra"
hosts = [%[9]s]

[profiles.riak_closed]
backend = "riak"
hosts = [%[9]s]
auth = { mechanism = "password", username = %[4]s, password = %[6]s }
tls = { ca = { file = %[5]s } }

[profiles.cass_stalled]
backend = "cassandra"
hosts = [%[10]s]
connect_timeout = "1s"

[profiles.riak_stalled]
backend = "riak"
hosts = [%[11]s]
connect_timeout = "1s"
auth = { mechanism = "password", username = %[4]s, password = %[6]s }
tls = { ca = { file = %[5]s } }

[profiles.cass_stalled_slow]
backend = "cassandra"
hosts = [%[10]s]
connect_timeout = "60s"
`, q(sb.Cassandra.Addr()), q(sb.Riak.Addr()), q(connfactorytest.CassandraUser), q(connfactorytest.RiakPasswordUser), q(ca),
		q(connfactorytest.RiakPassword), q(sb.Files[pki.FileOtherCA]), q(connfactorytest.CassandraPassword), q(closed),
		q(stallCQL.Addr()), q(stallRiak.Addr()))})

	passing := []string{"sandbox_cassandra", "sandbox_cassandra_mtls", "sandbox_cassandra_encrypted_key",
		"sandbox_cassandra_pkcs12", "sandbox_cassandra_keystore", "sandbox_cassandra_crl", "sandbox_riak_password",
		"sandbox_riak_trust", "sandbox_riak_pam", "sandbox_riak_certificate"}
	require.ElementsMatch(t, sb.ProfileNames(), passing)

	t.Run("pass human", func(t *testing.T) {
		t.Parallel()
		res := run(t, nil, append([]string{"check", "-c", sb.ProfilesFile}, passing...)...)
		require.Equal(t, 0, res.code, "%s", res)
		for _, name := range passing {
			require.Regexp(t, `(?m)^`+name+` \((cassandra|riak)\): OK in [0-9.]+ ms$`, res.stdout)
		}
		require.Contains(t, res.stdout, "tls:     TLS 1.3")         // cassandra
		require.Contains(t, res.stdout, "tls:     TLS 1.2")         // riak caps at 1.2
		require.Contains(t, res.stdout, "chain[0]: CN=localhost")   // the leaf
		require.Contains(t, res.stdout, "chain[1]: CN=connfactory") // the intermediate
		require.Contains(t, res.stdout, "auth:    password as app (org.apache.cassandra.auth.PasswordAuthenticator): ok")
		require.Contains(t, res.stdout, "auth:    trust as trustuser: ok")
		require.Contains(t, res.stdout, "auth:    pam as pamuser: ok")
		require.Contains(t, res.stdout, "auth:    certificate as riakcert: ok")
		require.Contains(t, res.stdout, "client:  CN=riakcert")
		require.NotContains(t, res.stdout, "error:")
		require.Empty(t, res.stderr)
	})

	t.Run("pass json", func(t *testing.T) {
		t.Parallel()
		res := run(t, nil, append([]string{"check", "--json", "-c", sb.ProfilesFile}, passing...)...)
		require.Equal(t, 0, res.code, "%s", res)
		reports := parseCheckJSON(t, res.stdout)
		require.Len(t, reports, len(passing))
		for i, r := range reports {
			require.Equal(t, passing[i], *r.Profile)
			require.True(t, *r.OK, "%s", *r.Profile)
			require.Nil(t, r.Error)
			require.True(t, r.TLS.Enabled)
			require.NotEmpty(t, r.TLS.PeerChain)
			require.Equal(t, "CN=localhost", r.TLS.PeerChain[0].Subject)
			require.Equal(t, "ok", r.Auth.Result)
			require.NotEmpty(t, r.Server.Address)
			require.Positive(t, *r.LatencyMS)
			switch *r.Backend {
			case "cassandra":
				require.Equal(t, sb.Cassandra.Addr(), r.Server.Address)
				require.Equal(t, "TLS 1.3", r.TLS.Version)
				require.Equal(t, "password", r.Auth.Mechanism)
			case "riak":
				require.Equal(t, sb.Riak.Addr(), r.Server.Address)
				require.Equal(t, riaktest.DefaultServerVersion, r.Server.Version)
				require.Equal(t, "TLS 1.2", r.TLS.Version)
				require.Equal(t, strings.TrimPrefix(*r.Profile, "sandbox_riak_"), r.Auth.Mechanism)
			default:
				t.Fatalf("backend %q", *r.Backend)
			}
		}
	})

	failures := []struct{ profile, backend, kind string }{
		{"cass_wrong_password", "cassandra", "auth_failed"},
		{"riak_wrong_password", "riak", "auth_failed"},
		{"cass_untrusted", "cassandra", "tls_untrusted"},
		{"riak_untrusted", "riak", "tls_untrusted"},
		{"cass_closed", "cassandra", "unreachable"},
		{"riak_closed", "riak", "unreachable"},
		{"cass_stalled", "cassandra", "timeout"},
		{"riak_stalled", "riak", "timeout"},
	}
	for _, f := range failures {
		t.Run("fail "+f.profile, func(t *testing.T) {
			t.Parallel()
			res := run(t, nil, "check", "-c", failing, "--json", f.profile)
			require.Equal(t, 2, res.code, "%s", res)
			reports := parseCheckJSON(t, res.stdout)
			require.Len(t, reports, 1)
			r := reports[0]
			require.Equal(t, f.profile, *r.Profile)
			require.Equal(t, f.backend, *r.Backend)
			require.False(t, *r.OK)
			require.NotNil(t, r.Error, "%s", res)
			require.Equal(t, f.kind, r.Error.Kind, "%s", res)
			require.NotEmpty(t, r.Error.Message)
			require.NotEmpty(t, r.Error.Advice)
			require.NotContains(t, res.stdout, "not-the-password")

			res = run(t, nil, "check", "-c", failing, f.profile)
			require.Equal(t, 2, res.code, "%s", res)
			require.Regexp(t, `(?m)^`+f.profile+` \(`+f.backend+`\): FAILED in`, res.stdout)
			require.Regexp(t, `(?m)^  error:   `+f.kind+`: .+$`, res.stdout)
			require.Regexp(t, `(?m)^  advice:  .+$`, res.stdout)
			require.NotContains(t, res.stdout, "not-the-password")
		})
	}

	t.Run("--timeout bounds a stalled server", func(t *testing.T) {
		t.Parallel()
		// connect_timeout is 60 s: only --timeout can end this one early.
		res := run(t, nil, "check", "-c", failing, "--json", "--timeout", "1s", "cass_stalled_slow")
		require.Equal(t, 2, res.code, "%s", res)
		reports := parseCheckJSON(t, res.stdout)
		require.Len(t, reports, 1)
		require.Equal(t, "timeout", reports[0].Error.Kind, "%s", res)
	})

	t.Run("mixed results", func(t *testing.T) {
		t.Parallel()
		res := run(t, nil, "check", "-c", sb.ProfilesFile, "-c", failing, "sandbox_cassandra", "cass_closed", "sandbox_riak_trust")
		require.Equal(t, 2, res.code, "%s", res)
		require.Regexp(t, `(?m)^sandbox_cassandra \(cassandra\): OK`, res.stdout)
		require.Regexp(t, `(?m)^cass_closed \(cassandra\): FAILED`, res.stdout)
		require.Regexp(t, `(?m)^sandbox_riak_trust \(riak\): OK`, res.stdout)
	})

	t.Run("config invalid", func(t *testing.T) {
		t.Parallel()
		dir := writeFiles(t, t.TempDir(), map[string]string{
			// Invalid at load: the whole configuration is refused.
			"load.toml": cass("p", "protocol_version = 2"),
			// Invalid only when compiled: the profile's check reports kind config.
			"compile.toml": cass("p", fmt.Sprintf(`tls = { ca = { file = %q }, ciphers = "NOT-A-CIPHER" }`, ca)),
		})
		res := runIn(t, dir, nil, "check", "-c", "load.toml", "p")
		require.Equal(t, 1, res.code, "%s", res)
		require.Contains(t, res.stderr, "profiles.p.protocol_version: protocol version 2")
		require.Empty(t, res.stdout)

		res = runIn(t, dir, nil, "check", "-c", "compile.toml", "--json", "p")
		require.Equal(t, 1, res.code, "%s", res)
		reports := parseCheckJSON(t, res.stdout)
		require.Len(t, reports, 1)
		require.Equal(t, "config", reports[0].Error.Kind)
		require.Contains(t, reports[0].Error.Message, "profiles.p.tls.ciphers")

		res = runIn(t, dir, nil, "check", "-c", "compile.toml", "p")
		require.Equal(t, 1, res.code, "%s", res)
		require.Contains(t, res.stdout, "error:   config: ")
		require.Contains(t, res.stdout, "advice:  ")

		// A configuration problem wins over a connection failure in the exit code.
		res = run(t, nil, "check", "-c", failing, "-c", filepath.Join(dir, "compile.toml"), "cass_closed", "p")
		require.Equal(t, 1, res.code, "%s", res)
		res = run(t, nil, "check", "-c", failing, "-c", filepath.Join(dir, "compile.toml"), "p", "cass_closed")
		require.Equal(t, 1, res.code, "%s", res)
	})

	t.Run("unknown profile", func(t *testing.T) {
		t.Parallel()
		res := run(t, nil, "check", "-c", sb.ProfilesFile, "sandbox_cassandra", "nope")
		require.Equal(t, 64, res.code, "%s", res)
		require.Contains(t, res.stderr, `no profile "nope"`)
		require.Empty(t, res.stdout, "nothing is checked when a name is wrong")
	})
}

// hostJSON is one entry of `check --json`'s hosts.
type hostJSON struct {
	Address    string `json:"address"`
	Source     string `json:"source"`
	Datacenter string `json:"datacenter"`
	OK         bool   `json:"ok"`
	TLS        *struct {
		Version    string `json:"version"`
		ServerName string `json:"server_name"`
	} `json:"tls"`
	Error *struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	} `json:"error"`
}

// TestCheckCluster: check reports every host, one line each (JSON: hosts); --discover adds
// the nodes system.peers lists and fails on a failing one, with the advice for per-node DNS
// certificates.
func TestCheckCluster(t *testing.T) {
	sb, err := connfactorytest.Start(connfactorytest.Options{Dir: t.TempDir(), Nodes: 3})
	if errors.Is(err, cqltest.ErrLoopbackUnavailable) {
		t.Skipf("skipping: %v", err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sb.Close()) })
	nodes := sb.Cluster.Nodes
	seed := "localhost:" + strconv.Itoa(sb.Cluster.Port())

	t.Run("configured hosts only", func(t *testing.T) {
		t.Parallel()
		res := run(t, nil, "check", "-c", sb.ProfilesFile, "sandbox_cassandra_node_names")
		require.Equal(t, 0, res.code, "%s", res)
		require.Equal(t, 1, strings.Count(res.stdout, "  host:    "), res.stdout)
		require.Contains(t, res.stdout, "  host:    "+seed+"  configured  dc1  OK  TLS 1.3, server name localhost\n")
	})
	t.Run("discover human", func(t *testing.T) {
		t.Parallel()
		res := run(t, nil, "check", "--discover", "-c", sb.ProfilesFile, "sandbox_cassandra", "sandbox_cassandra_node_names")
		require.Equal(t, 2, res.code, "%s", res)
		require.Regexp(t, `(?m)^sandbox_cassandra \(cassandra\): OK`, res.stdout)
		require.Regexp(t, `(?m)^sandbox_cassandra_node_names \(cassandra\): FAILED`, res.stdout)
		for _, n := range nodes[1:] {
			require.Contains(t, res.stdout, fmt.Sprintf("  host:    %s  discovered  %s  OK  TLS 1.3, server name cassandra.sandbox\n", n.Addr(), n.Datacenter()))
		}
		// The first failure is the report's error, printed once below; the others in full.
		require.Contains(t, res.stdout, fmt.Sprintf("  host:    %s  discovered  %s  FAILED (the error below)\n", nodes[1].Addr(), nodes[1].Datacenter()))
		require.Contains(t, res.stdout, fmt.Sprintf("  host:    %s  discovered  %s  FAILED tls_hostname: %s: x509: ", nodes[2].Addr(), nodes[2].Datacenter(), nodes[2].Addr()))
		require.Contains(t, res.stdout, "  error:   tls_hostname: "+nodes[1].Addr()+": ")
		require.Contains(t, res.stdout, "  advice:  the certificate of "+nodes[1].Host()+" is for node2.cassandra.sandbox, cassandra.sandbox (DNS names only)")
		require.Contains(t, res.stdout, "give the node certificates IP SANs ("+nodes[1].Host()+"), or give them one shared DNS name and set tls.server_name to it")
	})
	t.Run("discover json", func(t *testing.T) {
		t.Parallel()
		res := run(t, nil, "check", "--json", "--discover", "-c", sb.ProfilesFile, "sandbox_cassandra_dc2", "sandbox_cassandra_node_names")
		require.Equal(t, 2, res.code, "%s", res)
		var lines []struct {
			OK    bool       `json:"ok"`
			Hosts []hostJSON `json:"hosts"`
		}
		for _, l := range strings.Split(strings.TrimSpace(res.stdout), "\n") {
			var r struct {
				OK    bool       `json:"ok"`
				Hosts []hostJSON `json:"hosts"`
			}
			require.NoError(t, json.Unmarshal([]byte(l), &r))
			lines = append(lines, r)
		}
		require.Len(t, lines, 2)
		require.True(t, lines[0].OK)
		require.False(t, lines[1].OK)
		for i, r := range lines {
			require.Len(t, r.Hosts, 3)
			require.Equal(t, hostJSON{Address: seed, Source: "configured", Datacenter: "dc1", OK: true,
				TLS: r.Hosts[0].TLS}, r.Hosts[0])
			for j, n := range nodes[1:] {
				h := r.Hosts[j+1]
				require.Equal(t, n.Addr(), h.Address)
				require.Equal(t, "discovered", h.Source)
				require.Equal(t, n.Datacenter(), h.Datacenter)
				require.Equal(t, i == 0, h.OK)
				require.NotNil(t, h.TLS)
				if i == 0 {
					require.Nil(t, h.Error)
					require.Equal(t, "cassandra.sandbox", h.TLS.ServerName)
				} else {
					require.Equal(t, "tls_hostname", h.Error.Kind)
					require.Contains(t, h.Error.Message, n.Addr())
					require.Equal(t, n.Host(), h.TLS.ServerName)
				}
			}
		}
	})
}
