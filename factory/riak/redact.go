package riak

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/factorykit"
	"github.com/connfactory/connfactory/schema"
)

// fmt prints unexported fields raw, without calling their methods, so a schema.Secret
// held in an unexported field would print in clear with fmt's %v: the connector formats
// itself, with every verb, as a short description that holds no secret.

// String describes the connector: profile name, TLS mode, hosts.
func (c *Connector) String() string {
	if c == nil {
		return "<nil>"
	}
	return factorykit.DescribeConnector("riak.Connector", c, "hosts: "+strings.Join(c.Hosts(), ","))
}

// GoString is String.
func (c *Connector) GoString() string { return c.String() }

// Format prints the connector's profile name, TLS mode and hosts, for every verb.
func (c *Connector) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue logs String.
func (c *Connector) LogValue() slog.Value { return slog.StringValue(c.String()) }

// MarshalJSON marshals String.
func (c *Connector) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

// ReloadNow re-reads and recompiles the connector's TLS material once, synchronously,
// whatever tls.reload says. See cassandra.Connector.ReloadNow: the behaviour is the same,
// including for riak-go-client nodes from NodeOptions or Dial, whose next connections
// present the new material.
func (c *Connector) ReloadNow(ctx context.Context) error {
	if err := c.errIfClosed(); err != nil {
		return err
	}
	return c.reload.Reload(ctx)
}

func init() {
	factorykit.Register(schema.Riak, func(name string, p *schema.Profile, opts ...factory.Option) (factory.Connector, error) {
		c, err := New(name, p, opts...)
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return c, nil
	})
}
