package factory_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/schema"
)

// compileBase runs the common compile step for backend with own as the backend's part.
func compileBase(t *testing.T, p *schema.Profile, backend schema.Backend, own func(*schema.Profile) bool, opts ...factory.Option) (*factory.Base, error) {
	t.Helper()
	b := &factory.Base{}
	err := b.Compile("base_test", p, backend, opts, own)
	if err == nil {
		t.Cleanup(func() { _ = b.Close() })
	}
	return b, err
}

func always(*schema.Profile) bool { return true }

// problemPaths are the config paths of the problems err lists.
func problemPaths(t *testing.T, err error) []string {
	t.Helper()
	require.Equal(t, factory.KindConfig, factory.KindOf(err), "%v", err)
	var ps schema.Problems
	require.True(t, errors.As(err, &ps), "%v", err)
	var out []string
	for _, p := range ps {
		out = append(out, p.Path)
	}
	return out
}

// TestBaseCompile: the common step parses hosts with each backend's default port, applies
// the timeouts' defaults and reads the pool, the same for both backends.
func TestBaseCompile(t *testing.T) {
	for _, tc := range []struct {
		backend schema.Backend
		port    int
	}{{schema.Cassandra, 9042}, {schema.Riak, 8087}} {
		t.Run(string(tc.backend), func(t *testing.T) {
			p := &schema.Profile{Backend: tc.backend, Hosts: []string{"db1.internal", "[::1]:7000"}}
			b, err := compileBase(t, p, tc.backend, always)
			require.NoError(t, err)
			require.Equal(t, "base_test", b.Name())
			require.Equal(t, "profiles.base_test", b.Path())
			require.Equal(t, []schema.Host{{Name: "db1.internal", Port: tc.port}, {Name: "::1", Port: 7000}}, b.Hosts())
			require.Equal(t, 5*time.Second, b.ConnectTimeout())
			require.Equal(t, 2*time.Second, b.Timeout())
			conns, maxConns, idle := b.Pool()
			require.Zero(t, conns+maxConns)
			require.Zero(t, idle)
			require.Nil(t, b.TLS())
			require.NoError(t, b.Closed())

			p.ConnectTimeout, p.Timeout = schema.Duration(time.Second), schema.Duration(3*time.Second)
			p.Pool = &schema.Pool{ConnectionsPerHost: 4}
			b, err = compileBase(t, p, tc.backend, always)
			require.NoError(t, err)
			require.Equal(t, time.Second, b.ConnectTimeout())
			require.Equal(t, 3*time.Second, b.Timeout())
			conns, _, _ = b.Pool()
			require.Equal(t, 4, conns)
		})
	}
}

// TestBaseCompileProblems: the common step reports every problem at its path, together
// with the backend's own, in one config error.
func TestBaseCompileProblems(t *testing.T) {
	_, err := compileBase(t, nil, schema.Riak, always)
	require.EqualError(t, err, "profiles.base_test: profile is missing")

	p := &schema.Profile{Backend: schema.Riak, Hosts: []string{"ok.internal", "bad host:x"},
		Pool: &schema.Pool{ConnectionsPerHost: -1}}
	_, err = compileBase(t, p, schema.Cassandra, always)
	require.Equal(t, []string{"profiles.base_test.backend", "profiles.base_test.hosts[1]",
		"profiles.base_test.pool.connections_per_host"}, problemPaths(t, err))
	require.ErrorContains(t, err, `profiles.base_test.backend: backend is "riak", a Cassandra connector needs "cassandra"`)

	_, err = compileBase(t, &schema.Profile{Backend: schema.Riak}, schema.Riak, always)
	require.EqualError(t, err, "profiles.base_test.hosts: at least one host is required")
}

// TestBaseCompileTLS: own decides whether TLS compiles; TLS problems join the others, and
// come alone when there are none.
func TestBaseCompileTLS(t *testing.T) {
	bad := &schema.TLS{Mode: "bogus"}
	p := &schema.Profile{Backend: schema.Cassandra, Hosts: []string{"db1"}, TLS: bad}

	// No TLS compile: the bad section is not looked at (the reloader still sees it).
	b, err := compileBase(t, p, schema.Cassandra, func(*schema.Profile) bool { return false })
	require.NoError(t, err)
	require.Nil(t, b.TLS())

	_, err = compileBase(t, p, schema.Cassandra, always)
	require.Equal(t, []string{"profiles.base_test.tls.mode"}, problemPaths(t, err))

	ownBase := &factory.Base{}
	err = ownBase.Compile("base_test", p, schema.Cassandra, nil, func(*schema.Profile) bool {
		ownBase.AddProblem(schema.Problem{Path: ownBase.Path() + ".auth", Message: "backend's own"})
		return true
	})
	require.Equal(t, []string{"profiles.base_test.auth", "profiles.base_test.tls.mode"}, problemPaths(t, err))
	require.True(t, ownBase.Failed())

	p.TLS = cassTLS(cassPKI(t), true)
	ownBase = &factory.Base{}
	require.NoError(t, ownBase.Compile("base_test", p, schema.Cassandra, nil, func(*schema.Profile) bool {
		ownBase.AddWarning(factory.Warning{Path: ownBase.Path() + ".auth.password", Message: "backend's warning"})
		return true
	}))
	t.Cleanup(func() { _ = ownBase.Close() })
	require.NotNil(t, ownBase.TLS())
	require.Equal(t, schema.TLSVerifyFull, ownBase.TLS().Mode())
	ws := ownBase.Warnings()
	require.NotEmpty(t, ws)
	require.Equal(t, "profiles.base_test.auth.password", ws[0].Path, "the backend's warnings come first")
}

// TestBaseLifecycle: Compile starts nothing; Start starts the reload loop, Close stops it
// and makes Closed and ReloadNow fail with the backend's message.
func TestBaseLifecycle(t *testing.T) {
	cassLeakCheck(t)
	sec := cassTLS(cassPKI(t), true)
	sec.Reload = schema.Duration(time.Hour)
	p := &schema.Profile{Backend: schema.Riak, Hosts: []string{"db1"}, TLS: sec}
	refresh := reloadFrom(func(context.Context) (*schema.TLS, error) { return nil, context.Canceled })
	before := goleak.IgnoreCurrent()
	b := &factory.Base{}
	require.NoError(t, b.Compile("base_test", p, schema.Riak, []factory.Option{refresh}, always))
	require.NoError(t, goleak.Find(before), "Compile started a goroutine")
	b.Start()
	b.Start()
	require.ErrorContains(t, goleak.Find(before), "(*reloader).loop")
	require.NoError(t, b.Close())
	require.NoError(t, b.Close())
	require.NoError(t, goleak.Find(before), "Close leaves no goroutine")
	b.Start()
	require.NoError(t, goleak.Find(before), "Start after Close starts nothing")
	require.EqualError(t, b.Closed(), `riak connector "base_test" is closed`)
	require.EqualError(t, b.ReloadNow(context.Background()), `riak connector "base_test" is closed`)
	require.Equal(t, factory.KindConfig, factory.KindOf(b.Closed()))
}
