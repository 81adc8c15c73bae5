package main_test

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	sandbox "github.com/connfactory/connfactory/connfactorytest"
	"github.com/connfactory/connfactory/testserver/pki"
)

// parseExposition parses the text exposition format with prometheus/common's parser.
func parseExposition(t *testing.T, out string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(out))
	require.NoError(t, err, "%s", out)
	return fams
}

// series returns the value of every series of family name, keyed by its labels rendered
// "k=v,k=v" in label-name order.
func series(t *testing.T, fams map[string]*dto.MetricFamily, name string) map[string]float64 {
	t.Helper()
	f, ok := fams[name]
	require.True(t, ok, "no family %s", name)
	out := map[string]float64{}
	for _, m := range f.GetMetric() {
		var labels []string
		for _, l := range m.GetLabel() {
			labels = append(labels, l.GetName()+"="+l.GetValue())
		}
		sort.Strings(labels)
		key := strings.Join(labels, ",")
		_, dup := out[key]
		require.False(t, dup, "duplicate series %s%s", name, key)
		out[key] = m.GetGauge().GetValue()
	}
	return out
}

func TestCheckPrometheus(t *testing.T) {
	sb := startSandbox(t)
	dir := t.TempDir()
	// A client certificate whose subject needs escaping in a label value.
	odd, err := sb.PKI.Intermediate.Issue(pki.LeafOptions{CommonName: `we"ird\name`, Client: true})
	require.NoError(t, err)
	nextUpdate := time.Now().Add(72 * time.Hour).Truncate(time.Second)
	crl, err := sb.PKI.Intermediate.CRLPEM(pki.CRLOptions{NextUpdate: nextUpdate})
	require.NoError(t, err)
	writeFiles(t, dir, map[string]string{
		"odd.pem": string(odd.ChainPEM()), "odd.key": string(odd.KeyPEM()), "crl.pem": string(crl),
		"p.toml": fmt.Sprintf(`
[profiles.cass_crl]
backend = "cassandra"
hosts = [%[1]q]
auth = { mechanism = "password", username = %[2]q, password = %[3]q }
tls = { ca = { file = %[4]q }, cert = { file = "odd.pem" }, key = { file = "odd.key" }, crl = [{ file = "crl.pem" }] }

[profiles.cass_closed]
backend = "cassandra"
hosts = [%[5]q]
`, sb.Cassandra.Addr(), sandbox.CassandraUser, sandbox.CassandraPassword, sb.Files[pki.FileCABundle], closedAddr(t)),
	})

	res := runIn(t, dir, nil, "check", "-c", "p.toml", "-c", sb.ProfilesFile, "--all", "--format", "prometheus")
	require.Equal(t, 2, res.code, "%s", res)
	for _, family := range []string{"connfactory_check_success", "connfactory_check_duration_seconds", "connfactory_check_failure_kind",
		"connfactory_certificate_expiry_timestamp_seconds", "connfactory_crl_next_update_timestamp_seconds"} {
		require.Contains(t, res.stdout, "# HELP "+family+" ")
		require.Contains(t, res.stdout, "# TYPE "+family+" gauge")
	}
	fams := parseExposition(t, res.stdout)

	success := series(t, fams, "connfactory_check_success")
	require.Len(t, success, 2+len(sb.ProfileNames()))
	require.Equal(t, 1.0, success["backend=cassandra,profile=cass_crl"])
	require.Equal(t, 0.0, success["backend=cassandra,profile=cass_closed"])
	for _, name := range sb.ProfileNames() {
		require.Contains(t, success, "backend="+strings.Split(strings.TrimPrefix(name, "sandbox_"), "_")[0]+",profile="+name)
	}
	require.Equal(t, map[string]float64{"backend=cassandra,kind=unreachable,profile=cass_closed": 1},
		series(t, fams, "connfactory_check_failure_kind"))
	for key, v := range series(t, fams, "connfactory_check_duration_seconds") {
		require.Positive(t, v, key)
	}

	// The timestamps are the test PKI's real NotAfter and NextUpdate.
	certs := series(t, fams, "connfactory_certificate_expiry_timestamp_seconds")
	at := func(c *x509.Certificate) float64 { return float64(c.NotAfter.Unix()) }
	p := sb.PKI
	want := map[string]float64{
		"profile=cass_crl,source=server,subject=CN=localhost":                                                        at(p.Server.Cert),
		"profile=cass_crl,source=server,subject=" + p.Intermediate.Cert.Subject.String():                             at(p.Intermediate.Cert),
		"profile=cass_crl,source=ca,subject=" + p.Intermediate.Cert.Subject.String():                                 at(p.Intermediate.Cert),
		"profile=cass_crl,source=ca,subject=" + p.Root.Cert.Subject.String():                                         at(p.Root.Cert),
		"profile=cass_crl,source=client,subject=" + odd.Cert.Subject.String():                                        at(odd.Cert),
		"profile=sandbox_cassandra_mtls,source=client,subject=CN=app":                                                at(p.Client.Cert),
		"profile=sandbox_riak_certificate,source=server,subject=CN=localhost":                                        at(p.Server.Cert),
		"profile=sandbox_riak_certificate,source=ca,subject=" + p.Root.Cert.Subject.String():                         at(p.Root.Cert),
		"profile=sandbox_riak_password,source=server,subject=" + p.Intermediate.Cert.Subject.String():                at(p.Intermediate.Cert),
		"profile=sandbox_riak_password,source=ca,subject=CN=connfactory test root CA,O=connfactory test PKI":         at(p.Root.Cert),
		"profile=sandbox_cassandra,source=server,subject=CN=connfactory test intermediate CA,O=connfactory test PKI": at(p.Intermediate.Cert),
	}
	for key, v := range want {
		require.Contains(t, certs, key)
		require.Equal(t, v, certs[key], key)
	}
	require.Equal(t, `CN=we\"ird\\name`, odd.Cert.Subject.String(), "the subject has characters a label value must escape")
	require.Contains(t, res.stdout, `subject="CN=we\\\"ird\\\\name"`, "escaped in the exposition")
	for key := range certs {
		require.False(t, strings.HasPrefix(key, "profile=cass_closed,source=server"), "a failed check has no server chain: %s", key)
	}

	crlFile, err := os.ReadFile(filepath.Join(dir, "crl.pem"))
	require.NoError(t, err)
	block, _ := pem.Decode(crlFile)
	rl, err := x509.ParseRevocationList(block.Bytes)
	require.NoError(t, err)
	crls := series(t, fams, "connfactory_crl_next_update_timestamp_seconds")
	require.Equal(t, float64(rl.NextUpdate.Unix()), crls["issuer="+rl.Issuer.String()+",profile=cass_crl"])
	for key := range crls {
		require.Contains(t, []string{"cass_crl", "sandbox_cassandra_crl"}, key[strings.LastIndex(key, "profile=")+len("profile="):], "only configured CRLs")
	}
	require.Equal(t, float64(nextUpdate.Unix()), float64(rl.NextUpdate.Unix()))

	// The CRL is due in 3 days, within the default tls.expiry_warning of 14 days: check
	// and validate say so.
	res = runIn(t, dir, nil, "check", "-c", "p.toml", "cass_crl")
	require.Equal(t, 0, res.code, "%s", res)
	require.Regexp(t, `warning: profiles.cass_crl.tls.crl\[0\]: CRL of ".*intermediate CA.*" is due for renewal: its NextUpdate is in [23] days`, res.stdout)
	res = runIn(t, dir, nil, "validate", "-c", "p.toml")
	require.Equal(t, 0, res.code, "%s", res)
	require.Contains(t, res.stdout+res.stderr, "profiles.cass_crl.tls.crl[0]: CRL of")
}

func TestCheckExpiryWarning(t *testing.T) {
	sb := startSandbox(t)
	dir := writeFiles(t, t.TempDir(), map[string]string{"p.toml": fmt.Sprintf(`
[profiles.soon]
backend = "cassandra"
hosts = [%q]
auth = { mechanism = "password", username = %q, password = %q }
tls = { ca = { file = %q }, expiry_warning = "100000h" }
`, sb.Cassandra.Addr(), sandbox.CassandraUser, sandbox.CassandraPassword, sb.Files[pki.FileCA])})
	// Every certificate expires within eleven years: the configured CA and both certificates
	// the server presents are warnings, and the check still passes.
	res := runIn(t, dir, nil, "check", "-c", "p.toml", "--json", "soon")
	require.Equal(t, 0, res.code, "%s", res)
	require.Contains(t, res.stdout, `profiles.soon.tls.ca: CA certificate \"CN=connfactory test root CA,O=connfactory test PKI\" expires in`)
	require.Contains(t, res.stdout, `profiles.soon.tls: the server's certificate \"CN=localhost\" (chain[0], from `+sb.Cassandra.Addr()+`) expires in`)
	require.Contains(t, res.stdout, `(chain[1], from `)

	res = runIn(t, dir, nil, "validate", "-c", "p.toml")
	require.Equal(t, 0, res.code, "%s", res)
	require.Contains(t, res.stdout+res.stderr, "profiles.soon.tls.ca: CA certificate")
	require.NotContains(t, res.stdout+res.stderr, "the server's certificate", "validate does not connect")

	bad := writeFiles(t, t.TempDir(), map[string]string{
		"neg.toml":      cass("p", `tls = { expiry_warning = "-1h" }`),
		"disabled.toml": cass("p", `tls = { mode = "disable", expiry_warning = "1h" }`),
	})
	res = runIn(t, bad, nil, "validate", "-c", "neg.toml")
	require.Equal(t, 1, res.code, "%s", res)
	require.Contains(t, res.stderr, `profiles.p.tls.expiry_warning: "-1h" is negative (from neg.toml)`)
	res = runIn(t, bad, nil, "validate", "-c", "disabled.toml")
	require.Equal(t, 1, res.code, "%s", res)
	require.Contains(t, res.stderr, "profiles.p.tls.expiry_warning: tls.mode is disable but tls.expiry_warning is set")

	// The default (14 days) says nothing about certificates valid for a year.
	res = run(t, nil, "check", "-c", sb.ProfilesFile, "sandbox_cassandra")
	require.Equal(t, 0, res.code, "%s", res)
	require.NotContains(t, res.stdout, "expires in")
}

func TestCheckUsage(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{"p.toml": cass("p", "")})
	for _, args := range [][]string{
		{"check", "-c", "p.toml"},
		{"check", "-c", "p.toml", "--all", "p"},
		{"check", "-c", "p.toml", "--all", "--format", "xml"},
		{"check", "-c", "p.toml", "--all", "--parallel", "0"},
		{"check", "-c", "p.toml", "--all", "--json", "--format", "prometheus"},
		{"check", "-c", "p.toml", "--all", "--parallel", "many"},
	} {
		res := runIn(t, dir, nil, args...)
		require.Equal(t, 64, res.code, "%v: %s", args, res)
		require.Empty(t, res.stdout, "%v", args)
	}
	res := runIn(t, dir, nil, "check", "-c", "p.toml", "--all", "--format", "xml")
	require.Contains(t, res.stderr, "accepted: text, json, prometheus")
}

// barrier is a set of stalled servers: they accept TCP connections and say nothing until
// want connections are open at once, across all of them; then they close every
// connection, and any later one at once. A client that connects to them one at a time
// never gets past the barrier and runs into its connect_timeout.
type barrier struct {
	want int
	lns  []net.Listener
	wg   sync.WaitGroup

	mu       sync.Mutex
	open     []net.Conn
	released bool
}

func startBarrier(t *testing.T, servers, want int) *barrier {
	t.Helper()
	b := &barrier{want: want}
	for range servers {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		b.lns = append(b.lns, ln)
		b.wg.Go(func() {
			for {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				b.arrive(conn)
			}
		})
	}
	t.Cleanup(func() {
		for _, ln := range b.lns {
			_ = ln.Close()
		}
		b.wg.Wait()
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, c := range b.open {
			_ = c.Close()
		}
	})
	return b
}

func (b *barrier) arrive(conn net.Conn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.released {
		_ = conn.Close()
		return
	}
	b.open = append(b.open, conn)
	if len(b.open) < b.want {
		return
	}
	b.released = true
	for _, c := range b.open {
		_ = c.Close()
	}
	b.open = nil
}

func (b *barrier) wasReleased() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.released
}

// TestCheckAllOverlaps: --all checks stalled servers at the same time, so it takes about
// one connect_timeout, not their sum. Structurally: the barrier only lets the checks
// through once all of them are connected at once; checked one after the other, each
// would wait out its connect_timeout and fail with kind timeout.
func TestCheckAllOverlaps(t *testing.T) {
	const n = 4
	b := startBarrier(t, n, n)
	ca := filepath.Join(moduleRoot, "examples", "configs", "certs", "ca.pem")
	var cfg strings.Builder
	for i, ln := range b.lns {
		fmt.Fprintf(&cfg, `
[profiles.stalled_%d]
backend = "cassandra"
hosts = [%q]
connect_timeout = "20s"
tls = { ca = { file = %q } }
`, n-i, ln.Addr().String(), ca)
	}
	dir := writeFiles(t, t.TempDir(), map[string]string{"p.toml": cfg.String()})
	res := runIn(t, dir, nil, "check", "-c", "p.toml", "--all", "--json")
	require.Equal(t, 2, res.code, "%s", res)
	require.True(t, b.wasReleased(), "the checks never had %d connections open at once\n%s", n, res)
	reports := parseCheckJSON(t, res.stdout)
	require.Len(t, reports, n)
	for i, r := range reports {
		require.Equal(t, fmt.Sprintf("stalled_%d", i+1), *r.Profile, "profile-name order")
		require.False(t, *r.OK)
		require.NotEqual(t, "timeout", r.Error.Kind, "released by the barrier, not by connect_timeout: %s", res)
	}
}

func TestCheckAllOrderAndExit(t *testing.T) {
	sb := startSandbox(t)
	dir := writeFiles(t, t.TempDir(), map[string]string{"p.toml": fmt.Sprintf(`
[profiles.a_closed]
backend = "cassandra"
hosts = [%q]

[profiles.b_bad_cipher]
backend = "cassandra"
hosts = [%q]
tls = { ca = { file = %q }, ciphers = "NOT-A-CIPHER" }
`, closedAddr(t), sb.Cassandra.Addr(), sb.Files[pki.FileCA])})
	res := runIn(t, dir, nil, "check", "-c", "p.toml", "-c", sb.ProfilesFile, "--all", "--parallel", "3", "--json")
	require.Equal(t, 1, res.code, "a profile that does not compile wins: %s", res)
	reports := parseCheckJSON(t, res.stdout)
	names := append([]string{"a_closed", "b_bad_cipher"}, sb.ProfileNames()...)
	sort.Strings(names)
	require.Len(t, reports, len(names))
	for i, r := range reports {
		require.Equal(t, names[i], *r.Profile)
	}

	// Names given out of order (and twice) come back sorted, once each.
	res = run(t, nil, "check", "-c", sb.ProfilesFile, "sandbox_riak_trust", "sandbox_cassandra", "sandbox_riak_trust")
	require.Equal(t, 0, res.code, "%s", res)
	i, j := strings.Index(res.stdout, "sandbox_cassandra ("), strings.Index(res.stdout, "sandbox_riak_trust (")
	require.True(t, i >= 0 && j > i, "%s", res)
	require.Equal(t, 1, strings.Count(res.stdout, "sandbox_riak_trust ("))

	res = run(t, nil, "check", "-c", sb.ProfilesFile, "--all", "--format", "json")
	require.Equal(t, 0, res.code, "%s", res)
	require.Len(t, parseCheckJSON(t, res.stdout), len(sb.ProfileNames()))
}
