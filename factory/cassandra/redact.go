package cassandra

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/factorykit"
	"github.com/connfactory/connfactory/schema"
)

// fmt prints unexported fields raw, without calling their methods, so a schema.Secret
// held in an unexported field would print in clear with fmt's %v: the connector formats
// itself, with every verb, as a short description that holds no secret.

// String describes the connector: profile name, TLS mode.
func (c *Connector) String() string { return factorykit.DescribeConnector("cassandra.Connector", c) }

// GoString is String.
func (c *Connector) GoString() string { return c.String() }

// Format prints the connector's profile name and TLS mode, for every verb.
func (c *Connector) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue logs String.
func (c *Connector) LogValue() slog.Value { return slog.StringValue(c.String()) }

// MarshalJSON marshals String.
func (c *Connector) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

// Format prints the authenticator's host and username.
func (a *cqlAuthenticator) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "&cassandra.cqlAuthenticator{host: %q, user: %q}", a.host, a.user)
}

// ReloadNow re-reads and recompiles the connector's TLS material once, synchronously,
// whatever tls.reload says (a SIGHUP handler, a test, a rotation hook). On success,
// handshakes that start afterwards use the new material (and TLS().Generation counts
// one more; material found unchanged is not recompiled and counts nothing); on failure
// the last good material stays in use. Either way the outcome is logged and passed to the reload
// callback. The error is an *Error (kind config for material that does not compile).
// ReloadNow fails when the profile has no TLS, was compiled without a material source
// (factory.WithMaterial), or the connector is closed.
func (c *Connector) ReloadNow(ctx context.Context) error {
	if c.closed.Load() {
		return factorykit.Errorf(factory.KindConfig, "", "cassandra connector %q is closed", c.name)
	}
	return c.reload.Reload(ctx)
}

func init() {
	factorykit.Register(schema.Cassandra, func(name string, p *schema.Profile, opts ...factory.Option) (factory.Connector, error) {
		c, err := New(name, p, opts...)
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return c, nil
	})
}
