// Package riakenv is the Riak setup the tests of factory and factory/riak share: one PKI
// for every Riak test, a riaktest server with security on and its users, the profiles
// that reach it and a connector closed when the test ends. Only tests import it.
package riakenv

import (
	"testing"
	"time"

	riak "github.com/basho/riak-go-client"
	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/factory"
	riakfactory "github.com/connfactory/connfactory/factory/riak"
	"github.com/connfactory/connfactory/internal/factorytest"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/pki"
	"github.com/connfactory/connfactory/testserver/riaktest"
)

// PKI is shared by every Riak test: building a set costs a millisecond, but the
// server's and the profiles' material must agree.
var PKI = func() *pki.Set {
	s, err := pki.NewSet()
	if err != nil {
		panic(err)
	}
	return s
}()

// CertUser is a client certificate whose CN is the Riak user "riakcert".
var CertUser = func() *pki.Leaf {
	l, err := PKI.Intermediate.Issue(pki.LeafOptions{CommonName: "riakcert", Client: true})
	if err != nil {
		panic(err)
	}
	return l
}()

// Password is the password of Secure's user "pwuser" (and, prefixed with "pam-", of
// "pamuser").
const Password = "pw-Зx9!secret"

// Start starts a riaktest server and closes it when the test ends.
func Start(t *testing.T, opts riaktest.Options) *riaktest.Server {
	t.Helper()
	srv, err := riaktest.Start(opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })
	return srv
}

// Secure is a server with security on, PKI's server certificate, and one user per
// authentication source.
func Secure() riaktest.Options {
	return riaktest.Options{
		Security: true,
		TLS:      PKI.ServerTLSConfig(),
		Users: []riaktest.User{
			{Name: "pwuser", Source: riaktest.SourcePassword, Password: Password},
			{Name: "trusted", Source: riaktest.SourceTrust},
			{Name: "pamuser", Source: riaktest.SourcePAM},
			{Name: "riakcert", Source: riaktest.SourceCertificate},
		},
		PAM: map[string]string{"pamuser": "pam-" + Password},
	}
}

// TLS trusts PKI's root.
func TLS() *schema.TLS {
	return &schema.TLS{CA: []schema.MaterialSource{{Base64: factorytest.B64(PKI.Root.CertPEM())}}}
}

// CertTLS trusts PKI's root and presents leaf.
func CertTLS(leaf *pki.Leaf) *schema.TLS {
	t := TLS()
	t.Cert = &schema.MaterialSource{Base64: factorytest.B64(leaf.ChainPEM())}
	t.Key = &schema.MaterialSource{Base64: factorytest.B64(leaf.KeyPEM())}
	return t
}

// Profile is a Riak profile for hosts; mech "" is no auth section, password "" none in it.
func Profile(hosts []string, mech schema.Mechanism, user, password string, t *schema.TLS) *schema.Profile {
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

// New compiles p as profile "riak_test" and closes it when the test ends.
func New(t testing.TB, p *schema.Profile, opts ...factory.Option) *riakfactory.Connector {
	t.Helper()
	c, err := riakfactory.New("riak_test", p, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c
}

// StoreFetch writes a value through the cluster and reads it back.
func StoreFetch(t *testing.T, cl *riak.Cluster, srv *riaktest.Server, key string) {
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
