package connfactory_test

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	riak "github.com/basho/riak-go-client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory"
	"github.com/connfactory/connfactory/connfactorytest"
	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/examples"
	"github.com/connfactory/connfactory/internal/leakcheck"
	"github.com/connfactory/connfactory/loaders"
	"github.com/connfactory/connfactory/schema"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// exampleDir copies the example profiles to a temporary directory with fresh PKI, the way
// a user's checkout would hold them, and returns the directory and the profile files.
func exampleDir(t *testing.T) (string, []string, *examples.PKI) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, fs.WalkDir(examples.Configs, ".", func(path string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		dst := filepath.Join(dir, path)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		b, err := fs.ReadFile(examples.Configs, path)
		require.NoError(t, err)
		return os.WriteFile(dst, b, 0o600)
	}))
	certs, err := examples.WritePKI(filepath.Join(dir, "certs"), 24*time.Hour)
	require.NoError(t, err)
	var files []string
	for _, f := range examples.Files {
		files = append(files, filepath.Join(dir, f))
	}
	return dir, files, certs
}

// TestExamplesEndToEnd loads every example profile through the facade, points it at a test
// server that should accept it, and uses it for real: a query through a *gocql.Session, a
// store and fetch through a *riak.Cluster, and a Check.
func TestExamplesEndToEnd(t *testing.T) {
	_, files, certs := exampleDir(t)
	cfg, mat, err := loaders.Load(loaders.Options{Files: files, EnvPrefix: "-"})
	require.NoError(t, err)
	servers, err := connfactorytest.StartForProfiles(cfg.Profiles, mat, certs.Server.TLSCertificate(), certs.Root.Pool())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, servers.Close()) })

	reg, err := connfactory.Load(connfactory.WithFiles(files...), connfactory.WithEnvPrefix("-"),
		connfactory.WithValues(servers.Values()))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, reg.Close()) })

	names := reg.Profiles()
	require.GreaterOrEqual(t, len(names), 8, "one example per backend and mechanism at least")
	mechanisms := map[schema.Backend][]schema.Mechanism{}
	for _, name := range names {
		p, _ := reg.Profile(name)
		mechanisms[p.Backend] = append(mechanisms[p.Backend], p.Auth.EffectiveMechanism())
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, err := reg.Connector(name)
			require.NoError(t, err)
			report, err := c.Check(ctx)
			require.NoError(t, err)
			require.True(t, report.OK)
			require.Equal(t, name, report.Profile)
			require.Equal(t, p.TLS.Enabled(), report.TLS.Enabled)
			if report.TLS.Enabled {
				require.NotEmpty(t, report.TLS.PeerChain)
				require.Equal(t, "CN=localhost", report.TLS.PeerChain[0].Subject)
			}

			switch p.Backend {
			case schema.Cassandra:
				cc, err := reg.Cassandra(name)
				require.NoError(t, err)
				session, err := cc.Dial(ctx)
				require.NoError(t, err)
				defer session.Close()
				var version string
				require.NoError(t, session.Query("SELECT release_version FROM system.local").WithContext(ctx).Scan(&version))
				require.NotEmpty(t, version)
			case schema.Riak:
				rc, err := reg.Riak(name)
				require.NoError(t, err)
				cluster, err := rc.Dial(ctx)
				require.NoError(t, err)
				defer func() { require.NoError(t, cluster.Stop()) }()
				obj := &riak.Object{ContentType: "text/plain", Value: []byte("hello " + name)}
				store, err := riak.NewStoreValueCommandBuilder().WithBucket("e2e").WithKey(name).WithContent(obj).Build()
				require.NoError(t, err)
				require.NoError(t, cluster.Execute(store))
				fetch, err := riak.NewFetchValueCommandBuilder().WithBucket("e2e").WithKey(name).Build()
				require.NoError(t, err)
				require.NoError(t, cluster.Execute(fetch))
				resp := fetch.(*riak.FetchValueCommand).Response
				require.Len(t, resp.Values, 1)
				require.Equal(t, "hello "+name, string(resp.Values[0].Value))
			}
		})
	}
	for _, m := range []schema.Mechanism{schema.MechanismNone, schema.MechanismPassword, schema.MechanismSASLPlain} {
		require.Contains(t, mechanisms[schema.Cassandra], m)
	}
	for _, m := range []schema.Mechanism{schema.MechanismTrust, schema.MechanismPassword, schema.MechanismPAM, schema.MechanismCertificate} {
		require.Contains(t, mechanisms[schema.Riak], m)
	}
}

// TestExamplesEmbedded loads the embedded examples straight from the fs.FS.
func TestExamplesEmbedded(t *testing.T) {
	reg, err := connfactory.Load(connfactory.WithFS(examples.Configs, examples.Files...), connfactory.WithEnvPrefix("-"))
	require.NoError(t, err)
	defer reg.Close()
	require.Contains(t, reg.Profiles(), "cass_password")
	require.Contains(t, reg.Profiles(), "riak_certificate")
}

// TestFailuresEndToEnd: the two failures the demo shows, through the facade, by kind.
func TestFailuresEndToEnd(t *testing.T) {
	dir, files, certs := exampleDir(t)
	cfg, mat, err := loaders.Load(loaders.Options{Files: files, EnvPrefix: "-"})
	require.NoError(t, err)
	servers, err := connfactorytest.StartForProfiles(map[string]*schema.Profile{
		"cass_password": cfg.Profiles["cass_password"],
		"riak_password": cfg.Profiles["riak_password"],
	}, mat, certs.Server.TLSCertificate(), certs.Root.Pool())
	require.NoError(t, err)
	defer servers.Close()

	values := servers.Values()
	profiles := values["profiles"].(map[string]any)
	profiles["wrong_pw"] = map[string]any{"extends": "cass_password", "auth": map[string]any{"password": "nope"}}
	profiles["wrong_name"] = map[string]any{"extends": "riak_password", "tls": map[string]any{"server_name": "db.example"}}
	otherCA := filepath.Join(dir, "certs", "intermediate.pem") // a CA, but not the server's root
	profiles["untrusted"] = map[string]any{"extends": "riak_password", "tls": map[string]any{"ca": map[string]any{"file": otherCA}}}
	reg, err := connfactory.Load(connfactory.WithFiles(files...), connfactory.WithEnvPrefix("-"), connfactory.WithValues(values))
	require.NoError(t, err)
	defer reg.Close()

	for name, want := range map[string]error{
		"wrong_pw":   factory.ErrAuthFailed,
		"wrong_name": factory.ErrTLSHostname,
	} {
		c, err := reg.Connector(name)
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		report, err := c.Check(ctx)
		cancel()
		require.ErrorIs(t, err, want, name)
		require.False(t, report.OK)
		require.Equal(t, string(factory.KindOf(err)), report.Error.Kind)
	}
	// The intermediate as the only trust anchor still verifies (it issued the server's
	// certificate): what is trusted is what tls.ca says, nothing more, nothing less.
	c, err := reg.Connector("untrusted")
	require.NoError(t, err)
	_, err = c.Check(context.Background())
	require.NoError(t, err)
}

func TestRegistryErrors(t *testing.T) {
	reg, err := connfactory.Load(connfactory.WithFS(examples.Configs, examples.Files...), connfactory.WithEnvPrefix("-"))
	require.NoError(t, err)
	defer reg.Close()
	_, err = reg.Connector("nope")
	require.ErrorIs(t, err, connfactory.ErrUnknownProfile)
	_, err = reg.Riak("cass_password")
	require.ErrorIs(t, err, connfactory.ErrWrongBackend)
	_, err = reg.Cassandra("riak_password")
	require.ErrorIs(t, err, connfactory.ErrWrongBackend)
	c1, err := reg.Connector("cass_password")
	require.NoError(t, err)
	c2, err := reg.Connector("cass_password")
	require.NoError(t, err)
	require.Same(t, c1, c2)
	require.True(t, slices.IsSorted(reg.Profiles()))

	_, err = connfactory.Load(connfactory.WithEnviron([]string{
		"CONNFACTORY_PROFILES__X__BACKEND=cassandra",
		"CONNFACTORY_PROFILES__X__PROTOCOL_VERSION=2",
	}))
	require.ErrorIs(t, err, schema.ErrInvalid)
	require.ErrorContains(t, err, "profiles.x.hosts")
	require.ErrorContains(t, err, "profiles.x.protocol_version")
}

// What a profile asks for that weakens security is logged, loudly, when it is compiled.
func TestWeakSettingsAreLogged(t *testing.T) {
	reg, buf := loadWeak(t)
	defer reg.Close()
	_, err := reg.Connector("weak")
	require.NoError(t, err)
	require.Contains(t, buf.String(), `"level":"WARN"`)
	require.Contains(t, buf.String(), `"path":"profiles.weak.tls.mode"`)
}

// Concurrent calls for one profile compile it once: every caller gets the same connector
// and its warnings are logged once (CompileAll compiles profiles concurrently).
func TestRegistryCompilesOnceConcurrently(t *testing.T) {
	reg, buf := loadWeak(t)
	const callers = 8
	got := make([]factory.Connector, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			c, err := reg.Connector("weak")
			assert.NoError(t, err)
			got[i] = c
		})
	}
	wg.Wait()
	for _, c := range got {
		require.NotNil(t, c)
		require.Same(t, got[0], c)
	}
	require.Equal(t, 1, strings.Count(buf.String(), `"path":"profiles.weak.tls.mode"`), buf.String())
	require.NoError(t, reg.Close())
	_, err := reg.Connector("weak")
	require.ErrorIs(t, err, connfactory.ErrClosed)
}

// loadWeak loads one profile that asks for insecure TLS, logging as JSON into buf.
func loadWeak(t *testing.T) (*connfactory.Registry, *strings.Builder) {
	buf := &strings.Builder{}
	logger := slog.New(slog.NewJSONHandler(buf, nil))
	reg, err := connfactory.Load(connfactory.WithLogger(logger), connfactory.WithEnviron([]string{
		"CONNFACTORY_PROFILES__WEAK__BACKEND=cassandra",
		"CONNFACTORY_PROFILES__WEAK__HOSTS=db1",
		"CONNFACTORY_PROFILES__WEAK__TLS__MODE=insecure",
	}))
	require.NoError(t, err)
	return reg, buf
}
