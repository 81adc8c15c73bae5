package factory_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/connfactory/connfactory/internal/factorytest"
	"github.com/connfactory/connfactory/internal/factorytest/cassenv"
	"github.com/connfactory/connfactory/internal/factorytest/riakenv"
	"github.com/connfactory/connfactory/internal/leakcheck"
	"github.com/connfactory/connfactory/schema"
)

// TestCompileStartsNoGoroutine: compiling a profile with tls.reload starts no goroutine;
// the reload loop starts on the first dial and Close stops it (the leak checks).
func TestCompileStartsNoGoroutine(t *testing.T) {
	refresh := factorytest.ReloadFrom(func(context.Context) (*schema.TLS, error) { return nil, context.Canceled })
	for _, bc := range []struct {
		name    string
		compile func(t *testing.T, sec *schema.TLS) (dial func() error, closer func() error)
	}{
		{"cassandra", func(t *testing.T, sec *schema.TLS) (func() error, func() error) {
			c := cassenv.Connector(t, cassenv.Profile(factorytest.DeadAddr(t), sec), refresh)
			return func() error { _, err := c.Dial(context.Background()); return err }, c.Close
		}},
		{"riak", func(t *testing.T, sec *schema.TLS) (func() error, func() error) {
			c := riakenv.New(t, riakenv.Profile([]string{factorytest.DeadAddr(t)}, schema.MechanismTrust, "trusted", "", sec), refresh)
			return func() error { _, err := c.DialConn(context.Background()); return err }, c.Close
		}},
	} {
		t.Run(bc.name, func(t *testing.T) {
			leakcheck.Verify(t)
			sec := cassenv.TLS(factorytest.NewPKI(t), true)
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
