package sandbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/connfactory/connfactory"
	"github.com/connfactory/connfactory/testserver/sandbox"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The profiles file the sandbox writes is valid and every profile in it passes a real
// check against the sandbox's servers.
func TestSandboxProfilesPass(t *testing.T) {
	sb, err := sandbox.Start(sandbox.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	defer func() { require.NoError(t, sb.Close()) }()

	reg, err := connfactory.Load(connfactory.WithFiles(sb.ProfilesFile), connfactory.WithEnvPrefix("-"))
	require.NoError(t, err)
	defer reg.Close()
	require.Equal(t, sandbox.ProfileNames(), reg.Profiles())
	for _, name := range reg.Profiles() {
		c, err := reg.Connector(name)
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		rep, err := c.Check(ctx)
		cancel()
		require.NoError(t, err, name)
		require.True(t, rep.OK, name)
		require.Equal(t, "ok", rep.Auth.Result, name)
		require.True(t, rep.TLS.Enabled, name)
	}
}

func TestSandboxNeedsADir(t *testing.T) {
	_, err := sandbox.Start(sandbox.Options{})
	require.EqualError(t, err, "sandbox: Options.Dir is required")
}
