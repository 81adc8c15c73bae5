package factory_test

import (
	"context"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/factorytest"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/pki"
)

// half is data cut mid-write: its first half.
func half(data []byte) []byte { return data[:len(data)/2] }

// TestPEMCutMidWriteRefused: a CA bundle or CRL file caught half-way through a write is
// refused at its own path, never read as the blocks before the cut.
func TestPEMCutMidWriteRefused(t *testing.T) {
	S := factorytest.NewPKI(t)
	crl := crlPEM(t, S.Root, pki.CRLOptions{})
	revoking := crlPEM(t, S.Root, pki.CRLOptions{Revoked: []*big.Int{S.Server.Serial()}, Number: 2})
	root, inter := S.Root.CertPEM(), S.Intermediate.CertPEM()
	badBlock := []byte("-----BEGIN CERTIFICATE-----\n!!!! not base64 !!!!\n-----END CERTIFICATE-----\n")

	for _, c := range []struct {
		name string
		ca   [][]byte
		crl  [][]byte
		path string
		msg  string
	}{
		{"crl: second CRL cut", [][]byte{root}, [][]byte{slices.Concat(crl, half(revoking))}, "profiles.p.tls.crl[0]", "cut or does not decode"},
		{"crl: only BEGIN", [][]byte{root}, [][]byte{crl, []byte("-----BEGIN X509 CRL-----\nMIIB")}, "profiles.p.tls.crl[1]", "cut or does not decode"},
		{"crl: BEGIN line cut", [][]byte{root}, [][]byte{slices.Concat(crl, []byte("-----BEG"))}, "profiles.p.tls.crl[0]", "trailing data"},
		{"ca: second certificate cut", [][]byte{root, slices.Concat(inter, half(root))}, nil, "profiles.p.tls.ca[1]", "cut or does not decode"},
		{"ca: undecodable block first", [][]byte{slices.Concat(badBlock, root)}, nil, "profiles.p.tls.ca[0]", "PEM block #1"},
		{"ca: trailing garbage", [][]byte{slices.Concat(root, []byte("MIIC"))}, nil, "profiles.p.tls.ca[0]", "trailing data"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sec := &schema.TLS{}
			for _, b := range c.ca {
				sec.CA = append(sec.CA, src("bundle.pem", b))
			}
			for _, b := range c.crl {
				sec.CRL = append(sec.CRL, src("crl.pem", b))
			}
			msg := compileErr(t, sec)
			require.Contains(t, msg, c.path)
			require.Contains(t, msg, c.msg)
		})
	}

	// Comments before and between blocks (as in distribution bundles) stay accepted.
	commented := slices.Concat([]byte("# Issuer: root\n"), root, []byte("\n# Issuer: intermediate\n"), inter, []byte("\n\n"))
	compile(t, &schema.TLS{CA: []schema.MaterialSource{src("bundle.pem", commented)}})
}

// TestReloadNowCRLCutMidWrite: a CRL file rewritten in place and caught half-way is
// refused on reload; the last good CRL (which revokes the server) stays in force.
func TestReloadNowCRLCutMidWrite(t *testing.T) {
	rlEachBackend(t, func(t *testing.T, set *pki.Set, b *rlBackend) {
		files := newRLFiles(t, set, set.Client, true)
		reloads := newRLReloads()
		revoking, err := set.Intermediate.CRLPEM(pki.CRLOptions{Revoked: []*big.Int{set.Server.Serial()}, Number: 1})
		require.NoError(t, err)
		files.write(files.crl, revoking)
		reloadNow, tlsOf := b.connect(t, files.resolved(time.Hour), files.refresher(), reloads.option())
		_, err = b.dial()
		require.ErrorIs(t, err, factory.ErrTLSRevoked)
		gen := tlsOf().Generation()

		clean, err := set.Intermediate.CRLPEM(pki.CRLOptions{Number: 2})
		require.NoError(t, err)
		files.write(files.crl, slices.Concat(clean, half(revoking)))
		err = reloadNow(context.Background())
		require.ErrorIs(t, err, factory.ErrConfig)
		require.ErrorContains(t, err, ".tls.crl[0]")
		require.ErrorContains(t, err, "cut")
		require.Equal(t, err, reloads.next(t))
		require.Equal(t, gen, tlsOf().Generation())
		_, err = b.dial()
		require.ErrorIs(t, err, factory.ErrTLSRevoked, "the last good CRL stays in force")
	})
}
