package cassandra_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/factory/cassandra"
	"github.com/connfactory/connfactory/internal/factorytest"
	"github.com/connfactory/connfactory/internal/factorytest/cassenv"
	"github.com/connfactory/connfactory/internal/leakcheck"
	"github.com/connfactory/connfactory/testserver/cqltest"
)

// Servers word refused credentials differently: Cassandra says "Provided username U
// and/or password are incorrect", DataStax's go-cassandra-native-protocol server
// "invalid credentials". Both are auth_failed.
func TestCassandraRefusedCredentialsWordings(t *testing.T) {
	leakcheck.Verify(t)
	for _, msg := range []string{"", "invalid credentials"} {
		t.Run("message="+msg, func(t *testing.T) {
			env := cassenv.TLSServer(t, func(o *cqltest.Options) { o.AuthFailureMessage = msg })
			p := cassenv.Profile(env.Localhost(), cassenv.TLS(env.Set, false))
			p.Auth.Password = factorytest.Secret("wrong")
			c, err := cassandra.New("compat", p)
			require.NoError(t, err)
			defer c.Close()
			rep, err := c.Check(context.Background())
			require.ErrorIs(t, err, factory.ErrAuthFailed)
			require.Equal(t, "failed", rep.Auth.Result)
		})
	}
}
