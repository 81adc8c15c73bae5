package factory

import (
	"time"

	"github.com/connfactory/connfactory/schema"
)

// Observer is told when a connector's dial, check or reload finishes: the hook package
// metrics implements, so that the factory itself links no metrics library. Its methods
// are called synchronously on the goroutine that dialled or reloaded, possibly from many
// goroutines at once: they must be safe for concurrent use, quick, and must not call
// back into the connector.
type Observer interface {
	// DialDone is called after every Dial, DialConn and Check.
	DialDone(DialEvent)
	// ReloadDone is called after every reload attempt (tls.reload's ticks, ReloadNow and
	// Registry.Watch's material reloads).
	ReloadDone(ReloadEvent)
}

// The operations a DialEvent reports (DialEvent.Op).
const (
	opDial  = "dial"  // Dial, or a Riak connector's DialConn
	opCheck = "check" // Check
)

// DialEvent is one finished Dial, DialConn or Check.
type DialEvent struct {
	Profile string
	Backend schema.Backend
	// Op is "dial" (Dial, or a Riak connector's DialConn) or "check" (Check).
	Op       string
	Duration time.Duration
	// Err is nil on success; KindOf(Err) is its kind.
	Err error
	// Report is Check's report (nil for dials). Observers must not modify it.
	Report *Report
}

// The outcomes of a reload (ReloadEvent.Result).
const (
	reloadOK        = "ok"        // new material compiled and swapped in
	reloadUnchanged = "unchanged" // the material read back was the same
	reloadError     = "error"     // it failed: the last good material stays
)

// ReloadResults lists every value of ReloadEvent.Result: "ok" (new material compiled and
// swapped in), "unchanged" (the material read back was the same) and "error" (the reload
// failed: the last good material stays).
var ReloadResults = []string{reloadOK, reloadUnchanged, reloadError}

// ReloadEvent is one finished reload attempt.
type ReloadEvent struct {
	Profile string
	// Result is one of ReloadResults: "ok", "unchanged" or "error".
	Result string
	// Generation is the generation of the material in use after the attempt.
	Generation uint64
	// Err is the failure of an "error" result.
	Err error
}

// WithObserver adds an observer of the connector's dials, checks and reloads. Several may
// be given; each is called in order.
func WithObserver(o Observer) Option {
	return func(opts *options) {
		if o != nil {
			opts.observers = append(opts.observers, o)
		}
	}
}

// dialDone reports a finished Dial or DialConn (start: when it began; err: where its
// error will be) to the observers. Deferred by the connectors.
func (r *reloader) dialDone(backend schema.Backend, start time.Time, err *error) {
	if len(r.observers) == 0 {
		return
	}
	ev := DialEvent{Profile: r.profile, Backend: backend, Op: opDial, Duration: time.Since(start), Err: *err}
	for _, o := range r.observers {
		o.DialDone(ev)
	}
}

// checkDone completes a Check's report with warnings for the server certificates that
// expire soon, then reports it to the observers. Deferred by the connectors.
func (r *reloader) checkDone(backend schema.Backend, start time.Time, rep **Report, err *error) {
	if *rep != nil && r.tls != nil {
		d := r.tls.mat.Load().expiryWarn
		for _, w := range presentedExpiryWarnings(r.path(), *rep, r.now(), d) {
			(*rep).Warnings = appendNew((*rep).Warnings, w)
		}
	}
	if len(r.observers) == 0 {
		return
	}
	ev := DialEvent{Profile: r.profile, Backend: backend, Op: opCheck, Duration: time.Since(start), Err: *err, Report: *rep}
	for _, o := range r.observers {
		o.DialDone(ev)
	}
}

// reloadDone reports a finished reload to the observers.
func (r *reloader) reloadDone(res string, err error) {
	if len(r.observers) == 0 {
		return
	}
	ev := ReloadEvent{Profile: r.profile, Result: res, Generation: r.tls.Generation(), Err: err}
	for _, o := range r.observers {
		o.ReloadDone(ev)
	}
}

// appendNew appends s unless list has it already.
func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
