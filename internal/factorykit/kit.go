// Package factorykit is what factory/cassandra and factory/riak share beyond
// factory.Base: their registration with factory.Compile, the methods every connector has
// the same (Common), the adjust-function check (ApplyAdjust) and test hooks. It uses
// package factory's API only; what the connectors need of factory's internals, they
// reach through the factory.Base each of them holds.
package factorykit

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/factorycore"
	"github.com/connfactory/connfactory/schema"
)

// Sources of a HostReport (see factorycore).
const (
	HostConfigured = factorycore.HostConfigured
	HostDiscovered = factorycore.HostDiscovered
)

// Register makes factory.Compile build backend b's profiles with newConnector (the
// backend's New).
func Register[C factory.Connector](b schema.Backend, newConnector func(string, *schema.Profile, ...factory.Option) (C, error)) {
	factorycore.Register(b, func(name string, p *schema.Profile, opts ...factory.Option) (factory.Connector, error) {
		c, err := newConnector(name, p, opts...)
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return c, nil
	})
}

// Common gives a connector, embedded in it, the methods that are the same for every
// backend: Name, Warnings and TLS (its factory.Base's), and its printed forms.
//
// fmt prints unexported fields raw, without calling their methods, so a schema.Secret
// held in an unexported field would print in clear with fmt's %v: a connector formats
// itself, with every verb (and for slog and JSON), as a short description, its type,
// profile name, TLS mode and the backend's extra, which holds no secret.
type Common struct {
	base  *factory.Base
	typ   string
	extra []string
}

// NewCommon is the Common of the connector of type typ ("cassandra.Connector") holding
// b; extra are further "key: value" parts of its description.
func NewCommon(b *factory.Base, typ string, extra ...string) Common {
	return Common{base: b, typ: typ, extra: extra}
}

// Name is the profile name.
func (c Common) Name() string { return c.base.Name() }

// Warnings are what the profile asked for that weakens security or will soon break
// (TLS, authentication, and validate's warnings about the profile).
func (c Common) Warnings() []factory.Warning { return c.base.Warnings() }

// TLS is the connector's compiled TLS layer, nil without TLS. A reload updates it in
// place (ClientTLS.Update): connections opened afterwards, including those the driver
// opens for sessions or clusters dialled earlier, use the new material.
func (c Common) TLS() *factory.ClientTLS { return c.base.TLS() }

// String describes the connector: type, profile name, TLS mode and the backend's extra.
func (c Common) String() string {
	if c.base == nil {
		return "<nil>"
	}
	tlsMode := "disable"
	if t := c.base.TLS(); t != nil {
		tlsMode = string(t.Mode())
	}
	parts := append([]string{fmt.Sprintf("profile: %q", c.base.Name()), "tls: " + tlsMode}, c.extra...)
	return fmt.Sprintf("&%s{%s}", c.typ, strings.Join(parts, ", "))
}

// GoString is String.
func (c Common) GoString() string { return c.String() }

// Format prints String, for every verb.
func (c Common) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue logs String.
func (c Common) LogValue() slog.Value { return slog.StringValue(c.String()) }

// MarshalJSON marshals String.
func (c Common) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

// RiakLoggingHook, if set (tests), is called by every installation of the riak-go-client
// logger adapter (factory/riak).
var RiakLoggingHook atomic.Pointer[func()]
