package factory_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/advice"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/cqltest"
)

// TestErrorReadsHostThenCause: the kind is not part of the message (reports print it once,
// apart); the host leads, once.
func TestErrorReadsHostThenCause(t *testing.T) {
	err := &factory.Error{Kind: factory.KindTLSHostname, Host: "db1:9042", Err: errors.New("x509: wrong name")}
	require.EqualError(t, err, "db1:9042: x509: wrong name")
	require.ErrorIs(t, err, factory.ErrTLSHostname)
	require.EqualError(t, &factory.Error{Kind: factory.KindTimeout, Err: errors.New("slow")}, "slow")
	require.EqualError(t, &factory.Error{Kind: factory.KindTimeout, Host: "h:1", Err: errors.New("h:1: slow")}, "h:1: slow")
	require.EqualError(t, &factory.Error{Kind: factory.KindProtocol}, "factory: protocol")
}

// TestCassandraStallMessages: a stalled server is reported by the stage that got no
// answer, with the bound that ran out, not "context deadline exceeded" twice.
func TestCassandraStallMessages(t *testing.T) {
	cassLeakCheck(t)
	set := cassPKI(t)
	srv := cassStart(t, cqltest.Options{Stall: true})
	for _, c := range []struct {
		name string
		sec  *schema.TLS
		want string
	}{
		{"tls", cassTLS(set, false), srv.Addr() + ": no TLS handshake within connect_timeout 300ms"},
		{"plaintext", nil, srv.Addr() + ": no CQL answer within connect_timeout 300ms"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := cassProfile(srv.Addr(), c.sec)
			p.ConnectTimeout = schema.Duration(300 * time.Millisecond)
			conn := cassConnector(t, p)
			err := cassDialErr(t, conn)
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
	cassLeakCheck(t)
	env := cassTLSServer(t)
	p := cassProfile(env.localhost(), nil)
	p.Auth = nil
	c := cassConnector(t, p)
	err := cassDialErr(t, c)
	require.ErrorIs(t, err, factory.ErrProtocol)
	require.ErrorIs(t, err, factory.ErrServerSpeaksTLS)
	require.Contains(t, advice.For(err), "add a [tls] section")
	require.NotContains(t, advice.For(err), "Riak")

	r, err := c.Check(context.Background())
	require.ErrorIs(t, err, factory.ErrServerSpeaksTLS)
	require.Equal(t, "protocol", r.Error.Kind)
	require.Contains(t, r.Error.Message, "the server speaks TLS")

	// A plaintext server that simply is not CQL (here: closes at once) gets no such advice.
	plain := cassStart(t, cqltest.Options{Stall: true})
	p = cassProfile(plain.Addr(), nil)
	p.Auth = nil
	p.ConnectTimeout = schema.Duration(300 * time.Millisecond)
	err = cassDialErr(t, cassConnector(t, p))
	require.NotErrorIs(t, err, factory.ErrServerSpeaksTLS)
}
