package factory

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/connfactory/connfactory/internal/textsafe"
	"github.com/connfactory/connfactory/schema"
)

// ErrReloadHeld is wrapped by the error of a reload gate (WithReloadGate) or of a
// MaterialSource's Reload that holds reloads: no material may change now (the
// configuration it comes from is invalid). A held reload
// keeps the material in use, logs a warning, passes the error to the reload callback and
// is returned by ReloadNow (as an *Error of kind config); errors.Is(err, ErrReloadHeld)
// tells it from a failure.
var ErrReloadHeld = errors.New("factory: tls reload held")

// reloader re-reads a connector's TLS material: every tls.reload interval in its own
// goroutine, and on demand (ReloadNow). Both backends embed one, so reload behaves the
// same for Cassandra and Riak.
//
// A reload asks the MaterialSource the section is bound to (WithMaterial, ClientTLS.Bind)
// to read its sources again (MaterialSource.Reload) and hands it to ClientTLS.Update,
// which compiles the fresh material completely before swapping it in. Whatever fails (a file gone, garbage PEM, a key that does not match the
// certificate, a CRL of another CA) leaves the last good material in use; the failure is
// logged at error level and passed to the reload callback. Connections already open keep
// the material they were made with: only handshakes that start after the swap see it.
type reloader struct {
	profile  string
	tls      *ClientTLS
	onReload func(profile string, err error)
	gate     func(apply func() error) error // nil: apply directly
	cache    *MaterialCache                 // digests of material bytes, for fingerprints
	// observers are told of every dial, check and reload (observer.go).
	observers []Observer
	log       *slog.Logger
	now       func() time.Time
	interval  time.Duration

	mu      sync.Mutex        // serialises reloads, so log lines and generations stay in order
	last    [sha256.Size]byte // fingerprint of the material in use; guarded by mu
	started sync.Once         // start, on the connector's first use (use)
	stopMu  sync.Mutex
	cancel  context.CancelFunc // nil while no loop runs
	done    chan struct{}      // closed when the loop has returned
	closed  bool
}

// newReloader prepares the reload of profile name's TLS section ct (nil: TLS off). It
// returns the warnings of a tls.reload that cannot be honoured. The loop does not run
// until start.
func newReloader(name string, t *schema.TLS, ct *ClientTLS, o options) (*reloader, []Warning) {
	path := profilePath(name) + ".tls"
	r := &reloader{
		profile:   name,
		tls:       ct,
		onReload:  o.onReload,
		gate:      o.gate,
		cache:     o.cache,
		observers: o.observers,
		log:       o.logger,
		now:       o.now,
	}
	if t == nil {
		return r, nil
	}
	r.last = fingerprint(o.cache, sectionSources(o.material, path), t)
	if t.Reload.Std() <= 0 {
		return r, nil
	}
	switch {
	case ct == nil:
		return r, []Warning{{Path: path + ".reload", Message: "ignored: the profile does not use TLS, there is no material to reload"}}
	case o.material == nil:
		// A profile built in Go carries its material inline: nothing says where to read
		// it again.
		return r, []Warning{{Path: path + ".reload", Message: "ignored: the material cannot be re-read (the profile was compiled without a material source, as a profile built in Go is); load it through connfactory.Load or pass factory.WithMaterial"}}
	}
	r.interval = t.Reload.Std()
	return r, nil
}

// fingerprint identifies the material of t (read through src) and what judging it depends on, so that a
// periodic reload that finds the same bytes again neither recompiles nor logs at info
// level, and Generation counts real changes. It is a hash held in memory only. Material
// bytes enter it as their digest, which cache remembers during a Batch.
func fingerprint(cache *MaterialCache, src sources, t *schema.TLS) [sha256.Size]byte {
	h := sha256.New()
	field := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	for key, m := range t.Sources() {
		field([]byte(key))
		field([]byte(m.Describe()))
		var data []byte
		if !m.System {
			data, _ = src.bytes(key, m)
		}
		sum := cache.digest(data)
		field(sum[:])
		field([]byte(fmt.Sprint(src.mode(key))))
		if m.Passphrase != nil {
			field([]byte(src.secret(key+".passphrase", m.Passphrase).Reveal()))
		}
	}
	fingerprintStores(field, cache, src, t)
	field([]byte(fmt.Sprint(t.EffectiveMode(), t.CRLStale, t.StrictKeyPermissions, t.ExpiryWarning)))
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// path is the config path of the TLS section, profiles.NAME.tls: built when a line is
// logged or an error made, not held by every compiled connector.
func (r *reloader) path() string { return profilePath(r.profile) + ".tls" }

// use starts the periodic reload on the connector's first use (Start, Dial, DialConn,
// Check): compiling a connector starts no goroutine.
func (r *reloader) use() { r.started.Do(r.start) }

// start runs the periodic reload, if the profile asks for one.
func (r *reloader) start() {
	if r.interval <= 0 {
		return
	}
	r.stopMu.Lock()
	defer r.stopMu.Unlock()
	if r.closed || r.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	go r.loop(ctx, r.done)
	r.log.Debug("tls reload started", "profile", r.profile, "path", r.path(), "interval", r.interval.String())
}

// loop reloads on every tick until ctx ends. A tick that comes while a reload is still
// running is dropped by the ticker, so slow material sources never pile up reloads.
func (r *reloader) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = r.reload(ctx)
		}
	}
}

// stop ends the loop and waits for it: after stop, no goroutine of the reloader is left
// and no reload is in flight. Idempotent.
func (r *reloader) stop() {
	r.stopMu.Lock()
	r.closed = true
	cancel, done := r.cancel, r.done
	r.cancel = nil
	r.stopMu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// reload runs one reload: refresh, compile, swap or keep. It reports the outcome to the
// log and the callback and returns the error (nil on success).
func (r *reloader) reload(ctx context.Context) error {
	res, err := r.reloadLocked(ctx)
	// Outside the lock, so that a callback may itself trigger a reload.
	r.reloadDone(res, err)
	if r.onReload != nil {
		r.onReload(r.profile, err)
	}
	return err
}

func (r *reloader) reloadLocked(ctx context.Context) (string, error) {
	err := r.reloadMaterial(ctx)
	switch {
	case errors.Is(err, errUnchanged):
		return reloadUnchanged, nil
	case err != nil:
		return reloadError, err
	}
	return reloadOK, nil
}

// errUnchanged is reloadMaterial's "the material read back was the same".
var errUnchanged = errors.New("unchanged")

func (r *reloader) reloadMaterial(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tls == nil {
		return errorf(KindConfig, "", "tls reload of profile %q: the profile does not use TLS", r.profile)
	}
	b := r.tls.binding()
	if b.ms == nil {
		return errorf(KindConfig, "", "tls reload of profile %q: the material cannot be re-read (no material source: the profile was compiled from Go values)", r.profile)
	}
	if err := ctx.Err(); err != nil {
		return &Error{Kind: KindTimeout, Err: fmt.Errorf("tls reload of %s stopped: %w", r.path(), err)}
	}
	start := time.Now()
	var err error
	if r.gate != nil {
		// A held reload reads nothing: the gate is asked first, and again for the swap.
		err = r.gate(func() error { return nil })
	}
	if err == nil {
		err = b.ms.Reload(ctx)
	}
	var (
		warns []Warning
		fp    [sha256.Size]byte
	)
	if err == nil {
		if fp = fingerprint(r.cache, sectionSources(b.ms, r.path()), b.t); fp == r.last {
			r.log.Debug("tls reload: material unchanged", "profile", r.profile, "path", r.path(),
				"generation", r.tls.Generation())
			// What was fine at the last change may be about to expire now.
			for _, w := range r.tls.ExpiryWarnings(r.now()) {
				r.log.Warn("tls reload: "+w.Message, "profile", r.profile, "path", w.Path)
			}
			return errUnchanged
		}
		apply := func() error {
			var uerr error
			warns, uerr = r.tls.Update(b.t, b.ms)
			return uerr
		}
		if r.gate != nil {
			err = r.gate(apply)
		} else {
			err = apply()
		}
	}
	if err != nil {
		var fe *Error
		if !errors.As(err, &fe) {
			err = &Error{Kind: KindConfig, Err: fmt.Errorf("tls reload of %s: %w", r.path(), err)}
		}
		// The error names paths and sources (files, variables), never material or secrets.
		attrs := []any{"profile", r.profile, "path", r.path(), "generation", r.tls.Generation(), "error", err.Error()}
		if errors.Is(err, ErrReloadHeld) {
			r.log.Warn("tls reload held: the material in use stays", attrs...)
			return err
		}
		if ctx.Err() != nil {
			// Close (or the caller of ReloadNow) stopped it: not a material problem.
			r.log.Warn("tls reload interrupted: the material in use stays", attrs...)
			return err
		}
		r.log.Error("tls reload failed: the last good material stays in use", attrs...)
		return err
	}
	r.last = fp
	for _, w := range warns {
		r.log.Warn("tls reload: "+textsafe.Escape(w.Message), "profile", r.profile, "path", w.Path)
	}
	attrs := []any{"profile", r.profile, "path", r.path(), "generation", r.tls.Generation(),
		"duration", time.Since(start).String()}
	if leaf := r.tls.ClientCertificate(); leaf != nil {
		attrs = append(attrs, "client_cert_subject", leaf.Subject.String(),
			"client_cert_serial", leaf.SerialNumber.Text(16),
			"client_cert_not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
		if left := leaf.NotAfter.Sub(r.now()); left < 0 {
			r.log.Warn("tls reload: the new client certificate has expired", append(attrs, "expired_for", (-left).String())...)
		}
	}
	r.log.Info("tls material reloaded", attrs...)
	return nil
}
