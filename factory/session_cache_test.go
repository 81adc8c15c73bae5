package factory

import (
	"context"
	"crypto/tls"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The session cache is bounded (least recently used out), per generation, and ignores
// sessions of an older generation.
func TestSessionCacheLRUAndGenerations(t *testing.T) {
	s := newSessionCache()
	cs := func() *tls.ClientSessionState { return &tls.ClientSessionState{} }
	first := cs()
	s.put("k0", 0, first)
	for i := 1; i < SessionCacheSize; i++ {
		s.put("k"+strconv.Itoa(i), 0, cs())
	}
	got, ok := s.get("k0", 0) // k0 is now the most recently used
	require.True(t, ok)
	require.Same(t, first, got)
	s.put("extra", 0, cs()) // evicts k1, the least recently used
	_, ok = s.get("k1", 0)
	require.False(t, ok)
	_, ok = s.get("k0", 0)
	require.True(t, ok)
	require.Equal(t, SessionCacheSize, s.ll.Len())

	s.put("k0", 0, nil) // crypto/tls drops a session the server refused
	_, ok = s.get("k0", 0)
	require.False(t, ok)

	s.reset(1) // new material
	_, ok = s.get("k2", 1)
	require.False(t, ok)
	require.Zero(t, s.ll.Len())
	s.put("late", 0, cs()) // a handshake that started before the reset
	_, ok = s.get("late", 1)
	require.False(t, ok)
	s.put("new", 1, cs())
	_, ok = s.get("new", 1)
	require.True(t, ok)
}

// The first handshake for a key leads; the others wait for its session (or its release,
// or their context), once.
func TestSessionCacheAcquire(t *testing.T) {
	s := newSessionCache()
	release := s.acquire(context.Background(), "k", 0)

	waited := make(chan struct{})
	go func() {
		defer close(waited)
		s.acquire(context.Background(), "k", 0)()
	}()
	select {
	case <-waited:
		t.Fatal("a second handshake did not wait for the first one's session")
	case <-time.After(20 * time.Millisecond): // only proves it is still waiting; no ordering relies on it
	}
	s.put("k", 0, &tls.ClientSessionState{})
	<-waited
	release() // after the put: a no-op

	// With a session cached, no one waits.
	s.acquire(context.Background(), "k", 0)()

	// A leader without a session (failed handshake) releases its waiters.
	release = s.acquire(context.Background(), "other", 0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.acquire(context.Background(), "other", 0)()
	}()
	release()
	<-done

	// A waiter's context bounds its wait.
	release = s.acquire(context.Background(), "third", 0)
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.acquire(ctx, "third", 0)()
}
