package cassandra

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/connfactory/connfactory/factory"
)

// hostDialer is the factory's gocql.HostDialer: TCP and TLS bounded by gocql's context,
// the attempt's context and connect_timeout, verifying the configured name of each host.
// gocql only gives it an IP address; hostNames maps that back to what the profile says.
type hostDialer struct {
	c *Connector
	// att is the Dial or Check call the dialer serves, nil for ClusterConfig. Once the
	// call returns, the dialer keeps serving its session without it.
	att *attempt
}

// DialHost connects to host. Errors are *Error; when the dialer serves a Dial or Check
// call it also records them there, because gocql keeps only their message.
func (d *hostDialer) DialHost(ctx context.Context, host *gocql.HostInfo) (*gocql.DialedHost, error) {
	addr := host.ConnectAddressAndPort()
	ctx, cancel := context.WithTimeout(ctx, d.c.base.ConnectTimeout())
	defer cancel()
	att := d.att
	if att != nil {
		stop, ok := att.bind(cancel)
		if !ok {
			att = nil // the Dial call is over: this is the session reconnecting
		} else {
			defer stop()
		}
	}
	name := d.c.names.lookup(ctx, addr)
	conn, state, err := d.dial(ctx, addr, name)
	if err != nil {
		if att != nil {
			if aerr := att.ctx.Err(); aerr != nil {
				err = ctxError(aerr, name)
			}
			att.recordDialError(err, name)
		}
		d.c.log.Debug("cassandra dial failed", "host", name, "addr", addr, "err", err)
		return nil, err
	}
	// Every connection: gocql allocates what a frame header announces (see cqlGuard).
	// Segments are parsed only in the configurations the factory builds itself (Dial,
	// Check), which have no compressor.
	var fail func(error)
	if att != nil {
		fail = func(err error) { att.recordFrameError(err, name) }
	}
	conn = newCQLGuard(conn, name, d.att != nil, fail)
	if att != nil {
		conn = att.track(conn, name, state, d.c.tlsServerName(name))
	}
	return &gocql.DialedHost{Conn: conn, DisableCoalesce: d.c.TLS() != nil}, nil
}

// dial makes the TCP connection and, for a TLS profile, the handshake.
func (d *hostDialer) dial(ctx context.Context, addr, name string) (net.Conn, *tls.ConnectionState, error) {
	var nd net.Dialer
	raw, err := nd.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, d.classifyDial(ctx, err, factory.KindUnreachable, name)
	}
	if d.c.TLS() == nil {
		return raw, nil, nil
	}
	tc, release, err := d.c.base.Handshake(ctx, raw, name, addr)
	if err != nil {
		_ = raw.Close()
		return nil, nil, d.classifyDial(ctx, err, factory.KindTLSHandshake, name)
	}
	cs := tc.ConnectionState()
	// gocql reads the server's first answer on it at once: by then a TLS 1.3 session
	// ticket is cached, and the pool's other connections to addr resume it.
	return &releaseConn{Conn: tc, release: release}, &cs, nil
}

// classifyDial makes err an *Error. A connection that ran out of time is timeout whatever
// the layer reports (a TLS handshake cut by the deadline reads as a TLS failure).
// The message says which stage stalled: "no TLS handshake within connect_timeout 1s".
func (d *hostDialer) classifyDial(ctx context.Context, err error, k factory.Kind, name string) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		stage := "no connection"
		if k == factory.KindTLSHandshake {
			stage = "no TLS handshake"
		}
		return &factory.Error{Kind: factory.KindTimeout, Host: name, Err: &stalled{
			msg: fmt.Sprintf("%s within connect_timeout %s", stage, d.c.base.ConnectTimeout()), cause: err}}
	}
	return d.c.base.Classify(err, k, name)
}

// stalled is a stage that ran out of time: its message says which stage, and the
// underlying error (a context deadline read back through a TLS or network layer, which
// says nothing more) stays available to errors.Is and errors.As.
type stalled struct {
	msg   string
	cause error
}

func (e *stalled) Error() string { return e.msg }
func (e *stalled) Unwrap() error { return e.cause }

// tlsServerName is the name the TLS layer verifies for hostport, "" without TLS.
func (c *Connector) tlsServerName(hostport string) string {
	if c.TLS() == nil {
		return ""
	}
	return c.TLS().ServerName(hostport)
}

// attempt is one Dial or Check call: its context ends every connection made for it while
// it runs, and it keeps what the dialer and the authenticator saw, for classification and
// for the report.
type attempt struct {
	ctx  context.Context
	base *factory.Base // the connector's
	// observe wraps connections to read the protocol version of the server's frames
	// (Check only; Dial leaves connections unwrapped).
	observe bool

	mu    sync.Mutex
	done  bool
	stops []func() bool

	dialErr  error  // last dial failure, classified
	frameErr error  // first connection failed by the CQL frame bound (cqlGuard)
	authErr  error  // the factory's authenticator refused, classified
	lastHost string // configured host:port of the last connection made

	tlsState   *tls.ConnectionState // first TLS connection
	serverName string
	addr       string // ip:port of the first connection
	proto      int    // protocol version of the last connection's frames
	ready      bool   // a CQL handshake completed without authentication
	authClass  string // authenticator class the server announced
	authUser   string
	authOK     bool
}

func newAttempt(ctx context.Context, base *factory.Base) *attempt {
	return &attempt{ctx: ctx, base: base}
}

// bind cancels cancel when the attempt's context ends. ok is false once the attempt is
// finished: the connection is then the session's own.
func (a *attempt) bind(cancel context.CancelFunc) (stop func() bool, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.done {
		return nil, false
	}
	return context.AfterFunc(a.ctx, cancel), true
}

// active reports whether the call is still running.
func (a *attempt) active() bool {
	if a == nil {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return !a.done
}

// track closes conn if the attempt's context ends before the attempt finishes, so a
// context bounds the CQL handshake too, which gocql runs without it.
func (a *attempt) track(conn net.Conn, name string, state *tls.ConnectionState, serverName string) net.Conn {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.done {
		return conn
	}
	a.lastHost = name
	if a.addr == "" {
		a.addr = conn.RemoteAddr().String()
	}
	if state != nil && a.tlsState == nil {
		a.tlsState, a.serverName = state, serverName
	}
	a.stops = append(a.stops, context.AfterFunc(a.ctx, func() { _ = conn.Close() }))
	if a.observe || state != nil {
		return &attemptConn{Conn: conn, att: a, name: name, observe: a.observe, tls: state != nil}
	}
	return conn
}

func (a *attempt) recordDialError(err error, name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.done {
		a.dialErr, a.lastHost = err, name
	}
}

// recordFrameError keeps the first connection the frame bound failed: a later dial
// (gocql reconnecting, cancelled when the call ends) must not hide why it failed.
func (a *attempt) recordFrameError(err error, name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.done && a.frameErr == nil {
		a.frameErr, a.lastHost = err, name
	}
}

// finish ends the attempt: the session keeps its connections whatever the context does.
func (a *attempt) finish() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.done = true
	for _, stop := range a.stops {
		stop()
	}
	a.stops = nil
}

// attemptConn watches a connection of a Dial or Check call. It reads the protocol version
// from the first byte the server sends (every CQL response header starts with
// 0x80 | version), for Check's report. And it classifies a TLS alert met on a read: with
// TLS 1.3 the server judges the client certificate after the client's handshake is done,
// so a refused or missing certificate shows up on gocql's first read, where gocql would
// keep only its message.
type attemptConn struct {
	net.Conn
	att     *attempt
	name    string
	observe bool
	tls     bool
	once    sync.Once
}

func (o *attemptConn) Read(p []byte) (int, error) {
	n, err := o.Conn.Read(p)
	if n > 0 && o.observe {
		o.once.Do(func() {
			o.att.mu.Lock()
			o.att.proto = int(p[0] & 0x7f)
			o.att.mu.Unlock()
		})
	}
	if err != nil && o.tls && strings.Contains(err.Error(), "remote error: tls:") {
		o.att.recordDialError(o.att.base.ClassifyTLSError(err, o.name), o.name)
	}
	return n, err
}

// hostNames maps the ip:port gocql dials back to the host:port the profile names, so TLS
// verifies the name the user wrote (IP literals verify IP SANs). gocql resolves names
// itself at session start; hostNames resolves them again when it meets an address it does
// not know, at most once a second. Hosts found through system.peers have no configured
// name and verify their IP.
type hostNames struct {
	hosts []cassHost

	mu       sync.Mutex
	byAddr   map[string]string
	literal  map[string]bool // keys of byAddr that come from IP literals in hosts
	resolved time.Time
}

// resolveEvery limits how often hostNames resolves configured names again.
const resolveEvery = time.Second

func newHostNames(hosts []cassHost) *hostNames {
	n := &hostNames{hosts: hosts, byAddr: map[string]string{}, literal: map[string]bool{}}
	for _, h := range hosts {
		if h.ip != nil {
			key := net.JoinHostPort(h.ip.String(), strconv.Itoa(h.port))
			if !n.literal[key] {
				n.byAddr[key], n.literal[key] = h.hostport, true
			}
		}
	}
	return n
}

// lookup returns the configured host:port of addr, or addr itself.
func (n *hostNames) lookup(ctx context.Context, addr string) string {
	n.mu.Lock()
	name, ok := n.byAddr[addr]
	fresh := time.Since(n.resolved) < resolveEvery
	n.mu.Unlock()
	if ok || fresh || !n.hasNames() {
		if ok {
			return name
		}
		return addr
	}
	n.resolve(ctx)
	n.mu.Lock()
	defer n.mu.Unlock()
	if name, ok := n.byAddr[addr]; ok {
		return name
	}
	return addr
}

// cached returns the configured host:port of addr without resolving, or addr.
func (n *hostNames) cached(addr string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if name, ok := n.byAddr[addr]; ok {
		return name
	}
	return addr
}

func (n *hostNames) hasNames() bool {
	for _, h := range n.hosts {
		if h.ip == nil {
			return true
		}
	}
	return false
}

// resolve looks up every configured name. A name that fails to resolve keeps its old
// addresses; the dial itself will say whether they still answer.
func (n *hostNames) resolve(ctx context.Context) {
	found := map[string]string{}
	for _, h := range n.hosts {
		if h.ip != nil {
			continue
		}
		ips, err := net.DefaultResolver.LookupIPAddr(ctx, h.host)
		if err != nil {
			continue
		}
		for _, ip := range ips {
			key := net.JoinHostPort(ip.IP.String(), strconv.Itoa(h.port))
			if _, dup := found[key]; !dup {
				found[key] = h.hostport
			}
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.resolved = time.Now()
	for k, v := range found {
		if n.literal[k] {
			continue // an IP literal in hosts wins over a name resolving to it
		}
		n.byAddr[k] = v
	}
}

// releaseConn releases a leading handshake's waiters at its first read or its close:
// with TLS 1.3 the server's session ticket arrives after the handshake and crypto/tls
// reads it with the first application data, so by then it is cached (or will not come).
type releaseConn struct {
	*tls.Conn
	release func()
}

func (r *releaseConn) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.release()
	return n, err
}

func (r *releaseConn) Close() error {
	r.release()
	return r.Conn.Close()
}
