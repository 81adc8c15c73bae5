package factory_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/datastax/go-cassandra-native-protocol/primitive"
	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/factory/cassandra"
	"github.com/connfactory/connfactory/internal/leakcheck"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/cqltest"
	"github.com/connfactory/connfactory/testserver/pki"
)

const (
	cassUser     = "app"
	cassPassword = "cass-Pw!9 secret"
)

// cassLeakCheck verifies, after every other cleanup (server and sessions included), that
// the test left no goroutine behind, gocql's included. No goroutine is ignored.
func cassLeakCheck(t *testing.T) {
	t.Helper()
	leakcheck.Verify(t)
}

// cassEnv is a PKI and a cqltest server speaking TLS with it.
type cassEnv struct {
	set *pki.Set
	srv *cqltest.Server
}

func cassPKI(t testing.TB) *pki.Set {
	t.Helper()
	set, err := pki.NewSet()
	require.NoError(t, err)
	return set
}

func cassStart(t testing.TB, opts cqltest.Options) *cqltest.Server {
	t.Helper()
	srv, err := cqltest.Start(opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })
	return srv
}

// cassTLSServer starts a TLS + password server; mutate adjusts its options.
func cassTLSServer(t testing.TB, mutate ...func(*cqltest.Options)) cassEnv {
	t.Helper()
	set := cassPKI(t)
	opts := cqltest.Options{TLS: set.ServerTLSConfig(), Credentials: map[string]string{cassUser: cassPassword}}
	for _, m := range mutate {
		m(&opts)
	}
	return cassEnv{set: set, srv: cassStart(t, opts)}
}

// localhost is the server's address under the name its certificate carries.
func (e cassEnv) localhost() string { return "localhost:" + strconv.Itoa(e.srv.Port()) }

func cassMaterial(data []byte) schema.MaterialSource {
	return schema.MaterialSource{Base64: b64(data)}
}

func cassSecret(s string) *schema.SecretSource {
	return &schema.SecretSource{Value: schema.Secret(s)}
}

// cassTLS trusts set's root; with client, it presents set's client certificate.
func cassTLS(set *pki.Set, client bool) *schema.TLS {
	t := &schema.TLS{CA: []schema.MaterialSource{cassMaterial(set.Root.CertPEM())}}
	if client {
		cert, key := cassMaterial(set.Client.ChainPEM()), cassMaterial(set.Client.KeyPEM())
		t.Cert, t.Key = &cert, &key
	}
	return t
}

// cassProfile is a password profile over TLS for host.
func cassProfile(host string, tlsSec *schema.TLS) *schema.Profile {
	return &schema.Profile{
		Backend:        schema.Cassandra,
		Hosts:          []string{host},
		ConnectTimeout: schema.Duration(5 * time.Second),
		Timeout:        schema.Duration(5 * time.Second),
		Auth: &schema.Auth{Mechanism: schema.MechanismPassword, Username: cassUser,
			Password: cassSecret(cassPassword)},
		TLS: tlsSec,
	}
}

func cassConnector(t testing.TB, p *schema.Profile, opts ...factory.Option) *cassandra.Connector {
	t.Helper()
	log := &syncBuffer{} // shown when the test fails
	opts = append([]factory.Option{debugLogger(log)}, opts...)
	c, err := cassandra.New("cass_test", p, opts...)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, c.Close())
		if t.Failed() {
			t.Logf("connector log:\n%s", log.String())
		}
	})
	return c
}

func cassDial(t testing.TB, c *cassandra.Connector) *gocql.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := c.Dial(ctx)
	require.NoError(t, err)
	return s
}

func cassReleaseVersion(t testing.TB, s *gocql.Session) {
	t.Helper()
	var v string
	require.NoError(t, s.Query("SELECT release_version FROM system.local").Scan(&v))
	require.Equal(t, cqltest.DefaultReleaseVersion, v)
}

// cassDialErr dials and returns the error, which must be a classified *Error.
func cassDialErr(t testing.TB, c *cassandra.Connector) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := c.Dial(ctx)
	if s != nil {
		s.Close()
	}
	require.Error(t, err)
	var fe *factory.Error
	require.ErrorAs(t, err, &fe)
	return err
}

// cassDeadPort is a loopback port nothing listens on.
func cassDeadPort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

func TestCassandraDialPasswordTLS(t *testing.T) {
	cassLeakCheck(t)
	env := cassTLSServer(t)
	for _, host := range []string{env.localhost(), env.srv.Addr()} {
		t.Run(host, func(t *testing.T) {
			c := cassConnector(t, cassProfile(host, cassTLS(env.set, false)))
			s := cassDial(t, c)
			defer s.Close()
			cassReleaseVersion(t, s)
			require.Equal(t, cassUser, env.srv.LastAuthUser())
		})
	}
}

func TestCassandraDialMutualTLSPassword(t *testing.T) {
	cassLeakCheck(t)
	env := cassTLSServer(t, func(o *cqltest.Options) { o.TLS.ClientAuth = tls.RequireAndVerifyClientCert })
	c := cassConnector(t, cassProfile(env.localhost(), cassTLS(env.set, true)))
	s := cassDial(t, c)
	defer s.Close()
	cassReleaseVersion(t, s)

	r, err := c.Check(context.Background())
	require.NoError(t, err)
	require.NotNil(t, r.TLS.ClientCert)
	require.Equal(t, "CN=app", r.TLS.ClientCert.Subject)
}

func TestCassandraMutualTLSWithoutClientCert(t *testing.T) {
	cassLeakCheck(t)
	env := cassTLSServer(t, func(o *cqltest.Options) { o.TLS.ClientAuth = tls.RequireAndVerifyClientCert })
	for _, v := range []schema.TLSVersion{"1.2", "1.3"} {
		t.Run(string(v), func(t *testing.T) {
			sec := cassTLS(env.set, false)
			sec.MinVersion, sec.MaxVersion = v, v
			err := cassDialErr(t, cassConnector(t, cassProfile(env.localhost(), sec)))
			require.ErrorIs(t, err, factory.ErrTLSHandshake, "%v", err)
		})
	}
}

func TestCassandraSASLPlainAuthorizationID(t *testing.T) {
	cassLeakCheck(t)
	env := cassTLSServer(t)
	p := cassProfile(env.localhost(), cassTLS(env.set, false))
	p.Auth.Mechanism = schema.MechanismSASLPlain
	p.Auth.AuthorizationID = "reporting"
	c := cassConnector(t, p)
	s := cassDial(t, c)
	defer s.Close()
	cassReleaseVersion(t, s)
	require.Equal(t, cassUser, env.srv.LastAuthUser())
	require.Equal(t, "reporting", env.srv.LastAuthorizationID())
}

func TestCassandraSASLPlainDSENegotiation(t *testing.T) {
	cassLeakCheck(t)
	const dse = "com.datastax.bdp.cassandra.auth.DseAuthenticator"
	env := cassTLSServer(t, func(o *cqltest.Options) { o.Authenticator = dse })
	p := cassProfile(env.localhost(), cassTLS(env.set, false))
	p.Auth.Mechanism = schema.MechanismSASLPlain
	p.Auth.AuthorizationID = "reporting"
	p.Auth.AllowedAuthenticators = []string{dse}
	s := cassDial(t, cassConnector(t, p))
	defer s.Close()
	require.Equal(t, "reporting", env.srv.LastAuthorizationID())
}

func TestCassandraPerHostCredentials(t *testing.T) {
	cassLeakCheck(t)
	env := cassTLSServer(t, func(o *cqltest.Options) { o.Credentials = map[string]string{"dc2app": "dc2-pw"} })
	for _, match := range []string{"localhost", "127.0.0.1"} {
		t.Run(match, func(t *testing.T) {
			p := cassProfile(env.localhost(), cassTLS(env.set, false))
			// The default credentials are wrong for this server: only the per-host ones work.
			p.Auth.PerHost = []schema.HostCredentials{
				{Host: "db9.example", Username: "nobody", Password: cassSecret("x")},
				{Host: match, Username: "dc2app", Password: cassSecret("dc2-pw")},
			}
			c := cassConnector(t, p)
			s := cassDial(t, c)
			defer s.Close()
			require.Equal(t, "dc2app", env.srv.LastAuthUser())
			r, err := c.Check(context.Background())
			require.NoError(t, err)
			require.Equal(t, "dc2app", r.Auth.Username)
		})
	}
}

func TestCassandraProtocolVersions(t *testing.T) {
	cassLeakCheck(t)
	all := []primitive.ProtocolVersion{3, 4, 5}
	cases := []struct {
		server  []primitive.ProtocolVersion
		profile int
		want    int
	}{
		{all, 3, 3}, {all, 4, 4}, {all, 5, 5},
		{all, 0, 5},
		{[]primitive.ProtocolVersion{3, 4}, 0, 4},
		{[]primitive.ProtocolVersion{3}, 0, 3},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("profile%d-server%v", tc.profile, tc.server),
			func(t *testing.T) {
				env := cassTLSServer(t, func(o *cqltest.Options) { o.ProtocolVersions = tc.server })
				p := cassProfile(env.localhost(), cassTLS(env.set, false))
				p.ProtocolVersion = tc.profile
				c := cassConnector(t, p)
				s := cassDial(t, c)
				cassReleaseVersion(t, s)
				s.Close()
				r, err := c.Check(context.Background())
				require.NoError(t, err)
				require.Equal(t, tc.want, r.Server.ProtocolVersion)
			})
	}
}

func TestCassandraCheckReport(t *testing.T) {
	cassLeakCheck(t)
	env := cassTLSServer(t)
	c := cassConnector(t, cassProfile(env.localhost(), cassTLS(env.set, false)))
	r, err := c.Check(context.Background())
	require.NoError(t, err)
	require.True(t, r.OK)
	require.Nil(t, r.Error)
	require.Equal(t, "cass_test", r.Profile)
	require.Equal(t, "cassandra", r.Backend)
	require.True(t, r.TLS.Enabled)
	require.Equal(t, "verify-full", r.TLS.Mode)
	require.Equal(t, "localhost", r.TLS.ServerName)
	require.Contains(t, []string{"TLS 1.2", "TLS 1.3"}, r.TLS.Version)
	require.NotEmpty(t, r.TLS.Cipher)
	require.NotEmpty(t, r.TLS.PeerChain)
	require.Equal(t, "CN=localhost", r.TLS.PeerChain[0].Subject)
	require.Greater(t, r.TLS.PeerChain[0].DaysLeft, 300)
	require.Equal(t, AuthOK(), r.Auth)
	require.Equal(t, cqltest.DefaultReleaseVersion, r.Server.Version)
	require.Equal(t, env.localhost(), r.Server.Address)
	require.Equal(t, 5, r.Server.ProtocolVersion)
	require.Greater(t, r.LatencyMS, 0.0)
}

// AuthOK is the auth report of a successful password login as cassUser.
func AuthOK() factory.AuthReport {
	return factory.AuthReport{Mechanism: "password", Username: cassUser,
		Authenticator: cqltest.PasswordAuthenticator, Result: "ok"}
}

func TestCassandraCheckPlaintextNoAuth(t *testing.T) {
	cassLeakCheck(t)
	srv := cassStart(t, cqltest.Options{})
	c := cassConnector(t, &schema.Profile{Backend: schema.Cassandra, Hosts: []string{srv.Addr()}})
	r, err := c.Check(context.Background())
	require.NoError(t, err)
	require.False(t, r.TLS.Enabled)
	require.Equal(t, factory.AuthReport{Mechanism: "none", Result: "none"}, r.Auth)
	require.Equal(t, cqltest.DefaultReleaseVersion, r.Server.Version)
}

// TestCassandraCheckEveryHost: Check dials every configured host and passes only when all
// do; the report describes the host that passed and lists each.
func TestCassandraCheckEveryHost(t *testing.T) {
	cassLeakCheck(t)
	env := cassTLSServer(t)
	c := cassConnector(t, cassProfile(cassDeadPort(t), cassTLS(env.set, false)))
	r, err := c.Check(context.Background())
	require.ErrorIs(t, err, factory.ErrUnreachable)
	require.False(t, r.OK)
	require.Equal(t, "unreachable", r.Error.Kind)

	require.Len(t, r.Hosts, 1)

	dead := cassDeadPort(t)
	p := cassProfile(dead, cassTLS(env.set, false))
	p.Hosts = append(p.Hosts, env.localhost())
	r, err = cassConnector(t, p).Check(context.Background())
	require.ErrorIs(t, err, factory.ErrUnreachable)
	require.False(t, r.OK)
	require.Equal(t, env.localhost(), r.Server.Address, "the report describes the host that passed")
	require.Equal(t, cqltest.DefaultReleaseVersion, r.Server.Version)
	require.Len(t, r.Hosts, 2)
	require.Equal(t, factory.HostReport{Address: dead, Source: "configured", OK: false,
		TLS:   &factory.HostTLS{ServerName: "127.0.0.1"},
		Error: &factory.ErrorReport{Kind: "unreachable", Message: r.Hosts[0].Error.Message}}, r.Hosts[0])
	require.Contains(t, r.Hosts[0].Error.Message, dead)
	ok := r.Hosts[1]
	require.Equal(t, env.localhost(), ok.Address)
	require.True(t, ok.OK)
	require.Equal(t, cqltest.DefaultDatacenter, ok.Datacenter)
	require.Equal(t, "localhost", ok.TLS.ServerName)
	require.NotEmpty(t, ok.TLS.Version)
	require.Nil(t, ok.Error)

	p = cassProfile(env.localhost(), cassTLS(env.set, false))
	p.Hosts = append(p.Hosts, env.srv.Addr())
	r, err = cassConnector(t, p).Check(context.Background())
	require.NoError(t, err)
	require.True(t, r.OK)
	require.Len(t, r.Hosts, 2)
	require.True(t, r.Hosts[0].OK && r.Hosts[1].OK)
}

func TestCassandraFailureKinds(t *testing.T) {
	cassLeakCheck(t)
	env := cassTLSServer(t)
	set := env.set

	serverWith := func(t *testing.T, leaf *pki.Leaf) cassEnv {
		cfg := set.ServerTLSConfig()
		cfg.Certificates = []tls.Certificate{leaf.TLSCertificate()}
		return cassEnv{set: set, srv: cassStart(t, cqltest.Options{TLS: cfg,
			Credentials: map[string]string{cassUser: cassPassword}})}
	}
	issue := func(t *testing.T, o pki.LeafOptions) *pki.Leaf {
		l, err := set.Intermediate.Issue(o)
		require.NoError(t, err)
		return l
	}
	localhostLeaf := pki.LeafOptions{CommonName: "localhost", DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, Server: true}

	cases := []struct {
		name    string
		profile func(t *testing.T) *schema.Profile
		want    error
		message string
	}{
		{"wrong password", func(t *testing.T) *schema.Profile {
			p := cassProfile(env.localhost(), cassTLS(set, false))
			p.Auth.Password = cassSecret("wrong")
			return p
		}, factory.ErrAuthFailed, "and/or password are incorrect"},
		{"unknown user", func(t *testing.T) *schema.Profile {
			p := cassProfile(env.localhost(), cassTLS(set, false))
			p.Auth.Username = "mallory"
			return p
		}, factory.ErrAuthFailed, "mallory"},
		{"no credentials", func(t *testing.T) *schema.Profile {
			p := cassProfile(env.localhost(), cassTLS(set, false))
			p.Auth = nil
			return p
		}, factory.ErrAuthRequired, "auth.mechanism none"},
		{"authenticator not allowed", func(t *testing.T) *schema.Profile {
			other := cassStart(t, cqltest.Options{TLS: set.ServerTLSConfig(), Authenticator: "com.example.LDAPAuthenticator",
				Credentials: map[string]string{cassUser: cassPassword}})
			return cassProfile("localhost:"+strconv.Itoa(other.Port()), cassTLS(set, false))
		}, factory.ErrAuthFailed, "com.example.LDAPAuthenticator is not in auth.allowed_authenticators"},
		{"untrusted", func(t *testing.T) *schema.Profile {
			sec := cassTLS(set, false)
			sec.CA = []schema.MaterialSource{cassMaterial(set.OtherRoot.CertPEM())}
			return cassProfile(env.localhost(), sec)
		}, factory.ErrTLSUntrusted, ""},
		{"hostname", func(t *testing.T) *schema.Profile {
			sec := cassTLS(set, false)
			sec.ServerName = "db.example"
			return cassProfile(env.localhost(), sec)
		}, factory.ErrTLSHostname, "db.example"},
		{"hostname of an IP host", func(t *testing.T) *schema.Profile {
			srv := serverWith(t, issue(t, pki.LeafOptions{CommonName: "localhost", DNSNames: []string{"localhost"}, Server: true}))
			return cassProfile(srv.srv.Addr(), cassTLS(set, false))
		}, factory.ErrTLSHostname, "127.0.0.1"},
		{"expired", func(t *testing.T) *schema.Profile {
			srv := serverWith(t, issue(t, localhostLeaf.Expired()))
			return cassProfile(srv.localhost(), cassTLS(set, false))
		}, factory.ErrTLSExpired, ""},
		{"revoked", func(t *testing.T) *schema.Profile {
			crl, err := set.Intermediate.CRLPEM(pki.CRLOptions{Revoked: []*big.Int{set.Server.Serial()}})
			require.NoError(t, err)
			sec := cassTLS(set, false)
			sec.CA = append(sec.CA, cassMaterial(set.Intermediate.CertPEM()))
			sec.CRL = []schema.MaterialSource{cassMaterial(crl)}
			return cassProfile(env.localhost(), sec)
		}, factory.ErrTLSRevoked, ""},
		{"no TLS version in common", func(t *testing.T) *schema.Profile {
			cfg := set.ServerTLSConfig()
			cfg.MaxVersion = tls.VersionTLS12
			srv := cassStart(t, cqltest.Options{TLS: cfg})
			sec := cassTLS(set, false)
			sec.MinVersion = "1.3"
			return cassProfile("localhost:"+strconv.Itoa(srv.Port()), sec)
		}, factory.ErrTLSHandshake, ""},
		{"plaintext to a TLS server", func(t *testing.T) *schema.Profile {
			p := cassProfile(env.localhost(), nil)
			p.ConnectTimeout = schema.Duration(time.Second)
			return p
		}, nil, ""}, // kind checked below: the server never answers a plaintext OPTIONS
		{"refused", func(t *testing.T) *schema.Profile {
			return cassProfile(cassDeadPort(t), cassTLS(set, false))
		}, factory.ErrUnreachable, ""},
		{"unknown host", func(t *testing.T) *schema.Profile {
			return cassProfile("no-such-host.invalid:9042", cassTLS(set, false))
		}, factory.ErrUnreachable, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := cassConnector(t, tc.profile(t))
			err := cassDialErr(t, c)
			if tc.want == nil {
				require.NotEqual(t, factory.Kind("unknown"), factory.KindOf(err), "%v", err)
				return
			}
			require.ErrorIs(t, err, tc.want, "%v", err)
			require.Contains(t, err.Error(), tc.message)
			require.NotContains(t, err.Error(), cassPassword)

			r, cerr := c.Check(context.Background())
			require.ErrorIs(t, cerr, tc.want, "%v", cerr)
			require.False(t, r.OK)
			require.Equal(t, strings.TrimPrefix(tc.want.Error(), "factory: "), r.Error.Kind)
			if errors.Is(tc.want, factory.ErrAuthFailed) || errors.Is(tc.want, factory.ErrAuthRequired) {
				require.Equal(t, "failed", r.Auth.Result)
			}
		})
	}
}

func TestCassandraAuthenticatorNotAllowedSendsNoCredentials(t *testing.T) {
	cassLeakCheck(t)
	env := cassTLSServer(t, func(o *cqltest.Options) { o.Authenticator = "com.example.Sniffer" })
	err := cassDialErr(t, cassConnector(t, cassProfile(env.localhost(), cassTLS(env.set, false))))
	require.ErrorIs(t, err, factory.ErrAuthFailed)
	require.Empty(t, env.srv.LastAuthUser())
}

func TestCassandraStalledServerTimesOut(t *testing.T) {
	cassLeakCheck(t)
	set := cassPKI(t)
	srv := cassStart(t, cqltest.Options{Stall: true})
	const connectTimeout = 300 * time.Millisecond
	for _, sec := range []*schema.TLS{cassTLS(set, false), nil} {
		name := "plaintext"
		if sec != nil {
			name = "tls"
		}
		t.Run(name, func(t *testing.T) {
			p := cassProfile(srv.Addr(), sec)
			p.ConnectTimeout = schema.Duration(connectTimeout)
			c := cassConnector(t, p)
			err := cassDialErr(t, c)
			require.ErrorIs(t, err, factory.ErrTimeout, "%v", err)
			// connect_timeout, not the caller's 10 s context, ended the dial: the error
			// says which (no wall-time bound: that would be a timing assertion).
			require.ErrorContains(t, err, "within connect_timeout 300ms")
			require.NotContains(t, err.Error(), "context deadline exceeded")
		})
	}
}

func TestCassandraDialBoundedByContext(t *testing.T) {
	cassLeakCheck(t)
	srv := cassStart(t, cqltest.Options{Stall: true})
	set := cassPKI(t)
	c := cassConnector(t, cassProfile(srv.Addr(), cassTLS(set, false))) // connect_timeout 5s
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	s, err := c.Dial(ctx)
	require.Nil(t, s)
	require.ErrorIs(t, err, factory.ErrTimeout)
	// The caller's deadline ended the dial, not connect_timeout (5 s): the error says which
	// (a wall-time bound would be a timing assertion).
	require.ErrorContains(t, err, "connection setup stopped: context deadline exceeded")
	require.NotContains(t, err.Error(), "connect_timeout")

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	_, err = c.Dial(ctx)
	require.ErrorIs(t, err, factory.ErrTimeout)
	r, err := c.Check(ctx)
	require.ErrorIs(t, err, factory.ErrTimeout)
	require.False(t, r.OK)
}

func TestCassandraLocalDatacenterKeyspace(t *testing.T) {
	cassLeakCheck(t)
	env := cassTLSServer(t)
	p := cassProfile(env.localhost(), cassTLS(env.set, false))
	p.LocalDatacenter, p.Keyspace, p.Consistency = cqltest.DefaultDatacenter, "app", "local_one"
	s := cassDial(t, cassConnector(t, p))
	defer s.Close()
	cassReleaseVersion(t, s)
}

func TestCassandraSessionOutlivesDialContext(t *testing.T) {
	cassLeakCheck(t)
	env := cassTLSServer(t)
	c := cassConnector(t, cassProfile(env.localhost(), cassTLS(env.set, false)))
	ctx, cancel := context.WithCancel(context.Background())
	s, err := c.Dial(ctx)
	require.NoError(t, err)
	defer s.Close()
	cancel()
	for i := 0; i < 3; i++ {
		cassReleaseVersion(t, s)
	}
}

func TestCassandraReloadReachesNewConnections(t *testing.T) {
	cassLeakCheck(t)
	env := cassTLSServer(t)
	bad := cassTLS(env.set, false)
	bad.CA = []schema.MaterialSource{cassMaterial(env.set.OtherRoot.CertPEM())}
	c := cassConnector(t, cassProfile(env.localhost(), bad))
	require.ErrorIs(t, cassDialErr(t, c), factory.ErrTLSUntrusted)

	_, err := update(c.TLS(), cassTLS(env.set, false))
	require.NoError(t, err)
	s := cassDial(t, c)
	defer s.Close()
	cassReleaseVersion(t, s)
}

func TestCassandraClusterConfig(t *testing.T) {
	set := cassPKI(t)
	p := cassProfile("db1.example", cassTLS(set, false))
	p.Hosts = append(p.Hosts, "10.0.0.7:9142", "[::1]:9043")
	p.Keyspace, p.LocalDatacenter, p.ProtocolVersion = "app", "dc1", 4
	p.ConnectTimeout, p.Timeout = schema.Duration(3*time.Second), schema.Duration(time.Second)
	c := cassConnector(t, p)
	a, b := c.ClusterConfig(), c.ClusterConfig()
	require.NotSame(t, a, b)
	require.NotSame(t, a.PoolConfig.HostSelectionPolicy, b.PoolConfig.HostSelectionPolicy)
	require.Equal(t, []string{"db1.example:9042", "10.0.0.7:9142", "[::1]:9043"}, a.Hosts)
	require.Equal(t, 9042, a.Port)
	require.Equal(t, "app", a.Keyspace)
	require.Equal(t, 4, a.ProtoVersion)
	require.Equal(t, gocql.LocalQuorum, a.Consistency)
	require.Equal(t, 3*time.Second, a.ConnectTimeout)
	require.Equal(t, time.Second, a.Timeout)
	require.NotNil(t, a.HostDialer)
	require.NotNil(t, a.AuthProvider)
	require.Nil(t, a.Authenticator)

	p2 := cassProfile("db1.example", nil)
	p2.Consistency = "ONE"
	c2, err := cassandra.New("plain", p2)
	require.NoError(t, err)
	require.Equal(t, gocql.One, c2.ClusterConfig().Consistency)
	require.Equal(t, 5*time.Second, c2.ClusterConfig().ConnectTimeout)
	var ws []string
	for _, w := range c2.Warnings() {
		ws = append(ws, w.String())
	}
	require.Contains(t, strings.Join(ws, "\n"), "travel in plaintext")
}

func TestCassandraConfigErrors(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(p *schema.Profile)
		path   string
	}{
		{"protocol 2", func(p *schema.Profile) { p.ProtocolVersion = 2 }, "profiles.bad.protocol_version"},
		{"no hosts", func(p *schema.Profile) { p.Hosts = nil }, "profiles.bad.hosts"},
		{"bad port", func(p *schema.Profile) { p.Hosts = []string{"db:99999"} }, "profiles.bad.hosts[0]"},
		{"consistency", func(p *schema.Profile) { p.Consistency = "serial" }, "profiles.bad.consistency"},
		{"mechanism", func(p *schema.Profile) { p.Auth.Mechanism = schema.MechanismPAM }, "profiles.bad.auth.mechanism"},
		{"no password", func(p *schema.Profile) { p.Auth.Password = nil }, "profiles.bad.auth.password"},
		{"per_host without host", func(p *schema.Profile) {
			p.Auth.PerHost = []schema.HostCredentials{{Username: "u", Password: cassSecret("p")}}
		}, "profiles.bad.auth.per_host[0].host"},
		{"backend", func(p *schema.Profile) { p.Backend = schema.Riak }, "profiles.bad.backend"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := cassProfile("db1.example", nil)
			tc.mutate(p)
			c, err := cassandra.New("bad", p)
			require.Nil(t, c)
			require.ErrorIs(t, err, factory.ErrConfig)
			require.ErrorIs(t, err, schema.ErrInvalid)
			require.Contains(t, err.Error(), tc.path)
		})
	}
	// TLS problems and the connector's own are reported together.
	p := cassProfile("db1.example", &schema.TLS{CA: []schema.MaterialSource{cassMaterial([]byte("not pem"))}})
	p.ProtocolVersion = 1
	_, err := cassandra.New("bad", p)
	require.ErrorIs(t, err, factory.ErrConfig)
	require.Contains(t, err.Error(), "profiles.bad.protocol_version")
	require.Contains(t, err.Error(), "profiles.bad.tls.ca")
}

func TestCassandraClosedConnector(t *testing.T) {
	c, err := cassandra.New("x", cassProfile("127.0.0.1", nil))
	require.NoError(t, err)
	require.NoError(t, c.Close())
	_, err = c.Dial(context.Background())
	require.Error(t, err)
	var conn factory.Connector = c
	require.Equal(t, "x", conn.Name())
	require.Equal(t, schema.Cassandra, conn.Backend())
}
