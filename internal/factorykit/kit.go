// Package factorykit is what factory/cassandra and factory/riak share with package
// factory beyond its API: error classification, options, the reloader, the shared TLS
// handshake. Package factory hands these over through internal/factorycore.Kit (factory
// cannot import its backends, nor they its unexported names).
package factorykit

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"strings"
	"sync/atomic"
	"time"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/factorycore"
	"github.com/connfactory/connfactory/schema"
)

// Sources of a HostReport (see factorycore).
const (
	HostConfigured = factorycore.HostConfigured
	HostDiscovered = factorycore.HostDiscovered
)

// Reloader is a connector's TLS reloader (never nil).
type Reloader interface {
	// Use starts the reload loop on first use.
	Use()
	// Stop stops it.
	Stop()
	// Reload re-reads and recompiles the material once.
	Reload(ctx context.Context) error
	// DialDone reports a finished dial to the observers.
	DialDone(b schema.Backend, start time.Time, err *error)
	// CheckDone completes a Check's report and reports it to the observers.
	CheckDone(b schema.Backend, start time.Time, rep **factory.Report, err *error)
}

type kit interface {
	Classify(err error, k factory.Kind, host string) error
	ClassifyNet(err error, fallback factory.Kind) factory.Kind
	Errorf(k factory.Kind, host, format string, args ...any) error
	ConfigError(ps ...schema.Problem) error
	ProfilePath(name string) string
	ClassifyTLSError(err error, hostport string) error
	HostOnly(hostport string) string
	NewCertInfo(c *x509.Certificate, now time.Time) factory.CertInfo
	PlaintextToTLS(ctx context.Context, err error, host string, connectTimeout time.Duration) error
	CompilePool(path string, p *schema.Pool, b schema.Backend) (int, int, time.Duration, []schema.Problem)
	WithProfileWarnings(name string, p *schema.Profile, ws []factory.Warning) []factory.Warning
	Options(opts []factory.Option) (*slog.Logger, func() time.Time, time.Duration, factory.MaterialSource)
	SecretAt(ms factory.MaterialSource, path string, s *schema.SecretSource) schema.Secret
	NewReloader(name string, t *schema.TLS, ct *factory.ClientTLS, opts []factory.Option) (any, []factory.Warning)
	FillHost(h *factory.HostReport, r *factory.Report, serverName string, err error)
	FillTLS(r *factory.Report, cs tls.ConnectionState, now time.Time)
	HandshakeShared(c *factory.ClientTLS, ctx context.Context, raw net.Conn, hostport, addr string) (*tls.Conn, func(), error)
}

var k = factorycore.Kit.(kit)

// Register makes factory.Compile build backend b's profiles with newConnector.
func Register(b schema.Backend, newConnector func(string, *schema.Profile, ...factory.Option) (factory.Connector, error)) {
	factorycore.Register(b, newConnector)
}

// Classify wraps err as an *Error of kind kd unless it already carries a kind.
func Classify(err error, kd factory.Kind, host string) error { return k.Classify(err, kd, host) }

// ClassifyNet recognises network failures whatever stage they happened at.
func ClassifyNet(err error, fallback factory.Kind) factory.Kind { return k.ClassifyNet(err, fallback) }

// Errorf returns an *Error of kind kd for host.
func Errorf(kd factory.Kind, host, format string, args ...any) error {
	return k.Errorf(kd, host, format, args...)
}

// ConfigError wraps problems as a config-kind *Error.
func ConfigError(ps ...schema.Problem) error { return k.ConfigError(ps...) }

// ProfilePath is the config path of profile name.
func ProfilePath(name string) string { return k.ProfilePath(name) }

// ClassifyTLSError classifies a handshake failure against hostport.
func ClassifyTLSError(err error, hostport string) error { return k.ClassifyTLSError(err, hostport) }

// HostOnly strips the port from hostport.
func HostOnly(hostport string) string { return k.HostOnly(hostport) }

// NewCertInfo describes c at now.
func NewCertInfo(c *x509.Certificate, now time.Time) factory.CertInfo { return k.NewCertInfo(c, now) }

// PlaintextToTLS wraps a plaintext profile's protocol failure when the server speaks TLS.
func PlaintextToTLS(ctx context.Context, err error, host string, connectTimeout time.Duration) error {
	return k.PlaintextToTLS(ctx, err, host, connectTimeout)
}

// CompilePool compiles the pool section for backend b.
func CompilePool(path string, p *schema.Pool, b schema.Backend) (conns, max int, idle time.Duration, ps []schema.Problem) {
	return k.CompilePool(path, p, b)
}

// WithProfileWarnings adds validate's warnings about p to ws.
func WithProfileWarnings(name string, p *schema.Profile, ws []factory.Warning) []factory.Warning {
	return k.WithProfileWarnings(name, p, ws)
}

// Options are the compile options a backend reads.
type Options struct {
	Logger       *slog.Logger
	Now          func() time.Time
	RiakAuthWait time.Duration // 0: the backend's default
	// Material is the profile's resolved material and secrets (factory.WithMaterial).
	Material factory.MaterialSource
}

// BuildOptions applies opts.
func BuildOptions(opts []factory.Option) Options {
	l, now, w, ms := k.Options(opts)
	return Options{Logger: l, Now: now, RiakAuthWait: w, Material: ms}
}

// Secret is the secret of s at path (relative to the profile: "auth.password"), as
// o.Material resolved it, else s's literal value; "" for a nil s.
func (o Options) Secret(path string, s *schema.SecretSource) schema.Secret {
	return k.SecretAt(o.Material, path, s)
}

// NewReloader prepares the reload of profile name's TLS section ct (nil: TLS off).
func NewReloader(name string, t *schema.TLS, ct *factory.ClientTLS, opts []factory.Option) (Reloader, []factory.Warning) {
	r, ws := k.NewReloader(name, t, ct, opts)
	return r.(Reloader), ws
}

// HandshakeShared runs c's handshake over raw with the shared session cache.
func HandshakeShared(c *factory.ClientTLS, ctx context.Context, raw net.Conn, hostport, addr string) (*tls.Conn, func(), error) {
	return k.HandshakeShared(c, ctx, raw, hostport, addr)
}

// DescribeConnector is a connector's String: profile name, TLS mode, extra.
func DescribeConnector(typ string, c interface {
	Name() string
	TLS() *factory.ClientTLS
}, extra ...string) string {
	if reflect.ValueOf(c).IsNil() {
		return "<nil>"
	}
	tlsMode := "disable"
	if t := c.TLS(); t != nil {
		tlsMode = string(t.Mode())
	}
	parts := append([]string{fmt.Sprintf("profile: %q", c.Name()), "tls: " + tlsMode}, extra...)
	return fmt.Sprintf("&%s{%s}", typ, strings.Join(parts, ", "))
}

// FillHost completes h, the report of one host of r, from the dial's outcome err.
func FillHost(h *factory.HostReport, r *factory.Report, serverName string, err error) {
	k.FillHost(h, r, serverName, err)
}

// FillTLS records the negotiated TLS parameters and the server's chain in r.
func FillTLS(r *factory.Report, cs tls.ConnectionState, now time.Time) { k.FillTLS(r, cs, now) }

// RiakLoggingHook, if set (tests), is called by every installation of the riak-go-client
// logger adapter (factory/riak).
var RiakLoggingHook atomic.Pointer[func()]
