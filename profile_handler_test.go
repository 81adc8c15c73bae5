package connfactory

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestProfileHandler: the lazy per-profile handler prints what logger.With("profile",
// name) prints, for plain lines, derived attributes and groups.
func TestProfileHandler(t *testing.T) {
	logs := func(l func(h slog.Handler) *slog.Logger) string {
		var buf bytes.Buffer
		h := slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}})
		lg := l(h)
		lg.Info("plain", "k", 1)
		lg.With("host", "h1").Warn("with", "k", 2)
		lg.WithGroup("g").Error("group", "k", 3)
		lg.Debug("hidden")
		return buf.String()
	}
	want := logs(func(h slog.Handler) *slog.Logger { return slog.New(h).With("profile", "p1") })
	got := logs(func(h slog.Handler) *slog.Logger { return slog.New(&profileHandler{h: h, name: "p1"}) })
	require.Equal(t, want, got)
	require.Contains(t, got, `level=INFO msg=plain profile=p1 k=1`)
}
