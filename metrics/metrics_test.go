package metrics_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory"
	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/leakcheck"
	"github.com/connfactory/connfactory/metrics"
	"github.com/connfactory/connfactory/testserver/cqltest"
	"github.com/connfactory/connfactory/testserver/pki"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// fixture is a CQL server over TLS and a configuration with a mutual-TLS profile for it
// (CA bundle, client certificate and key, CRL, all files), a closed Cassandra profile and
// a closed Riak profile.
type fixture struct {
	set    *pki.Set
	dir    string
	server *cqltest.Server
	crl    *x509.RevocationList
	reg    *connfactory.Registry
}

const (
	user     = "app"
	password = "app-password"
)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	set, err := pki.NewSet()
	require.NoError(t, err)
	srv, err := cqltest.Start(cqltest.Options{TLS: set.ServerTLSConfig(), Credentials: map[string]string{user: password}})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })
	f := &fixture{set: set, dir: t.TempDir(), server: srv}

	crlPEM, err := set.Intermediate.CRLPEM(pki.CRLOptions{NextUpdate: time.Now().Add(30 * 24 * time.Hour)})
	require.NoError(t, err)
	block, _ := pem.Decode(crlPEM)
	f.crl, err = x509.ParseRevocationList(block.Bytes)
	require.NoError(t, err)
	closed := closedAddr(t)
	f.write(t, map[string][]byte{
		"ca.pem":     slices.Concat(set.Root.CertPEM(), set.Intermediate.CertPEM()),
		"client.pem": set.Client.ChainPEM(),
		"client.key": set.Client.KeyPEM(),
		"crl.pem":    crlPEM,
		"p.toml": fmt.Appendf(nil, `
[profiles.cass]
backend = "cassandra"
hosts = [%q]
auth = { mechanism = "password", username = %q, password = %q }
tls = { ca = { file = "ca.pem" }, cert = { file = "client.pem" }, key = { file = "client.key" }, crl = [{ file = "crl.pem" }] }

[profiles.closed]
backend = "cassandra"
hosts = [%q]

[profiles.riak_closed]
backend = "riak"
hosts = [%q]
`, srv.Addr(), user, password, closed, closed),
	})
	f.reg, err = connfactory.Load(connfactory.WithFiles(filepath.Join(f.dir, "p.toml")), connfactory.WithEnvPrefix("-"),
		connfactory.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, f.reg.Close()) })
	return f
}

// write replaces files in the fixture's directory by rename.
func (f *fixture) write(t *testing.T, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		tmp := filepath.Join(f.dir, "."+name+".tmp")
		require.NoError(t, os.WriteFile(tmp, data, 0o600))
		require.NoError(t, os.Rename(tmp, filepath.Join(f.dir, name)))
	}
}

func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// scrape gathers the collector into metric families by name.
type scrape map[string]*dto.MetricFamily

func gather(t *testing.T, reg *prometheus.Registry) scrape {
	t.Helper()
	fams, err := reg.Gather()
	require.NoError(t, err)
	s := scrape{}
	for _, f := range fams {
		s[f.GetName()] = f
	}
	return s
}

// find returns the series of family name whose labels are exactly labels ("k=v" each),
// or nil.
func (s scrape) find(name string, labels ...string) *dto.Metric {
	f := s[name]
	if f == nil {
		return nil
	}
	slices.Sort(labels)
	for _, m := range f.GetMetric() {
		var have []string
		for _, l := range m.GetLabel() {
			have = append(have, l.GetName()+"="+l.GetValue())
		}
		slices.Sort(have)
		if slices.Equal(have, labels) {
			return m
		}
	}
	return nil
}

// value is a counter's or gauge's value, or a histogram's sample count.
func (s scrape) value(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	m := s.find(name, labels...)
	require.NotNil(t, m, "no series %s%v", name, labels)
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	t.Fatalf("series %s%v has no value", name, labels)
	return 0
}

func (s scrape) count(name string) int { return len(s[name].GetMetric()) }

func unix(t time.Time) float64 { return float64(t.Unix()) }

func TestCollectorSeriesExistFromCompile(t *testing.T) {
	f := newFixture(t)
	promReg := prometheus.NewPedanticRegistry()
	col := metrics.NewCollector(f.reg)
	promReg.MustRegister(col)

	// Nothing compiled: nothing to say.
	s := gather(t, promReg)
	require.Empty(t, s, "no profile compiled yet")

	_, err := f.reg.Connector("cass")
	require.NoError(t, err)
	_, err = f.reg.Connector("riak_closed")
	require.NoError(t, err)
	s = gather(t, promReg)
	for _, p := range []struct{ profile, backend string }{{"cass", "cassandra"}, {"riak_closed", "riak"}} {
		require.Zero(t, s.value(t, metrics.NameDialsTotal, "profile="+p.profile, "backend="+p.backend, "result=ok"))
		require.Zero(t, s.value(t, metrics.NameDialDuration, "profile="+p.profile, "backend="+p.backend))
		for _, res := range []string{"ok", "unchanged", "error"} {
			require.Zero(t, s.value(t, metrics.NameReloadsTotal, "profile="+p.profile, "result="+res))
		}
		require.Zero(t, s.value(t, metrics.NameGeneration, "profile="+p.profile))
	}
	require.Nil(t, s.find(metrics.NameGeneration, "profile=closed"), "not compiled")

	// The material's real NotAfter and NextUpdate.
	set := f.set
	require.Equal(t, unix(set.Root.Cert.NotAfter), s.value(t, metrics.NameCertExpiry, "profile=cass", "source=ca", "subject="+set.Root.Cert.Subject.String()))
	require.Equal(t, unix(set.Intermediate.Cert.NotAfter), s.value(t, metrics.NameCertExpiry, "profile=cass", "source=ca", "subject="+set.Intermediate.Cert.Subject.String()))
	require.Equal(t, unix(set.Client.Cert.NotAfter), s.value(t, metrics.NameCertExpiry, "profile=cass", "source=client", "subject=CN=app"))
	require.Equal(t, 3, s.count(metrics.NameCertExpiry), "riak_closed has no TLS")
	require.Equal(t, unix(f.crl.NextUpdate), s.value(t, metrics.NameCRLNextUpdate, "profile=cass", "issuer="+f.crl.Issuer.String()))
	require.Equal(t, 1, s.count(metrics.NameCRLNextUpdate))

	problems, err := testutil.CollectAndLint(col)
	require.NoError(t, err)
	require.Empty(t, problems)
}

func TestCollectorDialsAndReloads(t *testing.T) {
	f := newFixture(t)
	promReg := prometheus.NewPedanticRegistry()
	promReg.MustRegister(metrics.NewCollector(f.reg))
	ctx := context.Background()

	cass, err := f.reg.Cassandra("cass")
	require.NoError(t, err)
	_, err = cass.Check(ctx)
	require.NoError(t, err)
	sess, err := cass.Dial(ctx)
	require.NoError(t, err)
	sess.Close()
	closed, err := f.reg.Connector("closed")
	require.NoError(t, err)
	_, err = closed.Check(ctx)
	require.ErrorIs(t, err, factory.ErrUnreachable)
	riakClosed, err := f.reg.Riak("riak_closed")
	require.NoError(t, err)
	_, err = riakClosed.DialConn(ctx)
	require.ErrorIs(t, err, factory.ErrUnreachable)

	s := gather(t, promReg)
	require.Equal(t, 2.0, s.value(t, metrics.NameDialsTotal, "profile=cass", "backend=cassandra", "result=ok"))
	require.Equal(t, 2.0, s.value(t, metrics.NameDialDuration, "profile=cass", "backend=cassandra"))
	require.Zero(t, s.value(t, metrics.NameDialsTotal, "profile=closed", "backend=cassandra", "result=ok"))
	require.Equal(t, 1.0, s.value(t, metrics.NameDialsTotal, "profile=closed", "backend=cassandra", "result=unreachable"))
	require.Equal(t, 1.0, s.value(t, metrics.NameDialsTotal, "profile=riak_closed", "backend=riak", "result=unreachable"))
	require.Positive(t, s.find(metrics.NameDialDuration, "profile=cass", "backend=cassandra").GetHistogram().GetSampleSum())

	// A rotated client certificate: reloaded, and the gauge follows it.
	rotated, err := f.set.Intermediate.Issue(pki.LeafOptions{CommonName: "app", Client: true, NotAfter: time.Now().Add(100 * 24 * time.Hour)})
	require.NoError(t, err)
	f.write(t, map[string][]byte{"client.pem": rotated.ChainPEM(), "client.key": rotated.KeyPEM()})
	require.NoError(t, cass.ReloadNow(ctx))
	require.NoError(t, cass.ReloadNow(ctx)) // the same bytes again
	f.write(t, map[string][]byte{"client.pem": []byte("not a certificate")})
	require.Error(t, cass.ReloadNow(ctx))

	s = gather(t, promReg)
	require.Equal(t, 1.0, s.value(t, metrics.NameReloadsTotal, "profile=cass", "result=ok"))
	require.Equal(t, 1.0, s.value(t, metrics.NameReloadsTotal, "profile=cass", "result=unchanged"))
	require.Equal(t, 1.0, s.value(t, metrics.NameReloadsTotal, "profile=cass", "result=error"))
	require.Equal(t, 1.0, s.value(t, metrics.NameGeneration, "profile=cass"))
	require.Equal(t, unix(rotated.Cert.NotAfter), s.value(t, metrics.NameCertExpiry, "profile=cass", "source=client", "subject=CN=app"),
		"the material in use: the rotated certificate, kept after the failed reload")
	require.NotEqual(t, unix(f.set.Client.Cert.NotAfter), unix(rotated.Cert.NotAfter))
}

// TestCollectorConcurrent: dials, checks, reloads and scrapes at once (run with -race);
// every event is counted exactly once.
func TestCollectorConcurrent(t *testing.T) {
	f := newFixture(t)
	promReg := prometheus.NewPedanticRegistry()
	promReg.MustRegister(metrics.NewCollector(f.reg))
	// A second collector on the same Registry counts the same events on its own.
	other := prometheus.NewPedanticRegistry()
	other.MustRegister(metrics.NewCollector(f.reg))
	ctx := context.Background()
	cass, err := f.reg.Cassandra("cass")
	require.NoError(t, err)
	closed, err := f.reg.Connector("closed")
	require.NoError(t, err)

	const workers, rounds = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds*4)
	for range workers {
		wg.Go(func() {
			for range rounds {
				if _, err := cass.Check(ctx); err != nil {
					errs <- err
				}
				if _, err := closed.Check(ctx); err == nil {
					errs <- fmt.Errorf("closed: no error")
				}
			}
		})
		wg.Go(func() {
			for range rounds {
				if err := cass.ReloadNow(ctx); err != nil {
					errs <- err
				}
			}
		})
		wg.Go(func() {
			for range rounds {
				if _, err := promReg.Gather(); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for _, r := range []*prometheus.Registry{promReg, other} {
		s := gather(t, r)
		require.Equal(t, float64(workers*rounds), s.value(t, metrics.NameDialsTotal, "profile=cass", "backend=cassandra", "result=ok"))
		require.Equal(t, float64(workers*rounds), s.value(t, metrics.NameDialsTotal, "profile=closed", "backend=cassandra", "result=unreachable"))
		require.Equal(t, float64(workers*rounds), s.value(t, metrics.NameDialDuration, "profile=cass", "backend=cassandra"))
		// The material never changes: every reload finds it unchanged.
		require.Equal(t, float64(workers*rounds), s.value(t, metrics.NameReloadsTotal, "profile=cass", "result=unchanged"))
		require.Zero(t, s.value(t, metrics.NameReloadsTotal, "profile=cass", "result=ok"))
	}
}

// TestOnlyMetricsLinksPrometheus: the library's packages do not import a metrics library;
// only package metrics (and the CLI, which uses it) do.
func TestOnlyMetricsLinksPrometheus(t *testing.T) {
	goTool, err := exec.LookPath("go")
	require.NoError(t, err)
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}}",
		"github.com/connfactory/connfactory", "github.com/connfactory/connfactory/factory",
		"github.com/connfactory/connfactory/loaders", "github.com/connfactory/connfactory/schema",
		"github.com/connfactory/connfactory/validate").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "github.com/connfactory/connfactory/factory\n")
	require.NotContains(t, string(out), "prometheus")

	out, err = exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}}", "github.com/connfactory/connfactory/metrics").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.True(t, strings.Contains(string(out), "github.com/prometheus/client_golang/prometheus\n"), "the check is not vacuous")
}
