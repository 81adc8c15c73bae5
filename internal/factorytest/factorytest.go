// Package factorytest holds the test helpers that the tests of package factory and of its
// backends (factory/cassandra, factory/riak) share: log sinks, PKI, inline material, a
// MaterialSource for sections built in tests, handshake counters and the interleaved
// benchmark loop. The backend-specific setup is in its sub-packages cassenv and riakenv.
//
// Only tests import it: production code must not (it links testify and the test servers).
package factorytest

import (
	"bytes"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/pki"
)

// SyncBuffer is a concurrency-safe sink: connectors log, and child processes write, from
// goroutines of their own.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// DebugLogger is a factory option logging everything, as text, to w.
func DebugLogger(w io.Writer) factory.Option {
	return factory.WithLogger(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})))
}

// LeakCheck verifies, after every other cleanup (servers' Close included), that no
// goroutine started during the test is left, the drivers' included. Only this test's
// goroutines: other tests of the package may still be winding down.
func LeakCheck(t *testing.T) {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
}

// NewPKI is a fresh PKI set (roots, intermediate, server and client leaves).
func NewPKI(t testing.TB) *pki.Set {
	t.Helper()
	set, err := pki.NewSet()
	require.NoError(t, err)
	return set
}

// DeadAddr is a loopback address nothing listens on.
func DeadAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// B64 writes material inline, exactly: base64 of its bytes (PEM or DER).
func B64(data []byte) schema.Secret {
	return schema.Secret(base64.StdEncoding.EncodeToString(data))
}

// Secret is an inline secret of value s.
func Secret(s string) *schema.SecretSource { return &schema.SecretSource{Value: schema.Secret(s)} }
