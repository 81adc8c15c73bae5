package connfactory_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory"
	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/leakcheck"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/cqltest"
	"github.com/connfactory/connfactory/testserver/pki"
	"github.com/connfactory/connfactory/testserver/riaktest"
)

// watchServerTLS requires a client certificate and records the serial of the last one
// presented.
func watchServerTLS(set *pki.Set, last *atomic.Pointer[big.Int]) *tls.Config {
	c := set.ServerTLSConfig()
	c.ClientAuth = tls.RequireAndVerifyClientCert
	c.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) > 0 {
			last.Store(cs.PeerCertificates[0].SerialNumber)
		}
		return nil
	}
	return c
}

// k8sVolume lays files out as the kubelet does for a ConfigMap or Secret volume: the
// data in a timestamped directory, "..data" a symlink to it, and each file a symlink
// through "..data". An update writes a new timestamped directory and swaps "..data" by
// renaming a new symlink over it, so every file changes at once.
type k8sVolume struct {
	t   *testing.T
	dir string
	gen int
}

func newK8sVolume(t *testing.T, dir string, files map[string][]byte) *k8sVolume {
	v := &k8sVolume{t: t, dir: dir}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	v.update(files)
	for name := range files {
		require.NoError(t, os.Symlink(filepath.Join("..data", name), filepath.Join(dir, name)))
	}
	return v
}

func (v *k8sVolume) update(files map[string][]byte) {
	t := v.t
	v.gen++
	ts := fmt.Sprintf("..2026_11_25_00_00_%02d.%d", v.gen, v.gen)
	require.NoError(t, os.Mkdir(filepath.Join(v.dir, ts), 0o755))
	for name, data := range files {
		require.NoError(t, os.WriteFile(filepath.Join(v.dir, ts, name), data, 0o600))
	}
	old, _ := os.Readlink(filepath.Join(v.dir, "..data"))
	tmp := filepath.Join(v.dir, "..data_tmp")
	require.NoError(t, os.Symlink(ts, tmp))
	require.NoError(t, os.Rename(tmp, filepath.Join(v.dir, "..data")))
	if old != "" {
		require.NoError(t, os.RemoveAll(filepath.Join(v.dir, old)))
	}
}

// writeAtomic replaces a file by rename, as editors and deployment tools do.
func writeAtomic(t *testing.T, path, data string) {
	t.Helper()
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, []byte(data), 0o600))
	require.NoError(t, os.Rename(tmp, path))
}

// watchEvents collects Watch's events.
type watchEvents struct {
	t  *testing.T
	ch chan connfactory.WatchEvent
}

// waitFor returns the first event (skipping others) for which match is true.
func (w *watchEvents) waitFor(what string, match func(connfactory.WatchEvent) bool) connfactory.WatchEvent {
	w.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-w.ch:
			w.t.Logf("watch event: %s", e)
			if match(e) {
				return e
			}
		case <-timeout:
			w.t.Fatalf("no %s event within 10 s", what)
		}
	}
}

// waitTypes waits until an event of each (type, profile) pair has been seen.
func (w *watchEvents) waitTypes(typ connfactory.WatchEventType, profiles ...string) map[string]connfactory.WatchEvent {
	w.t.Helper()
	got := map[string]connfactory.WatchEvent{}
	for len(got) < len(profiles) {
		e := w.waitFor(string(typ), func(e connfactory.WatchEvent) bool { return e.Type == typ })
		got[e.Profile] = e
	}
	for _, p := range profiles {
		require.Contains(w.t, got, p)
	}
	return got
}

const watchConfig = `
[profiles.riak_app]
backend = "riak"
hosts = ["%s"]
connect_timeout = "%s"

[profiles.riak_app.auth]
mechanism = "certificate"
username = "app"

[profiles.riak_app.tls]
ca = { file = "../secret/ca.pem" }
cert = { file = "../secret/client.pem" }
key = { file = "../secret/client.key" }

[profiles.cass_app]
backend = "cassandra"
hosts = ["%s"]

[profiles.cass_app.auth]
mechanism = "password"
username = "app"
password = "cass-pw"

[profiles.cass_app.tls]
ca = { file = "../secret/ca.pem" }
cert = { file = "../secret/client.pem" }
key = { file = "../secret/client.key" }
`

// TestWatch: a Registry watching its configuration and material sees a Kubernetes-style
// secret update (the "..data" symlink swap) and hands the new client certificate to both
// compiled connectors, so their next dials present it; an invalid configuration edit is
// reported and changes nothing; material that does not compile is reported and the last
// good material stays; a change that needs a recompile is reported as such, and later
// Connector calls compile from the new configuration. Watch returns when its context
// ends, leaving no goroutine.
func TestWatch(t *testing.T) {
	leakcheck.Verify(t)
	log := &syncWriter{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", log.String())
		}
	})

	set, err := pki.NewSet()
	require.NoError(t, err)
	var riakSerial, cassSerial atomic.Pointer[big.Int]
	rs, err := riaktest.Start(riaktest.Options{Security: true, TLS: watchServerTLS(set, &riakSerial),
		Users: []riaktest.User{{Name: "app", Source: riaktest.SourceCertificate}}})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, rs.Close()) })
	cs, err := cqltest.Start(cqltest.Options{TLS: watchServerTLS(set, &cassSerial), Credentials: map[string]string{"app": "cass-pw"}})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, cs.Close()) })

	leaf := func() *pki.Leaf {
		l, err := set.Intermediate.Issue(pki.LeafOptions{CommonName: "app", Client: true})
		require.NoError(t, err)
		return l
	}
	material := func(l *pki.Leaf) map[string][]byte {
		return map[string][]byte{"ca.pem": set.Root.CertPEM(), "client.pem": l.ChainPEM(), "client.key": l.KeyPEM()}
	}
	first, second, third := leaf(), leaf(), leaf()

	dir := t.TempDir()
	vol := newK8sVolume(t, filepath.Join(dir, "secret"), material(first))
	conf := filepath.Join(dir, "conf", "app.toml")
	require.NoError(t, os.MkdirAll(filepath.Dir(conf), 0o755))
	writeAtomic(t, conf, fmt.Sprintf(watchConfig, rs.Addr(), "5s", cs.Addr()))

	reg, err := connfactory.Load(connfactory.WithFiles(conf), connfactory.WithEnvPrefix("-"),
		connfactory.WithLogger(slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, reg.Close()) })
	rc, err := reg.Riak("riak_app")
	require.NoError(t, err)
	cc, err := reg.Cassandra("cass_app")
	require.NoError(t, err)

	dial := func() (*big.Int, *big.Int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := rc.DialConn(ctx)
		require.NoError(t, err)
		require.NoError(t, conn.Close())
		s, err := cc.Dial(ctx)
		require.NoError(t, err)
		var v string
		require.NoError(t, s.Query("SELECT release_version FROM system.local").Scan(&v))
		s.Close()
		return riakSerial.Load(), cassSerial.Load()
	}
	dialIs := func(l *pki.Leaf) {
		t.Helper()
		r, c := dial()
		require.Equal(t, l.Serial(), r, "riak")
		require.Equal(t, l.Serial(), c, "cassandra")
	}
	dialIs(first)

	ctx, cancel := context.WithCancel(context.Background())
	events := &watchEvents{t: t, ch: make(chan connfactory.WatchEvent, 256)}
	done := make(chan error, 1)
	go func() {
		done <- reg.Watch(ctx, func(e connfactory.WatchEvent) {
			select {
			case events.ch <- e:
			case <-ctx.Done():
			}
		})
	}()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(10 * time.Second):
				t.Fatal("Watch did not return after its context ended")
			}
		}
	}
	t.Cleanup(stop)
	started := events.waitFor("started", func(e connfactory.WatchEvent) bool { return e.Type == connfactory.WatchStarted })
	require.Contains(t, started.Message, filepath.Join(dir, "secret"))
	require.Contains(t, started.Message, filepath.Join(dir, "conf"))

	// 1. The secret is updated the Kubernetes way.
	vol.update(material(second))
	updated := events.waitTypes(connfactory.WatchTLSUpdated, "riak_app", "cass_app")
	require.Equal(t, uint64(1), updated["riak_app"].Generation)
	require.Contains(t, updated["riak_app"].Message, second.Serial().Text(16))
	dialIs(second)

	// 2. An invalid edit: reported, nothing changes.
	writeAtomic(t, conf, strings.Replace(fmt.Sprintf(watchConfig, rs.Addr(), "5s", cs.Addr()), `backend = "riak"`, `backend = "mongodb"`, 1))
	inv := events.waitFor("invalid", func(e connfactory.WatchEvent) bool { return e.Type == connfactory.WatchInvalid })
	require.ErrorIs(t, inv.Err, schema.ErrInvalid)
	require.Contains(t, inv.Err.Error(), "profiles.riak_app.backend")
	p, ok := reg.Profile("riak_app")
	require.True(t, ok)
	require.Equal(t, schema.Riak, p.Backend)
	dialIs(second)
	// Fixed again: valid, and nothing to do for the connectors.
	writeAtomic(t, conf, fmt.Sprintf(watchConfig, rs.Addr(), "5s", cs.Addr()))
	events.waitFor("reloaded", func(e connfactory.WatchEvent) bool {
		require.NotEqual(t, connfactory.WatchTLSUpdated, e.Type)
		require.NotEqual(t, connfactory.WatchRecompileRequired, e.Type)
		return e.Type == connfactory.WatchReloaded
	})

	// 3. Material that does not compile: reported per connector, the last good stays.
	broken := material(third)
	broken["client.key"] = first.KeyPEM() // not the key of third
	vol.update(broken)
	failed := events.waitTypes(connfactory.WatchTLSFailed, "riak_app", "cass_app")
	require.Error(t, failed["riak_app"].Err)
	require.Equal(t, uint64(1), rc.TLS().Generation())
	dialIs(second)

	// 4. Good material again, and a setting only a recompile applies, and a new profile.
	vol.update(material(third))
	events.waitTypes(connfactory.WatchTLSUpdated, "riak_app", "cass_app")
	dialIs(third)
	writeAtomic(t, conf, fmt.Sprintf(watchConfig, rs.Addr(), "4s", cs.Addr())+`
[profiles.riak_new]
backend = "riak"
hosts = ["127.0.0.1:1"]
`)
	rec := events.waitFor("recompile_required", func(e connfactory.WatchEvent) bool {
		return e.Type == connfactory.WatchRecompileRequired
	})
	require.Equal(t, "riak_app", rec.Profile)
	require.Contains(t, rec.Message, "other than tls")
	events.waitFor("reloaded", func(e connfactory.WatchEvent) bool { return e.Type == connfactory.WatchReloaded })
	_, err = reg.Connector("riak_new")
	require.NoError(t, err)
	dialIs(third)

	stop()
	// Material and secrets never reach the log.
	logs := log.String()
	require.Contains(t, logs, "connfactory watch: tls material reloaded")
	require.Contains(t, logs, "level=ERROR")
	for _, l := range []*pki.Leaf{first, second, third} {
		require.NotContains(t, logs, strings.TrimSpace(string(l.KeyPEM())))
	}
	require.NotContains(t, logs, "cass-pw")
}

// TestWatchRefuses: Watch cannot watch a configuration read from an fs.FS.
func TestWatchRefuses(t *testing.T) {
	leakcheck.Verify(t)
	fsys := fstest.MapFS{"app.toml": {Data: []byte("[profiles.r]\nbackend = \"riak\"\nhosts = [\"127.0.0.1\"]\n")}}
	reg, err := connfactory.Load(connfactory.WithFS(fsys, "app.toml"), connfactory.WithEnvPrefix("-"))
	require.NoError(t, err)
	defer func() { require.NoError(t, reg.Close()) }()
	require.ErrorContains(t, reg.Watch(context.Background(), nil), "WithFS")
}

// TestWatchInvalidHoldsTLSReload: once Watch has reported the configuration invalid,
// nothing changes, material included: the tls.reload ticker and ReloadNow keep the
// material in use even though new certificates are on disk. A valid configuration
// lifts the hold and the new material is applied.
func TestWatchInvalidHoldsTLSReload(t *testing.T) {
	leakcheck.Verify(t)
	valid := strings.Replace(fmt.Sprintf(watchConfig, "127.0.0.1:1", "5s", "127.0.0.1:1"),
		`key = { file = "../secret/client.key" }`, `key = { file = "../secret/client.key" }`+"\nreload = \"10ms\"", 1)
	fx := newWatchFixture(t, valid)
	first := fx.leaf(t, "app")
	fx.vol.update(fx.material(first))
	second := fx.leaf(t, "app")

	// Every reload outcome of the ticker, dropped when the test is not reading.
	reloads := make(chan error, 1024)
	reg, err := connfactory.Load(connfactory.WithFiles(fx.conf), connfactory.WithEnvPrefix("-"),
		connfactory.WithLogger(slog.New(slog.DiscardHandler)),
		connfactory.WithFactoryOptions(factory.WithReloadCallback(func(_ string, err error) {
			select {
			case reloads <- err:
			default:
			}
		})))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, reg.Close()) })
	rc, err := reg.Riak("riak_app")
	require.NoError(t, err)
	events := startWatch(t, reg)

	writeAtomic(t, fx.conf, strings.Replace(valid, `backend = "cassandra"`, `backend = "mongodb"`, 1))
	events.waitFor("invalid", func(e connfactory.WatchEvent) bool { return e.Type == connfactory.WatchInvalid })
	fx.vol.update(fx.material(second))
	events.waitFor("invalid", func(e connfactory.WatchEvent) bool { return e.Type == connfactory.WatchInvalid })

	// The ticker runs, and is held: two held ticks after the new material is on disk.
	for held := 0; held < 2; {
		select {
		case err := <-reloads:
			// A tick that read the files before the hold may still report "unchanged"
			// (nil); none may change the material.
			require.Zero(t, rc.TLS().Generation(), "material changed while the configuration was invalid")
			if errors.Is(err, factory.ErrReloadHeld) {
				held++
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no held reload within 10 s")
		}
	}
	err = rc.ReloadNow(context.Background())
	require.ErrorIs(t, err, factory.ErrReloadHeld)
	require.ErrorIs(t, err, factory.ErrConfig)
	require.Zero(t, rc.TLS().Generation())
	require.Equal(t, first.Serial(), rc.TLS().ClientCertificate().SerialNumber)

	// Valid again: the hold is lifted, the new material applied.
	writeAtomic(t, fx.conf, valid)
	events.waitFor("tls_updated", func(e connfactory.WatchEvent) bool {
		return e.Type == connfactory.WatchTLSUpdated && e.Profile == "riak_app"
	})
	require.Equal(t, second.Serial(), rc.TLS().ClientCertificate().SerialNumber)
	require.NoError(t, rc.ReloadNow(context.Background()))
}

// messageRecorder is a slog handler keeping every record's message, as a handler that
// prints messages raw (slog's default) would show them.
type messageRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (m *messageRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (m *messageRecorder) Handle(_ context.Context, r slog.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, r.Message)
	return nil
}
func (m *messageRecorder) WithAttrs([]slog.Attr) slog.Handler { return m }
func (m *messageRecorder) WithGroup(string) slog.Handler      { return m }
func (m *messageRecorder) messages() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.msgs)
}

// TestWatchLogEscapesCertificateText: a rotated client certificate whose subject holds
// control characters is named in Watch's log line escaped; the event keeps it exact.
func TestWatchLogEscapesCertificateText(t *testing.T) {
	leakcheck.Verify(t)
	fx := newWatchFixture(t, fmt.Sprintf(watchConfig, "127.0.0.1:1", "5s", "127.0.0.1:1"))
	rec := &messageRecorder{}
	reg, err := connfactory.Load(connfactory.WithFiles(fx.conf), connfactory.WithEnvPrefix("-"), connfactory.WithLogger(slog.New(rec)))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, reg.Close()) })
	_, err = reg.Cassandra("cass_app")
	require.NoError(t, err)
	events := startWatch(t, reg)

	fx.vol.update(fx.material(fx.leaf(t, "app\x1b[2J\x1b[H\nOK\u009b")))
	up := events.waitFor("tls_updated", func(e connfactory.WatchEvent) bool { return e.Type == connfactory.WatchTLSUpdated })
	require.Contains(t, up.Message, "app\x1b[2J", "the event carries the exact text")
	var found bool
	for _, m := range rec.messages() {
		for _, r := range m {
			require.False(t, r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f), "raw control character in log message %q", m)
		}
		found = found || strings.Contains(m, `app\x1b[2J\x1b[H\nOK\u009b`)
	}
	require.True(t, found, "the log names the certificate, escaped: %q", rec.messages())
}

// watchFixture is a Kubernetes-style secret volume with a client certificate and a
// configuration file naming it (watchConfig), for the Watch tests that only compile.
type watchFixture struct {
	set  *pki.Set
	vol  *k8sVolume
	conf string
}

func newWatchFixture(t *testing.T, config string) *watchFixture {
	set, err := pki.NewSet()
	require.NoError(t, err)
	f := &watchFixture{set: set}
	dir := t.TempDir()
	f.vol = newK8sVolume(t, filepath.Join(dir, "secret"), f.material(f.leaf(t, "app")))
	f.conf = filepath.Join(dir, "conf", "app.toml")
	require.NoError(t, os.MkdirAll(filepath.Dir(f.conf), 0o755))
	writeAtomic(t, f.conf, config)
	return f
}

func (f *watchFixture) leaf(t *testing.T, cn string) *pki.Leaf {
	l, err := f.set.Intermediate.Issue(pki.LeafOptions{CommonName: cn, Client: true})
	require.NoError(t, err)
	return l
}

func (f *watchFixture) material(l *pki.Leaf) map[string][]byte {
	return map[string][]byte{"ca.pem": f.set.Root.CertPEM(), "client.pem": l.ChainPEM(), "client.key": l.KeyPEM()}
}

// startWatch runs reg.Watch until the test ends and waits for its start.
func startWatch(t *testing.T, reg *connfactory.Registry) *watchEvents {
	ctx, cancel := context.WithCancel(context.Background())
	events := &watchEvents{t: t, ch: make(chan connfactory.WatchEvent, 256)}
	done := make(chan error, 1)
	go func() {
		done <- reg.Watch(ctx, func(e connfactory.WatchEvent) {
			select {
			case events.ch <- e:
			case <-ctx.Done():
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	events.waitFor("started", func(e connfactory.WatchEvent) bool { return e.Type == connfactory.WatchStarted })
	return events
}

// TestWatchFollowsMovedMaterial: a configuration edit that points a compiled connector's
// certificate and key at other files hands it the new files' material, and from then on
// its reloads (ReloadNow, tls.reload) read the new files, not the old ones.
func TestWatchFollowsMovedMaterial(t *testing.T) {
	leakcheck.Verify(t)
	cfg := fmt.Sprintf(watchConfig, "127.0.0.1:1", "5s", "127.0.0.1:1")
	fx := newWatchFixture(t, cfg)
	reg, err := connfactory.Load(connfactory.WithFiles(fx.conf), connfactory.WithEnvPrefix("-"),
		connfactory.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, reg.Close()) })
	cc, err := reg.Cassandra("cass_app")
	require.NoError(t, err)
	first := cc.TLS().ClientCertificate().SerialNumber
	events := startWatch(t, reg)

	// The new files, in a directory of their own.
	other := filepath.Join(filepath.Dir(filepath.Dir(fx.conf)), "other")
	require.NoError(t, os.MkdirAll(other, 0o755))
	moved := fx.leaf(t, "app")
	writeAtomic(t, filepath.Join(other, "client.pem"), string(moved.ChainPEM()))
	writeAtomic(t, filepath.Join(other, "client.key"), string(moved.KeyPEM()))
	edited := strings.Replace(cfg, `[profiles.cass_app.tls]
ca = { file = "../secret/ca.pem" }
cert = { file = "../secret/client.pem" }
key = { file = "../secret/client.key" }`, `[profiles.cass_app.tls]
ca = { file = "../secret/ca.pem" }
cert = { file = "../other/client.pem" }
key = { file = "../other/client.key" }`, 1)
	require.NotEqual(t, cfg, edited)
	writeAtomic(t, fx.conf, edited)
	up := events.waitFor("tls_updated", func(e connfactory.WatchEvent) bool {
		return e.Type == connfactory.WatchTLSUpdated && e.Profile == "cass_app"
	})
	require.Contains(t, up.Message, moved.Serial().Text(16))
	require.Equal(t, moved.Serial(), cc.TLS().ClientCertificate().SerialNumber)
	require.NotEqual(t, first, moved.Serial())

	// The old files change: not the connector's any more. The new ones: a reload reads them.
	fx.vol.update(fx.material(fx.leaf(t, "app")))
	require.NoError(t, cc.ReloadNow(context.Background()))
	require.Equal(t, moved.Serial(), cc.TLS().ClientCertificate().SerialNumber)
	again := fx.leaf(t, "app")
	writeAtomic(t, filepath.Join(other, "client.pem"), string(again.ChainPEM()))
	writeAtomic(t, filepath.Join(other, "client.key"), string(again.KeyPEM()))
	require.NoError(t, cc.ReloadNow(context.Background()))
	require.Equal(t, again.Serial(), cc.TLS().ClientCertificate().SerialNumber)
}
