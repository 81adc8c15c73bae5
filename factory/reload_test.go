package factory_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/factory/cassandra"
	"github.com/connfactory/connfactory/factory/riak"
	"github.com/connfactory/connfactory/loaders"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/cqltest"
	"github.com/connfactory/connfactory/testserver/pki"
	"github.com/connfactory/connfactory/testserver/riaktest"
)

// rlPeers records, on the server side, which client certificate each connection
// presented, keyed by the client's address, and lets a test swap the server's own
// certificate. Both test servers take a *tls.Config; GetConfigForClient is how a
// per-connection hook learns the connection's address.
type rlPeers struct {
	mu     sync.Mutex
	byAddr map[string]*big.Int
	last   *big.Int
	count  int
	server atomic.Pointer[tls.Certificate] // nil: base's certificate
	// full and resumed count the handshakes (tls.ConnectionState.DidResume).
	full, resumed int
}

// handshakes returns the full and the resumed handshakes so far.
func (p *rlPeers) handshakes() (full, resumed int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.full, p.resumed
}

// config wraps base: client certificates required and verified against base.ClientCAs,
// each connection's leaf serial recorded.
func (p *rlPeers) config(base *tls.Config) *tls.Config {
	p.byAddr = map[string]*big.Int{}
	out := base.Clone()
	out.ClientAuth = tls.RequireAndVerifyClientCert
	out.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		addr := hello.Conn.RemoteAddr().String()
		c := base.Clone()
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.MaxVersion = tls.VersionTLS12 // Riak's default; it keeps cqltest on the same footing
		if sc := p.server.Load(); sc != nil {
			c.Certificates = []tls.Certificate{*sc}
			// A server that moves to a new certificate (a restart, in practice) no longer
			// resumes the sessions of the old one.
			c.SetSessionTicketKeys([][32]byte{sha256.Sum256(sc.Certificate[0])})
		}
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			p.mu.Lock()
			if cs.DidResume {
				p.resumed++
			} else {
				p.full++
			}
			p.mu.Unlock()
			if len(cs.PeerCertificates) > 0 {
				p.mu.Lock()
				p.byAddr[addr] = cs.PeerCertificates[0].SerialNumber
				p.last = cs.PeerCertificates[0].SerialNumber
				p.count++
				p.mu.Unlock()
			}
			return nil
		}
		return c, nil
	}
	return out
}

// lastSerial is the serial the latest connection presented.
func (p *rlPeers) lastSerial() *big.Int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// serialOf is the serial the connection from addr presented.
func (p *rlPeers) serialOf(addr string) *big.Int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.byAddr[addr]
}

// rlFiles is TLS material on disk, as a profile loaded from a file names it.
type rlFiles struct {
	t                   testing.TB
	dir                 string
	ca, cert, key, crl  string
	withCRL             bool
	section             *schema.TLS              // file sources only
	material            *loaders.ProfileMaterial // see resolved
	refreshes, failures atomic.Int32
}

func newRLFiles(t testing.TB, set *pki.Set, client *pki.Leaf, withCRL bool) *rlFiles {
	dir := t.TempDir()
	f := &rlFiles{t: t, dir: dir, withCRL: withCRL,
		ca: filepath.Join(dir, "ca.pem"), cert: filepath.Join(dir, "client.pem"),
		key: filepath.Join(dir, "client.key"), crl: filepath.Join(dir, "crl.pem")}
	if withCRL {
		// The CRL is the intermediate's: its signature is checked against tls.ca, so the
		// intermediate is configured next to the root, in the same file.
		f.write(f.ca, slices.Concat(set.Root.CertPEM(), set.Intermediate.CertPEM()))
	} else {
		f.write(f.ca, set.Root.CertPEM())
	}
	f.writeLeaf(client)
	f.section = &schema.TLS{
		CA:   []schema.MaterialSource{{File: f.ca}},
		Cert: &schema.MaterialSource{File: f.cert},
		Key:  &schema.MaterialSource{File: f.key},
	}
	if withCRL {
		crl, err := set.Intermediate.CRLPEM(pki.CRLOptions{})
		require.NoError(t, err)
		f.write(f.crl, crl)
		f.section.CRL = []schema.MaterialSource{{File: f.crl}}
	}
	return f
}

// write replaces path atomically (a reload running meanwhile sees the old file or the
// new one, never a half-written one), as deployment tools do.
func (f *rlFiles) write(path string, data []byte) {
	f.t.Helper()
	tmp := path + ".tmp"
	require.NoError(f.t, os.WriteFile(tmp, data, 0o600))
	require.NoError(f.t, os.Rename(tmp, path))
}

func (f *rlFiles) writeLeaf(l *pki.Leaf) {
	f.write(f.cert, l.ChainPEM())
	f.write(f.key, l.KeyPEM())
}

// load is the profile loaded from these files by package loaders: its section (reload
// set to every) and its resolved material, whose Reload reads the files again.
func (f *rlFiles) load(every time.Duration) (*schema.TLS, *loaders.ProfileMaterial) {
	f.t.Helper()
	sec := *f.section
	sec.Reload = schema.Duration(every)
	cfg, mat, err := loaders.Load(loaders.Options{EnvPrefix: "-",
		Base: &schema.Config{Profiles: map[string]*schema.Profile{"rl": {TLS: &sec}}}})
	require.NoError(f.t, err)
	return cfg.Profiles["rl"].TLS, mat.Profile("rl")
}

// resolved is the section as loaded, for the initial compile, with reload set to every;
// refresher then gives its material.
func (f *rlFiles) resolved(every time.Duration) *schema.TLS {
	sec, pm := f.load(every)
	f.material = pm
	return sec
}

// refresher is the WithMaterial of the profile loaded by resolved: what the facade
// passes. It counts reloads and failed ones.
func (f *rlFiles) refresher() factory.Option {
	if f.material == nil {
		f.resolved(0)
	}
	return factory.WithMaterial(countingSource{f.material, f})
}

// countingSource is a loaded profile's material that counts its reloads.
type countingSource struct {
	*loaders.ProfileMaterial
	f *rlFiles
}

func (c countingSource) Reload(ctx context.Context) error {
	c.f.refreshes.Add(1)
	err := c.ProfileMaterial.Reload(ctx)
	if err != nil {
		c.f.failures.Add(1)
	}
	return err
}

// rlReloads collects reload callbacks; every one must name profile.
type rlReloads struct {
	ch       chan error
	profiles chan string
}

func newRLReloads() *rlReloads {
	return &rlReloads{ch: make(chan error, 64), profiles: make(chan string, 64)}
}

func (r *rlReloads) option() factory.Option {
	return factory.WithReloadCallback(func(p string, err error) {
		r.profiles <- p
		r.ch <- err
	})
}

// next waits for the next callback.
func (r *rlReloads) next(t testing.TB) error {
	t.Helper()
	select {
	case err := <-r.ch:
		require.Contains(t, []string{"cass_test", "riak_test"}, <-r.profiles)
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("no reload callback within 10 s")
		return nil
	}
}

func rlIssue(t testing.TB, set *pki.Set, cn string) *pki.Leaf {
	t.Helper()
	l, err := set.Intermediate.Issue(pki.LeafOptions{CommonName: cn, Client: true})
	require.NoError(t, err)
	return l
}

// rlBackend abstracts the two connectors for the tests that run against both.
type rlBackend struct {
	name    string
	peers   *rlPeers
	connect func(t testing.TB, sec *schema.TLS, opts ...factory.Option) (reloadNow func(context.Context) error, tlsOf func() *factory.ClientTLS)
	// dial makes one connection, uses it once and returns the serial of the client
	// certificate the server saw on it. It does not call t: rotation tests run it from
	// several goroutines.
	dial func() (*big.Int, error)
	cass *cassandra.Connector // the Cassandra connector, once connected
	// check runs the connector's Check: exactly one connection.
	check func(context.Context) (*factory.Report, error)
}

// rlCassandra: a cqltest server requiring client certificates; password auth on top.
func rlCassandra(t *testing.T, set *pki.Set) *rlBackend {
	b := &rlBackend{name: "cassandra", peers: &rlPeers{}}
	srv := cassStart(t, cqltest.Options{TLS: b.peers.config(set.ServerTLSConfig()),
		Credentials: map[string]string{cassUser: cassPassword}})
	var c *cassandra.Connector
	b.connect = func(t testing.TB, sec *schema.TLS, opts ...factory.Option) (func(context.Context) error, func() *factory.ClientTLS) {
		c = cassConnector(t, cassProfile(srv.Addr(), sec), opts...)
		c.Start()
		b.cass, b.check = c, c.Check
		return c.ReloadNow, c.TLS
	}
	b.dial = func() (*big.Int, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := c.Dial(ctx)
		if err != nil {
			return nil, err
		}
		defer s.Close()
		if err := rlQuery(s); err != nil {
			return nil, err
		}
		return b.peers.lastSerial(), nil
	}
	return b
}

// rlRiak: a riaktest server with security on; the profile authenticates by password
// and presents its client certificate, which the server requires.
func rlRiak(t *testing.T, set *pki.Set) *rlBackend {
	b := &rlBackend{name: "riak", peers: &rlPeers{}}
	opts := riaktest.Options{Security: true, TLS: b.peers.config(set.ServerTLSConfig()),
		Users: []riaktest.User{{Name: "pwuser", Source: riaktest.SourcePassword, Password: riakPassword}}}
	srv := startRiak(t, opts)
	var c *riak.Connector
	b.connect = func(t testing.TB, sec *schema.TLS, opts ...factory.Option) (func(context.Context) error, func() *factory.ClientTLS) {
		log := &syncBuffer{}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("connector log:\n%s", log.String())
			}
		})
		opts = append([]factory.Option{debugLogger(log)}, opts...)
		c = newRiak(t, riakProfile([]string{srv.Addr()}, schema.MechanismPassword, "pwuser", riakPassword, sec), opts...)
		c.Start()
		b.check = c.Check
		return c.ReloadNow, c.TLS
	}
	b.dial = func() (*big.Int, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// DialConn returns once the server has answered a ping after authentication.
		conn, err := c.DialConn(ctx)
		if err != nil {
			return nil, err
		}
		defer func() { _ = conn.Close() }()
		return b.peers.serialOf(conn.LocalAddr().String()), nil
	}
	return b
}

// rlEachBackend runs f against a fresh server of each backend.
func rlEachBackend(t *testing.T, f func(t *testing.T, set *pki.Set, b *rlBackend)) {
	for _, mk := range []struct {
		name string
		new  func(*testing.T, *pki.Set) *rlBackend
	}{{"cassandra", rlCassandra}, {"riak", rlRiak}} {
		t.Run(mk.name, func(t *testing.T) {
			cassLeakCheck(t)
			set := cassPKI(t)
			f(t, set, mk.new(t, set))
		})
	}
}

// rlQuery reads system.local through s.
func rlQuery(s *gocql.Session) error {
	var v string
	if err := s.Query("SELECT release_version FROM system.local").Scan(&v); err != nil {
		return err
	}
	if v != cqltest.DefaultReleaseVersion {
		return fmt.Errorf("release_version %q", v)
	}
	return nil
}

func rlDialOK(t *testing.T, b *rlBackend) *big.Int {
	t.Helper()
	serial, err := b.dial()
	require.NoError(t, err)
	require.NotNil(t, serial, "the server recorded no client certificate")
	return serial
}

// TestReloadNowRotatesClientCertificate: for both backends, a client certificate
// rotated on disk is presented from the next dial on; broken material (garbage PEM, a
// key that does not match, a missing file) is refused, reported to the callback and the
// log, and the last good material keeps working.
func TestReloadNowRotatesClientCertificate(t *testing.T) {
	rlEachBackend(t, func(t *testing.T, set *pki.Set, b *rlBackend) {
		first, second := rlIssue(t, set, "app"), rlIssue(t, set, "app")
		files := newRLFiles(t, set, first, false)
		reloads, log := newRLReloads(), &syncBuffer{}
		// An hour: the loop runs but never ticks during the test; ReloadNow drives it.
		reloadNow, tlsOf := b.connect(t, files.resolved(time.Hour), files.refresher(), reloads.option(), debugLogger(log))
		require.Zero(t, tlsOf().Generation())
		require.Equal(t, first.Serial(), rlDialOK(t, b))
		// Nothing changed: success, but no new generation.
		require.NoError(t, reloadNow(context.Background()))
		require.NoError(t, reloads.next(t))
		require.Zero(t, tlsOf().Generation())

		files.writeLeaf(second)
		require.NoError(t, reloadNow(context.Background()))
		require.NoError(t, reloads.next(t))
		require.Equal(t, uint64(1), tlsOf().Generation())
		require.Equal(t, second.Serial(), tlsOf().ClientCertificate().SerialNumber)
		require.Equal(t, second.Serial(), rlDialOK(t, b))
		require.Contains(t, log.String(), "tls material reloaded")
		require.Contains(t, log.String(), "client_cert_not_after=")

		third := rlIssue(t, set, "app")
		broken := []struct {
			name, want string
			write      func()
		}{
			{"garbage certificate", ".tls.cert", func() {
				files.write(files.cert, []byte("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"))
			}},
			{"key of another certificate", ".tls", func() { files.write(files.cert, third.ChainPEM()); files.write(files.key, first.KeyPEM()) }},
			{"missing key", "profiles.rl.tls.key", func() { require.NoError(t, os.Remove(files.key)) }},
			{"garbage CA", ".tls.ca", func() { files.writeLeaf(third); files.write(files.ca, []byte("garbage")) }},
		}
		for _, bc := range broken {
			bc.write()
			err := reloadNow(context.Background())
			require.Error(t, err, bc.name)
			require.ErrorIs(t, err, factory.ErrConfig, bc.name)
			require.Contains(t, err.Error(), bc.want, bc.name)
			require.Equal(t, err, reloads.next(t), bc.name)
			require.Equal(t, uint64(1), tlsOf().Generation(), bc.name)
			// The last good material is still presented.
			require.Equal(t, second.Serial(), rlDialOK(t, b), bc.name)
			files.write(files.ca, set.Root.CertPEM())
			files.writeLeaf(second)
		}
		logs := log.String()
		require.Contains(t, logs, "tls reload failed: the last good material stays in use")
		require.Contains(t, logs, "level=ERROR")
		for _, secret := range [][]byte{first.KeyPEM(), second.KeyPEM(), third.KeyPEM()} {
			require.NotContains(t, logs, strings.TrimSpace(string(secret)))
		}

		// Good material again: the next generation.
		files.writeLeaf(third)
		require.NoError(t, reloadNow(context.Background()))
		require.NoError(t, reloads.next(t))
		require.Equal(t, uint64(2), tlsOf().Generation())
		require.Equal(t, third.Serial(), rlDialOK(t, b))
	})
}

// TestReloadNowRotatesCA: the server moves to a certificate of a new CA; the client
// refuses it (tls_untrusted) until its CA file is rotated and reloaded.
func TestReloadNowRotatesCA(t *testing.T) {
	rlEachBackend(t, func(t *testing.T, set *pki.Set, b *rlBackend) {
		files := newRLFiles(t, set, set.Client, false)
		reloads := newRLReloads()
		reloadNow, tlsOf := b.connect(t, files.resolved(time.Hour), files.refresher(), reloads.option())
		rlDialOK(t, b)

		newRoot, err := pki.NewRootCA("rotated root")
		require.NoError(t, err)
		srvLeaf, err := newRoot.Issue(pki.LeafOptions{CommonName: "localhost", DNSNames: []string{"localhost"},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, Server: true})
		require.NoError(t, err)
		cert := srvLeaf.TLSCertificate()
		b.peers.server.Store(&cert)
		_, err = b.dial()
		require.ErrorIs(t, err, factory.ErrTLSUntrusted)

		// A bundle of both roots, as a rotation would ship it.
		files.write(files.ca, append(set.Root.CertPEM(), newRoot.CertPEM()...))
		require.NoError(t, reloadNow(context.Background()))
		require.NoError(t, reloads.next(t))
		require.Equal(t, uint64(1), tlsOf().Generation())
		rlDialOK(t, b)
	})
}

// TestReloadNowCRLRevokesServer: a CRL update that revokes the server's certificate
// makes the next dial fail tls_revoked; connections are refused until the server moves
// to a new certificate.
func TestReloadNowCRLRevokesServer(t *testing.T) {
	rlEachBackend(t, func(t *testing.T, set *pki.Set, b *rlBackend) {
		files := newRLFiles(t, set, set.Client, true)
		reloads := newRLReloads()
		reloadNow, _ := b.connect(t, files.resolved(time.Hour), files.refresher(), reloads.option())
		rlDialOK(t, b)

		crl, err := set.Intermediate.CRLPEM(pki.CRLOptions{Revoked: []*big.Int{set.Server.Serial()}, Number: 1})
		require.NoError(t, err)
		files.write(files.crl, crl)
		require.NoError(t, reloadNow(context.Background()))
		require.NoError(t, reloads.next(t))
		_, err = b.dial()
		require.ErrorIs(t, err, factory.ErrTLSRevoked)

		// A CRL that does not parse is refused; the revoking one stays in force.
		files.write(files.crl, []byte("-----BEGIN X509 CRL-----\nbm90IGEgQ1JM\n-----END X509 CRL-----\n"))
		err = reloadNow(context.Background())
		require.ErrorIs(t, err, factory.ErrConfig)
		require.ErrorContains(t, err, ".tls.crl[0]")
		require.Equal(t, err, reloads.next(t))
		_, err = b.dial()
		require.ErrorIs(t, err, factory.ErrTLSRevoked)

		// Dropping the intermediate from tls.ca leaves its CRL unverifiable: refused too,
		// and the revoking CRL still stays in force.
		files.write(files.crl, crl)
		files.write(files.ca, set.Root.CertPEM())
		err = reloadNow(context.Background())
		require.ErrorIs(t, err, factory.ErrConfig)
		require.ErrorContains(t, err, ".tls.crl[0]")
		require.ErrorContains(t, err, "is not a CA in tls.ca")
		require.Equal(t, err, reloads.next(t))
		_, err = b.dial()
		require.ErrorIs(t, err, factory.ErrTLSRevoked)
	})
}

// TestReloadTicker: with tls.reload set, the connector reloads by itself on every
// interval; Close stops the loop and waits for it (the leak check sees no goroutine).
func TestReloadTicker(t *testing.T) {
	rlEachBackend(t, func(t *testing.T, set *pki.Set, b *rlBackend) {
		files := newRLFiles(t, set, set.Client, false)
		reloads := newRLReloads()
		_, tlsOf := b.connect(t, files.resolved(10*time.Millisecond), files.refresher(), reloads.option())
		second := rlIssue(t, set, "app")
		files.writeLeaf(second)
		// Ticks keep coming; wait until one has read the new files. One may fail, having
		// read the new certificate with the old key.
		for tlsOf().ClientCertificate().SerialNumber.Cmp(second.Serial()) != 0 {
			_ = reloads.next(t)
		}
		require.Equal(t, second.Serial(), rlDialOK(t, b))

		// A failing tick is reported and keeps the material.
		files.write(files.cert, []byte("garbage"))
		for {
			if err := reloads.next(t); err != nil {
				require.ErrorIs(t, err, factory.ErrConfig)
				break
			}
		}
		require.Equal(t, second.Serial(), rlDialOK(t, b))
	})
}

// TestReloadWithoutRefresher: tls.reload on a profile built in Go (no material source) is a
// warning, no loop runs, and ReloadNow says why it cannot reload.
func TestReloadWithoutRefresher(t *testing.T) {
	cassLeakCheck(t)
	set := cassPKI(t)
	sec := cassTLS(set, true)
	sec.Reload = schema.Duration(time.Millisecond)
	c := cassConnector(t, cassProfile("localhost:9042", sec))
	require.True(t, hasWarning(c.Warnings(), "profiles.cass_test.tls.reload", "cannot be re-read"))
	err := c.ReloadNow(context.Background())
	require.ErrorIs(t, err, factory.ErrConfig)
	require.Contains(t, err.Error(), "no material source")

	r := newRiak(t, riakProfile([]string{"127.0.0.1:8087"}, schema.MechanismCertificate, "app", "", func() *schema.TLS {
		s := riakCertTLS(riakPKI.Client)
		s.Reload = schema.Duration(time.Second)
		return s
	}()))
	require.True(t, hasWarning(r.Warnings(), "profiles.riak_test.tls.reload", "cannot be re-read"))

	// Plaintext: nothing to reload.
	plain := cassProfile("localhost:9042", &schema.TLS{Mode: schema.TLSDisable, Reload: schema.Duration(time.Second)})
	pc, err := cassandra.New("plain", plain, factory.WithMaterial(sectionMaterial(nil)))
	require.NoError(t, err)
	require.True(t, hasWarning(pc.Warnings(), "profiles.plain.tls.reload", "does not use TLS"))
	require.ErrorIs(t, pc.ReloadNow(context.Background()), factory.ErrConfig)
	require.NoError(t, pc.Close())
	require.NoError(t, pc.Close())
	require.ErrorIs(t, pc.ReloadNow(context.Background()), factory.ErrConfig)
}

// TestReloadRefresherErrors: a material source whose reload fails keeps the material; a
// cancelled context stops the reload before it reads anything.
func TestReloadRefresherErrors(t *testing.T) {
	cassLeakCheck(t)
	set := cassPKI(t)
	var calls atomic.Int32
	fail := errors.New("vault unreachable")
	refresh := reloadFrom(func(context.Context) (*schema.TLS, error) { calls.Add(1); return nil, fail })
	c := cassConnector(t, cassProfile("localhost:9042", cassTLS(set, true)), refresh)
	err := c.ReloadNow(context.Background())
	require.ErrorIs(t, err, fail)
	require.ErrorIs(t, err, factory.ErrConfig)
	require.Zero(t, c.TLS().Generation())

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls.Store(0)
	require.ErrorIs(t, c.ReloadNow(ctx), factory.ErrTimeout)
	require.Zero(t, calls.Load())
}

// TestReloadCloseDuringReload: Close while a periodic reload is in flight cancels it,
// waits for it, and leaves no goroutine; the interrupted reload is reported.
func TestReloadCloseDuringReload(t *testing.T) {
	cassLeakCheck(t)
	set := cassPKI(t)
	entered := make(chan struct{}, 1) // buffered: the first tick is never dropped
	reloads := newRLReloads()
	sec := cassTLS(set, true)
	sec.Reload = schema.Duration(time.Millisecond)
	c, err := cassandra.New("cass_test", cassProfile("localhost:9042", sec), reloads.option(),
		factory.WithLogger(slog.New(slog.DiscardHandler)),
		reloadFrom(func(ctx context.Context) (*schema.TLS, error) {
			select {
			case entered <- struct{}{}:
			default:
			}
			<-ctx.Done() // a slow source: only Close ends it
			return nil, ctx.Err()
		}))
	require.NoError(t, err)
	c.Start()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the reload loop did not tick")
	}
	require.NoError(t, c.Close())
	require.ErrorIs(t, reloads.next(t), context.Canceled)
	require.NoError(t, c.Close())
}
