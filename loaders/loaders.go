// Package loaders turns configuration files, environment variables and Go values into a
// schema.Config: it layers them with koanf (built-in defaults < Go base < each file in order <
// overrides < environment), applies `[defaults]` and `extends`, records where every value came
// from, and resolves every secret and material source to bytes (a Material, keyed by
// config path: the schema values keep only what the user wrote), so that the factory never
// touches the file system or the environment itself.
//
// Every problem found is reported, not only the first: Load returns a schema.Problems listing
// them all, each at its dotted config path with the origin of the offending value.
//
// Origins (schema.Config.Origins and Problem.Source) are, for every leaf key: the file name
// as given in Options.Files; "env NAME" for an environment variable; "override" for
// Options.Values; "go" for Options.Base; "default" for a built-in default. A value a
// profile inherits says so: "app.toml via defaults", "base.toml via extends cass_base".
// Lists are leaves (profiles.x.hosts, profiles.x.tls.ca); problems inside them use indexes
// (profiles.x.tls.ca[1]).
//
// Layers merge table by table, except that a secret or material source (auth.password,
// tls.ca, tls.cert, tls.key, tls.pkcs12, tls.crl) is replaced as a whole by a later layer,
// so that `CONNFACTORY_PROFILES__X__AUTH__PASSWORD__ENV=PW` overrides a `{file = ..}`
// instead of combining with it.
//
// Environment variables: the prefix (CONNFACTORY_) is stripped, the rest lowercased and
// split at "__"; variables without "__" (CONNFACTORY_CONFIG) are not configuration keys.
// Values are strings converted by the schema's types; lists are comma-separated
// (tls.ciphers also colon-separated). A list may also be given by index, from 0 without
// gaps: ..._TLS__CA__0__FILE, ..._TLS__CA__1__FILE, ..._AUTH__PER_HOST__0__HOST. Two
// variables for one key, or for a key and a key under it, are a problem naming both.
//
// Files are parsed by this package's own layer (TOML by a one-pass parser for the subset
// configurations are written in, BurntSushi/toml for the rest and for every error; YAML
// through yaml.v3's node tree, JSON token by token) so that every format refuses
// duplicate keys, explicit nulls, invalid UTF-8 and input beyond the structural limits
// (nesting depth 32, 32 segments per key, 1,000,000 keys per table), each at a line and
// column, and no parser message repeats a value from the file.
package loaders

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/connfactory/connfactory/internal/parallel"
	"github.com/connfactory/connfactory/schema"
)

// DefaultEnvPrefix is the prefix of the environment variables that configure profiles.
const DefaultEnvPrefix = "CONNFACTORY_"

// Origin strings recorded in schema.Config.Origins besides file names and "env VAR".
const (
	// OriginDefault marks a built-in default (connect_timeout, timeout).
	OriginDefault = "default"
	// OriginGo marks a value from Options.Base.
	OriginGo = "go"
	// OriginOverride marks a value from Options.Values.
	OriginOverride = "override"
)

// Options says what Load reads.
type Options struct {
	// Files are read in order, later files winning. The format follows the extension:
	// .toml, .yaml/.yml or .json; any other extension is a problem.
	Files []string
	// FS, if set, is where Files are read from (paths relative to its root), and where
	// relative material and secret files are read from too. Absolute material paths are
	// still read from the operating system.
	FS fs.FS
	// EnvPrefix selects the environment layer's variables; "" means DefaultEnvPrefix and
	// "-" disables the environment layer.
	EnvPrefix string
	// Environ is the "K=V" list the environment layer reads; nil means os.Environ().
	Environ []string
	// LookupEnv resolves {env} and {env_base64} sources; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Values is an extra layer applied after the files and before the environment: a
	// nested map (or dotted keys) of koanf keys. Its origin is "override".
	Values map[string]any
	// Base is a Go value layer, the lowest after the built-in defaults (origin "go").
	Base *schema.Config
	// Context, if set, stops the load when it is done: Load then returns a nil Config and
	// an error matching ctx's (errors.Is(err, context.Canceled)). It is checked between
	// stages and every checkEvery profiles within one (every parallel.Chunk profiles in
	// each worker of the stages that run on every core).
	Context context.Context
}

// checkEvery is how many profiles a stage handles between two looks at Options.Context:
// a few milliseconds of work.
const checkEvery = 256

// ErrStopped is matched (errors.Is) by the error of a load stopped by its context, as is
// the context's own error.
var ErrStopped = errors.New("loaders: load stopped")

// Load layers, decodes (unknown keys are problems), applies [defaults] and extends, fills
// cfg.Origins, rewrites relative material and secret file paths against the directory of
// the file that named them, and resolves every secret and material source into mat (by
// profile and config path: the schema values keep only what the user wrote; mat.Profile
// is what factory.WithMaterial takes).
//
// The error, if any, is a schema.Problems (errors.Is(err, schema.ErrInvalid)) listing every
// problem found. cfg and mat are returned even then, as complete as the input allowed, so
// that `show` can print what was understood.
func Load(opts Options) (cfg *schema.Config, mat *Material, err error) {
	l := &loader{opts: opts, root: map[string]any{}, orig: map[string]string{}, ctx: opts.Context}
	if l.opts.LookupEnv == nil {
		l.opts.LookupEnv = os.LookupEnv
	}
	if l.ctx == nil {
		l.ctx = context.Background()
	}
	l.layers()
	if !l.stopped(0) {
		cfg = l.build()
	}
	if l.stop != nil {
		return nil, nil, l.stop
	}
	return cfg, l.mat, l.problems.Err()
}

// StopError is the error of a load stopped by ctx: it matches ErrStopped, ctx.Err() and
// ctx's cause (a CLI's signal, say).
func StopError(ctx context.Context) error {
	err, cause := ctx.Err(), context.Cause(ctx)
	if cause != nil && cause != err {
		return fmt.Errorf("%w: %w (%w)", ErrStopped, err, cause)
	}
	return fmt.Errorf("%w: %w", ErrStopped, err)
}

// stopped reports whether the load's context is done, looking at it when i (a count of
// profiles handled) is a multiple of checkEvery; once done, always.
func (l *loader) stopped(i int) bool {
	if l.stop != nil {
		return true
	}
	if i%checkEvery != 0 {
		return false
	}
	if err := l.ctx.Err(); err != nil {
		l.stop = StopError(l.ctx)
		return true
	}
	return false
}

// loader holds the state of one Load call.
type loader struct {
	opts     Options
	root     map[string]any    // merged layers
	orig     map[string]string // origin of every leaf of root, by dotted path
	problems schema.Problems
	ctx      context.Context
	stop     error     // set once ctx is found done
	mat      *Material // what build resolved
}

func (l *loader) add(path, source, format string, args ...any) {
	l.problems = append(l.problems, problem(path, source, format, args...))
}

// layers merges every layer into l.root in precedence order.
func (l *loader) layers() {
	builtin := map[string]any{"defaults": map[string]any{
		"connect_timeout": schema.DefaultConnectTimeout,
		"timeout":         schema.DefaultTimeout,
	}}
	l.mergeLayer(builtin, constOrigin(OriginDefault))
	if l.opts.Base != nil {
		m := configToMap(l.opts.Base)
		l.mergeLayer(m, constOrigin(OriginGo))
	}
	for _, name := range l.opts.Files {
		if l.stopped(0) {
			return
		}
		if m := l.readFile(name); m != nil {
			l.mergeLayer(m, constOrigin(name))
		}
	}
	if len(l.opts.Values) > 0 {
		if m := l.valuesLayer(); m != nil {
			l.mergeLayer(m, constOrigin(OriginOverride))
		}
	}
	if l.opts.EnvPrefix != "-" && !l.stopped(0) {
		m, o := l.envLayer()
		l.mergeLayer(m, mapOrigin(o))
	}
}

// mergeLayer merges one layer into the root, source-valued keys replacing as a whole.
// The layer's tables move into the root: a layer is read once.
func (l *loader) mergeLayer(m map[string]any, o originOf) {
	merge(l.root, m, l.orig, o, "", rootAtomic, true)
}

// build decodes the merged tree into a Config.
func (l *loader) build() *schema.Config {
	cfg := &schema.Config{Profiles: map[string]*schema.Profile{}}
	for _, k := range sortedKeys(l.root) {
		if k != "defaults" && k != "profiles" {
			l.add(k, l.originUnder(k), "unknown key %q%s (the top level has defaults and profiles)", k, suggest(k, []string{"defaults", "profiles"}))
		}
	}

	defaults, defOrig := l.section("defaults")
	if v, ok := defaults["extends"]; ok {
		l.add("defaults.extends", defOrig["extends"], "extends is not allowed in defaults (got %s)", describeValue(v))
		delete(defaults, "extends")
		dropOrigins(defOrig, "extends")
	}
	l.clean(defaults, defOrig, "defaults")
	l.decodeProfile(defaults, defOrig, "defaults", &cfg.Defaults)
	for k, v := range defOrig {
		cfg.Origins.Set("defaults."+k, v)
	}

	var rawProfiles map[string]any
	switch v := l.root["profiles"].(type) {
	case nil:
	case map[string]any:
		rawProfiles = v
	default:
		l.add("profiles", l.originUnder("profiles"), "expected a table of named profiles, got %s", describeValue(v))
	}
	names := sortedKeys(rawProfiles)
	for i, n := range names {
		names[i] = strings.Clone(n) // not a piece of the parser's input: see internProfile
	}
	// Each profile's own table is copied, given its origins and cleaned independently of
	// the others, over the machine's cores; problems are gathered in name order.
	trees := make([]*profileTree, len(names))
	problems := make([]schema.Problems, len(names))
	parallel.For(len(names), func() bool { return l.ctx.Err() != nil }, func(i int) {
		sub := &loader{opts: l.opts, root: l.root, orig: l.orig, ctx: l.ctx} // reads only
		trees[i] = sub.ownProfile(names[i], rawProfiles[names[i]])
		problems[i] = sub.problems
	})
	if l.stopped(0) {
		return nil
	}
	own := make(map[string]*profileTree, len(names))
	for i, name := range names {
		l.problems = append(l.problems, problems[i]...)
		if trees[i] != nil {
			own[name] = trees[i]
		}
	}

	r := &extender{l: l, own: own, defaults: &profileTree{m: defaults, o: defOrig}, done: map[string]*profileTree{}, state: map[string]int{}}
	r.labelDefaults()
	ownNames := sortedKeys(own)
	stop := func() bool { return l.ctx.Err() != nil }
	// A profile that extends none is defaults < own: those are merged concurrently, then
	// the others, one at a time (a parent first, cycles found), as effective always did.
	effs := make([]*profileTree, len(ownNames))
	parallel.For(len(ownNames), stop, func(i int) {
		if t := own[ownNames[i]]; extendsOf(t) == "" {
			effs[i] = r.plain(t)
		}
	})
	if l.stopped(0) {
		return nil
	}
	for i, name := range ownNames {
		if effs[i] != nil {
			r.done[name], r.state[name] = effs[i], 2
		}
	}
	for i, name := range ownNames {
		if l.stopped(i) {
			return nil
		}
		if effs[i] == nil {
			effs[i] = r.effective(name)
		}
	}
	// Decoding is per profile too; problems are gathered, and strings interned, in name
	// order.
	profiles := make([]*schema.Profile, len(ownNames))
	problems = make([]schema.Problems, len(ownNames))
	parallel.For(len(ownNames), stop, func(i int) {
		sub := &loader{opts: l.opts, root: l.root, orig: l.orig, ctx: l.ctx} // reads only
		profiles[i] = &schema.Profile{}
		sub.decodeProfile(effs[i].m, effs[i].o, "profiles."+ownNames[i], profiles[i])
		problems[i] = sub.problems
	})
	if l.stopped(0) {
		return nil
	}
	effOrig := make(map[string]map[string]string, len(own))
	for i, name := range ownNames {
		l.problems = append(l.problems, problems[i]...)
		r.strs.internProfile(profiles[i])
		cfg.Profiles[name] = profiles[i]
		cfg.Origins.SetProfile(name, effs[i].o)
		effOrig[name] = effs[i].o
	}

	if !l.resolve(cfg, names, effOrig) {
		return nil
	}
	return cfg
}

// resolve resolves every profile's secret and material sources into l.mat. It returns
// false when the load was stopped.
func (l *loader) resolve(cfg *schema.Config, names []string, effOrig map[string]map[string]string) bool {
	res := &resolver{fs: l.opts.FS, lookupEnv: l.opts.LookupEnv}
	env := &sourceEnv{fs: l.opts.FS, lookupEnv: l.opts.LookupEnv, origins: &cfg.Origins}
	st := &materialState{profiles: make([]profileState, 0, len(cfg.Profiles))}
	for i, name := range names {
		if l.stopped(i) {
			return false
		}
		if p := cfg.Profiles[name]; p != nil {
			// The profile's own origins (a dozen entries), not the whole configuration's.
			path := "profiles." + name
			res.origins, res.prefix = effOrig[name], path+"."
			l.problems = append(l.problems, res.profile(path, p)...)
			// names are sorted: so is st.profiles.
			st.profiles = append(st.profiles, profileState{name: name, profile: p, env: env, entries: res.entries()})
		}
	}
	for i := range st.profiles {
		st.profiles[i].tab = res.tab
	}
	st.files = slices.Sorted(maps.Keys(res.read))
	l.mat = &Material{}
	l.mat.st.Set(st)
	return true
}

// ownProfile is the profile's own table with the origins of its leaves, cleaned; nil if
// it is not a table. The table is taken from l.root, not copied: the merged layers are
// this load's own (every parser, the environment layer and the Values and Base layers
// build fresh tables, YAML aliases expanded into copies), and after this nothing reads a
// profile's table in l.root. It reads l.root and l.orig and writes only l.problems and
// the profile's own table, so that profiles are handled concurrently, each with a loader
// of its own.
func (l *loader) ownProfile(name string, raw any) *profileTree {
	path := "profiles." + name
	if !schema.ValidProfileName(name) {
		// Worded once by schema, so that the facade's merged list holds it once.
		l.add(path, l.originUnder(path), "%s", schema.ProfileNameProblem(name))
	}
	m, ok := raw.(map[string]any)
	if !ok {
		l.add(path, l.originUnder(path), "expected a table, got %s", describeValue(raw))
		return nil
	}
	t := &profileTree{m: m, o: subOrigins(l.orig, m, path)}
	l.clean(t.m, t.o, path)
	return t
}

// section returns a deep copy of a top-level table and its origins, relative to it.
func (l *loader) section(key string) (map[string]any, map[string]string) {
	switch v := l.root[key].(type) {
	case nil:
		return map[string]any{}, map[string]string{}
	case map[string]any:
		return deepCopyMap(v), subOrigins(l.orig, v, key)
	default:
		l.add(key, l.originUnder(key), "expected a table, got %s", describeValue(v))
		return map[string]any{}, map[string]string{}
	}
}

// originUnder is the origin of path or, for a table, of its first leaf in sorted order:
// the merged tree says which leaves there are, so the cost is that of the table.
func (l *loader) originUnder(path string) string {
	path = schema.ListFree(path)
	if o, ok := l.orig[path]; ok {
		return o
	}
	var v any = l.root
	for _, seg := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return ancestorOrigin(l.orig, path)
		}
		v = m[seg]
	}
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return ancestorOrigin(l.orig, path)
	}
	return l.orig[slices.Min(slices.Collect(maps.Keys(flatLeaves(m, path))))]
}

// ancestorOrigin is the origin of the nearest ancestor of path that has one: O(depth).
func ancestorOrigin(orig map[string]string, path string) string {
	for p := path; p != ""; {
		if s, ok := orig[p]; ok {
			return s
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return ""
}

func originUnder(orig map[string]string, path string) string {
	path = schema.ListFree(path)
	if o, ok := orig[path]; ok {
		return o
	}
	prefix := path + "."
	keys := make([]string, 0)
	for k := range orig {
		if len(k) > len(prefix) && k[:len(prefix)] == prefix {
			keys = append(keys, k)
		}
	}
	if len(keys) > 0 {
		sort.Strings(keys)
		return orig[keys[0]]
	}
	return ancestorOrigin(orig, path)
}
