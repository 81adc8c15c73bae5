package factory_test

import (
	"context"
	"crypto/x509"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/factorytest"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/pki"
)

// BenchmarkHandshakeCRL compares full handshakes (TCP + TLS 1.3, chain verification in
// VerifyConnection) without a CRL and with a 100,000-entry CRL of the server's issuer:
// the revocation check is a map lookup per certificate, so the two should be within noise.
//
//	go test ./factory -run '^$' -bench HandshakeCRL -benchtime 200x
func BenchmarkHandshakeCRL(b *testing.B) {
	S := factorytest.NewPKI(b)
	addr, _ := startGoTLSServer(b, serverSpec{leaf: S.Server})
	hostport := net.JoinHostPort("localhost", portOf(b, addr))

	revoked := make([]*big.Int, 100_000)
	for i := range revoked {
		revoked[i] = big.NewInt(int64(i) + 1_000_000)
	}
	bigCRL := crlPEM(b, S.Intermediate, pki.CRLOptions{Revoked: revoked})

	for _, c := range []struct {
		name string
		crl  []schema.MaterialSource
	}{
		{"none", nil},
		{"100k", []schema.MaterialSource{src("crl", bigCRL)}},
	} {
		b.Run(c.name, func(b *testing.B) {
			ct, _ := compile(b, &schema.TLS{CA: caOf(S.Root, S.Intermediate), CRL: c.crl})
			var d net.Dialer
			handshake := func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				raw, err := d.DialContext(ctx, "tcp", addr)
				require.NoError(b, err)
				conn, err := ct.Handshake(ctx, raw, hostport)
				require.NoError(b, err)
				_ = conn.Close()
			}
			// Warm up (and, for the CRL, fill the signature memo) before timing starts:
			// b.Loop resets the timer.
			for range 10 {
				handshake()
			}
			for b.Loop() {
				handshake()
			}
		})
	}
}

// BenchmarkCRLCheck isolates the revocation check of one verified chain against a
// 100,000-entry CRL.
func BenchmarkCRLCheck(b *testing.B) {
	S := factorytest.NewPKI(b)
	revoked := make([]*big.Int, 100_000)
	for i := range revoked {
		revoked[i] = big.NewInt(int64(i) + 1_000_000)
	}
	now := time.Now()
	set, _, err := factory.ParseCRLs("p.crl", []schema.MaterialSource{src("crl", crlPEM(b, S.Intermediate, pki.CRLOptions{Revoked: revoked}))},
		[]*x509.Certificate{S.Root.Cert, S.Intermediate.Cert}, now, "")
	require.NoError(b, err)
	chains := [][]*x509.Certificate{{S.Server.Cert, S.Intermediate.Cert, S.Root.Cert}}
	for b.Loop() {
		if err := set.Check(chains, now, "h:1"); err != nil {
			b.Fatal(err)
		}
	}
}
