package factory_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/cqltest"
	"github.com/connfactory/connfactory/testserver/pki"
	"github.com/connfactory/connfactory/testserver/riaktest"
)

// A refused server certificate is still shown in the report: what the server presents is
// the first thing an operator needs when the chain or the name does not verify.
func TestFailedCheckReportsThePeerChain(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	set, err := pki.NewSet()
	require.NoError(t, err)
	other := &schema.TLS{CA: []schema.MaterialSource{{PEM: schema.Secret(set.OtherRoot.CertPEM())}}}
	wrongName := &schema.TLS{CA: []schema.MaterialSource{{PEM: schema.Secret(set.Root.CertPEM())}}, ServerName: "db1.internal"}

	rs, err := riaktest.Start(riaktest.Options{Security: true, TLS: set.ServerTLSConfig(),
		Users: []riaktest.User{{Name: "u", Source: riaktest.SourceTrust}}})
	require.NoError(t, err)
	defer rs.Close()
	cs, err := cqltest.Start(cqltest.Options{TLS: set.ServerTLSConfig()})
	require.NoError(t, err)
	defer cs.Close()

	for _, tc := range []struct {
		name string
		p    *schema.Profile
		kind error
	}{
		{"riak untrusted", &schema.Profile{Backend: schema.Riak, Hosts: []string{rs.Addr()},
			Auth: &schema.Auth{Mechanism: schema.MechanismTrust, Username: "u"}, TLS: other}, factory.ErrTLSUntrusted},
		{"cassandra wrong name", &schema.Profile{Backend: schema.Cassandra, Hosts: []string{cs.Addr()}, TLS: wrongName}, factory.ErrTLSHostname},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := factory.Compile("p", tc.p)
			require.NoError(t, err)
			defer c.Close()
			rep, err := c.Check(context.Background())
			require.ErrorIs(t, err, tc.kind)
			require.False(t, rep.OK)
			require.NotEmpty(t, rep.TLS.PeerChain)
			require.Equal(t, "CN=localhost", rep.TLS.PeerChain[0].Subject)
			require.Contains(t, rep.TLS.PeerChain[0].DNSNames, "localhost")
		})
	}
}
