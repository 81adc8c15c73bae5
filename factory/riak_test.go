package factory_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"io"
	"log/slog"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	riak "github.com/basho/riak-go-client"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/connfactory/connfactory/factory"
	riakfactory "github.com/connfactory/connfactory/factory/riak"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/pki"
	"github.com/connfactory/connfactory/testserver/riaktest"
)

// riakPKI is shared by every Riak test: building a set costs a millisecond, but the
// server's and the profiles' material must agree.
var riakPKI = func() *pki.Set {
	s, err := pki.NewSet()
	if err != nil {
		panic(err)
	}
	return s
}()

// riakCertUser is a client certificate whose CN is the Riak user "riakcert".
var riakCertUser = func() *pki.Leaf {
	l, err := riakPKI.Intermediate.Issue(pki.LeafOptions{CommonName: "riakcert", Client: true})
	if err != nil {
		panic(err)
	}
	return l
}()

const riakPassword = "pw-Зx9!secret"

// riakLeakCheck verifies, after every other cleanup (the server's Close included),
// that no goroutine of the test is left: riak-go-client's included.
func riakLeakCheck(t *testing.T) {
	t.Helper()
	// Only this test's goroutines: other tests of the package may still be winding down.
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
}

func startRiak(t *testing.T, opts riaktest.Options) *riaktest.Server {
	t.Helper()
	srv, err := riaktest.Start(opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })
	return srv
}

func secureRiak() riaktest.Options {
	return riaktest.Options{
		Security: true,
		TLS:      riakPKI.ServerTLSConfig(),
		Users: []riaktest.User{
			{Name: "pwuser", Source: riaktest.SourcePassword, Password: riakPassword},
			{Name: "trusted", Source: riaktest.SourceTrust},
			{Name: "pamuser", Source: riaktest.SourcePAM},
			{Name: "riakcert", Source: riaktest.SourceCertificate},
		},
		PAM: map[string]string{"pamuser": "pam-" + riakPassword},
	}
}

func riakTLS() *schema.TLS {
	return &schema.TLS{CA: []schema.MaterialSource{{Base64: b64(riakPKI.Root.CertPEM())}}}
}

func riakCertTLS(leaf *pki.Leaf) *schema.TLS {
	t := riakTLS()
	t.Cert = &schema.MaterialSource{Base64: b64(leaf.ChainPEM())}
	t.Key = &schema.MaterialSource{Base64: b64(leaf.KeyPEM())}
	return t
}

func riakProfile(hosts []string, mech schema.Mechanism, user, password string, t *schema.TLS) *schema.Profile {
	p := &schema.Profile{
		Backend:        schema.Riak,
		Hosts:          hosts,
		ConnectTimeout: schema.Duration(2 * time.Second),
		Timeout:        schema.Duration(2 * time.Second),
		TLS:            t,
	}
	if mech != "" {
		p.Auth = &schema.Auth{Mechanism: mech, Username: user}
		if password != "" {
			p.Auth.Password = &schema.SecretSource{Value: schema.Secret(password)}
		}
	}
	return p
}

func newRiak(t testing.TB, p *schema.Profile, opts ...factory.Option) *riakfactory.Connector {
	t.Helper()
	c, err := riakfactory.New("riak_test", p, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c
}

// storeFetch writes a value through the cluster and reads it back.
func storeFetch(t *testing.T, cl *riak.Cluster, srv *riaktest.Server, key string) {
	t.Helper()
	value := []byte("value of " + key)
	store, err := riak.NewStoreValueCommandBuilder().WithBucket("b").WithKey(key).
		WithContent(&riak.Object{ContentType: "text/plain", Value: value}).Build()
	require.NoError(t, err)
	require.NoError(t, cl.Execute(store))
	got, ok := srv.Value("", "b", key)
	require.True(t, ok)
	require.Equal(t, value, got)

	fetch, err := riak.NewFetchValueCommandBuilder().WithBucket("b").WithKey(key).Build()
	require.NoError(t, err)
	require.NoError(t, cl.Execute(fetch))
	resp := fetch.(*riak.FetchValueCommand).Response
	require.NotNil(t, resp)
	require.Len(t, resp.Values, 1)
	require.Equal(t, value, resp.Values[0].Value)
}

func TestRiakMechanismsStoreAndFetch(t *testing.T) {
	riakLeakCheck(t)
	srv := startRiak(t, secureRiak())
	cases := []struct {
		name string
		p    *schema.Profile
	}{
		{"trust", riakProfile([]string{srv.Addr()}, schema.MechanismTrust, "trusted", "", riakTLS())},
		{"password", riakProfile([]string{srv.Addr()}, schema.MechanismPassword, "pwuser", riakPassword, riakTLS())},
		{"pam", riakProfile([]string{srv.Addr()}, schema.MechanismPAM, "pamuser", "pam-"+riakPassword, riakTLS())},
		{"certificate", riakProfile([]string{srv.Addr()}, schema.MechanismCertificate, "riakcert", "", riakCertTLS(riakCertUser))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newRiak(t, tc.p)
			cl, err := c.Dial(context.Background())
			require.NoError(t, err)
			storeFetch(t, cl, srv, "k-"+tc.name)
			require.NoError(t, cl.Stop())
		})
	}
	events := srv.AuthEvents()
	require.NotEmpty(t, events)
	for _, ev := range events {
		require.True(t, ev.OK, "%+v", ev)
	}
	// riak-go-client's own connection authenticated too, not only the preflight.
	require.GreaterOrEqual(t, len(events), 2*len(cases))
}

func TestRiakPlaintextNone(t *testing.T) {
	riakLeakCheck(t)
	srv := startRiak(t, riaktest.Options{})
	c := newRiak(t, riakProfile([]string{srv.Addr()}, "", "", "", nil))
	opts := c.NodeOptions()
	require.Len(t, opts, 1)
	require.Nil(t, opts[0].AuthOptions)
	require.Nil(t, c.TLS())
	cl, err := c.Dial(context.Background())
	require.NoError(t, err)
	storeFetch(t, cl, srv, "plain")
	require.NoError(t, cl.Stop())
}

func TestRiakNodeOptions(t *testing.T) {
	p := riakProfile([]string{"127.0.0.1", "localhost:8098", "[::1]", "127.0.0.1:8087"}, schema.MechanismPassword, "pwuser", riakPassword, riakTLS())
	p.ConnectTimeout = schema.Duration(3 * time.Second)
	p.Timeout = schema.Duration(4 * time.Second)
	c := newRiak(t, p)
	require.Equal(t, []string{"127.0.0.1:8087", "localhost:8098", "[::1]:8087"}, c.Hosts())
	opts := c.NodeOptions()
	require.Len(t, opts, 3)
	names := []string{"127.0.0.1", "localhost", "::1"}
	for i, o := range opts {
		require.Equal(t, c.Hosts()[i], o.RemoteAddress)
		require.Equal(t, 3*time.Second, o.ConnectTimeout)
		require.Equal(t, 4*time.Second, o.RequestTimeout)
		require.NotNil(t, o.AuthOptions)
		require.Equal(t, "pwuser", o.AuthOptions.User)
		require.Equal(t, riakPassword, o.AuthOptions.Password)
		require.NotNil(t, o.AuthOptions.TlsConfig)
		require.Equal(t, names[i], o.AuthOptions.TlsConfig.ServerName)
	}
	// Fresh configs per call: a caller may modify its copy.
	require.NotSame(t, opts[0].AuthOptions.TlsConfig, c.NodeOptions()[0].AuthOptions.TlsConfig)

	p.TLS.ServerName = "riak.internal"
	c = newRiak(t, p)
	for _, o := range c.NodeOptions() {
		require.Equal(t, "riak.internal", o.AuthOptions.TlsConfig.ServerName)
	}
}

func TestRiakNodeOptionsDriveHandBuiltCluster(t *testing.T) {
	riakLeakCheck(t)
	srv := startRiak(t, secureRiak())
	c := newRiak(t, riakProfile([]string{srv.Addr()}, schema.MechanismCertificate, "riakcert", "", riakCertTLS(riakCertUser)))
	opts := c.NodeOptions()
	require.Equal(t, "", opts[0].AuthOptions.Password)
	node, err := riak.NewNode(opts[0])
	require.NoError(t, err)
	cl, err := riak.NewCluster(&riak.ClusterOptions{Nodes: []*riak.Node{node}})
	require.NoError(t, err)
	require.NoError(t, cl.Start())
	storeFetch(t, cl, srv, "handbuilt")
	require.NoError(t, cl.Stop())
}

func TestRiakCompileErrors(t *testing.T) {
	other, err := riakPKI.Intermediate.Issue(pki.LeafOptions{CommonName: "someoneelse", Client: true})
	require.NoError(t, err)
	cases := []struct {
		name string
		p    *schema.Profile
		path string
		msg  string
	}{
		{"password without tls", riakProfile([]string{"h"}, schema.MechanismPassword, "u", "p", nil),
			"profiles.riak_test.auth.mechanism", "riak refuses authentication without TLS"},
		{"tls without auth", riakProfile([]string{"h"}, "", "", "", riakTLS()),
			"profiles.riak_test.auth.mechanism", "set auth.mechanism"},
		{"no username", riakProfile([]string{"h"}, schema.MechanismTrust, "", "", riakTLS()),
			"profiles.riak_test.auth.username", "needs a username"},
		{"password missing", riakProfile([]string{"h"}, schema.MechanismPAM, "u", "", riakTLS()),
			"profiles.riak_test.auth.password", "needs a password"},
		{"certificate without cert", riakProfile([]string{"h"}, schema.MechanismCertificate, "riakcert", "", riakTLS()),
			"profiles.riak_test.tls.cert", "client certificate"},
		{"cn mismatch", riakProfile([]string{"h"}, schema.MechanismCertificate, "riakcert", "", riakCertTLS(other)),
			"profiles.riak_test.auth.username", `client certificate's CN is "someoneelse"`},
		{"cassandra mechanism", riakProfile([]string{"h"}, schema.MechanismSASLPlain, "u", "p", riakTLS()),
			"profiles.riak_test.auth.mechanism", "is not accepted for riak"},
		{"bad port", riakProfile([]string{"h:99999"}, schema.MechanismTrust, "u", "", riakTLS()),
			"profiles.riak_test.hosts[0]", "1 to 65535"},
		{"no hosts", riakProfile(nil, schema.MechanismTrust, "u", "", riakTLS()),
			"profiles.riak_test.hosts", "at least one"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := riakfactory.New("riak_test", tc.p)
			require.ErrorIs(t, err, factory.ErrConfig)
			require.ErrorIs(t, err, schema.ErrInvalid)
			require.ErrorContains(t, err, tc.path+": ")
			require.ErrorContains(t, err, tc.msg)
		})
	}
	// Compile goes through Compile too, and no typed nil comes back.
	conn, err := factory.Compile("riak_test", cases[0].p)
	require.Error(t, err)
	require.Nil(t, conn)
}

func TestRiakClosed(t *testing.T) {
	c, err := riakfactory.New("riak_test", riakProfile([]string{"127.0.0.1"}, "", "", "", nil))
	require.NoError(t, err)
	require.NoError(t, c.Close())
	require.NoError(t, c.Close())
	_, err = c.Dial(context.Background())
	require.ErrorIs(t, err, factory.ErrConfig)
	require.ErrorContains(t, err, "closed")
	_, err = c.DialConn(context.Background())
	require.ErrorIs(t, err, factory.ErrConfig)
	rep, err := c.Check(context.Background())
	require.ErrorIs(t, err, factory.ErrConfig)
	require.Equal(t, "config", rep.Error.Kind)
}

func TestRiakWarnings(t *testing.T) {
	p := riakProfile([]string{"h"}, schema.MechanismTrust, "trusted", "unused", riakTLS())
	p.Auth.PerHost = []schema.HostCredentials{{Host: "h", Username: "x"}}
	c := newRiak(t, p)
	var paths []string
	for _, w := range c.Warnings() {
		paths = append(paths, w.Path)
	}
	require.Contains(t, paths, "profiles.riak_test.auth.password")
	require.Contains(t, paths, "profiles.riak_test.auth.per_host")
	require.Equal(t, "", c.NodeOptions()[0].AuthOptions.Password, "trust sends no password")
}

// riakDownAddr is a loopback address nobody listens on.
func riakDownAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func TestRiakFailuresAreClassifiedInTime(t *testing.T) {
	riakLeakCheck(t)
	const budget = 700 * time.Millisecond

	revokedCRL, err := riakPKI.Intermediate.CRLPEM(pki.CRLOptions{Revoked: []*big.Int{riakPKI.Server.Serial()}})
	require.NoError(t, err)

	secure := startRiak(t, secureRiak())
	plain := startRiak(t, riaktest.Options{})
	stallTLS := secureRiak()
	stallTLS.StallAfterStartTls = true
	stalledTLS := startRiak(t, stallTLS)
	stalled := startRiak(t, riaktest.Options{Stall: true})
	slowAuth := secureRiak()
	slowAuth.AuthFailureDelay = time.Hour
	slowFail := startRiak(t, slowAuth)

	pw := func(addr, password string, tl *schema.TLS) *schema.Profile {
		return riakProfile([]string{addr}, schema.MechanismPassword, "pwuser", password, tl)
	}
	untrusted := &schema.TLS{CA: []schema.MaterialSource{{Base64: b64(riakPKI.OtherRoot.CertPEM())}}}
	wrongName := riakTLS()
	wrongName.ServerName = "riak.example.com"
	revoked := riakTLS()
	revoked.CA = append(revoked.CA, schema.MaterialSource{Base64: b64(riakPKI.Intermediate.CertPEM())})
	revoked.CRL = []schema.MaterialSource{{Base64: b64(revokedCRL)}}

	cases := []struct {
		name     string
		p        *schema.Profile
		kind     error
		contains string
	}{
		{"wrong password", pw(secure.Addr(), "not-the-password", riakTLS()), factory.ErrAuthFailed, `refused user "pwuser" with mechanism password`},
		{"unknown user", riakProfile([]string{secure.Addr()}, schema.MechanismTrust, "nobody", "", riakTLS()), factory.ErrAuthFailed, "no trust source"},
		{"untrusted CA", pw(secure.Addr(), riakPassword, untrusted), factory.ErrTLSUntrusted, ""},
		{"wrong name", pw(secure.Addr(), riakPassword, wrongName), factory.ErrTLSHostname, ""},
		{"revoked server cert", pw(secure.Addr(), riakPassword, revoked), factory.ErrTLSRevoked, ""},
		{"security off", pw(plain.Addr(), riakPassword, riakTLS()), factory.ErrProtocol, "Security not enabled; STARTTLS not allowed."},
		{"security on, no auth", riakProfile([]string{secure.Addr()}, "", "", "", nil), factory.ErrAuthRequired, "Security is enabled, please STARTTLS first"},
		{"node down", pw(riakDownAddr(t), riakPassword, riakTLS()), factory.ErrUnreachable, "connection refused"},
		{"stall after StartTls", pw(stalledTLS.Addr(), riakPassword, riakTLS()), factory.ErrTimeout, "did not complete the TLS handshake"},
		{"stall", pw(stalled.Addr(), riakPassword, riakTLS()), factory.ErrTimeout, "does not answer Riak Protocol Buffers"},
		{"slow auth failure", pw(slowFail.Addr(), "not-the-password", riakTLS()), factory.ErrTimeout, "often means refused credentials"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.p.ConnectTimeout = schema.Duration(budget)
			c := newRiak(t, tc.p, factory.WithRiakAuthWait(budget))
			for _, op := range []struct {
				name string
				run  func() error
			}{
				{"Dial", func() error {
					cl, err := c.Dial(context.Background())
					require.Nil(t, cl)
					return err
				}},
				{"DialConn", func() error {
					conn, err := c.DialConn(context.Background())
					require.Nil(t, conn)
					return err
				}},
				{"Check", func() error {
					rep, err := c.Check(context.Background())
					require.NotNil(t, rep)
					require.False(t, rep.OK)
					require.NotNil(t, rep.Error)
					require.Equal(t, string(factory.KindOf(err)), rep.Error.Kind)
					return err
				}},
			} {
				start := time.Now()
				err := op.run()
				elapsed := time.Since(start)
				require.Error(t, err, op.name)
				require.ErrorIs(t, err, tc.kind, "%s: %v", op.name, err)
				require.ErrorContains(t, err, tc.contains, op.name)
				require.NotContains(t, err.Error(), riakPassword)
				// The servers stall for an hour and the context never ends: only the budget can
				// have ended the call. The bound is loose on purpose (a loaded machine is slow);
				// it tells "bounded" from "hung", not how fast.
				require.Less(t, elapsed, 30*time.Second, "%s took %v", op.name, elapsed)
				t.Logf("%s: %v (%v)", op.name, err, elapsed.Round(time.Millisecond))
			}
		})
	}
}

// Riak answers refused credentials only after a delay longer than a typical
// connect_timeout: the preflight waits for that verdict (auth_failed), bounded by the
// verdict wait and the caller's context, instead of reporting a timeout.
func TestRiakWaitsForTheAuthVerdict(t *testing.T) {
	riakLeakCheck(t)
	slow := secureRiak()
	slow.AuthFailureDelay = 600 * time.Millisecond
	srv := startRiak(t, slow)
	p := riakProfile([]string{srv.Addr()}, schema.MechanismPassword, "pwuser", "not-the-password", riakTLS())
	p.ConnectTimeout = schema.Duration(200 * time.Millisecond)

	c := newRiak(t, p, factory.WithRiakAuthWait(5*time.Second))
	_, err := c.DialConn(context.Background())
	require.ErrorIs(t, err, factory.ErrAuthFailed)

	// The caller's deadline still wins over the wait.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = c.DialConn(ctx)
	require.ErrorIs(t, err, factory.ErrTimeout)
	require.ErrorContains(t, err, "often means refused credentials")
}

func TestRiakCallerDeadlineAndCancel(t *testing.T) {
	riakLeakCheck(t)
	stallTLS := secureRiak()
	stallTLS.StallAfterStartTls = true
	srv := startRiak(t, stallTLS)
	c := newRiak(t, riakProfile([]string{srv.Addr()}, schema.MechanismTrust, "trusted", "", riakTLS()))

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := c.Dial(ctx)
	require.ErrorIs(t, err, factory.ErrTimeout)
	// The caller's deadline ended the dial, not connect_timeout: the error says which (a
	// wall-time bound would be a timing assertion).
	require.ErrorContains(t, err, "the caller's deadline")
	require.NotContains(t, err.Error(), "connect_timeout")

	ctx, cancel = context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.DialConn(ctx)
		done <- err
	}()
	// Cancel once the server holds the connection in its stall.
	require.Eventually(t, func() bool { return srv.Connections() > 0 }, 2*time.Second, 5*time.Millisecond)
	cancel()
	err = <-done
	require.ErrorIs(t, err, factory.ErrTimeout)
	require.ErrorContains(t, err, "cancelled by the caller")
}

// TestRiakCertificateCNMismatchAtServer: a reload put a certificate with another CN
// in place (the compile-time check only sees the material of the time), so the
// server refuses it and the error says why.
func TestRiakCertificateCNMismatchAtServer(t *testing.T) {
	riakLeakCheck(t)
	srv := startRiak(t, secureRiak())
	c := newRiak(t, riakProfile([]string{srv.Addr()}, schema.MechanismCertificate, "riakcert", "", riakCertTLS(riakCertUser)))
	// riakPKI.Client has CN "app".
	_, err := update(c.TLS(), riakCertTLS(riakPKI.Client))
	require.NoError(t, err)
	_, err = c.Dial(context.Background())
	require.ErrorIs(t, err, factory.ErrAuthFailed)
	require.ErrorContains(t, err, `the client certificate's CN "app" is not the username "riakcert"`)
	evs := srv.AuthEvents()
	require.Equal(t, riaktest.AuthEvent{User: "riakcert", Source: riaktest.SourceCertificate, CommonName: "app", OK: false}, evs[len(evs)-1])
}

func TestRiakMultiHost(t *testing.T) {
	riakLeakCheck(t)
	srv := startRiak(t, secureRiak())
	down := riakDownAddr(t)

	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil))

	t.Run("one down", func(t *testing.T) {
		c := newRiak(t, riakProfile([]string{down, srv.Addr()}, schema.MechanismPassword, "pwuser", riakPassword, riakTLS()), factory.WithLogger(logger))
		cl, err := c.Dial(context.Background())
		require.NoError(t, err)
		require.NotContains(t, cl.String(), down)
		storeFetch(t, cl, srv, "multi")
		require.NoError(t, cl.Stop())
		mu.Lock()
		require.Contains(t, logs.String(), "host left out of the cluster")
		require.Contains(t, logs.String(), down)
		mu.Unlock()

		conn, err := c.DialConn(context.Background())
		require.NoError(t, err)
		require.Equal(t, srv.Addr(), conn.RemoteAddr().String())
		require.NoError(t, conn.Close())

		// check tests every host: the one down fails it, and the report lists both.
		rep, err := c.Check(context.Background())
		require.ErrorIs(t, err, factory.ErrUnreachable)
		require.False(t, rep.OK)
		require.Equal(t, srv.Addr(), rep.Server.Address, "the report describes the host that passed")
		require.Len(t, rep.Hosts, 2)
		require.Equal(t, down, rep.Hosts[0].Address)
		require.False(t, rep.Hosts[0].OK)
		require.Equal(t, "unreachable", rep.Hosts[0].Error.Kind)
		require.Equal(t, factory.HostReport{Address: srv.Addr(), Source: factory.HostConfigured, OK: true,
			TLS: rep.Hosts[1].TLS}, rep.Hosts[1])
		require.Equal(t, "TLS 1.2", rep.Hosts[1].TLS.Version)
	})
	t.Run("all fail", func(t *testing.T) {
		other := riakDownAddr(t)
		c := newRiak(t, riakProfile([]string{down, srv.Addr(), other}, schema.MechanismPassword, "pwuser", "wrong", riakTLS()))
		_, err := c.Dial(context.Background())
		// The refused credentials are the news, not the hosts that are down.
		require.ErrorIs(t, err, factory.ErrAuthFailed)
		require.ErrorIs(t, err, factory.ErrUnreachable, "every host's error stays reachable")
		require.ErrorContains(t, err, "no host passed the preflight")
		for _, h := range []string{down, srv.Addr(), other} {
			require.ErrorContains(t, err, h)
		}
		c = newRiak(t, riakProfile([]string{down, other}, schema.MechanismPassword, "pwuser", "wrong", riakTLS()))
		_, err = c.DialConn(context.Background())
		require.Equal(t, factory.KindUnreachable, factory.KindOf(err))
	})
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// riakPing sends RpbPingReq on conn and expects RpbPingResp.
func riakPing(t *testing.T, conn net.Conn) {
	t.Helper()
	require.NoError(t, conn.SetDeadline(time.Now().Add(2*time.Second)))
	_, err := conn.Write([]byte{0, 0, 0, 1, 1})
	require.NoError(t, err)
	var resp [5]byte
	_, err = io.ReadFull(conn, resp[:])
	require.NoError(t, err)
	require.Equal(t, uint32(1), binary.BigEndian.Uint32(resp[:4]))
	require.Equal(t, byte(2), resp[4])
}

func TestRiakDialConn(t *testing.T) {
	riakLeakCheck(t)
	srv := startRiak(t, secureRiak())
	c := newRiak(t, riakProfile([]string{srv.Addr()}, schema.MechanismPAM, "pamuser", "pam-"+riakPassword, riakTLS()))
	conn, err := c.DialConn(context.Background())
	require.NoError(t, err)
	tc, ok := conn.(*tls.Conn)
	require.True(t, ok)
	require.True(t, tc.ConnectionState().HandshakeComplete)
	// Deadlines are cleared: the connection still works after connect_timeout.
	riakPing(t, conn)
	require.NoError(t, conn.Close())

	plain := startRiak(t, riaktest.Options{})
	c = newRiak(t, riakProfile([]string{plain.Addr()}, schema.MechanismNone, "", "", nil))
	conn, err = c.DialConn(context.Background())
	require.NoError(t, err)
	riakPing(t, conn)
	require.NoError(t, conn.Close())
}

func TestRiakCheckReport(t *testing.T) {
	riakLeakCheck(t)
	opts := secureRiak()
	opts.Node = "riak@db1"
	opts.ServerVersion = "2.9.10"
	srv := startRiak(t, opts)
	c := newRiak(t, riakProfile([]string{srv.Addr()}, schema.MechanismCertificate, "riakcert", "", riakCertTLS(riakCertUser)))
	rep, err := c.Check(context.Background())
	require.NoError(t, err)
	require.True(t, rep.OK)
	require.Nil(t, rep.Error)
	require.Equal(t, "riak_test", rep.Profile)
	require.Equal(t, "riak", rep.Backend)
	require.Equal(t, "riak@db1", rep.Server.Node)
	require.Equal(t, "2.9.10", rep.Server.Version)
	require.Equal(t, srv.Addr(), rep.Server.Address)
	require.Equal(t, factory.AuthReport{Mechanism: "certificate", Username: "riakcert", Result: "ok"}, rep.Auth)
	require.True(t, rep.TLS.Enabled)
	require.Equal(t, "verify-full", rep.TLS.Mode)
	require.Equal(t, "TLS 1.2", rep.TLS.Version)
	require.NotEmpty(t, rep.TLS.Cipher)
	require.Equal(t, "127.0.0.1", rep.TLS.ServerName)
	require.Len(t, rep.TLS.PeerChain, 2)
	require.Equal(t, "CN=localhost", rep.TLS.PeerChain[0].Subject)
	require.NotNil(t, rep.TLS.ClientCert)
	require.Equal(t, "CN=riakcert", rep.TLS.ClientCert.Subject)
	require.Positive(t, rep.Latency)
	require.Positive(t, rep.LatencyMS)

	// A failure reports how far it got.
	c = newRiak(t, riakProfile([]string{srv.Addr()}, schema.MechanismPassword, "pwuser", "wrong", riakTLS()))
	rep, err = c.Check(context.Background())
	require.ErrorIs(t, err, factory.ErrAuthFailed)
	require.False(t, rep.OK)
	require.Equal(t, "auth_failed", rep.Error.Kind)
	require.Equal(t, "failed", rep.Auth.Result)
	require.Equal(t, "TLS 1.2", rep.TLS.Version)

	plain := startRiak(t, riaktest.Options{})
	c = newRiak(t, riakProfile([]string{plain.Addr()}, "", "", "", nil))
	rep, err = c.Check(context.Background())
	require.NoError(t, err)
	require.Equal(t, "none", rep.Auth.Result)
	require.False(t, rep.TLS.Enabled)
	require.Equal(t, riaktest.DefaultServerVersion, rep.Server.Version)
}

func TestRiakDriverLogsGoToSlog(t *testing.T) {
	riakLeakCheck(t)
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{w: &buf, mu: &mu}, nil))
	c := newRiak(t, riakProfile([]string{riakDownAddr(t)}, schema.MechanismTrust, "trusted", "", riakTLS()), factory.WithLogger(logger))
	// The adapter is installed on the first dial, not on compile.
	_, err := c.DialConn(context.Background())
	require.Error(t, err)

	// A hand-built cluster on a dead node makes riak-go-client log its dial failure.
	node, err := riak.NewNode(&riak.NodeOptions{RemoteAddress: riakDownAddr(t)})
	require.NoError(t, err)
	cl, err := riak.NewCluster(&riak.ClusterOptions{Nodes: []*riak.Node{node}})
	require.NoError(t, err)
	require.NoError(t, cl.Start())
	require.NoError(t, cl.Stop())
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	require.Contains(t, out, `"level":"ERROR"`)
	require.Contains(t, out, `"component":"riak-go-client"`)
	require.Contains(t, out, "error when dialing")
	require.NotContains(t, out, "[ERROR]")
}

// TestRiakNodeDiesAfterDial: a cluster from Dial whose only node goes away fails its
// commands ("all retries exhausted") instead of spinning, and Stop leaves nothing.
func TestRiakNodeDiesAfterDial(t *testing.T) {
	riakLeakCheck(t)
	srv, err := riaktest.Start(secureRiak())
	require.NoError(t, err)
	// The health check logs every 125 ms while the node is down.
	quiet := factory.WithLogger(slog.New(slog.DiscardHandler))
	c := newRiak(t, riakProfile([]string{srv.Addr()}, schema.MechanismTrust, "trusted", "", riakTLS()), quiet)
	cl, err := c.Dial(context.Background())
	require.NoError(t, err)
	require.NoError(t, srv.Close())
	for range 2 {
		done := make(chan riak.Command, 1)
		require.NoError(t, cl.ExecuteAsync(&riak.Async{Command: &riak.PingCommand{}, Done: done}))
		select {
		case cmd := <-done:
			require.False(t, cmd.Success())
		case <-time.After(10 * time.Second):
			t.Fatal("riak-go-client is spinning on a dead node")
		}
	}
	require.NoError(t, cl.Stop())
}

// TestRiakNodeOptionsSeeReloadedMaterial: riak-go-client keeps one *tls.Config per node
// for the node's life, so the config NodeOptions gave out must present the client
// certificate of the latest reload, not the one of its time.
func TestRiakNodeOptionsSeeReloadedMaterial(t *testing.T) {
	riakLeakCheck(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { require.NoError(t, ln.Close()) }()
	cns := make(chan string, 2)
	go func() {
		for {
			raw, err := ln.Accept()
			if err != nil {
				return
			}
			tc := tls.Server(raw, riakPKI.ServerTLSConfig())
			cn := ""
			if tc.Handshake() == nil && len(tc.ConnectionState().PeerCertificates) > 0 {
				cn = tc.ConnectionState().PeerCertificates[0].Subject.CommonName
			}
			_ = tc.Close()
			cns <- cn
		}
	}()

	c := newRiak(t, riakProfile([]string{ln.Addr().String()}, schema.MechanismCertificate, "riakcert", "", riakCertTLS(riakCertUser)))
	cfg := c.NodeOptions()[0].AuthOptions.TlsConfig
	handshake := func() string {
		raw, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		tc := tls.Client(raw, cfg)
		require.NoError(t, tc.Handshake())
		// Read until the server closes, so its side has finished too.
		_, _ = io.Copy(io.Discard, tc)
		require.NoError(t, tc.Close())
		return <-cns
	}
	require.Equal(t, "riakcert", handshake())
	_, err = update(c.TLS(), riakCertTLS(riakPKI.Client))
	require.NoError(t, err)
	require.Equal(t, "app", handshake())
}
