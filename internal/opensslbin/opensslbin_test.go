package opensslbin_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/internal/opensslbin"
)

func TestSummary(t *testing.T) {
	require.Empty(t, opensslbin.Summary("factory", 0))
	require.Equal(t, "factory: 3 test(s) SKIPPED: openssl not found (install openssl to run them; CI=true makes this a failure)",
		opensslbin.Summary("factory", 3))
}

// TestFindOnPath: a PATH entry wins over the fallbacks.
func TestFindOnPath(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "openssl")
	require.NoError(t, os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755))
	t.Setenv("PATH", dir)
	p, err := opensslbin.Find()
	require.NoError(t, err)
	require.Equal(t, fake, p)
}

// TestFindFallback: with an empty PATH, /usr/bin/openssl is still found when installed.
func TestFindFallback(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	p, err := opensslbin.Find()
	if _, serr := os.Stat("/usr/bin/openssl"); serr == nil {
		require.NoError(t, err)
		require.Equal(t, "/usr/bin/openssl", p)
		return
	}
	if _, serr := os.Stat("/usr/local/bin/openssl"); serr == nil {
		require.NoError(t, err)
		return
	}
	require.ErrorContains(t, err, "openssl not found")
}
