package connfactory

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/textsafe"
	"github.com/connfactory/connfactory/loaders"
	"github.com/connfactory/connfactory/schema"
)

// WatchEventType says what a WatchEvent reports.
type WatchEventType string

// The events of Registry.Watch.
const (
	// WatchStarted: every directory is watched; changes from now on are seen. Message
	// lists the directories. Sent once, first.
	WatchStarted WatchEventType = "started"
	// WatchReloaded: the configuration was read again, is valid, and is now the one
	// Connector compiles from. Sent after the per-profile events of that reload.
	WatchReloaded WatchEventType = "reloaded"
	// WatchInvalid: the configuration was read again and is invalid (Err lists every
	// problem, as Load's would). Nothing changed: the last valid configuration and every
	// connector's material stay in use.
	WatchInvalid WatchEventType = "invalid"
	// WatchTLSUpdated: a compiled connector's TLS material (CA, certificate, key, CRL)
	// changed and was swapped in; its handshakes from now on use it.
	WatchTLSUpdated WatchEventType = "tls_updated"
	// WatchTLSFailed: a compiled connector's new TLS material did not compile (Err says
	// why); the connector keeps its last good material.
	WatchTLSFailed WatchEventType = "tls_failed"
	// WatchRecompileRequired: something other than TLS material changed for a compiled
	// connector (hosts, auth, timeouts, TLS mode, versions, ciphers, server name, reload
	// interval), or its profile was removed. A compiled connector keeps the settings it
	// was compiled with; Message says what changed. Close the registry and Load again (or
	// use a new Registry) to apply it.
	WatchRecompileRequired WatchEventType = "recompile_required"
	// WatchError: the file watcher reported an error (Err); watching goes on.
	WatchError WatchEventType = "error"
)

// WatchEvent is one thing Registry.Watch saw or did.
type WatchEvent struct {
	// Type says what happened.
	Type WatchEventType
	// Profile is the profile concerned; "" for the whole configuration.
	Profile string
	// Message describes the event for people.
	Message string
	// Err is the problem of WatchInvalid, WatchTLSFailed and WatchError events.
	Err error
	// Generation is the connector's TLS generation after a WatchTLSUpdated or
	// WatchTLSFailed event (see factory.ClientTLS.Generation).
	Generation uint64
}

// String renders the event as one line.
func (e WatchEvent) String() string {
	s := string(e.Type)
	if e.Profile != "" {
		s += " " + e.Profile
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// watchDebounce is how long Watch waits after the last change before reading the
// configuration again: a Kubernetes volume update or an editor's save is several file
// events, and the configuration should be read once, complete.
const watchDebounce = 100 * time.Millisecond

// Watch re-reads the configuration whenever its files or the material files its profiles
// name change, until ctx ends; then it closes the watcher and returns nil. It returns an
// error at once if it cannot watch (configuration read through WithFS, nothing file-based
// to watch, no inotify).
//
// It watches directories, not files, so that a file replaced by rename and a Kubernetes
// ConfigMap or Secret update (the "..data" symlink swapped to a new timestamped
// directory) are seen; events for other names in those directories are ignored. Changes
// are debounced (100 ms), then the whole configuration is read by a fresh loader run and
// validated, as Load does:
//   - invalid: a WatchInvalid event; everything stays as it was, material included:
//     until a valid configuration is read (or Watch returns), tls.reload ticks and
//     ReloadNow of the registry's connectors are held (factory.ErrReloadHeld);
//   - valid: it replaces the registry's configuration, so later Connector calls compile
//     from it. Each connector already compiled whose TLS material changed reloads it
//     (ReloadNow, which re-reads it for the new profile and hands it to
//     ClientTLS.Update: compiled completely, swapped atomically; on failure the last good
//     material stays: WatchTLSFailed). The connector's WithReloadCallback sees these
//     reloads too. Open connections are not touched; new ones use the
//     new material. Any other change to a compiled profile is not applied to its connector
//     and is reported as WatchRecompileRequired.
//
// onEvent (may be nil) is called from Watch's goroutine, one event at a time; it should
// return quickly. Every event is also logged (WithLogger): failures at error level,
// recompile-required at warn, the rest at info. Messages name paths and files, never
// material or secrets.
func (r *Registry) Watch(ctx context.Context, onEvent func(WatchEvent)) error {
	if r.set().load.FS != nil {
		return errors.New("connfactory: Watch cannot watch a configuration read through WithFS")
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("connfactory: watch: %w", err)
	}
	defer func() { _ = w.Close() }()
	// Once Watch returns nobody judges the configuration any more: lift a hold an
	// invalid configuration put on material reloads (tls.reload reads the last valid
	// configuration's sources again, as it does without Watch).
	defer r.invalid.Store(nil)
	emit := func(e WatchEvent) {
		r.logWatchEvent(e)
		if onEvent != nil {
			onEvent(e)
		}
	}
	set := r.watchSet(r.mat.Load())
	if len(set) == 0 {
		return errors.New("connfactory: watch: no configuration or material file to watch")
	}
	watched := map[string]bool{}
	watchDirs := func(set map[string]map[string]bool) {
		for dir := range watched {
			if set[dir] == nil {
				_ = w.Remove(dir)
				delete(watched, dir)
			}
		}
		for dir := range set {
			if watched[dir] {
				continue
			}
			if err := w.Add(dir); err != nil {
				emit(WatchEvent{Type: WatchError, Message: "cannot watch directory " + dir, Err: err})
				continue
			}
			watched[dir] = true
		}
	}
	watchDirs(set)
	if len(watched) == 0 {
		return errors.New("connfactory: watch: no directory could be watched")
	}
	dirs := slices.Sorted(maps.Keys(watched))
	emit(WatchEvent{Type: WatchStarted, Message: "watching " + strings.Join(dirs, ", ")})

	debounce := time.NewTimer(watchDebounce)
	debounce.Stop()
	defer debounce.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if watched[ev.Name] && ev.Has(fsnotify.Remove|fsnotify.Rename) {
				// A watched directory itself went away (its inotify watch with it): forget
				// it, so that the next reload watches it again if it comes back.
				delete(watched, ev.Name)
			}
			if ev.Op == fsnotify.Chmod || !relevant(set, ev.Name) {
				continue
			}
			r.set().logger.Debug("connfactory watch: change", "file", ev.Name, "op", ev.Op.String())
			debounce.Reset(watchDebounce)
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			emit(WatchEvent{Type: WatchError, Message: "file watcher", Err: err})
		case <-debounce.C:
			if mat := r.reloadConfig(ctx, emit); mat != nil {
				set = r.watchSet(mat)
			}
			// Directories may have appeared (or been recreated) since: watch them now.
			watchDirs(set)
		}
	}
}

// relevant says whether a change to name concerns a watched file: one of the names in its
// directory, or a Kubernetes volume's "..data" link and "..TIMESTAMP" directories.
func relevant(set map[string]map[string]bool, name string) bool {
	dir, base := filepath.Split(name)
	names := set[filepath.Clean(dir)]
	return names != nil && (names[base] || strings.HasPrefix(base, ".."))
}

// watchSet maps each directory to watch to the file names in it that matter: the
// configuration files and every material and secret file the load read (mat.Files: every
// profile's, not only compiled ones, so that a later Connector call compiles current
// material). A symlinked file's target directory is watched too, for links that are not
// swapped themselves but whose target is rewritten.
func (r *Registry) watchSet(mat *loaders.Material) map[string]map[string]bool {
	set := map[string]map[string]bool{}
	add := func(p string) {
		if p == "" {
			return
		}
		for _, q := range []string{p, evalSymlinks(p)} {
			if q == "" {
				continue
			}
			abs, err := filepath.Abs(q)
			if err != nil {
				continue
			}
			dir, base := filepath.Dir(abs), filepath.Base(abs)
			if set[dir] == nil {
				set[dir] = map[string]bool{}
			}
			set[dir][base] = true
		}
	}
	for _, f := range r.set().load.Files {
		add(f)
	}
	for _, f := range mat.Files() {
		add(f)
	}
	return set
}

func evalSymlinks(p string) string {
	q, err := filepath.EvalSymlinks(p)
	if err != nil || q == p {
		return ""
	}
	return q
}

// reloadConfig reads and validates the configuration again and applies it (see Watch).
// It returns what the new configuration's load resolved, or nil when it was invalid.
func (r *Registry) reloadConfig(ctx context.Context, emit func(WatchEvent)) *loaders.Material {
	cfg, mat, err := loadWith(*r.set())
	if err != nil {
		r.holdMu.Lock() // waits for a swap under way; none starts until the hold is lifted
		r.invalid.Store(&err)
		r.holdMu.Unlock()
		emit(WatchEvent{Type: WatchInvalid, Message: "the configuration changed and is invalid; the last valid one stays in use", Err: err})
		return nil
	}
	// Swap and snapshot under the lock: a connector compiled before the swap is in the
	// snapshot and gets the new material below; one compiled after compiles from cfg.
	r.mu.Lock()
	old := r.cfg.Swap(cfg)
	oldMat := r.mat.Swap(mat)
	r.invalid.Store(nil)
	compiled := make(map[string]factory.Connector, len(r.connectors))
	maps.Copy(compiled, r.connectors)
	r.mu.Unlock()

	for _, name := range slices.Sorted(maps.Keys(compiled)) {
		r.applyProfile(ctx, name, compiled[name], profileLoad{old.Profiles[name], oldMat.Profile(name)},
			profileLoad{cfg.Profiles[name], mat.Profile(name)}, emit)
	}
	emit(WatchEvent{Type: WatchReloaded, Message: fmt.Sprintf("configuration reloaded (%d profiles)", len(cfg.Profiles))})
	return mat
}

// profileLoad is a profile as one load gave it: its schema value and its resolved
// material.
type profileLoad struct {
	p  *schema.Profile
	pm *loaders.ProfileMaterial
}

// applyProfile brings one compiled connector as far towards its new profile as a running
// connector can go: new TLS material; anything else is reported.
func (r *Registry) applyProfile(ctx context.Context, name string, c factory.Connector, old, cur profileLoad, emit func(WatchEvent)) {
	oldP, newP := old.p, cur.p
	if newP == nil {
		emit(WatchEvent{Type: WatchRecompileRequired, Profile: name, Message: "the profile was removed from the configuration; its compiled connector keeps working until closed"})
		return
	}
	if oldP == nil {
		return
	}
	var changed []string
	if !reflect.DeepEqual(withoutTLS(oldP), withoutTLS(newP)) {
		changed = append(changed, "settings other than tls (hosts, auth, timeouts, ...)")
	}
	if !reflect.DeepEqual(tlsSettings(oldP.TLS), tlsSettings(newP.TLS)) {
		changed = append(changed, "tls settings (mode, versions, ciphers, server_name, reload)")
	}
	if len(changed) > 0 {
		emit(WatchEvent{Type: WatchRecompileRequired, Profile: name, Message: strings.Join(changed, " and ") +
			" changed: not applied to the compiled connector; load the configuration into a new Registry to apply them"})
	}
	if reflect.DeepEqual(tlsMaterial(oldP.TLS), tlsMaterial(newP.TLS)) && old.pm.SameTLS(cur.pm) {
		return
	}
	tc, ok := c.(interface{ TLS() *factory.ClientTLS })
	if !ok || tc.TLS() == nil || !newP.TLS.Enabled() || tc.TLS().Mode() != newP.TLS.EffectiveMode() {
		if len(changed) == 0 {
			emit(WatchEvent{Type: WatchRecompileRequired, Profile: name, Message: "tls material changed but the connector's TLS cannot take it (TLS turned on or off, or its mode changed)"})
		}
		return
	}
	ct := tc.TLS()
	var (
		warns []factory.Warning
		err   error
	)
	// From now on the connector's reloads read the new profile's sources.
	var ms factory.MaterialSource
	if cur.pm != nil {
		ms = cur.pm
	}
	ct.Bind(newP.TLS, ms)
	if rn, ok := c.(interface{ ReloadNow(context.Context) error }); ok {
		// Through the connector's own reload: it reads the new profile's material again,
		// and keeps its bookkeeping, log lines and WithReloadCallback in step with this
		// change.
		err = rn.ReloadNow(ctx)
	} else {
		warns, err = ct.Update(newP.TLS, ms)
	}
	if err != nil {
		emit(WatchEvent{Type: WatchTLSFailed, Profile: name, Generation: ct.Generation(),
			Message: "the new tls material does not compile; the last good material stays in use", Err: err})
		return
	}
	msg := "tls material reloaded"
	if leaf := ct.ClientCertificate(); leaf != nil {
		msg += fmt.Sprintf(" (client certificate %s, serial %s, expires %s)", leaf.Subject,
			leaf.SerialNumber.Text(16), leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	for _, w := range warns {
		msg += "; " + w.String()
	}
	emit(WatchEvent{Type: WatchTLSUpdated, Profile: name, Generation: ct.Generation(), Message: msg})
}

// withoutTLS is p without its TLS section, for comparing the rest.
func withoutTLS(p *schema.Profile) schema.Profile {
	c := *p
	c.TLS = nil
	return c
}

// tlsSettings is t without its material: what ClientTLS.Update cannot change. crl_stale,
// strict_key_permissions and expiry_warning are judged with the material, so they count as
// material.
func tlsSettings(t *schema.TLS) *schema.TLS {
	if t == nil {
		return nil
	}
	c := *t
	c.CA, c.Cert, c.Key, c.PKCS12, c.CRL = nil, nil, nil, nil, nil
	c.TrustStore, c.KeyStore = nil, nil
	c.CRLStale, c.StrictKeyPermissions, c.ExpiryWarning = "", false, 0
	return &c
}

// tlsMaterial is what ClientTLS.Update takes from t: its sources as written (their bytes
// are compared apart: loaders.ProfileMaterial.SameTLS).
func tlsMaterial(t *schema.TLS) any {
	if t == nil {
		return nil
	}
	var out []any
	for key, m := range t.Sources() {
		out = append(out, key, *m)
	}
	return append(out, t.CRLStale, t.StrictKeyPermissions, t.TrustStore, t.KeyStore, t.ExpiryWarning)
}

// logWatchEvent logs e at the level its type deserves.
func (r *Registry) logWatchEvent(e WatchEvent) {
	attrs := []any{"event", string(e.Type)}
	if e.Profile != "" {
		attrs = append(attrs, "profile", e.Profile)
	}
	if e.Generation != 0 {
		attrs = append(attrs, "generation", e.Generation)
	}
	if e.Err != nil {
		attrs = append(attrs, "error", e.Err.Error())
	}
	l := r.set().logger
	msg := "connfactory watch: " + textsafe.Escape(e.Message)
	switch e.Type {
	case WatchInvalid, WatchTLSFailed, WatchError:
		l.Error(msg, attrs...)
	case WatchRecompileRequired:
		l.Warn(msg, attrs...)
	default:
		l.Info(msg, attrs...)
	}
}
