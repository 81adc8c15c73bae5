package cassandra_test

import (
	"encoding/binary"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/factory/cassandra"
)

// cqlSegment is one uncompressed protocol 5 segment holding payload.
func cqlSegment(payload []byte, selfContained bool) []byte {
	h := uint32(len(payload))
	if selfContained {
		h |= 1 << 17
	}
	seg := []byte{byte(h), byte(h >> 8), byte(h >> 16)}
	crc := gocql.Crc24(seg)
	seg = append(seg, byte(crc), byte(crc>>8), byte(crc>>16))
	seg = append(seg, payload...)
	return binary.LittleEndian.AppendUint32(seg, gocql.Crc32(payload))
}

// cqlFrame is a frame of protocol version v with a body of n bytes.
func cqlFrame(v, op byte, n int) []byte {
	f := []byte{0x80 | v, 0, 0, 1, op, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(f[5:], uint32(n))
	return append(f, make([]byte, n)...)
}

// TestCQLGuardFollowsTheStream: legitimate traffic, whatever the read sizes, passes
// the guard: the handshake in legacy framing, then protocol 5 segments, self-contained
// ones and a 300 KiB frame spread over three; the same stream with a frame announcing
// more than it carries, over the bound, does not.
func TestCQLGuardFollowsTheStream(t *testing.T) {
	big := cqlFrame(5, 0x08, 300<<10)
	var segs []byte
	for rest := big; len(rest) > 0; {
		n := min(len(rest), 1<<17-1)
		segs = append(segs, cqlSegment(rest[:n], false)...)
		rest = rest[n:]
	}
	small := append(cqlFrame(5, 0x08, 10), cqlFrame(5, 0x08, 0)...)
	stream := append(append(append(append(cqlFrame(5, 0x06, 2), cqlFrame(5, 0x02, 0)...),
		cqlSegment(small, true)...), segs...), cqlSegment(small, true)...)
	stream = append(stream, segs...)
	legacy := append(append(cqlFrame(4, 0x06, 100), cqlFrame(4, 0x02, 0)...), cqlFrame(4, 0x08, 2<<20)...)
	for _, chunk := range []int{7, 9, 4096, 1 << 20} { // 7 and 9 split every header
		require.NoError(t, cassandra.CQLGuardScan(stream, chunk), "chunk %d", chunk)
		require.NoError(t, cassandra.CQLGuardScan(legacy, chunk), "chunk %d", chunk)
	}

	lie := append([]byte(nil), segs...)
	binary.BigEndian.PutUint32(lie[6+5:], cassandra.CQLMaxFrame+1) // the first segment's frame header
	bad := append(append(cqlFrame(5, 0x06, 2), cqlFrame(5, 0x02, 0)...), lie...)
	for _, chunk := range []int{1, 7, 4096} {
		require.ErrorContains(t, cassandra.CQLGuardScan(bad, chunk), "announced a CQL frame of 268435457 bytes", "chunk %d", chunk)
	}
	// Legacy framing after the handshake: gocql's own bound.
	over := append(append(cqlFrame(4, 0x06, 2), cqlFrame(4, 0x02, 0)...), 0x84, 0, 0, 1, 0x08, 0x10, 0, 0, 1)
	require.ErrorContains(t, cassandra.CQLGuardScan(over, 3), "announced a CQL frame of 268435457 bytes")
}
