// Package factorycore is the seam between package factory and its backends
// (factory/cassandra, factory/riak): factory imports neither backend, so each backend
// registers its constructor here, and factory leaves here the value through which the
// backends reach its internals (see internal/factorykit). Standard library and schema
// only; it imports no factory package.
package factorycore

import (
	"sync"

	"github.com/connfactory/connfactory/schema"
)

// Sources of a factory.HostReport: written once here, where factory and its backends
// both reach them.
const (
	// HostConfigured is a host listed in the profile.
	HostConfigured = "configured"
	// HostDiscovered is a node found through system.peers.
	HostDiscovered = "discovered"
)

// Kit is set by package factory's init; internal/factorykit asserts it to the interface
// of the factory internals the backends use.
var Kit any

var backends sync.Map // schema.Backend -> func(string, *schema.Profile, ...factory.Option) (factory.Connector, error)

// Register records the constructor of backend b; factory.Compile calls it.
func Register(b schema.Backend, newConnector any) { backends.Store(b, newConnector) }

// Lookup returns the constructor registered for b.
func Lookup(b schema.Backend) (any, bool) { return backends.Load(b) }
