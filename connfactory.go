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
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	riak "github.com/basho/riak-go-client"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/factory/cassandra"
	riakfactory "github.com/connfactory/connfactory/factory/riak"
	"github.com/connfactory/connfactory/internal/parallel"
	"github.com/connfactory/connfactory/internal/sealed"
	"github.com/connfactory/connfactory/internal/textsafe"
	"github.com/connfactory/connfactory/loaders"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/validate"
)

// ConfigEnv names the environment variable read for configuration files when Load is given
// none: a colon-separated list of paths.
const ConfigEnv = "CONNFACTORY_CONFIG"

// ErrUnknownProfile is returned (wrapped) for a profile name the configuration lacks.
var ErrUnknownProfile = errors.New("connfactory: unknown profile")

// ErrClosed is returned (wrapped) by a Registry's methods after Close.
var ErrClosed = errors.New("connfactory: registry is closed")

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
// sources, as "KEY=value" strings (the last entry for a key wins). The Registry keeps
// environ, not a copy, for Watch and reloads: do not change it afterwards.
func WithEnviron(environ []string) Option {
	return func(s *settings) {
		s.load.Environ = environ
		s.load.LookupEnv = environLookup(environ)
	}
}

// environLookup looks a variable up in environ ("KEY=value"), the last entry for a key
// winning, as in the environment. It indexes environ, 4 bytes an entry sorted by key,
// instead of copying it into a map (some 60 bytes an entry, kept by the Registry): a
// configuration of 100,000 profiles from the environment has a million variables.
func environLookup(environ []string) func(string) (string, bool) {
	key := func(i int32) string { k, _, _ := strings.Cut(environ[i], "="); return k }
	idx := make([]int32, 0, len(environ))
	for i, kv := range environ {
		if strings.Contains(kv, "=") {
			idx = append(idx, int32(i))
		}
	}
	slices.SortStableFunc(idx, func(a, b int32) int { return strings.Compare(key(a), key(b)) })
	return func(k string) (string, bool) {
		n := sort.Search(len(idx), func(j int) bool { return key(idx[j]) > k })
		if n == 0 || key(idx[n-1]) != k {
			return "", false
		}
		_, v, _ := strings.Cut(environ[idx[n-1]], "=")
		return v, true
	}
}

// WithConfig layers a configuration built in Go, under the files and the environment.
func WithConfig(cfg *schema.Config) Option { return func(s *settings) { s.load.Base = cfg } }

// WithValues layers nested keys (as in a TOML file) over the files and under the
// environment; the demo uses it to point the example profiles at its test servers.
func WithValues(values map[string]any) Option {
	return func(s *settings) { s.load.Values = values }
}

// WithContext bounds Load, LoadConfig and Validate by ctx: once ctx is done they stop
// (between stages, and every few hundred profiles within one) and return an error
// matching ctx.Err() and loaders.ErrStopped. A Registry already returned is not affected.
func WithContext(ctx context.Context) Option { return func(s *settings) { s.load.Context = ctx } }

// WithLogger sends connectors' and drivers' log lines to l, each with a "profile"
// attribute, and the Registry's and Watch's own lines (warnings, reload events). Default
// slog.Default(). It is the one logger option of the facade; factory.WithLogger is for
// compiling with package factory directly.
func WithLogger(l *slog.Logger) Option { return func(s *settings) { s.logger = l } }

// WithFactoryOptions passes options to every profile's compilation.
func WithFactoryOptions(opts ...factory.Option) Option {
	return func(s *settings) { s.factoryOpts = append(s.factoryOpts, opts...) }
}

// Registry holds a loaded, validated configuration and compiles its profiles on demand.
// It is safe for concurrent use.
type Registry struct {
	cfg atomic.Pointer[schema.Config] // swapped whole by Watch
	// mat is what the load of cfg resolved (material and secrets by config path), swapped
	// with cfg under mu.
	mat atomic.Pointer[loaders.Material]
	// invalid is the problem of the configuration Watch last read, nil while it is valid
	// (or no Watch runs): while set, tls.reload and ReloadNow change no material. It is
	// set under holdMu, which every reload's swap holds for reading (WithReloadGate), so
	// that no swap is under way or starts once Watch has found the configuration invalid.
	invalid atomic.Pointer[error]
	holdMu  sync.RWMutex
	// settings is sealed so that fmt, printing a Registry value, shows an address, never
	// the WithEnviron entries and WithValues literals it holds.
	settings sealed.Box[settings]
	// cache shares parsed CA bundles and CRLs between every compile and reload of the
	// registry's profiles: 10,000 profiles naming one bundle parse it once.
	cache *factory.MaterialCache

	mu         sync.Mutex
	connectors map[string]factory.Connector
	compiling  map[string]*compileCall // compiles under way, by profile name
	closed     bool

	observers observerList // see AddObserver (observe.go)
}

// set returns the registry's settings.
func (r *Registry) set() *settings { return r.settings.Get() }

// Load reads, layers, resolves and validates the configuration. Its error, if any, lists
// every problem (errors.Is(err, schema.ErrInvalid)); no Registry is returned then.
func Load(opts ...Option) (*Registry, error) {
	cfg, mat, s, err := load(opts)
	if err != nil {
		return nil, err
	}
	return newRegistry(cfg, mat, s), nil
}

func newRegistry(cfg *schema.Config, mat *loaders.Material, s settings) *Registry {
	// WithContext bounds the load, not the Registry: Watch's reloads are not stopped by it.
	s.load.Context = nil
	r := &Registry{connectors: map[string]factory.Connector{}, cache: factory.NewMaterialCache()}
	r.settings.Set(&s)
	r.cfg.Store(cfg)
	r.mat.Store(mat)
	return r
}

// Validate is what `connfactory validate` does, and what Load cannot: Load, then compile
// every profile without
// connecting, so that what only the factory can judge (certificates, keys, CRLs, cipher
// names) is checked too. Unlike Load it also compiles the profiles that have no problem of
// their own when others have, so one run reports every problem. It returns the
// configuration as loaded (best effort), the warnings ("PATH: message") and every problem.
func Validate(opts ...Option) (*schema.Config, []string, error) {
	cfg, mat, s, err := load(opts)
	var problems schema.Problems
	if err != nil && !errors.As(err, &problems) {
		return cfg, nil, err
	}
	if cfg == nil {
		return nil, nil, err
	}
	r := newRegistry(cfg, mat, s)
	defer r.Close()
	bad := profilesWithProblems(problems)
	warnings, cerr := r.compile(s.context(), func(name string) bool { return !bad[name] })
	if s.context().Err() != nil {
		return nil, nil, loaders.StopError(s.context())
	}
	var more schema.Problems
	if errors.As(cerr, &more) {
		problems = append(problems, more...)
	}
	return cfg, warnings, problems.Err()
}

// profilesWithProblems names the profiles that a problem concerns (at profiles.NAME or
// below): one pass over the problems, not one per profile.
func profilesWithProblems(ps schema.Problems) map[string]bool {
	out := map[string]bool{}
	for _, p := range ps {
		if name := profileOf(p.Path); name != "" {
			out[name] = true
		}
	}
	return out
}

// profileOf returns the profile name of a path under profiles. ("" for any other path).
func profileOf(path string) string {
	rest, ok := strings.CutPrefix(path, "profiles.")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, ".["); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// LoadConfig is Load without the Registry: the configuration as loaded, returned (best
// effort) even when invalid, for display, which Load cannot do (it returns no Registry
// then), with every problem. The CLI's demo uses it. To connect, use Load.
func LoadConfig(opts ...Option) (*schema.Config, error) {
	cfg, _, _, err := load(opts)
	return cfg, err
}

func load(opts []Option) (*schema.Config, *loaders.Material, settings, error) {
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
	cfg, mat, err := loadWith(s)
	return cfg, mat, s, err
}

// loadWith is one complete, fresh loader run (a new koanf per call: see Watch) and
// validation.
func loadWith(s settings) (*schema.Config, *loaders.Material, error) {
	cfg, mat, err := loaders.Load(s.load)
	var problems schema.Problems
	if err != nil {
		if !errors.As(err, &problems) {
			return cfg, mat, err
		}
	}
	if cfg != nil {
		more, err := validate.ConfigContext(s.context(), cfg)
		if err != nil {
			return nil, nil, loaders.StopError(s.context())
		}
		// A profile whose extends names no profile lacks what it meant to inherit: that
		// one problem is reported, not also each key the parent would have set.
		badExtends := map[string]bool{}
		for _, p := range problems {
			if name := profileOf(p.Path); name != "" && p.Path == "profiles."+name+".extends" {
				badExtends[name] = true
			}
		}
		for _, p := range more {
			if name := profileOf(p.Path); name == "" || !badExtends[name] {
				problems = append(problems, p)
			}
		}
	}
	return cfg, mat, problems.Err()
}

// context is the context WithContext gave, else context.Background().
func (s settings) context() context.Context {
	if s.load.Context != nil {
		return s.load.Context
	}
	return context.Background()
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
// Profiles compile concurrently (CompileAll compiles over every core); a call for a
// profile another call is compiling waits for it and returns its result.
func (r *Registry) Connector(name string) (factory.Connector, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, &factory.Error{Kind: factory.KindConfig, Err: ErrClosed}
	}
	if c, ok := r.connectors[name]; ok {
		r.mu.Unlock()
		return c, nil
	}
	if call, ok := r.compiling[name]; ok {
		r.mu.Unlock()
		<-call.done
		return call.c, call.err
	}
	p, ok := r.cfg.Load().Profiles[name]
	if !ok {
		r.mu.Unlock()
		return nil, &factory.Error{Kind: factory.KindConfig,
			Err: fmt.Errorf("%w %q (profiles: %s)", ErrUnknownProfile, name, strings.Join(r.Profiles(), ", "))}
	}
	call := &compileCall{done: make(chan struct{})}
	if r.compiling == nil {
		r.compiling = map[string]*compileCall{}
	}
	r.compiling[name] = call
	r.mu.Unlock()

	defer close(call.done)
	c, err := factory.Compile(name, p, r.factoryOptions(name)...)
	r.mu.Lock()
	delete(r.compiling, name)
	switch {
	case err != nil:
	case r.closed:
		// Closed while compiling: the connector was never handed out, nor started.
		err = &factory.Error{Kind: factory.KindConfig, Err: ErrClosed}
		if cerr := c.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		c = nil
	default:
		r.connectors[name] = c
		// Compiling starts no goroutine: the connector is handed out for use now, so its
		// tls.reload ticker starts here, as it did when the factory's constructors started
		// it.
		if s, ok := c.(interface{ Start() }); ok {
			s.Start()
		}
	}
	r.mu.Unlock()
	call.c, call.err = c, err
	if err != nil {
		return nil, err
	}
	// Loud: whatever a profile asks for that weakens security is logged when it is used.
	for _, w := range c.Warnings() {
		r.set().logger.Warn("connfactory: "+textsafe.Escape(w.Message), "profile", name, "path", w.Path)
	}
	return c, nil
}

// compileCall is a compile under way, which other calls for the same profile wait for.
type compileCall struct {
	done chan struct{} // closed once c and err are set
	c    factory.Connector
	err  error
}

func (r *Registry) factoryOptions(name string) []factory.Option {
	opts := []factory.Option{factory.WithLogger(slog.New(&profileHandler{h: r.set().logger.Handler(), name: name})), factory.WithMaterialCache(r.cache),
		factory.WithObserver(&r.observers)}
	opts = append(opts, factory.WithReloadGate(func(apply func() error) error {
		r.holdMu.RLock()
		defer r.holdMu.RUnlock()
		if err := r.held(); err != nil {
			return err
		}
		return apply()
	}))
	// The profile's material and secrets as the load resolved them, and for tls.reload
	// the way to read them again (loaders.ProfileMaterial.Reload).
	if pm := r.mat.Load().Profile(name); pm != nil {
		opts = append(opts, factory.WithMaterial(pm))
	}
	return append(opts, r.set().factoryOpts...)
}

// held is the error of a reload while Watch holds an invalid configuration: nothing
// changes, material included, until it is valid again.
func (r *Registry) held() error {
	if p := r.invalid.Load(); p != nil {
		return fmt.Errorf("%w: the configuration is invalid (Watch reported it), so no material changes until it is valid again: %w", factory.ErrReloadHeld, *p)
	}
	return nil
}

// Cassandra compiles the named profile, which must be a Cassandra profile.
func (r *Registry) Cassandra(name string) (*cassandra.Connector, error) {
	c, err := r.Connector(name)
	if err != nil {
		return nil, err
	}
	cc, ok := c.(*cassandra.Connector)
	if !ok {
		return nil, &factory.Error{Kind: factory.KindConfig,
			Err: fmt.Errorf("%w: %q is a %s profile", ErrWrongBackend, name, c.Backend())}
	}
	return cc, nil
}

// Riak compiles the named profile, which must be a Riak profile.
func (r *Registry) Riak(name string) (*riakfactory.Connector, error) {
	c, err := r.Connector(name)
	if err != nil {
		return nil, err
	}
	rc, ok := c.(*riakfactory.Connector)
	if !ok {
		return nil, &factory.Error{Kind: factory.KindConfig,
			Err: fmt.Errorf("%w: %q is a %s profile", ErrWrongBackend, name, c.Backend())}
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
	return r.compile(context.Background(), func(string) bool { return true })
}

// compile compiles the profiles want selects; see CompileAll. Profiles compile over
// GOMAXPROCS goroutines; warnings and problems are gathered in name order, as one at a
// time. It stops early once ctx is done (checked every parallel.Chunk profiles); the
// caller looks at ctx.
func (r *Registry) compile(ctx context.Context, want func(name string) bool) ([]string, error) {
	var names []string
	for _, name := range r.Profiles() {
		if want(name) {
			names = append(names, name)
		}
	}
	type result struct {
		c   factory.Connector
		err error
	}
	results := make([]result, len(names))
	// One batch: the profiles' material comes from one load, where each file was read
	// once, so each distinct file is hashed once for the material cache.
	r.cache.Batch(func() {
		parallel.For(len(names), func() bool { return ctx.Err() != nil }, func(i int) {
			results[i].c, results[i].err = r.Connector(names[i])
		})
	})
	var warnings []string
	var problems schema.Problems
	for i, name := range names {
		c, err := results[i].c, results[i].err
		switch {
		case err != nil:
			problems = append(problems, r.problemsOf(name, err)...)
		case c != nil: // nil when stopped before its turn
			for _, w := range c.Warnings() {
				if w.Source == "" {
					w.Source = r.cfg.Load().Origins.Of(w.Path)
				}
				warnings = append(warnings, w.String())
			}
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
		// The source is named once: a message about material already says where it came
		// from ("file certs/ca.pem (from app.toml): ...").
		if src := r.cfg.Load().Origins.Of(p.Path); p.Source == "" && !strings.Contains(p.Message, "(from "+src+")") {
			p.Source = src
		}
		out[i] = p
	}
	return out
}

// profileHandler is logger.With("profile", name) made lazy: With formats the attribute
// into a clone of the handler at once (some 250 bytes per profile, held by every compiled
// connector), while connectors rarely log. The attribute is added when a line is
// handled, or when the connector derives a logger of its own.
type profileHandler struct {
	h    slog.Handler
	name string
}

func (p *profileHandler) attr() slog.Attr { return slog.String("profile", p.name) }

func (p *profileHandler) Enabled(ctx context.Context, l slog.Level) bool { return p.h.Enabled(ctx, l) }

func (p *profileHandler) Handle(ctx context.Context, r slog.Record) error {
	// As With would print it: the profile first, then the line's own attributes.
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	out.AddAttrs(p.attr())
	r.Attrs(func(a slog.Attr) bool { out.AddAttrs(a); return true })
	return p.h.Handle(ctx, out)
}

func (p *profileHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return p.h.WithAttrs(append([]slog.Attr{p.attr()}, as...))
}

func (p *profileHandler) WithGroup(g string) slog.Handler {
	return p.h.WithAttrs([]slog.Attr{p.attr()}).WithGroup(g)
}
