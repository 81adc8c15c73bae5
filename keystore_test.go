package connfactory_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory"
	"github.com/connfactory/connfactory/internal/leakcheck"
	"github.com/connfactory/connfactory/testserver/cqltest"
	"github.com/connfactory/connfactory/testserver/pki"
)

const keyStoreWatchConfig = `
[profiles.cass_ks]
backend = "cassandra"
hosts = ["%s"]

[profiles.cass_ks.auth]
mechanism = "password"
username = "app"
password = "cass-pw"

[profiles.cass_ks.tls]
truststore = { file = "../secret/truststore.p12", password = { file = "../secret/truststore.pw" } }
keystore = { file = "../secret/keystore.jks", password = { file = "../secret/keystore.pw" }, alias = "app" }
`

// TestWatchKeyStoreRotation: a Registry watching a Kubernetes-style secret volume with a
// trust store, a key store and their password files sees the key store rotated (with a
// new password) and hands the new key pair to the compiled connector; a key store its
// password does not open is reported and the last good key pair stays.
func TestWatchKeyStoreRotation(t *testing.T) {
	leakcheck.Verify(t)
	log := &syncWriter{}
	set, err := pki.NewSet()
	require.NoError(t, err)
	var serial atomic.Pointer[big.Int]
	cs, err := cqltest.Start(cqltest.Options{TLS: watchServerTLS(set, &serial), Credentials: map[string]string{"app": "cass-pw"}})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, cs.Close()) })

	trust, err := pki.PKCS12TrustStore("trust-pw-1", set.Root)
	require.NoError(t, err)
	material := func(l *pki.Leaf, storePw, filePw string) map[string][]byte {
		ks, err := pki.JKS(storePw, pki.JKSEntry{Alias: "app", Leaf: l}, pki.JKSEntry{Alias: "root", Cert: set.Root.Cert})
		require.NoError(t, err)
		return map[string][]byte{"truststore.p12": trust, "truststore.pw": []byte("trust-pw-1\n"),
			"keystore.jks": ks, "keystore.pw": []byte(filePw + "\n")}
	}
	leaf := func() *pki.Leaf {
		l, err := set.Intermediate.Issue(pki.LeafOptions{CommonName: "app", Client: true})
		require.NoError(t, err)
		return l
	}
	first, second, third := leaf(), leaf(), leaf()

	dir := t.TempDir()
	vol := newK8sVolume(t, filepath.Join(dir, "secret"), material(first, "ks-pw-1", "ks-pw-1"))
	conf := filepath.Join(dir, "conf", "app.toml")
	require.NoError(t, os.MkdirAll(filepath.Dir(conf), 0o755))
	writeAtomic(t, conf, fmt.Sprintf(keyStoreWatchConfig, cs.Addr()))

	reg, err := connfactory.Load(connfactory.WithFiles(conf), connfactory.WithEnvPrefix("-"),
		connfactory.WithLogger(slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, reg.Close()) })
	cc, err := reg.Cassandra("cass_ks")
	require.NoError(t, err)
	dialIs := func(l *pki.Leaf) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := cc.Dial(ctx)
		require.NoError(t, err)
		s.Close()
		require.Equal(t, l.Serial(), serial.Load())
	}
	dialIs(first)

	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", log.String())
		}
	})
	events := startWatch(t, reg)

	// 1. A new key pair in a key store with a new password, both swapped at once.
	vol.update(material(second, "ks-pw-2", "ks-pw-2"))
	up := events.waitTypes(connfactory.WatchTLSUpdated, "cass_ks")["cass_ks"]
	require.Equal(t, uint64(1), up.Generation)
	dialIs(second)

	// 2. A key store its password file does not open: reported, the last good stays.
	vol.update(material(third, "ks-pw-3", "ks-pw-2"))
	failed := events.waitTypes(connfactory.WatchTLSFailed, "cass_ks")["cass_ks"]
	require.ErrorContains(t, failed.Err, "profiles.cass_ks.tls.keystore: ")
	require.ErrorContains(t, failed.Err, "wrong password")
	require.Equal(t, uint64(1), cc.TLS().Generation())
	dialIs(second)

	logs := log.String()
	for _, pw := range []string{"ks-pw-1", "ks-pw-2", "ks-pw-3", "trust-pw-1", "cass-pw"} {
		require.NotContains(t, logs, pw)
		require.False(t, strings.Contains(failed.Err.Error(), pw))
	}
}
