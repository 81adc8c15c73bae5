package factory_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/schema"
)

// recorder is a factory.Observer keeping every event.
type recorder struct {
	mu      sync.Mutex
	dials   []factory.DialEvent
	reloads []factory.ReloadEvent
}

func (r *recorder) DialDone(e factory.DialEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dials = append(r.dials, e)
}

func (r *recorder) ReloadDone(e factory.ReloadEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reloads = append(r.reloads, e)
}

// TestExpiryWarningOnReload: material that was far from expiry at compile time is warned
// about by a reload once it comes within tls.expiry_warning, even when it did not change.
func TestExpiryWarningOnReload(t *testing.T) {
	cassLeakCheck(t)
	env := cassTLSServer(t)
	var (
		mu  sync.Mutex
		now = time.Now()
	)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	sec := cassTLS(env.set, true)
	sec.ExpiryWarning = schema.Duration(7 * 24 * time.Hour)
	var logs syncBuffer
	rec := &recorder{}
	c := cassConnector(t, cassProfile(env.localhost(), sec), factory.WithClock(clock),
		factory.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), factory.WithObserver(rec),
		factory.WithMaterial(sectionMaterial(sec)))
	for _, w := range c.Warnings() {
		require.NotContains(t, w.Message, "expires", "a year left at compile time")
	}
	// The section bound now (as Watch binds a changed profile) has the default window (14
	// days): the first reload sees a change of expiry_warning, which counts as material.
	again := cassTLS(env.set, true)
	c.TLS().Bind(again, sectionMaterial(again))
	require.NoError(t, c.ReloadNow(context.Background()))
	require.NotContains(t, logs.String(), "expires in")

	mu.Lock()
	now = env.set.Client.Cert.NotAfter.Add(-5 * 24 * time.Hour)
	mu.Unlock()
	require.NoError(t, c.ReloadNow(context.Background()))
	require.Contains(t, logs.String(), `level=WARN msg="tls reload: client certificate \"CN=app\" expires in 5 days (`)
	require.Contains(t, logs.String(), "path=profiles.cass_test.tls.cert")
	require.Equal(t, []factory.Warning{{Path: "profiles.cass_test.tls.cert", Message: c.TLS().ExpiryWarnings(clock())[0].Message}}, c.TLS().ExpiryWarnings(clock()))

	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Len(t, rec.reloads, 2)
	require.Equal(t, factory.ReloadOK, rec.reloads[0].Result)
	require.Equal(t, uint64(1), rec.reloads[0].Generation)
	require.Equal(t, factory.ReloadUnchanged, rec.reloads[1].Result)
	require.Equal(t, "cass_test", rec.reloads[1].Profile)
}

// TestObserverSeesDialsAndChecks: every Dial and Check is reported once, with its kind.
func TestObserverSeesDialsAndChecks(t *testing.T) {
	cassLeakCheck(t)
	env := cassTLSServer(t)
	rec := &recorder{}
	c := cassConnector(t, cassProfile(env.localhost(), cassTLS(env.set, false)), factory.WithObserver(rec))
	rep, err := c.Check(context.Background())
	require.NoError(t, err)
	sess, err := c.Dial(context.Background())
	require.NoError(t, err)
	sess.Close()
	bad := cassConnector(t, cassProfile(env.localhost(), cassTLS(cassPKI(t), false)), factory.WithObserver(rec))
	_, err = bad.Check(context.Background())
	require.ErrorIs(t, err, factory.ErrTLSUntrusted)

	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Len(t, rec.dials, 3)
	require.Equal(t, factory.OpCheck, rec.dials[0].Op)
	require.Same(t, rep, rec.dials[0].Report)
	require.NoError(t, rec.dials[0].Err)
	require.Equal(t, schema.Cassandra, rec.dials[0].Backend)
	require.Positive(t, rec.dials[0].Duration)
	require.Equal(t, factory.OpDial, rec.dials[1].Op)
	require.Nil(t, rec.dials[1].Report)
	require.Equal(t, factory.KindTLSUntrusted, factory.KindOf(rec.dials[2].Err))

	info := c.TLS().Material()
	require.Len(t, info.CAs, 1)
	require.Equal(t, env.set.Root.Cert.NotAfter, info.CAs[0].NotAfter)
	require.Nil(t, info.ClientCert)
	require.Zero(t, info.Generation)
	require.Empty(t, (*factory.ClientTLS)(nil).Material().CAs, "nil-safe")
}
