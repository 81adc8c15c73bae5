package factory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"time"

	"github.com/connfactory/connfactory/internal/factorycore"
	"github.com/connfactory/connfactory/schema"
)

func init() { factorycore.Kit = kit{} }

// kit gives factory/cassandra and factory/riak, through internal/factorykit, the
// internals they share with this package. The type is unexported: its methods are not
// part of the API.
type kit struct{}

func (kit) Classify(err error, k Kind, host string) error { return classify(err, k, host) }
func (kit) ClassifyNet(err error, fallback Kind) Kind     { return classifyNet(err, fallback) }
func (kit) Errorf(k Kind, host, format string, args ...any) error {
	return errorf(k, host, format, args...)
}
func (kit) ConfigError(ps ...schema.Problem) error            { return configError(ps...) }
func (kit) ProfilePath(name string) string                    { return profilePath(name) }
func (kit) ClassifyTLSError(err error, hostport string) error { return classifyTLSError(err, hostport) }
func (kit) HostOnly(hostport string) string                   { return hostOnly(hostport) }
func (kit) NewCertInfo(c *x509.Certificate, now time.Time) CertInfo {
	return newCertInfo(c, now)
}
func (kit) PlaintextToTLS(ctx context.Context, err error, host string, connectTimeout time.Duration) error {
	return plaintextToTLS(ctx, err, host, connectTimeout)
}
func (kit) CompilePool(path string, p *schema.Pool, b schema.Backend) (int, int, time.Duration, []schema.Problem) {
	return compilePool(path, p, b)
}
func (kit) WithProfileWarnings(name string, p *schema.Profile, ws []Warning) []Warning {
	return withProfileWarnings(name, p, ws)
}
func (kit) Options(opts []Option) (*slog.Logger, func() time.Time, time.Duration, MaterialSource) {
	o := buildOptions(opts)
	return o.logger, o.now, o.riakAuthWait, o.material
}
func (kit) SecretAt(ms MaterialSource, path string, s *schema.SecretSource) schema.Secret {
	return secretAt(ms, path, s)
}
func (kit) NewReloader(name string, t *schema.TLS, ct *ClientTLS, opts []Option) (any, []Warning) {
	return newReloader(name, t, ct, buildOptions(opts))
}
func (kit) HandshakeShared(c *ClientTLS, ctx context.Context, raw net.Conn, hostport, addr string) (*tls.Conn, func(), error) {
	return c.handshakeShared(ctx, raw, hostport, addr)
}

func (kit) FillHost(h *HostReport, r *Report, serverName string, err error) {
	h.fill(r, serverName, err)
}
func (kit) FillTLS(r *Report, cs tls.ConnectionState, now time.Time) { r.fillTLS(cs, now) }

// The reloader's methods the backends call, through internal/factorykit.Reloader.

func (r *reloader) Use()                             { r.use() }
func (r *reloader) Stop()                            { r.stop() }
func (r *reloader) Reload(ctx context.Context) error { return r.reload(ctx) }
func (r *reloader) DialDone(b schema.Backend, start time.Time, err *error) {
	r.dialDone(b, start, err)
}
func (r *reloader) CheckDone(b schema.Backend, start time.Time, rep **Report, err *error) {
	r.checkDone(b, start, rep, err)
}
