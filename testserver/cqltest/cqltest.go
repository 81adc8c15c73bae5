// Package cqltest runs an in-process CQL (Cassandra native protocol) server for tests, in the
// spirit of net/http/httptest: Start it, point a driver at Addr, Close it.
//
// Every byte on the wire is encoded and decoded by DataStax's
// github.com/datastax/go-cassandra-native-protocol (frame and segment codecs, message types,
// data codecs), so tests meet a peer whose protocol code is independent of the drivers'.
// Connections, TLS and request handling are this package's own. The library's
// client.CqlServer is deliberately not used: besides gaps that make gocql wait out timeouts
// (system.peers without column metadata, no reply to system_schema queries, no v5 result
// metadata id, an accept queue nobody drains, debug logging on zerolog's global logger), its
// CqlServerConnection.Close writes the outgoing-queue field while its writer goroutine reads
// it, so the race detector fails every test in which a client disconnects (pinned version
// v0.0.0-20240626123646-2abea740da8d, client/server.go:782 against :486), and no caller-side
// workaround removes that.
//
// The server knows system.local (one row), system.peers (no rows), every system_schema table
// (no rows) and nothing else: other tables are "unconfigured", as on a real node without them.
// StartCluster runs several servers as the nodes of one cluster, each on its own loopback
// address, listing the others in system.peers and system.peers_v2.
package cqltest

import (
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"sync"

	"github.com/datastax/go-cassandra-native-protocol/primitive"
)

// PasswordAuthenticator is the authenticator class Cassandra announces when password
// authentication is enabled; it is the default for Options.Authenticator.
const PasswordAuthenticator = "org.apache.cassandra.auth.PasswordAuthenticator"

// DefaultReleaseVersion is the system.local release_version served when Options leaves it empty.
// It is 4.x on purpose: gocql then probes system.peers_v2 first, which exercises that fallback.
const DefaultReleaseVersion = "4.1.0"

// DefaultDatacenter is the data_center served when Options leaves it empty.
const DefaultDatacenter = "dc1"

// DefaultRack is the rack served when nothing else is configured.
const DefaultRack = "rack1"

// DefaultClusterName is the cluster_name served in system.local.
const DefaultClusterName = "cqltest"

// DefaultProtocolVersions are the native protocol versions accepted when Options leaves them
// empty: the ones Cassandra 4 speaks and gocql v2 can use.
var DefaultProtocolVersions = []primitive.ProtocolVersion{
	primitive.ProtocolVersion3, primitive.ProtocolVersion4, primitive.ProtocolVersion5,
}

// Options configures a Server. The zero value is a plaintext server without authentication.
type Options struct {
	// TLS, when non-nil, makes the server speak TLS only. It is used as given (cloned), so the
	// caller decides ClientAuth, versions and ciphers.
	TLS *tls.Config
	// Credentials maps usernames to passwords. Empty means no authentication: STARTUP is
	// answered with READY. Otherwise STARTUP is answered with AUTHENTICATE and a SASL PLAIN
	// token is checked against this map.
	Credentials map[string]string
	// Authenticator is the class name announced in AUTHENTICATE; PasswordAuthenticator when
	// empty. Announcing another class lets clients test their allowed-authenticators check.
	Authenticator string
	// ProtocolVersions lists the native protocol versions the server accepts (2 to 5);
	// DefaultProtocolVersions when empty. A request in another version gets a protocol error,
	// as from Cassandra, so that negotiating clients downgrade.
	ProtocolVersions []primitive.ProtocolVersion
	// ReleaseVersion is system.local's release_version; DefaultReleaseVersion when empty.
	ReleaseVersion string
	// Datacenter is system.local's data_center; DefaultDatacenter when empty.
	Datacenter string
	// Stall makes the server accept TCP connections and then never read or write anything
	// (no TLS handshake, no CQL reply) until Close, for timeout tests.
	Stall bool
	// AuthFailureMessage replaces Cassandra's "Provided username U and/or password are
	// incorrect" for refused credentials, to stand for other servers (DataStax's
	// go-cassandra-native-protocol server says "invalid credentials").
	AuthFailureMessage string
}

// Server is a running CQL test server. Create it with Start; it is safe for concurrent use.
type Server struct {
	opts     Options
	versions map[primitive.ProtocolVersion]bool
	ln       net.Listener
	addr     *net.TCPAddr
	wg       sync.WaitGroup

	ident identity
	node  *Node  // nil for a lone server
	stats *stats // shared by the incarnations of a Node

	mu          sync.Mutex
	closed      bool
	closeErr    error
	conns       map[net.Conn]struct{}
	connections int
	prepared    map[string]*statement
	lastUser    string
	lastAuthz   string
}

// identity is what system.local says about the node.
type identity struct {
	hostID     primitive.UUID
	datacenter string
	rack       string
	release    string
	tokens     []string
}

// Start starts a server listening on 127.0.0.1 on a port chosen by the kernel; the address is
// final when Start returns.
func Start(opts Options) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("cqltest: listen: %w", err)
	}
	return start(opts, ln, nil, nil)
}

// start starts a server on ln, which it owns from then on (closing it on error). node is the
// cluster node it serves, nil for a lone server.
func start(opts Options, ln net.Listener, node *Node, st *stats) (*Server, error) {
	if st == nil {
		st = newStats()
	}
	s := &Server{
		opts:     opts,
		versions: map[primitive.ProtocolVersion]bool{},
		conns:    map[net.Conn]struct{}{},
		prepared: map[string]*statement{},
		node:     node,
		stats:    st,
	}
	if s.opts.Authenticator == "" {
		s.opts.Authenticator = PasswordAuthenticator
	}
	if s.opts.ReleaseVersion == "" {
		s.opts.ReleaseVersion = DefaultReleaseVersion
	}
	if s.opts.Datacenter == "" {
		s.opts.Datacenter = DefaultDatacenter
	}
	s.ident = identity{hostID: defaultHostID, datacenter: s.opts.Datacenter, rack: DefaultRack,
		release: s.opts.ReleaseVersion, tokens: []string{"0"}}
	if node != nil {
		s.ident = node.ident
	}
	versions := opts.ProtocolVersions
	if len(versions) == 0 {
		versions = DefaultProtocolVersions
	}
	for _, v := range versions {
		if v < primitive.ProtocolVersion2 || v > primitive.ProtocolVersion5 {
			_ = ln.Close()
			return nil, fmt.Errorf("cqltest: unsupported protocol version %d in Options.ProtocolVersions (2 to 5 are possible)", v)
		}
		s.versions[v] = true
	}
	var tlsConfig *tls.Config
	if opts.TLS != nil {
		tlsConfig = opts.TLS.Clone() // a caller changing its config later must not race with handshakes
	}
	s.ln, s.addr = ln, ln.Addr().(*net.TCPAddr)
	s.wg.Add(1)
	go s.accept(tlsConfig)
	return s, nil
}

func (s *Server) accept(tlsConfig *tls.Config) {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			return // the listener is closed: Close was called
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = nc.Close()
			return
		}
		s.connections++
		if s.opts.Stall {
			// Held open, never read or written, until Close: no TLS handshake, no CQL reply.
			s.conns[nc] = struct{}{}
			s.mu.Unlock()
			continue
		}
		var c net.Conn = nc
		if tlsConfig != nil {
			c = tls.Server(nc, tlsConfig)
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer s.forget(c)
			if tc, ok := c.(*tls.Conn); ok {
				// Handshake first (Close unblocks it), so that it is counted before the
				// connection answers anything: a client that read a reply sees it counted.
				if err := tc.Handshake(); err != nil {
					return
				}
				s.stats.handshake(tc.ConnectionState().DidResume)
			}
			newConn(s, c).serve()
		}()
	}
}

func (s *Server) forget(c net.Conn) {
	_ = c.Close()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Addr returns the server's address, "127.0.0.1:PORT" (a cluster node's own IP instead).
func (s *Server) Addr() string { return s.addr.String() }

// Host returns the IP address the server listens on, "127.0.0.1" (a cluster node's own IP instead).
func (s *Server) Host() string { return s.addr.IP.String() }

// Port returns the TCP port the server listens on.
func (s *Server) Port() int { return s.addr.Port }

// HostPort returns Host and Port joined, for configuration that wants "host:port"; it equals Addr.
func (s *Server) HostPort() string { return net.JoinHostPort(s.Host(), strconv.Itoa(s.Port())) }

// Connections returns how many TCP connections the server has accepted so far, including
// those whose TLS handshake or authentication failed later. A connection is counted when the
// server accepts it, which is before it answers anything on it: after any reply (or TLS
// handshake result) a client has seen, its connection is counted.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connections
}

// Handshakes returns the server's successful TLS handshakes so far, full and resumed. A
// handshake is counted before the server answers anything on its connection, so after a
// client read a reply on a connection, that connection's handshake is counted. A Node counts
// across restarts.
func (s *Server) Handshakes() Handshakes { return s.stats.tlsHandshakes() }

// Requests returns how many requests (frames of any kind: OPTIONS, STARTUP, QUERY, ...) the
// server has answered. A Node counts across restarts.
func (s *Server) Requests() int { return s.stats.requests() }

// Served returns how many QUERY and EXECUTE requests of exactly this statement text the server
// has answered, whatever their result. Tests count a statement of their own this way, apart
// from the driver's own traffic (topology and schema queries). A Node counts across restarts.
func (s *Server) Served(statement string) int { return s.stats.served(statement) }

// OpenConnections returns how many client connections are open now.
func (s *Server) OpenConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// LastAuthUser returns the username of the last successful authentication, or "".
func (s *Server) LastAuthUser() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastUser
}

// LastAuthorizationID returns the SASL PLAIN authorization id (the role to act as) sent with the
// last successful authentication, or "" when the client sent none.
func (s *Server) LastAuthorizationID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastAuthz
}

// Close stops listening, closes every client connection and waits for every goroutine the
// server started. It is idempotent and returns the first call's result.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return s.closeErr
	}
	s.closed = true
	if err := s.ln.Close(); err != nil {
		s.closeErr = fmt.Errorf("cqltest: close: %w", err)
	}
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return s.closeErr
}
