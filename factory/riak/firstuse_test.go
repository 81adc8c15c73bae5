package riak_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/factorykit"
	"github.com/connfactory/connfactory/internal/factorytest"
	"github.com/connfactory/connfactory/internal/factorytest/riakenv"
	"github.com/connfactory/connfactory/schema"
)

// onRiakLogging calls f on every installation of the riak-go-client logger adapter (the
// first Riak dial installs it; later dials only retarget it) until t ends.
func onRiakLogging(t interface{ Cleanup(func()) }, f func()) {
	factorykit.RiakLoggingHook.Store(&f)
	t.Cleanup(func() { factorykit.RiakLoggingHook.Store(nil) })
}

// TestRiakCompileLeavesDriverLogger: compiling a Riak profile does not touch
// riak-go-client's process-wide loggers; the first dial installs the adapter.
func TestRiakCompileLeavesDriverLogger(t *testing.T) {
	factorytest.LeakCheck(t)
	var installs atomic.Int32
	onRiakLogging(t, func() { installs.Add(1) })
	c := riakenv.New(t, riakenv.Profile([]string{factorytest.DeadAddr(t)}, schema.MechanismTrust, "trusted", "", riakenv.TLS()))
	other, err := factory.Compile("riak_other", riakenv.Profile([]string{"127.0.0.1"}, "", "", "", nil))
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Close() })
	require.Zero(t, installs.Load(), "compiling installed the riak-go-client logger")
	_, err = c.DialConn(context.Background())
	require.Error(t, err)
	require.Equal(t, int32(1), installs.Load())
}
