// Package connfactory turns declarative, validated connection profiles into ready-to-dial,
// secure connections to Apache Cassandra (gocql v2) and Riak KV (riak-go-client).
//
// Profiles come from TOML, YAML or JSON files, from environment variables (CONNFACTORY_,
// "__" nests) or from Go values, layered in that order. Load reads and validates them all
// at once, reporting every problem at its config path; a Registry then compiles each
// profile on demand into a connector whose Dial is bounded by a context and whose failures
// are classified (see package factory's error kinds).
//
// The pipeline is one-way: loaders -> schema -> validate -> factory. This package only
// wires it together.
package connfactory

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	riak "github.com/basho/riak-go-client"
	"github.com/fsnotify/fsnotify"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/loaders"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/validate"
)

// ConfigEnv names the environment variable read for configuration files when Load is given
// none: a colon-separated list of paths.
const ConfigEnv = "CONNFACTORY_CONFIG"

// ErrUnknownProfile is returned (wrapped) for a profile name the configuration lacks.
var ErrUnknownProfile = errors.New("connfactory: unknown profile")

// ErrWrongBackend is returned (wrapped) by Registry.Cassandra and Registry.Riak for a
// profile of the other backend.
var ErrWrongBackend = errors.New("connfactory: profile is for another backend")

// Option configures Load.
type Option func(*settings)

type settings struct {
	load        loaders.Options
	filesGiven  bool
	logger      *slog.Logger
	factoryOpts []factory.Option
}

// WithFiles layers configuration files, in order (later files win). TOML, YAML or JSON by
// extension. Without WithFiles (or WithFS), the files named by CONNFACTORY_CONFIG are read.
func WithFiles(paths ...string) Option {
	return func(s *settings) { s.load.Files = append(s.load.Files, paths...); s.filesGiven = true }
}

// WithFS reads the configuration files from fsys instead of the operating system.
func WithFS(fsys fs.FS, paths ...string) Option {
	return func(s *settings) {
		s.load.FS = fsys
		s.load.Files = append(s.load.Files, paths...)
		s.filesGiven = true
	}
}

// WithEnvPrefix sets the prefix of the environment layer (default "CONNFACTORY_"); "-"
// turns the environment layer off.
func WithEnvPrefix(prefix string) Option { return func(s *settings) { s.load.EnvPrefix = prefix } }

// WithEnviron replaces os.Environ for the environment layer and os.LookupEnv for {env}
// sources, as "KEY=value" strings.
func WithEnviron(environ []string) Option {
	return func(s *settings) {
		s.load.Environ = environ
		env := map[string]string{}
		for _, kv := range environ {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = v
			}
		}
		s.load.LookupEnv = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	}
}

// WithConfig layers a configuration built in Go, under the files and the environment.
func WithConfig(cfg *schema.Config) Option { return func(s *settings) { s.load.Base = cfg } }

// WithValues layers nested keys (as in a TOML file) over the files and under the
// environment; the demo uses it to point the example profiles at its test servers.
func WithValues(values map[string]any) Option {
	return func(s *settings) { s.load.Values = values }
}

// WithLogger sends connectors' and drivers' log lines to l. Default slog.Default().
func WithLogger(l *slog.Logger) Option { return func(s *settings) { s.logger = l } }

// WithFactoryOptions passes options to every profile's compilation.
func WithFactoryOptions(opts ...factory.Option) Option {
	return func(s *settings) { s.factoryOpts = append(s.factoryOpts, opts...) }
}

// Registry holds a loaded, validated configuration and compiles its profiles on demand.
// It is safe for concurrent use.
type Registry struct {
	cfg      atomic.Pointer[schema.Config] // swapped whole by Watch
	settings settings
	// cache shares parsed CA bundles and CRLs between every compile and reload of the
	// registry's profiles: 10,000 profiles naming one bundle parse it once.
	cache *factory.MaterialCache

	mu         sync.Mutex
	connectors map[string]factory.Connector
	closed     bool
}

// Load reads, layers, resolves and validates the configuration. Its error, if any, lists
// every problem (errors.Is(err, schema.ErrInvalid)); no Registry is returned then.
func Load(opts ...Option) (*Registry, error) {
	cfg, s, err := load(opts)
	if err != nil {
		return nil, err
	}
	return newRegistry(cfg, s), nil
}

func newRegistry(cfg *schema.Config, s settings) *Registry {
	r := &Registry{settings: s, connectors: map[string]factory.Connector{}, cache: factory.NewMaterialCache()}
	r.cfg.Store(cfg)
	return r
}

// Validate is what `connfactory validate` does: Load, then compile every profile without
// connecting, so that what only the factory can judge (certificates, keys, CRLs, cipher
// names) is checked too. Unlike Load it also compiles the profiles that have no problem of
// their own when others have, so one run reports every problem. It returns the
// configuration as loaded (best effort), the warnings ("PATH: message") and every problem.
func Validate(opts ...Option) (*schema.Config, []string, error) {
	cfg, s, err := load(opts)
	var problems schema.Problems
	if err != nil && !errors.As(err, &problems) {
		return cfg, nil, err
	}
	if cfg == nil {
		return nil, nil, err
	}
	r := newRegistry(cfg, s)
	defer r.Close()
	warnings, cerr := r.compile(func(name string) bool { return !problemUnder(problems, "profiles."+name) })
	var more schema.Problems
	if errors.As(cerr, &more) {
		problems = append(problems, more...)
	}
	return cfg, warnings, problems.Err()
}

// problemUnder reports whether a problem concerns path or something below it.
func problemUnder(ps schema.Problems, path string) bool {
	for _, p := range ps {
		if p.Path == path || strings.HasPrefix(p.Path, path+".") || strings.HasPrefix(p.Path, path+"[") {
			return true
		}
	}
	return false
}

// LoadConfig is Load without the Registry: the configuration as loaded (best effort even
// when invalid, for display) and every problem. The CLI's validate and show use it.
func LoadConfig(opts ...Option) (*schema.Config, error) {
	cfg, _, err := load(opts)
	return cfg, err
}

func load(opts []Option) (*schema.Config, settings, error) {
	var s settings
	for _, o := range opts {
		o(&s)
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	if !s.filesGiven {
		s.load.Files = FilesFromEnv(s.load.LookupEnv)
	}
	cfg, err := loadWith(s)
	return cfg, s, err
}

// loadWith is one complete, fresh loader run (a new koanf per call: see Watch) and
// validation.
func loadWith(s settings) (*schema.Config, error) {
	cfg, err := loaders.Load(s.load)
	var problems schema.Problems
	if err != nil {
		if !errors.As(err, &problems) {
			return cfg, err
		}
	}
	if cfg != nil {
		problems = append(problems, validate.Config(cfg)...)
	}
	return cfg, problems.Err()
}

// FilesFromEnv returns the files listed in CONNFACTORY_CONFIG (colon-separated), looked up
// with lookup (os.LookupEnv when nil).
func FilesFromEnv(lookup func(string) (string, bool)) []string {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	v, _ := lookup(ConfigEnv)
	var files []string
	for _, f := range strings.Split(v, ":") {
		if f = strings.TrimSpace(f); f != "" {
			files = append(files, f)
		}
	}
	return files
}

// Config returns the loaded configuration (the latest valid one, under Watch). It must
// not be modified.
func (r *Registry) Config() *schema.Config { return r.cfg.Load() }

// Profiles returns the profile names, sorted.
func (r *Registry) Profiles() []string {
	cfg := r.cfg.Load()
	names := make([]string, 0, len(cfg.Profiles))
	for n := range cfg.Profiles {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Profile returns the named profile as loaded (defaults and extends applied).
func (r *Registry) Profile(name string) (*schema.Profile, bool) {
	p, ok := r.cfg.Load().Profiles[name]
	return p, ok
}

// Connector compiles the named profile, once; later calls return the same connector.
func (r *Registry) Connector(name string) (factory.Connector, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errors.New("connfactory: registry is closed")
	}
	if c, ok := r.connectors[name]; ok {
		return c, nil
	}
	p, ok := r.cfg.Load().Profiles[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (profiles: %s)", ErrUnknownProfile, name, strings.Join(r.Profiles(), ", "))
	}
	c, err := factory.Compile(name, p, r.factoryOptions(name)...)
	if err != nil {
		return nil, err
	}
	// Loud: whatever a profile asks for that weakens security is logged when it is used.
	for _, w := range c.Warnings() {
		r.settings.logger.Warn("connfactory: "+w.Message, "profile", name, "path", w.Path)
	}
	r.connectors[name] = c
	return c, nil
}

func (r *Registry) factoryOptions(name string) []factory.Option {
	opts := []factory.Option{factory.WithLogger(r.settings.logger.With("profile", name)), factory.WithMaterialCache(r.cache)}
	lookup := r.settings.load.LookupEnv
	path := "profiles." + name + ".tls"
	opts = append(opts, factory.WithTLSRefresher(func(context.Context) (*schema.TLS, error) {
		p := r.cfg.Load().Profiles[name]
		if p == nil || p.TLS == nil {
			return nil, nil
		}
		fresh := cloneTLS(p.TLS)
		if ps := loaders.ResolveTLS(path, fresh, lookup); len(ps) > 0 {
			return nil, ps.Err()
		}
		return fresh, nil
	}))
	return append(opts, r.settings.factoryOpts...)
}

// cloneTLS copies t deeply enough that resolving material into the copy leaves t alone.
func cloneTLS(t *schema.TLS) *schema.TLS {
	c := *t
	cloneSources := func(srcs []schema.MaterialSource) []schema.MaterialSource {
		out := slices.Clone(srcs)
		for i := range out {
			if out[i].Passphrase != nil {
				pp := *out[i].Passphrase
				out[i].Passphrase = &pp
			}
		}
		return out
	}
	cloneOne := func(m *schema.MaterialSource) *schema.MaterialSource {
		if m == nil {
			return nil
		}
		return &cloneSources([]schema.MaterialSource{*m})[0]
	}
	c.CA = cloneSources(t.CA)
	c.CRL = cloneSources(t.CRL)
	c.Cert, c.Key, c.PKCS12 = cloneOne(t.Cert), cloneOne(t.Key), cloneOne(t.PKCS12)
	c.Ciphers = slices.Clone(t.Ciphers)
	return &c
}

// Cassandra compiles the named profile, which must be a Cassandra profile.
func (r *Registry) Cassandra(name string) (*factory.CassandraConnector, error) {
	c, err := r.Connector(name)
	if err != nil {
		return nil, err
	}
	cc, ok := c.(*factory.CassandraConnector)
	if !ok {
		return nil, fmt.Errorf("%w: %q is a %s profile", ErrWrongBackend, name, c.Backend())
	}
	return cc, nil
}

// Riak compiles the named profile, which must be a Riak profile.
func (r *Registry) Riak(name string) (*factory.RiakConnector, error) {
	c, err := r.Connector(name)
	if err != nil {
		return nil, err
	}
	rc, ok := c.(*factory.RiakConnector)
	if !ok {
		return nil, fmt.Errorf("%w: %q is a %s profile", ErrWrongBackend, name, c.Backend())
	}
	return rc, nil
}

// Close closes every connector the registry compiled (stopping their reloads). Sessions
// and clusters already dialled are the caller's to close.
func (r *Registry) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	var errs []error
	for _, c := range r.connectors {
		errs = append(errs, c.Close())
	}
	r.connectors = nil
	return errors.Join(errs...)
}

// OpenCassandra loads the configuration (opts as for Load), compiles the named Cassandra
// profile and dials it: the one-call form for a twelve-factor service. Closing the session
// is the caller's; the profile's reload (if any) stops with the returned close function.
func OpenCassandra(ctx context.Context, name string, opts ...Option) (*gocql.Session, func() error, error) {
	reg, err := Load(opts...)
	if err != nil {
		return nil, nil, err
	}
	c, err := reg.Cassandra(name)
	if err != nil {
		return nil, nil, errors.Join(err, reg.Close())
	}
	s, err := c.Dial(ctx)
	if err != nil {
		return nil, nil, errors.Join(err, reg.Close())
	}
	return s, reg.Close, nil
}

// OpenRiak is OpenCassandra for Riak: it returns a started *riak.Cluster whose node passed
// the factory's preflight. Stopping the cluster is the caller's.
func OpenRiak(ctx context.Context, name string, opts ...Option) (*riak.Cluster, func() error, error) {
	reg, err := Load(opts...)
	if err != nil {
		return nil, nil, err
	}
	c, err := reg.Riak(name)
	if err != nil {
		return nil, nil, errors.Join(err, reg.Close())
	}
	cl, err := c.Dial(ctx)
	if err != nil {
		return nil, nil, errors.Join(err, reg.Close())
	}
	return cl, reg.Close, nil
}

// CompileAll compiles every profile without connecting, so that what only the factory can
// judge (certificates, keys, CRLs, cipher names) is checked too. It returns every warning
// (as "PATH: message") and every problem, each with the source of its value.
func (r *Registry) CompileAll() ([]string, error) {
	return r.compile(func(string) bool { return true })
}

// compile compiles the profiles want selects; see CompileAll.
func (r *Registry) compile(want func(name string) bool) ([]string, error) {
	var warnings []string
	var problems schema.Problems
	for _, name := range r.Profiles() {
		if !want(name) {
			continue
		}
		c, err := r.Connector(name)
		if err != nil {
			problems = append(problems, r.problemsOf(name, err)...)
			continue
		}
		for _, w := range c.Warnings() {
			warnings = append(warnings, w.String())
		}
	}
	return warnings, problems.Err()
}

// problemsOf turns a compile error into problems with their sources.
func (r *Registry) problemsOf(name string, err error) schema.Problems {
	var ps schema.Problems
	if !errors.As(err, &ps) {
		ps = schema.Problems{{Path: "profiles." + name, Message: err.Error()}}
	}
	out := make(schema.Problems, len(ps))
	for i, p := range ps {
		if p.Source == "" {
			p.Source = r.cfg.Load().Origins.Of(p.Path)
		}
		out[i] = p
	}
	return out
}

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
//   - invalid: a WatchInvalid event; everything stays as it was;
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
	if r.settings.load.FS != nil {
		return errors.New("connfactory: Watch cannot watch a configuration read through WithFS")
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("connfactory: watch: %w", err)
	}
	defer func() { _ = w.Close() }()
	emit := func(e WatchEvent) {
		r.logWatchEvent(e)
		if onEvent != nil {
			onEvent(e)
		}
	}
	set := r.watchSet(r.cfg.Load())
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
			r.settings.logger.Debug("connfactory watch: change", "file", ev.Name, "op", ev.Op.String())
			debounce.Reset(watchDebounce)
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			emit(WatchEvent{Type: WatchError, Message: "file watcher", Err: err})
		case <-debounce.C:
			if cfg := r.reloadConfig(ctx, emit); cfg != nil {
				set = r.watchSet(cfg)
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
// configuration files and every file-based material and secret source of every profile
// (not only compiled ones, so that a later Connector call compiles current material).
// A symlinked file's target directory is watched too, for links that are not swapped
// themselves but whose target is rewritten.
func (r *Registry) watchSet(cfg *schema.Config) map[string]map[string]bool {
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
	for _, f := range r.settings.load.Files {
		add(f)
	}
	if cfg == nil {
		return set
	}
	for _, p := range cfg.Profiles {
		if p == nil {
			continue
		}
		if a := p.Auth; a != nil {
			if a.Password != nil {
				add(a.Password.File)
			}
			for _, h := range a.PerHost {
				if h.Password != nil {
					add(h.Password.File)
				}
			}
		}
		if t := p.TLS; t != nil {
			for _, m := range tlsSources(t) {
				add(m.File)
				if m.Passphrase != nil {
					add(m.Passphrase.File)
				}
			}
		}
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

// tlsSources lists every material source of t.
func tlsSources(t *schema.TLS) []*schema.MaterialSource {
	var out []*schema.MaterialSource
	for i := range t.CA {
		out = append(out, &t.CA[i])
	}
	for _, m := range []*schema.MaterialSource{t.Cert, t.Key, t.PKCS12} {
		if m != nil {
			out = append(out, m)
		}
	}
	for i := range t.CRL {
		out = append(out, &t.CRL[i])
	}
	return out
}

// reloadConfig reads and validates the configuration again and applies it (see Watch).
// It returns the new configuration, or nil when it was invalid.
func (r *Registry) reloadConfig(ctx context.Context, emit func(WatchEvent)) *schema.Config {
	cfg, err := loadWith(r.settings)
	if err != nil {
		emit(WatchEvent{Type: WatchInvalid, Message: "the configuration changed and is invalid; the last valid one stays in use", Err: err})
		return nil
	}
	// Swap and snapshot under the lock: a connector compiled before the swap is in the
	// snapshot and gets the new material below; one compiled after compiles from cfg.
	r.mu.Lock()
	old := r.cfg.Swap(cfg)
	compiled := make(map[string]factory.Connector, len(r.connectors))
	maps.Copy(compiled, r.connectors)
	r.mu.Unlock()

	for _, name := range slices.Sorted(maps.Keys(compiled)) {
		r.applyProfile(ctx, name, compiled[name], old.Profiles[name], cfg.Profiles[name], emit)
	}
	emit(WatchEvent{Type: WatchReloaded, Message: fmt.Sprintf("configuration reloaded (%d profiles)", len(cfg.Profiles))})
	return cfg
}

// applyProfile brings one compiled connector as far towards its new profile as a running
// connector can go: new TLS material; anything else is reported.
func (r *Registry) applyProfile(ctx context.Context, name string, c factory.Connector, oldP, newP *schema.Profile, emit func(WatchEvent)) {
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
	if reflect.DeepEqual(tlsMaterial(oldP.TLS), tlsMaterial(newP.TLS)) {
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
	if rn, ok := c.(interface{ ReloadNow(context.Context) error }); ok {
		// Through the connector's own reload: its refresher resolves the new profile's
		// material again (r.cfg is already the new configuration), and the reload keeps
		// its bookkeeping, log lines and WithReloadCallback in step with this change.
		err = rn.ReloadNow(ctx)
	} else {
		warns, err = ct.Update(newP.TLS)
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

// tlsSettings is t without its material: what ClientTLS.Update cannot change. crl_stale
// and strict_key_permissions are judged with the material, so they count as material.
func tlsSettings(t *schema.TLS) *schema.TLS {
	if t == nil {
		return nil
	}
	c := *t
	c.CA, c.Cert, c.Key, c.PKCS12, c.CRL = nil, nil, nil, nil, nil
	c.CRLStale, c.StrictKeyPermissions = "", false
	return &c
}

// tlsMaterial is what ClientTLS.Update takes from t: sources with their bytes.
func tlsMaterial(t *schema.TLS) any {
	if t == nil {
		return nil
	}
	return []any{t.CA, t.Cert, t.Key, t.PKCS12, t.CRL, t.CRLStale, t.StrictKeyPermissions}
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
	l := r.settings.logger
	switch e.Type {
	case WatchInvalid, WatchTLSFailed, WatchError:
		l.Error("connfactory watch: "+e.Message, attrs...)
	case WatchRecompileRequired:
		l.Warn("connfactory watch: "+e.Message, attrs...)
	default:
		l.Info("connfactory watch: "+e.Message, attrs...)
	}
}
