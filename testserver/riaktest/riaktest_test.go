package riaktest_test

import (
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"testing"
	"time"

	riak "github.com/basho/riak-go-client"
	rpb "github.com/basho/riak-go-client/rpb/riak"
	rpbkv "github.com/basho/riak-go-client/rpb/riak_kv"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/connfactory/connfactory/testserver/pki"
	"github.com/connfactory/connfactory/testserver/riaktest"

	"github.com/connfactory/connfactory/internal/riakpb"
)

func TestMain(m *testing.M) {
	// riak-go-client logs connection churn to stderr through package globals.
	riak.SetLogger(log.New(io.Discard, "", 0))
	riak.SetErrorLogger(log.New(io.Discard, "", 0))
	goleak.VerifyTestMain(m)
}

var testPKI = func() *pki.Set {
	s, err := pki.NewSet()
	if err != nil {
		panic(err)
	}
	return s
}()

func start(t *testing.T, opts riaktest.Options) *riaktest.Server {
	t.Helper()
	srv, err := riaktest.Start(opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })
	return srv
}

func secureOptions() riaktest.Options {
	return riaktest.Options{
		Security: true,
		TLS:      testPKI.ServerTLSConfig(),
		Users: []riaktest.User{
			{Name: "pwuser", Source: riaktest.SourcePassword, Password: "s3cret"},
			{Name: "trusted", Source: riaktest.SourceTrust},
			{Name: "pamuser", Source: riaktest.SourcePAM},
			{Name: "riakuser", Source: riaktest.SourceCertificate},
			{Name: "app", Source: riaktest.SourceCertificate},
		},
		PAM: map[string]string{"pamuser": "pam-pass"},
	}
}

// clientTLS trusts the test root and names the server; riak-go-client never
// sets ServerName itself.
func clientTLS(certs ...tls.Certificate) *tls.Config {
	return &tls.Config{RootCAs: testPKI.Root.Pool(), ServerName: "localhost", Certificates: certs}
}

func TestStartValidation(t *testing.T) {
	_, err := riaktest.Start(riaktest.Options{Security: true})
	require.ErrorContains(t, err, "riaktest: ")
	_, err = riaktest.Start(riaktest.Options{Security: true, TLS: &tls.Config{}})
	require.ErrorContains(t, err, "no server certificate")
	_, err = riaktest.Start(riaktest.Options{Users: []riaktest.User{{Name: "x", Source: "ldap"}}})
	require.ErrorContains(t, err, `unknown source "ldap"`)
	_, err = riaktest.Start(riaktest.Options{Users: []riaktest.User{
		{Name: "x", Source: riaktest.SourceTrust}, {Name: "x", Source: riaktest.SourceTrust}}})
	require.ErrorContains(t, err, `duplicate user "x"`)
}

func TestAddressAndClose(t *testing.T) {
	srv, err := riaktest.Start(riaktest.Options{})
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1", srv.Host())
	require.NotZero(t, srv.Port())
	host, _, err := net.SplitHostPort(srv.Addr())
	require.NoError(t, err)
	require.Equal(t, srv.Host(), host)

	c := dialRaw(t, srv.Addr())
	c.send(riakpb.PingReq, nil)
	c.expect(riakpb.PingResp, nil)
	require.Equal(t, 1, srv.Connections())
	require.Equal(t, 1, srv.Accepted())

	require.NoError(t, srv.Close())
	require.NoError(t, srv.Close(), "Close is idempotent")
	require.Equal(t, 0, srv.Connections())
	c.expectClosed()
	_, err = net.DialTimeout("tcp", srv.Addr(), time.Second)
	require.Error(t, err)
}

func TestSecurityOffPlaintext(t *testing.T) {
	srv := start(t, riaktest.Options{ServerVersion: "2.9.10", Node: "riak@10.0.0.1"})
	c := dialRaw(t, srv.Addr())

	c.send(riakpb.PingReq, nil)
	c.expect(riakpb.PingResp, nil)

	var info rpb.RpbGetServerInfoResp
	c.send(riakpb.GetServerInfoReq, nil)
	c.expect(riakpb.GetServerInfoResp, &info)
	require.Equal(t, "riak@10.0.0.1", string(info.GetNode()))
	require.Equal(t, "2.9.10", string(info.GetServerVersion()))

	c.send(riakpb.StartTLS, nil)
	c.expectError("Security not enabled; STARTTLS not allowed.")
	// No service registers RpbAuthReq, so Riak treats it as unknown.
	c.auth("pwuser", "s3cret")
	c.expectError("Unknown message code: 253")
	c.sendRaw(42, nil)
	c.expectError("Unknown message code: 42")

	// The connection survives all of those errors.
	c.send(riakpb.PingReq, nil)
	c.expect(riakpb.PingResp, nil)
}

func TestServerInfoDefaults(t *testing.T) {
	srv := start(t, riaktest.Options{})
	c := dialRaw(t, srv.Addr())
	var info rpb.RpbGetServerInfoResp
	c.send(riakpb.GetServerInfoReq, nil)
	c.expect(riakpb.GetServerInfoResp, &info)
	require.Equal(t, riaktest.DefaultNode, string(info.GetNode()))
	require.Equal(t, riaktest.DefaultServerVersion, string(info.GetServerVersion()))
	require.Equal(t, "riaktest-2.2.6", riaktest.DefaultServerVersion)
	require.Equal(t, "riak@127.0.0.1", riaktest.DefaultNode)
}

func TestKV(t *testing.T) {
	srv := start(t, riaktest.Options{})
	c := dialRaw(t, srv.Addr())

	// A missing key is an empty RpbGetResp.
	var get rpbkv.RpbGetResp
	c.send(riakpb.GetReq, &rpbkv.RpbGetReq{Bucket: []byte("b"), Key: []byte("k")})
	c.expect(riakpb.GetResp, &get)
	require.Empty(t, get.Content)
	require.Nil(t, get.Vclock)

	var put rpbkv.RpbPutResp
	tru := true
	c.send(riakpb.PutReq, &rpbkv.RpbPutReq{Bucket: []byte("b"), Key: []byte("k"), ReturnBody: &tru,
		Content: &rpbkv.RpbContent{Value: []byte("v1"), ContentType: []byte("text/plain")}})
	c.expect(riakpb.PutResp, &put)
	require.Len(t, put.Content, 1)
	require.Equal(t, "v1", string(put.Content[0].Value))
	require.NotEmpty(t, put.Vclock)
	require.Nil(t, put.Key, "the key is returned only when the server generated it")

	get.Reset()
	c.send(riakpb.GetReq, &rpbkv.RpbGetReq{Bucket: []byte("b"), Key: []byte("k")})
	c.expect(riakpb.GetResp, &get)
	require.Len(t, get.Content, 1)
	require.Equal(t, "v1", string(get.Content[0].Value))
	require.Equal(t, "text/plain", string(get.Content[0].ContentType))
	require.Equal(t, put.Vclock, get.Vclock)

	// Same bucket and key under another bucket type is another object.
	get.Reset()
	c.send(riakpb.GetReq, &rpbkv.RpbGetReq{Type: []byte("maps"), Bucket: []byte("b"), Key: []byte("k")})
	c.expect(riakpb.GetResp, &get)
	require.Empty(t, get.Content)

	// if_modified with the current vclock answers unchanged.
	get.Reset()
	c.send(riakpb.GetReq, &rpbkv.RpbGetReq{Bucket: []byte("b"), Key: []byte("k"), IfModified: put.Vclock})
	c.expect(riakpb.GetResp, &get)
	require.True(t, get.GetUnchanged())

	// if_none_match on an existing key.
	c.send(riakpb.PutReq, &rpbkv.RpbPutReq{Bucket: []byte("b"), Key: []byte("k"), IfNoneMatch: &tru,
		Content: &rpbkv.RpbContent{Value: []byte("v2")}})
	c.expectError("match_found")

	// Without a key the server generates one and returns it.
	put.Reset()
	c.send(riakpb.PutReq, &rpbkv.RpbPutReq{Type: []byte("maps"), Bucket: []byte("b"), Content: &rpbkv.RpbContent{Value: []byte("gen")}})
	c.expect(riakpb.PutResp, &put)
	require.Len(t, put.Key, 22)
	v, ok := srv.Value("maps", "b", string(put.Key))
	require.True(t, ok)
	require.Equal(t, "gen", string(v))

	// Riak's zero-length guards.
	c.send(riakpb.GetReq, &rpbkv.RpbGetReq{Bucket: []byte{}, Key: []byte("k")})
	c.expectError("Bucket cannot be zero-length")
	c.send(riakpb.PutReq, &rpbkv.RpbPutReq{Bucket: []byte("b"), Key: []byte{}, Content: &rpbkv.RpbContent{Value: []byte("x")}})
	c.expectError("Key cannot be zero-length")

	// Delete, then the key is gone; deleting again still succeeds.
	for range 2 {
		c.send(riakpb.DelReq, &rpbkv.RpbDelReq{Bucket: []byte("b"), Key: []byte("k")})
		c.expect(riakpb.DelResp, nil)
	}
	_, ok = srv.Value("", "b", "k")
	require.False(t, ok)

	// Seeded values are served.
	srv.SetValue("", "seed", "k", []byte("seeded"))
	get.Reset()
	c.send(riakpb.GetReq, &rpbkv.RpbGetReq{Bucket: []byte("seed"), Key: []byte("k"), Type: []byte("default")})
	c.expect(riakpb.GetResp, &get)
	require.Equal(t, "seeded", string(get.Content[0].Value))
}

func TestSecurityRequiresStartTLSThenAuth(t *testing.T) {
	srv := start(t, secureOptions())
	c := dialRaw(t, srv.Addr())

	// Everything, even ping and an AuthReq, is refused before STARTTLS.
	c.send(riakpb.PingReq, nil)
	c.expectError("Security is enabled, please STARTTLS first")
	c.auth("pwuser", "s3cret")
	c.expectError("Security is enabled, please STARTTLS first")

	require.NoError(t, c.startTLS(clientTLS()))
	cs := c.conn.(*tls.Conn).ConnectionState()
	require.Equal(t, uint16(tls.VersionTLS12), cs.Version, "TLS 1.2 only by default, as in Riak")

	c.send(riakpb.PingReq, nil)
	c.expectError("Security is enabled, please authenticate first")
	c.auth("pwuser", "s3cret")
	c.expect(riakpb.AuthResp, nil)

	c.send(riakpb.PingReq, nil)
	c.expect(riakpb.PingResp, nil)
	// After authentication STARTTLS hits the same "not registered" path as with
	// security off.
	c.send(riakpb.StartTLS, nil)
	c.expectError("Security not enabled; STARTTLS not allowed.")
}

func TestAuthFailures(t *testing.T) {
	const delay = 30 * time.Millisecond
	opts := secureOptions()
	opts.AuthFailureDelay = delay
	srv := start(t, opts)

	c := dialRaw(t, srv.Addr())
	require.NoError(t, c.startTLS(clientTLS()))
	for i, creds := range [][2]string{
		{"pwuser", "wrong"},   // wrong password
		{"nobody", "s3cret"},  // unknown user
		{"pamuser", "s3cret"}, // PAM table says otherwise
	} {
		began := time.Now()
		c.auth(creds[0], creds[1])
		c.expectError("Authentication failed")
		require.GreaterOrEqual(t, time.Since(began), delay, "attempt %d", i)
	}
	// riak_api_pb_server allows three attempts per connection.
	c.expectClosed()

	events := srv.AuthEvents()
	require.Len(t, events, 3)
	require.Equal(t, riaktest.AuthEvent{User: "pwuser", Source: riaktest.SourcePassword}, events[0])
	require.Equal(t, riaktest.AuthEvent{User: "nobody"}, events[1])

	// Two failures leave the connection usable for a correct attempt.
	c = dialRaw(t, srv.Addr())
	require.NoError(t, c.startTLS(clientTLS()))
	c.auth("pwuser", "")
	c.expectError("Authentication failed")
	c.auth("pamuser", "pam-pass")
	c.expect(riakpb.AuthResp, nil)
	c.send(riakpb.PingReq, nil)
	c.expect(riakpb.PingResp, nil)
}

func TestPasswordUserWithoutPasswordNeverAuthenticates(t *testing.T) {
	srv := start(t, riaktest.Options{Security: true, TLS: testPKI.ServerTLSConfig(),
		Users: []riaktest.User{{Name: "empty", Source: riaktest.SourcePassword}}})
	c := dialRaw(t, srv.Addr())
	require.NoError(t, c.startTLS(clientTLS()))
	c.auth("empty", "")
	c.expectError("Authentication failed")
}

func TestCertificateAuth(t *testing.T) {
	srv := start(t, secureOptions())
	riakuser, err := testPKI.Intermediate.Issue(pki.LeafOptions{CommonName: "riakuser", Client: true})
	require.NoError(t, err)

	// CN matches: the password is ignored.
	c := dialRaw(t, srv.Addr())
	require.NoError(t, c.startTLS(clientTLS(riakuser.TLSCertificate())))
	c.auth("riakuser", "anything")
	c.expect(riakpb.AuthResp, nil)

	// CN "app" presented for user "riakuser".
	c = dialRaw(t, srv.Addr())
	require.NoError(t, c.startTLS(clientTLS(testPKI.Client.TLSCertificate())))
	c.auth("riakuser", "")
	c.expectError("Authentication failed")

	// No client certificate at all: the handshake succeeds (requested, not
	// required) but certificate auth cannot.
	c = dialRaw(t, srv.Addr())
	require.NoError(t, c.startTLS(clientTLS()))
	c.auth("riakuser", "")
	c.expectError("Authentication failed")

	events := srv.AuthEvents()
	require.Len(t, events, 3)
	require.Equal(t, riaktest.AuthEvent{User: "riakuser", Source: riaktest.SourceCertificate, CommonName: "riakuser", OK: true}, events[0])
	require.Equal(t, "app", events[1].CommonName)
	require.False(t, events[1].OK)
	require.Empty(t, events[2].CommonName)
}

func TestUntrustedClientCertFailsHandshake(t *testing.T) {
	srv := start(t, secureOptions())
	stranger, err := testPKI.OtherRoot.Issue(pki.LeafOptions{CommonName: "riakuser", Client: true})
	require.NoError(t, err)
	cert := stranger.TLSCertificate()
	cfg := clientTLS()
	// crypto/tls withholds a certificate the server's CA list does not cover;
	// force it onto the wire so the server has to reject it.
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	c := dialRaw(t, srv.Addr())
	err = c.startTLS(cfg)
	if err == nil {
		// A TLS 1.2 client can finish before it reads the server's alert.
		_, _, err = c.recvErr(ioTimeout)
	}
	require.Error(t, err)
	require.Empty(t, srv.AuthEvents())
}

func TestTLSVersions(t *testing.T) {
	srv := start(t, secureOptions())
	c := dialRaw(t, srv.Addr())
	cfg := clientTLS()
	cfg.MinVersion = tls.VersionTLS13
	require.Error(t, c.startTLS(cfg), "TLS 1.3 is refused by default")

	opts := secureOptions()
	opts.TLS.MaxVersion = tls.VersionTLS13
	srv13 := start(t, opts)
	c = dialRaw(t, srv13.Addr())
	require.NoError(t, c.startTLS(cfg))
	require.Equal(t, uint16(tls.VersionTLS13), c.conn.(*tls.Conn).ConnectionState().Version)
	c.auth("trusted", "")
	c.expect(riakpb.AuthResp, nil)
}

func TestStallAfterStartTls(t *testing.T) {
	opts := secureOptions()
	opts.StallAfterStartTls = true
	srv, err := riaktest.Start(opts)
	require.NoError(t, err)
	defer func() { require.NoError(t, srv.Close()) }()

	c := dialRaw(t, srv.Addr())
	c.send(riakpb.StartTLS, nil)
	c.expect(riakpb.StartTLS, nil)
	tc := tls.Client(c.conn, clientTLS())
	require.NoError(t, tc.SetDeadline(time.Now().Add(200*time.Millisecond)))
	err = tc.Handshake()
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout(), "want a timeout, got %v", err)
	require.Equal(t, 1, srv.Connections(), "the stalled connection is held open")

	require.NoError(t, srv.Close())
	require.Equal(t, 0, srv.Connections())
}

func TestStall(t *testing.T) {
	srv := start(t, riaktest.Options{Stall: true})
	c := dialRaw(t, srv.Addr())
	c.send(riakpb.PingReq, nil)
	_, _, err := c.recvErr(200 * time.Millisecond)
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout(), "want a timeout, got %v", err)
}

func TestCloseAbortsAuthFailureDelay(t *testing.T) {
	opts := secureOptions()
	opts.AuthFailureDelay = time.Hour
	srv, err := riaktest.Start(opts)
	require.NoError(t, err)
	c := dialRaw(t, srv.Addr())
	require.NoError(t, c.startTLS(clientTLS()))
	c.auth("pwuser", "wrong")
	require.Eventually(t, func() bool { return len(srv.AuthEvents()) == 1 }, ioTimeout, time.Millisecond)
	require.NoError(t, srv.Close()) // returns although the server is inside the delay
	_, _, err = c.recvErr(ioTimeout)
	require.Error(t, err)
}

func TestBadFrameClosesConnection(t *testing.T) {
	srv := start(t, riaktest.Options{})
	c := dialRaw(t, srv.Addr())
	_, err := c.conn.Write([]byte{0, 0, 0, 0})
	require.NoError(t, err)
	c.expectClosed()
}

// TestRiakGoClient drives the real riak-go-client through STARTTLS and each
// auth source. Only succeeding credentials go through it: on an auth failure
// it retries forever.
func TestRiakGoClient(t *testing.T) {
	riakuser, err := testPKI.Intermediate.Issue(pki.LeafOptions{CommonName: "riakuser", Client: true})
	require.NoError(t, err)
	srv := start(t, secureOptions())
	plain := start(t, riaktest.Options{})

	cases := []struct {
		name string
		srv  *riaktest.Server
		auth *riak.AuthOptions
	}{
		{"security off", plain, nil},
		{"password", srv, &riak.AuthOptions{User: "pwuser", Password: "s3cret", TlsConfig: clientTLS()}},
		{"trust", srv, &riak.AuthOptions{User: "trusted", Password: "whatever", TlsConfig: clientTLS()}},
		{"pam", srv, &riak.AuthOptions{User: "pamuser", Password: "pam-pass", TlsConfig: clientTLS()}},
		{"certificate", srv, &riak.AuthOptions{User: "riakuser", Password: "", TlsConfig: clientTLS(riakuser.TLSCertificate())}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			node, err := riak.NewNode(&riak.NodeOptions{
				RemoteAddress:  tc.srv.Addr(),
				MinConnections: 1,
				MaxConnections: 2,
				ConnectTimeout: ioTimeout,
				RequestTimeout: ioTimeout,
				AuthOptions:    tc.auth,
			})
			require.NoError(t, err)
			cluster, err := riak.NewCluster(&riak.ClusterOptions{Nodes: []*riak.Node{node}})
			require.NoError(t, err)
			require.NoError(t, cluster.Start())
			defer func() { require.NoError(t, cluster.Stop()) }()

			store, err := riak.NewStoreValueCommandBuilder().
				WithBucketType("default").WithBucket("b").WithKey(tc.name).
				WithContent(&riak.Object{ContentType: "text/plain", Value: []byte("value for " + tc.name)}).
				Build()
			require.NoError(t, err)
			require.NoError(t, cluster.Execute(store))

			fetch, err := riak.NewFetchValueCommandBuilder().WithBucket("b").WithKey(tc.name).Build()
			require.NoError(t, err)
			require.NoError(t, cluster.Execute(fetch))
			resp := fetch.(*riak.FetchValueCommand).Response
			require.False(t, resp.IsNotFound)
			require.Len(t, resp.Values, 1)
			require.Equal(t, "value for "+tc.name, string(resp.Values[0].Value))

			missing, err := riak.NewFetchValueCommandBuilder().WithBucket("b").WithKey("missing").Build()
			require.NoError(t, err)
			require.NoError(t, cluster.Execute(missing))
			require.True(t, missing.(*riak.FetchValueCommand).Response.IsNotFound)

			ping := &riak.PingCommand{}
			require.NoError(t, cluster.Execute(ping))
			require.True(t, ping.Success())

			v, ok := tc.srv.Value("", "b", tc.name)
			require.True(t, ok)
			require.Equal(t, "value for "+tc.name, string(v))
		})
	}
	for _, ev := range srv.AuthEvents() {
		require.True(t, ev.OK, "%+v", ev)
	}
	require.Len(t, srv.AuthEvents(), srv.Accepted(), "every connection authenticated exactly once")
}
