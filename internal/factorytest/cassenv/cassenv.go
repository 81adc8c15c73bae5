// Package cassenv is the Cassandra setup the tests of factory and factory/cassandra
// share: a TLS + password cqltest server with its PKI, the profiles that reach it, a
// connector whose log the failing test prints, and the gocql configuration a user writes
// by hand for the benchmarks to compare against. Only tests import it.
package cassenv

import (
	"context"
	"crypto/tls"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/factory/cassandra"
	"github.com/connfactory/connfactory/internal/factorytest"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/cqltest"
	"github.com/connfactory/connfactory/testserver/pki"
)

// The credentials the servers of TLSServer accept.
const (
	User     = "app"
	Password = "cass-Pw!9 secret"
)

// Env is a PKI and a cqltest server speaking TLS with it.
type Env struct {
	Set *pki.Set
	Srv *cqltest.Server
}

// Start starts a cqltest server and closes it when the test ends.
func Start(t testing.TB, opts cqltest.Options) *cqltest.Server {
	t.Helper()
	srv, err := cqltest.Start(opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })
	return srv
}

// TLSServer starts a TLS + password server; mutate adjusts its options.
func TLSServer(t testing.TB, mutate ...func(*cqltest.Options)) Env {
	t.Helper()
	set := factorytest.NewPKI(t)
	opts := cqltest.Options{TLS: set.ServerTLSConfig(), Credentials: map[string]string{User: Password}}
	for _, m := range mutate {
		m(&opts)
	}
	return Env{Set: set, Srv: Start(t, opts)}
}

// Localhost is the server's address under the name its certificate carries.
func (e Env) Localhost() string { return "localhost:" + strconv.Itoa(e.Srv.Port()) }

// Material is data written inline.
func Material(data []byte) schema.MaterialSource {
	return schema.MaterialSource{Base64: factorytest.B64(data)}
}

// TLS trusts set's root; with client, it presents set's client certificate.
func TLS(set *pki.Set, client bool) *schema.TLS {
	t := &schema.TLS{CA: []schema.MaterialSource{Material(set.Root.CertPEM())}}
	if client {
		cert, key := Material(set.Client.ChainPEM()), Material(set.Client.KeyPEM())
		t.Cert, t.Key = &cert, &key
	}
	return t
}

// Profile is a password profile over TLS for host.
func Profile(host string, tlsSec *schema.TLS) *schema.Profile {
	return &schema.Profile{
		Backend:        schema.Cassandra,
		Hosts:          []string{host},
		ConnectTimeout: schema.Duration(5 * time.Second),
		Timeout:        schema.Duration(5 * time.Second),
		Auth: &schema.Auth{Mechanism: schema.MechanismPassword, Username: User,
			Password: factorytest.Secret(Password)},
		TLS: tlsSec,
	}
}

// Connector compiles p as profile "cass_test", logging everything (shown when the test
// fails), and closes it when the test ends.
func Connector(t testing.TB, p *schema.Profile, opts ...factory.Option) *cassandra.Connector {
	t.Helper()
	log := &factorytest.SyncBuffer{} // shown when the test fails
	opts = append([]factory.Option{factorytest.DebugLogger(log)}, opts...)
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

// Dial opens a session through c, within 10 seconds.
func Dial(t testing.TB, c *cassandra.Connector) *gocql.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := c.Dial(ctx)
	require.NoError(t, err)
	return s
}

// ReleaseVersion asserts that s reads cqltest's release_version.
func ReleaseVersion(t testing.TB, s *gocql.Session) {
	t.Helper()
	var v string
	require.NoError(t, s.Query("SELECT release_version FROM system.local").Scan(&v))
	require.Equal(t, cqltest.DefaultReleaseVersion, v)
}

// DialErr dials and returns the error, which must be a classified *Error.
func DialErr(t testing.TB, c *cassandra.Connector) error {
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

// HandCluster is the gocql configuration a user writes by hand for the profiles the
// benchmarks dial: gocql's own TLS (SslOpts with tc, no session cache), its
// PasswordAuthenticator, and the consistency, timeouts and policies the connector sets.
func HandCluster(tc *tls.Config, hosts ...string) *gocql.ClusterConfig {
	cfg := gocql.NewCluster(hosts...)
	cfg.SslOpts = &gocql.SslOptions{Config: tc, EnableHostVerification: true}
	cfg.Authenticator = gocql.PasswordAuthenticator{Username: User, Password: Password,
		AllowedAuthenticators: []string{schema.DefaultPasswordAuthenticator}}
	cfg.Consistency = gocql.LocalQuorum
	cfg.Timeout, cfg.WriteTimeout, cfg.ConnectTimeout = 5*time.Second, 5*time.Second, 5*time.Second
	cfg.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(gocql.RoundRobinHostPolicy(), gocql.ShuffleReplicas())
	cfg.ReconnectionPolicy = &gocql.ConstantReconnectionPolicy{MaxRetries: 3, Interval: 100 * time.Millisecond}
	return cfg
}

// ConnectCounter counts the connections gocql finished opening (CQL startup and
// authentication done).
type ConnectCounter struct{ OK atomic.Int64 }

// ObserveConnect implements gocql.ConnectObserver.
func (c *ConnectCounter) ObserveConnect(o gocql.ObservedConnect) {
	if o.Err == nil {
		c.OK.Add(1)
	}
}
