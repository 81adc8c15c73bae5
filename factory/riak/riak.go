// Package riak is the Riak KV connector of package factory: New compiles a profile into a
// *Connector whose riak-go-client nodes dial through the factory's TLS layer, after a
// preflight. Importing it registers the backend with factory.Compile.
package riak

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	riak "github.com/basho/riak-go-client"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/factorykit"
	"github.com/connfactory/connfactory/internal/sealed"
	"github.com/connfactory/connfactory/internal/textsafe"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/validate"
)

// Connector is a compiled Riak KV profile: riak-go-client node options whose TLS is
// the factory's (server name always set, chain, name and CRL verified, live material),
// and a Dial that never hands back a cluster riak-go-client would spin on.
//
// Every mechanism but none runs over TLS, as Riak requires: the client sends
// RpbStartTls, upgrades, then authenticates with RpbAuthReq. trust sends the username
// only, password and pam send username and password (pam is the same wire as password;
// the server decides which source applies), certificate presents the client
// certificate and an empty password, and the server accepts it only when the
// certificate's CN is the username (checked at compile time too).
//
// Name, Warnings and TLS (nil without TLS; a reload updates it in place), and the
// connector's printed forms (fmt with every verb, slog, JSON: type, profile name, TLS
// mode, never a secret), come from the part every connector shares
// (internal/factorykit.Common, over the factory.Base compiled by New).
//
// A Connector is safe for concurrent use.
type Connector struct {
	common      // Name, Warnings, TLS, and the printed forms
	base        factory.Base
	hosts       []string // host:port, default port applied, duplicates removed
	mechanism   schema.Mechanism
	username    string
	password    sealed.Box[schema.Secret] // sealed: fmt of a Connector value must not print it
	authWait    time.Duration
	minConns    int           // pool.connections_per_host, 0: riak-go-client's 1
	maxConns    int           // pool.max_connections_per_host, 0: riak-go-client's 256
	idleTimeout time.Duration // pool.idle_timeout, 0: riak-go-client's 10s
}

// common is what every connector has the same (internal/factorykit.Common).
type common = factorykit.Common

var _ factory.Connector = (*Connector)(nil)

// secret is the password ("" for none).
func (c *Connector) secret() schema.Secret {
	if pw := c.password.Get(); pw != nil {
		return *pw
	}
	return ""
}

// New compiles Riak profile name. p must be validated and its material
// resolved; the factory re-checks what it relies on and reports a config-kind *Error
// wrapping schema.Problems otherwise. Among those: a mechanism other than none without
// TLS (Riak refuses authentication over plaintext), TLS with mechanism none (Riak speaks
// TLS only to clients that then authenticate), and certificate auth whose client
// certificate's CN is not auth.username.
func New(name string, p *schema.Profile, opts ...factory.Option) (*Connector, error) {
	c := &Connector{}
	if err := c.base.Compile(name, p, schema.Riak, opts, c.compile); err != nil {
		return nil, err
	}
	c.common = factorykit.NewCommon(&c.base, "riak.Connector", "hosts: "+strings.Join(c.hosts, ","))
	if c.mechanism != schema.MechanismNone {
		if err := c.checkTLS(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// compile compiles what is Riak's own in profile p: the hosts as nodes (duplicates
// removed), the pool, and authentication (validate's rules for Riak: the mechanism, its
// username and password, TLS with every mechanism but none), recording problems and
// warnings in c.base. TLS compiles after it only without problems (they stop the compile
// before TLS) and with a mechanism other than none.
func (c *Connector) compile(p *schema.Profile) (compileTLS bool) {
	b := &c.base
	path := b.Path()
	for _, hp := range b.Hosts() {
		if !slices.Contains(c.hosts, hp.String()) {
			c.hosts = append(c.hosts, hp.String())
		}
	}
	c.minConns, c.maxConns, c.idleTimeout = b.Pool()
	c.authWait = cmp.Or(b.AuthWait(), riakAuthVerdictWait)
	c.mechanism = p.Auth.EffectiveMechanism()
	for _, pr := range validate.BackendAuth(p) {
		b.AddProblem(schema.Problem{Path: path + "." + pr.Path, Message: pr.Message})
	}
	if p.Auth != nil {
		c.username = p.Auth.Username
		pw := b.Secret("auth.password", p.Auth.Password)
		c.password.Set(&pw)
		if len(p.Auth.PerHost) > 0 {
			b.AddWarning(factory.Warning{Path: path + ".auth.per_host",
				Message: "ignored: per-host credentials are a Cassandra feature; Riak uses auth.username for every host"})
		}
	}
	if (c.mechanism == schema.MechanismTrust || c.mechanism == schema.MechanismCertificate) && p.Auth.Password != nil {
		// The server ignores it; sending it anyway would put a secret on the wire for
		// nothing.
		c.password.Set(nil)
		b.AddWarning(factory.Warning{Path: path + ".auth.password",
			Message: fmt.Sprintf("ignored: mechanism %s sends no password", c.mechanism)})
	}
	return !b.Failed() && c.mechanism != schema.MechanismNone
}

// checkTLS checks the compiled TLS section against the mechanism: every mechanism but
// none needs TLS, and certificate a client certificate whose CN is the username.
func (c *Connector) checkTLS() error {
	path := c.base.Path()
	ct := c.TLS()
	if ct == nil {
		return c.base.ConfigError(schema.Problem{Path: path + ".tls",
			Message: fmt.Sprintf("mechanism %s needs TLS: Riak refuses authentication over plaintext", c.mechanism)})
	}
	if c.mechanism != schema.MechanismCertificate {
		return nil
	}
	switch cert := ct.ClientCertificate(); {
	case cert == nil:
		return c.base.ConfigError(schema.Problem{Path: path + ".tls.cert",
			Message: "mechanism certificate needs a client certificate and key (tls.cert and tls.key, tls.pkcs12 or tls.keystore)"})
	case cert.Subject.CommonName != c.username:
		return c.base.ConfigError(schema.Problem{Path: path + ".auth.username",
			Message: fmt.Sprintf("is %q but the client certificate's CN is %q: Riak accepts a certificate only for the user its CN names",
				c.username, cert.Subject.CommonName)})
	}
	return nil
}

// Backend is schema.Riak.
func (c *Connector) Backend() schema.Backend { return schema.Riak }

// Start starts the connector's background work: the periodic TLS reload, if the profile
// sets tls.reload. Compiling starts no goroutine; the first Dial, DialConn, Check or NodeOptions starts it, so
// a program calls Start only to have material reloaded before its first use
// (connfactory.Registry does when it hands out a connector). Idempotent; after Close it
// does nothing. Close stops what it started.
func (c *Connector) Start() { c.base.Start() }

// String describes the connector (see Format); a nil *Connector is "<nil>".
func (c *Connector) String() string {
	if c == nil {
		return "<nil>"
	}
	return c.common.String()
}

// Close marks the connector closed: Dial, DialConn and Check then fail with a config
// *Error. It stops the TLS reload and waits for it, so no goroutine of the connector is
// left; clusters from Dial and connections from DialConn stay up and are the caller's to
// stop and close. Close is idempotent.
func (c *Connector) Close() error { return c.base.Close() }

// ReloadNow re-reads and recompiles the connector's TLS material once, synchronously,
// whatever tls.reload says. See cassandra.Connector.ReloadNow: the behaviour is the same,
// including for riak-go-client nodes from NodeOptions or Dial, whose next connections
// present the new material.
func (c *Connector) ReloadNow(ctx context.Context) error { return c.base.ReloadNow(ctx) }

// firstUse does what compiling leaves to the first dial: it starts the TLS reload and
// installs the riak-go-client logger adapter (installRiakLogging).
func (c *Connector) firstUse() {
	installRiakLogging(c.base.Logger())
	c.base.Start()
}

// Hosts are the profile's hosts as host:port, default port applied, duplicates removed.
func (c *Connector) Hosts() []string { return slices.Clone(c.hosts) }

// NodeOptions returns copies of the riak-go-client options Dial uses, one per host, for
// inspection or for a program that builds its own cluster; changing them does not change
// what Dial does (pass an adjust function to Dial for that). ConnectTimeout is
// connect_timeout, RequestTimeout is timeout, MinConnections, MaxConnections and
// IdleTimeout come from the pool section (0: riak-go-client's defaults, 1, 256 and 10s;
// MaxConnections is raised to MinConnections when only the latter is above 256). Unless
// the mechanism is none, AuthOptions carries the username, the password (empty for trust
// and certificate) and a *tls.Config for that host with ServerName set, whose
// verification and client certificate read the connector's live material, so a reload
// reaches the node's next connections, and whose session cache is the connector's.
//
// Beware: with these options alone, a node riak-go-client cannot reach or authenticate
// to passes Start without an error, and the cluster's first command then spins forever
// (Stop does not end it). Prefer Dial, which preflights every host first.
func (c *Connector) NodeOptions() []*riak.NodeOptions {
	c.firstUse()
	out := make([]*riak.NodeOptions, 0, len(c.hosts))
	for _, h := range c.hosts {
		out = append(out, c.nodeOptions(h))
	}
	return out
}

func (c *Connector) nodeOptions(host string) *riak.NodeOptions {
	no := &riak.NodeOptions{
		RemoteAddress:  host,
		ConnectTimeout: c.base.ConnectTimeout(),
		RequestTimeout: c.base.Timeout(),
		MinConnections: uint16(c.minConns), //nolint:gosec // 0 to 1024 (factory.Base.Compile checks the pool)
		MaxConnections: uint16(c.maxConns), //nolint:gosec // 0 to 1024 (factory.Base.Compile checks the pool)
		IdleTimeout:    c.idleTimeout,
	}
	if c.maxConns == 0 && c.minConns > riakDefaultMaxConnections {
		no.MaxConnections = uint16(c.minConns) //nolint:gosec // at most 1024
	}
	if c.mechanism != schema.MechanismNone {
		no.AuthOptions = &riak.AuthOptions{
			User:      c.username,
			Password:  c.secret().Reveal(),
			TlsConfig: c.TLS().Config(host),
		}
	}
	return no
}

// riakDefaultMaxConnections is riak-go-client's default MaxConnections.
const riakDefaultMaxConnections = 256

// adjustNode runs adjust on no and refuses changes to the fields the factory owns.
func adjustNode(no *riak.NodeOptions, adjust []func(*riak.NodeOptions)) error {
	type owned struct {
		addr    string
		connect time.Duration
		auth    *riak.AuthOptions
		authVal riak.AuthOptions
	}
	snap := func() owned {
		o := owned{addr: no.RemoteAddress, connect: no.ConnectTimeout, auth: no.AuthOptions}
		if no.AuthOptions != nil {
			o.authVal = *no.AuthOptions
		}
		return o
	}
	err := factorykit.ApplyAdjust(no, adjust, snap, func(before, after owned) []factorykit.OwnedField {
		same := after.auth == before.auth // fields of a replaced AuthOptions are not listed
		return []factorykit.OwnedField{
			{Name: "RemoteAddress", Same: after.addr == before.addr},
			{Name: "ConnectTimeout", Same: after.connect == before.connect},
			{Name: "AuthOptions", Same: same},
			{Name: "AuthOptions.User", Same: !same || after.authVal.User == before.authVal.User},
			{Name: "AuthOptions.Password", Same: !same || after.authVal.Password == before.authVal.Password},
			{Name: "AuthOptions.TlsConfig", Same: !same || after.authVal.TlsConfig == before.authVal.TlsConfig},
		}
	}, "riak.NodeOptions", "the host the preflight checked, TLS and its verification, the credentials and connect_timeout")
	if err != nil {
		return err
	}
	if no.MaxConnections != 0 && no.MinConnections > no.MaxConnections {
		return &factory.Error{Kind: factory.KindConfig, Err: fmt.Errorf("adjust set riak.NodeOptions.MinConnections %d above MaxConnections %d",
			no.MinConnections, no.MaxConnections)}
	}
	return nil
}

// riakResult is one host's preflight outcome.
type riakResult struct {
	host string
	err  error
}

// Dial preflights every host concurrently (each bounded by ctx and connect_timeout),
// then builds and starts a *riak.Cluster of the hosts that passed. Hosts that failed are
// left out, logged at warn level, and not retried by the cluster: riak-go-client would
// spin on them. When none passes, Dial returns an *Error, starts nothing and leaves no
// goroutine behind. Its kind is the first host's whose failure is not merely
// unreachable or timeout (a refused credential or certificate is the actionable news),
// else the first host's; its message lists every host's failure.
//
// riak-go-client's Start is then bounded by its own options (connect_timeout for TCP,
// timeout for each request), not by ctx. Should its first connection to a node fail
// anyway (the node died since the preflight), the node is removed; if none is left the
// cluster is stopped and Dial fails. Last, one ping runs through the cluster, on the
// connection Start opened: riak-go-client's first command ever spins forever if no node
// can run it, later ones give up after one round, so the first one is best spent here.
// If it fails the cluster is stopped and Dial fails.
//
// Goroutines: when Dial fails, none of riak-go-client's exists (no cluster was started,
// or it was stopped). A returned cluster runs one connection-expiry goroutine per node,
// plus a health-check goroutine while a node is unhealthy; Stop ends them all.
//
// Each adjust function runs, in order, on every node's options after the profile is
// applied, before the preflight and before riak-go-client starts: it may change what the
// factory does not own (MinConnections, MaxConnections, IdleTimeout, RequestTimeout,
// TempNetErrorRetries, health checks). The factory owns, for safety, RemoteAddress (the
// host the preflight checks), AuthOptions and its User, Password and TlsConfig (TLS and
// its verification, the credentials) and ConnectTimeout (connect_timeout): an adjust that
// changes one of them makes Dial fail with a config-kind *Error naming the field
// (errors.Is ErrAdjustOwnedField), before any connection is made.
//
// With TLS, the pool's connections resume the preflight's TLS session (the connector's
// session cache), so a pool of any size costs one full handshake per host.
//
// The caller stops the cluster with Stop.
func (c *Connector) Dial(ctx context.Context, adjust ...func(*riak.NodeOptions)) (_ *riak.Cluster, retErr error) {
	c.firstUse()
	defer c.base.DialDone(time.Now(), &retErr)
	if err := c.base.Closed(); err != nil {
		return nil, err
	}
	opts := make(map[string]*riak.NodeOptions, len(c.hosts))
	for _, h := range c.hosts {
		no := c.nodeOptions(h)
		if err := adjustNode(no, adjust); err != nil {
			return nil, err
		}
		opts[h] = no
	}
	results := make([]riakResult, len(c.hosts))
	var wg sync.WaitGroup
	for i, h := range c.hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := c.preflight(ctx, h, &factory.Report{}, false)
			if err == nil {
				_ = conn.Close()
			}
			results[i] = riakResult{host: h, err: err}
		}()
	}
	wg.Wait()

	var nodes []*riak.Node
	var nodeHosts []string
	var failed []riakResult
	for _, r := range results {
		if r.err != nil {
			failed = append(failed, r)
			continue
		}
		n, err := riak.NewNode(opts[r.host])
		if err != nil {
			failed = append(failed, riakResult{r.host, c.base.Classify(err, factory.KindUnreachable, r.host)})
			continue
		}
		nodes = append(nodes, n)
		nodeHosts = append(nodeHosts, r.host)
	}
	if len(nodes) == 0 {
		return nil, riakAggregate(failed)
	}
	for _, f := range failed {
		c.base.Logger().Warn("riak: host left out of the cluster: its preflight failed",
			"profile", c.Name(), "host", f.host, "kind", string(factory.KindOf(f.err)), "error", f.err.Error())
	}

	cluster, err := riak.NewCluster(&riak.ClusterOptions{Nodes: nodes, NoDefaultNode: true})
	if err != nil {
		return nil, &factory.Error{Kind: factory.KindConfig, Err: fmt.Errorf("riak: new cluster: %w", err)}
	}
	if err := cluster.Start(); err != nil {
		return nil, &factory.Error{Kind: factory.KindProtocol, Err: fmt.Errorf("riak: start cluster: %w", err)}
	}
	// Start returns nil even when a node's first connection failed. Node.String is the
	// only exported view of a node's pool ("addr|connections|idle"): a node without a
	// connection would be health-checked forever and spin the first Execute.
	live := 0
	for i, n := range nodes {
		if riakNodeConnections(n) > 0 {
			live++
			continue
		}
		c.base.Logger().Warn("riak: host left out of the cluster: riak-go-client's own connection failed after the preflight passed",
			"profile", c.Name(), "host", nodeHosts[i])
		_ = cluster.RemoveNode(n)
	}
	if live == 0 {
		_ = cluster.Stop()
		return nil, &factory.Error{Kind: factory.KindUnreachable, Err: errors.New(
			"riak: the preflight passed but riak-go-client could not open its own connection to any host (see the riak-go-client log lines)")}
	}
	reqTimeout := c.base.Timeout()
	for _, no := range opts {
		reqTimeout = max(reqTimeout, no.RequestTimeout)
	}
	if err := c.firstPing(ctx, cluster, reqTimeout); err != nil {
		_ = cluster.Stop()
		return nil, err
	}
	return cluster, nil
}

// firstPing runs one RpbPingReq through the cluster, on the connection Start just
// opened. Beyond proving the pool works, it defuses a riak-go-client trap: its default
// node manager loops until it finds a node that executes, and its exit test can never
// match while its round-robin index is still at its initial 0. So the first command a
// cluster ever runs, if it meets only nodes being health-checked, spins forever (after
// Stop too); every later command gives up after one round. Running the first command
// here, on a connection known to be open, moves the index for good.
func (c *Connector) firstPing(ctx context.Context, cluster *riak.Cluster, reqTimeout time.Duration) error {
	done := make(chan riak.Command, 1)
	ping := &riak.PingCommand{}
	async := &riak.Async{Command: ping, Done: done}
	if err := cluster.ExecuteAsync(async); err != nil {
		return &factory.Error{Kind: factory.KindProtocol, Err: fmt.Errorf("riak: first ping through the cluster: %w", err)}
	}
	// The ping is bounded by riak-go-client's request timeout on each of its attempts;
	// this timer only guards against the spin described above.
	limit := time.NewTimer(c.base.ConnectTimeout() + 3*reqTimeout)
	defer limit.Stop()
	select {
	case <-done:
		err := async.Error
		if err == nil {
			err = ping.Error()
		}
		if err != nil {
			return &factory.Error{Kind: c.base.ClassifyNet(err, factory.KindProtocol), Err: fmt.Errorf("riak: first ping through the cluster: %w", err)}
		}
		if !ping.Success() {
			return &factory.Error{Kind: factory.KindProtocol, Err: errors.New("riak: first ping through the cluster was not answered")}
		}
		return nil
	case <-ctx.Done():
	case <-limit.C:
	}
	c.base.Logger().Error("riak: riak-go-client did not finish its first ping; one of its goroutines may keep running",
		"profile", c.Name())
	return &factory.Error{Kind: factory.KindTimeout, Err: errors.New("riak: riak-go-client did not finish its first ping through the cluster in time")}
}

// riakNodeConnections reads a node's connection count from Node.String.
func riakNodeConnections(n *riak.Node) int {
	parts := strings.Split(n.String(), "|")
	if len(parts) != 3 {
		return 1 // unknown format: trust Start
	}
	v, err := strconv.Atoi(parts[1])
	if err != nil {
		return 1
	}
	return v
}

// riakAggregate is the error of a dial where every host failed.
func riakAggregate(failed []riakResult) error {
	if len(failed) == 1 {
		return failed[0].err
	}
	pick := failed[0].err
	for _, f := range failed {
		if k := factory.KindOf(f.err); k != factory.KindUnreachable && k != factory.KindTimeout {
			pick = f.err
			break
		}
	}
	msgs := make([]string, len(failed))
	for i, f := range failed {
		msgs[i] = f.err.Error()
	}
	return &factory.Error{Kind: factory.KindOf(pick), Err: &riakAllFailed{msg: "riak: no host passed the preflight: " + strings.Join(msgs, "; "), errs: failed}}
}

// riakAllFailed keeps every host's error reachable through errors.As.
type riakAllFailed struct {
	msg  string
	errs []riakResult
}

func (e *riakAllFailed) Error() string { return e.msg }

func (e *riakAllFailed) Unwrap() []error {
	out := make([]error, len(e.errs))
	for i, r := range e.errs {
		out[i] = r.err
	}
	return out
}

// DialConn returns an authenticated connection to the first host, in profile order,
// that passes the preflight: STARTTLS, TLS and RpbAuthReq done (or plain for mechanism
// none), one RpbPingReq answered, deadlines cleared. It is a *tls.Conn unless the
// mechanism is none. It speaks Riak PB framing, for programs using another client or
// their own. On failure the error is that of riakAggregate: every host's failure.
func (c *Connector) DialConn(ctx context.Context) (_ net.Conn, retErr error) {
	c.firstUse()
	defer c.base.DialDone(time.Now(), &retErr)
	if err := c.base.Closed(); err != nil {
		return nil, err
	}
	var failed []riakResult
	for _, h := range c.hosts {
		conn, err := c.preflight(ctx, h, &factory.Report{}, false)
		if err == nil {
			return conn, nil
		}
		failed = append(failed, riakResult{h, err})
		if ctx.Err() != nil {
			break
		}
	}
	return nil, riakAggregate(failed)
}

// Check makes one real connection: the preflight against each host in turn until one
// passes, then RpbGetServerInfoReq for the node name and version. The report describes
// the host that passed (hosts that failed before it are listed in its warnings), or, if
// none did, the last attempt, with the error of every host. Latency is the time from
// the TCP dial to the last answer on the host reported.
func (c *Connector) Check(ctx context.Context) (retRep *factory.Report, retErr error) {
	c.firstUse()
	defer c.base.CheckDone(time.Now(), &retRep, &retErr)
	if err := c.base.Closed(); err != nil {
		rep := c.newReport()
		rep.Fail(err)
		return rep, err
	}
	// Every host is checked: the report describes the first that passed (else the last
	// tried) and lists each in Hosts; it is OK only when every host is.
	var (
		failed []riakResult
		rep    *factory.Report
		hosts  []factory.HostReport
	)
	for _, h := range c.hosts {
		r := c.newReport()
		start := time.Now()
		conn, err := c.preflight(ctx, h, r, true)
		r.Latency = time.Since(start)
		r.LatencyMS = float64(r.Latency.Microseconds()) / 1000
		if err == nil {
			_ = conn.Close()
			r.OK = true
		} else {
			failed = append(failed, riakResult{h, err})
		}
		hr := factory.HostReport{Address: h, Source: factorykit.HostConfigured}
		c.base.FillHost(&hr, r, c.TLS().ServerName(h), err)
		if !c.TLS().Enabled() {
			hr.TLS = nil
		}
		hosts = append(hosts, hr)
		if rep == nil || !rep.OK {
			rep = r
		}
		if err != nil && ctx.Err() != nil {
			break
		}
	}
	if rep == nil {
		rep = c.newReport()
	}
	rep.Hosts = hosts
	switch {
	case len(failed) == 0:
		return rep, nil
	case len(failed) == len(hosts):
		err := riakAggregate(failed)
		rep.Fail(err)
		return rep, err
	}
	// Some hosts passed: the report is a passing host's, the error the first failure's.
	rep.Error = nil
	err := failed[0].err
	rep.Fail(err)
	return rep, err
}

func (c *Connector) newReport() *factory.Report {
	rep := &factory.Report{Profile: c.Name(), Backend: string(schema.Riak)}
	// What the profile asked for, so that a failed handshake still reports TLS as on.
	rep.TLS.Enabled, rep.TLS.Mode = c.TLS().Enabled(), string(c.TLS().Mode())
	for _, w := range c.base.Warnings() {
		rep.Warnings = append(rep.Warnings, w.String())
	}
	return rep
}

// riak-go-client logs through two package-level *log.Logger (SetLogger for warnings
// and debug, SetErrorLogger for errors), to stderr by default, and its health check
// logs every 125 ms while a node is down. The first Riak dial (Dial, DialConn, Check or
// NodeOptions of any Connector; compiling does not) replaces both, once for the
// process, with an adapter to log/slog. Because they are global, the lines of every
// cluster in the process go to one destination: the logger of the Riak connector that
// dialled last, compiled WithLogger, else slog.Default() (looked up per line, so a later
// slog.SetDefault takes effect). Replacing them is a plain write the library's
// goroutines read unsynchronised, hence once, before any cluster of ours runs; a
// program that starts its own riak-go-client clusters should dial through a connector
// (or call its NodeOptions) first.
var (
	riakLogOnce   sync.Once
	riakLogTarget atomic.Pointer[slog.Logger]
)

func installRiakLogging(l *slog.Logger) {
	if h := factorykit.RiakLoggingHook.Load(); h != nil {
		(*h)()
	}
	if l != nil && l != slog.Default() {
		riakLogTarget.Store(l)
	}
	riakLogOnce.Do(func() {
		riak.SetLogger(log.New(riakLogWriter{level: slog.LevelWarn}, "", 0))
		riak.SetErrorLogger(log.New(riakLogWriter{level: slog.LevelError}, "", 0))
	})
}

// riakLogWriter turns one riak-go-client log line into one slog record. The library
// prefixes its lines "[ERROR] ", "[WARNING] " or "[DEBUG] "; those set the level.
type riakLogWriter struct{ level slog.Level }

var riakLogPrefixes = []struct {
	prefix string
	level  slog.Level
}{{"[ERROR] ", slog.LevelError}, {"[WARNING] ", slog.LevelWarn}, {"[DEBUG] ", slog.LevelDebug}}

func (w riakLogWriter) Write(p []byte) (int, error) {
	msg := strings.TrimRight(string(p), "\n")
	level := w.level
	for _, pl := range riakLogPrefixes {
		if rest, ok := strings.CutPrefix(msg, pl.prefix); ok {
			level, msg = pl.level, rest
			break
		}
	}
	l := riakLogTarget.Load()
	if l == nil {
		l = slog.Default()
	}
	// The driver quotes server text (error messages) in its lines: escape it for the log.
	l.Log(context.Background(), level, textsafe.Escape(msg), "component", "riak-go-client")
	return len(p), nil
}

func init() { factorykit.Register(schema.Riak, New) }
