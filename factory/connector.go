// Package factory compiles validated profiles into connectors: a gocql cluster config or a
// riak-go-client node whose dial is bounded by a context, verifies the server's chain, name
// and revocation, reloads rotated material, and fails with a classified error (Kind).
//
// This package links neither driver: it holds what the backends share (TLS compilation,
// material cache, errors, reports, reload, observers). The connectors are in
// factory/cassandra and factory/riak; Compile builds a profile with whichever of them the
// program links (each registers itself when imported; package connfactory links both).
// Both connectors are built on a Base, the one compile step they share (hosts, timeouts,
// pool, TLS and its reloader, warnings) and this package's one entry point for them.
//
// The factory never reads files or the environment: material and secrets arrive resolved
// through a MaterialSource (WithMaterial; package loaders resolves one), keyed by config
// path, or inline in the schema values, so a Go program can feed it directly.
package factory

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/connfactory/connfactory/internal/factorycore"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/validate"
)

// Connector is a compiled profile, ready to dial.
type Connector interface {
	// Name is the profile name.
	Name() string
	// Backend is the profile's backend.
	Backend() schema.Backend
	// Check makes one real connection (TCP, TLS, authentication, one request) and reports
	// what it found. On failure the Report says how far it got and the error is an *Error.
	Check(ctx context.Context) (*Report, error)
	// Warnings are what the profile asked for that weakens security or will soon break.
	Warnings() []Warning
	// TLS is the compiled TLS section, nil for a plaintext profile; a reload updates it
	// in place.
	TLS() *ClientTLS
	// Close stops the connector's background work (reload). Sessions already dialled are
	// the caller's to close.
	Close() error
}

// Option adjusts how a profile is compiled.
type Option func(*options)

type options struct {
	logger   *slog.Logger
	material MaterialSource // see WithMaterial
	onReload func(profile string, err error)
	gate     func(apply func() error) error
	now      func() time.Time
	cache    *MaterialCache // see WithMaterialCache
	// observers: see WithObserver.
	observers []Observer
	// riakAuthWait is how long a Riak preflight waits for the verdict on its credentials;
	// tests shorten it (export_test.go).
	riakAuthWait time.Duration
}

// WithLogger sends the connector's and the driver's log lines to l. Default: slog.Default().
// It is for compiling with this package directly; through the facade, connfactory.WithLogger
// is the one logger option (it also carries the Registry's and Watch's lines, and gives
// each connector l with a "profile" attribute; a WithLogger passed to
// connfactory.WithFactoryOptions overrides that for the connectors).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithReloadGate runs the swap of every reload (tls.reload ticks and ReloadNow) through
// gate: gate calls apply, which swaps the new material in and returns its error, or
// refuses with an error wrapping ErrReloadHeld without calling it. A reload asks the gate
// once before it reads anything (with an apply that does nothing), so that a held reload
// reads no material, and again for the swap, so that the caller can hold a lock across
// it. connfactory.Registry uses it to hold reloads while Watch reports the configuration
// invalid.
func WithReloadGate(gate func(apply func() error) error) Option {
	return func(o *options) { o.gate = gate }
}

// WithReloadCallback is called after every reload attempt with its error (nil on success).
func WithReloadCallback(f func(profile string, err error)) Option {
	return func(o *options) { o.onReload = f }
}

// withClock replaces time.Now, for tests of expiry and CRL staleness.
func withClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

func buildOptions(opts []Option) options {
	o := options{logger: slog.Default(), now: time.Now}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// Compile turns profile name, already validated (its material and secrets given by
// WithMaterial, or inline), into a
// *cassandra.Connector or a *riak.Connector, by the backend packages linked into the program
// (factory/cassandra and factory/riak register themselves; factory imports neither). Compile errors are *Error of kind config
// wrapping a schema.Problems.
func Compile(name string, p *schema.Profile, opts ...Option) (Connector, error) {
	if f, ok := factorycore.Lookup(p.Backend); ok {
		return f.(func(string, *schema.Profile, ...Option) (Connector, error))(name, p, opts...)
	}
	if slices.Contains(schema.Backends, p.Backend) {
		return nil, configError(schema.Problem{Path: profilePath(name) + ".backend", Message: fmt.Sprintf(
			"backend %q is not linked into this program: import github.com/connfactory/connfactory/factory/%s", p.Backend, p.Backend)})
	}
	return nil, configError(schema.Problem{Path: profilePath(name) + ".backend",
		Message: fmt.Sprintf("unknown backend %q (accepted: %s)", p.Backend, schema.Accepted(schema.Backends))})
}

// withProfileWarnings adds validate's weak-but-valid warnings about p (password in the
// file, verify-ca, credentials over plaintext, legacy TLS, ...) to the factory's own, so
// that every connector carries the whole list; where both speak of one path, the
// factory's (more specific) warning stays.
func withProfileWarnings(name string, p *schema.Profile, ws []Warning) []Warning {
	for _, w := range validate.ProfileWarnings(name, p, nil) {
		if !slices.ContainsFunc(ws, func(x Warning) bool { return x.Path == w.Path }) {
			ws = append(ws, w)
		}
	}
	return ws
}

// profilePath is the config path of profile name.
func profilePath(name string) string { return "profiles." + name }

// configError wraps problems as a config-kind *Error.
func configError(ps ...schema.Problem) error {
	return &Error{Kind: KindConfig, Err: schema.Problems(ps).Sorted()}
}
