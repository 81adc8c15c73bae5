package cassandra_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/advice"
	"github.com/connfactory/connfactory/internal/factorytest"
	"github.com/connfactory/connfactory/internal/factorytest/cassenv"
	"github.com/connfactory/connfactory/internal/leakcheck"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/cqltest"
)

// TestCassandraStallMessages: a stalled server is reported by the stage that got no
// answer, with the bound that ran out, not "context deadline exceeded" twice.
func TestCassandraStallMessages(t *testing.T) {
	leakcheck.Verify(t)
	set := factorytest.NewPKI(t)
	srv := cassenv.Start(t, cqltest.Options{Stall: true})
	for _, c := range []struct {
		name string
		sec  *schema.TLS
		want string
	}{
		{"tls", cassenv.TLS(set, false), srv.Addr() + ": no TLS handshake within connect_timeout 300ms"},
		{"plaintext", nil, srv.Addr() + ": no CQL answer within connect_timeout 300ms"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := cassenv.Profile(srv.Addr(), c.sec)
			p.ConnectTimeout = schema.Duration(300 * time.Millisecond)
			conn := cassenv.Connector(t, p)
			err := cassenv.DialErr(t, conn)
			require.ErrorIs(t, err, factory.ErrTimeout)
			require.True(t, len(err.Error()) >= len(c.want) && err.Error()[:len(c.want)] == c.want, "got %q", err.Error())
			require.NotContains(t, err.Error(), "context deadline exceeded")

			r, err := conn.Check(context.Background())
			require.ErrorIs(t, err, factory.ErrTimeout)
			require.Equal(t, "timeout", r.Error.Kind)
			require.Contains(t, r.Error.Message, c.want[len(srv.Addr())+2:])
			require.NotContains(t, r.Error.Message, "timeout:", "the kind is printed once, by the report")
		})
	}
}

// TestCassandraPlaintextAgainstTLSPort: a profile without TLS against a TLS server is told
// that the server speaks TLS and advised to add [tls], not advised about Riak security.
func TestCassandraPlaintextAgainstTLSPort(t *testing.T) {
	leakcheck.Verify(t)
	env := cassenv.TLSServer(t)
	p := cassenv.Profile(env.Localhost(), nil)
	p.Auth = nil
	c := cassenv.Connector(t, p)
	err := cassenv.DialErr(t, c)
	require.ErrorIs(t, err, factory.ErrProtocol)
	require.ErrorIs(t, err, factory.ErrServerSpeaksTLS)
	require.Contains(t, advice.For(err), "add a [tls] section")
	require.NotContains(t, advice.For(err), "Riak")

	r, err := c.Check(context.Background())
	require.ErrorIs(t, err, factory.ErrServerSpeaksTLS)
	require.Equal(t, "protocol", r.Error.Kind)
	require.Contains(t, r.Error.Message, "the server speaks TLS")

	// A plaintext server that simply is not CQL (here: closes at once) gets no such advice.
	plain := cassenv.Start(t, cqltest.Options{Stall: true})
	p = cassenv.Profile(plain.Addr(), nil)
	p.Auth = nil
	p.ConnectTimeout = schema.Duration(300 * time.Millisecond)
	err = cassenv.DialErr(t, cassenv.Connector(t, p))
	require.NotErrorIs(t, err, factory.ErrServerSpeaksTLS)
}
