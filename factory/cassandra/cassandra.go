// Package cassandra is the Cassandra connector of package factory: New compiles a profile
// into a *Connector whose gocql ClusterConfig dials through the factory's TLS layer.
// Importing it registers the backend with factory.Compile.
package cassandra

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/factorykit"
	"github.com/connfactory/connfactory/internal/sealed"
	"github.com/connfactory/connfactory/schema"
)

// Defaults of a Cassandra profile that leaves a key out.
const (
	// defaultCassandraConsistency is the default consistency level of a session:
	// schema.DefaultConsistency, local_quorum rather than gocql's quorum so that a DC-aware
	// client does not wait for replicas in other datacenters.
	defaultCassandraConsistency = schema.DefaultConsistency
	// cassandraReconnectInterval is the pause between gocql's attempts to open a pool
	// connection. gocql sleeps it without watching the session, so it is also how long its
	// goroutines can outlive Session.Close: short, where gocql's default is a second.
	cassandraReconnectInterval = 100 * time.Millisecond
	// cassandraReconnectRetries is how often gocql tries to open a pool connection.
	cassandraReconnectRetries = 3
	// cassandraQueryRetries is how often an idempotent query is tried on the next host.
	cassandraQueryRetries = 2
)

// Connector is a compiled Cassandra profile: a gocql cluster configuration whose
// connections go through the factory's own dialer (TCP and TLS bounded by the context and
// connect_timeout, the server name of each configured host, the CRL check and the live TLS
// material) and authenticate with the profile's mechanism.
//
// Defaults: a host without a port uses 9042; nodes discovered through system.peers are
// dialled on the hosts' port (the first host's, where they differ); an idempotent query
// that fails on one node is tried on the next, twice at most; consistency is
// local_quorum; connect_timeout is 5s and timeout 2s; protocol_version 0 lets gocql
// negotiate the highest version both sides speak; with local_datacenter the host policy is
// token-aware (replicas shuffled) over DC-aware round robin, without it token-aware over
// round robin. connect_timeout
// bounds TCP + TLS in the factory's dialer, and gocql's ConnectTimeout (set to the same
// value) bounds the CQL handshake and authentication that follow on that connection.
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
	log         *slog.Logger
	hosts       []cassHost
	port        int // the port gocql dials discovered nodes on: the first host's
	names       *hostNames
	proto       int
	keyspace    string
	dc          string
	consistency gocql.Consistency
	numConns    int                  // pool.connections_per_host, 0: gocql's default (2)
	auth        sealed.Box[cassAuth] // never empty: mechanism none is a cassAuth too; sealed: it holds passwords
}

// common is what every connector has the same (internal/factorykit.Common).
type common = factorykit.Common

// cassHost is one entry of the profile's hosts.
type cassHost struct {
	host     string // as written, without port or IPv6 brackets
	port     int
	hostport string // host and port joined: what gocql dials and what TLS verifies
	ip       net.IP // non-nil when host is an IP literal
}

// New compiles profile name (already validated, material resolved) into
// a connector. It checks what it relies on itself (hosts, protocol version, consistency,
// mechanism, TLS material) and fails with a config-kind *Error listing every problem.
func New(name string, p *schema.Profile, opts ...factory.Option) (*Connector, error) {
	c := &Connector{}
	if err := c.base.Compile(name, p, schema.Cassandra, opts, c.compile); err != nil {
		return nil, err
	}
	c.common = factorykit.NewCommon(&c.base, "cassandra.Connector")
	c.log = c.base.Logger().With("profile", name, "backend", string(schema.Cassandra))
	c.names = newHostNames(c.hosts)
	return c, nil
}

// compile compiles what is Cassandra's own in profile p: the hosts as gocql dials them,
// protocol version, keyspace, datacenter, consistency, pool size and authentication,
// recording problems and warnings in c.base. TLS compiles after it in any case.
func (c *Connector) compile(p *schema.Profile) (compileTLS bool) {
	b := &c.base
	path := b.Path()
	for _, hp := range b.Hosts() {
		c.hosts = append(c.hosts, cassHost{host: hp.Name, port: hp.Port, hostport: hp.String(), ip: net.ParseIP(hp.Name)})
	}
	if len(c.hosts) > 0 {
		// gocql dials the nodes it discovers through system.peers on ClusterConfig.Port.
		// Every node of a cluster listens on one port, so that is the hosts' port; where
		// they differ (validate warns), the first host's.
		c.port = c.hosts[0].port
	}
	c.keyspace, c.dc = p.Keyspace, p.LocalDatacenter
	if slices.Contains(schema.ProtocolVersions, p.ProtocolVersion) {
		c.proto = p.ProtocolVersion
	} else {
		b.AddProblem(schema.Problem{Path: path + ".protocol_version", Message: fmt.Sprintf(
			"protocol version %d is not supported: use 0 (negotiate), 3, 4 or 5 (the Go driver starts at 3, Cassandra 2.1)",
			p.ProtocolVersion)})
	}
	cons := strings.ToLower(strings.TrimSpace(p.Consistency))
	if cons == "" {
		cons = defaultCassandraConsistency
	}
	if !slices.Contains(schema.Consistencies, cons) {
		b.AddProblem(schema.Problem{Path: path + ".consistency", Message: fmt.Sprintf(
			"unknown consistency %q (accepted: %s)", p.Consistency, schema.Accepted(schema.Consistencies))})
	} else if cl, err := gocql.ParseConsistencyWrapper(cons); err == nil {
		c.consistency = cl
	}
	c.numConns, _, _ = b.Pool()
	auth, aps, aws := compileCassandraAuth(path+".auth", p.Auth, p.TLS.Enabled(), b.Secret)
	c.auth.Set(auth)
	b.AddProblem(aps...)
	b.AddWarning(aws...)
	return true
}

// Backend is schema.Cassandra.
func (c *Connector) Backend() schema.Backend { return schema.Cassandra }

// Start starts the connector's background work: the periodic TLS reload, if the profile
// sets tls.reload. Compiling starts no goroutine; the first Dial, Check, CheckDiscover or ClusterConfig starts it, so
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

// Close marks the connector closed: Dial and Check then fail. It stops the TLS reload and
// waits for it, so no goroutine of the connector is left. Sessions already dialled stay
// open; they are the caller's to close. Close is idempotent.
func (c *Connector) Close() error { return c.base.Close() }

// ReloadNow re-reads and recompiles the connector's TLS material once, synchronously,
// whatever tls.reload says (a SIGHUP handler, a test, a rotation hook). On success,
// handshakes that start afterwards use the new material (and TLS().Generation counts
// one more; material found unchanged is not recompiled and counts nothing); on failure
// the last good material stays in use. Either way the outcome is logged and passed to the
// reload callback. The error is an *Error (kind config for material that does not
// compile). ReloadNow fails when the profile has no TLS, was compiled without a material
// source (factory.WithMaterial), or the connector is closed.
func (c *Connector) ReloadNow(ctx context.Context) error { return c.base.ReloadNow(ctx) }

// ClusterConfig returns a copy of the gocql configuration Dial uses, for inspection or
// for a program that calls CreateSession itself: hosts, port, keyspace, consistency, host
// policy, timeouts, protocol version, pool size (NumConns), the factory's HostDialer and
// authentication. Each call builds a new copy (gocql does not allow one host policy in
// two sessions), so changing it does not change what Dial does: pass an adjust function
// to Dial for that.
//
// A session created from it directly gets gocql's error messages; Dial classifies them.
func (c *Connector) ClusterConfig() *gocql.ClusterConfig {
	c.base.Start()
	return c.clusterConfig(nil)
}

func (c *Connector) clusterConfig(att *attempt) *gocql.ClusterConfig {
	hosts := make([]string, len(c.hosts))
	for i, h := range c.hosts {
		hosts[i] = h.hostport
	}
	cfg := gocql.NewCluster(hosts...)
	cfg.Port = c.port
	cfg.ProtoVersion = c.proto
	cfg.Keyspace = c.keyspace
	cfg.Consistency = c.consistency
	cfg.Timeout = c.base.Timeout()
	cfg.WriteTimeout = c.base.Timeout()
	// gocql's ConnectTimeout bounds the CQL handshake (OPTIONS, STARTUP, authentication)
	// once our dialer has made the TCP and TLS connection within connect_timeout.
	cfg.ConnectTimeout = c.base.ConnectTimeout()
	if c.numConns > 0 {
		cfg.NumConns = c.numConns
	}
	cfg.HostDialer = &hostDialer{c: c, att: att}
	cfg.AuthProvider = c.authProvider(att)
	if c.dc != "" {
		cfg.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(
			gocql.DCAwareRoundRobinPolicy(c.dc), gocql.ShuffleReplicas())
	} else {
		cfg.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(
			gocql.RoundRobinHostPolicy(), gocql.ShuffleReplicas())
	}
	cfg.ReconnectionPolicy = &gocql.ConstantReconnectionPolicy{
		MaxRetries: cassandraReconnectRetries, Interval: cassandraReconnectInterval}
	// A node that goes down while a query is on its connection fails that query; an
	// idempotent query (Query.Idempotent) is then tried on the next host. gocql's default is
	// no retry at all.
	cfg.RetryPolicy = &gocql.SimpleRetryPolicy{NumRetries: cassandraQueryRetries}
	cfg.Logger = gocqlLogger{c.log}
	return cfg
}

// Dial creates a gocql session. Connection setup (TCP, TLS, CQL handshake, authentication)
// stops when ctx ends; the session outlives ctx. A failure is an *Error whose kind says
// why: gocql's own error only carries a message, so the kind comes from what the factory's
// dialer and authenticator saw, or from the server's words.
//
// Each adjust function runs, in order, on the session's configuration after the profile
// is applied and before gocql starts: it may change anything the factory does not own
// (NumConns, timeouts, retry, reconnection and host policies, keyspace, consistency,
// compression, ...). The factory owns, for safety, HostDialer, Dialer and SslOpts (its
// context-bounded, verifying TLS), Authenticator and AuthProvider (the profile's
// credentials and allowed authenticators) and ConnectTimeout (connect_timeout): an adjust
// that changes one of them makes Dial fail with a config-kind *Error naming the field,
// before any connection is made. With TLS, the pool's connections to one server share
// one full handshake: the others resume its session.
func (c *Connector) Dial(ctx context.Context, adjust ...func(*gocql.ClusterConfig)) (_ *gocql.Session, retErr error) {
	c.base.Start()
	defer c.base.DialDone(time.Now(), &retErr)
	if err := c.base.Closed(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, ctxError(err, "")
	}
	att := newAttempt(ctx, &c.base)
	cfg := c.clusterConfig(att)
	if err := adjustCluster(cfg, adjust); err != nil {
		att.finish()
		return nil, err
	}
	sess, err := cfg.CreateSession()
	att.finish()
	if err != nil {
		err = c.classify(err, att)
		c.log.Debug("cassandra dial failed", "err", err)
		return nil, err
	}
	return sess, nil
}

// adjustCluster runs adjust on cfg and refuses changes to the fields the factory owns.
func adjustCluster(cfg *gocql.ClusterConfig, adjust []func(*gocql.ClusterConfig)) error {
	type owned struct {
		hostDialer    gocql.HostDialer
		dialer        gocql.Dialer
		sslOpts       *gocql.SslOptions
		authenticator gocql.Authenticator
		authProvider  uintptr
		connect       time.Duration
	}
	snap := func() owned {
		return owned{cfg.HostDialer, cfg.Dialer, cfg.SslOpts, cfg.Authenticator,
			factorykit.FuncPointer(cfg.AuthProvider), cfg.ConnectTimeout}
	}
	return factorykit.ApplyAdjust(cfg, adjust, snap, func(before, after owned) []factorykit.OwnedField {
		return []factorykit.OwnedField{
			{Name: "HostDialer", Same: after.hostDialer == before.hostDialer},
			{Name: "Dialer", Same: after.dialer == before.dialer},
			{Name: "SslOpts", Same: after.sslOpts == before.sslOpts},
			{Name: "Authenticator", Same: after.authenticator == before.authenticator},
			{Name: "AuthProvider", Same: after.authProvider == before.authProvider},
			{Name: "ConnectTimeout", Same: after.connect == before.connect},
		}
	}, "gocql.ClusterConfig", "TLS and its verification, the credentials and connect_timeout")
}

// Check opens a session on every configured host in turn, with one connection and without
// topology discovery or schema metadata, reads system.local and closes everything before
// it returns. The report describes the first host that passed (or the first that failed,
// when none did) and lists every host in Hosts; it is OK only when every host is, and its
// error is the first failure's. CheckDiscover also checks the nodes system.peers lists.
func (c *Connector) Check(ctx context.Context) (*factory.Report, error) {
	return c.check(ctx, false)
}

// CheckDiscover is Check that also dials, one by one, the nodes the first passing host lists
// in system.peers (system.peers_v2 where the server has it), the way gocql discovers them:
// by their rpc address, on the profile's port, verified by TLS as the profile says (by IP
// address unless tls.server_name is set). A failing discovered node fails the check.
func (c *Connector) CheckDiscover(ctx context.Context) (*factory.Report, error) {
	return c.check(ctx, true)
}

func (c *Connector) check(ctx context.Context, discover bool) (retRep *factory.Report, retErr error) {
	c.base.Start()
	defer c.base.CheckDone(time.Now(), &retRep, &retErr)
	start := time.Now()
	newReport := func() *factory.Report {
		r := &factory.Report{
			Profile: c.Name(),
			Backend: string(schema.Cassandra),
			Auth:    factory.AuthReport{Mechanism: string(c.auth.Get().mech), Username: c.auth.Get().user, Result: "not attempted"},
		}
		if c.TLS() != nil {
			r.TLS.Enabled, r.TLS.Mode = true, string(c.TLS().Mode())
		} else {
			r.TLS.Mode = string(schema.TLSDisable)
		}
		for _, w := range c.base.Warnings() {
			r.Warnings = append(r.Warnings, w.String())
		}
		return r
	}
	var (
		main      *factory.Report // the first passing host's report, else the first failing one's
		mainOK    bool
		firstErr  error
		peers     []discoveredPeer
		havePeers bool
		hosts     []factory.HostReport
	)
	run := func(h cassHost, source string, dc string, wantPeers bool) {
		r := newReport()
		hr := factory.HostReport{Address: h.hostport, Source: source, Datacenter: dc}
		var err error
		if cerr := ctx.Err(); cerr != nil {
			err = ctxError(cerr, h.hostport)
			r.Fail(err)
		} else {
			var found []discoveredPeer
			found, err = c.checkHost(ctx, h, r, wantPeers)
			if err == nil && wantPeers {
				peers, havePeers = found, true
			}
		}
		c.base.FillHost(&hr, r, c.tlsServerName(c.names.cached(h.hostport)), err)
		hosts = append(hosts, hr)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		if main == nil || (err == nil && !mainOK) {
			main, mainOK = r, err == nil
		}
	}
	if err := c.base.Closed(); err != nil {
		main = newReport()
		firstErr = err
	} else {
		for _, h := range c.hosts {
			run(h, factorykit.HostConfigured, "", discover && !havePeers)
		}
		for _, p := range peers {
			if c.isConfigured(ctx, p.host) {
				continue
			}
			run(p.host, factorykit.HostDiscovered, p.datacenter, false)
		}
	}
	main.Hosts = hosts
	main.Latency = time.Since(start)
	main.LatencyMS = float64(main.Latency.Microseconds()) / 1000
	if firstErr != nil {
		main.Fail(firstErr)
		return main, firstErr
	}
	main.OK, main.Error = true, nil
	return main, nil
}

// discoveredPeer is a node a host listed in system.peers.
type discoveredPeer struct {
	host       cassHost
	datacenter string
}

// isConfigured reports whether h is one of the profile's hosts (by address, or by a
// configured name that resolved to it).
func (c *Connector) isConfigured(ctx context.Context, h cassHost) bool {
	for _, ch := range c.hosts {
		if ch.hostport == h.hostport {
			return true
		}
	}
	return c.names.lookup(ctx, h.hostport) != h.hostport
}

// checkHost runs Check against one host, filling r; with wantPeers it also reads the
// nodes the host lists in its peers tables.
func (c *Connector) checkHost(ctx context.Context, h cassHost, r *factory.Report, wantPeers bool) ([]discoveredPeer, error) {
	att := newAttempt(ctx, &c.base)
	att.observe = true
	cfg := c.clusterConfig(att)
	cfg.Hosts = []string{h.hostport}
	cfg.NumConns = 1
	cfg.DisableInitialHostLookup = true
	cfg.Metadata.CacheMode = gocql.Disabled
	cfg.Events.DisableNodeStatusEvents = true
	cfg.Events.DisableTopologyEvents = true
	cfg.Events.DisableSchemaEvents = true
	cfg.ReconnectInterval = 0
	// Without host lookup gocql knows no datacenter, and a DC-aware policy would treat the
	// one host as remote.
	cfg.PoolConfig.HostSelectionPolicy = gocql.RoundRobinHostPolicy()
	r.Server = (&factory.Report{}).Server // what an earlier host filled in does not carry over
	r.Server.Address = h.hostport

	sess, err := cfg.CreateSession()
	att.finish()
	if err == nil {
		att.mu.Lock()
		att.ready = true
		att.mu.Unlock()
	}
	c.fillReport(r, att)
	if err != nil {
		err = c.classify(err, att)
		if k := factory.KindOf(err); k == factory.KindAuthFailed || k == factory.KindAuthRequired {
			r.Auth.Result = "failed"
		}
		return nil, err
	}
	defer sess.Close()
	// "SELECT *": every server answers it (test servers built on DataStax's
	// go-cassandra-native-protocol answer only a few system.local queries, this one
	// among them), and release_version is one of its columns.
	row := map[string]any{}
	q := sess.Query("SELECT * FROM system.local").WithContext(ctx)
	if err := q.MapScan(row); err != nil {
		if ctx.Err() != nil {
			return nil, ctxError(ctx.Err(), h.hostport)
		}
		return nil, c.base.Classify(fmt.Errorf("cassandra: reading system.local: %w", err), factory.KindProtocol, h.hostport)
	}
	if v, ok := row["release_version"].(string); ok {
		r.Server.Version = v
	}
	if v, ok := row["data_center"].(string); ok {
		r.Server.Datacenter = v
	}
	if !wantPeers {
		return nil, nil
	}
	peers, err := c.readPeers(ctx, sess)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctxError(ctx.Err(), h.hostport)
		}
		return nil, c.base.Classify(fmt.Errorf("cassandra: reading system.peers: %w", err), factory.KindProtocol, h.hostport)
	}
	return peers, nil
}

// readPeers lists the nodes in system.peers_v2 (with their native port) or, where the server
// lacks that table, system.peers (on the profile's port, as gocql dials them).
func (c *Connector) readPeers(ctx context.Context, sess *gocql.Session) ([]discoveredPeer, error) {
	rows, err := sess.Query("SELECT * FROM system.peers_v2").WithContext(ctx).Iter().SliceMap()
	if err != nil {
		if rows, err = sess.Query("SELECT * FROM system.peers").WithContext(ctx).Iter().SliceMap(); err != nil {
			return nil, err
		}
	}
	var out []discoveredPeer
	for _, row := range rows {
		ip := firstIP(row, "native_address", "rpc_address", "preferred_ip", "peer")
		if ip == nil {
			continue
		}
		port := c.port
		if p, ok := row["native_port"].(int); ok && p > 0 {
			port = p
		}
		hp := schema.Host{Name: ip.String(), Port: port}.String()
		dc, _ := row["data_center"].(string)
		out = append(out, discoveredPeer{host: cassHost{host: ip.String(), port: port, hostport: hp, ip: ip}, datacenter: dc})
	}
	return out, nil
}

// firstIP returns the first usable address among a peers row's columns.
func firstIP(row map[string]any, cols ...string) net.IP {
	for _, col := range cols {
		if ip, ok := row[col].(net.IP); ok && ip != nil && !ip.IsUnspecified() {
			return ip
		}
	}
	return nil
}

// fillReport copies what the attempt observed into r.
func (c *Connector) fillReport(r *factory.Report, att *attempt) {
	att.mu.Lock()
	defer att.mu.Unlock()
	if att.tlsState != nil {
		r.TLS.ServerName = att.serverName
		c.base.FillTLS(r, *att.tlsState)
	}
	if c.TLS() != nil {
		if cert := c.TLS().ClientCertificate(); cert != nil {
			ci := c.base.CertInfo(cert)
			r.TLS.ClientCert = &ci
		}
	}
	if att.proto != 0 {
		r.Server.ProtocolVersion = att.proto
	}
	if att.addr != "" {
		r.Server.Node = att.addr
	}
	if att.authUser != "" {
		r.Auth.Username = att.authUser
	}
	r.Auth.Authenticator = att.authClass
	switch {
	case att.authOK:
		r.Auth.Result = "ok"
	case att.ready && att.authClass == "":
		// The server did not ask for credentials.
		r.Auth.Result = "none"
	}
}

// Server messages (and gocql's) that say why a connection failed. gocql wraps errors with
// %v, so these words are all that is left of the cause by the time NewSession returns.
var (
	// Cassandra's PasswordAuthenticator: "Provided username U and/or password are incorrect"
	// (3.x and later) and "Username and/or password are incorrect" (2.x).
	authFailedMessages = []string{
		"and/or password are incorrect",
		// DataStax's go-cassandra-native-protocol server (the CQL test server many Go
		// projects use) and some proxies.
		"invalid credentials",
		"Authentication ID must not be null",
		"Password must not be null",
		"Failed to authenticate",
		"Unable to perform authentication",
	}
	// gocql's message when the server sends AUTHENTICATE and the config has no authenticator.
	authRequiredMessages = []string{"authentication required (using "}
	// gocql's messages when the CQL handshake gets no answer within ConnectTimeout: the
	// startup context ran out, or the connection's read deadline did.
	timeoutMessages = []string{"no response to connection startup within timeout",
		"no response received from cassandra within timeout period"}
	// gocql's message when no configured host name resolves.
	unreachableMessages = []string{"failed to resolve any of the provided hostnames",
		"no connections were made when creating the session"}
)

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// classify turns gocql's session error into an *Error. What the factory saw itself comes
// first (its authenticator's refusal, the caller's context), then the server's words, then
// the last dial error, then gocql's.
func (c *Connector) classify(err error, att *attempt) error {
	att.mu.Lock()
	authErr, dialErr, frameErr, host := att.authErr, att.dialErr, att.frameErr, att.lastHost
	att.mu.Unlock()
	if host == "" && len(c.hosts) > 0 {
		host = c.hosts[0].hostport
	}
	msg := err.Error()
	switch {
	case authErr != nil:
		return authErr
	case frameErr != nil:
		return frameErr
	case att.ctx.Err() != nil:
		return ctxError(att.ctx.Err(), host)
	case containsAny(msg, authFailedMessages):
		return &factory.Error{Kind: factory.KindAuthFailed, Host: host, Err: err}
	case containsAny(msg, authRequiredMessages):
		return &factory.Error{Kind: factory.KindAuthRequired, Host: host, Err: fmt.Errorf(
			"the server requires authentication and the profile has auth.mechanism none: %w", err)}
	case dialErr != nil:
		return dialErr
	case containsAny(msg, timeoutMessages):
		return &factory.Error{Kind: factory.KindTimeout, Host: host, Err: fmt.Errorf(
			"no CQL answer within connect_timeout %s: %w", c.base.ConnectTimeout(), err)}
	case containsAny(msg, unreachableMessages):
		return &factory.Error{Kind: factory.KindUnreachable, Host: host, Err: err}
	}
	err = c.base.Classify(err, factory.KindProtocol, host)
	if c.TLS() == nil {
		err = c.base.PlaintextToTLS(att.ctx, err, host)
	}
	return err
}

// ctxError classifies the end of the caller's context: a deadline is timeout, and so is a
// cancellation, which is the caller giving up waiting.
func ctxError(err error, host string) error {
	return &factory.Error{Kind: factory.KindTimeout, Host: host, Err: fmt.Errorf("connection setup stopped: %w", err)}
}

// gocqlLogger sends gocql's log lines to the connector's logger at debug level: gocql logs
// routine reconnections as errors, which are the caller's to judge from Dial's result.
type gocqlLogger struct{ l *slog.Logger }

func (g gocqlLogger) log(level, msg string, fields []gocql.LogField) {
	if !g.l.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	attrs := make([]any, 0, 2+2*len(fields))
	attrs = append(attrs, "gocql_level", level)
	for _, f := range fields {
		attrs = append(attrs, f.Name, f.Value.Any())
	}
	g.l.Debug("gocql: "+msg, attrs...)
}

func (g gocqlLogger) Error(msg string, f ...gocql.LogField)   { g.log("error", msg, f) }
func (g gocqlLogger) Warning(msg string, f ...gocql.LogField) { g.log("warning", msg, f) }
func (g gocqlLogger) Info(msg string, f ...gocql.LogField)    { g.log("info", msg, f) }
func (g gocqlLogger) Debug(msg string, f ...gocql.LogField)   { g.log("debug", msg, f) }
