package factory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/connfactory/connfactory/schema"
)

// material is everything a reload may change, swapped in whole.
type material struct {
	roots      *x509.CertPool
	caCerts    []*x509.Certificate
	cert       *tls.Certificate // nil: no client certificate
	crls       *crlSet
	generation uint64
	// bundle keeps the CA parse alive while in use (a MaterialCache holds it weakly).
	bundle *caBundle
	// expiryWarn is tls.expiry_warning as compiled with this material.
	expiryWarn time.Duration
	// verdicts are the chains verified with this material, for resumed handshakes.
	verdicts verdicts
}

// ClientTLS is a compiled TLS section. Its material (CA pool, client certificate, CRLs)
// is live: Update compiles new material completely and swaps it in atomically; a failed
// Update leaves the old material in use. Mode, versions, ciphers and server name are
// fixed at compile time.
type ClientTLS struct {
	path       string
	mat        atomic.Pointer[material]
	mode       schema.TLSMode
	minVersion uint16
	maxVersion uint16
	ciphers    []uint16
	serverName string
	certPath   string // config path of the client certificate (tls.cert, pkcs12 or keystore)
	now        func() time.Time
	cache      *MaterialCache // shared parses, for compile and every Update; may be nil

	updateMu sync.Mutex // serialises Update, so generations count successful swaps
	section  settings

	// bound is the section and material source a reload reads again (see Bind).
	bound atomic.Pointer[binding]

	// sessions is the TLS session cache of every connection made with c: the
	// connector's dialer, the Riak preflight and riak-go-client's pool alike.
	sessions *sessionCache
}

// binding is what a reload starts from: the TLS section as configured and the source
// of its material (nil: inline material only, nothing to read again).
type binding struct {
	t  *schema.TLS
	ms MaterialSource
}

// settings are the fixed (non-material) parts of a section, compared on Update.
type settings struct {
	mode       schema.TLSMode
	minVersion uint16
	maxVersion uint16
	ciphers    string
	serverName string
}

// CompileTLS compiles t. path is the config path of the section ("profiles.NAME.tls");
// problems name sub-paths (".ca", ".key", ".crl[0]", ".ciphers"). Material and secrets
// come from the MaterialSource of WithMaterial (keyed by path relative to the profile:
// "tls.ca[0]"), or inline from t. It returns (nil, nil, nil) when t is nil or its mode is
// disable. Errors are *Error{Kind: KindConfig} wrapping a schema.Problems listing every
// problem found, not only the first.
func CompileTLS(path string, t *schema.TLS, opts ...Option) (*ClientTLS, []Warning, error) {
	if !t.Enabled() {
		return nil, nil, nil
	}
	o := buildOptions(opts)
	c := &ClientTLS{path: path, mode: t.EffectiveMode(), now: o.now, cache: o.cache, sessions: newSessionCache(),
		certPath: clientCertPath(path, t)}
	var (
		ps    problemList
		warns []Warning
	)
	switch c.mode {
	case schema.TLSInsecure:
		warns = append(warns, Warning{Path: path + ".mode", Message: "insecure: the server's certificate chain and name are not verified; anyone on the path can impersonate the server"})
		if len(t.CRL) > 0 {
			warns = append(warns, Warning{Path: path + ".crl", Message: "ignored in insecure mode: nothing is verified"})
		}
	case schema.TLSVerifyCA, schema.TLSVerifyFull:
	default:
		ps.add(path+".mode", "unknown mode %q (accepted: %s)", t.Mode, schema.Accepted(schema.TLSModes))
	}

	w, err := c.compileVersions(t)
	warns = append(warns, w...)
	if err != nil {
		ps = append(ps, problemsOf(err)...)
	}
	if len(t.Ciphers) > 0 {
		ids, cw, err := parseCiphers(t.Ciphers, t.AllowInsecureCiphers)
		if err != nil {
			ps.add(path+".ciphers", "%v", err)
		}
		for _, w := range cw {
			warns = append(warns, Warning{Path: path + ".ciphers", Message: w.Message})
		}
		c.ciphers = ids
		switch {
		case err != nil:
		case c.minVersion == tls.VersionTLS13:
			warns = append(warns, Warning{Path: path + ".ciphers", Message: "has no effect: min_version is 1.3 and TLS 1.3 suites are fixed by Go"})
		case c.maxVersion == tls.VersionTLS13:
			warns = append(warns, Warning{Path: path + ".ciphers", Message: "restricts TLS 1.2 only: when TLS 1.3 is negotiated (max_version 1.3) its suites are fixed by Go"})
		}
	}
	c.serverName = t.ServerName

	m, mw, err := compileMaterial(c.cache, sectionSources(o.material, path), path, t, c.now())
	warns = append(warns, mw...)
	if err != nil {
		ps = append(ps, problemsOf(err)...)
	}
	if err := ps.err(); err != nil {
		return nil, nil, err
	}
	c.mat.Store(m)
	c.bound.Store(&binding{t: t, ms: o.material})
	c.section = c.settings()
	return c, warns, nil
}

func (c *ClientTLS) settings() settings {
	return settings{mode: c.mode, minVersion: c.minVersion, maxVersion: c.maxVersion,
		ciphers: fmt.Sprint(c.ciphers), serverName: c.serverName}
}

// compileVersions sets min/max version: defaults 1.2 and 1.3; below 1.2 only with
// allow_legacy_versions.
func (c *ClientTLS) compileVersions(t *schema.TLS) ([]Warning, error) {
	var (
		ps    problemList
		warns []Warning
	)
	c.minVersion, c.maxVersion = tls.VersionTLS12, tls.VersionTLS13
	if t.MaxVersion != "" {
		v, err := parseTLSVersion(t.MaxVersion)
		if err != nil {
			ps.add(c.path+".max_version", "%v", err)
		} else {
			c.maxVersion = v
			if v < tls.VersionTLS12 {
				c.minVersion = v // a legacy max without a min means "that version"
			}
		}
	}
	if t.MinVersion != "" {
		v, err := parseTLSVersion(t.MinVersion)
		if err != nil {
			ps.add(c.path+".min_version", "%v", err)
		} else {
			c.minVersion = v
		}
	}
	if len(ps) > 0 {
		return nil, ps.err()
	}
	if c.minVersion > c.maxVersion {
		ps.add(c.path+".min_version", "min_version %s is above max_version %s", tls.VersionName(c.minVersion), tls.VersionName(c.maxVersion))
		return nil, ps.err()
	}
	if c.minVersion < tls.VersionTLS12 {
		p := c.path + ".min_version"
		if t.MinVersion == "" {
			p = c.path + ".max_version"
		}
		if !t.AllowLegacyVersions {
			ps.add(p, "%s is deprecated (RFC 8996) and refused unless allow_legacy_versions = true", tls.VersionName(c.minVersion))
			return nil, ps.err()
		}
		warns = append(warns, Warning{Path: p, Message: fmt.Sprintf("%s permitted by allow_legacy_versions: deprecated (RFC 8996) and weak", tls.VersionName(c.minVersion))})
	}
	return warns, nil
}

// compileMaterial loads the CA pool, client certificate and CRLs of t, their bytes and
// secrets read through src, collecting every problem. CA bundles and CRLs come from cache
// when they were parsed before (same bytes).
func compileMaterial(cache *MaterialCache, src sources, path string, t *schema.TLS, now time.Time) (*material, []Warning, error) {
	var (
		ps    problemList
		warns []Warning
		m     = &material{expiryWarn: expiryWarningOf(t)}
		err   error
	)
	m.bundle, err = loadTrustPool(cache, src, path, t)
	if err != nil {
		ps = append(ps, problemsOf(err)...)
	} else {
		m.roots, m.caCerts = m.bundle.pool, m.bundle.certs
		for _, ca := range m.caCerts {
			if now.After(ca.NotAfter) {
				warns = append(warns, Warning{Path: path + ".ca", Message: fmt.Sprintf("CA certificate %q expired at %s: chains through it fail", ca.Subject.String(), ca.NotAfter.UTC().Format(time.RFC3339))})
			}
		}
		// CRL signatures are checked against the CAs, so only once those loaded.
		crls, cw, err := parseCRLs(cache, src, path+".crl", t.CRL, m.caCerts, now, t.CRLStale)
		warns = append(warns, cw...)
		if err != nil {
			ps = append(ps, problemsOf(err)...)
		}
		m.crls = crls
	}
	cert, kw, err := loadClientCert(src, path, t, now)
	warns = append(warns, kw...)
	if err != nil {
		ps = append(ps, problemsOf(err)...)
	}
	m.cert = cert
	if err := ps.err(); err != nil {
		return nil, nil, err
	}
	expiry := materialExpiryWarnings(path, clientCertPath(path, t), m, now)
	for i := range expiry {
		// A CA or CRL shared by every profile, due for renewal, words one warning for each:
		// the profiles of one Batch share its text.
		expiry[i].Message = cache.intern(expiry[i].Message)
	}
	return m, append(warns, expiry...), nil
}

// Enabled reports whether c encrypts at all. Nil-safe.
func (c *ClientTLS) Enabled() bool { return c != nil }

// Mode is the effective mode; disable for a nil c.
func (c *ClientTLS) Mode() schema.TLSMode {
	if c == nil {
		return schema.TLSDisable
	}
	return c.mode
}

// ServerName is the name verified for hostport: tls.server_name, else the host without
// its port (an IP address verifies against IP SANs).
func (c *ClientTLS) ServerName(hostport string) string {
	if c != nil && c.serverName != "" {
		return c.serverName
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostOnly(hostport), "["), "]")
}

// Generation counts successful Updates (0 after compile). Nil-safe.
func (c *ClientTLS) Generation() uint64 {
	if c == nil {
		return 0
	}
	return c.mat.Load().generation
}

// ClientCertificate is the current client certificate's leaf, or nil.
func (c *ClientTLS) ClientCertificate() *x509.Certificate {
	if c == nil {
		return nil
	}
	if m := c.mat.Load(); m.cert != nil {
		return m.cert.Leaf
	}
	return nil
}

// Config returns a fresh *tls.Config for one connection to hostport. ServerName is always
// set (riak-go-client needs it). Go's own verification is off (InsecureSkipVerify)
// because a client cannot swap RootCAs per handshake; VerifyConnection verifies instead,
// against the live pool: verify-full checks chain and name, verify-ca the chain only,
// insecure nothing; then every certificate of the verified chain is checked against the
// CRLs. VerifyConnection runs on resumed sessions too. Its errors are *Error of kind
// tls_untrusted, tls_hostname, tls_expired or tls_revoked.
//
// Every Config of c shares c's TLS session cache (tls.Config.ClientSessionCache), keyed by
// hostport (the address dialled) and the server name, bounded (sessionCacheSize, least
// recently used dropped) and emptied when Update installs new material. A resumed
// handshake is verified too: the chain verdict of its certificates under the current
// material is reused, their validity periods, name and revocation are checked again.
func (c *ClientTLS) Config(hostport string) *tls.Config { return c.config(hostport, hostport) }

// config is Config for a connection dialled to addr (the session cache key) that verifies
// hostport's server name.
func (c *ClientTLS) config(hostport, addr string) *tls.Config {
	name := c.ServerName(hostport)
	return &tls.Config{
		ClientSessionCache: keyedSessions{c: c, key: sessionKey(addr, name), gen: c.Generation()},
		ServerName:         name,
		MinVersion:         c.minVersion,
		MaxVersion:         c.maxVersion,
		CipherSuites:       append([]uint16(nil), c.ciphers...),
		InsecureSkipVerify: true, //nolint:gosec // verified in VerifyConnection against the live pool.
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if m := c.mat.Load(); m.cert != nil {
				return m.cert, nil
			}
			return &tls.Certificate{}, nil // no certificate: let the server decide
		},
		VerifyConnection: func(cs tls.ConnectionState) error {
			return c.verify(cs, name, hostport)
		},
	}
}

// verify is the chain, name and revocation check of one handshake.
func (c *ClientTLS) verify(cs tls.ConnectionState, name, hostport string) error {
	if c.mode == schema.TLSInsecure {
		return nil
	}
	if len(cs.PeerCertificates) == 0 {
		return &Error{Kind: KindTLSUntrusted, Host: hostport, Err: errors.New("the server sent no certificate")}
	}
	m := c.mat.Load()
	now := c.now()
	leaf := cs.PeerCertificates[0]
	var chains [][]*x509.Certificate
	if cached, ok := m.verdicts.get(leaf); ok && cs.DidResume {
		// The same certificates passed under this material before: only time has moved.
		var expired *x509.Certificate
		if chains, expired = currentChains(cached, now); len(chains) == 0 {
			return classifyX509(x509.CertificateInvalidError{Cert: expired, Reason: x509.Expired,
				Detail: "current time " + now.UTC().Format(time.RFC3339) + " is outside the validity period " +
					expired.NotBefore.UTC().Format(time.RFC3339) + " to " + expired.NotAfter.UTC().Format(time.RFC3339)}, hostport)
		}
	} else {
		inter := x509.NewCertPool()
		for _, ic := range cs.PeerCertificates[1:] {
			inter.AddCert(ic)
		}
		// The chain is checked before the name, so an untrusted server is reported as
		// untrusted even when its name is wrong too.
		var err error
		chains, err = leaf.Verify(x509.VerifyOptions{
			Roots:         m.roots,
			Intermediates: inter,
			CurrentTime:   now,
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		})
		if err != nil {
			return classifyX509(err, hostport)
		}
		m.verdicts.put(leaf, chains)
	}
	if c.mode == schema.TLSVerifyFull {
		if err := leaf.VerifyHostname(name); err != nil {
			return classifyX509(err, hostport)
		}
	}
	return m.crls.Check(chains, now, hostport)
}

// classifyX509 maps a chain or name verification error to its kind, keeping the message.
func classifyX509(err error, hostport string) error {
	var (
		ua   x509.UnknownAuthorityError
		he   x509.HostnameError
		ci   x509.CertificateInvalidError
		kind = KindTLSUntrusted
	)
	switch {
	case errors.As(err, &ua):
	case errors.As(err, &he):
		kind = KindTLSHostname
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		kind = KindTLSExpired
	}
	return &Error{Kind: kind, Host: hostport, Err: err}
}

// Handshake runs a client TLS handshake over raw, bounded by ctx, and returns the
// *tls.Conn or a classified *Error (see classifyTLSError), closing raw on failure.
//
// With TLS 1.3 the server checks the client certificate after the client has finished
// its handshake: a refused or missing client certificate then surfaces on the first read,
// not here. Pass that read error to classifyTLSError as well.
//
// The handshake resumes a session of the connector's cache when one is there (see Config).
func (c *ClientTLS) Handshake(ctx context.Context, raw net.Conn, hostport string) (*tls.Conn, error) {
	if c == nil {
		_ = raw.Close()
		return nil, &Error{Kind: KindConfig, Host: hostport, Err: errors.New("TLS is disabled for this profile")}
	}
	return c.handshake(ctx, raw, hostport, c.config(hostport, hostport))
}

// handshakeShared is Handshake for a connection dialled to addr, coordinated with the
// other connections to the same (addr, server name): while the first one's full handshake
// is under way, the others wait for its session (or ctx) instead of each making a full
// handshake. The caller calls release once the connection has read its first answer
// (TLS 1.3 delivers the session after the handshake), or wraps the connection with
// releaseConn; release is never nil and safe to call more than once.
func (c *ClientTLS) handshakeShared(ctx context.Context, raw net.Conn, hostport, addr string) (*tls.Conn, func(), error) {
	if c == nil {
		_ = raw.Close()
		return nil, func() {}, &Error{Kind: KindConfig, Host: hostport, Err: errors.New("TLS is disabled for this profile")}
	}
	cfg := c.config(hostport, addr)
	release := c.sessions.acquire(ctx, cfg.ClientSessionCache.(keyedSessions).key, c.Generation())
	conn, err := c.handshake(ctx, raw, hostport, cfg)
	if err != nil || conn.ConnectionState().Version < tls.VersionTLS13 {
		release() // failed, or TLS 1.2: its session (if any) came with the handshake
	}
	return conn, release, err
}

func (c *ClientTLS) handshake(ctx context.Context, raw net.Conn, hostport string, cfg *tls.Config) (*tls.Conn, error) {
	conn := tls.Client(raw, cfg)
	if err := conn.HandshakeContext(ctx); err != nil {
		_ = raw.Close()
		if ctxErr := ctx.Err(); ctxErr != nil && !isOurs(err) {
			err = fmt.Errorf("%w (%v)", ctxErr, err)
		}
		err = classifyTLSError(err, hostport)
		var fe *Error
		if errors.As(err, &fe) && fe.PeerCertificates == nil {
			fe.PeerCertificates = conn.ConnectionState().PeerCertificates
		}
		return nil, err
	}
	return conn, nil
}

func isOurs(err error) bool {
	var fe *Error
	return errors.As(err, &fe)
}

// Update recompiles the material (CA pool, client certificate, CRLs) of section t, read
// through ms (freshly resolved; nil: inline material only), and swaps it in whole; on
// error nothing changes. The mode cannot change (an error); changed versions, ciphers or
// server name are ignored with a warning (they take effect when the profile is compiled
// again). Update does not change what later reloads read: see Bind.
func (c *ClientTLS) Update(t *schema.TLS, ms MaterialSource) ([]Warning, error) {
	if c == nil {
		return nil, &Error{Kind: KindConfig, Err: errors.New("factory: Update on a disabled TLS section")}
	}
	c.updateMu.Lock()
	defer c.updateMu.Unlock()
	if t.EffectiveMode() != c.mode {
		return nil, configError(schema.Problem{Path: c.path + ".mode", Message: fmt.Sprintf(
			"mode changed from %s to %s: a reload cannot change the mode, recompile the profile", c.mode, t.EffectiveMode())})
	}
	probe := &ClientTLS{path: c.path, mode: c.mode, now: c.now}
	var warns []Warning
	if _, err := probe.compileVersions(t); err == nil {
		if len(t.Ciphers) > 0 {
			probe.ciphers, _, _ = parseCiphers(t.Ciphers, t.AllowInsecureCiphers)
		}
		probe.serverName = t.ServerName
		if probe.settings() != c.section {
			warns = append(warns, Warning{Path: c.path, Message: "versions, ciphers or server_name changed: ignored until the profile is compiled again; only material is reloaded"})
		}
	}
	m, mw, err := compileMaterial(c.cache, sectionSources(ms, c.path), c.path, t, c.now())
	if err != nil {
		return nil, err
	}
	m.generation = c.mat.Load().generation + 1
	c.mat.Store(m)
	// A rotated CA or client certificate must never resume a session of the old material.
	c.sessions.reset(m.generation)
	return append(warns, mw...), nil
}

// Bind makes later reloads (tls.reload ticks, ReloadNow) read section t's material again
// through ms.Reload and compile it with t's settings (crl_stale, expiry_warning, ...):
// connfactory.Registry.Watch binds a compiled connector to its profile as the new
// configuration says, then reloads it. It changes no material itself.
func (c *ClientTLS) Bind(t *schema.TLS, ms MaterialSource) {
	if c != nil {
		c.bound.Store(&binding{t: t, ms: ms})
	}
}

// binding is what the next reload starts from.
func (c *ClientTLS) binding() *binding { return c.bound.Load() }

// tlsAlertHints explain the alerts a server sends when it refuses a handshake.
var tlsAlertHints = []struct{ alert, hint string }{
	{"certificate required", "the server requires a client certificate: configure tls.cert and tls.key (or tls.pkcs12)"},
	{"bad certificate", "the server refused the client certificate"},
	{"unknown certificate authority", "the server does not trust the client certificate's CA"},
	{"unknown ca", "the server does not trust the client certificate's CA"},
	{"certificate expired", "the server says the client certificate expired"},
	{"certificate revoked", "the server says the client certificate is revoked"},
	{"protocol version", "no TLS version in common: check tls.min_version / tls.max_version"},
	{"handshake failure", "no cipher suite or parameters in common: check tls.ciphers and versions"},
	{"insufficient security", "no cipher suite in common that the server finds strong enough: check tls.ciphers"},
	{"access denied", "the server refused the client certificate"},
}

// classifyTLSError maps a handshake (or first-read) error to an *Error: an *Error passes
// through; x509 errors map to tls_untrusted, tls_hostname or tls_expired; context
// deadlines and i/o timeouts to timeout; refused connections to unreachable; an alert
// from the server, EOF during the handshake and anything else to tls_handshake, with a
// hint where one helps. The underlying error is kept (errors.Unwrap).
func classifyTLSError(err error, hostport string) error {
	if err == nil {
		return nil
	}
	var fe *Error
	if errors.As(err, &fe) {
		return err
	}
	var (
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		ci  x509.CertificateInvalidError
		rhe tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &ua), errors.As(err, &he), errors.As(err, &ci):
		return classifyX509(err, hostport)
	case errors.Is(err, context.Canceled):
		return &Error{Kind: KindTimeout, Host: hostport, Err: fmt.Errorf("%w (the caller's context was cancelled during the TLS handshake)", err)}
	}
	if k := classifyNet(err, ""); k != "" {
		return &Error{Kind: k, Host: hostport, Err: err}
	}
	msg := err.Error()
	hint := ""
	switch {
	case errors.As(err, &rhe):
		hint = "the server did not answer with TLS: it may not speak TLS on this port"
	case strings.Contains(msg, "remote error"):
		for _, h := range tlsAlertHints {
			if strings.Contains(msg, h.alert) {
				hint = h.hint
				break
			}
		}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE):
		hint = "the server closed the connection during the handshake: it may not speak TLS on this port, or it refused our versions, ciphers or client certificate"
	}
	if hint != "" {
		err = fmt.Errorf("%w (hint: %s)", err, hint)
	}
	return &Error{Kind: KindTLSHandshake, Host: hostport, Err: err}
}
