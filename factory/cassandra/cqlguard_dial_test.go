package cassandra_test

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/factorytest/cassenv"
	"github.com/connfactory/connfactory/internal/leakcheck"
	"github.com/connfactory/connfactory/schema"
)

// hugeFramePeer is a CQL peer that answers the client's first frame with a header
// announcing announce bytes of body, and then sends nothing more: a client that believes
// the header allocates the body and waits for it.
func hugeFramePeer(t *testing.T, opcode byte, announce uint32) string {
	t.Helper()
	return rawPeer(t, func(c net.Conn, done <-chan struct{}) {
		req, err := readCQLFrame(c)
		if err != nil {
			return
		}
		resp := []byte{0x80 | req[0]&0x7f, 0, req[2], req[3], opcode, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(resp[5:], announce)
		_, _ = c.Write(resp)
		<-done
	})
}

// rawPeer listens on 127.0.0.1 and runs serve on every connection; serve returns when
// done is closed. Cleanup closes everything and waits for every goroutine.
func rawPeer(t *testing.T, serve func(c net.Conn, done <-chan struct{})) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				serve(c, done)
			}()
		}
	}()
	t.Cleanup(func() {
		close(done)
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// readCQLFrame reads one legacy-framed CQL frame and returns its header.
func readCQLFrame(c net.Conn) ([9]byte, error) {
	var h [9]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		return h, err
	}
	_, err := io.CopyN(io.Discard, c, int64(binary.BigEndian.Uint32(h[5:])))
	return h, err
}

// TestCassandraHugeFrameRefused: a peer announcing a 256 MiB frame (gocql's own limit,
// which gocql would allocate at once) or a 2 MiB one during the handshake is refused as
// a protocol error at the header, without the allocation, and the check does not wait
// for a body that never comes.
func TestCassandraHugeFrameRefused(t *testing.T) {
	leakcheck.Verify(t)
	for _, tc := range []struct {
		name     string
		opcode   byte
		announce uint32
		want     string
	}{
		{"256 MiB SUPPORTED", 0x06, 256 << 20, "announced a CQL frame of 268435456 bytes during the CQL handshake"},
		{"2 MiB READY", 0x02, 2 << 20, "announced a CQL frame of 2097152 bytes"},
		{"negative length", 0x06, 0x80000000, "announced a CQL frame of -2147483648 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := hugeFramePeer(t, tc.opcode, tc.announce)
			p := cassenv.Profile(addr, nil)
			p.Auth = nil
			p.ProtocolVersion = 4
			// Long enough that a timeout cannot be what ends the check.
			p.ConnectTimeout = schema.Duration(time.Minute)
			c := cassenv.Connector(t, p)

			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			rep, err := c.Check(ctx)
			runtime.ReadMemStats(&after)
			require.ErrorIs(t, err, factory.ErrProtocol, "%v", err)
			require.ErrorContains(t, err, tc.want)
			require.Equal(t, string(factory.KindProtocol), rep.Error.Kind)
			require.NoError(t, ctx.Err(), "the check must end at the header, not at a deadline")
			// gocql would have allocated the announced body in one piece; everything else
			// a failed check allocates is a few megabytes at most.
			require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20),
				"the check allocated %d MiB", (after.TotalAlloc-before.TotalAlloc)>>20)

			_, err = c.Dial(ctx)
			require.ErrorIs(t, err, factory.ErrProtocol)
		})
	}
}

// v5SegmentPeer speaks protocol 5 up to READY (SUPPORTED, READY, in the legacy framing),
// then answers the first request, in segments, with a frame spread over several
// segments whose header announces announce bytes. gocql sizes the whole frame's buffer
// from that header, without any limit of its own.
func v5SegmentPeer(t *testing.T, announce uint32) string {
	t.Helper()
	return rawPeer(t, func(c net.Conn, done <-chan struct{}) {
		for _, answer := range []struct {
			op   byte
			body []byte
		}{{0x06, []byte{0, 0}}, {0x02, nil}} { // SUPPORTED (empty multimap), READY
			h, err := readCQLFrame(c)
			if err != nil || h[0]&0x7f != 5 {
				return
			}
			resp := append([]byte{0x85, 0, h[2], h[3], answer.op, 0, 0, 0, byte(len(answer.body))}, answer.body...)
			if _, err := c.Write(resp); err != nil {
				return
			}
		}
		var first [1]byte
		if _, err := c.Read(first[:]); err != nil { // the first request, in a segment
			return
		}
		payload := []byte{0x85, 0, 0, 0, 0x08, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(payload[5:], announce)
		_, _ = c.Write(cqlSegment(payload, false)) // not self-contained: the frame continues
		<-done
	})
}

// TestCassandraHugeV5FrameRefused: under protocol 5, a frame spread over segments is
// bounded too (gocql would allocate the 1 GiB its header announces).
func TestCassandraHugeV5FrameRefused(t *testing.T) {
	leakcheck.Verify(t)
	addr := v5SegmentPeer(t, 1<<30)
	p := cassenv.Profile(addr, nil)
	p.Auth = nil
	p.ProtocolVersion = 5
	p.ConnectTimeout = schema.Duration(time.Minute)
	p.Timeout = schema.Duration(time.Minute)
	c := cassenv.Connector(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := c.Check(ctx)
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, factory.ErrProtocol, "%v", err)
	require.ErrorContains(t, err, "announced a CQL frame of 1073741824 bytes")
	require.NoError(t, ctx.Err())
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20))
}
