package factory_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/opensslbin"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/pki"
)

// tlsLeakCheck verifies, after every other cleanup (servers included), that the test
// left no goroutine behind.
func tlsLeakCheck(t *testing.T) {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
}

func tlsNewSet(t testing.TB) *pki.Set {
	t.Helper()
	s, err := pki.NewSet()
	require.NoError(t, err)
	return s
}

// src is in-memory material, written inline (base64: the exact bytes, PEM or DER).
func src(_ string, data []byte) schema.MaterialSource {
	return schema.MaterialSource{Base64: schema.Secret(base64.StdEncoding.EncodeToString(data))}
}

// fileSrc is material a loader read from a file with the given permission bits (see
// sectionSource, which compile and compileErr pass).
func fileSrc(name string, data []byte, mode uint32) schema.MaterialSource {
	testFiles.Store(name, testFile{data: data, mode: mode})
	return schema.MaterialSource{File: name}
}

func srcPtr(m schema.MaterialSource) *schema.MaterialSource { return &m }

func secret(s string) *schema.SecretSource { return &schema.SecretSource{Value: schema.Secret(s)} }

func caOf(cas ...*pki.CA) []schema.MaterialSource {
	var out []schema.MaterialSource
	for _, ca := range cas {
		out = append(out, src("ca", ca.CertPEM()))
	}
	return out
}

func issue(t testing.TB, ca *pki.CA, o pki.LeafOptions) *pki.Leaf {
	t.Helper()
	l, err := ca.Issue(o)
	require.NoError(t, err)
	return l
}

func crlPEM(t testing.TB, ca *pki.CA, o pki.CRLOptions) []byte {
	t.Helper()
	b, err := ca.CRLPEM(o)
	require.NoError(t, err)
	return b
}

func compile(t testing.TB, sec *schema.TLS, opts ...factory.Option) (*factory.ClientTLS, []factory.Warning) {
	t.Helper()
	ct, warns, err := factory.CompileTLS("profiles.p.tls", sec, append([]factory.Option{factory.WithMaterial(sectionMaterial(sec))}, opts...)...)
	require.NoError(t, err)
	require.NotNil(t, ct)
	return ct, warns
}

// compileErr compiles sec expecting a config error, and returns its text.
func compileErr(t testing.TB, sec *schema.TLS, opts ...factory.Option) string {
	t.Helper()
	ct, _, err := factory.CompileTLS("profiles.p.tls", sec, append([]factory.Option{factory.WithMaterial(sectionMaterial(sec))}, opts...)...)
	require.Error(t, err)
	require.Nil(t, ct)
	require.ErrorIs(t, err, factory.ErrConfig)
	require.ErrorIs(t, err, schema.ErrInvalid)
	return err.Error()
}

func hasWarning(warns []factory.Warning, path, substr string) bool {
	for _, w := range warns {
		if w.Path == path && strings.Contains(w.Message, substr) {
			return true
		}
	}
	return false
}

// serverSpec describes a TLS server independently of its implementation.
type serverSpec struct {
	leaf       *pki.Leaf
	clientCA   *pki.CA // non-nil: a client certificate is required and verified against it
	minVersion uint16  // 0: 1.2
	maxVersion uint16  // 0: 1.3
	ciphers    []uint16
}

// tlsServerImpl starts a server for a spec and returns its 127.0.0.1 address; the
// server stops in t.Cleanup.
type tlsServerImpl struct {
	name  string
	start func(t *testing.T, s serverSpec) (addr string, clientCerts <-chan *x509.Certificate)
}

var serverImpls = []tlsServerImpl{
	{"go", func(t *testing.T, s serverSpec) (string, <-chan *x509.Certificate) { return startGoTLSServer(t, s) }},
	{"openssl", startOpenSSLServer},
}

// startGoTLSServer serves s with crypto/tls: after a handshake it reads one line, answers
// one line and closes. Each verified client leaf is sent on the returned channel (best
// effort, buffered).
func startGoTLSServer(t testing.TB, s serverSpec) (string, <-chan *x509.Certificate) {
	t.Helper()
	cfg := &tls.Config{
		Certificates: []tls.Certificate{s.leaf.TLSCertificate()},
		MinVersion:   s.minVersion,
		MaxVersion:   s.maxVersion,
		CipherSuites: s.ciphers,
	}
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	if s.clientCA != nil {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = s.clientCA.Pool()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	certs := make(chan *x509.Certificate, 64)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
					_ = c.Close()
				}()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				tc := tls.Server(c, cfg)
				if err := tc.Handshake(); err != nil {
					return
				}
				if pc := tc.ConnectionState().PeerCertificates; len(pc) > 0 {
					select {
					case certs <- pc[0]:
					default:
					}
				}
				if _, err := bufio.NewReader(tc).ReadString('\n'); err != nil {
					return
				}
				_, _ = tc.Write([]byte("HTTP/1.0 200 ok\r\n\r\n"))
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String(), certs
}

// opensslBin finds openssl by the rule testserver/pki's tests use too.
func opensslBin(t *testing.T) string { t.Helper(); return opensslbin.Path(t) }

var opensslVersionNames = map[uint16]string{
	tls.VersionTLS10: "TLSv1", tls.VersionTLS11: "TLSv1.1", tls.VersionTLS12: "TLSv1.2", tls.VersionTLS13: "TLSv1.3",
}

// startOpenSSLServer runs `openssl s_server -www` for s. s_server cannot report a port
// it picked, so a free port is found by listening on :0 in Go and closing; another
// process may take it in between, so a bind failure retries with a new port. Readiness
// is polled with TCP connects. The process is killed in t.Cleanup.
func startOpenSSLServer(t *testing.T, s serverSpec) (string, <-chan *x509.Certificate) {
	t.Helper()
	bin := opensslBin(t)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o600))
		return p
	}
	args := []string{"s_server", "-www", "-quiet",
		"-cert", write("cert.pem", s.leaf.CertPEM()),
		"-key", write("key.pem", s.leaf.KeyPEM()),
	}
	if chain := bytes.TrimPrefix(s.leaf.ChainPEM(), s.leaf.CertPEM()); len(chain) > 0 {
		args = append(args, "-cert_chain", write("chain.pem", chain))
	}
	minV, maxV := s.minVersion, s.maxVersion
	if minV == 0 {
		minV = tls.VersionTLS12
	}
	if maxV == 0 {
		maxV = tls.VersionTLS13
	}
	args = append(args, "-min_protocol", opensslVersionNames[minV], "-max_protocol", opensslVersionNames[maxV])
	if len(s.ciphers) > 0 {
		var names []string
		for _, id := range s.ciphers {
			n := factory.CipherSuiteOpenSSLName(id)
			require.NotEmpty(t, n, "no OpenSSL name for suite %#x", id)
			names = append(names, n)
		}
		args = append(args, "-cipher", strings.Join(names, ":"))
	}
	if minV < tls.VersionTLS12 {
		args = append(args, "-cipher", "DEFAULT:@SECLEVEL=0")
	}
	if s.clientCA != nil {
		args = append(args, "-Verify", "1", "-verify_return_error", "-CAfile", write("clientca.pem", s.clientCA.CertPEM()))
	}
	for attempt := 0; attempt < 5; attempt++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		port := ln.Addr().(*net.TCPAddr).Port
		require.NoError(t, ln.Close())
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

		ctx, cancel := context.WithCancel(context.Background())
		cmd := exec.CommandContext(ctx, bin, append([]string{"s_server", "-accept", addr}, args[1:]...)...)
		var out syncBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(t, cmd.Start())
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		stop := func() { cancel(); <-done }

		ready, exited := waitTCP(addr, done, 10*time.Second)
		switch {
		case ready:
			t.Cleanup(stop)
			return addr, nil
		case exited && strings.Contains(out.String(), "in use"):
			stop()
			continue // the port was taken between our probe and s_server's bind
		default:
			stop()
			t.Fatalf("openssl s_server did not start: %s", out.String())
		}
	}
	t.Fatal("openssl s_server: no free port after 5 attempts")
	return "", nil
}

// waitTCP polls addr until it accepts a connection, the process exits or the timeout.
func waitTCP(addr string, exited <-chan struct{}, timeout time.Duration) (ready, gone bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return true, false
		}
		select {
		case <-exited:
			return false, true
		case <-deadline.C:
			return false, false
		case <-tick.C:
		}
	}
}

// tlsTry connects to addr as hostport: TCP, Handshake, then one request and the first
// byte of the answer, because with TLS 1.3 a refused client certificate shows only there.
func tlsTry(t testing.TB, ct *factory.ClientTLS, addr, hostport string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	require.NoError(t, err)
	conn, err := ct.Handshake(ctx, raw, hostport)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte("GET / HTTP/1.0\r\n\r\n")); err != nil {
		return factory.ClassifyTLSError(err, hostport)
	}
	if _, err := conn.Read(make([]byte, 1)); err != nil {
		return factory.ClassifyTLSError(err, hostport)
	}
	return nil
}

func portOf(t testing.TB, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	return p
}

// TestHandshakes runs each case against a crypto/tls server and `openssl s_server`.
func TestHandshakes(t *testing.T) {
	tlsLeakCheck(t)
	S := tlsNewSet(t)
	now := time.Now()

	dnsOnly := issue(t, S.Intermediate, pki.LeafOptions{CommonName: "dns-only", DNSNames: []string{"localhost"}, Server: true})
	expired := issue(t, S.Intermediate, pki.LeafOptions{CommonName: "expired", DNSNames: []string{"localhost"}, Server: true}.Expired())
	encKey, err := S.Client.EncryptedPKCS8PEM("s3cret-pass")
	require.NoError(t, err)
	legacyKey, err := S.Client.LegacyEncryptedPEM("s3cret-pass")
	require.NoError(t, err)
	p12, err := S.Client.PKCS12("s3cret-pass")
	require.NoError(t, err)
	// A re-keyed intermediate of the same name: the configured intermediate's CRL names
	// its issuer, but it did not sign it, so revocation of its leaf cannot be checked.
	rekeyedInter, err := S.Root.NewIntermediate(S.Intermediate.Cert.Subject.CommonName)
	require.NoError(t, err)
	rekeyed := issue(t, rekeyedInter, pki.LeafOptions{CommonName: "rekeyed", DNSNames: []string{"localhost"}, Server: true})

	serverCRL := crlPEM(t, S.Intermediate, pki.CRLOptions{Revoked: []*big.Int{S.Server.Serial()}})
	interCRL := crlPEM(t, S.Root, pki.CRLOptions{Revoked: []*big.Int{S.Intermediate.Cert.SerialNumber}})
	cleanInterCRL := crlPEM(t, S.Intermediate, pki.CRLOptions{Revoked: []*big.Int{big.NewInt(42)}})
	cleanRootCRL := crlPEM(t, S.Root, pki.CRLOptions{Revoked: []*big.Int{big.NewInt(43)}})
	staleCRL := crlPEM(t, S.Intermediate, pki.CRLOptions{NextUpdate: now.Add(-time.Hour)})

	ecdsaGCM := []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
	ecdsaChaCha := []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305}

	type tc struct {
		name   string
		server serverSpec
		sec    *schema.TLS
		host   string // host part of hostport; default localhost
		want   error  // nil: success
		warn   string // a warning containing this is expected
		errHas string // the error contains this
	}
	base := func(mod func(*schema.TLS)) *schema.TLS {
		s := &schema.TLS{CA: caOf(S.Root)}
		if mod != nil {
			mod(s)
		}
		return s
	}
	// withInter configures the intermediate next to the root: its CRLs are checked
	// against it.
	withInter := func(mod func(*schema.TLS)) *schema.TLS {
		return base(func(s *schema.TLS) {
			s.CA = caOf(S.Root, S.Intermediate)
			mod(s)
		})
	}
	mtls := func(mod func(*schema.TLS)) *schema.TLS {
		return base(func(s *schema.TLS) {
			s.Cert = srcPtr(src("cert", S.Client.ChainPEM()))
			s.Key = srcPtr(src("key", S.Client.KeyPEM()))
			if mod != nil {
				mod(s)
			}
		})
	}
	cases := []tc{
		{name: "trusted", server: serverSpec{leaf: S.Server}, sec: base(nil)},
		{name: "trusted verify-ca", server: serverSpec{leaf: S.Server}, sec: base(func(s *schema.TLS) { s.Mode = schema.TLSVerifyCA })},
		{name: "untrusted CA", server: serverSpec{leaf: S.Server}, sec: &schema.TLS{CA: caOf(S.OtherRoot)}, want: factory.ErrTLSUntrusted},
		{name: "untrusted CA insecure", server: serverSpec{leaf: S.Server}, warn: "insecure",
			sec: &schema.TLS{Mode: schema.TLSInsecure, CA: caOf(S.OtherRoot)}},
		{name: "wrong name", server: serverSpec{leaf: S.Server}, sec: base(func(s *schema.TLS) { s.ServerName = "db.example.com" }), want: factory.ErrTLSHostname},
		{name: "wrong name verify-ca", server: serverSpec{leaf: S.Server},
			sec: base(func(s *schema.TLS) { s.ServerName = "db.example.com"; s.Mode = schema.TLSVerifyCA })},
		{name: "IP SAN", server: serverSpec{leaf: S.Server}, sec: base(nil), host: "127.0.0.1"},
		{name: "IP not in SANs", server: serverSpec{leaf: dnsOnly}, sec: base(nil), host: "127.0.0.1", want: factory.ErrTLSHostname},
		{name: "expired server cert", server: serverSpec{leaf: expired}, sec: base(nil), want: factory.ErrTLSExpired},
		{name: "revoked server cert", server: serverSpec{leaf: S.Server},
			sec: withInter(func(s *schema.TLS) { s.CRL = []schema.MaterialSource{src("crl", serverCRL)} }), want: factory.ErrTLSRevoked},
		{name: "revoked intermediate", server: serverSpec{leaf: S.Server},
			errHas: `certificate "CN=connfactory test intermediate CA,O=connfactory test PKI" (serial`,
			sec:    base(func(s *schema.TLS) { s.CRL = []schema.MaterialSource{src("crl", interCRL)} }), want: factory.ErrTLSRevoked},
		// Configured as a CA, the intermediate anchors a chain of its own: the root's CRL
		// still revokes it.
		{name: "revoked intermediate in tls.ca", server: serverSpec{leaf: S.Server},
			errHas: `certificate "CN=connfactory test intermediate CA,O=connfactory test PKI" (serial`,
			sec:    withInter(func(s *schema.TLS) { s.CRL = []schema.MaterialSource{src("crl", interCRL)} }), want: factory.ErrTLSRevoked},
		{name: "revoked intermediate in tls.ca with its own CRL", server: serverSpec{leaf: S.Server},
			errHas: `certificate "CN=connfactory test intermediate CA,O=connfactory test PKI" (serial`,
			sec: withInter(func(s *schema.TLS) {
				s.CRL = []schema.MaterialSource{src("crl", cleanInterCRL), src("crl", interCRL)}
			}), want: factory.ErrTLSRevoked},
		{name: "CRLs not revoking", server: serverSpec{leaf: S.Server},
			sec: withInter(func(s *schema.TLS) {
				s.CRL = []schema.MaterialSource{src("crl", cleanInterCRL), src("crl", cleanRootCRL)}
			})},
		{name: "stale CRL warn", server: serverSpec{leaf: S.Server}, warn: "stale",
			sec: withInter(func(s *schema.TLS) {
				s.CRL = []schema.MaterialSource{src("crl", staleCRL)}
				s.CRLStale = schema.CRLStaleWarn
			})},
		{name: "intermediate CRL not signed by the chain's intermediate", server: serverSpec{leaf: rekeyed}, want: factory.ErrTLSUntrusted,
			errHas: `cannot check revocation of "CN=rekeyed"`,
			sec:    withInter(func(s *schema.TLS) { s.CRL = []schema.MaterialSource{src("crl", cleanInterCRL)} })},
		{name: "cipher pinned", server: serverSpec{leaf: S.Server, ciphers: ecdsaGCM, maxVersion: tls.VersionTLS12},
			sec: base(func(s *schema.TLS) { s.Ciphers = []string{"ECDHE-ECDSA-AES128-GCM-SHA256"} })},
		{name: "cipher mismatch", server: serverSpec{leaf: S.Server, ciphers: ecdsaChaCha, maxVersion: tls.VersionTLS12},
			sec: base(func(s *schema.TLS) { s.Ciphers = []string{"ECDHE-ECDSA-AES128-GCM-SHA256"} }), want: factory.ErrTLSHandshake},
		{name: "version mismatch", server: serverSpec{leaf: S.Server, minVersion: tls.VersionTLS13},
			sec: base(func(s *schema.TLS) { s.MaxVersion = "1.2" }), want: factory.ErrTLSHandshake},
		{name: "client cert missing TLS1.2", server: serverSpec{leaf: S.Server, clientCA: S.Root, maxVersion: tls.VersionTLS12},
			sec: base(nil), want: factory.ErrTLSHandshake},
		{name: "client cert missing TLS1.3", server: serverSpec{leaf: S.Server, clientCA: S.Root},
			sec: base(nil), want: factory.ErrTLSHandshake},
		{name: "client cert PEM", server: serverSpec{leaf: S.Server, clientCA: S.Root}, sec: mtls(nil)},
		{name: "client cert PEM TLS1.2", server: serverSpec{leaf: S.Server, clientCA: S.Root, maxVersion: tls.VersionTLS12}, sec: mtls(nil)},
		{name: "client cert untrusted by server", server: serverSpec{leaf: S.Server, clientCA: S.OtherRoot},
			sec: mtls(nil), want: factory.ErrTLSHandshake},
		{name: "encrypted PKCS8 key", server: serverSpec{leaf: S.Server, clientCA: S.Root},
			sec: mtls(func(s *schema.TLS) {
				s.Key = &schema.MaterialSource{Base64: b64(encKey), Passphrase: secret("s3cret-pass")}
			})},
		{name: "legacy encrypted key", server: serverSpec{leaf: S.Server, clientCA: S.Root},
			sec: mtls(func(s *schema.TLS) {
				s.Key = &schema.MaterialSource{Base64: b64(legacyKey), Passphrase: secret("s3cret-pass")}
			})},
		{name: "PKCS12", server: serverSpec{leaf: S.Server, clientCA: S.Root},
			sec: base(func(s *schema.TLS) {
				s.PKCS12 = &schema.MaterialSource{Base64: b64(p12), Passphrase: secret("s3cret-pass")}
			})},
	}
	for _, impl := range serverImpls {
		t.Run(impl.name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					addr, _ := impl.start(t, c.server)
					ct, warns := compile(t, c.sec)
					if c.warn != "" {
						found := false
						for _, w := range warns {
							found = found || strings.Contains(w.Message, c.warn)
						}
						require.True(t, found, "want a warning about %q, got %v", c.warn, warns)
					}
					host := c.host
					if host == "" {
						host = "localhost"
					}
					err := tlsTry(t, ct, addr, net.JoinHostPort(host, portOf(t, addr)))
					t.Logf("result: %v", err)
					if c.want == nil {
						require.NoError(t, err)
						return
					}
					require.Error(t, err)
					require.ErrorIs(t, err, c.want, "got %v", err)
					require.ErrorContains(t, err, c.errHas)
					var fe *factory.Error
					require.ErrorAs(t, err, &fe)
					require.NotNil(t, errors.Unwrap(err), "the underlying error is kept")
				})
			}
		})
	}
}

func TestCompileDisabled(t *testing.T) {
	ct, warns, err := factory.CompileTLS("profiles.p.tls", nil)
	require.NoError(t, err)
	require.Nil(t, ct)
	require.Nil(t, warns)
	ct, _, err = factory.CompileTLS("profiles.p.tls", &schema.TLS{Mode: schema.TLSDisable})
	require.NoError(t, err)
	require.Nil(t, ct)
	require.False(t, ct.Enabled())
	require.Equal(t, schema.TLSDisable, ct.Mode())
	require.Nil(t, ct.ClientCertificate())
	require.Zero(t, ct.Generation())
}

func TestConfigShape(t *testing.T) {
	S := tlsNewSet(t)
	ct, _ := compile(t, &schema.TLS{CA: caOf(S.Root), MinVersion: "1.2", MaxVersion: "1.2",
		Ciphers: []string{"ECDHE-ECDSA-AES128-GCM-SHA256:TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}})
	require.True(t, ct.Enabled())
	require.Equal(t, schema.TLSVerifyFull, ct.Mode())
	cfg := ct.Config("db1.internal:9042")
	require.Equal(t, "db1.internal", cfg.ServerName)
	require.Equal(t, "::1", ct.ServerName("[::1]:9042"))
	require.Equal(t, "db1.internal", ct.ServerName("db1.internal"))
	require.Equal(t, uint16(tls.VersionTLS12), cfg.MinVersion)
	require.Equal(t, uint16(tls.VersionTLS12), cfg.MaxVersion)
	require.ElementsMatch(t, []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, cfg.CipherSuites)
	require.NotNil(t, cfg.VerifyConnection)
	cc, err := cfg.GetClientCertificate(&tls.CertificateRequestInfo{})
	require.NoError(t, err)
	require.NotNil(t, cc, "never nil, even without a client certificate")
	require.Empty(t, cc.Certificate)
	require.NotSame(t, cfg, ct.Config("db1.internal:9042"), "a fresh config per connection")

	named, _ := compile(t, &schema.TLS{CA: caOf(S.Root), ServerName: "db.internal"})
	require.Equal(t, "db.internal", named.Config("10.0.0.7:9042").ServerName)
}

// TestClockDrivenFailures: expiry and CRL staleness follow the WithClock clock at
// handshake time, not only at compile time.
func TestClockDrivenFailures(t *testing.T) {
	tlsLeakCheck(t)
	S := tlsNewSet(t)
	addr, _ := startGoTLSServer(t, serverSpec{leaf: S.Server})
	hostport := net.JoinHostPort("localhost", portOf(t, addr))
	var (
		mu  sync.Mutex
		now = time.Now()
	)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	crl := crlPEM(t, S.Intermediate, pki.CRLOptions{NextUpdate: now.Add(time.Hour)})
	ct, warns := compile(t, &schema.TLS{CA: caOf(S.Root, S.Intermediate), CRL: []schema.MaterialSource{src("crl", crl)},
		ExpiryWarning: schema.Duration(time.Minute)}, factory.WithClock(clock))
	require.Empty(t, warns)
	require.NoError(t, tlsTry(t, ct, addr, hostport))

	advance(2 * time.Hour)
	err := tlsTry(t, ct, addr, hostport)
	require.ErrorIs(t, err, factory.ErrTLSRevoked)
	require.Contains(t, err.Error(), "stale")

	warnOnly, _ := compile(t, &schema.TLS{CA: caOf(S.Root, S.Intermediate), CRLStale: schema.CRLStaleWarn,
		CRL: []schema.MaterialSource{src("crl", crl)}}, factory.WithClock(clock))
	require.NoError(t, tlsTry(t, warnOnly, addr, hostport))

	advance(2 * 365 * 24 * time.Hour)
	err = tlsTry(t, warnOnly, addr, hostport)
	require.ErrorIs(t, err, factory.ErrTLSExpired)
}

// TestUpdate: a successful Update swaps the client certificate and CA for the next
// handshake; a failed one keeps the old material and generation.
func TestUpdate(t *testing.T) {
	tlsLeakCheck(t)
	S := tlsNewSet(t)
	addr, seen := startGoTLSServer(t, serverSpec{leaf: S.Server, clientCA: S.Root})
	hostport := net.JoinHostPort("localhost", portOf(t, addr))
	clientB := issue(t, S.Intermediate, pki.LeafOptions{CommonName: "app-b", Client: true})

	section := func(ca *pki.CA, l *pki.Leaf) *schema.TLS {
		return &schema.TLS{CA: caOf(ca), Cert: srcPtr(src("cert", l.ChainPEM())), Key: srcPtr(src("key", l.KeyPEM()))}
	}
	ct, _ := compile(t, section(S.OtherRoot, S.Client))
	require.ErrorIs(t, tlsTry(t, ct, addr, hostport), factory.ErrTLSUntrusted)
	require.Zero(t, ct.Generation())

	_, err := update(ct, section(S.Root, S.Client))
	require.NoError(t, err)
	require.Equal(t, uint64(1), ct.Generation())
	require.NoError(t, tlsTry(t, ct, addr, hostport))
	require.Equal(t, "app", (<-seen).Subject.CommonName)

	_, err = update(ct, section(S.Root, clientB))
	require.NoError(t, err)
	require.Equal(t, uint64(2), ct.Generation())
	require.Equal(t, "app-b", ct.ClientCertificate().Subject.CommonName)
	require.NoError(t, tlsTry(t, ct, addr, hostport))
	require.Equal(t, "app-b", (<-seen).Subject.CommonName)

	// A key that does not match: the update fails as a whole, the old material stays.
	bad := section(S.Root, S.Client)
	bad.Key = srcPtr(src("key", clientB.KeyPEM()))
	_, err = update(ct, bad)
	require.ErrorIs(t, err, factory.ErrConfig)
	require.Equal(t, uint64(2), ct.Generation())
	require.Equal(t, "app-b", ct.ClientCertificate().Subject.CommonName)
	require.NoError(t, tlsTry(t, ct, addr, hostport))
	require.Equal(t, "app-b", (<-seen).Subject.CommonName)

	// An untrusted CA in an update is material too: it applies to the next handshake.
	_, err = update(ct, section(S.OtherRoot, clientB))
	require.NoError(t, err)
	require.ErrorIs(t, tlsTry(t, ct, addr, hostport), factory.ErrTLSUntrusted)

	// The mode cannot change on reload.
	insecure := section(S.Root, clientB)
	insecure.Mode = schema.TLSInsecure
	_, err = update(ct, insecure)
	require.ErrorIs(t, err, factory.ErrConfig)
	require.Equal(t, uint64(3), ct.Generation())

	// Non-material settings are ignored with a warning.
	changed := section(S.Root, clientB)
	changed.MaxVersion = "1.2"
	warns, err := update(ct, changed)
	require.NoError(t, err)
	require.True(t, hasWarning(warns, "profiles.p.tls", "ignored"), "%v", warns)
}

// TestUpdateConcurrentWithHandshakes runs reloads while handshakes are in flight, for the
// race detector: every handshake sees one whole generation of material.
func TestUpdateConcurrentWithHandshakes(t *testing.T) {
	tlsLeakCheck(t)
	S := tlsNewSet(t)
	addr, _ := startGoTLSServer(t, serverSpec{leaf: S.Server, clientCA: S.Root})
	hostport := net.JoinHostPort("localhost", portOf(t, addr))
	sec := &schema.TLS{CA: caOf(S.Root), Cert: srcPtr(src("cert", S.Client.ChainPEM())), Key: srcPtr(src("key", S.Client.KeyPEM()))}
	ct, _ := compile(t, sec)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				errs <- tlsTry(t, ct, addr, hostport)
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				_, err := update(ct, sec)
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, uint64(20), ct.Generation())
}

func TestHandshakeFailuresClassified(t *testing.T) {
	tlsLeakCheck(t)
	S := tlsNewSet(t)
	ct, _ := compile(t, &schema.TLS{CA: caOf(S.Root)})

	// A server that accepts and runs fn on each connection.
	serve := func(fn func(net.Conn)) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				wg.Add(1)
				go func() { defer wg.Done(); fn(c) }()
			}
		}()
		t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
		return ln.Addr().String()
	}
	dial := func(addr string, timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		raw, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		conn, err := ct.Handshake(ctx, raw, addr)
		if err == nil {
			_ = conn.Close()
		}
		return err
	}

	t.Run("silent server times out", func(t *testing.T) {
		release := make(chan struct{})
		addr := serve(func(c net.Conn) {
			defer func() { _ = c.Close() }()
			<-release
		})
		defer close(release)
		err := dial(addr, 200*time.Millisecond)
		require.ErrorIs(t, err, factory.ErrTimeout, "%v", err)
	})
	t.Run("plaintext server", func(t *testing.T) {
		addr := serve(func(c net.Conn) {
			defer func() { _ = c.Close() }()
			_, _ = c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
			_, _ = c.Read(make([]byte, 1))
		})
		err := dial(addr, 5*time.Second)
		require.ErrorIs(t, err, factory.ErrTLSHandshake)
		require.Contains(t, err.Error(), "may not speak TLS")
	})
	t.Run("server hangs up", func(t *testing.T) {
		addr := serve(func(c net.Conn) {
			_, _ = c.Read(make([]byte, 1))
			_ = c.Close()
		})
		err := dial(addr, 5*time.Second)
		require.ErrorIs(t, err, factory.ErrTLSHandshake)
		require.Contains(t, err.Error(), "hint")
	})
	t.Run("connection refused", func(t *testing.T) {
		err := factory.ClassifyTLSError(&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, "x:1")
		require.ErrorIs(t, err, factory.ErrUnreachable)
	})
	t.Run("x509 errors", func(t *testing.T) {
		require.ErrorIs(t, factory.ClassifyTLSError(x509.UnknownAuthorityError{}, "h:1"), factory.ErrTLSUntrusted)
		require.ErrorIs(t, factory.ClassifyTLSError(fmt.Errorf("wrapped: %w", x509.HostnameError{Certificate: S.Server.Cert, Host: "x"}), "h:1"), factory.ErrTLSHostname)
		require.ErrorIs(t, factory.ClassifyTLSError(x509.CertificateInvalidError{Cert: S.Server.Cert, Reason: x509.Expired}, "h:1"), factory.ErrTLSExpired)
		require.ErrorIs(t, factory.ClassifyTLSError(context.DeadlineExceeded, "h:1"), factory.ErrTimeout)
		require.NoError(t, factory.ClassifyTLSError(nil, "h:1"))
		own := &factory.Error{Kind: factory.KindTLSRevoked, Err: errors.New("x")}
		require.Same(t, own, factory.ClassifyTLSError(own, "h:1"))
	})
}
