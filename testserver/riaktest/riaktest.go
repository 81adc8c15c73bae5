// Package riaktest runs an in-process Riak KV Protocol Buffers server for tests,
// in the style of net/http/httptest.
//
// No Go implementation of a Riak server exists, so this one reproduces, message for
// message, what riak_api_pb_server and riak_core_security do on the wire: the
// STARTTLS upgrade when security is enabled, the RpbAuthReq check against the
// trust, password, pam and certificate sources (certificate: the verified client
// certificate's CN must equal the user name), the exact RpbErrorResp texts, and a
// small in-memory key/value store behind RpbGetReq, RpbPutReq and RpbDelReq so
// that the real riak-go-client can store and fetch values.
//
// Framing is Riak's: a 4-byte big-endian length (code byte + body), the message
// code, then the protobuf body. The protobuf types are the ones generated in
// github.com/basho/riak-go-client/rpb, so the server and the client agree on the
// schema by construction.
package riaktest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"
)

// Source is a Riak security source: how a user proves who they are.
type Source string

// The authentication sources Riak ships with. Riak's "pam" is a dynamically
// registered auth module; here it checks Options.PAM instead of the host's PAM.
const (
	SourceTrust       Source = "trust"
	SourcePassword    Source = "password"
	SourcePAM         Source = "pam"
	SourceCertificate Source = "certificate"
)

// User is one Riak security user together with the source that applies to it
// (Riak matches sources by user and CIDR; every connection here comes from
// 127.0.0.1, so one source per user is all a test can observe).
type User struct {
	Name     string
	Source   Source
	Password string // only for SourcePassword; a password user without one always fails, as in Riak
}

// Options configures a Server. The zero value is a plaintext server with security
// disabled.
type Options struct {
	// Security mirrors `riak-admin security enable`: clients must STARTTLS and
	// then authenticate before any other request is served.
	Security bool
	// TLS is required when Security is set: the server certificate, and ClientCAs
	// for certificate authentication. It is cloned. MinVersion and MaxVersion
	// default to TLS 1.2 (Riak's default tls_protocols). ClientAuth NoClientCert is
	// raised to VerifyClientCertIfGiven because Riak requests a client certificate
	// but does not require one.
	TLS *tls.Config
	// Users known to the server; names must be unique.
	Users []User
	// PAM is the password table consulted for SourcePAM users.
	PAM map[string]string
	// AuthFailureDelay is waited before "Authentication failed" is sent. Real
	// Riak sleeps 5 s to slow brute force; the default 0 keeps tests fast.
	AuthFailureDelay time.Duration
	// ServerVersion and Node are returned by RpbGetServerInfoReq; defaults
	// "riaktest-2.2.6" and "riak@127.0.0.1".
	ServerVersion, Node string
	// StallAfterStartTls makes the server acknowledge STARTTLS and then never
	// start the TLS handshake, holding the connection until Close: a server that
	// hangs mid-upgrade, for timeout tests.
	StallAfterStartTls bool
	// Stall makes the server accept TCP connections and never read or reply.
	Stall bool
	// AuthReplyRaw, when set, is written verbatim in answer to every RpbAuthReq,
	// after which the connection is closed: a server that speaks something other than
	// Riak PB after TLS, for protocol-error tests.
	AuthReplyRaw []byte
	// AuthFailureMessage replaces the errmsg of a refused RpbAuthReq (default
	// "Authentication failed", Riak's text): a hostile server's text, for tests of
	// how clients print what servers say.
	AuthFailureMessage string
}

// Defaults for Options.ServerVersion and Options.Node.
const (
	DefaultServerVersion = "riaktest-2.2.6"
	DefaultNode          = "riak@127.0.0.1"
)

// AuthEvent records one RpbAuthReq the server judged. Passwords are never kept.
type AuthEvent struct {
	User       string
	Source     Source // empty for an unknown user
	CommonName string // CN of the verified client certificate, if any
	OK         bool
}

// Server is a running Riak PB test server listening on 127.0.0.1.
type Server struct {
	opts    Options
	tlsConf *tls.Config
	users   map[string]User
	ln      net.Listener
	done    chan struct{}
	wg      sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	conns    map[net.Conn]struct{}
	accepted int
	auths    []AuthEvent

	store *store
}

// Start validates opts and starts a server on 127.0.0.1 with an ephemeral port.
// The address is known when Start returns; call Close to stop it.
func Start(opts Options) (*Server, error) {
	s := &Server{
		opts:  opts,
		users: make(map[string]User, len(opts.Users)),
		done:  make(chan struct{}),
		conns: make(map[net.Conn]struct{}),
		store: newStore(),
	}
	if s.opts.ServerVersion == "" {
		s.opts.ServerVersion = DefaultServerVersion
	}
	if s.opts.Node == "" {
		s.opts.Node = DefaultNode
	}
	if opts.AuthFailureDelay < 0 {
		return nil, errors.New("riaktest: AuthFailureDelay must not be negative")
	}
	for _, u := range opts.Users {
		if u.Name == "" {
			return nil, errors.New("riaktest: user with empty name")
		}
		switch u.Source {
		case SourceTrust, SourcePassword, SourcePAM, SourceCertificate:
		default:
			return nil, fmt.Errorf("riaktest: user %q: unknown source %q", u.Name, u.Source)
		}
		if _, dup := s.users[u.Name]; dup {
			return nil, fmt.Errorf("riaktest: duplicate user %q", u.Name)
		}
		s.users[u.Name] = u
	}
	if opts.Security {
		if opts.TLS == nil {
			return nil, errors.New("riaktest: Options.TLS is required when Security is enabled")
		}
		if len(opts.TLS.Certificates) == 0 && opts.TLS.GetCertificate == nil && opts.TLS.GetConfigForClient == nil {
			return nil, errors.New("riaktest: Options.TLS has no server certificate")
		}
		c := opts.TLS.Clone()
		if c.MinVersion == 0 {
			c.MinVersion = tls.VersionTLS12
		}
		if c.MaxVersion == 0 {
			c.MaxVersion = tls.VersionTLS12
		}
		if c.ClientAuth == tls.NoClientCert {
			c.ClientAuth = tls.VerifyClientCertIfGiven
		}
		s.tlsConf = c
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("riaktest: listen: %w", err)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

// Addr returns the listening address as "127.0.0.1:port".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Host returns the listening host, always "127.0.0.1".
func (s *Server) Host() string { return s.ln.Addr().(*net.TCPAddr).IP.String() }

// Port returns the listening TCP port.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Connections returns the number of client connections currently open.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Accepted returns how many TCP connections the server has accepted in total,
// which lets a test see that a client dialled (or did not re-dial).
func (s *Server) Accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// AuthEvents returns a copy of every authentication decision so far, in order.
func (s *Server) AuthEvents() []AuthEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]AuthEvent(nil), s.auths...)
}

// Value returns the stored value of bucketType/bucket/key ("" bucketType means
// "default", as in Riak), so a test can check what a client wrote.
func (s *Server) Value(bucketType, bucket, key string) ([]byte, bool) {
	return s.store.value(objKey{typ: bucketTypeOrDefault(bucketType), bucket: bucket, key: key})
}

// SetValue stores value under bucketType/bucket/key, so a test can seed data a
// client is then expected to read.
func (s *Server) SetValue(bucketType, bucket, key string, value []byte) {
	s.store.setValue(objKey{typ: bucketTypeOrDefault(bucketType), bucket: bucket, key: key}, value)
}

// Close stops the listener, closes every connection, and waits until all of the
// server's goroutines have returned. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	err := s.ln.Close()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	if err != nil {
		return fmt.Errorf("riaktest: close listener: %w", err)
	}
	return nil
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return // listener closed
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.accepted++
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serve(c)
	}
}

func (s *Server) recordAuth(ev AuthEvent) {
	s.mu.Lock()
	s.auths = append(s.auths, ev)
	s.mu.Unlock()
}

// wait blocks for d or until Close, reporting whether the full delay elapsed.
func (s *Server) wait(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.done:
		return false
	}
}

func bucketTypeOrDefault(t string) string {
	if t == "" {
		return "default"
	}
	return t
}

func itoa(n int) string { return strconv.Itoa(n) }
