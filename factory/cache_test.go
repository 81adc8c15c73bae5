package factory_test

import (
	"bytes"
	"fmt"
	"math/big"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/factorytest"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/pki"
)

// caBundle returns a PEM bundle of n CA certificates, like a small system bundle, with
// the given CAs first and unrelated roots after them.
func caBundle(t testing.TB, n int, first ...*pki.CA) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, ca := range first {
		b.Write(ca.CertPEM())
	}
	for i := len(first); i < n; i++ {
		ca, err := pki.NewRootCA(fmt.Sprintf("bundle root %d", i))
		require.NoError(t, err)
		b.Write(ca.CertPEM())
	}
	return b.Bytes()
}

// revokedSerials are n serials that no test certificate has.
func revokedSerials(n int) []*big.Int {
	out := make([]*big.Int, n)
	for i := range out {
		out[i] = big.NewInt(int64(i) + 1_000_000)
	}
	return out
}

// TestMaterialCacheShares: profiles naming the same CA bundle and CRL parse them once,
// and each still works and reports problems under its own path.
func TestMaterialCacheShares(t *testing.T) {
	factorytest.LeakCheck(t)
	S := factorytest.NewPKI(t)
	addr, _ := startGoTLSServer(t, serverSpec{leaf: S.Server})
	hostport := net.JoinHostPort("localhost", portOf(t, addr))
	// The CRL is the intermediate's, so the intermediate is in the bundle with the root.
	bundle := caBundle(t, 20, S.Root, S.Intermediate)
	crl := crlPEM(t, S.Intermediate, pki.CRLOptions{Revoked: append(revokedSerials(1000), S.Server.Serial())})

	cache := factory.NewMaterialCache()
	const profiles = 10
	cts := make([]*factory.ClientTLS, profiles)
	for i := range cts {
		// Fresh byte slices per profile, as a loader reading the same file twice makes.
		sec := &schema.TLS{
			CA:  []schema.MaterialSource{src("ca", bytes.Clone(bundle))},
			CRL: []schema.MaterialSource{src("crl", bytes.Clone(crl))},
		}
		ct, _, err := factory.CompileTLS(fmt.Sprintf("profiles.p%d.tls", i), sec, factory.WithMaterialCache(cache))
		require.NoError(t, err)
		cts[i] = ct
	}
	st := cache.Stats()
	require.Equal(t, uint64(4), st.Parses, "one CA source, one bundle, one CRL source, its issuer index")
	require.Equal(t, uint64(4*(profiles-1)), st.Hits)
	require.Equal(t, 4, st.Entries)
	// One issuer index for every profile, not a map each.
	for _, ct := range cts[1:] {
		require.Same(t, factory.CRLIssuerIndex(cts[0]), factory.CRLIssuerIndex(ct))
	}

	// The server is revoked by the shared CRL; each profile names its own CRL path.
	for i, ct := range cts {
		err := tlsTry(t, ct, addr, hostport)
		require.ErrorIs(t, err, factory.ErrTLSRevoked)
		require.Contains(t, err.Error(), fmt.Sprintf("profiles.p%d.tls.crl[0]", i))
	}
	runtime.KeepAlive(cts)
}

// TestMaterialCacheProblemsPerProfile: a cached bad source is reported under each
// profile's own path and origin, and a CRL not signed by one profile's CA is refused for
// that profile while another profile with the right CA accepts the same (cached) CRL.
func TestMaterialCacheProblemsPerProfile(t *testing.T) {
	S := factorytest.NewPKI(t)
	cache := factory.NewMaterialCache()
	opt := factory.WithMaterialCache(cache)
	leafPEM := S.Server.CertPEM() // not a CA

	for _, name := range []string{"a", "b"} {
		sec := &schema.TLS{CA: []schema.MaterialSource{factorytest.FileSrc(name+".pem", leafPEM, 0o644)}}
		_, _, err := factory.CompileTLS("profiles."+name+".tls", sec, opt, factory.WithMaterial(factorytest.SectionMaterial(sec)))
		require.ErrorIs(t, err, factory.ErrConfig)
		require.Contains(t, err.Error(), "profiles."+name+".tls.ca[0]")
		require.Contains(t, err.Error(), "file "+name+".pem")
		require.Contains(t, err.Error(), "is not a CA")
	}
	for _, name := range []string{"a", "b"} {
		sec := &schema.TLS{CA: caOf(S.Root), CRL: []schema.MaterialSource{src(name, []byte("garbage"))}}
		_, _, err := factory.CompileTLS("profiles."+name+".tls", sec, opt)
		require.ErrorIs(t, err, factory.ErrConfig)
		require.Contains(t, err.Error(), "profiles."+name+".tls.crl[0]")
		require.Contains(t, err.Error(), "not a CRL")
	}

	// Root's CRL: fine with Root configured; with an impostor of the same name it must fail
	// even though the parse (and its signature memo) is shared.
	rootCRL := crlPEM(t, S.Root, pki.CRLOptions{})
	_, _, err := factory.CompileTLS("profiles.good.tls", &schema.TLS{CA: caOf(S.Root), CRL: []schema.MaterialSource{src("crl", rootCRL)}}, opt)
	require.NoError(t, err)
	impostor, err := pki.NewRootCA(S.Root.Cert.Subject.CommonName)
	require.NoError(t, err)
	_, _, err = factory.CompileTLS("profiles.bad.tls", &schema.TLS{CA: caOf(impostor), CRL: []schema.MaterialSource{src("crl", rootCRL)}}, opt)
	require.ErrorIs(t, err, factory.ErrConfig)
	require.Contains(t, err.Error(), "profiles.bad.tls.crl[0]")
	require.Contains(t, err.Error(), "not signed by the configured CA")
}

// TestMaterialCacheReload: Update with new bytes parses them (new trust, new CRL takes
// effect); Update with the bytes already seen reuses the parse.
func TestMaterialCacheReload(t *testing.T) {
	factorytest.LeakCheck(t)
	S := factorytest.NewPKI(t)
	addr, _ := startGoTLSServer(t, serverSpec{leaf: S.Server})
	hostport := net.JoinHostPort("localhost", portOf(t, addr))
	cache := factory.NewMaterialCache()

	section := func(ca *pki.CA, revoked ...*big.Int) *schema.TLS {
		sec := &schema.TLS{CA: caOf(ca)}
		if ca == S.Root {
			// The intermediate's CRL is checked against the intermediate: configure it too.
			sec.CA = caOf(S.Root, S.Intermediate)
			sec.CRL = []schema.MaterialSource{src("crl", crlPEM(t, S.Intermediate, pki.CRLOptions{Revoked: revoked}))}
		}
		return sec
	}
	ct, _, err := factory.CompileTLS("profiles.p.tls", section(S.OtherRoot), factory.WithMaterialCache(cache))
	require.NoError(t, err)
	other, _, err := factory.CompileTLS("profiles.q.tls", section(S.OtherRoot), factory.WithMaterialCache(cache))
	require.NoError(t, err)
	require.ErrorIs(t, tlsTry(t, ct, addr, hostport), factory.ErrTLSUntrusted)

	before := cache.Stats().Parses
	_, err = factorytest.Update(ct, section(S.Root))
	require.NoError(t, err)
	require.Greater(t, cache.Stats().Parses, before, "new bytes are parsed")
	require.NoError(t, tlsTry(t, ct, addr, hostport))
	// The other profile sharing the old parse is unaffected.
	require.ErrorIs(t, tlsTry(t, other, addr, hostport), factory.ErrTLSUntrusted)

	// A fresh CRL (new bytes) revoking the server takes effect on reload.
	_, err = factorytest.Update(ct, section(S.Root, S.Server.Serial()))
	require.NoError(t, err)
	require.ErrorIs(t, tlsTry(t, ct, addr, hostport), factory.ErrTLSRevoked)

	// Same bytes again: no new parse.
	again := section(S.OtherRoot)
	before = cache.Stats().Parses
	_, err = factorytest.Update(ct, again)
	require.NoError(t, err)
	require.Equal(t, before, cache.Stats().Parses)
	require.ErrorIs(t, tlsTry(t, ct, addr, hostport), factory.ErrTLSUntrusted)
	require.Equal(t, uint64(3), ct.Generation())
	runtime.KeepAlive(other)
}

// TestMaterialCacheConcurrent: compiles racing on the same material all succeed and end
// up sharing one entry per parse.
func TestMaterialCacheConcurrent(t *testing.T) {
	S := factorytest.NewPKI(t)
	cache := factory.NewMaterialCache()
	bundle := caBundle(t, 10, S.Root, S.Intermediate)
	crl := crlPEM(t, S.Intermediate, pki.CRLOptions{Revoked: revokedSerials(100)})
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		cts []*factory.ClientTLS
	)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sec := &schema.TLS{CA: []schema.MaterialSource{src("ca", bundle)}, CRL: []schema.MaterialSource{src("crl", crl)}}
			ct, _, err := factory.CompileTLS(fmt.Sprintf("profiles.p%d.tls", i), sec, factory.WithMaterialCache(cache))
			if err == nil {
				_, err = factorytest.Update(ct, sec)
			}
			mu.Lock()
			defer mu.Unlock()
			require.NoError(t, err)
			cts = append(cts, ct)
		}()
	}
	wg.Wait()
	st := cache.Stats()
	require.Equal(t, 4, st.Entries)
	require.Equal(t, uint64(16*4), st.Parses+st.Hits)
	runtime.KeepAlive(cts)
}

// TestMaterialCacheWeak: once no compiled profile uses a parse, the garbage collector
// drops it from the cache (CRLs are replaced often and can be megabytes).
func TestMaterialCacheWeak(t *testing.T) {
	S := factorytest.NewPKI(t)
	cache := factory.NewMaterialCache()
	sec := &schema.TLS{CA: caOf(S.Root), CRL: []schema.MaterialSource{src("crl", crlPEM(t, S.Root, pki.CRLOptions{}))}}
	ct, _, err := factory.CompileTLS("profiles.p.tls", sec, factory.WithMaterialCache(cache))
	require.NoError(t, err)
	require.Equal(t, 4, cache.Stats().Entries)
	runtime.GC()
	require.Equal(t, 4, cache.Stats().Entries, "in use: kept")
	runtime.KeepAlive(ct)
	// Cleanups run on the runtime's own goroutine after a collection: poll for them.
	require.Eventually(t, func() bool {
		runtime.GC()
		return cache.Stats().Entries == 0
	}, 10*time.Second, 10*time.Millisecond)
}

// TestMaterialCacheNil: a nil cache caches nothing and compiles as without one.
func TestMaterialCacheNil(t *testing.T) {
	S := factorytest.NewPKI(t)
	var cache *factory.MaterialCache
	_, _, err := factory.CompileTLS("profiles.p.tls", &schema.TLS{CA: caOf(S.Root)}, factory.WithMaterialCache(cache))
	require.NoError(t, err)
	require.Equal(t, factory.MaterialCacheStats{}, cache.Stats())
}

// TestMaterialCacheBatch: within a Batch the digest of a byte slice is remembered (one
// hash for every profile sharing it); once the Batch returns it is forgotten, so bytes
// rewritten in place are hashed, and parsed, anew.
func TestMaterialCacheBatch(t *testing.T) {
	S := factorytest.NewPKI(t)
	cache := factory.NewMaterialCache()
	a, b := S.Root.CertPEM(), S.OtherRoot.CertPEM()
	buf := bytes.Repeat([]byte("\n"), max(len(a), len(b)))
	copy(buf, a)
	var held []*factory.ClientTLS // the cache holds its entries weakly
	compile := func(name string) {
		ct, _, err := factory.CompileTLS("profiles."+name+".tls", &schema.TLS{CA: []schema.MaterialSource{src("ca", buf)}},
			factory.WithMaterialCache(cache))
		require.NoError(t, err)
		held = append(held, ct)
	}
	cache.Batch(func() {
		compile("p")
		compile("q")
	})
	parses := cache.Stats().Parses
	require.Equal(t, uint64(2), parses, "one CA source and one bundle")

	copy(buf, bytes.Repeat([]byte("\n"), len(buf)))
	copy(buf, b)
	compile("r")
	require.Equal(t, parses+2, cache.Stats().Parses, "the same slice with new bytes is a new parse after the batch")
	runtime.KeepAlive(held)
}

// TestMaterialCacheBatchSharesWarningText: the profiles of one Batch naming one CRL due for
// renewal share the text of its warning, one string rather than one each (100,000
// profiles held 170 bytes each of the same words); outside a batch each compile words
// its own.
func TestMaterialCacheBatchSharesWarningText(t *testing.T) {
	S := factorytest.NewPKI(t)
	crl, err := S.Root.CRL(pki.CRLOptions{NextUpdate: time.Now().Add(23 * time.Hour)})
	require.NoError(t, err)
	cache := factory.NewMaterialCache()
	var (
		held []*factory.ClientTLS
		msgs []string
	)
	compile := func(name string) {
		sec := &schema.TLS{CA: []schema.MaterialSource{src("ca", S.Root.CertPEM())}, CRL: []schema.MaterialSource{src("crl", crl)}}
		ct, ws, err := factory.CompileTLS("profiles."+name+".tls", sec, factory.WithMaterialCache(cache))
		require.NoError(t, err)
		held = append(held, ct)
		var renewal []string
		for _, w := range ws {
			if strings.Contains(w.Message, "is due for renewal") {
				require.Equal(t, "profiles."+name+".tls.crl[0]", w.Path)
				renewal = append(renewal, w.Message)
			}
		}
		require.Len(t, renewal, 1, "%v", ws)
		msgs = append(msgs, renewal[0])
	}
	cache.Batch(func() {
		compile("p")
		compile("q")
	})
	compile("r")
	compile("s")
	for _, m := range msgs[1:] {
		require.Equal(t, msgs[0], m)
	}
	require.Same(t, unsafe.StringData(msgs[0]), unsafe.StringData(msgs[1]), "one text in a batch")
	require.NotSame(t, unsafe.StringData(msgs[2]), unsafe.StringData(msgs[3]), "outside a batch, each its own")
	runtime.KeepAlive(held)
}
