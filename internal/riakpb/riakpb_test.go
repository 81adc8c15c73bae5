package riakpb_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/internal/riakpb"
)

func TestFrameRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, riakpb.WriteFrame(&buf, riakpb.PingReq, nil))
	require.NoError(t, riakpb.WriteFrame(&buf, riakpb.AuthReq, []byte{1, 2, 3}))
	require.Equal(t, []byte{0, 0, 0, 1, 1}, buf.Bytes()[:5])

	code, body, err := riakpb.ReadFrame(&buf, 16)
	require.NoError(t, err)
	require.Equal(t, riakpb.PingReq, code)
	require.Empty(t, body)
	code, body, err = riakpb.ReadFrame(&buf, 16)
	require.NoError(t, err)
	require.Equal(t, riakpb.AuthReq, code)
	require.Equal(t, []byte{1, 2, 3}, body)
}

func TestReadFrameRefusesBadLengths(t *testing.T) {
	for _, b := range [][]byte{{0, 0, 0, 0}, {0, 0, 1, 0, 7}} {
		_, _, err := riakpb.ReadFrame(bytes.NewReader(b), 16)
		require.ErrorIs(t, err, riakpb.ErrFrame)
	}
}
