package factory_test

import (
	"bytes"
	"io"
	"log/slog"
	"sync"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/factorykit"
)

// syncBuffer is a concurrency-safe sink: connectors log, and child processes write, from
// goroutines of their own.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// debugLogger is a factory option logging everything, as text, to w.
func debugLogger(w io.Writer) factory.Option {
	return factory.WithLogger(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})))
}

// onRiakLogging calls f on every installation of the riak-go-client logger adapter (the
// first Riak dial installs it; later dials only retarget it) until t ends.
func onRiakLogging(t interface{ Cleanup(func()) }, f func()) {
	factorykit.RiakLoggingHook.Store(&f)
	t.Cleanup(func() { factorykit.RiakLoggingHook.Store(nil) })
}
