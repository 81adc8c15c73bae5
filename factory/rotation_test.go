package factory_test

import (
	"context"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/internal/factorytest"
	"github.com/connfactory/connfactory/internal/leakcheck"
	"github.com/connfactory/connfactory/testserver/pki"
)

// rotationLoad runs dials dials from workers goroutines while the main goroutine rotates
// the client certificate rotations times through ReloadNow, spreading the rotations over
// the run. dial makes one connection and returns the serials the server recorded for
// every TCP connection it opened. The test then asserts that no dial failed and that
// every dial that started after rotation i had completed presented a certificate of
// generation i or later: the swap is atomic and reaches every new handshake.
func rotationLoad(t *testing.T, set *pki.Set, b *rlBackend, workers, dials, rotations int,
	dial func() ([]*big.Int, error)) {
	leaves := make([]*pki.Leaf, rotations+1)
	generation := map[string]int{} // serial -> generation
	for i := range leaves {
		leaves[i] = rlIssue(t, set, "app")
		generation[leaves[i].Serial().String()] = i
	}
	files := newRLFiles(t, set, leaves[0], false)
	reloadNow, tlsOf := b.connect(t, files.resolved(time.Hour), files.refresher())

	type result struct {
		startedAfter int // rotations completed when the dial started
		serials      []*big.Int
		err          error
	}
	var (
		completed atomic.Int64 // rotations completed
		next      atomic.Int64 // dials handed out
		results   = make([]result, dials)
		progress  = make(chan struct{}, dials)
		rotated   = make(chan struct{}) // closed when the last rotation completed
		wg        sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= dials {
					return
				}
				if i == dials-1 {
					// The last dial starts after the last rotation, so that one dial surely
					// presents the last certificate: the dials before it may all have been
					// handed out, and have handshaken, before the last rotation completed.
					<-rotated
				}
				r := result{startedAfter: int(completed.Load())}
				r.serials, r.err = dial()
				results[i] = r
				progress <- struct{}{}
			}
		}()
	}
	done := 0
	for i := 1; i <= rotations; i++ {
		// Rotate after every dials/(rotations+1) dials, so that rotations interleave with
		// dials in flight without any sleep.
		for done < i*dials/(rotations+1) {
			<-progress
			done++
		}
		files.writeLeaf(leaves[i])
		require.NoError(t, reloadNow(context.Background()))
		require.Equal(t, uint64(i), tlsOf().Generation())
		completed.Store(int64(i))
	}
	close(rotated)
	wg.Wait()

	seen := map[int]int{}
	for i, r := range results {
		require.NoError(t, r.err, "dial %d failed", i)
		require.NotEmpty(t, r.serials, "dial %d: the server recorded no client certificate", i)
		for _, s := range r.serials {
			require.NotNil(t, s, "dial %d: a connection without a recorded client certificate", i)
			gen, ok := generation[s.String()]
			require.True(t, ok, "dial %d presented an unknown certificate", i)
			require.GreaterOrEqual(t, gen, r.startedAfter,
				"dial %d started after rotation %d had completed but presented the certificate of generation %d", i, r.startedAfter, gen)
			seen[gen]++
		}
	}
	// The run really interleaved: dials presented the first and the last certificates.
	require.Positive(t, seen[0])
	require.Positive(t, seen[rotations])
	t.Logf("%s: %d dials, %d rotations, connections per generation: %v", b.name, dials, rotations, seen)
}

// TestRotationUnderLoadRiak: 8 goroutines make 200 DialConn connections (STARTTLS, TLS
// with the client certificate, auth, ping) while the certificate is rotated 10 times.
func TestRotationUnderLoadRiak(t *testing.T) {
	leakcheck.Verify(t)
	set := factorytest.NewPKI(t)
	b := rlRiak(t, set)
	rotationLoad(t, set, b, 8, 200, 10, func() ([]*big.Int, error) {
		s, err := b.dial()
		return []*big.Int{s}, err
	})
}

// rlRecordingDialer wraps the connector's HostDialer and keeps the local address of
// every connection gocql opened through it, so the test can ask the server which
// certificate each of them presented.
type rlRecordingDialer struct {
	inner gocql.HostDialer
	mu    sync.Mutex
	addrs []string
}

func (d *rlRecordingDialer) DialHost(ctx context.Context, host *gocql.HostInfo) (*gocql.DialedHost, error) {
	dh, err := d.inner.DialHost(ctx, host)
	if err == nil {
		d.mu.Lock()
		d.addrs = append(d.addrs, dh.Conn.LocalAddr().String())
		d.mu.Unlock()
	}
	return dh, err
}

// TestRotationUnderLoadCassandra: 8 goroutines create 64 gocql sessions through the
// factory's HostDialer (each opens a control connection and its pool) while the
// certificate is rotated 8 times; every connection of a session that started after a
// rotation presents the new certificate or a later one.
func TestRotationUnderLoadCassandra(t *testing.T) {
	leakcheck.Verify(t)
	set := factorytest.NewPKI(t)
	b := rlCassandra(t, set)
	rotationLoad(t, set, b, 8, 64, 8, func() ([]*big.Int, error) {
		cfg := b.cass.ClusterConfig()
		rec := &rlRecordingDialer{inner: cfg.HostDialer}
		cfg.HostDialer = rec
		cfg.NumConns = 1
		sess, err := cfg.CreateSession()
		if err != nil {
			return nil, err
		}
		defer sess.Close()
		if err := rlQuery(sess); err != nil {
			return nil, err
		}
		// Ask while the session is open: its connections' addresses are still theirs.
		rec.mu.Lock()
		defer rec.mu.Unlock()
		serials := make([]*big.Int, 0, len(rec.addrs))
		for _, a := range rec.addrs {
			serials = append(serials, b.peers.serialOf(a))
		}
		return serials, nil
	})
}
