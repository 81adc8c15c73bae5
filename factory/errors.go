package factory

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/connfactory/connfactory/schema"
)

// Kind classifies why a connection could not be made. The values are the error kinds of
// DESIGN.md and of `connfactory check --json`.
type Kind string

// The error kinds.
const (
	KindConfig        Kind = "config"        // the profile cannot be compiled
	KindUnreachable   Kind = "unreachable"   // TCP refused, no route, unknown host
	KindTimeout       Kind = "timeout"       // connect_timeout or the caller's context ran out
	KindTLSUntrusted  Kind = "tls_untrusted" // the server's chain does not lead to a trusted CA
	KindTLSHostname   Kind = "tls_hostname"  // the certificate is not for the name dialled
	KindTLSExpired    Kind = "tls_expired"   // a certificate is expired or not yet valid
	KindTLSRevoked    Kind = "tls_revoked"   // a certificate of the chain is on a CRL
	KindTLSHandshake  Kind = "tls_handshake" // any other TLS failure: versions, ciphers, client cert refused
	KindAuthFailed    Kind = "auth_failed"   // the server refused the credentials
	KindAuthRequired  Kind = "auth_required" // the server wants credentials the profile does not give
	KindProtocol      Kind = "protocol"      // the server spoke, but not as expected
	kindUnknownPrefix      = "unknown"
)

// sentinel is the target type of errors.Is for a kind.
type sentinel struct{ kind Kind }

func (s *sentinel) Error() string { return "factory: " + string(s.kind) }

// Sentinel errors, one per kind: errors.Is(err, factory.ErrTLSRevoked).
var (
	ErrConfig       error = &sentinel{KindConfig}
	ErrUnreachable  error = &sentinel{KindUnreachable}
	ErrTimeout      error = &sentinel{KindTimeout}
	ErrTLSUntrusted error = &sentinel{KindTLSUntrusted}
	ErrTLSHostname  error = &sentinel{KindTLSHostname}
	ErrTLSExpired   error = &sentinel{KindTLSExpired}
	ErrTLSRevoked   error = &sentinel{KindTLSRevoked}
	ErrTLSHandshake error = &sentinel{KindTLSHandshake}
	ErrAuthFailed   error = &sentinel{KindAuthFailed}
	ErrAuthRequired error = &sentinel{KindAuthRequired}
	ErrProtocol     error = &sentinel{KindProtocol}
)

// Error is a classified failure. It keeps the underlying error (errors.Unwrap) and matches
// its kind's sentinel (errors.Is).
type Error struct {
	// Kind classifies the failure.
	Kind Kind
	// Host is the host:port being dialled, if the failure concerns one.
	Host string
	// Err is the underlying error.
	Err error
	// PeerCertificates is the chain the server presented, when a TLS handshake failed
	// after receiving it (untrusted, wrong name, expired, revoked): what the server is
	// actually using, for the report.
	PeerCertificates []*x509.Certificate
}

// Error renders "HOST: underlying" (just the underlying error without a host). The kind
// is not repeated: it is e.Kind, errors.Is matches it, and reports print it once, apart.
func (e *Error) Error() string {
	var msg string
	if e.Err != nil {
		msg = e.Err.Error()
	} else {
		msg = "factory: " + string(e.Kind)
	}
	if e.Host != "" && !strings.HasPrefix(msg, e.Host+": ") {
		msg = e.Host + ": " + msg
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinel of e's kind.
func (e *Error) Is(target error) bool {
	s, ok := target.(*sentinel)
	return ok && s.kind == e.Kind
}

// errorf returns an *Error of kind k for host, formatting the underlying message.
func errorf(k Kind, host, format string, args ...any) error {
	return &Error{Kind: k, Host: host, Err: fmt.Errorf(format, args...)}
}

// classify wraps err as an *Error of kind k unless it already carries a kind. A context
// deadline becomes timeout, a refused connection unreachable, whatever k says.
func classify(err error, k Kind, host string) error {
	if err == nil {
		return nil
	}
	var fe *Error
	if errors.As(err, &fe) {
		return err
	}
	return &Error{Kind: classifyNet(err, k), Host: host, Err: err}
}

// classifyNet recognises network failures whatever stage they happened at.
func classifyNet(err error, fallback Kind) Kind {
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return KindTimeout
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH):
		return KindUnreachable
	}
	var te interface{ Timeout() bool }
	if errors.As(err, &te) && te.Timeout() {
		return KindTimeout
	}
	return fallback
}

// KindOf returns the kind of err: its *Error's kind, config for a schema.Problems, timeout
// for a context deadline, "" when err is nil and "unknown" otherwise.
func KindOf(err error) Kind {
	if err == nil {
		return ""
	}
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Kind
	}
	if errors.Is(err, schema.ErrInvalid) {
		return KindConfig
	}
	if k := classifyNet(err, ""); k != "" {
		return k
	}
	return kindUnknownPrefix
}

// Warning is the product's one warning type (schema.Warning): something a profile asked
// for that works but weakens security or will soon break.
type Warning = schema.Warning
