package cqltest_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/datastax/go-cassandra-native-protocol/frame"
	"github.com/datastax/go-cassandra-native-protocol/message"
	"github.com/datastax/go-cassandra-native-protocol/primitive"
	"github.com/datastax/go-cassandra-native-protocol/segment"
	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/testserver/cqltest"
)

// rawClient speaks the native protocol directly, for what a driver will not do on purpose.
type rawClient struct {
	t      *testing.T
	nc     net.Conn
	frames frame.Codec
	segs   segment.Codec
	modern bool
}

func dialRaw(t *testing.T, srv *cqltest.Server) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", srv.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { _ = nc.Close() })
	require.NoError(t, nc.SetDeadline(time.Now().Add(10*time.Second)))
	return &rawClient{t: t, nc: nc, frames: frame.NewCodec(), segs: segment.NewCodec()}
}

func (c *rawClient) send(v primitive.ProtocolVersion, m message.Message) {
	c.t.Helper()
	var buf bytes.Buffer
	require.NoError(c.t, c.frames.EncodeFrame(frame.NewFrame(v, 1, m), &buf))
	c.sendEncoded(buf.Bytes())
}

// sendEncoded writes an encoded frame, in segments once the v5 handshake is over; frames
// larger than a segment go out as several non-self-contained segments.
func (c *rawClient) sendEncoded(data []byte) {
	c.t.Helper()
	if !c.modern {
		_, err := c.nc.Write(data)
		require.NoError(c.t, err)
		return
	}
	self := len(data) <= segment.MaxPayloadLength
	for len(data) > 0 {
		n := min(len(data), segment.MaxPayloadLength)
		require.NoError(c.t, c.segs.EncodeSegment(&segment.Segment{
			Header:  &segment.Header{IsSelfContained: self},
			Payload: &segment.Payload{UncompressedData: data[:n]},
		}, c.nc))
		data = data[n:]
	}
}

func (c *rawClient) recv() *frame.Frame {
	c.t.Helper()
	var src io.Reader = c.nc
	if c.modern {
		var payload []byte
		for {
			seg, err := c.segs.DecodeSegment(c.nc)
			require.NoError(c.t, err)
			payload = append(payload, seg.Payload.UncompressedData...)
			if seg.Header.IsSelfContained {
				break
			}
			if len(payload) >= 9 {
				h, err := c.frames.(frame.RawDecoder).DecodeHeader(bytes.NewReader(payload))
				require.NoError(c.t, err)
				if len(payload) == 9+int(h.BodyLength) {
					break
				}
			}
		}
		src = bytes.NewReader(payload)
	}
	f, err := c.frames.DecodeFrame(src)
	require.NoError(c.t, err)
	return f
}

func (c *rawClient) roundTrip(v primitive.ProtocolVersion, m message.Message) message.Message {
	c.t.Helper()
	c.send(v, m)
	f := c.recv()
	require.Equal(c.t, v, f.Header.Version)
	require.EqualValues(c.t, 1, f.Header.StreamId)
	return f.Body.Message
}

func (c *rawClient) startup(v primitive.ProtocolVersion) {
	c.t.Helper()
	_, ok := c.roundTrip(v, message.NewStartup()).(*message.Ready)
	require.True(c.t, ok)
	c.modern = v >= primitive.ProtocolVersion5
}

func TestUnframeableVersion(t *testing.T) {
	t.Parallel()
	srv := start(t, cqltest.Options{})
	for _, version := range []byte{1, 6} {
		c := dialRaw(t, srv)
		_, err := c.nc.Write([]byte{version, 0, 0, 1, byte(primitive.OpCodeOptions), 0, 0, 0, 0})
		require.NoError(t, err)
		f := c.recv()
		require.Equal(t, primitive.ProtocolVersion5, f.Header.Version, "answered in the highest version spoken")
		perr, ok := f.Body.Message.(*message.ProtocolError)
		require.True(t, ok, "got %v", f.Body.Message)
		require.Contains(t, perr.ErrorMessage, "Invalid or unsupported protocol version")
		_, err = c.nc.Read(make([]byte, 1))
		require.ErrorIs(t, err, io.EOF, "the server hangs up after such a frame")
	}
}

func TestHandshakeOrder(t *testing.T) {
	t.Parallel()
	srv := start(t, cqltest.Options{Credentials: map[string]string{"app": "pw"}})
	c := dialRaw(t, srv)
	v := primitive.ProtocolVersion4

	sup, ok := c.roundTrip(v, &message.Options{}).(*message.Supported)
	require.True(t, ok)
	require.Equal(t, []string{"3/v3", "4/v4", "5/v5"}, sup.Options[message.SupportedProtocolVersions])

	perr, ok := c.roundTrip(v, &message.Query{Query: "SELECT * FROM system.local"}).(*message.ProtocolError)
	require.True(t, ok)
	require.Equal(t, "Unexpected message QUERY, expecting STARTUP or OPTIONS", perr.ErrorMessage)

	perr, ok = c.roundTrip(v, &message.Startup{Options: map[string]string{"CQL_VERSION": "3.0.0", "COMPRESSION": "lz4"}}).(*message.ProtocolError)
	require.True(t, ok)
	require.Contains(t, perr.ErrorMessage, "Unknown compression algorithm")

	auth, ok := c.roundTrip(v, message.NewStartup()).(*message.Authenticate)
	require.True(t, ok)
	require.Equal(t, cqltest.PasswordAuthenticator, auth.Authenticator)

	perr, ok = c.roundTrip(v, &message.Query{Query: "SELECT * FROM system.local"}).(*message.ProtocolError)
	require.True(t, ok)
	require.Equal(t, "Unexpected message QUERY, expecting SASL_RESPONSE", perr.ErrorMessage)

	// DSE-style PLAIN negotiation, then the token.
	ch, ok := c.roundTrip(v, &message.AuthResponse{Token: []byte("PLAIN")}).(*message.AuthChallenge)
	require.True(t, ok)
	require.Equal(t, "PLAIN-START", string(ch.Token))
	_, ok = c.roundTrip(v, &message.AuthResponse{Token: []byte("\x00app\x00pw")}).(*message.AuthSuccess)
	require.True(t, ok)

	_, ok = c.roundTrip(v, &message.Register{EventTypes: []primitive.EventType{primitive.EventTypeSchemaChange}}).(*message.Ready)
	require.True(t, ok)
}

func TestPreparedV5(t *testing.T) {
	t.Parallel()
	srv := start(t, cqltest.Options{})
	c := dialRaw(t, srv)
	v := primitive.ProtocolVersion5
	c.startup(v)

	prep, ok := c.roundTrip(v, &message.Prepare{Query: "SELECT release_version, host_id FROM system.local WHERE key = ?"}).(*message.PreparedResult)
	require.True(t, ok)
	require.NotEmpty(t, prep.ResultMetadataId, "v5 clients need the result metadata id")
	require.Len(t, prep.VariablesMetadata.Columns, 1)
	require.Len(t, prep.ResultMetadata.Columns, 2)

	rows, ok := c.roundTrip(v, &message.Execute{
		QueryId:          prep.PreparedQueryId,
		ResultMetadataId: prep.ResultMetadataId,
		Options:          &message.QueryOptions{SkipMetadata: true, PositionalValues: []*primitive.Value{primitive.NewValue([]byte("local"))}},
	}).(*message.RowsResult)
	require.True(t, ok)
	require.Nil(t, rows.Metadata.Columns, "SKIP_METADATA honoured")
	require.EqualValues(t, 2, rows.Metadata.ColumnCount)
	require.Len(t, rows.Data, 1)
	require.Equal(t, cqltest.DefaultReleaseVersion, string(rows.Data[0][0]))

	unp, ok := c.roundTrip(v, &message.Execute{QueryId: []byte("nope"), ResultMetadataId: []byte("x"), Options: &message.QueryOptions{}}).(*message.Unprepared)
	require.True(t, ok)
	require.Equal(t, []byte("nope"), unp.Id)

	inv, ok := c.roundTrip(v, &message.Prepare{Query: "SELECT * FROM app.users"}).(*message.Invalid)
	require.True(t, ok)
	require.Equal(t, "unconfigured table users", inv.ErrorMessage)
}

func TestMultiSegmentFrames(t *testing.T) {
	t.Parallel()
	srv := start(t, cqltest.Options{})
	c := dialRaw(t, srv)
	v := primitive.ProtocolVersion5
	c.startup(v)
	// A request larger than a segment's payload is split over several segments.
	big := "SELECT release_version FROM system.local WHERE key = '" + strings.Repeat("x", 200_000) + "'"
	rows, ok := c.roundTrip(v, &message.Query{Query: big, Options: &message.QueryOptions{}}).(*message.RowsResult)
	require.True(t, ok)
	require.Equal(t, cqltest.DefaultReleaseVersion, string(rows.Data[0][0]))
	// And the connection is still in step afterwards.
	rows, ok = c.roundTrip(v, &message.Query{Query: "SELECT key FROM system.local", Options: &message.QueryOptions{}}).(*message.RowsResult)
	require.True(t, ok)
	require.Equal(t, "local", string(rows.Data[0][0]))
}

// TestManyConnections opens more connections than client.CqlServer's accept queue holds (128)
// and more than its default connection limit; each is answered and counted.
func TestManyConnections(t *testing.T) {
	t.Parallel()
	srv := start(t, cqltest.Options{})
	const n = 200
	for i := 0; i < n; i++ {
		c := dialRaw(t, srv)
		_, ok := c.roundTrip(primitive.ProtocolVersion4, &message.Options{}).(*message.Supported)
		require.True(t, ok)
	}
	require.Equal(t, n, srv.Connections())
}

func TestClose(t *testing.T) {
	t.Parallel()
	srv, err := cqltest.Start(cqltest.Options{})
	require.NoError(t, err)

	// A live session and a connection that never says anything must not hold Close up.
	c, _ := newCluster(t, srv)
	s := connect(t, c)
	idle := dialRaw(t, srv)

	done := make(chan error, 1)
	go func() { done <- srv.Close() }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	require.NoError(t, srv.Close(), "Close is idempotent")

	_, err = idle.nc.Read(make([]byte, 1))
	require.True(t, errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err), "got %v", err)
	_, err = net.DialTimeout("tcp", srv.Addr(), time.Second)
	require.Error(t, err, "nothing listens after Close")
	require.Error(t, s.Query("SELECT release_version FROM system.local").Exec())
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

// TestClientDisconnects is the case client.CqlServer fails under the race detector: clients
// that hang up while the server's connection goroutines wait.
func TestClientDisconnects(t *testing.T) {
	t.Parallel()
	srv := start(t, cqltest.Options{})
	for i := 0; i < 5; i++ {
		c, _ := newCluster(t, srv)
		s, err := c.CreateSession()
		require.NoError(t, err)
		require.Equal(t, cqltest.DefaultReleaseVersion, releaseVersion(t, s))
		s.Close()
	}
	for i := 0; i < 20; i++ {
		c := dialRaw(t, srv)
		c.roundTrip(primitive.ProtocolVersion4, &message.Options{})
		require.NoError(t, c.nc.Close())
	}
	// A session still works after all that.
	c, _ := newCluster(t, srv)
	s := connect(t, c)
	require.Equal(t, cqltest.DefaultReleaseVersion, releaseVersion(t, s))
}

func TestOversizedFrame(t *testing.T) {
	t.Parallel()
	srv := start(t, cqltest.Options{})
	c := dialRaw(t, srv)
	// A QUERY header claiming a 1 GiB body: the server hangs up instead of reading on.
	_, err := c.nc.Write([]byte{4, 0, 0, 1, byte(primitive.OpCodeQuery), 0x40, 0, 0, 0})
	require.NoError(t, err)
	_, err = c.nc.Read(make([]byte, 1))
	require.True(t, errors.Is(err, io.EOF) || isReset(err), "got %v", err)
}
