package factory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/connfactory/connfactory/schema"
)

// Base is the part of a connector that does not depend on its driver, compiled in one
// step by Compile: the profile's name and config path, the compile options (logger,
// clock), the hosts with the backend's default port, connect_timeout and timeout with
// their defaults, the pool section, the TLS section and its reloader, and the warnings.
//
// It is this package's one entry point for connector packages: factory/cassandra and
// factory/riak hold a Base in each Connector and reach through its methods what they
// share with this package (the shared TLS handshake, error classification, reports,
// observers, reload). A program that uses connectors does not need it: Start, Close,
// ReloadNow, Name, Warnings and TLS are the connectors' own methods.
//
// A Base is held by pointer or inside its connector, never copied. Once Compile has
// returned nil, it is safe for concurrent use.
type Base struct {
	name           string
	backend        schema.Backend
	o              options
	hosts          []schema.Host
	connectTimeout time.Duration
	timeout        time.Duration
	poolConns      int           // pool.connections_per_host, 0: the driver's default
	poolMax        int           // pool.max_connections_per_host (Riak), 0: the driver's default
	poolIdle       time.Duration // pool.idle_timeout (Riak), 0: the driver's default
	tls            *ClientTLS    // nil: no TLS
	warnings       []Warning
	problems       []schema.Problem
	reload         *reloader // nil until Compile succeeds
	closed         atomic.Bool
}

// Compile compiles what every connector of profile name needs, p validated and its
// material resolved, for backend:
//
//   - the options (logger, clock, reload, observers, material cache);
//   - the profile's backend: backend's;
//   - hosts: each parsed by schema.ParseHost with the backend's default port, at least one;
//   - connect_timeout and timeout, schema.DefaultConnectTimeout and schema.DefaultTimeout
//     when unset;
//   - the pool section (the backend's rules).
//
// A nil p is a config error ("profile is missing"). Then own runs, the backend's own
// checks: it adds problems (AddProblem) and warnings (AddWarning) and says whether the
// TLS section compiles now. The TLS section compiles with
// CompileTLS(Path()+".tls", p.TLS, opts...): its problems join the others, and its error
// is returned as it is when there are no others. Any problem makes Compile return a
// config-kind *Error listing them all (sorted by path). Last, the TLS reloader is
// prepared (it starts on Start, not here) and validate's warnings about the profile join
// the list, where no warning of the compile speaks of their path already.
func (b *Base) Compile(name string, p *schema.Profile, backend schema.Backend, opts []Option, own func(*schema.Profile) (compileTLS bool)) error {
	b.name, b.backend, b.o = name, backend, buildOptions(opts)
	if p == nil {
		return configError(schema.Problem{Path: b.Path(), Message: "profile is missing"})
	}
	if p.Backend != backend {
		title := string(backend)
		if title != "" {
			title = strings.ToUpper(title[:1]) + title[1:] // Cassandra, Riak
		}
		b.AddProblem(schema.Problem{Path: b.Path() + ".backend",
			Message: fmt.Sprintf("backend is %q, a %s connector needs %q", p.Backend, title, backend)})
	}
	b.compileHosts(p.Hosts)
	b.connectTimeout = orDefault(p.ConnectTimeout.Std(), schema.DefaultConnectTimeout)
	b.timeout = orDefault(p.Timeout.Std(), schema.DefaultTimeout)
	var ps []schema.Problem
	b.poolConns, b.poolMax, b.poolIdle, ps = compilePool(b.Path(), p.Pool, backend)
	b.AddProblem(ps...)
	if own(p) {
		ct, ws, err := CompileTLS(b.Path()+".tls", p.TLS, opts...)
		if err != nil {
			var tps schema.Problems
			if len(b.problems) == 0 || !errors.As(err, &tps) {
				return err
			}
			b.AddProblem(tps...)
		}
		if ct != nil && ct.Enabled() {
			b.tls = ct
		}
		b.AddWarning(ws...)
	}
	if len(b.problems) > 0 {
		return configError(b.problems...)
	}
	r, ws := newReloader(name, p.TLS, b.tls, b.o)
	b.reload = r
	b.warnings = withProfileWarnings(name, p, append(b.warnings, ws...))
	return nil
}

// compileHosts parses the profile's host[:port] entries, adding the backend's default port.
func (b *Base) compileHosts(hosts []string) {
	if len(hosts) == 0 {
		b.AddProblem(schema.Problem{Path: b.Path() + ".hosts", Message: "at least one host is required"})
	}
	for i, h := range hosts {
		hp, err := schema.ParseHost(h, b.backend)
		if err != nil {
			b.AddProblem(schema.Problem{Path: b.Path() + "." + schema.HostsPath(i), Message: err.Error()})
			continue
		}
		b.hosts = append(b.hosts, hp)
	}
}

// orDefault is d, or the duration def when d is not positive.
func orDefault(d time.Duration, def string) time.Duration {
	if d > 0 {
		return d
	}
	v, _ := time.ParseDuration(def)
	return v
}

// AddProblem records problems of the profile (full config paths); Compile fails with them.
func (b *Base) AddProblem(ps ...schema.Problem) { b.problems = append(b.problems, ps...) }

// AddWarning records warnings about the profile, in the order they come.
func (b *Base) AddWarning(ws ...Warning) { b.warnings = append(b.warnings, ws...) }

// Failed reports whether a problem has been recorded.
func (b *Base) Failed() bool { return len(b.problems) > 0 }

// ConfigError is a config-kind *Error listing ps, for a check a connector makes after
// Compile.
func (b *Base) ConfigError(ps ...schema.Problem) error { return configError(ps...) }

// Name is the profile name.
func (b *Base) Name() string { return b.name }

// Path is the profile's config path, profiles.NAME.
func (b *Base) Path() string { return profilePath(b.name) }

// Logger is the logger of the options (WithLogger), slog.Default() without one.
func (b *Base) Logger() *slog.Logger { return b.o.logger }

// Now is the current time by the options' clock.
func (b *Base) Now() time.Time { return b.o.now() }

// Hosts are the profile's hosts in order, the default port applied.
func (b *Base) Hosts() []schema.Host { return b.hosts }

// ConnectTimeout is connect_timeout, its default applied.
func (b *Base) ConnectTimeout() time.Duration { return b.connectTimeout }

// Timeout is timeout, its default applied.
func (b *Base) Timeout() time.Duration { return b.timeout }

// Pool is the pool section: connections per host, the maximum per host and the idle
// timeout, each 0 for the driver's default.
func (b *Base) Pool() (conns, maxConns int, idle time.Duration) {
	return b.poolConns, b.poolMax, b.poolIdle
}

// Secret is the secret of s at path (relative to the profile: "auth.password"), as the
// MaterialSource of WithMaterial resolved it, else s's literal value; "" for a nil s.
func (b *Base) Secret(path string, s *schema.SecretSource) schema.Secret {
	return secretAt(b.o.material, path, s)
}

// AuthWait is how long a preflight waits for the verdict on its credentials, 0 for the
// backend's default (tests shorten it).
func (b *Base) AuthWait() time.Duration { return b.o.riakAuthWait }

// Warnings are what the profile asked for that weakens security or will soon break.
func (b *Base) Warnings() []Warning { return append([]Warning(nil), b.warnings...) }

// TLS is the compiled TLS section, nil without TLS; a reload updates it in place.
func (b *Base) TLS() *ClientTLS { return b.tls }

// Start starts the periodic TLS reload, if the profile sets tls.reload. Idempotent; after
// Close it does nothing.
func (b *Base) Start() {
	if b.reload != nil {
		b.reload.use()
	}
}

// Close marks the connector closed (Closed then fails) and stops the TLS reload, waiting
// for it. Idempotent.
func (b *Base) Close() error {
	b.closed.Store(true)
	if b.reload != nil {
		b.reload.stop()
	}
	return nil
}

// Closed is the config-kind *Error of a use after Close, nil before.
func (b *Base) Closed() error {
	if b.closed.Load() {
		return errorf(KindConfig, "", "%s connector %q is closed", b.backend, b.name)
	}
	return nil
}

// ReloadNow re-reads and recompiles the TLS material once (see the connectors'
// ReloadNow). It fails after Close.
func (b *Base) ReloadNow(ctx context.Context) error {
	if err := b.Closed(); err != nil {
		return err
	}
	return b.reload.reload(ctx)
}

// DialDone reports a finished dial, started at start, to the observers; deferred with
// the dial's named error.
func (b *Base) DialDone(start time.Time, err *error) { b.reload.dialDone(b.backend, start, err) }

// CheckDone completes a Check's report and reports it to the observers; deferred with
// the Check's named results.
func (b *Base) CheckDone(start time.Time, rep **Report, err *error) {
	b.reload.checkDone(b.backend, start, rep, err)
}

// Handshake runs the TLS handshake over raw, dialled to addr for hostport, with the
// connector's live material and shared session cache; release gives the session cache
// slot back. TLS must not be nil.
func (b *Base) Handshake(ctx context.Context, raw net.Conn, hostport, addr string) (_ *tls.Conn, release func(), _ error) {
	return b.tls.handshakeShared(ctx, raw, hostport, addr)
}

// FillHost completes h, the report of one host of r, from the host's outcome err.
func (b *Base) FillHost(h *HostReport, r *Report, serverName string, err error) {
	h.fill(r, serverName, err)
}

// FillTLS records the negotiated TLS parameters and the server's chain in r.
func (b *Base) FillTLS(r *Report, cs tls.ConnectionState) { r.fillTLS(cs, b.Now()) }

// CertInfo describes c now.
func (b *Base) CertInfo(c *x509.Certificate) CertInfo { return newCertInfo(c, b.Now()) }

// Classify wraps err as an *Error of kind k for host, unless it carries a kind already.
func (b *Base) Classify(err error, k Kind, host string) error { return classify(err, k, host) }

// ClassifyNet is the kind of a network failure whatever stage it happened at, else
// fallback.
func (b *Base) ClassifyNet(err error, fallback Kind) Kind { return classifyNet(err, fallback) }

// ClassifyTLSError classifies a handshake failure against hostport.
func (b *Base) ClassifyTLSError(err error, hostport string) error {
	return classifyTLSError(err, hostport)
}

// PlaintextToTLS wraps a plaintext profile's protocol failure against host when the
// server speaks TLS there (probed within connect_timeout).
func (b *Base) PlaintextToTLS(ctx context.Context, err error, host string) error {
	return plaintextToTLS(ctx, err, host, b.connectTimeout)
}

// HostOnly is hostport without its port.
func (b *Base) HostOnly(hostport string) string { return hostOnly(hostport) }
