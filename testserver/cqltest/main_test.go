package cqltest_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/internal/leakcheck"
	"github.com/connfactory/connfactory/testserver/cqltest"
)

// TestMain checks that neither the server nor gocql sessions closed by the tests leave
// goroutines behind. No goroutine is ignored: the short reconnection policy in newCluster is
// enough for gocql's to end, and goleak's retries cover the moments they take to do so.
func TestMain(m *testing.M) {
	leakcheck.Main(m)
}

// start starts a server and closes it when the test ends.
func start(t *testing.T, opts cqltest.Options) *cqltest.Server {
	t.Helper()
	srv, err := cqltest.Start(opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })
	return srv
}

// recLogger keeps gocql's log lines for failure messages instead of printing them.
type recLogger struct {
	mu    sync.Mutex
	lines []string
}

func (l *recLogger) add(level, msg string, fields []gocql.LogField) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", level, msg)
	for _, f := range fields {
		fmt.Fprintf(&b, " %s=%v", f.Name, f.Value)
	}
	l.lines = append(l.lines, b.String())
}

func (l *recLogger) Error(msg string, f ...gocql.LogField)   { l.add("ERROR", msg, f) }
func (l *recLogger) Warning(msg string, f ...gocql.LogField) { l.add("WARN", msg, f) }
func (l *recLogger) Info(msg string, f ...gocql.LogField)    { l.add("INFO", msg, f) }
func (l *recLogger) Debug(msg string, f ...gocql.LogField)   { l.add("DEBUG", msg, f) }

// timeouts are gocql's log lines for requests that got no answer in time: gocql logs them
// (at debug level) when its request timeout or the caller's context runs out.
func (l *recLogger) timeouts() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range l.lines {
		if strings.Contains(line, "Request timed out") || strings.Contains(line, "context elapsed") {
			out = append(out, line)
		}
	}
	return out
}

// requireAnswered asserts that the server answered every request gocql sent on the
// connections of c: a request left unanswered makes gocql wait out its timeout (5 s in
// newCluster) and log it, whether or not the session then opens.
func requireAnswered(t *testing.T, c *gocql.ClusterConfig) {
	t.Helper()
	log, ok := c.Logger.(*recLogger)
	require.True(t, ok, "the config comes from newCluster")
	require.Empty(t, log.timeouts(), "requests gocql waited for in vain")
}

func (l *recLogger) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// versionObserver records the protocol versions of the frames gocql receives.
type versionObserver struct {
	mu       sync.Mutex
	versions map[int]bool
}

func (o *versionObserver) ObserveFrameHeader(_ context.Context, h gocql.ObservedFrameHeader) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.versions == nil {
		o.versions = map[int]bool{}
	}
	o.versions[int(byte(h.Version)&0x7f)] = true
}

func (o *versionObserver) seen() map[int]bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[int]bool{}
	for v := range o.versions {
		out[v] = true
	}
	return out
}

// newCluster returns a gocql config for srv tuned so that sessions open and close quickly:
// one connection, a short reconnection policy (gocql's goroutines otherwise linger about a
// second after Close), and bounded timeouts so a server that stays silent fails the test
// instead of hanging it.
func newCluster(t *testing.T, srv *cqltest.Server) (*gocql.ClusterConfig, *recLogger) {
	t.Helper()
	c := gocql.NewCluster(srv.Addr())
	c.NumConns = 1
	c.Timeout = 5 * time.Second
	c.ConnectTimeout = 5 * time.Second
	c.ReconnectionPolicy = &gocql.ConstantReconnectionPolicy{MaxRetries: 1, Interval: 10 * time.Millisecond}
	c.ReconnectInterval = 0
	log := &recLogger{}
	c.Logger = log
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gocql log:\n%s", log)
		}
	})
	return c, log
}

// connect opens a session, closing it when the test ends, and asserts that no request
// gocql sent while opening it went unanswered (requireAnswered).
func connect(t *testing.T, c *gocql.ClusterConfig) *gocql.Session {
	t.Helper()
	s, err := c.CreateSession()
	require.NoError(t, err)
	t.Cleanup(s.Close)
	requireAnswered(t, c)
	return s
}

func releaseVersion(t *testing.T, s *gocql.Session) string {
	t.Helper()
	var v string
	require.NoError(t, s.Query("SELECT release_version FROM system.local").Scan(&v))
	return v
}

// tlsDialer bounds TCP and the TLS handshake by the dial context, which gocql's own TLS path
// does not (a stalled handshake hangs CreateSession), the way the factory's dialer does.
type tlsDialer struct{ cfg *tls.Config }

func (d tlsDialer) DialHost(ctx context.Context, host *gocql.HostInfo) (*gocql.DialedHost, error) {
	addr := net.JoinHostPort(host.ConnectAddress().String(), fmt.Sprint(host.Port()))
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	conn := tls.Client(raw, d.cfg)
	if err := conn.HandshakeContext(ctx); err != nil {
		_ = raw.Close()
		return nil, err
	}
	return &gocql.DialedHost{Conn: conn, DisableCoalesce: true}, nil
}
