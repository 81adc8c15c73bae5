package factory_test

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/factorytest"
	"github.com/connfactory/connfactory/internal/factorytest/riakenv"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/pki"
	"github.com/connfactory/connfactory/testserver/riaktest"
)

func TestRiakFailuresAreClassifiedInTime(t *testing.T) {
	factorytest.LeakCheck(t)
	const budget = 700 * time.Millisecond

	revokedCRL, err := riakenv.PKI.Intermediate.CRLPEM(pki.CRLOptions{Revoked: []*big.Int{riakenv.PKI.Server.Serial()}})
	require.NoError(t, err)

	secure := riakenv.Start(t, riakenv.Secure())
	plain := riakenv.Start(t, riaktest.Options{})
	stallTLS := riakenv.Secure()
	stallTLS.StallAfterStartTls = true
	stalledTLS := riakenv.Start(t, stallTLS)
	stalled := riakenv.Start(t, riaktest.Options{Stall: true})
	slowAuth := riakenv.Secure()
	slowAuth.AuthFailureDelay = time.Hour
	slowFail := riakenv.Start(t, slowAuth)

	pw := func(addr, password string, tl *schema.TLS) *schema.Profile {
		return riakenv.Profile([]string{addr}, schema.MechanismPassword, "pwuser", password, tl)
	}
	untrusted := &schema.TLS{CA: []schema.MaterialSource{{Base64: factorytest.B64(riakenv.PKI.OtherRoot.CertPEM())}}}
	wrongName := riakenv.TLS()
	wrongName.ServerName = "riak.example.com"
	revoked := riakenv.TLS()
	revoked.CA = append(revoked.CA, schema.MaterialSource{Base64: factorytest.B64(riakenv.PKI.Intermediate.CertPEM())})
	revoked.CRL = []schema.MaterialSource{{Base64: factorytest.B64(revokedCRL)}}

	cases := []struct {
		name     string
		p        *schema.Profile
		kind     error
		contains string
	}{
		{"wrong password", pw(secure.Addr(), "not-the-password", riakenv.TLS()), factory.ErrAuthFailed, `refused user "pwuser" with mechanism password`},
		{"unknown user", riakenv.Profile([]string{secure.Addr()}, schema.MechanismTrust, "nobody", "", riakenv.TLS()), factory.ErrAuthFailed, "no trust source"},
		{"untrusted CA", pw(secure.Addr(), riakenv.Password, untrusted), factory.ErrTLSUntrusted, ""},
		{"wrong name", pw(secure.Addr(), riakenv.Password, wrongName), factory.ErrTLSHostname, ""},
		{"revoked server cert", pw(secure.Addr(), riakenv.Password, revoked), factory.ErrTLSRevoked, ""},
		{"security off", pw(plain.Addr(), riakenv.Password, riakenv.TLS()), factory.ErrProtocol, "Security not enabled; STARTTLS not allowed."},
		{"security on, no auth", riakenv.Profile([]string{secure.Addr()}, "", "", "", nil), factory.ErrAuthRequired, "Security is enabled, please STARTTLS first"},
		{"node down", pw(factorytest.DeadAddr(t), riakenv.Password, riakenv.TLS()), factory.ErrUnreachable, "connection refused"},
		{"stall after StartTls", pw(stalledTLS.Addr(), riakenv.Password, riakenv.TLS()), factory.ErrTimeout, "did not complete the TLS handshake"},
		{"stall", pw(stalled.Addr(), riakenv.Password, riakenv.TLS()), factory.ErrTimeout, "does not answer Riak Protocol Buffers"},
		{"slow auth failure", pw(slowFail.Addr(), "not-the-password", riakenv.TLS()), factory.ErrTimeout, "often means refused credentials"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.p.ConnectTimeout = schema.Duration(budget)
			c := riakenv.New(t, tc.p, factory.WithRiakAuthWait(budget))
			for _, op := range []struct {
				name string
				run  func() error
			}{
				{"Dial", func() error {
					cl, err := c.Dial(context.Background())
					require.Nil(t, cl)
					return err
				}},
				{"DialConn", func() error {
					conn, err := c.DialConn(context.Background())
					require.Nil(t, conn)
					return err
				}},
				{"Check", func() error {
					rep, err := c.Check(context.Background())
					require.NotNil(t, rep)
					require.False(t, rep.OK)
					require.NotNil(t, rep.Error)
					require.Equal(t, string(factory.KindOf(err)), rep.Error.Kind)
					return err
				}},
			} {
				start := time.Now()
				err := op.run()
				elapsed := time.Since(start)
				require.Error(t, err, op.name)
				require.ErrorIs(t, err, tc.kind, "%s: %v", op.name, err)
				require.ErrorContains(t, err, tc.contains, op.name)
				require.NotContains(t, err.Error(), riakenv.Password)
				// The servers stall for an hour and the context never ends: only the budget can
				// have ended the call. The bound is loose on purpose (a loaded machine is slow);
				// it tells "bounded" from "hung", not how fast.
				require.Less(t, elapsed, 30*time.Second, "%s took %v", op.name, elapsed)
				t.Logf("%s: %v (%v)", op.name, err, elapsed.Round(time.Millisecond))
			}
		})
	}
}

// Riak answers refused credentials only after a delay longer than a typical
// connect_timeout: the preflight waits for that verdict (auth_failed), bounded by the
// verdict wait and the caller's context, instead of reporting a timeout.
func TestRiakWaitsForTheAuthVerdict(t *testing.T) {
	factorytest.LeakCheck(t)
	slow := riakenv.Secure()
	slow.AuthFailureDelay = 600 * time.Millisecond
	srv := riakenv.Start(t, slow)
	p := riakenv.Profile([]string{srv.Addr()}, schema.MechanismPassword, "pwuser", "not-the-password", riakenv.TLS())
	p.ConnectTimeout = schema.Duration(200 * time.Millisecond)

	c := riakenv.New(t, p, factory.WithRiakAuthWait(5*time.Second))
	_, err := c.DialConn(context.Background())
	require.ErrorIs(t, err, factory.ErrAuthFailed)

	// The caller's deadline still wins over the wait.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = c.DialConn(ctx)
	require.ErrorIs(t, err, factory.ErrTimeout)
	require.ErrorContains(t, err, "often means refused credentials")
}
