package cassandra_test

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
	"github.com/connfactory/connfactory/internal/factorytest"
	"github.com/connfactory/connfactory/internal/factorytest/cassenv"
	"github.com/connfactory/connfactory/internal/leakcheck"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/cqltest"
	"github.com/connfactory/connfactory/testserver/pki"
)

func TestCassandraDialPasswordTLS(t *testing.T) {
	leakcheck.Verify(t)
	env := cassenv.TLSServer(t)
	for _, host := range []string{env.Localhost(), env.Srv.Addr()} {
		t.Run(host, func(t *testing.T) {
			c := cassenv.Connector(t, cassenv.Profile(host, cassenv.TLS(env.Set, false)))
			s := cassenv.Dial(t, c)
			defer s.Close()
			cassenv.ReleaseVersion(t, s)
			require.Equal(t, cassenv.User, env.Srv.LastAuthUser())
		})
	}
}

func TestCassandraDialMutualTLSPassword(t *testing.T) {
	leakcheck.Verify(t)
	env := cassenv.TLSServer(t, func(o *cqltest.Options) { o.TLS.ClientAuth = tls.RequireAndVerifyClientCert })
	c := cassenv.Connector(t, cassenv.Profile(env.Localhost(), cassenv.TLS(env.Set, true)))
	s := cassenv.Dial(t, c)
	defer s.Close()
	cassenv.ReleaseVersion(t, s)

	r, err := c.Check(context.Background())
	require.NoError(t, err)
	require.NotNil(t, r.TLS.ClientCert)
	require.Equal(t, "CN=app", r.TLS.ClientCert.Subject)
}

func TestCassandraMutualTLSWithoutClientCert(t *testing.T) {
	leakcheck.Verify(t)
	env := cassenv.TLSServer(t, func(o *cqltest.Options) { o.TLS.ClientAuth = tls.RequireAndVerifyClientCert })
	for _, v := range []schema.TLSVersion{"1.2", "1.3"} {
		t.Run(string(v), func(t *testing.T) {
			sec := cassenv.TLS(env.Set, false)
			sec.MinVersion, sec.MaxVersion = v, v
			err := cassenv.DialErr(t, cassenv.Connector(t, cassenv.Profile(env.Localhost(), sec)))
			require.ErrorIs(t, err, factory.ErrTLSHandshake, "%v", err)
		})
	}
}

func TestCassandraSASLPlainAuthorizationID(t *testing.T) {
	leakcheck.Verify(t)
	env := cassenv.TLSServer(t)
	p := cassenv.Profile(env.Localhost(), cassenv.TLS(env.Set, false))
	p.Auth.Mechanism = schema.MechanismSASLPlain
	p.Auth.AuthorizationID = "reporting"
	c := cassenv.Connector(t, p)
	s := cassenv.Dial(t, c)
	defer s.Close()
	cassenv.ReleaseVersion(t, s)
	require.Equal(t, cassenv.User, env.Srv.LastAuthUser())
	require.Equal(t, "reporting", env.Srv.LastAuthorizationID())
}

func TestCassandraSASLPlainDSENegotiation(t *testing.T) {
	leakcheck.Verify(t)
	const dse = "com.datastax.bdp.cassandra.auth.DseAuthenticator"
	env := cassenv.TLSServer(t, func(o *cqltest.Options) { o.Authenticator = dse })
	p := cassenv.Profile(env.Localhost(), cassenv.TLS(env.Set, false))
	p.Auth.Mechanism = schema.MechanismSASLPlain
	p.Auth.AuthorizationID = "reporting"
	p.Auth.AllowedAuthenticators = []string{dse}
	s := cassenv.Dial(t, cassenv.Connector(t, p))
	defer s.Close()
	require.Equal(t, "reporting", env.Srv.LastAuthorizationID())
}

func TestCassandraPerHostCredentials(t *testing.T) {
	leakcheck.Verify(t)
	env := cassenv.TLSServer(t, func(o *cqltest.Options) { o.Credentials = map[string]string{"dc2app": "dc2-pw"} })
	for _, match := range []string{"localhost", "127.0.0.1"} {
		t.Run(match, func(t *testing.T) {
			p := cassenv.Profile(env.Localhost(), cassenv.TLS(env.Set, false))
			// The default credentials are wrong for this server: only the per-host ones work.
			p.Auth.PerHost = []schema.HostCredentials{
				{Host: "db9.example", Username: "nobody", Password: factorytest.Secret("x")},
				{Host: match, Username: "dc2app", Password: factorytest.Secret("dc2-pw")},
			}
			c := cassenv.Connector(t, p)
			s := cassenv.Dial(t, c)
			defer s.Close()
			require.Equal(t, "dc2app", env.Srv.LastAuthUser())
			r, err := c.Check(context.Background())
			require.NoError(t, err)
			require.Equal(t, "dc2app", r.Auth.Username)
		})
	}
}

func TestCassandraProtocolVersions(t *testing.T) {
	leakcheck.Verify(t)
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
				env := cassenv.TLSServer(t, func(o *cqltest.Options) { o.ProtocolVersions = tc.server })
				p := cassenv.Profile(env.Localhost(), cassenv.TLS(env.Set, false))
				p.ProtocolVersion = tc.profile
				c := cassenv.Connector(t, p)
				s := cassenv.Dial(t, c)
				cassenv.ReleaseVersion(t, s)
				s.Close()
				r, err := c.Check(context.Background())
				require.NoError(t, err)
				require.Equal(t, tc.want, r.Server.ProtocolVersion)
			})
	}
}

func TestCassandraCheckReport(t *testing.T) {
	leakcheck.Verify(t)
	env := cassenv.TLSServer(t)
	c := cassenv.Connector(t, cassenv.Profile(env.Localhost(), cassenv.TLS(env.Set, false)))
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
	require.Equal(t, env.Localhost(), r.Server.Address)
	require.Equal(t, 5, r.Server.ProtocolVersion)
	require.Greater(t, r.LatencyMS, 0.0)
}

// AuthOK is the auth report of a successful password login as cassUser.
func AuthOK() factory.AuthReport {
	return factory.AuthReport{Mechanism: "password", Username: cassenv.User,
		Authenticator: cqltest.PasswordAuthenticator, Result: "ok"}
}

func TestCassandraCheckPlaintextNoAuth(t *testing.T) {
	leakcheck.Verify(t)
	srv := cassenv.Start(t, cqltest.Options{})
	c := cassenv.Connector(t, &schema.Profile{Backend: schema.Cassandra, Hosts: []string{srv.Addr()}})
	r, err := c.Check(context.Background())
	require.NoError(t, err)
	require.False(t, r.TLS.Enabled)
	require.Equal(t, factory.AuthReport{Mechanism: "none", Result: "none"}, r.Auth)
	require.Equal(t, cqltest.DefaultReleaseVersion, r.Server.Version)
}

// TestCassandraCheckEveryHost: Check dials every configured host and passes only when all
// do; the report describes the host that passed and lists each.
func TestCassandraCheckEveryHost(t *testing.T) {
	leakcheck.Verify(t)
	env := cassenv.TLSServer(t)
	c := cassenv.Connector(t, cassenv.Profile(factorytest.DeadAddr(t), cassenv.TLS(env.Set, false)))
	r, err := c.Check(context.Background())
	require.ErrorIs(t, err, factory.ErrUnreachable)
	require.False(t, r.OK)
	require.Equal(t, "unreachable", r.Error.Kind)

	require.Len(t, r.Hosts, 1)

	dead := factorytest.DeadAddr(t)
	p := cassenv.Profile(dead, cassenv.TLS(env.Set, false))
	p.Hosts = append(p.Hosts, env.Localhost())
	r, err = cassenv.Connector(t, p).Check(context.Background())
	require.ErrorIs(t, err, factory.ErrUnreachable)
	require.False(t, r.OK)
	require.Equal(t, env.Localhost(), r.Server.Address, "the report describes the host that passed")
	require.Equal(t, cqltest.DefaultReleaseVersion, r.Server.Version)
	require.Len(t, r.Hosts, 2)
	require.Equal(t, factory.HostReport{Address: dead, Source: "configured", OK: false,
		TLS:   &factory.HostTLS{ServerName: "127.0.0.1"},
		Error: &factory.ErrorReport{Kind: "unreachable", Message: r.Hosts[0].Error.Message}}, r.Hosts[0])
	require.Contains(t, r.Hosts[0].Error.Message, dead)
	ok := r.Hosts[1]
	require.Equal(t, env.Localhost(), ok.Address)
	require.True(t, ok.OK)
	require.Equal(t, cqltest.DefaultDatacenter, ok.Datacenter)
	require.Equal(t, "localhost", ok.TLS.ServerName)
	require.NotEmpty(t, ok.TLS.Version)
	require.Nil(t, ok.Error)

	p = cassenv.Profile(env.Localhost(), cassenv.TLS(env.Set, false))
	p.Hosts = append(p.Hosts, env.Srv.Addr())
	r, err = cassenv.Connector(t, p).Check(context.Background())
	require.NoError(t, err)
	require.True(t, r.OK)
	require.Len(t, r.Hosts, 2)
	require.True(t, r.Hosts[0].OK && r.Hosts[1].OK)
}

func TestCassandraFailureKinds(t *testing.T) {
	leakcheck.Verify(t)
	env := cassenv.TLSServer(t)
	set := env.Set

	serverWith := func(t *testing.T, leaf *pki.Leaf) cassenv.Env {
		cfg := set.ServerTLSConfig()
		cfg.Certificates = []tls.Certificate{leaf.TLSCertificate()}
		return cassenv.Env{Set: set, Srv: cassenv.Start(t, cqltest.Options{TLS: cfg,
			Credentials: map[string]string{cassenv.User: cassenv.Password}})}
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
			p := cassenv.Profile(env.Localhost(), cassenv.TLS(set, false))
			p.Auth.Password = factorytest.Secret("wrong")
			return p
		}, factory.ErrAuthFailed, "and/or password are incorrect"},
		{"unknown user", func(t *testing.T) *schema.Profile {
			p := cassenv.Profile(env.Localhost(), cassenv.TLS(set, false))
			p.Auth.Username = "mallory"
			return p
		}, factory.ErrAuthFailed, "mallory"},
		{"no credentials", func(t *testing.T) *schema.Profile {
			p := cassenv.Profile(env.Localhost(), cassenv.TLS(set, false))
			p.Auth = nil
			return p
		}, factory.ErrAuthRequired, "auth.mechanism none"},
		{"authenticator not allowed", func(t *testing.T) *schema.Profile {
			other := cassenv.Start(t, cqltest.Options{TLS: set.ServerTLSConfig(), Authenticator: "com.example.LDAPAuthenticator",
				Credentials: map[string]string{cassenv.User: cassenv.Password}})
			return cassenv.Profile("localhost:"+strconv.Itoa(other.Port()), cassenv.TLS(set, false))
		}, factory.ErrAuthFailed, "com.example.LDAPAuthenticator is not in auth.allowed_authenticators"},
		{"untrusted", func(t *testing.T) *schema.Profile {
			sec := cassenv.TLS(set, false)
			sec.CA = []schema.MaterialSource{cassenv.Material(set.OtherRoot.CertPEM())}
			return cassenv.Profile(env.Localhost(), sec)
		}, factory.ErrTLSUntrusted, ""},
		{"hostname", func(t *testing.T) *schema.Profile {
			sec := cassenv.TLS(set, false)
			sec.ServerName = "db.example"
			return cassenv.Profile(env.Localhost(), sec)
		}, factory.ErrTLSHostname, "db.example"},
		{"hostname of an IP host", func(t *testing.T) *schema.Profile {
			srv := serverWith(t, issue(t, pki.LeafOptions{CommonName: "localhost", DNSNames: []string{"localhost"}, Server: true}))
			return cassenv.Profile(srv.Srv.Addr(), cassenv.TLS(set, false))
		}, factory.ErrTLSHostname, "127.0.0.1"},
		{"expired", func(t *testing.T) *schema.Profile {
			srv := serverWith(t, issue(t, localhostLeaf.Expired()))
			return cassenv.Profile(srv.Localhost(), cassenv.TLS(set, false))
		}, factory.ErrTLSExpired, ""},
		{"revoked", func(t *testing.T) *schema.Profile {
			crl, err := set.Intermediate.CRLPEM(pki.CRLOptions{Revoked: []*big.Int{set.Server.Serial()}})
			require.NoError(t, err)
			sec := cassenv.TLS(set, false)
			sec.CA = append(sec.CA, cassenv.Material(set.Intermediate.CertPEM()))
			sec.CRL = []schema.MaterialSource{cassenv.Material(crl)}
			return cassenv.Profile(env.Localhost(), sec)
		}, factory.ErrTLSRevoked, ""},
		{"no TLS version in common", func(t *testing.T) *schema.Profile {
			cfg := set.ServerTLSConfig()
			cfg.MaxVersion = tls.VersionTLS12
			srv := cassenv.Start(t, cqltest.Options{TLS: cfg})
			sec := cassenv.TLS(set, false)
			sec.MinVersion = "1.3"
			return cassenv.Profile("localhost:"+strconv.Itoa(srv.Port()), sec)
		}, factory.ErrTLSHandshake, ""},
		{"plaintext to a TLS server", func(t *testing.T) *schema.Profile {
			p := cassenv.Profile(env.Localhost(), nil)
			p.ConnectTimeout = schema.Duration(time.Second)
			return p
		}, nil, ""}, // kind checked below: the server never answers a plaintext OPTIONS
		{"refused", func(t *testing.T) *schema.Profile {
			return cassenv.Profile(factorytest.DeadAddr(t), cassenv.TLS(set, false))
		}, factory.ErrUnreachable, ""},
		{"unknown host", func(t *testing.T) *schema.Profile {
			return cassenv.Profile("no-such-host.invalid:9042", cassenv.TLS(set, false))
		}, factory.ErrUnreachable, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := cassenv.Connector(t, tc.profile(t))
			err := cassenv.DialErr(t, c)
			if tc.want == nil {
				require.NotEqual(t, factory.Kind("unknown"), factory.KindOf(err), "%v", err)
				return
			}
			require.ErrorIs(t, err, tc.want, "%v", err)
			require.Contains(t, err.Error(), tc.message)
			require.NotContains(t, err.Error(), cassenv.Password)

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
	leakcheck.Verify(t)
	env := cassenv.TLSServer(t, func(o *cqltest.Options) { o.Authenticator = "com.example.Sniffer" })
	err := cassenv.DialErr(t, cassenv.Connector(t, cassenv.Profile(env.Localhost(), cassenv.TLS(env.Set, false))))
	require.ErrorIs(t, err, factory.ErrAuthFailed)
	require.Empty(t, env.Srv.LastAuthUser())
}

func TestCassandraStalledServerTimesOut(t *testing.T) {
	leakcheck.Verify(t)
	set := factorytest.NewPKI(t)
	srv := cassenv.Start(t, cqltest.Options{Stall: true})
	const connectTimeout = 300 * time.Millisecond
	for _, sec := range []*schema.TLS{cassenv.TLS(set, false), nil} {
		name := "plaintext"
		if sec != nil {
			name = "tls"
		}
		t.Run(name, func(t *testing.T) {
			p := cassenv.Profile(srv.Addr(), sec)
			p.ConnectTimeout = schema.Duration(connectTimeout)
			c := cassenv.Connector(t, p)
			err := cassenv.DialErr(t, c)
			require.ErrorIs(t, err, factory.ErrTimeout, "%v", err)
			// connect_timeout, not the caller's 10 s context, ended the dial: the error
			// says which (no wall-time bound: that would be a timing assertion).
			require.ErrorContains(t, err, "within connect_timeout 300ms")
			require.NotContains(t, err.Error(), "context deadline exceeded")
		})
	}
}

func TestCassandraDialBoundedByContext(t *testing.T) {
	leakcheck.Verify(t)
	srv := cassenv.Start(t, cqltest.Options{Stall: true})
	set := factorytest.NewPKI(t)
	c := cassenv.Connector(t, cassenv.Profile(srv.Addr(), cassenv.TLS(set, false))) // connect_timeout 5s
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
	leakcheck.Verify(t)
	env := cassenv.TLSServer(t)
	p := cassenv.Profile(env.Localhost(), cassenv.TLS(env.Set, false))
	p.LocalDatacenter, p.Keyspace, p.Consistency = cqltest.DefaultDatacenter, "app", "local_one"
	s := cassenv.Dial(t, cassenv.Connector(t, p))
	defer s.Close()
	cassenv.ReleaseVersion(t, s)
}

func TestCassandraSessionOutlivesDialContext(t *testing.T) {
	leakcheck.Verify(t)
	env := cassenv.TLSServer(t)
	c := cassenv.Connector(t, cassenv.Profile(env.Localhost(), cassenv.TLS(env.Set, false)))
	ctx, cancel := context.WithCancel(context.Background())
	s, err := c.Dial(ctx)
	require.NoError(t, err)
	defer s.Close()
	cancel()
	for i := 0; i < 3; i++ {
		cassenv.ReleaseVersion(t, s)
	}
}

func TestCassandraReloadReachesNewConnections(t *testing.T) {
	leakcheck.Verify(t)
	env := cassenv.TLSServer(t)
	bad := cassenv.TLS(env.Set, false)
	bad.CA = []schema.MaterialSource{cassenv.Material(env.Set.OtherRoot.CertPEM())}
	c := cassenv.Connector(t, cassenv.Profile(env.Localhost(), bad))
	require.ErrorIs(t, cassenv.DialErr(t, c), factory.ErrTLSUntrusted)

	_, err := factorytest.Update(c.TLS(), cassenv.TLS(env.Set, false))
	require.NoError(t, err)
	s := cassenv.Dial(t, c)
	defer s.Close()
	cassenv.ReleaseVersion(t, s)
}

func TestCassandraClusterConfig(t *testing.T) {
	set := factorytest.NewPKI(t)
	p := cassenv.Profile("db1.example", cassenv.TLS(set, false))
	p.Hosts = append(p.Hosts, "10.0.0.7:9142", "[::1]:9043")
	p.Keyspace, p.LocalDatacenter, p.ProtocolVersion = "app", "dc1", 4
	p.ConnectTimeout, p.Timeout = schema.Duration(3*time.Second), schema.Duration(time.Second)
	c := cassenv.Connector(t, p)
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

	p2 := cassenv.Profile("db1.example", nil)
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
			p.Auth.PerHost = []schema.HostCredentials{{Username: "u", Password: factorytest.Secret("p")}}
		}, "profiles.bad.auth.per_host[0].host"},
		{"backend", func(p *schema.Profile) { p.Backend = schema.Riak }, "profiles.bad.backend"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := cassenv.Profile("db1.example", nil)
			tc.mutate(p)
			c, err := cassandra.New("bad", p)
			require.Nil(t, c)
			require.ErrorIs(t, err, factory.ErrConfig)
			require.ErrorIs(t, err, schema.ErrInvalid)
			require.Contains(t, err.Error(), tc.path)
		})
	}
	// TLS problems and the connector's own are reported together.
	p := cassenv.Profile("db1.example", &schema.TLS{CA: []schema.MaterialSource{cassenv.Material([]byte("not pem"))}})
	p.ProtocolVersion = 1
	_, err := cassandra.New("bad", p)
	require.ErrorIs(t, err, factory.ErrConfig)
	require.Contains(t, err.Error(), "profiles.bad.protocol_version")
	require.Contains(t, err.Error(), "profiles.bad.tls.ca")
}

func TestCassandraClosedConnector(t *testing.T) {
	c, err := cassandra.New("x", cassenv.Profile("127.0.0.1", nil))
	require.NoError(t, err)
	require.NoError(t, c.Close())
	_, err = c.Dial(context.Background())
	require.Error(t, err)
	var conn factory.Connector = c
	require.Equal(t, "x", conn.Name())
	require.Equal(t, schema.Cassandra, conn.Backend())
}
