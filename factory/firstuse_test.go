package factory_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/schema"
)

// TestCompileStartsNoGoroutine: compiling a profile with tls.reload starts no goroutine;
// the reload loop starts on the first dial and Close stops it (the leak checks).
func TestCompileStartsNoGoroutine(t *testing.T) {
	refresh := reloadFrom(func(context.Context) (*schema.TLS, error) { return nil, context.Canceled })
	for _, bc := range []struct {
		name    string
		compile func(t *testing.T, sec *schema.TLS) (dial func() error, closer func() error)
	}{
		{"cassandra", func(t *testing.T, sec *schema.TLS) (func() error, func() error) {
			c := cassConnector(t, cassProfile(riakDownAddr(t), sec), refresh)
			return func() error { _, err := c.Dial(context.Background()); return err }, c.Close
		}},
		{"riak", func(t *testing.T, sec *schema.TLS) (func() error, func() error) {
			c := newRiak(t, riakProfile([]string{riakDownAddr(t)}, schema.MechanismTrust, "trusted", "", sec), refresh)
			return func() error { _, err := c.DialConn(context.Background()); return err }, c.Close
		}},
	} {
		t.Run(bc.name, func(t *testing.T) {
			cassLeakCheck(t)
			sec := cassTLS(cassPKI(t), true)
			sec.Reload = schema.Duration(time.Hour)
			before := goleak.IgnoreCurrent()
			dial, closer := bc.compile(t, sec)
			require.NoError(t, goleak.Find(before), "compiling started a goroutine")
			require.Error(t, dial(), "nothing listens")
			require.ErrorContains(t, goleak.Find(before), "(*reloader).loop", "the first dial starts the reload loop")
			require.NoError(t, closer())
			require.NoError(t, goleak.Find(before), "Close leaves no goroutine")
		})
	}
}

// TestRiakCompileLeavesDriverLogger: compiling a Riak profile does not touch
// riak-go-client's process-wide loggers; the first dial installs the adapter.
func TestRiakCompileLeavesDriverLogger(t *testing.T) {
	riakLeakCheck(t)
	var installs atomic.Int32
	onRiakLogging(t, func() { installs.Add(1) })
	c := newRiak(t, riakProfile([]string{riakDownAddr(t)}, schema.MechanismTrust, "trusted", "", riakTLS()))
	other, err := factory.Compile("riak_other", riakProfile([]string{"127.0.0.1"}, "", "", "", nil))
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Close() })
	require.Zero(t, installs.Load(), "compiling installed the riak-go-client logger")
	_, err = c.DialConn(context.Background())
	require.Error(t, err)
	require.Equal(t, int32(1), installs.Load())
}
