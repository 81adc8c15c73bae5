package connfactory_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory"
	"github.com/connfactory/connfactory/internal/bigconfig"
	"github.com/connfactory/connfactory/loaders"
)

// countingCtx is a context that reports itself cancelled from its stopAt-th look on
// (Err), so that a test can stop a load at every point where it checks, without timing.
type countingCtx struct {
	context.Context
	looks, stopAt atomic.Int64
}

func (c *countingCtx) Err() error {
	if n := c.looks.Add(1); c.stopAt.Load() > 0 && n >= c.stopAt.Load() {
		return context.Canceled
	}
	return nil
}

func (c *countingCtx) Done() <-chan struct{} { return nil }

// TestLoadHonoursContext: Load, LoadConfig and Validate look at their context between
// stages and every few hundred profiles within one, and stopped at any of those looks
// they return the context's error, not a configuration.
func TestLoadHonoursContext(t *testing.T) {
	const n = 600
	mat, err := bigconfig.WriteMaterial(t.TempDir(), 10)
	require.NoError(t, err)
	path, err := mat.WriteTOML(n)
	require.NoError(t, err)
	opts := func(ctx context.Context) []connfactory.Option {
		return []connfactory.Option{connfactory.WithFiles(path), connfactory.WithContext(ctx),
			connfactory.WithEnviron([]string{bigconfig.PasswordEnv + "=secret"})}
	}

	// Unstopped: count the looks. Loading, validating and compiling 600 profiles in
	// stages of checks every 256 profiles is at least 4 stages × 3 looks.
	free := &countingCtx{Context: context.Background()}
	_, _, err = connfactory.Validate(opts(free)...)
	require.NoError(t, err)
	looks := free.looks.Load()
	require.GreaterOrEqual(t, looks, int64(4*n/256), "looked at the context every few hundred profiles")

	for _, stopAt := range []int64{1, 2, looks / 3, looks / 2, looks - 1, looks} {
		ctx := &countingCtx{Context: context.Background()}
		ctx.stopAt.Store(stopAt)
		cfg, warnings, err := connfactory.Validate(opts(ctx)...)
		require.ErrorIs(t, err, context.Canceled, "stopped at look %d of %d", stopAt, looks)
		require.ErrorIs(t, err, loaders.ErrStopped)
		require.Nil(t, cfg)
		require.Nil(t, warnings)
		var ps interface{ Unwrap() []error }
		require.False(t, errors.As(err, &ps) && len(ps.Unwrap()) > 5, "no list of problems")
	}
	for _, stopAt := range []int64{1, looks / 4} {
		ctx := &countingCtx{Context: context.Background()}
		ctx.stopAt.Store(stopAt)
		reg, err := connfactory.Load(opts(ctx)...)
		require.ErrorIs(t, err, context.Canceled)
		require.Nil(t, reg)
	}

	// A real cancelled context, and its cause.
	ctx, cancel := context.WithCancelCause(context.Background())
	cause := errors.New("operator pressed ctrl-c")
	cancel(cause)
	cfg, err := connfactory.LoadConfig(opts(ctx)...)
	require.Nil(t, cfg)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, err, cause)
	require.ErrorIs(t, err, loaders.ErrStopped)

	// Without WithContext nothing changes.
	_, err = connfactory.Load(connfactory.WithFiles(filepath.Join(mat.Dir, "big.toml")),
		connfactory.WithEnviron([]string{bigconfig.PasswordEnv + "=secret"}))
	require.NoError(t, err)
}
