package cqltest_test

import (
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/testserver/cqltest"
)

// plainAuthz is a SASL PLAIN authenticator that sends an authorization id, which gocql's
// PasswordAuthenticator cannot.
type plainAuthz struct{ authz, user, pass string }

func (a plainAuthz) Challenge([]byte) ([]byte, gocql.Authenticator, error) {
	return []byte(a.authz + "\x00" + a.user + "\x00" + a.pass), nil, nil
}

func (a plainAuthz) Success([]byte) error { return nil }

func TestPasswordAuth(t *testing.T) {
	t.Parallel()
	srv := start(t, cqltest.Options{Credentials: map[string]string{"app": "s3cret", "ops": "other"}})

	t.Run("ok", func(t *testing.T) {
		c, _ := newCluster(t, srv)
		c.Authenticator = gocql.PasswordAuthenticator{Username: "app", Password: "s3cret",
			AllowedAuthenticators: []string{cqltest.PasswordAuthenticator}}
		s := connect(t, c)
		require.Equal(t, cqltest.DefaultReleaseVersion, releaseVersion(t, s))
		require.Equal(t, "app", srv.LastAuthUser())
		require.Empty(t, srv.LastAuthorizationID())
	})
	t.Run("wrong password", func(t *testing.T) {
		c, _ := newCluster(t, srv)
		c.Authenticator = gocql.PasswordAuthenticator{Username: "app", Password: "nope"}
		_, err := c.CreateSession()
		require.Error(t, err)
		t.Logf("gocql, wrong password: %v", err)
		require.ErrorContains(t, err, "Provided username app and/or password are incorrect")
		require.NotContains(t, err.Error(), "nope")
	})
	t.Run("unknown user", func(t *testing.T) {
		c, _ := newCluster(t, srv)
		c.Authenticator = gocql.PasswordAuthenticator{Username: "eve", Password: "s3cret"}
		_, err := c.CreateSession()
		require.ErrorContains(t, err, "Provided username eve and/or password are incorrect")
	})
	t.Run("another user's password", func(t *testing.T) {
		c, _ := newCluster(t, srv)
		c.Authenticator = gocql.PasswordAuthenticator{Username: "ops", Password: "s3cret"}
		_, err := c.CreateSession()
		require.ErrorContains(t, err, "Provided username ops and/or password are incorrect")
	})
	t.Run("no credentials", func(t *testing.T) {
		c, _ := newCluster(t, srv)
		_, err := c.CreateSession()
		require.Error(t, err)
		t.Logf("gocql, no authenticator: %v", err)
		require.ErrorContains(t, err, `authentication required (using "org.apache.cassandra.auth.PasswordAuthenticator")`)
	})
	t.Run("authorization id", func(t *testing.T) {
		c, _ := newCluster(t, srv)
		c.Authenticator = plainAuthz{authz: "reporting", user: "ops", pass: "other"}
		s := connect(t, c)
		require.Equal(t, cqltest.DefaultReleaseVersion, releaseVersion(t, s))
		require.Equal(t, "ops", srv.LastAuthUser())
		require.Equal(t, "reporting", srv.LastAuthorizationID())
	})
	t.Run("empty password", func(t *testing.T) {
		c, _ := newCluster(t, srv)
		c.Authenticator = plainAuthz{user: "app"}
		_, err := c.CreateSession()
		require.ErrorContains(t, err, "Password must not be null")
	})
}

func TestAuthenticatorClass(t *testing.T) {
	t.Parallel()
	const dse = "com.datastax.bdp.cassandra.auth.DseAuthenticator"
	srv := start(t, cqltest.Options{Credentials: map[string]string{"app": "pw"}, Authenticator: dse})

	t.Run("refused by client", func(t *testing.T) {
		c, _ := newCluster(t, srv)
		c.Authenticator = gocql.PasswordAuthenticator{Username: "app", Password: "pw",
			AllowedAuthenticators: []string{cqltest.PasswordAuthenticator}}
		_, err := c.CreateSession()
		require.Error(t, err)
		t.Logf("gocql, authenticator not allowed: %v", err)
		require.ErrorContains(t, err, `unexpected authenticator "`+dse+`"`)
	})
	t.Run("accepted by client", func(t *testing.T) {
		c, _ := newCluster(t, srv)
		c.Authenticator = gocql.PasswordAuthenticator{Username: "app", Password: "pw"}
		s := connect(t, c)
		require.Equal(t, cqltest.DefaultReleaseVersion, releaseVersion(t, s))
	})
}

func TestNoAuthIgnoresAuthenticator(t *testing.T) {
	t.Parallel()
	// A server without credentials answers STARTUP with READY; a client configured with a
	// password simply never uses it, as against a real node with AllowAllAuthenticator.
	srv := start(t, cqltest.Options{})
	c, _ := newCluster(t, srv)
	c.Authenticator = gocql.PasswordAuthenticator{Username: "app", Password: "pw"}
	s := connect(t, c)
	require.Equal(t, cqltest.DefaultReleaseVersion, releaseVersion(t, s))
	require.Empty(t, srv.LastAuthUser())
}
