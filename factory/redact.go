package factory

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// fmt prints unexported fields raw, without calling their methods, so a schema.Secret
// held in an unexported field (the connectors' and the authenticator's passwords) would
// print in clear with fmt's %v. These types therefore format themselves, with every verb,
// as a short description that holds no secret.

//
// Values of these types print addresses only where they hold secrets: the secrets sit in
// sealed boxes (internal/sealed), which fmt cannot open, so a dereferenced connector is
// safe to print too. The methods take pointer receivers because the types hold locks and
// atomics and must not be copied.

// String describes the TLS configuration: path, mode and generation, never material.
func (t *ClientTLS) String() string {
	if t == nil {
		return "<nil>"
	}
	return fmt.Sprintf("&factory.ClientTLS{path: %q, mode: %s, generation: %d}", t.path, t.mode, t.Generation())
}

// GoString is String.
func (t *ClientTLS) GoString() string { return t.String() }

// Format prints String for every verb.
func (t *ClientTLS) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(t.String())) }

// LogValue logs String.
func (t *ClientTLS) LogValue() slog.Value { return slog.StringValue(t.String()) }

// MarshalJSON marshals String.
func (t *ClientTLS) MarshalJSON() ([]byte, error) { return json.Marshal(t.String()) }
