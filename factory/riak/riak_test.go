package riak_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	riak "github.com/basho/riak-go-client"
	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/factory"
	riakfactory "github.com/connfactory/connfactory/factory/riak"
	"github.com/connfactory/connfactory/internal/factorycore"
	"github.com/connfactory/connfactory/internal/factorytest"
	"github.com/connfactory/connfactory/internal/factorytest/riakenv"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/pki"
	"github.com/connfactory/connfactory/testserver/riaktest"
)

func TestRiakMechanismsStoreAndFetch(t *testing.T) {
	factorytest.LeakCheck(t)
	srv := riakenv.Start(t, riakenv.Secure())
	cases := []struct {
		name string
		p    *schema.Profile
	}{
		{"trust", riakenv.Profile([]string{srv.Addr()}, schema.MechanismTrust, "trusted", "", riakenv.TLS())},
		{"password", riakenv.Profile([]string{srv.Addr()}, schema.MechanismPassword, "pwuser", riakenv.Password, riakenv.TLS())},
		{"pam", riakenv.Profile([]string{srv.Addr()}, schema.MechanismPAM, "pamuser", "pam-"+riakenv.Password, riakenv.TLS())},
		{"certificate", riakenv.Profile([]string{srv.Addr()}, schema.MechanismCertificate, "riakcert", "", riakenv.CertTLS(riakenv.CertUser))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := riakenv.New(t, tc.p)
			cl, err := c.Dial(context.Background())
			require.NoError(t, err)
			riakenv.StoreFetch(t, cl, srv, "k-"+tc.name)
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
	factorytest.LeakCheck(t)
	srv := riakenv.Start(t, riaktest.Options{})
	c := riakenv.New(t, riakenv.Profile([]string{srv.Addr()}, "", "", "", nil))
	opts := c.NodeOptions()
	require.Len(t, opts, 1)
	require.Nil(t, opts[0].AuthOptions)
	require.Nil(t, c.TLS())
	cl, err := c.Dial(context.Background())
	require.NoError(t, err)
	riakenv.StoreFetch(t, cl, srv, "plain")
	require.NoError(t, cl.Stop())
}

func TestRiakNodeOptions(t *testing.T) {
	p := riakenv.Profile([]string{"127.0.0.1", "localhost:8098", "[::1]", "127.0.0.1:8087"}, schema.MechanismPassword, "pwuser", riakenv.Password, riakenv.TLS())
	p.ConnectTimeout = schema.Duration(3 * time.Second)
	p.Timeout = schema.Duration(4 * time.Second)
	c := riakenv.New(t, p)
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
		require.Equal(t, riakenv.Password, o.AuthOptions.Password)
		require.NotNil(t, o.AuthOptions.TlsConfig)
		require.Equal(t, names[i], o.AuthOptions.TlsConfig.ServerName)
	}
	// Fresh configs per call: a caller may modify its copy.
	require.NotSame(t, opts[0].AuthOptions.TlsConfig, c.NodeOptions()[0].AuthOptions.TlsConfig)

	p.TLS.ServerName = "riak.internal"
	c = riakenv.New(t, p)
	for _, o := range c.NodeOptions() {
		require.Equal(t, "riak.internal", o.AuthOptions.TlsConfig.ServerName)
	}
}

func TestRiakNodeOptionsDriveHandBuiltCluster(t *testing.T) {
	factorytest.LeakCheck(t)
	srv := riakenv.Start(t, riakenv.Secure())
	c := riakenv.New(t, riakenv.Profile([]string{srv.Addr()}, schema.MechanismCertificate, "riakcert", "", riakenv.CertTLS(riakenv.CertUser)))
	opts := c.NodeOptions()
	require.Equal(t, "", opts[0].AuthOptions.Password)
	node, err := riak.NewNode(opts[0])
	require.NoError(t, err)
	cl, err := riak.NewCluster(&riak.ClusterOptions{Nodes: []*riak.Node{node}})
	require.NoError(t, err)
	require.NoError(t, cl.Start())
	riakenv.StoreFetch(t, cl, srv, "handbuilt")
	require.NoError(t, cl.Stop())
}

func TestRiakCompileErrors(t *testing.T) {
	other, err := riakenv.PKI.Intermediate.Issue(pki.LeafOptions{CommonName: "someoneelse", Client: true})
	require.NoError(t, err)
	cases := []struct {
		name string
		p    *schema.Profile
		path string
		msg  string
	}{
		{"password without tls", riakenv.Profile([]string{"h"}, schema.MechanismPassword, "u", "p", nil),
			"profiles.riak_test.auth.mechanism", "riak refuses authentication without TLS"},
		{"tls without auth", riakenv.Profile([]string{"h"}, "", "", "", riakenv.TLS()),
			"profiles.riak_test.auth.mechanism", "set auth.mechanism"},
		{"no username", riakenv.Profile([]string{"h"}, schema.MechanismTrust, "", "", riakenv.TLS()),
			"profiles.riak_test.auth.username", "needs a username"},
		{"password missing", riakenv.Profile([]string{"h"}, schema.MechanismPAM, "u", "", riakenv.TLS()),
			"profiles.riak_test.auth.password", "needs a password"},
		{"certificate without cert", riakenv.Profile([]string{"h"}, schema.MechanismCertificate, "riakcert", "", riakenv.TLS()),
			"profiles.riak_test.tls.cert", "client certificate"},
		{"cn mismatch", riakenv.Profile([]string{"h"}, schema.MechanismCertificate, "riakcert", "", riakenv.CertTLS(other)),
			"profiles.riak_test.auth.username", `client certificate's CN is "someoneelse"`},
		{"cassandra mechanism", riakenv.Profile([]string{"h"}, schema.MechanismSASLPlain, "u", "p", riakenv.TLS()),
			"profiles.riak_test.auth.mechanism", "is not accepted for riak"},
		{"bad port", riakenv.Profile([]string{"h:99999"}, schema.MechanismTrust, "u", "", riakenv.TLS()),
			"profiles.riak_test.hosts[0]", "1 to 65535"},
		{"no hosts", riakenv.Profile(nil, schema.MechanismTrust, "u", "", riakenv.TLS()),
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
	c, err := riakfactory.New("riak_test", riakenv.Profile([]string{"127.0.0.1"}, "", "", "", nil))
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
	p := riakenv.Profile([]string{"h"}, schema.MechanismTrust, "trusted", "unused", riakenv.TLS())
	p.Auth.PerHost = []schema.HostCredentials{{Host: "h", Username: "x"}}
	c := riakenv.New(t, p)
	var paths []string
	for _, w := range c.Warnings() {
		paths = append(paths, w.Path)
	}
	require.Contains(t, paths, "profiles.riak_test.auth.password")
	require.Contains(t, paths, "profiles.riak_test.auth.per_host")
	require.Equal(t, "", c.NodeOptions()[0].AuthOptions.Password, "trust sends no password")
}

func TestRiakCallerDeadlineAndCancel(t *testing.T) {
	factorytest.LeakCheck(t)
	stallTLS := riakenv.Secure()
	stallTLS.StallAfterStartTls = true
	srv := riakenv.Start(t, stallTLS)
	c := riakenv.New(t, riakenv.Profile([]string{srv.Addr()}, schema.MechanismTrust, "trusted", "", riakenv.TLS()))

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
	factorytest.LeakCheck(t)
	srv := riakenv.Start(t, riakenv.Secure())
	c := riakenv.New(t, riakenv.Profile([]string{srv.Addr()}, schema.MechanismCertificate, "riakcert", "", riakenv.CertTLS(riakenv.CertUser)))
	// riakenv.PKI.Client has CN "app".
	_, err := factorytest.Update(c.TLS(), riakenv.CertTLS(riakenv.PKI.Client))
	require.NoError(t, err)
	_, err = c.Dial(context.Background())
	require.ErrorIs(t, err, factory.ErrAuthFailed)
	require.ErrorContains(t, err, `the client certificate's CN "app" is not the username "riakcert"`)
	evs := srv.AuthEvents()
	require.Equal(t, riaktest.AuthEvent{User: "riakcert", Source: riaktest.SourceCertificate, CommonName: "app", OK: false}, evs[len(evs)-1])
}

func TestRiakMultiHost(t *testing.T) {
	factorytest.LeakCheck(t)
	srv := riakenv.Start(t, riakenv.Secure())
	down := factorytest.DeadAddr(t)

	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil))

	t.Run("one down", func(t *testing.T) {
		c := riakenv.New(t, riakenv.Profile([]string{down, srv.Addr()}, schema.MechanismPassword, "pwuser", riakenv.Password, riakenv.TLS()), factory.WithLogger(logger))
		cl, err := c.Dial(context.Background())
		require.NoError(t, err)
		require.NotContains(t, cl.String(), down)
		riakenv.StoreFetch(t, cl, srv, "multi")
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
		require.Equal(t, factory.HostReport{Address: srv.Addr(), Source: factorycore.HostConfigured, OK: true,
			TLS: rep.Hosts[1].TLS}, rep.Hosts[1])
		require.Equal(t, "TLS 1.2", rep.Hosts[1].TLS.Version)
	})
	t.Run("all fail", func(t *testing.T) {
		other := factorytest.DeadAddr(t)
		c := riakenv.New(t, riakenv.Profile([]string{down, srv.Addr(), other}, schema.MechanismPassword, "pwuser", "wrong", riakenv.TLS()))
		_, err := c.Dial(context.Background())
		// The refused credentials are the news, not the hosts that are down.
		require.ErrorIs(t, err, factory.ErrAuthFailed)
		require.ErrorIs(t, err, factory.ErrUnreachable, "every host's error stays reachable")
		require.ErrorContains(t, err, "no host passed the preflight")
		for _, h := range []string{down, srv.Addr(), other} {
			require.ErrorContains(t, err, h)
		}
		c = riakenv.New(t, riakenv.Profile([]string{down, other}, schema.MechanismPassword, "pwuser", "wrong", riakenv.TLS()))
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
	factorytest.LeakCheck(t)
	srv := riakenv.Start(t, riakenv.Secure())
	c := riakenv.New(t, riakenv.Profile([]string{srv.Addr()}, schema.MechanismPAM, "pamuser", "pam-"+riakenv.Password, riakenv.TLS()))
	conn, err := c.DialConn(context.Background())
	require.NoError(t, err)
	tc, ok := conn.(*tls.Conn)
	require.True(t, ok)
	require.True(t, tc.ConnectionState().HandshakeComplete)
	// Deadlines are cleared: the connection still works after connect_timeout.
	riakPing(t, conn)
	require.NoError(t, conn.Close())

	plain := riakenv.Start(t, riaktest.Options{})
	c = riakenv.New(t, riakenv.Profile([]string{plain.Addr()}, schema.MechanismNone, "", "", nil))
	conn, err = c.DialConn(context.Background())
	require.NoError(t, err)
	riakPing(t, conn)
	require.NoError(t, conn.Close())
}

func TestRiakCheckReport(t *testing.T) {
	factorytest.LeakCheck(t)
	opts := riakenv.Secure()
	opts.Node = "riak@db1"
	opts.ServerVersion = "2.9.10"
	srv := riakenv.Start(t, opts)
	c := riakenv.New(t, riakenv.Profile([]string{srv.Addr()}, schema.MechanismCertificate, "riakcert", "", riakenv.CertTLS(riakenv.CertUser)))
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
	c = riakenv.New(t, riakenv.Profile([]string{srv.Addr()}, schema.MechanismPassword, "pwuser", "wrong", riakenv.TLS()))
	rep, err = c.Check(context.Background())
	require.ErrorIs(t, err, factory.ErrAuthFailed)
	require.False(t, rep.OK)
	require.Equal(t, "auth_failed", rep.Error.Kind)
	require.Equal(t, "failed", rep.Auth.Result)
	require.Equal(t, "TLS 1.2", rep.TLS.Version)

	plain := riakenv.Start(t, riaktest.Options{})
	c = riakenv.New(t, riakenv.Profile([]string{plain.Addr()}, "", "", "", nil))
	rep, err = c.Check(context.Background())
	require.NoError(t, err)
	require.Equal(t, "none", rep.Auth.Result)
	require.False(t, rep.TLS.Enabled)
	require.Equal(t, riaktest.DefaultServerVersion, rep.Server.Version)
}

func TestRiakDriverLogsGoToSlog(t *testing.T) {
	factorytest.LeakCheck(t)
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{w: &buf, mu: &mu}, nil))
	c := riakenv.New(t, riakenv.Profile([]string{factorytest.DeadAddr(t)}, schema.MechanismTrust, "trusted", "", riakenv.TLS()), factory.WithLogger(logger))
	// The adapter is installed on the first dial, not on compile.
	_, err := c.DialConn(context.Background())
	require.Error(t, err)

	// A hand-built cluster on a dead node makes riak-go-client log its dial failure.
	node, err := riak.NewNode(&riak.NodeOptions{RemoteAddress: factorytest.DeadAddr(t)})
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
	factorytest.LeakCheck(t)
	srv, err := riaktest.Start(riakenv.Secure())
	require.NoError(t, err)
	// The health check logs every 125 ms while the node is down.
	quiet := factory.WithLogger(slog.New(slog.DiscardHandler))
	c := riakenv.New(t, riakenv.Profile([]string{srv.Addr()}, schema.MechanismTrust, "trusted", "", riakenv.TLS()), quiet)
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
	factorytest.LeakCheck(t)
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
			tc := tls.Server(raw, riakenv.PKI.ServerTLSConfig())
			cn := ""
			if tc.Handshake() == nil && len(tc.ConnectionState().PeerCertificates) > 0 {
				cn = tc.ConnectionState().PeerCertificates[0].Subject.CommonName
			}
			_ = tc.Close()
			cns <- cn
		}
	}()

	c := riakenv.New(t, riakenv.Profile([]string{ln.Addr().String()}, schema.MechanismCertificate, "riakcert", "", riakenv.CertTLS(riakenv.CertUser)))
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
	_, err = factorytest.Update(c.TLS(), riakenv.CertTLS(riakenv.PKI.Client))
	require.NoError(t, err)
	require.Equal(t, "app", handshake())
}
