package factory

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
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

// String describes the connector: profile name, TLS mode.
func (c *CassandraConnector) String() string { return describeConnector("CassandraConnector", c) }

// GoString is String.
func (c *CassandraConnector) GoString() string { return c.String() }

// Format prints the connector's profile name and TLS mode, for every verb.
func (c *CassandraConnector) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue logs String.
func (c *CassandraConnector) LogValue() slog.Value { return slog.StringValue(c.String()) }

// MarshalJSON marshals String.
func (c *CassandraConnector) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

// String describes the connector: profile name, TLS mode, hosts.
func (c *RiakConnector) String() string {
	if c == nil {
		return "<nil>"
	}
	return describeConnector("RiakConnector", c, "hosts: "+strings.Join(c.Hosts(), ","))
}

// GoString is String.
func (c *RiakConnector) GoString() string { return c.String() }

// Format prints the connector's profile name, TLS mode and hosts, for every verb.
func (c *RiakConnector) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue logs String.
func (c *RiakConnector) LogValue() slog.Value { return slog.StringValue(c.String()) }

// MarshalJSON marshals String.
func (c *RiakConnector) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

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

func describeConnector(typ string, c interface {
	Name() string
	TLS() *ClientTLS
}, extra ...string) string {
	if reflect.ValueOf(c).IsNil() {
		return "<nil>"
	}
	tlsMode := "disable"
	if t := c.TLS(); t != nil {
		tlsMode = string(t.Mode())
	}
	parts := append([]string{fmt.Sprintf("profile: %q", c.Name()), "tls: " + tlsMode}, extra...)
	return fmt.Sprintf("&factory.%s{%s}", typ, strings.Join(parts, ", "))
}

// Format prints the authenticator's host and username.
func (a *cqlAuthenticator) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "&factory.cqlAuthenticator{host: %q, user: %q}", a.host, a.user)
}
