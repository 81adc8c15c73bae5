package factory_test

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/factorytest"
	"github.com/connfactory/connfactory/internal/factorytest/cassenv"
	"github.com/connfactory/connfactory/internal/factorytest/riakenv"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/pki"
)

func TestCRLCompile(t *testing.T) {
	S := factorytest.NewPKI(t)
	now := time.Now()
	sec := func(crls ...[]byte) *schema.TLS {
		// The test PKI's CRLs are due in a day: tls.expiry_warning is shortened so that only
		// the cases about it see its warning.
		s := &schema.TLS{CA: caOf(S.Root), ExpiryWarning: schema.Duration(time.Minute)}
		for i, c := range crls {
			s.CRL = append(s.CRL, src("crl"+string(rune('0'+i)), c))
		}
		return s
	}

	// Signed by the configured root: verified now, no warning.
	month := sec(crlPEM(t, S.Root, pki.CRLOptions{NextUpdate: now.AddDate(0, 1, 0)}))
	month.ExpiryWarning = 0
	_, warns := compile(t, month)
	require.Empty(t, warns)

	// Due within tls.expiry_warning (default 14 days): a warning, not an error.
	due := sec(crlPEM(t, S.Root, pki.CRLOptions{NextUpdate: now.Add(36 * time.Hour)}))
	due.ExpiryWarning = 0
	_, warns = compile(t, due)
	require.Len(t, warns, 1)
	require.Equal(t, "profiles.p.tls.crl[0]", warns[0].Path)
	require.Contains(t, warns[0].Message, `CRL of "CN=connfactory test root CA,O=connfactory test PKI" is due for renewal: its NextUpdate is in 1 day (`)
	require.Contains(t, warns[0].Message, "(tls.expiry_warning 14 days)")
	short := sec(crlPEM(t, S.Root, pki.CRLOptions{NextUpdate: now.Add(36 * time.Hour)}))
	short.ExpiryWarning = schema.Duration(24 * time.Hour)
	_, warns = compile(t, short)
	require.Empty(t, warns, "outside a one-day tls.expiry_warning")

	// A CRL claiming the root's name, signed by another key: from another CA.
	impostor, err := pki.NewRootCA("connfactory test root CA")
	require.NoError(t, err)
	msg := compileErr(t, sec(crlPEM(t, S.Root, pki.CRLOptions{}), crlPEM(t, impostor, pki.CRLOptions{})))
	require.Contains(t, msg, "profiles.p.tls.crl[1]")
	require.Contains(t, msg, "another CA")

	// Stale: fail by default, warn on request.
	stale := crlPEM(t, S.Root, pki.CRLOptions{NextUpdate: now.Add(-time.Minute)})
	msg = compileErr(t, sec(stale))
	require.Contains(t, msg, "profiles.p.tls.crl[0]")
	require.Contains(t, msg, "stale")
	s := sec(stale)
	s.CRLStale = schema.CRLStaleWarn
	_, warns = compile(t, s)
	require.True(t, hasWarning(warns, "profiles.p.tls.crl[0]", "stale"), "%v", warns)

	// An intermediate's CRL with only the root configured: its signature cannot be checked,
	// so it is refused at its own path, saying how to fix it.
	interCRL := crlPEM(t, S.Intermediate, pki.CRLOptions{})
	msg = compileErr(t, sec(crlPEM(t, S.Root, pki.CRLOptions{}), interCRL))
	require.Contains(t, msg, "profiles.p.tls.crl[1]")
	require.NotContains(t, msg, "profiles.p.tls.crl[0]", "the root's CRL is fine")
	require.Contains(t, msg, "is not a CA in tls.ca")
	require.Contains(t, msg, "add that intermediate's certificate to tls.ca")
	// ... and verified at compile time, without a warning, once the intermediate is
	// configured too (as a second source or in the same bundle).
	withInter := sec(interCRL)
	withInter.CA = caOf(S.Root, S.Intermediate)
	_, warns = compile(t, withInter)
	require.Empty(t, warns)
	bundled := sec(interCRL)
	bundled.CA = []schema.MaterialSource{src("ca", slices.Concat(S.Root.CertPEM(), S.Intermediate.CertPEM()))}
	_, warns = compile(t, bundled)
	require.Empty(t, warns)
	// An intermediate configured without its root still checks its own CRL.
	interOnly := sec(interCRL)
	interOnly.CA = caOf(S.Intermediate)
	_, warns = compile(t, interOnly)
	require.Empty(t, warns)

	// A root impersonating the intermediate's name: refused whether the intermediate is
	// configured (the CRL is not its) or not (nothing can check it).
	fakeInter, err := pki.NewRootCA(S.Intermediate.Cert.Subject.CommonName)
	require.NoError(t, err)
	fakeInterCRL := crlPEM(t, fakeInter, pki.CRLOptions{})
	msg = compileErr(t, sec(fakeInterCRL))
	require.Contains(t, msg, "profiles.p.tls.crl[0]")
	require.Contains(t, msg, "is not a CA in tls.ca")
	fake := sec(fakeInterCRL)
	fake.CA = caOf(S.Root, S.Intermediate)
	msg = compileErr(t, fake)
	require.Contains(t, msg, "profiles.p.tls.crl[0]")
	require.Contains(t, msg, "another CA")

	// A CRL from an unrelated root (another name, another key) is an error too.
	otherCRL := crlPEM(t, S.OtherRoot, pki.CRLOptions{})
	msg = compileErr(t, sec(otherCRL))
	require.Contains(t, msg, "profiles.p.tls.crl[0]")
	require.Contains(t, msg, "is not a CA in tls.ca")
	require.Contains(t, msg, S.OtherRoot.Cert.Subject.CommonName)

	// DER, and several PEM CRLs in one source.
	der, err := S.Root.CRL(pki.CRLOptions{})
	require.NoError(t, err)
	_, warns = compile(t, sec(der, append(crlPEM(t, S.Root, pki.CRLOptions{}), crlPEM(t, S.Root, pki.CRLOptions{Number: 2})...)))
	require.Empty(t, warns)

	msg = compileErr(t, sec([]byte("garbage")))
	require.Contains(t, msg, "not a CRL")
	msg = compileErr(t, sec(S.Root.CertPEM()))
	require.Contains(t, msg, "no X509 CRL")
}

// TestCRLSetCheck exercises CRLSet directly on verified chains, without a network.
func TestCRLSetCheck(t *testing.T) {
	S := factorytest.NewPKI(t)
	now := time.Now()
	leaf2 := issue(t, S.Intermediate, pki.LeafOptions{CommonName: "other server", DNSNames: []string{"localhost"}, Server: true})
	chain := func(l *pki.Leaf) [][]*x509.Certificate {
		return [][]*x509.Certificate{{l.Cert, S.Intermediate.Cert, S.Root.Cert}}
	}
	interCRL := []schema.MaterialSource{
		src("inter", crlPEM(t, S.Intermediate, pki.CRLOptions{Revoked: []*big.Int{S.Server.Serial()}})),
	}
	// Only the root configured: the intermediate's CRL cannot be checked, so it is refused.
	set, warns, err := factory.ParseCRLs("p.crl", interCRL, []*x509.Certificate{S.Root.Cert}, now, "")
	require.ErrorIs(t, err, factory.ErrConfig)
	require.ErrorContains(t, err, "p.crl[0]")
	require.ErrorContains(t, err, "add that intermediate's certificate to tls.ca")
	require.Nil(t, set)
	require.Empty(t, warns)

	set, warns, err = factory.ParseCRLs("p.crl", interCRL, []*x509.Certificate{S.Root.Cert, S.Intermediate.Cert}, now, "")
	require.NoError(t, err)
	require.Empty(t, warns)
	require.Equal(t, 1, set.Len())
	require.ErrorIs(t, set.Check(chain(S.Server), now, "h:1"), factory.ErrTLSRevoked)
	require.NoError(t, set.Check(chain(leaf2), now, "h:1"))
	// The cached signature result is reused: the second check gives the same answer.
	require.ErrorIs(t, set.Check(chain(S.Server), now, "h:1"), factory.ErrTLSRevoked)

	// An intermediate configured as an anchor: the root's CRL still revokes it.
	rootCRL, _, err := factory.ParseCRLs("p.crl", []schema.MaterialSource{
		src("root", crlPEM(t, S.Root, pki.CRLOptions{Revoked: []*big.Int{S.Intermediate.Cert.SerialNumber}})),
	}, []*x509.Certificate{S.Root.Cert, S.Intermediate.Cert}, now, "")
	require.NoError(t, err)
	short := [][]*x509.Certificate{{S.Server.Cert, S.Intermediate.Cert}}
	require.ErrorIs(t, rootCRL.Check(short, now, "h:1"), factory.ErrTLSRevoked)
	require.ErrorIs(t, rootCRL.Check(chain(S.Server), now, "h:1"), factory.ErrTLSRevoked)
	require.ErrorIs(t, rootCRL.Check(append(short, chain(S.Server)...), now, "h:1"), factory.ErrTLSRevoked)

	// A re-keyed intermediate of the same name in the server's chain did not sign the
	// configured intermediate's CRL: revocation cannot be checked, so the chain is refused.
	rekeyed, err := S.Root.NewIntermediate(S.Intermediate.Cert.Subject.CommonName)
	require.NoError(t, err)
	rekeyedLeaf := issue(t, rekeyed, pki.LeafOptions{CommonName: "rekeyed", DNSNames: []string{"localhost"}, Server: true})
	err = set.Check([][]*x509.Certificate{{rekeyedLeaf.Cert, rekeyed.Cert, S.Root.Cert}}, now, "h:1")
	require.ErrorIs(t, err, factory.ErrTLSUntrusted)
	require.ErrorContains(t, err, "p.crl[0]")

	var nilSet *factory.CRLSet
	require.NoError(t, nilSet.Check(chain(S.Server), now, "h:1"))
	require.Zero(t, nilSet.Len())
	none, _, err := factory.ParseCRLs("p.crl", nil, nil, now, "")
	require.NoError(t, err)
	require.Nil(t, none)
}

// TestCRLFromAnotherCA: a CRL signed by an unrelated root is a configuration problem at
// its own path when a whole profile compiles, as `connfactory validate` reports it.
func TestCRLFromAnotherCA(t *testing.T) {
	S := factorytest.NewPKI(t)
	sec := &schema.TLS{CA: caOf(S.Root), CRL: []schema.MaterialSource{
		src("root", crlPEM(t, S.Root, pki.CRLOptions{})),
		src("other", crlPEM(t, S.OtherRoot, pki.CRLOptions{})),
	}}
	for _, p := range []*schema.Profile{
		cassenv.Profile("localhost:9042", sec),
		riakenv.Profile([]string{"localhost:8087"}, schema.MechanismPassword, "app", "pw", sec),
	} {
		c, err := factory.Compile("bad", p)
		require.Nil(t, c, "%s", p.Backend)
		require.ErrorIs(t, err, factory.ErrConfig)
		var ps schema.Problems
		require.True(t, errors.As(err, &ps), "%v", err)
		require.Len(t, ps, 1, "only the other root's CRL is wrong: %v", ps)
		require.Equal(t, "profiles.bad.tls.crl[1]", ps[0].Path)
		require.Contains(t, ps[0].Message, "is not a CA in tls.ca")
		require.True(t, strings.Contains(ps[0].Message, S.OtherRoot.Cert.Subject.String()), "%q", ps[0].Message)
	}
}

// TestCRLLarge: a 100,000-entry CRL parses once and checks in constant time per serial.
func TestCRLLarge(t *testing.T) {
	S := factorytest.NewPKI(t)
	revoked := make([]*big.Int, 100_000)
	for i := range revoked {
		revoked[i] = big.NewInt(int64(i) + 1_000_000)
	}
	revoked[len(revoked)/2] = S.Server.Serial()
	der, err := S.Intermediate.CRL(pki.CRLOptions{Revoked: revoked})
	require.NoError(t, err)
	now := time.Now()
	set, _, err := factory.ParseCRLs("p.crl", []schema.MaterialSource{src("big", pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}))},
		[]*x509.Certificate{S.Root.Cert, S.Intermediate.Cert}, now, "")
	require.NoError(t, err)
	chains := [][]*x509.Certificate{{S.Server.Cert, S.Intermediate.Cert, S.Root.Cert}}
	require.ErrorIs(t, set.Check(chains, now, "h:1"), factory.ErrTLSRevoked)

	fine := issue(t, S.Intermediate, pki.LeafOptions{CommonName: "fine", Server: true})
	okChains := [][]*x509.Certificate{{fine.Cert, S.Intermediate.Cert, S.Root.Cert}}
	require.NoError(t, set.Check(okChains, now, "h:1"))
	// Its cost (a map lookup, not a scan) is measured by the CRL benchmarks in
	// BENCHMARKS.md, never asserted here.
}
